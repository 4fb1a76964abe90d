// The storefront: a small single-page app over Medusa's Store API (through
// @medusajs/js-sdk) on the store's own origin. Pages: / (products),
// /products/:handle, /cart, /checkout, /order/:id (confirmation). Element ids
// and data-testid attributes are stable: the headless-browser test
// (medusa/scripts/order-via-storefront.mjs) relies on them.
import Medusa from "@medusajs/js-sdk"

const CART_KEY = "store-weaver.cart-id"
const ORDER_KEY = "store-weaver.last-order"
const main = document.getElementById("main")
let sdk
let config

const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c])
const money = (amount, currency) => {
  if (amount == null) return ""
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: (currency || config.currency).toUpperCase() }).format(amount)
  } catch {
    return `${amount} ${String(currency || config.currency).toUpperCase()}`
  }
}
const errorText = (e) => e?.message || String(e)

let navigated = false
function render(html, title) {
  main.innerHTML = html
  document.title = title ? `${title} · ${config?.storeName ?? "Store"}` : config?.storeName ?? "Store"
  // After a navigation in the app, a screen reader starts at the new content.
  if (navigated) main.focus({ preventScroll: true })
}
function showError(e, where) {
  render(`<h1>Something went wrong</h1><p class="error" role="alert" data-testid="error">${esc(where)}: ${esc(errorText(e))}</p>
    <p><a href="/" data-link>Back to the products</a></p>`, "Error")
}

// ---------------------------------------------------------------- the cart
const cartId = () => localStorage.getItem(CART_KEY)
const CART_FIELDS = "*items,*items.variant,*items.product,*shipping_methods,+total,+subtotal,+shipping_total,+tax_total"

async function currentCart() {
  const id = cartId()
  if (!id) return null
  try {
    const { cart } = await sdk.store.cart.retrieve(id, { fields: CART_FIELDS })
    if (cart.completed_at) throw new Error("completed")
    return cart
  } catch {
    localStorage.removeItem(CART_KEY)
    return null
  }
}
async function ensureCart() {
  const existing = await currentCart()
  if (existing) return existing
  const { cart } = await sdk.store.cart.create({ region_id: config.regionId }, { fields: CART_FIELDS })
  localStorage.setItem(CART_KEY, cart.id)
  return cart
}
function showCount(cart) {
  const n = (cart?.items ?? []).reduce((sum, i) => sum + i.quantity, 0)
  document.getElementById("cart-count").textContent = String(n)
}

// --------------------------------------------------------------- the pages
const PRODUCT_FIELDS = "*variants.calculated_price,+variants.inventory_quantity"
const variantPrice = (v) => v?.calculated_price?.calculated_amount

async function productsPage() {
  const { products } = await sdk.store.product.list({ region_id: config.regionId, fields: PRODUCT_FIELDS, limit: 50 })
  if (!products.length) return render(`<h1>Products</h1><p class="muted">No products yet.</p>`, "Products")
  render(
    `<h1>Products</h1><ul class="grid" data-testid="product-list">${products
      .map(
        (p) => `<li class="card" data-testid="product-card">
          <h2><a href="/products/${esc(p.handle)}" data-link data-testid="product-link-${esc(p.handle)}">${esc(p.title)}</a></h2>
          <p class="muted">${esc(p.description ?? "")}</p>
          <p class="price">${esc(money(variantPrice(p.variants?.[0])))}</p></li>`
      )
      .join("")}</ul>`,
    "Products"
  )
}

async function productPage(handle) {
  const { products } = await sdk.store.product.list({ handle, region_id: config.regionId, fields: PRODUCT_FIELDS })
  const p = products[0]
  if (!p) return render(`<h1>Not found</h1><p>No product “${esc(handle)}”. <a href="/" data-link>All products</a></p>`, "Not found")
  const variants = p.variants ?? []
  render(
    `<article data-testid="product" data-product-id="${esc(p.id)}">
      <h1 id="product-title">${esc(p.title)}</h1>
      <p>${esc(p.description ?? "")}</p>
      <p class="price" id="product-price" data-testid="product-price">${esc(money(variantPrice(variants[0])))}</p>
      <form id="add-form" class="checkout" aria-labelledby="product-title">
        <label>Variant
          <select id="variant" name="variant" data-testid="variant-select">${variants
            .map((v) => `<option value="${esc(v.id)}">${esc(v.title)} – ${esc(money(variantPrice(v)))}</option>`)
            .join("")}</select></label>
        <label>Quantity <input id="quantity" name="quantity" type="number" min="1" max="99" value="1" data-testid="quantity" required></label>
        <div class="wide"><button type="submit" id="add-to-cart" data-testid="add-to-cart">Add to cart</button>
        <span id="add-status" role="status" data-testid="add-status"></span></div>
      </form></article>`,
    p.title
  )
  const form = document.getElementById("add-form")
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault()
    const button = document.getElementById("add-to-cart")
    const status = document.getElementById("add-status")
    button.disabled = true
    status.textContent = "Adding…"
    try {
      const cart = await ensureCart()
      const quantity = Math.max(1, Number(document.getElementById("quantity").value) || 1)
      const { cart: updated } = await sdk.store.cart.createLineItem(
        cart.id,
        { variant_id: document.getElementById("variant").value, quantity },
        { fields: CART_FIELDS }
      )
      showCount(updated)
      status.innerHTML = `Added. <a href="/cart" data-link data-testid="go-to-cart">View the cart</a>`
      status.dataset.state = "added"
    } catch (e) {
      status.innerHTML = `<span class="error" role="alert">Could not add it: ${esc(errorText(e))}</span>`
      status.dataset.state = "error"
    } finally {
      button.disabled = false
    }
  })
}

