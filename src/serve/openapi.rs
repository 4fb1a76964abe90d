//! The OpenAPI 3.1 document of the whole HTTP API, served at
//! `/api/openapi.json`. Written by hand; a test checks that it documents
//! exactly the routes the router serves, method by method.

use axum::Json;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": json_content(schema) })
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": json_content(reference("Error")) })
}

/// The error responses most authenticated endpoints share.
fn common_errors(responses: &mut Map<String, Value>) {
    responses.insert(
        "401".into(),
        error("Not signed in, or the session expired."),
    );
    responses.insert(
        "403".into(),
        error("Signed in but not allowed (a disabled account; a cross-site request with the session cookie)."),
    );
    responses.insert(
        "503".into(),
        error("The database or the cluster is unavailable, or the request timed out."),
    );
}

struct Op {
    summary: &'static str,
    description: &'static str,
    tag: &'static str,
    id_param: bool,
    query: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(&'static str, Value)>,
    public: bool,
}

impl Op {
    fn new(tag: &'static str, summary: &'static str) -> Op {
        Op {
            summary,
            description: "",
            tag,
            id_param: false,
            query: Vec::new(),
            body: None,
            responses: Vec::new(),
            public: false,
        }
    }
    fn describe(mut self, d: &'static str) -> Op {
        self.description = d;
        self
    }
    fn id(mut self) -> Op {
        self.id_param = true;
        self
    }
    fn query(mut self, name: &str, description: &str, schema: Value) -> Op {
        self.query.push(json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema }));
        self
    }
    fn body(mut self, schema: &str) -> Op {
        self.body = Some(json!({ "required": true, "content": json_content(reference(schema)) }));
        self
    }
    fn resp(mut self, code: &'static str, v: Value) -> Op {
        self.responses.push((code, v));
        self
    }
    fn public(mut self) -> Op {
        self.public = true;
        self
    }
    fn build(self) -> Value {
        let mut responses = Map::new();
        if !self.public {
            common_errors(&mut responses);
        }
        if self.id_param {
            responses.insert("400".into(), error("The store id is not a UUID."));
            responses.insert("404".into(), error("No such store, or it is not yours."));
        }
        for (code, v) in self.responses {
            responses.insert(code.into(), v);
        }
        let mut params = Vec::new();
        if self.id_param {
            params.push(json!({
                "name": "id", "in": "path", "required": true, "description": "The store's id.",
                "schema": { "type": "string", "format": "uuid" }
            }));
        }
        params.extend(self.query);
        let mut op = json!({
            "tags": [self.tag],
            "summary": self.summary,
            "responses": responses,
        });
        if !self.description.is_empty() {
            op["description"] = json!(self.description);
        }
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        if let Some(b) = self.body {
            op["requestBody"] = b;
        }
        if self.public {
            op["security"] = json!([]);
        }
        op
    }
}

