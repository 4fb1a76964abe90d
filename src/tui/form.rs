//! The create form's checks, as you type: the engine's own validation rules,
//! plus what the console already knows about names in use and limits, with
//! the engine's own wording, so nothing surprises on submit.

use super::state::{CreateForm, FIELD_ENGINE, FIELD_NAME, FIELD_OWNER, State};
use crate::engine::{CreateRequest, EngineError, requests};
use crate::store::{self, EngineKind};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormCheck {
    /// Per field: what is wrong with it.
    pub fields: [Option<String>; 3],
    /// A limit the request would exceed.
    pub limit: Option<String>,
    /// Not a refusal: e.g. "the provision will queue".
    pub note: Option<String>,
    /// Where the store would live: namespace and URL.
    pub preview: Option<(String, String)>,
}

impl FormCheck {
    pub fn ok(&self) -> bool {
        self.fields.iter().all(Option::is_none) && self.limit.is_none()
    }

    /// The first problem, for the submit refusal.
    pub fn first_problem(&self) -> Option<&str> {
        self.fields
            .iter()
            .flatten()
            .next()
            .or(self.limit.as_ref())
            .map(String::as_str)
    }
}

pub fn request(form: &CreateForm) -> CreateRequest {
    CreateRequest {
        name: form.value(FIELD_NAME).to_string(),
        owner: form.value(FIELD_OWNER).to_string(),
        engine: form.value(FIELD_ENGINE).to_string(),
        idempotency_key: Some(form.idempotency_key.clone()),
    }
}

pub fn check(state: &State, form: &CreateForm) -> FormCheck {
    let mut out = FormCheck::default();
    let name = store::validate_name(form.value(FIELD_NAME));
    let owner = store::validate_owner(form.value(FIELD_OWNER));
    let engine = EngineKind::parse_available(form.value(FIELD_ENGINE));
    if let Err(e) = &name {
        out.fields[FIELD_NAME] = Some(e.to_string());
    }
    if let Err(e) = &owner {
        out.fields[FIELD_OWNER] = Some(e.clone());
    }
    if let Err(e) = &engine {
        out.fields[FIELD_ENGINE] = Some(e.clone());
    }
    // The engine's validation is the gate: same rules, same words.
    if let Err(EngineError::Invalid { field, message }) =
        requests::validate(&request(form), &state.info.reserved)
    {
        let i = match field {
            "name" => FIELD_NAME,
            "owner" => FIELD_OWNER,
            _ => FIELD_ENGINE,
        };
        out.fields[i].get_or_insert(message);
    }
    if let Ok(name) = &name {
        let ns = store::namespace_for(name);
        let url = store::store_url(&ns, &state.info.ingress_suffix, state.info.tls);
        out.preview = Some((ns, url));
    }
    if let (Ok(name), Ok(owner)) = (&name, &owner)
        && state
            .stores
            .iter()
            .any(|s| s.owner == *owner && s.name.to_lowercase() == name.to_lowercase())
    {
        out.fields[FIELD_NAME] = Some(
            EngineError::NameTaken {
                name: name.clone(),
                owner: owner.clone(),
            }
            .to_string(),
        );
    }
    if state.loaded {
        let total = state.stores.len();
        let limits = requests::Limits {
            max_stores: state.info.max_stores,
            max_stores_per_user: state.info.max_stores_per_user,
        };
        let mine = owner
            .as_ref()
            .ok()
            .map(|o| (o.as_str(), state.owner_count(o)));
        // The engine's own check, so the form refuses exactly what a submit would.
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        out.limit =
            requests::limit_reached(limits, as_i64(total), mine.map(|(o, n)| (o, as_i64(n))))
                .map(|e| e.to_string());
        if out.limit.is_none()
            && let Some((owner, mine)) = mine
        {
            out.note = Some(format!(
                "{owner} has {mine} of {} stores (MAX_STORES_PER_USER); {total} of {} in total (MAX_STORES)",
                state.info.max_stores_per_user, state.info.max_stores
            ));
        }
        // Stores waiting for Ready hold no slot; queued ones go first. Only
        // a glance at the form, so a scan of the loaded stores.
        let ahead = state
            .stores
            .iter()
            .filter(|s| s.phase.uses_a_slot() || s.phase == store::Phase::Queued)
            .count();
        if out.limit.is_none() && ahead >= state.info.max_concurrent as usize {
            out.note = Some(format!(
                "{ahead} stores are being installed, changed or queued (MAX_CONCURRENT_PROVISIONS is {}): this one will wait its turn",
                state.info.max_concurrent
            ));
        }
    }
    out
}
