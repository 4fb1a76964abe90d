//! The backup bucket against the sandbox's real S3 server (versitygw):
//! sealed parts streamed up and back, and every way a part can be wrong
//! refused with a message that says what to do.

mod common;

use store_weaver::backup::{BackupKey, Bucket, BucketConfig, BucketError, SealError};
use tokio::io::AsyncRead;

fn config(prefix: &str) -> BucketConfig {
    BucketConfig {
        endpoint: Some(common::require_env("SANDBOX_S3_ENDPOINT")),
        bucket: common::require_env("SANDBOX_S3_BUCKET"),
        region: common::require_env("SANDBOX_S3_REGION"),
        path_style: true,
        prefix: format!("{prefix}/"),
        access_key_id: Some(common::require_env("SANDBOX_S3_ACCESS_KEY_ID")),
        secret_access_key: Some(common::require_env("SANDBOX_S3_SECRET_ACCESS_KEY")),
    }
}

/// `len` bytes that do not compress to nothing, produced as they are read.
fn data(len: usize) -> impl AsyncRead + Unpin {
    let bytes: Vec<u8> = (0..len).map(|i| ((i * 7919) % 251) as u8).collect();
    std::io::Cursor::new(bytes)
}

#[tokio::test]
async fn a_sealed_part_goes_up_in_parts_and_comes_back_checked() {
    let prefix = common::unique("bucket-test");
    let bucket = Bucket::new(&config(&prefix)).unwrap();
    bucket
        .check()
        .await
        .expect("the sandbox's S3 server is writable");
    let key = BackupKey::from_bytes(&[9; 32]);
    // 21 MB: three multipart parts of 8 MiB sealed bytes.
    let len = 21 * 1024 * 1024 + 123;
    let part = bucket
        .put_sealed("b1/database", "database", &key, data(len))
        .await
        .unwrap();
    assert_eq!(part.plain_bytes, len as u64);
    assert!(
        part.bytes > part.plain_bytes,
        "sealing adds frames and tags"
    );
    assert_eq!(part.sha256.len(), 64);

    let mut back = Vec::new();
    bucket
        .open_sealed("b1/database", &part, &key, Some(&mut back))
        .await
        .unwrap();
    let want: Vec<u8> = (0..len).map(|i| ((i * 7919) % 251) as u8).collect();
    assert!(back == want, "the plain text comes back byte for byte");

    // A manifest that says another checksum: refused.
    let mut wrong = part.clone();
    wrong.sha256 = "0".repeat(64);
    let e = bucket
        .open_sealed::<Vec<u8>>("b1/database", &wrong, &key, None)
        .await
        .unwrap_err();
    assert!(matches!(e, BucketError::Mismatch { .. }), "{e}");
    assert!(e.to_string().contains("choose another one"), "{e}");

    // Another key: named, not tried.
    let e = bucket
        .open_sealed::<Vec<u8>>("b1/database", &part, &BackupKey::from_bytes(&[8; 32]), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BucketError::Sealed {
                source: SealError::WrongKey { .. },
                ..
            }
        ),
        "{e}"
    );

    // A missing object: says the backup is incomplete.
    let e = bucket
        .open_sealed::<Vec<u8>>("b1/files", &part, &key, None)
        .await
        .unwrap_err();
    assert!(matches!(e, BucketError::Missing { .. }), "{e}");

    assert_eq!(bucket.delete_below("b1/").await.unwrap(), 1);
    let e = bucket
        .open_sealed::<Vec<u8>>("b1/database", &part, &key, None)
        .await
        .unwrap_err();
    assert!(matches!(e, BucketError::Missing { .. }), "{e}");
}

#[tokio::test]
async fn wrong_credentials_and_a_missing_bucket_are_reported_with_what_to_check() {
    let mut cfg = config(&common::unique("bucket-test"));
    cfg.secret_access_key = Some("not-the-secret".into());
    let e = Bucket::new(&cfg).unwrap().check().await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, BucketError::Store { .. }), "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert!(
        !text.contains("not-the-secret"),
        "no secret in messages: {text}"
    );

    let mut cfg = config(&common::unique("bucket-test"));
    cfg.bucket = "no-such-bucket-here".into();
    let e = Bucket::new(&cfg).unwrap().check().await.unwrap_err();
    assert!(e.to_string().contains("no-such-bucket-here"), "{e}");
}

/// A reader that gives `total` bytes in small pieces, slowly enough that an
/// upload is still going when the test cuts the connection.
struct Slow {
    left: usize,
}

impl AsyncRead for Slow {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.left.min(buf.remaining()).min(256 * 1024);
        let bytes: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
        buf.put_slice(&bytes);
        self.left -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn an_object_store_cut_off_mid_upload_fails_the_part_in_bounded_time() {
    let direct = common::require_env("SANDBOX_S3_ENDPOINT");
    let addr: std::net::SocketAddr = direct.trim_start_matches("http://").parse().unwrap();
    let proxy = common::CuttableProxy::start(addr).await;
    let mut cfg = config(&common::unique("bucket-test"));
    cfg.endpoint = Some(format!("http://{}", proxy.addr));
    let bucket = Bucket::new(&cfg).unwrap();
    let key = BackupKey::from_bytes(&[7; 32]);
    let upload = tokio::spawn(async move {
        bucket
            .put_sealed(
                "cut/files",
                "files",
                &key,
                Slow {
                    left: 400 * 1024 * 1024,
                },
            )
            .await
    });
    // Let some parts go up, then cut.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    proxy.cut();
    let t = std::time::Instant::now();
    let result = tokio::time::timeout(std::time::Duration::from_secs(120), upload)
        .await
        .expect("the upload ends within two minutes of the cut")
        .unwrap();
    let e = result.unwrap_err();
    eprintln!(
        "failed {:.1}s after the cut: {e}",
        t.elapsed().as_secs_f64()
    );
    assert!(matches!(e, BucketError::Store { .. }), "{e}");
}
