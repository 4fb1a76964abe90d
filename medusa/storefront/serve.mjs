#!/usr/bin/env node
// The storefront's HTTP server, dependency-free (Node's standard library only):
// the built static files of ./public, index.html for every other GET (the
// app routes in the browser), GET /healthz -> 200. With API_UPSTREAM set
// (e.g. http://127.0.0.1:9000) it also forwards the Medusa server's paths
// there, so a store works on one origin without an ingress (local runs, tests).
//   PORT (default 8000), HOST (default 0.0.0.0), STOREFRONT_DIR (default ./public)
import { createReadStream, promises as fs } from "node:fs"
import http from "node:http"
import https from "node:https"
import { extname, join, normalize, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = resolve(process.env.STOREFRONT_DIR || join(fileURLToPath(new URL(".", import.meta.url)), "public"))
const PORT = Number(process.env.PORT || 8000)
const HOST = process.env.HOST || "0.0.0.0"
// The paths the ingress sends to the Medusa server (the contract's list).
const SERVER_PATHS = ["/app", "/admin", "/auth", "/store", "/hooks", "/static", "/health", "/storefront-config"]

let upstream = null
if (process.env.API_UPSTREAM) {
  try {
    upstream = new URL(process.env.API_UPSTREAM)
    if (!/^https?:$/.test(upstream.protocol)) throw new Error("not http(s)")
  } catch (e) {
    console.error(`storefront: API_UPSTREAM '${process.env.API_UPSTREAM}' is not an http(s) URL (${e.message})`)
    process.exit(1)
  }
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
}
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "SAMEORIGIN",
}

const isServerPath = (p) => SERVER_PATHS.some((s) => p === s || p.startsWith(`${s}/`))

function forward(req, res) {
  const client = upstream.protocol === "https:" ? https : http
  const headers = { ...req.headers, host: upstream.host }
  headers["x-forwarded-host"] = req.headers.host ?? ""
  headers["x-forwarded-proto"] = req.headers["x-forwarded-proto"] ?? "http"
  const up = client.request(
    { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    }
  )
  up.setTimeout(120_000, () => up.destroy(new Error("upstream timed out after 120 s")))
  up.on("error", (e) => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain; charset=utf-8" })
      res.end(`storefront: the Medusa server at ${upstream.origin} did not answer (${e.message})\n`)
    } else res.destroy()
  })
  req.pipe(up)
}

async function sendFile(res, file, method, cache) {
  const stat = await fs.stat(file)
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "content-length": stat.size,
    "cache-control": cache,
  })
  if (method === "HEAD") return res.end()
  createReadStream(file).on("error", () => res.destroy()).pipe(res)
}

const server = http.createServer(async (req, res) => {
  let path
  try {
    path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)
  } catch {
    res.writeHead(400, { "content-type": "text/plain" })
    return res.end("bad request path\n")
  }
  if (path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" })
    return res.end("ok\n")
  }
  if (upstream && isServerPath(path)) return forward(req, res)
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" })
    return res.end("method not allowed\n")
  }
  // A file of the build, never outside it.
  const file = normalize(join(ROOT, path))
  if (file.startsWith(ROOT + sep) && extname(file)) {
    try {
      return await sendFile(res, file, req.method, "public, max-age=300")
    } catch {
      res.writeHead(404, { "content-type": "text/plain" })
      return res.end("not found\n")
    }
  }
  // Any other path is a page of the app.
  try {
    await sendFile(res, join(ROOT, "index.html"), req.method, "no-cache")
  } catch (e) {
    res.writeHead(500, { "content-type": "text/plain" })
    res.end(`storefront: no index.html in ${ROOT} (${e.code ?? e.message}): is the storefront built?\n`)
  }
})

server.listen(PORT, HOST, () => {
  console.log(
    `storefront: serving ${ROOT} on http://${HOST}:${PORT}${upstream ? `, forwarding the server's paths to ${upstream.origin}` : ""}`
  )
})
const stop = () => server.close(() => process.exit(0))
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
