#!/usr/bin/env node
// Places one order through a Medusa store's Store API, as a shopper's
// storefront would, and prints the order's id (order_...) on stdout; progress
// and errors go to stderr. Dependency-free (Node >= 18).
//
//   node medusa/scripts/order-via-store-api.mjs BASE_URL
//
// BASE_URL is the store's origin (the ingress, or the storefront with
// API_UPSTREAM, or the server itself): /storefront-config gives the
// publishable key and the region. Environment (all optional):
//   ORDER_DEADLINE_SECS  the whole order's deadline (default 180)
//   ORDER_PRODUCT        the product's handle (default: the first product listed)
//   ORDER_EMAIL          the shopper's email (default shopper+<time>@example.com)
//   ORDER_COUNTRY        the shipping country (default de)
//   ORDER_RESOLVE        "host=ip": connect to ip for host (an ingress reached
//                        by IP under the store's host name; *.localhost)
// Exit status: 0 with the id printed, 1 with the step that failed and why.
import { request } from "./http.mjs"

const base = (process.argv[2] || "").replace(/\/+$/, "")
if (!/^https?:\/\/[^/]+/.test(base)) {
  console.error("usage: order-via-store-api.mjs BASE_URL   (e.g. http://shop.example.test)")
  process.exit(2)
}
const deadlineSecs = Number(process.env.ORDER_DEADLINE_SECS || 180)
const deadline = Date.now() + deadlineSecs * 1000
const email = process.env.ORDER_EMAIL || `shopper+${Date.now()}@example.com`
const country = (process.env.ORDER_COUNTRY || "de").toLowerCase()
let step = "starting"
let publishableKey

async function call(method, path, body) {
  const left = deadline - Date.now()
  if (left <= 0) throw new Error(`the deadline of ${deadlineSecs}s passed`)
  const headers = publishableKey ? { "x-publishable-api-key": publishableKey } : {}
  const res = await request(method, base + path, { headers, body, timeoutMs: Math.min(left, 60_000) })
  let json
  try {
    json = JSON.parse(res.text)
  } catch {
    json = undefined
  }
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${method} ${path} answered ${res.status}: ${json?.message || res.text.slice(0, 300)}`)
  }
  if (json === undefined) throw new Error(`${method} ${path} answered ${res.status} with no JSON: ${res.text.slice(0, 200)}`)
  return json
}

async function main() {
  step = "reading /storefront-config"
  const config = await call("GET", "/storefront-config")
  if (!config.publishableKey || !config.regionId) throw new Error(`incomplete: ${JSON.stringify(config)}`)
  publishableKey = config.publishableKey
  const region = config.regionId

  step = "finding the product"
  const q = new URLSearchParams({ region_id: region, fields: "*variants.calculated_price", limit: "20" })
  if (process.env.ORDER_PRODUCT) q.set("handle", process.env.ORDER_PRODUCT)
  const { products } = await call("GET", `/store/products?${q}`)
  const product = products.find((p) => p.variants?.some((v) => v.calculated_price))
  if (!product) throw new Error(`no product with a price in region ${region}${process.env.ORDER_PRODUCT ? ` and handle ${process.env.ORDER_PRODUCT}` : ""}`)
  const variant = product.variants.find((v) => v.calculated_price)
  console.error(`order: ${product.handle} (${variant.id}) at ${variant.calculated_price.calculated_amount} ${config.currency}`)

  step = "creating the cart"
  const { cart } = await call("POST", "/store/carts", { region_id: region })
  step = "adding the line item"
  await call("POST", `/store/carts/${cart.id}/line-items`, { variant_id: variant.id, quantity: 1 })
  step = "setting the email and addresses"
  const address = {
    first_name: "Store",
    last_name: "Weaver",
    address_1: "1 Test Street",
    city: "Berlin",
    postal_code: "10115",
    country_code: country,
  }
  await call("POST", `/store/carts/${cart.id}`, { email, shipping_address: address, billing_address: address })
  step = "choosing a shipping option"
  const { shipping_options } = await call("GET", `/store/shipping-options?cart_id=${cart.id}`)
  if (!shipping_options?.length) throw new Error(`no shipping option for a cart shipping to ${country}`)
  await call("POST", `/store/carts/${cart.id}/shipping-methods`, { option_id: shipping_options[0].id })
  step = "creating the payment collection"
  const { payment_collection } = await call("POST", "/store/payment-collections", { cart_id: cart.id })
  step = "starting the pp_system_default payment session"
  await call("POST", `/store/payment-collections/${payment_collection.id}/payment-sessions`, {
    provider_id: "pp_system_default",
  })
  step = "completing the cart"
  const done = await call("POST", `/store/carts/${cart.id}/complete`)
  if (done.type !== "order" || !done.order?.id) {
    throw new Error(`the cart was not completed: ${done.error?.message || JSON.stringify(done).slice(0, 300)}`)
  }
  console.error(`order: #${done.order.display_id} ${done.order.id} placed for ${email}`)
  console.log(done.order.id)
}

main().catch((e) => {
  console.error(`order-via-store-api: ${step} failed: ${e.message}`)
  process.exit(1)
})
