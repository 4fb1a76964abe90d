//! The pop-ups over the screen, and the bulk action one of them confirms.

use super::Feed;
use crate::tui::backups::Undeletable;
use crate::tui::msg::{Action, DoctorCheck, Report};
use std::collections::HashSet;
use tui_input::Input;
use uuid::Uuid;

/// A bulk retry or delete under way: one request per store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRun {
    pub action: Action,
    pub total: usize,
    pub pending: HashSet<Uuid>,
    pub accepted: Vec<String>,
    /// Store name and why it was refused (here or by the engine).
    pub refused: Vec<(String, String)>,
}

impl BulkRun {
    pub fn done(&self) -> bool {
        self.pending.is_empty()
    }
}
pub const FIELD_NAME: usize = 0;
pub const FIELD_OWNER: usize = 1;
pub const FIELD_ENGINE: usize = 2;
pub const FIELD_LABELS: [&str; 3] = ["Name", "Owner", "Engine"];

#[derive(Debug, Clone)]
pub struct CreateForm {
    pub fields: [Input; 3],
    pub focus: usize,
    /// The request is on its way; keys other than esc are ignored.
    pub submitting: bool,
    /// The engine's answer when it refused the request.
    pub error: Option<String>,
    /// One key per form: submitting twice creates one store.
    pub idempotency_key: String,
}

impl CreateForm {
    pub fn new(owner: &str, idempotency_key: String) -> CreateForm {
        CreateForm {
            fields: [
                Input::default(),
                Input::new(owner.to_string()),
                Input::new(crate::engines::EngineKind::default().as_str().to_string()),
            ],
            focus: FIELD_NAME,
            submitting: false,
            error: None,
            idempotency_key,
        }
    }

    pub fn value(&self, field: usize) -> &str {
        self.fields[field].value()
    }
}

#[derive(Debug, Clone)]
pub struct CloneForm {
    pub source: Uuid,
    pub source_name: String,
    pub owner: String,
    pub input: Input,
    /// What is wrong with the name (as you type), or the engine's refusal.
    pub error: Option<String>,
    pub submitting: bool,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Create(Box<CreateForm>),
    ConfirmRetry {
        id: Uuid,
        name: String,
    },
    ConfirmDelete {
        id: Uuid,
        name: String,
        input: Input,
        mismatch: bool,
    },
    ConfirmQuit {
        running: usize,
    },
    /// The `:` line; `completing` is the prefix typed and the candidate
    /// `tab` put in the line, while it goes through them.
    Command {
        input: Input,
        completing: Option<(String, usize)>,
    },
    /// The full error message of the store in the detail view.
    Error {
        scroll: usize,
    },
    /// Retry or delete every marked store; a delete needs the count typed.
    ConfirmBulk {
        action: Action,
        targets: Vec<(Uuid, String)>,
        /// Marked stores the action cannot apply to, and why.
        skipped: Vec<(String, String)>,
        input: Input,
        mismatch: bool,
    },
    /// What a bulk action did.
    BulkSummary {
        scroll: usize,
    },
    Doctor {
        report: Feed<Vec<DoctorCheck>>,
        scroll: usize,
    },
    /// Restore the store shown from `backup` (y only: it replaces data).
    ConfirmRestore {
        id: Uuid,
        name: String,
        backup: Uuid,
        /// The backup as the confirmation names it.
        label: String,
    },
    /// Deleted stores that can still come back (`:deleted`, `D`).
    Deleted {
        list: Feed<Vec<Undeletable>>,
        cursor: usize,
    },
    ConfirmUndelete(Box<Undeletable>),
    /// Run a restore drill of the store now (it is not touched).
    ConfirmDrill {
        id: Uuid,
        name: String,
    },
    /// The store's backup interval, typed: checked as you type with the
    /// engine's parser; `error` is the parser's or the engine's answer.
    Schedule {
        id: Uuid,
        name: String,
        /// What applies now, in words.
        current: String,
        input: Input,
        error: Option<String>,
        /// Sent; waiting for the engine's answer.
        saving: bool,
    },
    /// A new store from the source's newest complete backup, owned by the
    /// source's owner: its name typed.
    CloneForm(Box<CloneForm>),
    /// A store's release history, or the fleet runs.
    Changes {
        which: Report,
        lines: Feed<Vec<String>>,
        scroll: usize,
    },
}

impl Overlay {
    /// The scroll position of a pop-up that scrolls.
    pub fn scroll_mut(&mut self) -> Option<&mut usize> {
        match self {
            Overlay::Help { scroll }
            | Overlay::Error { scroll }
            | Overlay::BulkSummary { scroll }
            | Overlay::Doctor { scroll, .. }
            | Overlay::Changes { scroll, .. } => Some(scroll),
            _ => None,
        }
    }
}
