//! How one process shares its database connections (`db_connections`):
//! with `--serve`, the API's share (`api_db_connections`, all of it kept
//! open) and the rest for the workers, the change listeners and background
//! work (opened on demand). Pure arithmetic; the pools apply it.

/// The fewest connections left for the workers' side of a `--serve`
/// process: the work listener and the change hub each hold one for good,
/// and the workers and the fleet driver need at least two between them.
pub const MIN_BACKGROUND: u32 = 4;

/// The two pools of a `--serve` process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// The API's pool, opened in full before the server accepts.
    pub api: u32,
    /// The runtime's pool: workers, listeners, background work.
    pub background: u32,
}

/// Splits `total` for a `--serve` process. `api` is the operator's choice
/// of the API's share; unset, it is half (the background side gets the
/// larger half of an odd total: it holds two connections for good), and
/// never less than [`MIN_BACKGROUND`] for the background side.
pub fn serving(total: u32, api: Option<u32>) -> Result<Split, String> {
    let api = api
        .unwrap_or_else(|| (total / 2).min(total.saturating_sub(MIN_BACKGROUND)))
        .max(1);
    match total.checked_sub(api) {
        Some(background) if background >= MIN_BACKGROUND => Ok(Split { api, background }),
        _ => Err(format!(
            "api_db_connections ({api}) leaves fewer than {MIN_BACKGROUND} of db_connections ({total}) for the workers, the change listeners and background work; raise db_connections to at least {} or lower api_db_connections (unset: half of db_connections)",
            api.saturating_add(MIN_BACKGROUND)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_split_in_half() {
        assert_eq!(
            serving(12, None),
            Ok(Split {
                api: 6,
                background: 6
            })
        );
        assert_eq!(
            serving(13, None),
            Ok(Split {
                api: 6,
                background: 7
            })
        );
    }

    #[test]
    fn an_explicit_api_share_must_leave_room_for_the_workers() {
        assert_eq!(
            serving(12, Some(8)),
            Ok(Split {
                api: 8,
                background: 4
            })
        );
        let err = serving(12, Some(9)).unwrap_err();
        assert!(err.contains("raise db_connections to at least 13"), "{err}");
        assert!(serving(12, Some(40)).is_err());
    }

    #[test]
    fn the_smallest_budget_still_serves() {
        let smallest = Ok(Split {
            api: 1,
            background: 4,
        });
        assert_eq!(serving(5, None), smallest);
        assert_eq!(serving(5, Some(1)), smallest);
        assert!(serving(4, None).is_err());
    }
}
