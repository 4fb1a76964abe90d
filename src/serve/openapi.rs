//! The OpenAPI 3.1 document of the whole HTTP API, served at
//! `/api/openapi.json`. Derived from the code: each handler's
//! `#[utoipa::path]` annotation (path, method, parameters, responses) and the
//! `ToSchema` types it takes and returns, collected by the router in
//! `super::routes` — a route exists only through its annotation, so the
//! router and the document cannot name different paths. This file adds what
//! no handler says: the title, the auth schemes, and the error responses
//! every operation of a kind shares. docs/api.md ("The OpenAPI document")
//! says how a new handler gets in.

use axum::Json;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Store Weaver API",
        description = "Provision online stores on Kubernetes, each running one engine (GET /api/engines). Every error has the shape of the Error schema. A user sees and acts on their own stores only (someone else's store is 404); admins see every store."
    ),
    servers((url = "/")),
    tags(
        (name = "operations", description = "For the platform: liveness, readiness, metrics."),
        (name = "meta", description = "This document."),
        (name = "session", description = "Signing in and out."),
        (name = "stores", description = "Your stores."),
        (name = "audit", description = "Who did what (admins)."),
        (name = "changes", description = "Changing running stores: upgrade, rollback, history, fleet runs (admins change; owners read their history)."),
    )
)]
struct ApiDoc;

/// The schemes an authenticated operation accepts (any one of them).
const SCHEMES: [&str; 4] = ["sessionCookie", "bearer", "proxyHeader", "demoHeader"];

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// Adds `code` unless the handler's annotation already says more about it.
fn add_default(responses: &mut Map<String, Value>, code: &str, description: &str) {
    responses
        .entry(code.to_string())
        .or_insert_with(|| error(description));
}

/// Whether an operation is marked public (`security(())` in its annotation:
/// one empty requirement).
fn is_public(op: &Value) -> bool {
    op.get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(Map::is_empty)))
}

/// The responses operations share by kind, stated once here rather than in
/// every annotation: authenticated ones may get 401/403/503, store paths
/// 400/404, JSON bodies 400/413/415/422. Public operations say
/// `"security": []` (no auth), the rest inherit the document's schemes.
fn shared_responses(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let public = is_public(op);
            let has_body = op.get("requestBody").is_some();
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            if !public {
                add_default(responses, "401", "Not signed in, or the session expired.");
                add_default(
                    responses,
                    "403",
                    "Signed in but not allowed (a disabled account; a cross-site request with the session cookie).",
                );
                add_default(
                    responses,
                    "503",
                    "The database or the cluster is unavailable, or the request timed out.",
                );
            }
            if path.contains("{id}") {
                add_default(responses, "400", "The store id is not a UUID.");
                add_default(responses, "404", "No such store, or it is not yours.");
            }
            if has_body {
                add_default(responses, "400", "Malformed JSON.");
                add_default(responses, "413", "The body is larger than 16 KiB.");
                add_default(
                    responses,
                    "415",
                    "The body is not sent as application/json.",
                );
                add_default(
                    responses,
                    "422",
                    "A field is missing, unknown, of the wrong type or invalid; `field` names it.",
                );
            }
            if public {
                op["security"] = json!([]);
            }
        }
    }
}

/// The document: the annotated routes, this file's header, the shared
/// responses and the auth schemes.
pub fn document() -> Value {
    let api = ApiDoc::openapi().merge_from(super::routes().openapi());
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|e| {
        // Serializing plain data cannot fail; say so loudly if it ever does.
        json!({ "openapi": "3.1.0", "info": { "title": "Store Weaver API", "version": "", "description": format!("the document could not be built: {e}") }, "paths": {} })
    });
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    shared_responses(&mut doc);
    doc["security"] = json!(SCHEMES.map(|s| json!({ s: [] })));
    doc["components"]["securitySchemes"] = json!({
        "sessionCookie": { "type": "apiKey", "in": "cookie", "name": super::auth::SESSION_COOKIE, "description": "Auth mode `password`: set by POST /api/session." },
        "bearer": { "type": "http", "scheme": "bearer", "description": "Auth mode `password`: the token from POST /api/session." },
        "proxyHeader": { "type": "apiKey", "in": "header", "name": "X-Forwarded-User", "description": "Auth mode `proxy`: set by the authenticating reverse proxy (header name configurable: proxy_user_header)." },
        "demoHeader": { "type": "apiKey", "in": "header", "name": "X-User-Id", "description": "Auth mode `demo` only: trusted from anyone. Never in production." }
    });
    doc
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", operation_id = "openapi", security(()),
    responses((status = 200, description = "The OpenAPI document.", body = Object)))]
