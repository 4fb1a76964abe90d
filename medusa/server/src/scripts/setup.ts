// `medusa-store setup`, run by `medusa exec` on every start of the server
// (an init container): the first admin user, then the seed. Idempotent: each
// step looks for what it would create and writes only what is missing, so a
// second run writes nothing. Settings come from the environment (the chart's
// Secret and values); the admin password is read from the environment only
// and never logged.
import { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys, FeatureFlag, Modules, ProductStatus } from "@medusajs/framework/utils"
import {
  createApiKeysWorkflow,
  createInventoryLevelsWorkflow,
  createProductsWorkflow,
  createRegionsWorkflow,
  createSalesChannelsWorkflow,
  createShippingOptionsWorkflow,
  createShippingProfilesWorkflow,
  createStockLocationsWorkflow,
  createTaxRegionsWorkflow,
  createUsersWorkflow,
  linkSalesChannelsToApiKeyWorkflow,
  linkSalesChannelsToStockLocationWorkflow,
  updateStoresWorkflow,
} from "@medusajs/medusa/core-flows"

// Names the seed finds its objects by on a re-run.
export const SEED = {
  salesChannel: "Default Sales Channel",
  region: "Store region",
  stockLocation: "Main warehouse",
  fulfillmentSet: "Main warehouse delivery",
  serviceZone: "Store delivery zone",
  shippingOption: "Standard Shipping",
  apiKey: "Storefront",
  countries: ["de", "us", "gb", "fr", "es", "it", "nl", "at"],
  stock: 1000,
}

// The advisory lock key of setup (any constant: "swse" in ASCII).
const SETUP_LOCK = 0x73777365

// Prices are in major units (25 = 25.00 in the store's currency).
const PRODUCTS = [
  { title: "Canvas Tote Bag", handle: "canvas-tote-bag", price: 25, description: "A sturdy tote of undyed cotton canvas." },
  { title: "Ceramic Mug", handle: "ceramic-mug", price: 15, description: "A stoneware mug that holds 350 ml." },
  { title: "Wool Beanie", handle: "wool-beanie", price: 30, description: "A warm beanie of merino wool, one size." },
]

type Container = ExecArgs["container"]
type Log = (msg: string) => void

function required(name: string): string {
  const v = process.env[name]
  if (!v || !v.trim()) {
    throw new Error(`${name} is not set: the setup needs it in its environment (the chart sets it from the store's values or Secret)`)
  }
  return v.trim()
}

export default async function setup({ container }: ExecArgs) {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const log: Log = (msg) => logger.info(`[setup] ${msg}`)
  try {
    // Two server pods starting at once run two setups: one at a time, the
    // second then finds everything made. A transaction-scoped advisory lock
    // is released with its connection whatever happens.
    const pg = container.resolve(ContainerRegistrationKeys.PG_CONNECTION)
    await pg.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?)", [SETUP_LOCK])
      await ensureAdmin(container, log)
      await seed(container, log)
    })
    log("done")
  } catch (e) {
    // medusa exec exits 0 even when the script throws: the entrypoint reads this line's absence.
    logger.error(`[setup] failed: ${(e as Error)?.message ?? e}`)
    process.exitCode = 1
    throw e
  }
}

