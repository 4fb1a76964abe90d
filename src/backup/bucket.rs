//! The object store backups go to: any S3-compatible service. Parts are
//! streamed in and out sealed (see `seal`): a part is never held whole in
//! memory, and every byte read back is checked before it is used.

use super::seal::{BackupKey, CHUNK, Opener, SealError, Sealer};
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig, WriteMultipart};
use ring::digest::{Context as Digest, SHA256};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Sealed bytes per uploaded part: S3's minimum is 5 MiB.
const UPLOAD_PART: usize = 8 * 1024 * 1024;
/// Parts in flight while uploading: with `UPLOAD_PART` this bounds the
/// memory one backup takes.
const UPLOADS_IN_FLIGHT: usize = 2;

/// Where backups are kept, as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct BucketConfig {
    /// e.g. `http://127.0.0.1:9000`; None: AWS's own endpoint for the region.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    /// Object names start with this (e.g. `store-weaver/`).
    pub prefix: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for BucketConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BucketConfig({})", self.describe())
    }
}

impl BucketConfig {
    /// The bucket in words, without credentials: `s3://b/prefix at endpoint`.
    pub fn describe(&self) -> String {
        format!(
            "s3://{}/{} at {}",
            self.bucket,
            self.prefix,
            self.endpoint.as_deref().unwrap_or("AWS")
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error(
        "the backup bucket is not usable ({where_}): {message}; check backup_s3_* settings and that the object store is running"
    )]
    Config { where_: String, message: String },
    #[error(
        "the backup bucket {where_} could not {what}: {message}; check that the object store is reachable and the credentials may write to the bucket"
    )]
    Store {
        where_: String,
        what: String,
        message: String,
    },
    #[error(
        "{object} is not in the bucket {where_}: the backup is incomplete or was purged; choose another backup"
    )]
    Missing { where_: String, object: String },
    #[error("{object}: {source}")]
    Sealed { object: String, source: SealError },
    #[error(
        "{object} does not match its manifest ({what}); the backup is damaged, choose another one"
    )]
    Mismatch { object: String, what: String },
    #[error("{0}")]
    Io(String),
}

/// What was written of one part: kept in the manifest, checked on restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub name: String,
    /// The object's name below the backup's directory.
    pub object: String,
    /// Bytes in the bucket (sealed).
    pub bytes: u64,
    /// Bytes before sealing (what the dump produced, compressed).
    pub plain_bytes: u64,
    /// SHA-256 of the object, hex.
    pub sha256: String,
}

#[derive(Clone)]
pub struct Bucket {
    store: std::sync::Arc<AmazonS3>,
    cfg: BucketConfig,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.cfg.describe())
    }
}

