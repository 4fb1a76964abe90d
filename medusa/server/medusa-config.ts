// The Medusa store's configuration: everything comes from the environment the
// chart sets (medusa/README.md lists it), so one build serves every store.
import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

const redisUrl = process.env.REDIS_URL || undefined
const env = (name: string, fallback = "") => process.env[name] || fallback

// With Redis, events, cache, workflows and locks are shared between the server
// and the worker (and any replica); without it, in-memory modules (one process).
const redisModules = redisUrl
  ? [
      { resolve: "@medusajs/medusa/event-bus-redis", options: { redisUrl } },
      { resolve: "@medusajs/medusa/cache-redis", options: { redisUrl } },
      {
        resolve: "@medusajs/medusa/workflow-engine-redis",
        options: { redis: { redisUrl } },
      },
      {
        resolve: "@medusajs/medusa/locking",
        options: {
          providers: [
            {
              resolve: "@medusajs/medusa/locking-redis",
              id: "locking-redis",
              is_default: true,
              options: { redisUrl },
            },
          ],
        },
      },
    ]
  : []

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    redisUrl,
    workerMode: env("MEDUSA_WORKER_MODE", "shared") as "shared" | "worker" | "server",
    // The admin's session cookie is Secure when the request came over HTTPS
    // (X-Forwarded-Proto from the ingress; Medusa trusts one proxy), plain on
    // plain HTTP (a sandbox's store): else the admin UI cannot sign in there.
    // express-session takes "auto"; Medusa's type only names booleans.
    cookieOptions: { secure: "auto" as unknown as boolean },
    http: {
      // Same origin behind the ingress: CORS only matters for other origins.
      storeCors: env("STORE_CORS", "http://localhost:8000"),
      adminCors: env("ADMIN_CORS", "http://localhost:9000"),
      authCors: env("AUTH_CORS", "http://localhost:8000,http://localhost:9000"),
      // Medusa refuses to start in production without them (the chart sets both).
      jwtSecret: process.env.JWT_SECRET,
      cookieSecret: process.env.COOKIE_SECRET,
    },
  },
  admin: {
    disable: process.env.MEDUSA_DISABLE_ADMIN === "true",
    // No backendUrl: the admin calls its own origin, so one image serves every host.
  },
  modules: redisModules,
})
