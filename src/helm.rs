//! A small typed wrapper over the `helm` command. Arguments are passed as a
//! vector (never a shell string); values go in a temporary file because
//! `--set` gives commas and backslashes in store names a meaning of their own.
//! Secrets never reach helm: the chart references a Secret by name.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("cannot run helm ({bin}): {reason}; install helm v3 or set helm_bin")]
    Spawn { bin: String, reason: String },
    #[error("`helm {action}` failed: {stderr}")]
    Failed { action: String, stderr: String },
    #[error("`helm {action}` did not finish within {secs}s")]
    TimedOut { action: String, secs: u64 },
    #[error("helm printed output we could not read for `{action}`: {reason}")]
    Parse { action: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct Helm {
    bin: PathBuf,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Revision {
    pub revision: u32,
    pub status: String,
    /// "<chart name>-<version>", e.g. "medusa-0.3.0".
    #[serde(default)]
    pub chart: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub updated: String,
}

impl Revision {
    /// The chart version part of `chart`.
    pub fn chart_version(&self) -> &str {
        self.chart.rsplit_once('-').map_or("", |(_, v)| v)
    }
}

/// What `helm upgrade` wrote: the new revision and the chart's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub revision: u32,
    pub chart_version: String,
}

#[derive(Deserialize)]
struct ReleaseJson {
    version: u32,
    chart: ChartJson,
}

#[derive(Deserialize)]
struct ChartJson {
    metadata: ChartMeta,
}

#[derive(Deserialize)]
struct ChartMeta {
    version: String,
}

/// The `version:` of a chart directory's Chart.yaml (a top-level key).
pub fn chart_version(chart: &Path) -> Result<String, String> {
    let file = chart.join("Chart.yaml");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{} has no version", file.display()))
}

impl Revision {
    /// Left behind by an interrupted install/upgrade/rollback; blocks the next one.
    pub fn is_pending(&self) -> bool {
        self.status.starts_with("pending")
    }
}

/// What to do with a release found in a pending state (pure, unit-tested).
#[derive(Debug, PartialEq, Eq)]
pub enum Recovery {
    Nothing,
    Uninstall,
    RollbackTo(u32),
}

pub fn recovery_for(history: &[Revision]) -> Recovery {
    let Some(last) = history.iter().max_by_key(|r| r.revision) else {
        return Recovery::Nothing;
    };
    if !last.is_pending() {
        return Recovery::Nothing;
    }
    match history
        .iter()
        .filter(|r| {
            r.revision < last.revision && (r.status == "deployed" || r.status == "superseded")
        })
        .max_by_key(|r| r.revision)
    {
        Some(good) => Recovery::RollbackTo(good.revision),
        None => Recovery::Uninstall,
    }
}

pub struct Output {
    pub stdout: String,
    pub took: Duration,
}

impl Helm {
    pub fn new(bin: PathBuf, kubeconfig: Option<PathBuf>, context: Option<String>) -> Helm {
        // Once per process, before its first helm run: what killed processes
        // left (their helm children, their values files) is ended.
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| {
            crate::leftovers::sweep();
        });
        Helm {
            bin,
            kubeconfig,
            context,
        }
    }

    async fn run(
        &self,
        action: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<Output, HelmError> {
        self.run_recorded(action, args, timeout, None).await
    }

    /// [`Helm::run`], with helm's pid added to the record of its values file
    /// (see `leftovers`).
    async fn run_recorded(
        &self,
        action: &str,
        args: &[&str],
        timeout: Duration,
        record: Option<&crate::leftovers::Run>,
    ) -> Result<Output, HelmError> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // A group of its own: the next start can end it (and anything it
        // started) if this process is killed, and a terminal's Ctrl-C goes
        // to the console, which stops its work in order, not to helm.
        #[cfg(unix)]
        cmd.process_group(0);
        if let Some(kc) = &self.kubeconfig {
            cmd.env("KUBECONFIG", kc);
        }
        if let Some(ctx) = &self.context {
            cmd.args(["--kube-context", ctx]);
        }
        let started = Instant::now();
        let child = cmd.spawn().map_err(|e| HelmError::Spawn {
            bin: self.bin.display().to_string(),
            reason: e.to_string(),
        })?;
        if let (Some(r), Some(pid)) = (record, child.id()) {
            r.spawned(pid);
        }
        let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                return Err(HelmError::Spawn {
                    bin: self.bin.display().to_string(),
                    reason: e.to_string(),
                });
            }
            Err(_) => {
                return Err(HelmError::TimedOut {
                    action: action.to_string(),
                    secs: timeout.as_secs(),
                });
            }
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(HelmError::Failed {
                action: action.to_string(),
                stderr: crate::text::bound_message(&stderr, 800),
            });
        }
        // What the API server warned about (unknown fields, deprecated
        // APIs) is a chart to fix: helm prints it and succeeds.
        let stderr = String::from_utf8_lossy(&out.stderr);
        for warning in stderr.lines().filter(|l| l.contains("Warning:")) {
            tracing::warn!(action, warning = %crate::text::bound_message(warning.trim(), 400), "helm");
        }
        Ok(Output {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            took: started.elapsed(),
        })
    }

    /// The release's revisions, oldest first; empty when there is no release.
    pub async fn history(&self, release: &str, ns: &str) -> Result<Vec<Revision>, HelmError> {
        let action = "history";
        match self
            .run(
                action,
                &["history", release, "-n", ns, "-o", "json", "--max", "20"],
                Duration::from_secs(60),
            )
            .await
        {
            Ok(out) => serde_json::from_str(&out.stdout).map_err(|e| HelmError::Parse {
                action: action.into(),
                reason: e.to_string(),
            }),
            Err(HelmError::Failed { stderr, .. }) if stderr.contains("not found") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    pub async fn upgrade_install(
        &self,
        release: &str,
        ns: &str,
        chart: &Path,
        values_files: &[PathBuf],
        values: &serde_json::Value,
        timeout: Duration,
    ) -> Result<(Release, Duration), HelmError> {
        // JSON is YAML: the non-secret per-store values go in a private temp file.
        let file = tempfile_with(values.to_string()).map_err(|e| HelmError::Spawn {
            bin: self.bin.display().to_string(),
            reason: format!("cannot write the values file: {e}"),
        })?;
        let timeout_arg = format!("{}s", timeout.as_secs().max(1));
        let chart = chart.display().to_string();
        let file_path = file.path().display().to_string();
        let vf: Vec<String> = values_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut args: Vec<&str> = vec![
            "upgrade",
            "--install",
            release,
            &chart,
            "-n",
            ns,
            "--timeout",
            &timeout_arg,
            "-o",
            "json",
        ];
        // helm's own OpenAPI check fetches and parses the cluster's whole
        // schema in every process: 0.45 CPU-seconds per install with it,
        // 0.18 without, and the API server's work to serve it. It refuses
        // nothing the API server would not: with helm 3.22 an unknown field
        // is the server's warning (logged below) and a wrong type its error,
        // with or without it (tests/chart.rs applies the shipped charts with
        // strict validation).
        args.push("--disable-openapi-validation");
        for f in &vf {
            args.extend(["-f", f.as_str()]);
        }
        args.extend(["-f", file_path.as_str()]);
        let out = self
            .run_recorded(
                "upgrade --install",
                &args,
                timeout + Duration::from_secs(30),
                Some(&file.run),
            )
            .await?;
        let rel: ReleaseJson = serde_json::from_str(&out.stdout).map_err(|e| HelmError::Parse {
            action: "upgrade --install".into(),
            reason: e.to_string(),
        })?;
        Ok((
            Release {
                revision: rel.version,
                chart_version: rel.chart.metadata.version,
            },
            out.took,
        ))
    }

    /// Renders the chart with these values without touching the cluster:
    /// the chart's schema checks them (a wrong value names its path).
    pub async fn template(
        &self,
        chart: &Path,
        values_files: &[PathBuf],
        values: &serde_json::Value,
    ) -> Result<(), HelmError> {
        let file = tempfile_with(values.to_string()).map_err(|e| HelmError::Spawn {
            bin: self.bin.display().to_string(),
            reason: format!("cannot write the values file: {e}"),
        })?;
        let chart = chart.display().to_string();
        let file_path = file.path().display().to_string();
        let vf: Vec<String> = values_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut args: Vec<&str> = vec!["template", "check", &chart];
        for f in &vf {
            args.extend(["-f", f.as_str()]);
        }
        args.extend(["-f", file_path.as_str()]);
        self.run_recorded("template", &args, Duration::from_secs(60), Some(&file.run))
            .await
            .map(|_| ())
    }

    /// Removes a release; a release that does not exist is not an error.
    pub async fn uninstall(
        &self,
        release: &str,
        ns: &str,
        timeout: Duration,
    ) -> Result<Duration, HelmError> {
        let timeout_arg = format!("{}s", timeout.as_secs().max(1));
        let started = Instant::now();
        match self
            .run(
                "uninstall",
                &[
                    "uninstall",
                    release,
                    "-n",
                    ns,
                    "--ignore-not-found",
                    "--timeout",
                    &timeout_arg,
                ],
                timeout + Duration::from_secs(30),
            )
            .await
        {
            Ok(out) => Ok(out.took),
            Err(HelmError::Failed { stderr, .. })
                if stderr.contains("not found") || stderr.contains("namespaces \"") =>
            {
                Ok(started.elapsed())
            }
            Err(e) => Err(e),
        }
    }

    pub async fn rollback(
        &self,
        release: &str,
        ns: &str,
        revision: u32,
    ) -> Result<Duration, HelmError> {
        let rev = revision.to_string();
        self.run(
            "rollback",
            &["rollback", release, &rev, "-n", ns],
            Duration::from_secs(300),
        )
        .await
        .map(|o| o.took)
    }

    /// Puts a release left pending by an interrupted run back into a state
    /// from which `upgrade --install` can proceed.
    pub async fn recover_pending(
        &self,
        release: &str,
        ns: &str,
        timeout: Duration,
    ) -> Result<Recovery, HelmError> {
        let history = self.history(release, ns).await?;
        let plan = recovery_for(&history);
        match plan {
            Recovery::Nothing => {}
            Recovery::Uninstall => {
                self.uninstall(release, ns, timeout).await?;
            }
            Recovery::RollbackTo(rev) => {
                self.rollback(release, ns, rev).await?;
            }
        }
        Ok(plan)
    }

    pub async fn version(&self) -> Result<String, HelmError> {
        self.run("version", &["version", "--short"], Duration::from_secs(20))
            .await
            .map(|o| o.stdout.trim().to_string())
    }
}

fn tempfile_with(contents: String) -> std::io::Result<TempFile> {
    use std::io::Write;
    let path =
        std::env::temp_dir().join(format!("store-weaver-values-{}.yaml", uuid::Uuid::new_v4()));
    // Recorded before it exists: a kill from here on leaves a record that
    // names it.
    let run = crate::leftovers::Run::begin(&path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path)?;
    f.write_all(contents.as_bytes())?;
    Ok(TempFile { path, run })
}

/// Removed when dropped, with its record.
struct TempFile {
    path: PathBuf,
    run: crate::leftovers::Run,
}

impl TempFile {
    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(revision: u32, status: &str) -> Revision {
        Revision {
            revision,
            status: status.into(),
            chart: String::new(),
            description: String::new(),
            updated: String::new(),
        }
    }

    #[test]
    fn a_pending_first_install_is_uninstalled() {
        assert_eq!(
            recovery_for(&[rev(1, "pending-install")]),
            Recovery::Uninstall
        );
    }

    #[test]
    fn a_pending_upgrade_rolls_back_to_the_last_good_revision() {
        let h = [
            rev(1, "superseded"),
            rev(2, "deployed"),
            rev(3, "pending-upgrade"),
        ];
        assert_eq!(recovery_for(&h), Recovery::RollbackTo(2));
    }

    #[test]
    fn healthy_or_missing_releases_need_nothing() {
        assert_eq!(recovery_for(&[]), Recovery::Nothing);
        assert_eq!(recovery_for(&[rev(1, "deployed")]), Recovery::Nothing);
        assert_eq!(recovery_for(&[rev(1, "failed")]), Recovery::Nothing);
    }

    #[test]
    fn history_json_parses() {
        let json = r#"[{"revision":1,"updated":"x","status":"deployed","chart":"c","app_version":"1","description":"Install complete"}]"#;
        let h: Vec<Revision> = serde_json::from_str(json).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].revision, h[0].status.as_str()), (1, "deployed"));
        assert_eq!(h[0].chart_version(), "");
    }
}
