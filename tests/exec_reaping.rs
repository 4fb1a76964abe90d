//! A backup's commands run by exec in a database container whose PID 1 is
//! the database server. Any process they leave behind is re-parented to
//! that server when its parent exits, and PostgreSQL's postmaster takes a
//! child that dies by a signal for a crashed backend: it ends every
//! connection and runs crash recovery (seen in CI: a backup's heartbeat,
//! killed at exit, took a store's database down for a second).
//!
//! This test stands in for that PID 1: it makes itself the subreaper of the
//! commands it runs, and checks that a command leaves nothing behind for it
//! to reap, whether it succeeds, fails or is long enough for a heartbeat.

use std::process::Command;

use store_weaver::engines::DataPart;

/// Runs `argv`, then returns the exit code and what was left for the
/// subreaper: (pid, wait status) of every process still around.
fn run_and_collect_orphans(argv: &[String]) -> (Option<i32>, Vec<(i32, i32)>) {
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("bash runs");
    let mut left = Vec::new();
    loop {
        let mut wstatus = 0;
        // Blocking: a lingering process (the heartbeat's last sleep, 10 s
        // at most) is waited for, so nothing escapes the check.
        let pid = unsafe { libc::waitpid(-1, &mut wstatus, 0) };
        if pid <= 0 {
            break; // ECHILD: nothing left
        }
        left.push((pid, wstatus));
    }
    (status.code(), left)
}

#[test]
fn a_data_command_leaves_no_process_for_the_containers_pid_1() {
    // SAFETY: one test in this binary; no other thread forks meanwhile.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "prctl(PR_SET_CHILD_SUBREAPER)");

    let restore = DataPart {
        component: "db",
        container: "db",
        dump: "cat",
        restore: "cat >/dev/null",
    };
    let cases: [(&str, Vec<String>, i32); 4] = [
        ("a quick command", DataPart::argv("true"), 0),
        ("a failing command", DataPart::argv("false"), 1),
        ("an exit code", DataPart::argv("exit 3"), 3),
        (
            "a command through a heartbeat",
            DataPart::argv("sleep 10.5; true"),
            0,
        ),
    ];
    for (what, argv, code) in cases {
        let (got, left) = run_and_collect_orphans(&argv);
        assert_eq!(got, Some(code), "{what}: exit code");
        assert!(
            left.is_empty(),
            "{what}: left {} process(es) for PID 1 to reap (pid, wait status): {left:?}",
            left.len()
        );
    }
    let (got, left) = run_and_collect_orphans(&restore.restore_argv(0));
    assert_eq!(got, Some(0), "a restore: exit code");
    assert!(left.is_empty(), "a restore left {left:?}");
}