function cartTable(cart) {
  return `<table data-testid="cart-items"><thead><tr><th>Product</th><th class="num">Quantity</th><th class="num">Price</th><th><span class="skip">Remove</span></th></tr></thead><tbody>${cart.items
    .map(
      (i) => `<tr data-testid="cart-item"><td>${esc(i.product_title ?? i.title)}${i.variant_title ? ` <span class="muted">(${esc(i.variant_title)})</span>` : ""}</td>
        <td class="num">${esc(i.quantity)}</td><td class="num">${esc(money(i.unit_price * i.quantity, cart.currency_code))}</td>
        <td><button class="secondary" data-remove="${esc(i.id)}" aria-label="Remove ${esc(i.product_title ?? i.title)}">Remove</button></td></tr>`
    )
    .join("")}</tbody></table>`
}

async function cartPage() {
  const cart = await currentCart()
  showCount(cart)
  if (!cart || !cart.items?.length) {
    return render(`<h1>Your cart</h1><p data-testid="cart-empty">The cart is empty. <a href="/" data-link>See the products</a></p>`, "Cart")
  }
  render(
    `<h1>Your cart</h1>${cartTable(cart)}
     <p>Subtotal: <strong data-testid="cart-subtotal">${esc(money(cart.subtotal ?? cart.item_total, cart.currency_code))}</strong></p>
     <p><a class="button" href="/checkout" data-link id="checkout-link" data-testid="checkout-link">Checkout</a></p>`,
    "Cart"
  )
  main.querySelectorAll("[data-remove]").forEach((b) =>
    b.addEventListener("click", async () => {
      b.disabled = true
      try {
        await sdk.store.cart.deleteLineItem(cart.id, b.dataset.remove)
        await cartPage()
      } catch (e) {
        showError(e, "Removing the item")
      }
    })
  )
}

async function checkoutPage() {
  const cart = await currentCart()
  if (!cart || !cart.items?.length) {
    return render(`<h1>Checkout</h1><p data-testid="cart-empty">The cart is empty. <a href="/" data-link>See the products</a></p>`, "Checkout")
  }
  const { region } = await sdk.store.region.retrieve(config.regionId, { fields: "*countries" })
  const countries = (region.countries ?? []).slice().sort((a, b) => (a.display_name ?? "").localeCompare(b.display_name ?? ""))
  const field = (id, label, attrs = "", wide = false) =>
    `<label class="${wide ? "wide" : ""}">${label}<input id="${id}" name="${id}" data-testid="${id}" ${attrs} required></label>`
  render(
    `<h1>Checkout</h1>${cartTable(cart)}
    <form id="checkout-form" class="checkout" novalidate>
      ${field("checkout-email", "Email", 'type="email" autocomplete="email"', true)}
      ${field("checkout-first-name", "First name", 'autocomplete="given-name"')}
      ${field("checkout-last-name", "Last name", 'autocomplete="family-name"')}
      ${field("checkout-address", "Address", 'autocomplete="address-line1"', true)}
      ${field("checkout-postal-code", "Postal code", 'autocomplete="postal-code"')}
      ${field("checkout-city", "City", 'autocomplete="address-level2"')}
      <label class="wide">Country<select id="checkout-country" name="country" data-testid="checkout-country" autocomplete="country" required>${countries
        .map((c) => `<option value="${esc(c.iso_2)}">${esc(c.display_name ?? c.iso_2)}</option>`)
        .join("")}</select></label>
      <fieldset class="wide"><legend>Payment</legend><p>Manual payment: you pay on delivery or by invoice. No card is needed.</p></fieldset>
      <div class="wide"><button type="submit" id="place-order" data-testid="place-order">Place order</button>
        <span id="checkout-status" role="status" data-testid="checkout-status"></span></div>
    </form>`,
    "Checkout"
  )
  document.getElementById("checkout-form").addEventListener("submit", (ev) => {
    ev.preventDefault()
    placeOrder(cart).catch(() => {})
  })
}

