// Bundles src/ into public/ (static files served by serve.mjs): one minified
// shop.js with @medusajs/js-sdk inside, the stylesheet and index.html.
import { build } from "esbuild"
import { copyFileSync, mkdirSync, rmSync } from "node:fs"

const out = new URL("./public/", import.meta.url).pathname
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: ["src/app.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  platform: "browser",
  // Not /app.js: a server path is a string prefix of it (/app, the
  // admin), and ingress controllers such as Traefik match prefixes so.
  outfile: `${out}shop.js`,
  legalComments: "linked",
  logLevel: "warning",
})
copyFileSync("src/index.html", `${out}index.html`)
copyFileSync("src/style.css", `${out}style.css`)
console.log(`storefront built in ${out}`)