fn paths() -> Value {
    let body_errors = |op: Op| {
        op.resp("400", error("Malformed JSON."))
            .resp("413", error("The body is larger than 16 KiB."))
            .resp("415", error("The body is not sent as application/json."))
            .resp(
                "422",
                error(
                    "A field is missing, unknown, of the wrong type or invalid; `field` names it.",
                ),
            )
    };
    json!({
        "/healthz": { "get": Op::new("operations", "The process is alive.").public()
            .resp("200", ok("Alive.", json!({ "type": "object", "properties": { "status": { "const": "ok" } } }))).build() },
        "/readyz": { "get": Op::new("operations", "Ready to serve: database reachable, cluster watches connected, not shutting down.").public()
            .resp("200", ok("Ready.", reference("Readiness")))
            .resp("503", ok("Not ready; `error` says why.", reference("Readiness"))).build() },
        "/metrics": { "get": Op::new("operations", "Prometheus metrics (text format 0.0.4).").public()
            .describe("Stores by status, operations queued, provisions started and failed (whole deployment, from the database: aggregate across replicas with max), watch connected, and per-process counters and the provisioning duration histogram.")
            .resp("200", json!({ "description": "Metrics.", "content": { "text/plain": { "schema": { "type": "string" } } } })).build() },
        "/api/openapi.json": { "get": Op::new("meta", "This document.").public()
            .resp("200", ok("The OpenAPI document.", json!({ "type": "object" }))).build() },
        "/api/session": {
            "post": body_errors(Op::new("session", "Sign in with an email and a password (auth mode `password`).")
                .describe("Sets the HttpOnly, SameSite=Strict session cookie (`__Host-sw_session`, Secure, over https; `sw_session` over plain http) and returns the same token for `Authorization: Bearer`. Failed attempts are throttled per client address and per account from that address, with growing delays (docs/api.md, \"Sign-in throttling\"); a correct password from an address that has not failed is never held back.")
                .body("SignIn")).public()
                .resp("201", ok("Signed in.", reference("Session")))
                .resp("401", error("Wrong email or password."))
                .resp("403", error("The account is disabled."))
                .resp("429", error("Too many failed sign-ins (`limit`: sign_in_failures_address or sign_in_failures_account), or another sign-in from this address is being checked (sign_in_concurrency); see Retry-After."))
                .resp("503", error("The database is unavailable, or too many password checks are running (`code`: busy); see Retry-After.")).build(),
            "delete": Op::new("session", "Sign out: ends this session and clears the cookie.")
                .resp("204", json!({ "description": "Signed out." })).build(),
        },
        "/api/me": { "get": Op::new("session", "Who the server thinks you are.")
            .resp("200", ok("The signed-in user.", reference("Me"))).build() },
        "/api/stores": {
            "get": Op::new("stores", "One page of your stores (admins: every store), newest first unless `sort` says otherwise. Deleted stores are left out.")
                .describe("Keyset paging: pass `next_cursor` back as `cursor` for the next page; pages stay exact while stores are created. A cursor belongs to the user and the filters it was made for (400 otherwise). `total` is the exact number of stores matching the filters.")
                .query("limit", "Stores per page (1 to 500, default 50).", json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 }))
                .query("cursor", "`next_cursor` of the previous page.", json!({ "type": "string" }))
                .query("status", "Only stores in this status.", reference("StoreStatus"))
                .query("owner", "Admins only: one owner's stores.", json!({ "type": "string" }))
                .query("q", "A substring of the name, namespace or URL, any case (at most 100 characters).", json!({ "type": "string", "maxLength": 100 }))
                .query("sort", "created, name or status; a leading - for descending. Default -created.", json!({ "type": "string", "enum": ["created", "-created", "name", "-name", "status", "-status"] }))
                .resp("200", ok("A page of stores.", reference("StoreList")))
                .resp("400", error("Unknown query parameter, status or sort; a limit out of range; a cursor from another user or other filters (`field` says which).")).build(),
            "post": body_errors(Op::new("stores", "Create a store; provisioning runs in the background.")
                .describe("The store starts as Provisioning. The same idempotency key (the `Idempotency-Key` header or the `idempotency_key` field) from the same user returns the same store with 200 instead of creating another. Limited per user and per client address (`create_rate_per_minute`), and by MAX_STORES and MAX_STORES_PER_USER.")
                .body("CreateStore"))
                .resp("201", ok("Created; `Location` points at the store.", reference("Store")))
                .resp("200", ok("An idempotent repeat: the store created by the first request (header `Idempotent-Replayed: true`).", reference("Store")))
                .resp("409", error("You already have a store with this name (`code`: name_taken)."))
                .resp("429", error("A limit was hit; `limit` says which: MAX_STORES, MAX_STORES_PER_USER, create_rate_per_user, create_rate_per_address."))
                .build(),
        },
        "/api/stores/{id}": {
            "get": Op::new("stores", "One store (Deleted stores too: the record is kept).").id()
                .resp("200", ok("The store.", reference("Store"))).build(),
            "delete": Op::new("stores", "Delete a store: it goes to Deleting and is removed in the background.").id()
                .resp("202", ok("Deleting.", reference("Store")))
                .resp("409", error("It is already being deleted (`code`: not_allowed).")).build(),
        },
        "/api/stores/{id}/status": { "get": Op::new("stores", "A store's status, with its live health from the cluster watches.").id()
            .resp("200", ok("Status.", reference("StoreStatusDetail"))).build() },
        "/api/stores/{id}/detail": { "get": Op::new("stores", "A store's resources (with readiness) and namespace events (newest first).").id()
            .resp("200", ok("Detail.", reference("StoreDetail"))).build() },
        "/api/stores/{id}/logs": { "get": Op::new("stores", "A container's log, streamed as text/plain, the store's secrets masked (owner only; recorded in the audit log). Headers x-pod and x-container say which.").id()
            .query("pod", "A pod of the store (default: the WordPress pod).", json!({ "type": "string" }))
            .query("container", "A container, init containers included (default: the main one).", json!({ "type": "string" }))
            .query("follow", "Keep the response open and send new lines as they come.", json!({ "type": "boolean" }))
            .query("previous", "The previous instance of the container.", json!({ "type": "boolean" }))
            .query("tail", "The last N lines (1 to 10000, default 500).", json!({ "type": "integer", "minimum": 1, "maximum": 10000 }))
            .query("timestamps", "Prefix each line with its time.", json!({ "type": "boolean" }))
            .resp("200", json!({ "description": "The log, one line per line.", "content": { "text/plain": { "schema": { "type": "string" } } } })).build() },
        "/api/stores/{id}/timeline": { "get": Op::new("stores", "A store's timeline from the audit log, oldest first, a page at a time.").id()
            .query("limit", "Entries per page (1 to 500, default 500).", json!({ "type": "integer", "minimum": 1, "maximum": 500 }))
            .query("cursor", "`next_cursor` of the previous page.", json!({ "type": "string" }))
            .resp("200", ok("Timeline.", reference("Timeline"))).build() },
        "/api/stores/{id}/retry": { "post": Op::new("stores", "Retry a Failed store: same record, back to Provisioning.").id()
            .resp("202", ok("Provisioning again.", reference("Store")))
            .resp("409", error("Only Failed stores can be retried (`code`: not_allowed).")).build() },
        "/api/stores/{id}/credentials": { "post": Op::new("stores", "Reveal the store's WordPress admin credentials (owner only; recorded in the audit log).").id()
            .resp("200", ok("The credentials. Do not cache.", reference("Credentials")))
            .resp("409", error("The credentials do not exist yet, or the store is being deleted.")).build() },
        "/api/stream": { "get": Op::new("stores", "Live store changes (Server-Sent Events).")
            .describe("Events: `snapshot` (data: {\"stores\": [Store...]}, on connect and whenever changes may have been missed; with `snapshot=false` a `resync` event with `{}` instead), `store` (data: Store, on every change to a store you may see, including its deletion: status Deleted), `error` (data: Error), `ended` (the session is gone; the stream closes). A comment line every 15 s keeps the connection open. EventSource sends the session cookie. At most `max_streams_per_user` per user and `max_streams` per server (429).")
            .query("snapshot", "false: send `resync` instead of the full list (for paged clients).", json!({ "type": "boolean", "default": true }))
            .resp("200", json!({ "description": "An event stream.", "content": { "text/event-stream": { "schema": { "type": "string" } } } })).build() },
        "/api/audit": { "get": Op::new("audit", "The whole audit log, newest first (admins only), a page at a time.")
            .query("limit", "Entries per page (1 to 1000, default 100).", json!({ "type": "integer", "minimum": 1, "maximum": 1000 }))
            .query("cursor", "`next_cursor` of the previous page.", json!({ "type": "string" }))
            .resp("200", ok("Entries.", reference("AuditLog")))
            .resp("400", error("Invalid query.")).build() },
    })
}

