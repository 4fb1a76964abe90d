//! Opaque page cursors: the position after the last row of a page, sealed
//! with an HMAC (SHA-256) over the position *and* the query it belongs to
//! (who asked, the filters, the sort). A cursor changed by hand, or taken
//! from another user's or another query's page, is refused with 400.
//!
//! Sealing is for clear errors and tamper-evidence; it is not what keeps
//! users apart: every page query applies the caller's scope, so even a
//! forged position could only land among rows the caller may see anyway.
//! The key is shared by every replica through the database (a random
//! 256-bit row created by a migration), so a cursor from one replica works on
//! another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

/// Bytes of the tag kept in a cursor (128 bits).
const TAG_BYTES: usize = 16;

pub struct CursorKey(hmac::Key);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    pub fn new(secret: &[u8]) -> CursorKey {
        CursorKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn tag(&self, context: &str, payload: &str) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(context.as_bytes());
        ctx.update(&[0]);
        ctx.update(payload.as_bytes());
        ctx.sign()
    }

    /// `payload` sealed for `context`.
    pub fn seal(&self, context: &str, payload: &str) -> String {
        let tag = self.tag(context, payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_BYTES])
        )
    }

    /// The payload, if `cursor` was sealed by this key for `context`.
    pub fn open(&self, context: &str, cursor: &str) -> Option<String> {
        let (p, t) = cursor.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
        let expected = self.tag(context, &payload);
        // Constant time: ring's verify compares whole tags, so compare the
        // truncated one by hand without early exit.
        let want = &expected.as_ref()[..TAG_BYTES];
        if tag.len() != TAG_BYTES {
            return None;
        }
        let diff = want.iter().zip(&tag).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (diff == 0).then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_opens_only_for_its_own_query_and_key() {
        let k = CursorKey::new(b"0123456789abcdef0123456789abcdef");
        let c = k.seal("stores|ann|status=Ready", "c|1700000000000000|id");
        assert_eq!(
            k.open("stores|ann|status=Ready", &c).as_deref(),
            Some("c|1700000000000000|id")
        );
        assert_eq!(k.open("stores|bob|status=Ready", &c), None);
        assert_eq!(k.open("stores|ann|status=Failed", &c), None);
        let other = CursorKey::new(b"another key, another deployment");
        assert_eq!(other.open("stores|ann|status=Ready", &c), None);
        // A position edited by hand.
        let (_, tag) = c.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("c|0|id"));
        assert_eq!(k.open("stores|ann|status=Ready", &forged), None);
        for junk in ["", ".", "abc", "abc.def", "!!.??"] {
            assert_eq!(k.open("stores|ann|status=Ready", junk), None, "{junk}");
        }
    }
}