async function ensureAdmin(container: Container, log: Log) {
  const email = required("MEDUSA_ADMIN_EMAIL").toLowerCase()
  const password = required("MEDUSA_ADMIN_PASSWORD")
  const userService = container.resolve(Modules.USER)
  const authService = container.resolve(Modules.AUTH)

  const [user] = await userService.listUsers({ email })
  const [identity] = await authService.listProviderIdentities({ entity_id: email, provider: "emailpass" })
  let authIdentityId = identity?.auth_identity_id
  if (user && authIdentityId) {
    const [auth] = await authService.listAuthIdentities({ id: [authIdentityId] })
    if (auth?.app_metadata?.user_id === user.id) {
      log(`admin user ${email} exists (its password is left alone)`)
      return
    }
  }
  // The identity first: a run that stops half way leaves no user who cannot sign in.
  if (!authIdentityId) {
    const { authIdentity, error } = await authService.register("emailpass", { body: { email, password } })
    if (error || !authIdentity) {
      throw new Error(`registering the admin user ${email} failed: ${error ?? "no identity returned"}`)
    }
    authIdentityId = authIdentity.id
  }
  let userId = user?.id
  if (!userId) {
    const roles: string[] = []
    if (FeatureFlag.isFeatureEnabled("rbac")) {
      const rbac = container.resolve(Modules.RBAC) as any
      const superAdmin = await rbac.listRbacRoles({ id: "role_super_admin" })
      if (superAdmin.length > 0) roles.push(superAdmin[0].id)
    }
    const { result } = await createUsersWorkflow(container).run({
      input: { users: [{ email, ...(roles.length ? { roles } : {}) } as any] },
    })
    userId = result[0].id
  }
  await authService.updateAuthIdentities({ id: authIdentityId, app_metadata: { user_id: userId } })
  log(`admin user ${email} created`)
}