fn schemas() -> Value {
    let ts = json!({ "type": "string", "format": "date-time" });
    let ts_or_null = json!({ "type": ["string", "null"], "format": "date-time" });
    let text_or_null = json!({ "type": ["string", "null"] });
    json!({
        "Error": {
            "type": "object", "required": ["error", "code"],
            "properties": {
                "error": { "type": "string", "description": "What went wrong, for people." },
                "code": { "type": "string", "description": "Stable code for programs, e.g. invalid, invalid_body, malformed_json, unsupported_media_type, too_large, invalid_path, invalid_query, unauthenticated, forbidden, not_found, name_taken, not_allowed, not_available, limit, rate_limited, unavailable, cluster_unavailable, timeout, shutting_down, method_not_allowed." },
                "field": { "type": "string", "description": "The request field at fault, when there is one." },
                "limit": { "type": "string", "description": "With 429: which limit." }
            }
        },
        "StoreStatus": { "type": "string", "enum": ["Provisioning", "Ready", "Failed", "Deleting", "Deleted"] },
        "Store": {
            "type": "object",
            "required": ["id", "name", "namespace", "owner", "engine", "status", "phase", "url", "attempts", "created_at", "updated_at", "can_retry", "can_delete"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "name": { "type": "string" },
                "namespace": { "type": "string" },
                "owner": { "type": "string" },
                "engine": { "type": "string", "enum": ["woocommerce"] },
                "status": { "$ref": "#/components/schemas/StoreStatus" },
                "phase": { "type": "string", "description": "The finer step: queued, namespace, secrets, installing, waiting-for-ready, cleaning-up, uninstalling, removing-namespace, done." },
                "url": { "type": "string", "format": "uri" },
                "error_message": text_or_null,
                "attempts": { "type": "integer" },
                "created_at": ts, "updated_at": ts,
                "provision_started_at": ts_or_null, "ready_at": ts_or_null, "deleted_at": ts_or_null,
                "can_retry": { "type": "boolean" },
                "can_delete": { "type": "boolean" }
            }
        },
        "StoreList": { "type": "object", "required": ["stores", "next_cursor", "total"], "properties": { "stores": { "type": "array", "items": reference("Store") }, "next_cursor": { "type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last." }, "total": { "type": "integer", "description": "Exact count matching the filters." } } },
        "CreateStore": {
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 60, "description": "Display name; the namespace and URL are derived from it." },
                "engine": { "type": "string", "enum": ["woocommerce"], "default": "woocommerce" },
                "idempotency_key": { "type": "string", "minLength": 1, "maxLength": 200 }
            }
        },
        "Health": {
            "type": "object", "required": ["state", "summary", "ready_workloads", "workloads"],
            "properties": {
                "state": { "type": "string", "enum": ["missing", "progressing", "ready", "degraded"] },
                "summary": { "type": "string" },
                "ready_workloads": { "type": "integer" },
                "workloads": { "type": "integer" }
            }
        },
        "StoreStatusDetail": {
            "type": "object", "required": ["id", "status", "phase", "attempts", "updated_at", "health", "watch_connected"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "status": reference("StoreStatus"),
                "phase": { "type": "string" },
                "error_message": text_or_null,
                "attempts": { "type": "integer" },
                "updated_at": ts, "ready_at": ts_or_null,
                "provision_seconds": { "type": ["integer", "null"] },
                "health": reference("Health"),
                "watch_connected": { "type": "boolean" }
            }
        },
        "Resource": {
            "type": "object", "required": ["kind", "name", "ready", "ok", "status"],
            "properties": {
                "kind": { "type": "string" }, "name": { "type": "string" }, "ready": { "type": "string" },
                "ok": { "type": "boolean" }, "status": { "type": "string" }, "created": ts_or_null
            }
        },
        "Event": {
            "type": "object", "required": ["warning", "reason", "object", "message", "count"],
            "properties": {
                "at": ts_or_null, "warning": { "type": "boolean" }, "reason": { "type": "string" },
                "object": { "type": "string" }, "message": { "type": "string" }, "count": { "type": "integer" }
            }
        },
        "StoreDetail": {
            "type": "object", "required": ["store", "health", "resources", "events"],
            "properties": {
                "store": reference("Store"), "health": reference("Health"),
                "resources": { "type": "array", "items": reference("Resource") },
                "events": { "type": "array", "items": reference("Event") }
            }
        },
        "AuditEntry": {
            "type": "object", "required": ["id", "at", "actor", "via", "action", "outcome"],
            "properties": {
                "id": { "type": "integer" }, "at": ts, "actor": { "type": "string" },
                "via": { "type": "string", "enum": ["console", "api", "cli", "worker"] },
                "action": { "type": "string" },
                "store_id": { "type": ["string", "null"], "format": "uuid" },
                "store_name": text_or_null,
                "outcome": { "type": "string" },
                "detail": text_or_null
            }
        },
        "Timeline": { "type": "object", "required": ["entries", "next_cursor", "total"], "properties": { "entries": { "type": "array", "items": reference("AuditEntry") }, "next_cursor": { "type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last." }, "total": { "type": "integer", "description": "Exact count matching the filters." } } },
        "AuditLog": { "type": "object", "required": ["entries", "next_cursor", "total"], "properties": { "entries": { "type": "array", "items": reference("AuditEntry") }, "next_cursor": { "type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last." }, "total": { "type": "integer", "description": "Exact count matching the filters." } } },
        "Credentials": {
            "type": "object", "required": ["username", "password", "login_url"],
            "properties": { "username": { "type": "string" }, "password": { "type": "string" }, "login_url": { "type": "string", "format": "uri" } }
        },
        "SignIn": {
            "type": "object", "required": ["email", "password"], "additionalProperties": false,
            "properties": { "email": { "type": "string", "format": "email" }, "password": { "type": "string", "maxLength": 1024 } }
        },
        "Session": {
            "type": "object", "required": ["user", "role", "token", "expires_at"],
            "properties": {
                "user": { "type": "string" }, "role": { "type": "string", "enum": ["admin", "user"] },
                "token": { "type": "string", "description": "Send as `Authorization: Bearer <token>`; also set as the session cookie." },
                "expires_at": ts
            }
        },
        "Me": {
            "type": "object", "required": ["user", "role", "auth_mode", "method"],
            "properties": {
                "user": { "type": "string" }, "role": { "type": "string", "enum": ["admin", "user"] },
                "auth_mode": { "type": "string", "enum": ["password", "proxy", "demo"] },
                "method": { "type": "string", "enum": ["cookie", "bearer", "proxy", "demo"] }
            }
        },
        "Readiness": {
            "type": "object", "required": ["ready", "database", "watch", "draining"],
            "properties": {
                "ready": { "type": "boolean" }, "database": { "type": "object" }, "watch": { "type": "object" },
                "draining": { "type": "boolean" }, "error": { "type": "string" }, "code": { "type": "string" }
            }
        }
    })
}

pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Store Weaver API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Provision WordPress + WooCommerce stores on Kubernetes. Every error has the shape of the Error schema. A user sees and acts on their own stores only (someone else's store is 404); admins see every store."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "sessionCookie": [] }, { "bearer": [] }, { "proxyHeader": [] }, { "demoHeader": [] }],
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "sessionCookie": { "type": "apiKey", "in": "cookie", "name": super::auth::SESSION_COOKIE, "description": "Auth mode `password`: set by POST /api/session." },
                "bearer": { "type": "http", "scheme": "bearer", "description": "Auth mode `password`: the token from POST /api/session." },
                "proxyHeader": { "type": "apiKey", "in": "header", "name": "X-Forwarded-User", "description": "Auth mode `proxy`: set by the authenticating reverse proxy (header name configurable: proxy_user_header)." },
                "demoHeader": { "type": "apiKey", "in": "header", "name": "X-User-Id", "description": "Auth mode `demo` only: trusted from anyone. Never in production." }
            }
        }
    })
}

/// GET /api/openapi.json
pub async fn serve() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(document).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_and_the_router_list_the_same_routes() {
        let served: BTreeSet<(String, String)> = crate::serve::routes()
            .list
            .iter()
            .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p.to_string()))
            .collect();
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from openapi.rs: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(schemas.contains_key(&name), "dangling $ref to {name}");
        }
    }
}
