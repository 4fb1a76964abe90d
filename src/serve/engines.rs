//! `GET /api/engines`: the engines a store can run and the settings each
//! takes, so the dashboard's forms and hints come from the engines' own
//! tables (src/engines/) and never from a copy.

use super::auth::Principal;
use crate::engines::{EngineKind, KeyKind};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct EngineOut {
    /// What `engine` takes in a create body: "medusa".
    pub name: EngineKind,
    pub title: &'static str,
    pub summary: &'static str,
    /// What the revealed credentials sign in to.
    pub admin: &'static str,
    pub settings: Vec<SettingOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingOut {
    /// The key in an upgrade body: "replicas".
    pub key: &'static str,
    pub doc: &'static str,
    /// image, cpu, memory, volume (grow only) or replicas (0 or 1).
    pub kind: &'static str,
}

fn kind_name(k: KeyKind) -> &'static str {
    match k {
        KeyKind::ImageTag => "image",
        KeyKind::Cpu => "cpu",
        KeyKind::Memory(_) => "memory",
        KeyKind::Volume { .. } => "volume",
        KeyKind::Replicas => "replicas",
    }
}

/// Every engine, the default first.
pub fn list() -> Vec<EngineOut> {
    EngineKind::ALL
        .into_iter()
        .map(|kind| {
            let e = kind.spec();
            EngineOut {
                name: kind,
                title: e.title,
                summary: e.summary,
                admin: e.admin.what,
                settings: e
                    .keys
                    .iter()
                    .map(|k| SettingOut {
                        key: k.name,
                        doc: k.doc,
                        kind: kind_name(k.kind),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The engines a store can run, and the settings each takes.
#[utoipa::path(get, path = "/api/engines", tag = "stores",
    responses((status = 200, description = "Every engine, the default first.", body = Vec<EngineOut>)))]
pub async fn engines(_principal: Principal) -> Json<Vec<EngineOut>> {
    Json(list())
}
