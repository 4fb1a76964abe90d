//! The Dockerfile's stages and the sandbox's image build share one list of
//! inputs: `Dockerfile.inputs`, one line per COPY source of each stage. Here:
//! * the Dockerfile's COPY lines are exactly that list (instant);
//! * each build stage's RUN lines succeed on exactly its listed inputs. A
//!   stage runs through `scripts/build-images.sh stage <name>` (the same
//!   runner the sandbox's store-weaver image uses) in a directory that stands
//!   for the stage's `/` and holds its COPY sources at their destinations and
//!   nothing else; this test then checks that directory holds exactly the
//!   listed inputs (byte for byte) plus what the stage declares it makes, and
//!   that the stage's product works. The runner keeps a stamp over the
//!   inputs' content, the instructions and the tool versions: a stage that
//!   already ran on exactly these inputs is not run again.
//!
//! The build stage is a release build (`cargo build --release --locked`) in
//! a target directory outside the clone (`$STORE_WEAVER_CACHE/stages/target`),
//! shared with the sandbox's store-weaver image and kept between runs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Debug, Clone, PartialEq, Eq)]
struct CopyLine {
    /// The stage copied from; None for the build context.
    from: Option<String>,
    src: String,
    /// Absolute (a relative destination is resolved against the WORKDIR).
    dest: String,
}

impl std::fmt::Display for CopyLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.from {
            Some(stage) => write!(f, "--from={stage} {} {}", self.src, self.dest),
            None => write!(f, "{} {}", self.src, self.dest),
        }
    }
}