async function seed(container: Container, log: Log) {
  const storeName = required("STORE_NAME")
  const currency = (process.env.STORE_CURRENCY || "eur").trim().toLowerCase()
  if (!/^[a-z]{3}$/.test(currency)) {
    throw new Error(`STORE_CURRENCY '${currency}' is not a three-letter ISO 4217 code (e.g. eur, usd)`)
  }
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const link = container.resolve(ContainerRegistrationKeys.LINK)
  const storeService = container.resolve(Modules.STORE)
  const salesChannelService = container.resolve(Modules.SALES_CHANNEL)
  const regionService = container.resolve(Modules.REGION)
  const taxService = container.resolve(Modules.TAX)
  const stockLocationService = container.resolve(Modules.STOCK_LOCATION)
  const fulfillmentService = container.resolve(Modules.FULFILLMENT)
  const apiKeyService = container.resolve(Modules.API_KEY)
  const productService = container.resolve(Modules.PRODUCT)

  const [store] = await storeService.listStores({}, { relations: ["supported_currencies"] })
  if (!store) throw new Error("Medusa has no store record: run `medusa-store migrate` first")

  // The sales channel: the store's default (Medusa creates one at start) or ours.
  let salesChannelId = store.default_sales_channel_id ?? undefined
  if (salesChannelId && !(await salesChannelService.listSalesChannels({ id: salesChannelId })).length) {
    salesChannelId = undefined
  }
  if (!salesChannelId) {
    const [found] = await salesChannelService.listSalesChannels({ name: SEED.salesChannel })
    salesChannelId = found?.id
  }
  if (!salesChannelId) {
    const { result } = await createSalesChannelsWorkflow(container).run({
      input: { salesChannelsData: [{ name: SEED.salesChannel }] },
    })
    salesChannelId = result[0].id
    log(`sales channel created`)
  }

  // The region: the store's default region, else ours by name.
  let regionId = store.default_region_id ?? undefined
  if (regionId && !(await regionService.listRegions({ id: regionId })).length) regionId = undefined
  if (!regionId) {
    const [found] = await regionService.listRegions({ name: SEED.region })
    regionId = found?.id
  }
  if (!regionId) {
    const { result } = await createRegionsWorkflow(container).run({
      input: {
        regions: [
          {
            name: SEED.region,
            currency_code: currency,
            countries: SEED.countries,
            payment_providers: ["pp_system_default"],
          },
        ],
      },
    })
    regionId = result[0].id
    log(`region created (${currency}, ${SEED.countries.join(", ")})`)
  }

  // The store itself: name, currency, defaults. Updated only where it differs.
  const currencies = store.supported_currencies ?? []
  const update: Record<string, unknown> = {}
  if (store.name !== storeName) update.name = storeName
  if (!currencies.some((c) => c.currency_code === currency)) {
    update.supported_currencies = [
      ...currencies.map((c) => ({ currency_code: c.currency_code, is_default: false })),
      { currency_code: currency, is_default: true },
    ]
  }
  if (store.default_sales_channel_id !== salesChannelId) update.default_sales_channel_id = salesChannelId
  if (store.default_region_id !== regionId) update.default_region_id = regionId

  // Tax regions for the countries that have none.
  const taxRegions = await taxService.listTaxRegions({ country_code: SEED.countries })
  const missingTax = SEED.countries.filter((c) => !taxRegions.some((t) => t.country_code === c && !t.parent_id))
  if (missingTax.length) {
    await createTaxRegionsWorkflow(container).run({
      input: missingTax.map((country_code) => ({ country_code, provider_id: "tp_system" })),
    })
    log(`tax regions created (${missingTax.join(", ")})`)
  }

  // The stock location, sold from by the sales channel, shipped from manually.
  let locationId = store.default_location_id ?? undefined
  if (locationId && !(await stockLocationService.listStockLocations({ id: locationId })).length) locationId = undefined
  if (!locationId) {
    const [found] = await stockLocationService.listStockLocations({ name: SEED.stockLocation })
    locationId = found?.id
  }
  if (!locationId) {
    const { result } = await createStockLocationsWorkflow(container).run({
      input: { locations: [{ name: SEED.stockLocation, address: { city: "Berlin", country_code: "DE", address_1: "" } }] },
    })
    locationId = result[0].id
    log(`stock location created`)
  }
  if (store.default_location_id !== locationId) update.default_location_id = locationId
  if (Object.keys(update).length) {
    await updateStoresWorkflow(container).run({ input: { selector: { id: store.id }, update: update as any } })
    log(`store updated (${Object.keys(update).join(", ")})`)
  }

  const {
    data: [location],
  } = await query.graph({
    entity: "stock_location",
    fields: ["id", "sales_channels.id", "fulfillment_providers.id", "fulfillment_sets.id", "fulfillment_sets.name"],
    filters: { id: locationId },
  })
  if (!(location?.sales_channels ?? []).some((s: any) => s?.id === salesChannelId)) {
    await linkSalesChannelsToStockLocationWorkflow(container).run({ input: { id: locationId, add: [salesChannelId] } })
    log(`stock location linked to the sales channel`)
  }
  if (!(location?.fulfillment_providers ?? []).some((p: any) => p?.id === "manual_manual")) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: locationId },
      [Modules.FULFILLMENT]: { fulfillment_provider_id: "manual_manual" },
    })
    log(`stock location linked to the manual fulfillment provider`)
  }

  // The default shipping profile (Medusa may have made one).
  let [profile] = await fulfillmentService.listShippingProfiles({ type: "default" })
  if (!profile) {
    const { result } = await createShippingProfilesWorkflow(container).run({
      input: { data: [{ name: "Default Shipping Profile", type: "default" }] },
    })
    profile = result[0]
    log(`shipping profile created`)
  }

  // The fulfillment set with one zone over the region's countries.
  let [fset] = await fulfillmentService.listFulfillmentSets({ name: SEED.fulfillmentSet }, { relations: ["service_zones"] })
  if (!fset) {
    fset = await fulfillmentService.createFulfillmentSets({
      name: SEED.fulfillmentSet,
      type: "shipping",
      service_zones: [
        {
          name: SEED.serviceZone,
          geo_zones: SEED.countries.map((country_code) => ({ country_code, type: "country" as const })),
        },
      ],
    })
    fset = (await fulfillmentService.listFulfillmentSets({ id: fset.id }, { relations: ["service_zones"] }))[0]
    log(`fulfillment set created`)
  }
  if (!(location?.fulfillment_sets ?? []).some((f: any) => f?.id === fset.id)) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: locationId },
      [Modules.FULFILLMENT]: { fulfillment_set_id: fset.id },
    })
    log(`stock location linked to the fulfillment set`)
  }
  const zone = fset.service_zones?.[0]
  if (!zone) throw new Error(`fulfillment set '${SEED.fulfillmentSet}' has no service zone: add one in the admin or delete the set`)

  // A flat-rate shipping option, fulfilled manually.
  const options = await fulfillmentService.listShippingOptions({ name: SEED.shippingOption })
  if (!options.length) {
    await createShippingOptionsWorkflow(container).run({
      input: [
        {
          name: SEED.shippingOption,
          price_type: "flat",
          provider_id: "manual_manual",
          service_zone_id: zone.id,
          shipping_profile_id: profile.id,
          type: { label: "Standard", description: "Ships in 2-3 days.", code: "standard" },
          prices: [
            { currency_code: currency, amount: 5 },
            { region_id: regionId, amount: 5 },
          ],
          rules: [
            { attribute: "enabled_in_store", value: "true", operator: "eq" },
            { attribute: "is_return", value: "false", operator: "eq" },
          ],
        },
      ],
    })
    log(`shipping option created`)
  }

  // A publishable API key of the sales channel, for the storefront.
  const {
    data: keys,
  } = await query.graph({
    entity: "api_key",
    fields: ["id", "title", "revoked_at", "sales_channels.id"],
    filters: { type: "publishable" },
  })
  const live = keys.filter((k: any) => !k.revoked_at)
  let key: any =
    live.find((k: any) => (k.sales_channels ?? []).some((s: any) => s?.id === salesChannelId)) ??
    live.find((k: any) => k.title === SEED.apiKey)
  if (!key) {
    const { result } = await createApiKeysWorkflow(container).run({
      input: { api_keys: [{ title: SEED.apiKey, type: "publishable", created_by: "store-weaver setup" }] },
    })
    key = { ...result[0], sales_channels: [] }
    log(`publishable API key created`)
  }
  if (!(key.sales_channels ?? []).some((s: any) => s?.id === salesChannelId)) {
    await linkSalesChannelsToApiKeyWorkflow(container).run({ input: { id: key.id, add: [salesChannelId] } })
    log(`publishable API key linked to the sales channel`)
  }

  // The sample products, each with stock at the location.
  const existing = await productService.listProducts({ handle: PRODUCTS.map((p) => p.handle) })
  const missing = PRODUCTS.filter((p) => !existing.some((e) => e.handle === p.handle))
  if (missing.length) {
    await createProductsWorkflow(container).run({
      input: {
        products: missing.map((p) => ({
          title: p.title,
          handle: p.handle,
          description: p.description,
          status: ProductStatus.PUBLISHED,
          shipping_profile_id: profile.id,
          options: [{ title: "Size", values: ["One size"] }],
          variants: [
            {
              title: "One size",
              sku: `SW-${p.handle.toUpperCase()}`,
              options: { Size: "One size" },
              manage_inventory: true,
              prices: [{ amount: p.price, currency_code: currency }],
            },
          ],
          sales_channels: [{ id: salesChannelId }],
        })),
      },
    })
    log(`products created (${missing.map((p) => p.handle).join(", ")})`)
  }
  const { data: items } = await query.graph({
    entity: "inventory_item",
    fields: ["id", "sku", "location_levels.location_id"],
    filters: { sku: PRODUCTS.map((p) => `SW-${p.handle.toUpperCase()}`) },
  })
  const unstocked = items.filter(
    (i: any) => !(i.location_levels ?? []).some((l: any) => l?.location_id === locationId)
  )
  if (unstocked.length) {
    await createInventoryLevelsWorkflow(container).run({
      input: {
        inventory_levels: unstocked.map((i: any) => ({
          inventory_item_id: i.id,
          location_id: locationId!,
          stocked_quantity: SEED.stock,
        })),
      },
    })
    log(`stock levels created (${unstocked.map((i: any) => i.sku).join(", ")})`)
  }
}
