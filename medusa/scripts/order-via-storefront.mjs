#!/usr/bin/env node
// Places one order through a Medusa store's storefront in headless Chromium,
// as a shopper would: the product list, a product page, "Add to cart", the
// cart, the checkout form, "Place order", the confirmation page. Prints the
// order's id (order_...) on stdout; progress and errors go to stderr.
// Drives Debian's chromium with playwright-core (`npm ci --prefix medusa/scripts`).
//
//   node medusa/scripts/order-via-storefront.mjs BASE_URL
//
// Environment (all optional):
//   ORDER_DEADLINE_SECS   the whole order's deadline (default 180)
//   ORDER_RESOLVE         "host=ip": Chromium resolves host to ip (an ingress
//                         reached by IP under the store's host name)
//   ORDER_SCREENSHOTS     a directory for PNGs of each page (storefront-*.png)
//   ORDER_EMAIL           the shopper's email (default shopper+<time>@example.com)
//   CHROMIUM              the browser (default /usr/bin/chromium)
// Exit status: 0 with the id printed, 1 with the step that failed and why.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { chromium } from "playwright-core"

const base = (process.argv[2] || "").replace(/\/+$/, "")
if (!/^https?:\/\/[^/]+/.test(base)) {
  console.error("usage: order-via-storefront.mjs BASE_URL   (e.g. http://shop.example.test)")
  process.exit(2)
}
const deadlineSecs = Number(process.env.ORDER_DEADLINE_SECS || 180)
const deadline = Date.now() + deadlineSecs * 1000
const email = process.env.ORDER_EMAIL || `shopper+${Date.now()}@example.com`
const shots = process.env.ORDER_SCREENSHOTS ? resolve(process.env.ORDER_SCREENSHOTS) : null
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium"
const t0 = Date.now()
const log = (msg) => console.error(`[storefront ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`)
const left = () => Math.max(1000, deadline - Date.now())

const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
]
if (process.env.ORDER_RESOLVE) {
  const [host, ip] = process.env.ORDER_RESOLVE.split("=")
  if (!host || !ip) {
    console.error(`ORDER_RESOLVE '${process.env.ORDER_RESOLVE}' is not host=ip`)
    process.exit(2)
  }
  args.push(`--host-resolver-rules=MAP ${host} ${ip}`)
}

let current = "starting Chromium"
const pageErrors = []
const failedCalls = []
const profile = mkdtempSync(join(tmpdir(), "sw-medusa-storefront-"))
let context
let exitCode = 0
const step = async (name, fn) => {
  current = name
  if (Date.now() > deadline) throw new Error(`the deadline of ${deadlineSecs}s passed`)
  log(`${name}…`)
  return fn()
}
const shot = async (page, name) => {
  if (shots) await page.screenshot({ path: join(shots, `storefront-${name}.png`), fullPage: true })
}
// The app marks the body data-ready="true" when a page has rendered.
const ready = (page) => page.waitForSelector('body[data-ready="true"]', { timeout: left() })

try {
  if (shots) mkdirSync(shots, { recursive: true })
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    locale: "en-GB",
    timezoneId: "UTC",
    reducedMotion: "reduce",
    args,
    timeout: 60_000,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(30_000)
  page.on("pageerror", (e) => pageErrors.push(String(e)))
  page.on("response", (r) => {
    if (r.status() >= 400) failedCalls.push(`${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`)
  })

  await step("opening the product list", async () => {
    await page.goto(`${base}/`, { timeout: left(), waitUntil: "domcontentloaded" })
    await ready(page)
    const error = await page.$('[data-testid="error"]')
    if (error) throw new Error(`the storefront shows an error: ${await error.innerText()}`)
    await page.waitForSelector('[data-testid="product-card"]', { timeout: left() })
    await shot(page, "products")
  })
  await step("opening a product page", async () => {
    await page.locator('[data-testid="product-card"] a').first().click()
    await page.waitForSelector('[data-testid="add-to-cart"]', { timeout: left() })
    await shot(page, "product")
  })
  await step("adding it to the cart", async () => {
    await page.click('[data-testid="add-to-cart"]')
    await page.waitForSelector('[data-testid="add-status"][data-state]', { timeout: left() })
    const state = await page.getAttribute('[data-testid="add-status"]', "data-state")
    if (state !== "added") throw new Error(await page.innerText('[data-testid="add-status"]'))
  })
  await step("opening the cart", async () => {
    await page.click('[data-testid="go-to-cart"]')
    await page.waitForSelector('[data-testid="cart-item"]', { timeout: left() })
    await shot(page, "cart")
  })
  await step("filling in the checkout form", async () => {
    await page.click('[data-testid="checkout-link"]')
    await page.waitForSelector('[data-testid="place-order"]', { timeout: left() })
    await page.fill('[data-testid="checkout-email"]', email)
    await page.fill('[data-testid="checkout-first-name"]', "Store")
    await page.fill('[data-testid="checkout-last-name"]', "Weaver")
    await page.fill('[data-testid="checkout-address"]', "1 Test Street")
    await page.fill('[data-testid="checkout-postal-code"]', "10115")
    await page.fill('[data-testid="checkout-city"]', "Berlin")
    await page.selectOption('[data-testid="checkout-country"]', "de")
    await shot(page, "checkout")
  })
  const orderId = await step("placing the order", async () => {
    await page.click('[data-testid="place-order"]')
    const done = await Promise.race([
      page.waitForSelector('[data-testid="order-confirmation"]', { timeout: left() }).then(() => "ok"),
      page.waitForSelector('[data-testid="checkout-error"]', { timeout: left() }).then(() => "error"),
    ])
    if (done === "error") throw new Error(await page.innerText('[data-testid="checkout-error"]'))
    await shot(page, "confirmation")
    const id = (await page.innerText('[data-testid="order-id"]')).trim()
    const display = (await page.innerText('[data-testid="order-display-id"]')).trim()
    if (!/^order_/.test(id)) throw new Error(`the confirmation shows '${id}', not an order id`)
    log(`order ${display} ${id} placed for ${email}`)
    return id
  })
  console.log(orderId)
} catch (e) {
  exitCode = 1
  console.error(`order-via-storefront: ${current} failed: ${e.message.split("\n")[0]}`)
  if (failedCalls.length) console.error(`  failed requests: ${failedCalls.slice(-5).join("; ")}`)
  if (pageErrors.length) console.error(`  page errors: ${pageErrors.slice(-3).join("; ")}`)
} finally {
  await context?.close().catch(() => {})
  rmSync(profile, { recursive: true, force: true })
}
process.exit(exitCode)
