//! Sealing a backup stream: encrypted and authenticated in chunks, so a
//! backup of any size is sealed and opened in constant memory and a changed,
//! cut or reordered byte is found before anything is restored from it.
//!
//! Format: a header (magic, the key's id, a random salt) and frames, each a
//! big-endian u32 length and a ChaCha20-Poly1305 ciphertext of at most
//! [`CHUNK`] bytes of plain text. Each stream has its own key, derived from
//! the platform's backup key and the salt (HKDF-SHA256), so nonces are just
//! the frame counter and a last-frame flag (the STREAM construction): a
//! stream cut after a frame, or with frames swapped, does not open.

use ring::aead::{self, Aad, CHACHA20_POLY1305, Nonce, NonceSequence, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

/// Plain text per frame.
pub const CHUNK: usize = 64 * 1024;
const MAGIC: &[u8; 5] = b"SWBK\x01";
const KEY_ID_LEN: usize = 8;
const SALT_LEN: usize = 16;
pub const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + SALT_LEN;
const TAG_LEN: usize = 16;
/// The longest frame a valid stream has: a bigger length is corruption, not
/// a reason to allocate.
const MAX_FRAME: usize = CHUNK + TAG_LEN;
const INFO: &[u8] = b"store-weaver backup stream v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error(
        "the backup key must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`); {0}"
    )]
    BadKey(String),
    #[error("this is not a Store Weaver backup stream (its header is missing or unknown)")]
    NotABackup,
    #[error(
        "this backup was sealed with another key (key id {found}, the configured key is {ours}); configure the key it was made with"
    )]
    WrongKey { found: String, ours: String },
    #[error(
        "the backup is damaged: frame {0} does not authenticate (changed or corrupted bytes); use another backup"
    )]
    Damaged(u32),
    #[error("the backup is cut short: it ends before its last frame; use another backup")]
    Truncated,
    #[error("the backup has bytes after its last frame; use another backup")]
    Trailing,
}

/// The platform's backup key.
#[derive(Clone)]
pub struct BackupKey {
    prk: hkdf::Prk,
    id: [u8; KEY_ID_LEN],
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupKey({})", self.id())
    }
}

impl BackupKey {
    /// From its base64 text (32 bytes).
    pub fn from_base64(text: &str) -> Result<BackupKey, SealError> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| SealError::BadKey(format!("it is not base64: {e}")))?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|v: Vec<u8>| SealError::BadKey(format!("it has {} bytes", v.len())))?;
        Ok(BackupKey::from_bytes(&raw))
    }

    pub fn from_bytes(raw: &[u8; 32]) -> BackupKey {
        let digest = ring::digest::digest(&ring::digest::SHA256, raw);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest.as_ref()[..KEY_ID_LEN]);
        BackupKey {
            prk: hkdf::Salt::new(hkdf::HKDF_SHA256, b"store-weaver backup key").extract(raw),
            id,
        }
    }

    /// Names the key without revealing it (in manifests and messages).
    pub fn id(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn stream_key(&self, salt: &[u8]) -> UnboundKey {
        let info = [INFO, salt];
        let okm = self
            .prk
            .expand(&info, &CHACHA20_POLY1305)
            .expect("one key's length is a valid HKDF output length");
        UnboundKey::from(okm)
    }
}

/// The frame counter and the last-frame flag, as nonces.
struct Counter {
    n: u32,
    last: bool,
}

