// A small HTTP client for the order scripts, on Node's http/https modules
// (fetch cannot send another Host header): JSON in, text out, a timeout, and
// ORDER_RESOLVE=host=ip to reach a host name at an address (an ingress reached
// by IP under the store's host, or *.localhost, which Node does not resolve).
import dns from "node:dns"
import http from "node:http"
import https from "node:https"
import net from "node:net"

export function resolveRule() {
  const raw = process.env.ORDER_RESOLVE
  if (!raw) return null
  const [host, ip] = raw.split("=")
  if (!host || !ip || !net.isIP(ip)) throw new Error(`ORDER_RESOLVE '${raw}' is not host=ip (e.g. shop.localhost=127.0.0.1)`)
  return { host: host.toLowerCase(), ip, family: net.isIP(ip) }
}

let rule
try {
  rule = resolveRule()
} catch (e) {
  console.error(e.message)
  process.exit(2)
}
function lookup(hostname, options, callback) {
  if (typeof options === "function") [options, callback] = [{}, options]
  if (rule && hostname.toLowerCase() === rule.host) {
    if (options?.all) return callback(null, [{ address: rule.ip, family: rule.family }])
    return callback(null, rule.ip, rule.family)
  }
  return dns.lookup(hostname, options, callback)
}

// -> { status, text }; rejects with a message naming the request when there is no answer.
export function request(method, url, { headers = {}, body, timeoutMs = 30_000 } = {}) {
  const u = new URL(url)
  const client = u.protocol === "https:" ? https : http
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  const h = { accept: "application/json", ...headers }
  if (payload) {
    h["content-type"] = "application/json"
    h["content-length"] = String(payload.length)
  }
  return new Promise((resolve, reject) => {
    const req = client.request(u, { method, headers: h, lookup, timeout: timeoutMs }, (res) => {
      const chunks = []
      res.on("data", (c) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", (e) => reject(new Error(`${method} ${u.pathname}: the answer broke off (${e.message})`)))
    })
    req.on("timeout", () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`)))
    req.on("error", (e) => reject(new Error(`${method} ${u.pathname}: no answer from ${u.host} (${e.message})`)))
    req.end(payload)
  })
}
