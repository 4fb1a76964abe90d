//! The external tools the tests drive (helm, kubectl) and how they are
//! found and run: `$HELM_BIN`/`$KUBECTL_BIN`, else the project's pinned
//! build in the tools cache (scripts/build-tools.sh), else PATH; the
//! cluster is KUBECONFIG or the sandbox's, checked to answer once. Every run
//! has a timeout, so a hung tool fails the test instead of hanging it.

use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
}

/// Where scripts/build-tools.sh leaves helm and kubectl.
pub fn tools_cache() -> PathBuf {
    if let Some(c) = std::env::var_os("STORE_WEAVER_CACHE") {
        return PathBuf::from(c).join("bin");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"));
    cache.join("store-weaver").join("bin")
}

/// `$HELM_BIN`/`$KUBECTL_BIN`, else the project's pinned build in the tools
/// cache, else PATH.
pub fn find_tool(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_uppercase());
    if let Some(p) = std::env::var_os(&var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{var}={} is not a file", p.display());
        return p;
    }
    let cached = tools_cache().join(name);
    if cached.is_file() {
        return cached;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "`{name}` is needed by the chart tests but is neither at {} nor on PATH (nor set in {var}): \
         build it with scripts/build-tools.sh (or scripts/sandbox up), then \
         `source ~/.local/state/store-weaver/sandbox/env`",
        cached.display()
    );
}

pub fn helm_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| find_tool("helm"))
}

pub fn kubectl_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| find_tool("kubectl"))
}

/// KUBECONFIG, else the sandbox's; and the API server must answer.
pub fn kubeconfig() -> &'static Path {
    static KC: OnceLock<PathBuf> = OnceLock::new();
    KC.get_or_init(|| {
        let from_env = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()).map(PathBuf::from);
        let sandbox = std::env::var_os("STORE_WEAVER_SANDBOX")
            .map(PathBuf::from)
            .unwrap_or_else(|| home().join(".local/state/store-weaver/sandbox"))
            .join("kubeconfig");
        let kc = match from_env {
            Some(kc) => kc,
            None if sandbox.is_file() => sandbox,
            None => panic!(
                "no cluster for the chart tests: KUBECONFIG is not set and there is no sandbox \
                 kubeconfig at {}: run `scripts/sandbox up` and \
                 `source ~/.local/state/store-weaver/sandbox/env`",
                sandbox.display()
            ),
        };
        let out = run(
            Command::new(kubectl_bin()).env("KUBECONFIG", &kc).args(["get", "--raw", "/readyz", "--request-timeout=10s"]),
            None,
            Duration::from_secs(20),
        );
        assert!(
            out.status.success(),
            "the API server of KUBECONFIG={} does not answer /readyz (is the sandbox up? `scripts/sandbox status`): {}",
            kc.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        kc
    })
}

/// Runs a command to completion (killing it after `timeout`), feeding `stdin`.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let shown = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out_t = drain(Box::new(child.stdout.take().expect("stdout pipe")));
    let err_t = drain(Box::new(child.stderr.take().expect("stderr pipe")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {}s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn helm(args: &[&str]) -> Output {
    run(
        Command::new(helm_bin()).args(args),
        None,
        Duration::from_secs(180),
    )
}

pub fn helm_cluster(args: &[&str]) -> Output {
    run(
        Command::new(helm_bin())
            .env("KUBECONFIG", kubeconfig())
            .args(args),
        None,
        Duration::from_secs(180),
    )
}

pub fn kubectl(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run(
        Command::new(kubectl_bin())
            .env("KUBECONFIG", kubeconfig())
            .args(args),
        stdin,
        Duration::from_secs(120),
    )
}

pub fn must(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

pub fn kubectl_json(args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", "json"]);
    let out = must(kubectl(&all, None), &format!("kubectl {}", args.join(" ")));
    serde_json::from_slice(&out.stdout).expect("kubectl printed JSON")
}

/// kubectl's stdout, the run asserted to succeed.
pub fn kubectl_out(args: &[&str]) -> String {
    text(&must(kubectl(args, None), &format!("kubectl {}", args.join(" "))).stdout)
}

/// Multi-document YAML (what `helm template` prints) as JSON objects, by
/// kubectl: the tests have no YAML parser of their own.
pub fn yaml_to_json(yaml: &[u8]) -> Vec<serde_json::Value> {
    let out = must(
        kubectl(
            &[
                "create",
                "--dry-run=client",
                "--validate=false",
                "-o",
                "json",
                "-f",
                "-",
            ],
            Some(yaml),
        ),
        "kubectl create --dry-run=client -o json",
    );
    let mut items = Vec::new();
    for v in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>() {
        let v = v.expect("kubectl printed JSON");
        match v["kind"].as_str() {
            Some("List") => items.extend(v["items"].as_array().cloned().unwrap_or_default()),
            _ => items.push(v),
        }
    }
    items
}

/// Runs a bash script in `container` of the store's pod of `component`
/// (`app.kubernetes.io/component`): its stdout, or a panic with what it
/// said.
pub fn exec_script(ns: &str, component: &str, container: &str, script: &str) -> String {
    let pod = kubectl_out(&[
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        &format!("app.kubernetes.io/component={component}"),
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let out = kubectl(
        &[
            "exec",
            "-n",
            ns,
            pod.trim(),
            "-c",
            container,
            "--",
            "bash",
            "-c",
            script,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{script} in {ns}/{component}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}
