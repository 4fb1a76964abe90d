//! What a killed Store Weaver process leaves behind, and tidying it up.
//!
//! Each helm run is recorded in a file of its own under
//! `$TMPDIR/store-weaver-runs/` (the run's values file, then helm's pid,
//! each with the owner's and helm's start times so a reused pid is never
//! mistaken for them) and the record is removed when the run ends. A process
//! killed with SIGKILL removes nothing: its helm child goes on (helm runs in
//! a process group of its own, so a terminal's Ctrl-C is not its business
//! either) and its values file stays. [`sweep`], run once when a process
//! first uses helm, ends the helm process groups of owners that are gone and
//! removes their values files and records. Linux (`/proc`); elsewhere
//! nothing is recorded.

use std::io::Write;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    std::env::temp_dir().join("store-weaver-runs")
}

/// A process: its pid and its start time (clock ticks since boot, field 22
/// of `/proc/<pid>/stat`), which tells it from a later process with the
/// same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub start: u64,
}

impl Proc {
    pub fn of(pid: u32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(&stat).map(|(_, start)| Proc { pid, start })
    }

    /// Still the same process, and not a zombie.
    pub fn alive(self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .ok()
            .as_deref()
            .and_then(parse_stat)
            .is_some_and(|(state, start)| start == self.start && state != 'Z')
    }
}

/// (state, start time) from a `/proc/<pid>/stat` line. The command name in
/// parentheses may hold spaces and parentheses: fields are counted after the
/// last ") ".
pub fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = stat.rsplit_once(") ")?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // rest starts at field 3 (state); start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// One helm run in progress. Dropping it (the run ended, however) removes
/// the record.
#[derive(Debug)]
pub struct Run {
    path: Option<PathBuf>,
}

impl Run {
    /// Records a run whose values go to `values`, before that file exists
    /// (a kill in between leaves the record, which names it). Without a
    /// record (no /proc, an unwritable temp dir) helm still runs: tidying is
    /// a convenience, never a reason to fail a store.
    pub fn begin(values: &Path) -> Run {
        let Some(me) = Proc::of(std::process::id()) else {
            return Run { path: None };
        };
        let path = dir().join(format!("{}-{}", me.pid, uuid::Uuid::new_v4().simple()));
        let written = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(dir())?;
            let mut f = std::fs::File::create(&path)?;
            writeln!(f, "owner {} {}", me.pid, me.start)?;
            writeln!(f, "values {}", values.display())?;
            Ok(())
        })();
        match written {
            Ok(()) => Run { path: Some(path) },
            Err(e) => {
                tracing::debug!(error = %e, "cannot record a helm run");
                Run { path: None }
            }
        }
    }

    /// helm started as `pid` (the leader of its own process group).
    pub fn spawned(&self, pid: u32) {
        let (Some(path), Some(child)) = (&self.path, Proc::of(pid)) else {
            return;
        };
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "helm {} {}", child.pid, child.start));
        if let Err(e) = appended {
            tracing::debug!(error = %e, "cannot record helm's pid");
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A record read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub owner: Option<Proc>,
    pub values: Option<PathBuf>,
    pub helm: Option<Proc>,
}

pub fn parse_record(text: &str) -> Record {
    let proc_of = |rest: &str| {
        let (pid, start) = rest.split_once(' ')?;
        Some(Proc {
            pid: pid.trim().parse().ok()?,
            start: start.trim().parse().ok()?,
        })
    };
    let mut r = Record::default();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("owner", rest)) => r.owner = proc_of(rest),
            Some(("helm", rest)) => r.helm = proc_of(rest),
            Some(("values", rest)) => r.values = Some(PathBuf::from(rest)),
            _ => {}
        }
    }
    r
}

/// What [`sweep`] did.
#[derive(Debug, Default)]
pub struct Swept {
    pub killed: Vec<u32>,
    pub removed: Vec<PathBuf>,
}

/// Ends what processes that are gone left: their helm process groups are
/// killed, their values files and records removed. Runs of live processes
/// (other Store Weaver processes on this machine) are left alone.
pub fn sweep() -> Swept {
    let mut swept = Swept::default();
    let Ok(entries) = std::fs::read_dir(dir()) else {
        return swept;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let r = parse_record(&text);
        // A record without a readable owner is half-written by a live one
        // (or garbage): never act on it.
        let Some(owner) = r.owner else { continue };
        if owner.alive() {
            continue;
        }
        if let Some(helm) = r.helm
            && helm.alive()
        {
            kill_group(helm.pid);
            swept.killed.push(helm.pid);
        }
        if let Some(v) = &r.values
            && std::fs::remove_file(v).is_ok()
        {
            swept.removed.push(v.clone());
        }
        let _ = std::fs::remove_file(&path);
    }
    if !swept.killed.is_empty() || !swept.removed.is_empty() {
        tracing::warn!(
            killed = ?swept.killed,
            removed = swept.removed.len(),
            "ended helm runs and removed values files that a killed Store Weaver process left"
        );
    }
    swept
}

fn kill_group(pgid: u32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals that process group; it
    // touches no memory of ours.
    let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if rc != 0 {
        tracing::debug!(pgid, error = %std::io::Error::last_os_error(), "cannot kill a left helm process group");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let stat = "4242 (helm (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 9 0 987654 1000 10 18446744073709551615";
        assert_eq!(parse_stat(stat), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn records_read_back() {
        let r = parse_record("owner 10 555\nvalues /tmp/store-weaver-values-x.yaml\nhelm 11 556\n");
        assert_eq!(
            r.owner,
            Some(Proc {
                pid: 10,
                start: 555
            })
        );
        assert_eq!(
            r.helm,
            Some(Proc {
                pid: 11,
                start: 556
            })
        );
        assert_eq!(
            r.values.as_deref(),
            Some(Path::new("/tmp/store-weaver-values-x.yaml"))
        );
        assert_eq!(parse_record("owner 10\n").owner, None);
    }

    #[test]
    fn this_process_is_alive_and_a_different_start_time_is_not_it() {
        let me = Proc::of(std::process::id()).expect("/proc on Linux");
        assert!(me.alive());
        assert!(
            !Proc {
                start: me.start + 1,
                ..me
            }
            .alive()
        );
    }
}
