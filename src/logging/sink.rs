//! A log writer that never holds its caller up: a line is appended to a
//! buffer in memory (a short lock, no system call, no thread woken per
//! line) and a thread of its own writes what has gathered, at most
//! `LINGER` after it began to gather or as soon as `WAKE_AT` bytes wait.
//! Handing each line to a writer thread (tracing-appender's non-blocking
//! writer) cost a channel message, a copy and often a wake-up per line,
//! measurable at tens of thousands of requests a second on two cores.
//!
//! Lines are whole when they come in (tracing-subscriber writes an event
//! in one call; the access log a line), so batches of them never cut a
//! line. Beyond `MAX_PENDING` bytes waiting (stderr not read), new lines
//! are dropped and counted, and the count is written once the writer
//! catches up.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes waiting at most; beyond it new lines are dropped.
const MAX_PENDING: usize = 16 << 20;
/// The writer is woken at once when this much waits.
const WAKE_AT: usize = 64 << 10;
/// Otherwise it writes this long after the first line of a batch came.
const LINGER: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    dropped: u64,
    closed: bool,
}

struct Inner {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Bytes and counts only: a panic elsewhere leaves them usable.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writing end; cheap to clone.
#[derive(Clone)]
pub struct Sink {
    inner: Arc<Inner>,
}

/// Dropping it writes what waits and stops the writer thread.
pub struct SinkGuard {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// A sink writing to `out` from a thread of its own.
    pub fn spawn(mut out: impl Write + Send + 'static) -> std::io::Result<(Sink, SinkGuard)> {
        let inner = Arc::new(Inner {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
        });
        let theirs = inner.clone();
        let thread = std::thread::Builder::new()
            .name("store-weaver-log".into())
            .spawn(move || write_batches(&theirs, &mut out))?;
        Ok((
            Sink {
                inner: inner.clone(),
            },
            SinkGuard {
                inner,
                thread: Some(thread),
            },
        ))
    }

    /// Appends whole lines (newlines included).
    pub fn write_lines(&self, lines: &[u8]) {
        let mut p = self.inner.lock();
        if p.closed || p.buf.len() + lines.len() > MAX_PENDING {
            p.dropped += 1;
            return;
        }
        let was = p.buf.len();
        p.buf.extend_from_slice(lines);
        // Wake the writer when a batch begins (it lingers for more) and when
        // it is big enough to go at once; not for the lines in between.
        if was == 0 || (was < WAKE_AT && p.buf.len() >= WAKE_AT) {
            drop(p);
            self.inner.wake.notify_one();
        }
    }
}

fn write_batches(inner: &Inner, out: &mut impl Write) {
    loop {
        let (batch, dropped, closed) = {
            let mut p = inner.lock();
            while p.buf.is_empty() && !p.closed {
                p = inner.wake.wait(p).unwrap_or_else(|e| e.into_inner());
            }
            let (mut p, _) = inner
                .wake
                .wait_timeout_while(p, LINGER, |p| p.buf.len() < WAKE_AT && !p.closed)
                .unwrap_or_else(|e| e.into_inner());
            (
                std::mem::take(&mut p.buf),
                std::mem::take(&mut p.dropped),
                p.closed,
            )
        };
        // Nowhere to report a failed write to but the stream that failed.
        let _ = out.write_all(&batch);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "store-weaver: {dropped} log lines dropped: more than {} MiB were waiting to be written (is stderr read?)",
                MAX_PENDING >> 20
            );
        }
        let _ = out.flush();
        if closed {
            return;
        }
    }
}

impl Drop for SinkGuard {
    fn drop(&mut self) {
        self.inner.lock().closed = true;
        self.inner.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// tracing-subscriber's writer: each event arrives as one `write_all`.
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = SinkWriter<'a>;

    fn make_writer(&'a self) -> SinkWriter<'a> {
        SinkWriter(self)
    }
}

pub struct SinkWriter<'a>(&'a Sink);

impl Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_lines(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_guard_is_dropped() {
        let out = Shared::default();
        let (sink, guard) = Sink::spawn(out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        sink.write_lines(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("t{t} ")))
                .collect();
            let expected: Vec<String> = (0..5_000).map(|i| format!("t{t} line {i}")).collect();
            assert_eq!(mine, expected, "thread {t}'s lines whole and in order");
        }
    }

    #[test]
    fn a_lone_line_is_written_within_the_linger_time() {
        let out = Shared::default();
        let (sink, _guard) = Sink::spawn(out.clone()).unwrap();
        sink.write_lines(b"one\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while out.0.lock().unwrap().as_slice() != b"one\n" {
            assert!(std::time::Instant::now() < deadline, "not written");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
