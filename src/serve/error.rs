//! One error shape for every response that is not a success:
//! `{"error": "...", "code": "...", "field": "..."?, "limit": "..."?}`.
//! Engine errors and axum's own rejections (bad JSON, wrong content type,
//! body too large, malformed path or query) all become this shape with a 4xx
//! status; only the database or the cluster being unreachable gives a 5xx.

use crate::engine::EngineError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;

/// The one error shape of every response that is not a success.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// Stable code for programs, e.g. invalid, invalid_body, malformed_json,
    /// unsupported_media_type, too_large, invalid_path, invalid_query,
    /// unauthenticated, forbidden, not_found, name_taken, not_allowed,
    /// not_owned, not_available, rate_limited, unavailable,
    /// cluster_unavailable, busy, timeout, shutting_down, method_not_allowed.
    pub code: &'static str,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// Which limit was hit (429 only): MAX_STORES, MAX_STORES_PER_USER,
    /// create_rate_per_user, create_rate_per_address, sign_in_rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub limit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after: Option<Duration>,
    /// 401 responses say how to authenticate.
    pub www_authenticate: bool,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: message.into(),
                code,
                field: None,
                limit: None,
            },
            retry_after: None,
            www_authenticate: false,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    pub fn limit(mut self, limit: impl Into<String>) -> ApiError {
        self.body.limit = Some(limit.into());
        self
    }

    pub fn retry_after(mut self, d: Duration) -> ApiError {
        self.retry_after = Some(d);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message);
        e.www_authenticate = true;
        e
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn store_not_found() -> ApiError {
        ApiError::not_found("no such store (it does not exist, or it is not yours)")
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    pub fn database(e: &sqlx::Error) -> ApiError {
        if matches!(e, sqlx::Error::PoolTimedOut) {
            // Overload, not an outage: every connection is busy right now.
            tracing::debug!("no free database connection in time; answering 503");
            return ApiError::unavailable(
                "busy",
                "the server is busy (every database connection is in use); try again in a second",
            )
            .retry_after(Duration::from_secs(1));
        }
        tracing::warn!(error = %e, "database error");
        ApiError::unavailable(
            "unavailable",
            "the database is unavailable; try again shortly",
        )
        .retry_after(Duration::from_secs(5))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        ApiError::database(&e)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let msg = e.to_string();
        match e {
            EngineError::Invalid { field, .. } => ApiError::invalid(field, msg),
            EngineError::Limit { limit, .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit", msg).limit(limit)
            }
            EngineError::NameTaken { .. } => {
                ApiError::new(StatusCode::CONFLICT, "name_taken", msg).field("name")
            }
            EngineError::NotFound { .. } => ApiError::store_not_found(),
            EngineError::NotAllowed { .. } => {
                ApiError::new(StatusCode::CONFLICT, "not_allowed", msg)
            }
            EngineError::Busy { .. } => ApiError::new(StatusCode::CONFLICT, "busy", msg),
            EngineError::NotOwned { .. } => ApiError::new(StatusCode::CONFLICT, "not_owned", msg),
            EngineError::Unavailable(_) => {
                ApiError::unavailable("unavailable", msg).retry_after(Duration::from_secs(5))
            }
            EngineError::Database(e) => ApiError::database(&e),
        }
    }
}

/// Pulls the field name out of a serde message such as "unknown field
/// `owner`, expected ..." or a path prefix such as "name: invalid type".
fn serde_field(detail: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(start) = detail.find(marker) {
            let rest = &detail[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_string());
            }
        }
    }
    let (path, _) = detail.split_once(": ")?;
    (!path.is_empty() && path != "." && !path.contains(' ')).then(|| path.to_string())
}

fn source_text(e: &dyn std::error::Error) -> String {
    e.source()
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string())
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::JsonDataError(e) => {
                let detail = source_text(&e);
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("the request body does not match what this endpoint takes: {detail}"),
                );
                err.body.field = serde_field(&detail);
                err
            }
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
                "malformed_json",
                format!("the request body is not valid JSON: {}", source_text(&e)),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the request body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(e) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::bad_request(
                        "bad_body",
                        format!("cannot read the request body: {}", e.body_text()),
                    )
                }
            }
            other => ApiError::new(
                if other.status().is_client_error() {
                    other.status()
                } else {
                    StatusCode::BAD_REQUEST
                },
                "bad_request",
                other.body_text(),
            ),
        }
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the request body is larger than {} bytes",
            super::MAX_BODY_BYTES
        ),
    )
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        match r {
            PathRejection::FailedToDeserializePathParams(e) => ApiError::bad_request(
                "invalid_path",
                format!("{}: a store id is a UUID", e.body_text()),
            )
            .field("id"),
            other => ApiError::bad_request("invalid_path", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        let detail = source_text(&r);
        let mut e =
            ApiError::bad_request("invalid_query", format!("invalid query string: {detail}"));
        e.body.field = serde_field(&detail);
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(&self.body)).into_response();
        if let Some(d) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&d.as_secs().max(1).to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.www_authenticate {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"store-weaver\""),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_out_of_serde_messages() {
        assert_eq!(
            serde_field("unknown field `owner`, expected `name` or `engine` at line 1 column 8")
                .as_deref(),
            Some("owner")
        );
        assert_eq!(
            serde_field("missing field `name` at line 1 column 2").as_deref(),
            Some("name")
        );
        assert_eq!(
            serde_field("name: invalid type: integer `5`, expected a string at line 1 column 9")
                .as_deref(),
            Some("name")
        );
        assert_eq!(serde_field("invalid type: map, expected a string"), None);
    }

    #[test]
    fn engine_errors_map_to_statuses() {
        let s = |e: EngineError| ApiError::from(e).status;
        assert_eq!(
            s(EngineError::Invalid {
                field: "name",
                message: "x".into()
            }),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            s(EngineError::Limit {
                limit: "MAX_STORES",
                max: 1,
                detail: String::new()
            }),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            s(EngineError::NameTaken {
                name: "a".into(),
                owner: "b".into()
            }),
            StatusCode::CONFLICT
        );
        assert_eq!(
            s(EngineError::NotFound { key: "k".into() }),
            StatusCode::NOT_FOUND
        );
    }
}
