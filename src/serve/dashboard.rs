//! The built dashboard (`dashboard/dist`), embedded in the binary and served
//! at `/` with its content types; any other path without a file extension
//! gets `index.html` (the single-page app routes it). When the dashboard has
//! not been built, a small built-in page says so and points at the API.
//! Unknown `/api/...` paths get the API's JSON 404, never the page.

use super::error::ApiError;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "dashboard/dist"]
#[allow_missing = true]
struct Assets;

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Store Weaver</title></head>
<body><h1>Store Weaver</h1>
<p>The API is running. The dashboard was not built into this binary: build it with
<code>npm ci &amp;&amp; npm run build</code> in <code>dashboard/</code>, then rebuild Store Weaver.</p>
<p>API description: <a href="/api/openapi.json">/api/openapi.json</a> &middot;
health: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a></p>
</body></html>
"#;

fn safe_path(path: &str) -> bool {
    !path.split('/').any(|seg| seg == ".." || seg == ".")
        && !path.contains('\\')
        && !path.contains('\0')
        && !path.contains("//")
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = file.metadata.mimetype().to_string();
    let mut res = (StatusCode::OK, file.data.into_owned()).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // Built assets carry a content hash in their names; the page itself must
    // be revalidated so a new build is picked up.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

fn index() -> Response {
    match Assets::get("index.html") {
        Some(f) => file_response("index.html", f),
        None => {
            let mut res = (StatusCode::OK, PLACEHOLDER).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
    }
}

/// Everything no route matched.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found(format!(
            "no such API endpoint: {}; see /api/openapi.json",
            crate::text::bound_message(path, 200)
        ))
        .into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the dashboard is read with GET",
        )
        .into_response();
    }
    let rel = path.trim_start_matches('/');
    if rel.is_empty() || rel == "index.html" {
        return index();
    }
    if !safe_path(rel) {
        return ApiError::not_found("no such file").into_response();
    }
    if let Some(f) = Assets::get(rel) {
        return file_response(rel, f);
    }
    // A path with an extension names a file that does not exist; any other
    // path is a route of the single-page app.
    let last = rel.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return ApiError::not_found("no such file").into_response();
    }
    index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_tricks_are_not_safe() {
        assert!(safe_path("assets/app.js"));
        assert!(!safe_path("../Cargo.toml"));
        assert!(!safe_path("assets/../../etc/passwd"));
        assert!(!safe_path("a\\b"));
        assert!(!safe_path("./x"));
    }
}
