// GET /storefront-config: what the storefront needs before its first Store API
// call (the publishable key, the region, the currency, the store's name). Public
// and outside /store, so it needs no publishable key itself.
import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { ContainerRegistrationKeys, Modules } from "@medusajs/framework/utils"

export const AUTHENTICATE = false

export async function GET(req: MedusaRequest, res: MedusaResponse) {
  const query = req.scope.resolve(ContainerRegistrationKeys.QUERY)
  const storeService = req.scope.resolve(Modules.STORE)
  const [store] = await storeService.listStores({})
  const notReady = (what: string) =>
    res.status(503).json({ message: `the store is not set up yet (${what}): \`medusa-store setup\` has not run` })
  if (!store?.default_region_id || !store.default_sales_channel_id) return notReady("no default region or sales channel")

  const { data: regions } = await query.graph({
    entity: "region",
    fields: ["id", "currency_code"],
    filters: { id: store.default_region_id },
  })
  const { data: keys } = await query.graph({
    entity: "api_key",
    fields: ["token", "revoked_at", "sales_channels.id"],
    filters: { type: "publishable" },
  })
  const key = keys.find(
    (k: any) => !k.revoked_at && (k.sales_channels ?? []).some((s: any) => s?.id === store.default_sales_channel_id)
  )
  if (!regions[0]) return notReady("the default region is missing")
  if (!key) return notReady("no publishable API key of the default sales channel")

  res.setHeader("Cache-Control", "no-store")
  res.json({
    publishableKey: key.token,
    regionId: regions[0].id,
    currency: regions[0].currency_code,
    storeName: store.name,
  })
}
