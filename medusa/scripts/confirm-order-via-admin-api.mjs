#!/usr/bin/env node
// Confirms an order through a Medusa store's Admin API: signs in with the
// admin's email and password (POST /auth/user/emailpass), then reads
// GET /admin/orders/:id. Prints one JSON line on stdout
// ({"id","display_id","status","payment_status","email","total","currency_code"})
// and exits 0 when the order exists; 1 with the reason otherwise.
// Dependency-free (Node >= 18).
//
//   MEDUSA_ADMIN_EMAIL=... MEDUSA_ADMIN_PASSWORD=... \
//     node medusa/scripts/confirm-order-via-admin-api.mjs BASE_URL ORDER_ID
//
// The password is read from the environment only (never an argument), and is
// never printed. ORDER_DEADLINE_SECS (default 60) bounds the whole check;
// ORDER_RESOLVE=host=ip connects to ip for host (an ingress reached by IP).
import { request } from "./http.mjs"

const [base0, orderId] = process.argv.slice(2)
const base = (base0 || "").replace(/\/+$/, "")
if (!/^https?:\/\/[^/]+/.test(base) || !orderId) {
  console.error("usage: confirm-order-via-admin-api.mjs BASE_URL ORDER_ID   (MEDUSA_ADMIN_EMAIL, MEDUSA_ADMIN_PASSWORD in the environment)")
  process.exit(2)
}
const email = process.env.MEDUSA_ADMIN_EMAIL
const password = process.env.MEDUSA_ADMIN_PASSWORD
if (!email || !password) {
  console.error("confirm-order-via-admin-api: set MEDUSA_ADMIN_EMAIL and MEDUSA_ADMIN_PASSWORD in the environment")
  process.exit(2)
}
const deadlineSecs = Number(process.env.ORDER_DEADLINE_SECS || 60)
const deadline = Date.now() + deadlineSecs * 1000

async function call(method, path, { body, token } = {}) {
  const left = deadline - Date.now()
  if (left <= 0) throw new Error(`the deadline of ${deadlineSecs}s passed`)
  const headers = token ? { authorization: `Bearer ${token}` } : {}
  const res = await request(method, base + path, { headers, body, timeoutMs: Math.min(left, 30_000) })
  let json
  try {
    json = JSON.parse(res.text)
  } catch {}
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${method} ${path} answered ${res.status}: ${json?.message || res.text.slice(0, 300)}`)
  }
  return json ?? {}
}

try {
  const { token } = await call("POST", "/auth/user/emailpass", { body: { email, password } })
  if (!token) throw new Error(`signing in as ${email} gave no token`)
  const { order } = await call("GET", `/admin/orders/${encodeURIComponent(orderId)}?fields=id,display_id,status,payment_status,email,total,currency_code`, { token })
  if (!order?.id) throw new Error(`no order ${orderId} in the admin`)
  const { id, display_id, status, payment_status, email: shopper, total, currency_code } = order
  console.log(JSON.stringify({ id, display_id, status, payment_status, email: shopper, total, currency_code }))
} catch (e) {
  console.error(`confirm-order-via-admin-api: ${e.message}`)
  process.exit(1)
}
