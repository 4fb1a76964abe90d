//! A TCP proxy in front of the sandbox's API server that a test can cut
//! (connections dropped, new ones refused: the far side says so at once) or
//! blackhole (connections stay open and new ones are accepted, but not a
//! byte passes either way: a silent partition, as when a firewall drops the
//! packets), and a kubeconfig that goes through it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub struct PartitionProxy {
    pub addr: SocketAddr,
    cut: CancellationToken,
    blackhole: CancellationToken,
}

impl PartitionProxy {
    pub async fn start(target: SocketAddr) -> PartitionProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let cut = CancellationToken::new();
        let blackhole = CancellationToken::new();
        let (stop, silent) = (cut.clone(), blackhole.clone());
        tokio::spawn(async move {
            loop {
                let (inbound, _) = tokio::select! {
                    _ = stop.cancelled() => return, // drops the listener: refused
                    accepted = listener.accept() => match accepted {
                        Ok(c) => c,
                        Err(_) => continue,
                    },
                };
                tokio::spawn(relay(inbound, target, stop.clone(), silent.clone()));
            }
        });
        PartitionProxy {
            addr,
            cut,
            blackhole,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.cancel();
    }

    /// Lets nothing through any more, silently: no reset, no refusal.
    pub fn blackhole(&self) {
        self.blackhole.cancel();
    }

    /// A copy of the sandbox's kubeconfig (in `dir`) whose server is this proxy.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let admin = super::require_env("KUBECONFIG");
        let text = std::fs::read_to_string(&admin).expect("read the sandbox kubeconfig");
        let server = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .expect("the kubeconfig names a server")
            .to_string();
        let port = server.rsplit(':').next().expect("server has a port");
        let through = server.replace(&format!(":{port}"), &format!(":{}", self.addr.port()));
        assert!(
            server.contains("127.0.0.1"),
            "the proxy listens on 127.0.0.1, which the API server's certificate must name: {server}"
        );
        let kc = dir.join(format!("kubeconfig-via-{}", self.addr.port()));
        std::fs::write(&kc, text.replace(&server, &through)).expect("write the kubeconfig");
        kc
    }
}

async fn relay(
    mut inbound: TcpStream,
    target: SocketAddr,
    cut: CancellationToken,
    blackhole: CancellationToken,
) {
    if blackhole.is_cancelled() {
        // Accepted, and then nothing: hold it until the cut or the peer goes.
        tokio::select! {
            _ = cut.cancelled() => {}
            _ = drain(&mut inbound) => {}
        }
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (mut ri, mut wi) = inbound.split();
    let (mut ro, mut wo) = outbound.split();
    let up = pump(&mut ri, &mut wo, &blackhole);
    let down = pump(&mut ro, &mut wi, &blackhole);
    tokio::select! {
        _ = cut.cancelled() => {}
        _ = futures::future::join(up, down) => {}
    }
}

/// Copies until EOF or the blackhole; after the blackhole it reads and
/// discards, so the connection stays open and silent.
async fn pump<R, W>(from: &mut R, to: &mut W, blackhole: &CancellationToken)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            _ = blackhole.cancelled() => break,
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
        };
        if blackhole.is_cancelled() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn drain(s: &mut TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}