impl NonceSequence for Counter {
    fn advance(&mut self) -> Result<Nonce, ring::error::Unspecified> {
        let mut nonce = [0u8; 12];
        nonce[4..8].copy_from_slice(&self.n.to_be_bytes());
        nonce[11] = u8::from(self.last);
        self.n = self.n.checked_add(1).ok_or(ring::error::Unspecified)?;
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// Seals one stream: [`Sealer::header`] first, then one [`Sealer::frame`]
/// per chunk of at most [`CHUNK`] bytes, the last with `last`.
pub struct Sealer {
    key: aead::LessSafeKey,
    header: Vec<u8>,
    n: u32,
    done: bool,
}

impl Sealer {
    pub fn new(key: &BackupKey) -> Sealer {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .expect("the system's random source works");
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&key.id);
        header.extend_from_slice(&salt);
        Sealer {
            key: aead::LessSafeKey::new(key.stream_key(&salt)),
            header,
            n: 0,
            done: false,
        }
    }

    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The frame of `plain` (at most [`CHUNK`] bytes), appended to `out`.
    pub fn frame(&mut self, plain: &[u8], last: bool, out: &mut Vec<u8>) {
        assert!(plain.len() <= CHUNK && !self.done, "misuse of Sealer");
        let mut seq = Counter { n: self.n, last };
        let nonce = seq.advance().expect("fewer than 2^32 frames");
        self.n += 1;
        self.done = last;
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(plain);
        let mut body = out.split_off(start + 4);
        self.key
            .seal_in_place_append_tag(nonce, Aad::from(&self.header), &mut body)
            .expect("a frame is far below ChaCha20-Poly1305's length limit");
        let len = u32::try_from(body.len()).expect("a frame is small");
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&body);
    }
}

/// Opens a sealed stream fed in pieces of any size: [`Opener::push`] gives
/// back the plain text of every whole frame so far, [`Opener::finish`]
/// checks the stream ended with its last frame.
pub struct Opener {
    master: BackupKey,
    key: Option<aead::LessSafeKey>,
    header: Vec<u8>,
    buf: Vec<u8>,
    n: u32,
    done: bool,
}

impl Opener {
    pub fn new(key: &BackupKey) -> Opener {
        Opener {
            master: key.clone(),
            key: None,
            header: Vec::new(),
            buf: Vec::new(),
            n: 0,
            done: false,
        }
    }

    /// Takes the next bytes of the stream; appends the plain text of the
    /// frames they complete to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        if self.key.is_none() {
            let need = HEADER_LEN - self.header.len();
            let take = need.min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < HEADER_LEN {
                return Ok(());
            }
            if &self.header[..MAGIC.len()] != MAGIC {
                return Err(SealError::NotABackup);
            }
            let id = &self.header[MAGIC.len()..MAGIC.len() + KEY_ID_LEN];
            if id != self.master.id {
                return Err(SealError::WrongKey {
                    found: id.iter().map(|b| format!("{b:02x}")).collect(),
                    ours: self.master.id(),
                });
            }
            let salt = &self.header[MAGIC.len() + KEY_ID_LEN..];
            self.key = Some(aead::LessSafeKey::new(self.master.stream_key(salt)));
        }
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.buf[at..];
            if rest.is_empty() {
                break;
            }
            if self.done {
                return Err(SealError::Trailing);
            }
            if rest.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if !(TAG_LEN..=MAX_FRAME).contains(&len) {
                return Err(SealError::Damaged(self.n));
            }
            if rest.len() < 4 + len {
                break;
            }
            let mut body = rest[4..4 + len].to_vec();
            at += 4 + len;
            let plain = self.open_frame(&mut body)?;
            out.extend_from_slice(plain);
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// A frame is the last one if it opens with the last-frame nonce.
    fn open_frame<'a>(&mut self, body: &'a mut Vec<u8>) -> Result<&'a [u8], SealError> {
        let key = self.key.as_ref().ok_or(SealError::NotABackup)?;
        let n = self.n;
        for last in [false, true] {
            let nonce = Counter { n, last }
                .advance()
                .map_err(|_| SealError::Damaged(n))?;
            let mut attempt = body.clone();
            if key
                .open_in_place(nonce, Aad::from(&self.header), &mut attempt)
                .is_ok()
            {
                let plain_len = attempt.len() - TAG_LEN;
                *body = attempt;
                body.truncate(plain_len);
                self.n += 1;
                self.done = last;
                return Ok(&body[..]);
            }
        }
        Err(SealError::Damaged(n))
    }

    /// The stream ended: it must have ended with its last frame.
    pub fn finish(&self) -> Result<(), SealError> {
        if self.key.is_none() && self.header.len() < HEADER_LEN {
            return Err(SealError::NotABackup);
        }
        if !self.buf.is_empty() && self.done {
            return Err(SealError::Trailing);
        }
        if !self.done {
            return Err(SealError::Truncated);
        }
        Ok(())
    }
}