#[derive(Debug, Default)]
struct Stage {
    name: String,
    copies: Vec<CopyLine>,
    runs: Vec<String>,
    args: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct ListedStage {
    name: String,
    copies: Vec<CopyLine>,
    /// Paths the stage's commands make (absolute, a trailing / for a directory).
    made: Vec<String>,
}

/// The Dockerfile's instructions, continuation lines joined, comments and
/// blank lines dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let trimmed = raw.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (trimmed, false),
        };
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(body);
        if !continues {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `dest` against `workdir`, normalised; a trailing `/` kept (or added for `.`).
fn resolve(workdir: &str, dest: &str) -> String {
    let joined = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{workdir}/{dest}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let dir_like = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
    let mut out = format!("/{}", parts.join("/"));
    if dir_like && out != "/" {
        out.push('/');
    }
    out
}

fn parse_dockerfile(text: &str) -> Result<Vec<Stage>, String> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut workdir = String::from("/");
    for line in logical_lines(text) {
        let (instr, rest) = line
            .split_once(char::is_whitespace)
            .unwrap_or((line.as_str(), ""));
        let rest = rest.trim();
        let instr = instr.to_ascii_uppercase();
        if instr == "FROM" {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => name.to_string(),
                _ => stages.len().to_string(),
            };
            stages.push(Stage {
                name,
                ..Stage::default()
            });
            workdir = String::from("/");
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            if instr == "ARG" {
                continue;
            }
            return Err(format!("{instr} before the first FROM: {line}"));
        };
        match instr.as_str() {
            "WORKDIR" => workdir = resolve(&workdir, rest).trim_end_matches('/').to_string(),
            "RUN" => stage.runs.push(rest.to_string()),
            "ARG" => {
                if let Some((k, v)) = rest.split_once('=') {
                    stage.args.insert(k.to_string(), v.to_string());
                }
            }
            "COPY" | "ADD" => {
                if instr == "ADD" || rest.starts_with('[') {
                    return Err(format!(
                        "only COPY <src>... <dest> is understood here (tests/image_inputs.rs): {line}"
                    ));
                }
                let mut from = None;
                let mut words: Vec<&str> = Vec::new();
                for w in rest.split_whitespace() {
                    if let Some(f) = w.strip_prefix("--from=") {
                        from = Some(f.to_string());
                    } else if w.starts_with("--") {
                        return Err(format!(
                            "COPY option {w} is not understood here (tests/image_inputs.rs): {line}"
                        ));
                    } else {
                        words.push(w);
                    }
                }
                let Some((dest, srcs)) = words.split_last() else {
                    return Err(format!("COPY without a destination: {line}"));
                };
                if srcs.is_empty() {
                    return Err(format!("COPY without a source: {line}"));
                }
                if srcs.len() > 1 && !dest.ends_with('/') {
                    return Err(format!(
                        "COPY of several sources needs a destination ending in /: {line}"
                    ));
                }
                let dest = resolve(&workdir, dest);
                for src in srcs {
                    stage.copies.push(CopyLine {
                        from: from.clone(),
                        src: src.to_string(),
                        dest: dest.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(stages)
}

fn parse_inputs(text: &str) -> Result<Vec<ListedStage>, String> {
    let mut stages: Vec<ListedStage> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            stages.push(ListedStage {
                name: name.to_string(),
                ..ListedStage::default()
            });
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            return Err(format!(
                "Dockerfile.inputs line {}: an entry before any [stage]",
                n + 1
            ));
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["made", path] => stage.made.push(path.to_string()),
            [from, src, dest] if from.starts_with("--from=") => stage.copies.push(CopyLine {
                from: Some(from["--from=".len()..].to_string()),
                src: src.to_string(),
                dest: dest.to_string(),
            }),
            [src, dest] => stage.copies.push(CopyLine {
                from: None,
                src: src.to_string(),
                dest: dest.to_string(),
            }),
            _ => {
                return Err(format!(
                    "Dockerfile.inputs line {}: not `<src> <dest>`, `--from=<stage> <src> <dest>` nor `made <path>`: {line}",
                    n + 1
                ));
            }
        }
    }
    Ok(stages)
}

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn dockerfile() -> Vec<Stage> {
    parse_dockerfile(&read("Dockerfile")).unwrap_or_else(|e| panic!("Dockerfile: {e}"))
}

fn listed() -> Vec<ListedStage> {
    parse_inputs(&read("Dockerfile.inputs")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn dockerfile_copies_exactly_the_listed_inputs() {
    let docker = dockerfile();
    let list = listed();
    let names = |v: Vec<&str>| v.join(", ");
    assert_eq!(
        docker.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        list.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "the Dockerfile's stages and Dockerfile.inputs' [sections] differ"
    );
    for (d, l) in docker.iter().zip(&list) {
        if d.copies != l.copies {
            let want: Vec<String> = d.copies.iter().map(ToString::to_string).collect();
            panic!(
                "stage {}: the Dockerfile's COPY lines are not what Dockerfile.inputs lists.\nThe Dockerfile copies (as Dockerfile.inputs lines):\n{}\nDockerfile.inputs lists:\n{}",
                d.name,
                want.join("\n"),
                l.copies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        for c in &d.copies {
            match &c.from {
                None => {
                    let p = Path::new(ROOT).join(&c.src);
                    assert!(
                        p.exists(),
                        "stage {}: COPY source {} is not in the repository",
                        d.name,
                        c.src
                    );
                    assert!(
                        !c.src.ends_with('/') || p.is_dir(),
                        "stage {}: COPY source {} ends in / but is not a directory",
                        d.name,
                        c.src
                    );
                }
                Some(from) => {
                    let earlier: Vec<&str> = docker
                        .iter()
                        .take_while(|s| s.name != d.name)
                        .map(|s| s.name.as_str())
                        .collect();
                    assert!(
                        earlier.contains(&from.as_str()),
                        "stage {}: copies from {from}, which is not an earlier stage ({})",
                        d.name,
                        names(earlier.clone())
                    );
                }
            }
        }
    }
    // The sandbox's image build reads the final stage under this name.
    assert_eq!(
        docker.last().map(|s| s.name.as_str()),
        Some("runtime"),
        "the Dockerfile's final stage must be `AS runtime`"
    );
}

#[test]
fn every_build_stage_has_its_test_here() {
    let docker = dockerfile();
    let build_stages: Vec<&str> = docker[..docker.len().saturating_sub(1)]
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        build_stages,
        ["helm", "dashboard", "build"],
        "a new build stage needs its test in tests/image_inputs.rs"
    );
}

fn script() -> PathBuf {
    Path::new(ROOT).join("scripts/build-images.sh")
}

/// Runs the stage through the sandbox's runner; returns its directory.
fn run_stage(name: &str) -> PathBuf {
    let out = Command::new(script())
        .args(["stage", name])
        .output()
        .expect("run scripts/build-images.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stage {name} failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout.lines().last().unwrap_or_default().trim().to_string();
    assert!(
        !dir.is_empty(),
        "scripts/build-images.sh stage {name} printed no directory:\n{stderr}"
    );
    PathBuf::from(dir)
}

/// Where a path of a stage's file system is on this machine.
fn host_path(stage: &str, path: &str) -> PathBuf {
    let out = Command::new(script())
        .args(["path", stage, path])
        .output()
        .expect("run scripts/build-images.sh");
    assert!(
        out.status.success(),
        "path {stage} {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Every file under `dir` (symlinks as files), relative paths.
fn files_under(dir: &Path, skip: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let r = rel.join(entry.file_name());
            let rs = r.to_string_lossy().to_string();
            if skip(&rs) {
                continue;
            }
            let ft = entry.file_type().expect("file type");
            if ft.is_dir() {
                todo.push(r);
            } else {
                out.push(rs);
            }
        }
    }
    out.sort();
    out
}

/// The stage's directory holds exactly its listed inputs (same bytes), and
/// anything else only under what it declares it makes.
fn assert_exactly_the_inputs(stage: &str, dir: &Path) {
    let list = listed();
    let listed = list
        .iter()
        .find(|s| s.name == stage)
        .unwrap_or_else(|| panic!("no [{stage}] in Dockerfile.inputs"));
    // Expected file -> its source on this machine.
    let mut expected: BTreeMap<String, PathBuf> = BTreeMap::new();
    for c in &listed.copies {
        let src = match &c.from {
            None => Path::new(ROOT).join(&c.src),
            Some(from) => host_path(from, &c.src),
        };
        let dest = c.dest.trim_start_matches('/');
        if src.is_dir() {
            for f in files_under(&src, &|_| false) {
                expected.insert(format!("{}/{f}", dest.trim_end_matches('/')), src.join(&f));
            }
        } else if c.dest.ends_with('/') {
            let base = Path::new(&c.src)
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .to_string();
            expected.insert(format!("{dest}{base}"), src);
        } else {
            expected.insert(dest.to_string(), src);
        }
    }
    let made: Vec<String> = listed
        .made
        .iter()
        .map(|m| m.trim_start_matches('/').trim_end_matches('/').to_string())
        .collect();
    let is_made = |rel: &str| {
        made.iter()
            .any(|m| rel == m || rel.starts_with(&format!("{m}/")))
    };
    let actual = files_under(dir, &|rel| is_made(rel) || rel == ".stamp");
    let extra: Vec<&String> = actual
        .iter()
        .filter(|f| !expected.contains_key(*f))
        .collect();
    assert!(
        extra.is_empty(),
        "stage {stage}: {} holds files that are not its listed inputs: {extra:?}",
        dir.display()
    );
    for (rel, src) in &expected {
        let got = fs::read(dir.join(rel)).unwrap_or_else(|e| {
            panic!(
                "stage {stage}: listed input {rel} missing from {}: {e}",
                dir.display()
            )
        });
        let want = fs::read(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
        assert!(
            got == want,
            "stage {stage}: {rel} differs from its source {}",
            src.display()
        );
    }
    for m in &listed.made {
        assert!(
            dir.join(m.trim_start_matches('/')).exists(),
            "stage {stage} did not make {m}"
        );
    }
}

#[test]
fn helm_stage_builds_from_exactly_its_inputs() {
    let dir = run_stage("helm");
    assert_exactly_the_inputs("helm", &dir);
    let version = dockerfile()
        .iter()
        .find(|s| s.name == "helm")
        .and_then(|s| s.args.get("HELM_VERSION").cloned());
    let version = version.expect("ARG HELM_VERSION=<version> in the helm stage");
    let out = Command::new(host_path("helm", "/src/bin/helm"))
        .args(["version", "--short"])
        .output()
        .expect("run helm");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with(&format!("v{version}")),
        "helm version --short: {text}"
    );
}

#[test]
fn dashboard_stage_builds_from_exactly_its_inputs() {
    let dir = run_stage("dashboard");
    assert_exactly_the_inputs("dashboard", &dir);
    let index = fs::read_to_string(host_path("dashboard", "/src/dashboard/dist/index.html"))
        .unwrap_or_default();
    assert!(
        index.contains("<script"),
        "the dashboard stage's dist/index.html loads no script:\n{index}"
    );
}

#[test]
fn build_stage_builds_from_exactly_its_inputs() {
    let dir = run_stage("build");
    assert_exactly_the_inputs("build", &dir);
    let bin = host_path("build", "/src/target/release/store-weaver");
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(env!("CARGO_PKG_VERSION")),
        "{} --version: {text}",
        bin.display()
    );
}

#[test]
fn copy_destinations_resolve_against_the_workdir() {
    assert_eq!(resolve("/src", "./"), "/src/");
    assert_eq!(resolve("/src", "."), "/src/");
    assert_eq!(resolve("/src", "src/"), "/src/src/");
    assert_eq!(resolve("/src/dashboard", "dist"), "/src/dashboard/dist");
    assert_eq!(resolve("/src", "/app/charts/"), "/app/charts/");
    assert_eq!(resolve("/src/a", "../b/"), "/src/b/");
    let stages = parse_dockerfile(
        "FROM x AS a\nWORKDIR /src\nCOPY a.toml \\\n  b.lock ./\nRUN one \\\n  two\nFROM y\nCOPY --from=a /src/a.toml /etc/\n",
    )
    .expect("parse");
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].runs, ["one two"]);
    assert_eq!(
        stages[0].copies[1],
        CopyLine {
            from: None,
            src: "b.lock".into(),
            dest: "/src/".into()
        }
    );
    assert_eq!(stages[1].name, "1");
    assert!(parse_dockerfile("FROM x\nCOPY --chown=1 a /b\n").is_err());
}