async function placeOrder(cart) {
  const form = document.getElementById("checkout-form")
  const button = document.getElementById("place-order")
  const status = document.getElementById("checkout-status")
  if (!form.checkValidity()) {
    form.reportValidity()
    status.innerHTML = `<span class="error" role="alert" data-testid="checkout-error">Please fill in every field.</span>`
    return
  }
  const v = (id) => document.getElementById(id).value.trim()
  const address = {
    first_name: v("checkout-first-name"),
    last_name: v("checkout-last-name"),
    address_1: v("checkout-address"),
    postal_code: v("checkout-postal-code"),
    city: v("checkout-city"),
    country_code: v("checkout-country"),
  }
  button.disabled = true
  const step = (text) => (status.textContent = text)
  try {
    step("Saving the address…")
    let { cart: updated } = await sdk.store.cart.update(cart.id, {
      email: v("checkout-email"),
      shipping_address: address,
      billing_address: address,
    })
    step("Choosing shipping…")
    const { shipping_options } = await sdk.store.fulfillment.listCartOptions({ cart_id: cart.id })
    if (!shipping_options?.length) throw new Error("no shipping option ships to this address")
    ;({ cart: updated } = await sdk.store.cart.addShippingMethod(cart.id, { option_id: shipping_options[0].id }))
    step("Preparing the payment…")
    await sdk.store.payment.initiatePaymentSession(updated, { provider_id: "pp_system_default" })
    step("Placing the order…")
    const result = await sdk.store.cart.complete(cart.id)
    if (result.type !== "order") throw new Error(result.error?.message || "the cart could not be completed")
    localStorage.removeItem(CART_KEY)
    sessionStorage.setItem(ORDER_KEY, JSON.stringify(result.order))
    showCount(null)
    navigate(`/order/${result.order.id}`)
  } catch (e) {
    status.innerHTML = `<span class="error" role="alert" data-testid="checkout-error">The order was not placed: ${esc(errorText(e))}</span>`
    button.disabled = false
  }
}

async function orderPage(id) {
  let order
  try {
    const saved = JSON.parse(sessionStorage.getItem(ORDER_KEY) || "null")
    if (saved?.id === id) order = saved
  } catch {}
  if (!order) ({ order } = await sdk.store.order.retrieve(id))
  render(
    `<h1>Thank you!</h1>
    <div class="notice" data-testid="order-confirmation" data-order-id="${esc(order.id)}">
      <p>Your order <strong id="order-display-id" data-testid="order-display-id">#${esc(order.display_id)}</strong> has been placed.</p>
      <p class="muted">Order reference: <code id="order-id" data-testid="order-id">${esc(order.id)}</code></p>
      <p>Total: <strong>${esc(money(order.total, order.currency_code))}</strong>. A confirmation goes to ${esc(order.email)}.</p>
    </div>
    <p><a href="/" data-link>Continue shopping</a></p>`,
    `Order #${order.display_id}`
  )
}

// ------------------------------------------------------------- the router
async function route() {
  const path = location.pathname
  let m
  try {
    if (path === "/" || path === "/products") await productsPage()
    else if ((m = path.match(/^\/products\/([^/]+)$/))) await productPage(decodeURIComponent(m[1]))
    else if (path === "/cart") await cartPage()
    else if (path === "/checkout") await checkoutPage()
    else if ((m = path.match(/^\/order\/([^/]+)$/))) await orderPage(decodeURIComponent(m[1]))
    else render(`<h1>Not found</h1><p><a href="/" data-link>See the products</a></p>`, "Not found")
  } catch (e) {
    showError(e, "Loading the page")
  }
  document.body.dataset.ready = "true"
}
function navigate(to) {
  navigated = true
  history.pushState(null, "", to)
  document.body.dataset.ready = "false"
  route()
}
document.addEventListener("click", (ev) => {
  const a = ev.target.closest?.("a[data-link]")
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || a.origin !== location.origin) return
  ev.preventDefault()
  navigate(a.pathname)
})
window.addEventListener("popstate", route)

async function start() {
  try {
    const res = await fetch("/storefront-config", { headers: { accept: "application/json" } })
    const body = await res.json().catch(() => ({}))
    if (!res.ok) throw new Error(body.message || `GET /storefront-config answered ${res.status}`)
    config = body
  } catch (e) {
    render(`<h1>The store is not open yet</h1><p class="error" role="alert" data-testid="error">${esc(errorText(e))}</p>`, "Not open")
    document.body.dataset.ready = "true"
    return
  }
  sdk = new Medusa({ baseUrl: location.origin, publishableKey: config.publishableKey, debug: false })
  const name = document.getElementById("store-name")
  name.textContent = config.storeName
  showCount(await currentCart())
  await route()
}
start()