impl Bucket {
    pub fn new(cfg: &BucketConfig) -> Result<Bucket, BucketError> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_virtual_hosted_style_request(!cfg.path_style)
            // A stopped object store fails a backup in seconds, not minutes.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120))
                    .with_allow_http(true),
            );
        if let Some(e) = &cfg.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(k) = &cfg.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = &cfg.secret_access_key {
            b = b.with_secret_access_key(s);
        }
        let store = b.build().map_err(|e| BucketError::Config {
            where_: cfg.describe(),
            message: e.to_string(),
        })?;
        Ok(Bucket {
            store: std::sync::Arc::new(store),
            cfg: cfg.clone(),
        })
    }

    pub fn describe(&self) -> String {
        self.cfg.describe()
    }

    /// The full object name of `rel` (below the configured prefix).
    pub fn path(&self, rel: &str) -> Path {
        Path::from(format!("{}{rel}", self.cfg.prefix))
    }

    fn store_err(&self, what: String) -> impl Fn(object_store::Error) -> BucketError + '_ {
        move |e| match e {
            object_store::Error::NotFound { path, .. } => BucketError::Missing {
                where_: self.describe(),
                object: path,
            },
            e => BucketError::Store {
                where_: self.describe(),
                what: what.clone(),
                message: crate::text::bound_message(&e.to_string(), 400),
            },
        }
    }

    /// Seals what `reader` gives and uploads it as `rel`, streaming: at
    /// most a few parts are in memory at once. On any error the upload is
    /// aborted (no object appears).
    pub async fn put_sealed<R: AsyncRead + Unpin>(
        &self,
        rel: &str,
        name: &str,
        key: &BackupKey,
        mut reader: R,
    ) -> Result<PartInfo, BucketError> {
        let path = self.path(rel);
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(self.store_err(format!("start the upload of {path}")))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
        let result = async {
            let mut sealer = Sealer::new(key);
            let mut digest = Digest::new(&SHA256);
            let mut bytes = 0u64;
            let mut plain_bytes = 0u64;
            let mut frame = sealer.header().to_vec();
            // One chunk read ahead: a frame must say whether it is the last.
            let mut cur = vec![0u8; CHUNK];
            let mut next = vec![0u8; CHUNK];
            let mut n = read_full(&mut reader, &mut cur).await?;
            loop {
                let m = if n == CHUNK {
                    read_full(&mut reader, &mut next).await?
                } else {
                    0
                };
                let last = m == 0;
                sealer.frame(&cur[..n], last, &mut frame);
                plain_bytes += n as u64;
                digest.update(&frame);
                bytes += frame.len() as u64;
                w.wait_for_capacity(UPLOADS_IN_FLIGHT)
                    .await
                    .map_err(self.store_err(format!("upload {path}")))?;
                w.write(&frame);
                frame.clear();
                if last {
                    break;
                }
                std::mem::swap(&mut cur, &mut next);
                n = m;
            }
            Ok::<_, BucketError>((bytes, plain_bytes, hex(digest.finish().as_ref())))
        }
        .await;
        match result {
            Ok((bytes, plain_bytes, sha256)) => {
                w.finish()
                    .await
                    .map_err(self.store_err(format!("finish the upload of {path}")))?;
                Ok(PartInfo {
                    name: name.to_string(),
                    object: rel.rsplit('/').next().unwrap_or(rel).to_string(),
                    bytes,
                    plain_bytes,
                    sha256,
                })
            }
            Err(e) => {
                if let Err(abort) = w.abort().await {
                    tracing::warn!(object = %path, error = %abort, "could not abort a failed upload; the bucket's lifecycle rules must remove it");
                }
                Err(e)
            }
        }
    }

    /// Reads `rel` back and checks it against `part` (size, checksum, every
    /// frame opens) without keeping it. `sink`, when given, receives the
    /// plain text as it is opened.
    pub async fn open_sealed<W: AsyncWrite + Unpin>(
        &self,
        rel: &str,
        part: &PartInfo,
        key: &BackupKey,
        mut sink: Option<&mut W>,
    ) -> Result<(), BucketError> {
        let path = self.path(rel);
        let object = path.to_string();
        let got = self
            .store
            .get(&path)
            .await
            .map_err(self.store_err(format!("read {path}")))?;
        let mut stream = got.into_stream();
        let mut opener = Opener::new(key);
        let mut digest = Digest::new(&SHA256);
        let mut bytes = 0u64;
        let mut plain = Vec::with_capacity(CHUNK * 2);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(self.store_err(format!("read {path}")))?;
            bytes += chunk.len() as u64;
            digest.update(&chunk);
            opener
                .push(&chunk, &mut plain)
                .map_err(|source| BucketError::Sealed {
                    object: object.clone(),
                    source,
                })?;
            if let Some(w) = sink.as_mut() {
                w.write_all(&plain)
                    .await
                    .map_err(|e| BucketError::Io(format!("writing what {object} holds: {e}")))?;
            }
            plain.clear();
        }
        opener.finish().map_err(|source| BucketError::Sealed {
            object: object.clone(),
            source,
        })?;
        let sha = hex(digest.finish().as_ref());
        if bytes != part.bytes || sha != part.sha256 {
            return Err(BucketError::Mismatch {
                object,
                what: format!(
                    "{bytes} bytes with SHA-256 {sha}, the manifest says {} bytes with {}",
                    part.bytes, part.sha256
                ),
            });
        }
        if let Some(w) = sink {
            w.flush()
                .await
                .map_err(|e| BucketError::Io(format!("writing what {object} holds: {e}")))?;
        }
        Ok(())
    }

    pub async fn put_json<T: Serialize>(&self, rel: &str, value: &T) -> Result<(), BucketError> {
        let path = self.path(rel);
        let body = serde_json::to_vec_pretty(value)
            .map_err(|e| BucketError::Io(format!("encoding {path}: {e}")))?;
        self.store
            .put(&path, PutPayload::from(body))
            .await
            .map_err(self.store_err(format!("write {path}")))?;
        Ok(())
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        rel: &str,
    ) -> Result<T, BucketError> {
        let path = self.path(rel);
        let got = self
            .store
            .get(&path)
            .await
            .map_err(self.store_err(format!("read {path}")))?;
        let body = got
            .bytes()
            .await
            .map_err(self.store_err(format!("read {path}")))?;
        serde_json::from_slice(&body).map_err(|e| BucketError::Mismatch {
            object: path.to_string(),
            what: format!("it is not a manifest this version reads: {e}"),
        })
    }

    /// The size of `rel` in the bucket.
    pub async fn size(&self, rel: &str) -> Result<u64, BucketError> {
        let path = self.path(rel);
        let meta = self
            .store
            .head(&path)
            .await
            .map_err(self.store_err(format!("look at {path}")))?;
        Ok(meta.size)
    }

    /// Removes every object below `rel` (a backup's directory).
    pub async fn delete_below(&self, rel: &str) -> Result<usize, BucketError> {
        let prefix = self.path(rel);
        let mut listed = self.store.list(Some(&prefix));
        let mut names = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(self.store_err(format!("list {prefix}")))?;
            names.push(meta.location);
        }
        for name in &names {
            match self.store.delete(name).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.store_err(format!("delete {name}"))(e)),
            }
        }
        Ok(names.len())
    }

    /// Whether the bucket answers and may be written: a small object put
    /// and removed (doctor, the start of a backup).
    pub async fn check(&self) -> Result<(), BucketError> {
        let path = self.path(".store-weaver-check");
        self.store
            .put(&path, PutPayload::from_static(b"ok"))
            .await
            .map_err(self.store_err("write a test object".into()))?;
        self.store
            .delete(&path)
            .await
            .map_err(self.store_err("delete a test object".into()))?;
        Ok(())
    }
}

/// Reads until `buf` is full or the reader ends; the count read.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Result<usize, BucketError> {
    let mut n = 0;
    while n < buf.len() {
        let got = r
            .read(&mut buf[n..])
            .await
            .map_err(|e| BucketError::Io(format!("reading the dump: {e}")))?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