/// Seals `plain` whole (small parts: the manifest's secrets, tests).
pub fn seal_all(key: &BackupKey, plain: &[u8]) -> Vec<u8> {
    let mut s = Sealer::new(key);
    let mut out = s.header().to_vec();
    let mut chunks = plain.chunks(CHUNK).peekable();
    if chunks.peek().is_none() {
        s.frame(&[], true, &mut out);
    }
    while let Some(c) = chunks.next() {
        s.frame(c, chunks.peek().is_none(), &mut out);
    }
    out
}

/// Opens a whole sealed stream.
pub fn open_all(key: &BackupKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut o = Opener::new(key);
    let mut out = Vec::new();
    o.push(sealed, &mut out)?;
    o.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> BackupKey {
        BackupKey::from_bytes(&[b; 32])
    }

    #[test]
    fn a_stream_opens_to_what_was_sealed_whatever_the_pieces() {
        let k = key(1);
        let plain: Vec<u8> = (0..(CHUNK * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let sealed = seal_all(&k, &plain);
        assert_eq!(open_all(&k, &sealed).unwrap(), plain);
        // Fed in odd pieces, as a network stream arrives.
        for piece in [1, 7, 4096, 65_557] {
            let mut o = Opener::new(&k);
            let mut out = Vec::new();
            for c in sealed.chunks(piece) {
                o.push(c, &mut out).unwrap();
            }
            o.finish().unwrap();
            assert_eq!(out, plain, "pieces of {piece}");
        }
        assert_eq!(open_all(&k, &seal_all(&k, b"")).unwrap(), b"");
    }

    #[test]
    fn a_changed_cut_or_extended_stream_does_not_open() {
        let k = key(2);
        let plain = vec![7u8; CHUNK * 2 + 5];
        let sealed = seal_all(&k, &plain);
        let mut changed = sealed.clone();
        let i = HEADER_LEN + 4 + CHUNK + 40;
        changed[i] ^= 1;
        assert_eq!(open_all(&k, &changed), Err(SealError::Damaged(1)));
        // Cut right after a whole frame: no last frame.
        let first = HEADER_LEN + 4 + CHUNK + TAG_LEN;
        assert_eq!(open_all(&k, &sealed[..first]), Err(SealError::Truncated));
        assert_eq!(
            open_all(&k, &sealed[..sealed.len() - 3]),
            Err(SealError::Truncated)
        );
        let mut longer = sealed.clone();
        longer.extend_from_slice(&sealed[HEADER_LEN..HEADER_LEN + 30]);
        assert_eq!(open_all(&k, &longer), Err(SealError::Trailing));
        assert_eq!(
            open_all(&k, b"hello world, no header here"),
            Err(SealError::NotABackup)
        );
    }

    #[test]
    fn another_key_is_named_not_tried() {
        let sealed = seal_all(&key(3), b"orders");
        match open_all(&key(4), &sealed) {
            Err(SealError::WrongKey { found, ours }) => {
                assert_eq!(found, key(3).id());
                assert_eq!(ours, key(4).id());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_streams_of_one_key_differ() {
        let k = key(5);
        assert_ne!(seal_all(&k, b"same"), seal_all(&k, b"same"));
    }

    #[test]
    fn keys_are_read_from_base64_with_a_clear_error() {
        let k = BackupKey::from_base64("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap();
        assert_eq!(k.id(), key(1).id());
        let e = BackupKey::from_base64("c2hvcnQ=").unwrap_err().to_string();
        assert!(
            e.contains("32 bytes") && e.contains("it has 5 bytes"),
            "{e}"
        );
        assert!(BackupKey::from_base64("not base64!").is_err());
    }
}