pub async fn serve() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(document).clone())
}

/// The document as pretty JSON with a trailing newline: what
/// `store-weaver openapi` prints and `dashboard/openapi.json` holds.
pub fn pretty() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    #[test]
    fn the_document_covers_exactly_the_routes_the_router_registers() {
        let served: BTreeSet<(String, String)> = crate::serve::routes()
            .list
            .iter()
            .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p.clone()))
            .collect();
        assert!(
            served.len() >= 19,
            "the router lists only {} routes",
            served.len()
        );
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if METHODS.contains(&method.as_str()) {
                    documented.insert((method.clone(), path.clone()));
                }
            }
        }
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "routes the router serves that the document lacks: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
    }

    /// Every `$ref` anywhere in the document names a schema it defines.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "$ref" {
                        out.push(x.as_str().unwrap_or("").to_string());
                    } else {
                        refs(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 20, "too few references: {all:?}");
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("a reference outside the schemas: {r}"));
            assert!(schemas.contains_key(name), "dangling $ref to {name}");
        }
    }

    #[test]
    fn every_operation_has_a_summary_a_tag_and_its_shared_errors() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let at = format!("{method} {path}");
                assert!(
                    op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                    "{at}: no summary"
                );
                assert!(op["tags"][0].is_string(), "{at}: no tag");
                let public = op["security"] == json!([]);
                if !public {
                    assert!(op["responses"]["401"].is_object(), "{at}: no 401");
                }
                if path.contains("{id}") {
                    assert!(op["responses"]["404"].is_object(), "{at}: no 404");
                    assert_eq!(op["parameters"][0]["name"], "id", "{at}: no id parameter");
                }
            }
        }
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap_or(""))
            .collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(
            ids.len(),
            n,
            "operationIds repeat (a handler named like another: set operation_id in its annotation): {ids:?}"
        );
        let public: Vec<_> = ["/healthz", "/readyz", "/metrics", "/api/openapi.json"]
            .iter()
            .filter(|p| doc["paths"][**p]["get"]["security"] != json!([]))
            .collect();
        assert!(public.is_empty(), "not marked public: {public:?}");
        assert_eq!(doc["paths"]["/api/session"]["post"]["security"], json!([]));
    }

    /// `dashboard/openapi.json` is what the dashboard's TypeScript types are
    /// generated from (dashboard/src/api.gen.ts, checked by its own test), so
    /// it must be this document. `UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn the_committed_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboard/openapi.json");
        let now = pretty();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &now).expect("write dashboard/openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == now,
            "dashboard/openapi.json is not the document the code makes; run scripts/gen-api-types.sh \
             (it rewrites it and dashboard/src/api.gen.ts), then fix what tsc reports"
        );
    }

    #[test]
    fn the_store_schema_is_the_rust_type() {
        // A field added to `Store` or `StoreOut` appears here without
        // anyone writing it twice.
        let doc = document();
        let store = &doc["components"]["schemas"]["Store"];
        for field in ["id", "namespace_uid", "status", "phase", "updated_at"] {
            assert!(
                store["properties"][field].is_object(),
                "Store lacks {field}"
            );
        }
        let statuses = &doc["components"]["schemas"]["Status"]["enum"];
        assert!(
            statuses
                .as_array()
                .unwrap()
                .contains(&json!("DeleteFailed")),
            "{statuses}"
        );
        let out = doc["components"]["schemas"]["StoreOut"].to_string();
        assert!(
            out.contains("retry_label") && out.contains("#/components/schemas/Store"),
            "{out}"
        );
    }
}
