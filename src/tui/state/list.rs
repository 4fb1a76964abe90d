//! The stores table: its filter and sort, and keeping the selected store
//! selected while stores come and go.

use super::super::layout;
use super::State;
use crate::store::{Status, Store};
use std::collections::HashSet;
use tui_input::Input;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Youngest first.
    Age,
    Name,
    Owner,
    Status,
    /// How long provisioning took, quickest first.
    Took,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::Age,
        SortKey::Name,
        SortKey::Owner,
        SortKey::Status,
        SortKey::Took,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Age => "age",
            SortKey::Name => "name",
            SortKey::Owner => "owner",
            SortKey::Status => "status",
            SortKey::Took => "took",
        }
    }

    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim().to_ascii_lowercase())
    }
}

/// The stores table: filter, sort, and which row is selected.
#[derive(Debug, Clone)]
pub struct ListView {
    pub filter: Input,
    /// The filter line has the keyboard.
    pub filtering: bool,
    pub sort: SortKey,
    pub reverse: bool,
    /// Indices into `State::stores`, filtered and sorted.
    pub visible: Vec<usize>,
    pub cursor: usize,
    /// First row shown; kept so the selection stays in view.
    pub offset: usize,
    /// The selected store follows its row through re-sorts and reloads.
    pub selected: Option<Uuid>,
    /// Stores marked for a bulk action (`space`, `*`).
    pub marked: HashSet<Uuid>,
}

impl Default for ListView {
    fn default() -> Self {
        ListView {
            filter: Input::default(),
            filtering: false,
            sort: SortKey::Age,
            reverse: false,
            visible: Vec::new(),
            cursor: 0,
            offset: 0,
            selected: None,
            marked: HashSet::new(),
        }
    }
}

impl State {
    /// The table's order: the sort key, then youngest first, then id, so
    /// that it is total and rows never swap between frames.
    fn order(&self, a: &Store, b: &Store) -> std::cmp::Ordering {
        let ord = match self.list.sort {
            SortKey::Age => b.created_at.cmp(&a.created_at),
            SortKey::Name => cmp_ci(&a.name, &b.name),
            SortKey::Owner => a.owner.cmp(&b.owner),
            SortKey::Status => a.status.cmp(&b.status),
            SortKey::Took => {
                // Stores that never became ready go last.
                let t = |s: &Store| {
                    s.provision_duration()
                        .map(|d| d.num_milliseconds())
                        .unwrap_or(i64::MAX)
                };
                t(a).cmp(&t(b))
            }
        };
        let ord = ord
            .then_with(|| b.created_at.cmp(&a.created_at))
            .then_with(|| a.id.cmp(&b.id));
        if self.list.reverse {
            ord.reverse()
        } else {
            ord
        }
    }

    fn needle(&self) -> String {
        self.list.filter.value().trim().to_lowercase()
    }

    /// Recomputes the visible rows after the stores, the filter or the sort
    /// changed, keeping the selected store selected. One pass to filter
    /// (and count), one sort.
    pub fn refresh_visible(&mut self) {
        let needle = self.needle();
        self.index.clear();
        self.counts.clear();
        let mut visible = Vec::with_capacity(self.stores.len());
        for (i, s) in self.stores.iter().enumerate() {
            self.index.insert(s.id, i);
            *self.counts.entry(s.status).or_default() += 1;
            if needle.is_empty() || matches_filter(s, &needle) {
                visible.push(i);
            }
        }
        let stores = &self.stores;
        visible.sort_unstable_by(|&a, &b| self.order(&stores[a], &stores[b]));
        self.list.visible = visible;
        self.reselect();
    }

    /// Puts the cursor back on the selected store (or as near as it can).
    fn reselect(&mut self) {
        let pos = self.list.selected.and_then(|id| {
            let i = *self.index.get(&id)?;
            self.list.visible.iter().position(|&v| v == i)
        });
        self.list.cursor = match pos {
            Some(p) => p,
            None => self
                .list
                .cursor
                .min(self.list.visible.len().saturating_sub(1)),
        };
        self.list.selected = self.selected_store().map(|s| s.id);
        self.keep_cursor_in_view();
    }

    /// Adds or replaces one store, moving only its own row: a notification
    /// costs a search, not a sort of every store.
    pub fn upsert_store(&mut self, store: Store) {
        if store.status == Status::Deleted {
            self.remove_store(store.id);
            return;
        }
        let i = match self.index.get(&store.id) {
            Some(&i) => {
                let old = std::mem::replace(&mut self.stores[i], store);
                self.count_change(old.status, -1);
                if let Some(p) = self.list.visible.iter().position(|&v| v == i) {
                    self.list.visible.remove(p);
                }
                i
            }
            None => {
                self.stores.push(store);
                let i = self.stores.len() - 1;
                self.index.insert(self.stores[i].id, i);
                i
            }
        };
        let status = self.stores[i].status;
        self.count_change(status, 1);
        let needle = self.needle();
        if needle.is_empty() || matches_filter(&self.stores[i], &needle) {
            let s = &self.stores[i];
            let at = self
                .list
                .visible
                .partition_point(|&v| self.order(&self.stores[v], s) == std::cmp::Ordering::Less);
            self.list.visible.insert(at, i);
        }
        self.reselect();
    }

    pub fn remove_store(&mut self, id: Uuid) {
        let Some(i) = self.index.remove(&id) else {
            return;
        };
        let status = self.stores[i].status;
        self.count_change(status, -1);
        self.list.visible.retain(|&v| v != i);
        let last = self.stores.len() - 1;
        self.stores.swap_remove(i);
        if i != last {
            // The last store moved into the hole.
            self.index.insert(self.stores[i].id, i);
            for v in self.list.visible.iter_mut() {
                if *v == last {
                    *v = i;
                }
            }
        }
        self.list.marked.remove(&id);
        self.reselect();
    }

    fn count_change(&mut self, status: Status, delta: isize) {
        let c = self.counts.entry(status).or_default();
        *c = c.saturating_add_signed(delta);
    }

    pub fn keep_cursor_in_view(&mut self) {
        self.list.offset =
            layout::scroll_offset(self.list.offset, self.list.cursor, self.list_page());
    }
}

/// Case-insensitive order without allocating (ASCII folded; other
/// characters compare as they are).
fn cmp_ci(a: &str, b: &str) -> std::cmp::Ordering {
    a.chars()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.chars().map(|c| c.to_ascii_lowercase()))
}

fn matches_filter(s: &Store, needle: &str) -> bool {
    contains_ci(&s.name, needle)
        || contains_ci(&s.owner, needle)
        || contains_ci(&s.namespace, needle)
        || contains_ci(s.status.as_str(), needle)
        || contains_ci(s.phase.as_str(), needle)
        || contains_ci(&s.url, needle)
}

/// Case-insensitive substring test; `needle` is already lower-case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}
