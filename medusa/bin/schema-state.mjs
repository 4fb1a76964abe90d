#!/usr/bin/env node
// Whether `medusa-store migrate` has completed against DATABASE_URL for this
// build of the store: `mark` records it (run after `medusa db:migrate`
// succeeded), `wait` polls for it until AWAIT_SCHEMA_TIMEOUT_SECS (default 600).
// The record is a row in store_weaver_schema keyed by the build's schema id:
// a hash of the server's package-lock.json, which pins every Medusa module and
// so every migration (this project adds no module of its own). A new image
// with other modules has another id, so a worker of the new image waits for
// the new image's migrate.
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"

const server = process.env.MEDUSA_SERVER_DIR || "/app/server"
const fail = (msg) => {
  console.error(`medusa-store: ${msg}`)
  process.exit(1)
}

let Client
try {
  ;({ Client } = createRequire(join(server, "package.json"))("pg"))
} catch (e) {
  fail(`cannot load the PostgreSQL client from ${server}/node_modules (${e.message}): is MEDUSA_SERVER_DIR right?`)
}

function schemaId() {
  for (const f of ["package-lock.json", "package.json"]) {
    try {
      return createHash("sha256").update(readFileSync(join(server, f))).digest("hex").slice(0, 32)
    } catch {}
  }
  fail(`${server} has no package-lock.json or package.json: not a Medusa build`)
}

// A short-lived connection per attempt: a database that comes up later is fine.
async function withClient(fn) {
  const url = process.env.DATABASE_URL
  if (!url) fail("DATABASE_URL is not set")
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000, statement_timeout: 10000 })
  try {
    await client.connect()
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

const id = schemaId()
const cmd = process.argv[2]
if (cmd === "mark") {
  try {
    await withClient(async (c) => {
      await c.query(
        "CREATE TABLE IF NOT EXISTS store_weaver_schema (schema_id text PRIMARY KEY, migrated_at timestamptz NOT NULL DEFAULT now())"
      )
      await c.query("INSERT INTO store_weaver_schema (schema_id) VALUES ($1) ON CONFLICT (schema_id) DO NOTHING", [id])
    })
  } catch (e) {
    fail(`recording the completed migration failed: ${e.message}`)
  }
  console.log(`medusa-store: schema ${id} recorded as migrated`)
} else if (cmd === "wait") {
  const secs = Number(process.env.AWAIT_SCHEMA_TIMEOUT_SECS || 600)
  if (!Number.isFinite(secs) || secs <= 0) fail(`AWAIT_SCHEMA_TIMEOUT_SECS '${process.env.AWAIT_SCHEMA_TIMEOUT_SECS}' is not a positive number`)
  const deadline = Date.now() + secs * 1000
  let last = "not checked yet"
  let said = false
  for (;;) {
    try {
      const done = await withClient(async (c) => {
        const t = await c.query("SELECT to_regclass('store_weaver_schema') IS NOT NULL AS present")
        if (!t.rows[0].present) return false
        const r = await c.query("SELECT 1 FROM store_weaver_schema WHERE schema_id = $1", [id])
        return r.rowCount > 0
      })
      if (done) break
      last = `no completed migrate of schema ${id} recorded yet`
    } catch (e) {
      last = `database not reachable: ${e.message}`
    }
    if (!said) {
      console.log(`medusa-store: waiting for \`medusa-store migrate\` (schema ${id}): ${last}`)
      said = true
    }
    if (Date.now() >= deadline) {
      fail(
        `the schema is not migrated after ${secs}s (${last}): run \`medusa-store migrate\` (the server's init container) and check its log`
      )
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(0, deadline - Date.now()))))
  }
  console.log(`medusa-store: schema ${id} is migrated`)
} else {
  fail(`usage: schema-state.mjs mark|wait (got '${cmd ?? ""}')`)
}
