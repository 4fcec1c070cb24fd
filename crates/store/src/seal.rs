//! Encryption at rest of small sensitive values (TOTP secrets), and the keyring that export
//! packages are encrypted with too.
//!
//! A [`Keyring`] holds the **current** key, which seals everything new, and any number of
//! **previous** keys, which only open what was sealed before a rotation. Every key is 32
//! random bytes and is known by its [`KeyId`]: the first 8 bytes of its SHA-256. The id is
//! written in clear at the start of every sealed value and every package file, so a reader
//! picks the right key without trying them all, and an operator can count what each key still
//! holds (`ombud keys check`) before dropping an old one.
//!
//! # Sealed value format (version 1)
//!
//! ```text
//! offset  size  field
//! 0       1     format version, 1
//! 1       8     key id
//! 9       24    nonce: random per value
//! 33      ...   ciphertext, then the 16-byte Poly1305 tag
//! ```
//!
//! The cipher is XChaCha20-Poly1305 under a sub-key derived from the key by HKDF-SHA256
//! (`info = "ombud sealed value v1"`), so the same key never serves two constructions (packages
//! derive their own per-file keys). The associated data is the 9-byte header followed by a
//! caller's **context** (for example `staff_user.totp_secret:42`): a sealed value copied into
//! another row, or another column, fails to open.
//!
//! A value that is not sealed (clear text written by someone else, or by an old version) is
//! refused: it is too short, has no known version byte, or names no configured key, and in the
//! unlikely case that its first bytes look like a header, fails authentication.

use std::fmt;
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Bytes of a key.
pub const KEY_LEN: usize = 32;
/// Bytes of a key id.
pub const KEY_ID_LEN: usize = 8;
/// The sealed-value format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Bytes of the random nonce.
pub const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Bytes of the header (version and key id).
pub const HEADER_LEN: usize = 1 + KEY_ID_LEN;
/// Bytes a sealed value has beyond its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

const VALUE_INFO: &[u8] = b"ombud sealed value v1";
const DERIVED_INFO: &[u8] = b"ombud encryption key v1, derived from secret_key";

/// Which key sealed something: the first 8 bytes of the key's SHA-256. Not secret.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &[u8]) -> KeyId {
        let digest = Sha256::digest(key);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        KeyId(id)
    }

    pub fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> KeyId {
        KeyId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

/// 16 lower-case hexadecimal digits.
impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a key could not be used. Messages never quote key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "must be 64 hexadecimal characters (32 random bytes), for example from `openssl rand -hex 32`"
    )]
    Format,
    #[error("a key has {len} bytes; it must have exactly {KEY_LEN}")]
    Length { len: usize },
    #[error("the key could not be derived")]
    Derivation,
}

/// Why a value could not be sealed or opened. Messages never quote values or keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "the value is not sealed (it is too short to hold a sealed header); clear text is refused"
    )]
    NotSealed,
    #[error(
        "the sealed value has format version {0}, which this version of ombud cannot read (it reads version {VERSION})"
    )]
    UnsupportedVersion(u8),
    #[error(
        "the value was sealed with key {0}, which is not configured (neither encryption_key nor previous_encryption_keys)"
    )]
    UnknownKey(KeyId),
    #[error(
        "the sealed value failed authentication: the key is wrong, or the value was changed or moved"
    )]
    Authentication,
    #[error("the value is too long to seal")]
    TooLong,
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
}

/// Reads a key as configured: 64 hexadecimal digits (surrounding whitespace ignored).
pub fn parse_key(text: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let text = text.trim().as_bytes();
    if text.len() != KEY_LEN * 2 {
        return Err(KeyError::Format);
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (i, pair) in text.chunks_exact(2).enumerate() {
        let hi = hex_digit(pair[0]).ok_or(KeyError::Format)?;
        let lo = hex_digit(pair[1]).ok_or(KeyError::Format)?;
        key[i] = (hi << 4) | lo;
    }
    Ok(key)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The key used when no `encryption_key` is configured: HKDF-SHA256 of the server's
/// `secret_key` with an info string of its own, so it never equals a key derived for another
/// use of that secret.
pub fn derive_key(secret: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    Hkdf::<Sha256>::new(None, secret)
        .expand(DERIVED_INFO, &mut key[..])
        .map_err(|_| KeyError::Derivation)?;
    Ok(key)
}

/// One key: its bytes (for packages, which derive per-file keys from them) and the cipher for
/// sealed values.
struct Key {
    id: KeyId,
    bytes: Zeroizing<[u8; KEY_LEN]>,
    values: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Key, KeyError> {
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::Length { len: bytes.len() })?;
        let bytes = Zeroizing::new(bytes);
        let mut sub = [0u8; KEY_LEN];
        let derived = Hkdf::<Sha256>::new(None, &bytes[..]).expand(VALUE_INFO, &mut sub);
        let cipher = derived
            .ok()
            .and_then(|()| XChaCha20Poly1305::new_from_slice(&sub).ok());
        sub.zeroize();
        Ok(Key {
            id: KeyId::of(&bytes[..]),
            bytes,
            values: cipher.ok_or(KeyError::Derivation)?,
        })
    }
}

/// The current key and the previous ones. Cloning is cheap (the keys are shared).
///
/// `Debug` prints the key ids only.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<Keys>,
}

struct Keys {
    current: Key,
    /// In the order given, without repeats (nor the current key).
    previous: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_id())
            .field(
                "previous",
                &self.keys.previous.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// A keyring that seals with `current` and also opens what `previous` sealed. Each key must
    /// be exactly 32 bytes; a previous key equal to the current one (or to another previous
    /// one) is kept once.
    pub fn new<'a>(
        current: &[u8],
        previous: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Keyring, KeyError> {
        let current = Key::new(current)?;
        let mut keys: Vec<Key> = Vec::new();
        for bytes in previous {
            let key = Key::new(bytes)?;
            if key.id != current.id && keys.iter().all(|k| k.id != key.id) {
                keys.push(key);
            }
        }
        Ok(Keyring {
            keys: Arc::new(Keys {
                current,
                previous: keys,
            }),
        })
    }

    fn current(&self) -> &Key {
        &self.keys.current
    }

    fn all(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.keys.current).chain(&self.keys.previous)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> KeyId {
        self.current().id
    }

    /// The bytes of the current key (export packages derive a key per file from it).
    pub fn current_key(&self) -> &[u8] {
        &self.current().bytes[..]
    }

    /// Every configured key id, the current one first.
    pub fn ids(&self) -> Vec<KeyId> {
        self.all().map(|k| k.id).collect()
    }

    /// The bytes of the key with this id, if it is configured.
    pub fn key(&self, id: &KeyId) -> Option<&[u8]> {
        self.find(id).map(|k| &k.bytes[..])
    }

    fn find(&self, id: &KeyId) -> Option<&Key> {
        self.all().find(|k| k.id == *id)
    }

    /// Seals `plain` under the current key, with no context.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        self.seal_with(b"", plain)
    }

    /// Opens a value that [`Keyring::seal`] sealed, with whichever configured key it names.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.open_with(b"", sealed)
    }

    /// Seals `plain` under the current key, bound to `context`: only [`Keyring::open_with`]
    /// with the same context opens it.
    pub fn seal_with(&self, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let mut out = Vec::with_capacity(OVERHEAD + plain.len());
        out.push(VERSION);
        out.extend_from_slice(key.id.as_bytes());
        let aad = [&out[..HEADER_LEN], context].concat();
        let sealed = key
            .values
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::TooLong)?;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value that [`Keyring::seal_with`] sealed with the same `context`.
    pub fn open_with(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let id = sealed_key_id(sealed)?;
        let key = self.find(&id).ok_or(SealError::UnknownKey(id))?;
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::NotSealed)?;
        let aad = [header, context].concat();
        key.values
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Authentication)
    }

    /// Whether `sealed` was sealed under the current key (so a rotation leaves it alone).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed_key_id(sealed).is_ok_and(|id| id == self.current_id())
    }
}

/// The id of the key a sealed value names in its header, without opening it.
pub fn sealed_key_id(sealed: &[u8]) -> Result<KeyId, SealError> {
    if sealed.len() < OVERHEAD {
        return Err(SealError::NotSealed);
    }
    if sealed[0] != VERSION {
        return Err(SealError::UnsupportedVersion(sealed[0]));
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&sealed[1..HEADER_LEN]);
    Ok(KeyId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 32] = [0xa1; 32];
    const B: [u8; 32] = [0xb2; 32];

    fn ring(current: &[u8; 32], previous: &[&[u8; 32]]) -> Keyring {
        Keyring::new(current, previous.iter().map(|k| &k[..])).unwrap()
    }

    #[test]
    fn a_sealed_value_round_trips_and_hides_the_plaintext() {
        let keys = ring(&A, &[]);
        let plain = b"12345678901234567890";
        let sealed = keys.seal(plain).unwrap();
        assert_eq!(sealed.len(), plain.len() + OVERHEAD);
        assert_eq!(sealed[0], VERSION);
        assert_eq!(&sealed[1..9], KeyId::of(&A).as_bytes());
        assert!(!sealed.windows(plain.len()).any(|w| w == plain));
        assert_eq!(keys.open(&sealed).unwrap(), plain);
        // A fresh nonce each time.
        assert_ne!(keys.seal(plain).unwrap(), sealed);
        // The empty value too.
        assert_eq!(keys.open(&keys.seal(b"").unwrap()).unwrap(), b"");
    }

    #[test]
    fn the_key_id_is_the_start_of_the_sha256_of_the_key() {
        let id = KeyId::of(b"abc");
        assert_eq!(id.to_string(), "ba7816bf8f01cfea");
        assert_eq!(format!("{id:?}"), "KeyId(ba7816bf8f01cfea)");
    }

    #[test]
    fn a_wrong_key_with_the_same_id_fails_authentication() {
        // A value sealed under A whose header was changed to name B: B's cipher refuses it.
        let a = ring(&A, &[]);
        let b = ring(&B, &[]);
        let mut sealed = a.seal(b"secret value 1234").unwrap();
        sealed[1..9].copy_from_slice(KeyId::of(&B).as_bytes());
        assert_eq!(b.open(&sealed), Err(SealError::Authentication));
    }

    #[test]
    fn an_unknown_key_id_is_named() {
        let a = ring(&A, &[]);
        let b = ring(&B, &[]);
        let sealed = a.seal(b"secret value 1234").unwrap();
        assert_eq!(b.open(&sealed), Err(SealError::UnknownKey(KeyId::of(&A))));
        let message = b.open(&sealed).unwrap_err().to_string();
        assert!(message.contains(&KeyId::of(&A).to_string()), "{message}");
    }

    #[test]
    fn a_previous_key_opens_but_the_current_one_seals() {
        let a = ring(&A, &[]);
        let rotated = ring(&B, &[&A]);
        let old = a.seal(b"sealed before").unwrap();
        assert!(!rotated.is_current(&old));
        assert_eq!(rotated.open(&old).unwrap(), b"sealed before");
        let new = rotated.seal(b"sealed after").unwrap();
        assert!(rotated.is_current(&new));
        assert_eq!(sealed_key_id(&new).unwrap(), KeyId::of(&B));
        assert_eq!(rotated.ids(), vec![KeyId::of(&B), KeyId::of(&A)]);
        assert_eq!(a.open(&new), Err(SealError::UnknownKey(KeyId::of(&B))));
    }

    #[test]
    fn any_changed_byte_fails() {
        let keys = ring(&A, &[]);
        let sealed = keys.seal(b"0123456789abcdef").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(keys.open(&bad).is_err(), "byte {i}");
        }
        assert!(keys.open(&sealed[..sealed.len() - 1]).is_err());
        let mut longer = sealed;
        longer.push(0);
        assert_eq!(keys.open(&longer), Err(SealError::Authentication));
    }

    #[test]
    fn the_context_binds_the_value_to_its_place() {
        let keys = ring(&A, &[]);
        let sealed = keys
            .seal_with(b"staff_user.totp_secret:1", b"secret")
            .unwrap();
        assert_eq!(
            keys.open_with(b"staff_user.totp_secret:1", &sealed)
                .unwrap(),
            b"secret"
        );
        assert_eq!(
            keys.open_with(b"staff_user.totp_secret:2", &sealed),
            Err(SealError::Authentication)
        );
        assert_eq!(keys.open(&sealed), Err(SealError::Authentication));
    }

    #[test]
    fn clear_text_is_refused() {
        let keys = ring(&A, &[]);
        // A TOTP secret as it used to be stored: 20 clear bytes.
        assert_eq!(
            keys.open(b"12345678901234567890"),
            Err(SealError::NotSealed)
        );
        // Long enough, but no header.
        let clear = [0x42u8; 64];
        assert_eq!(keys.open(&clear), Err(SealError::UnsupportedVersion(0x42)));
        // Even with a version byte in front, it names no key.
        let mut clear = vec![VERSION];
        clear.extend_from_slice(&[0x42; 63]);
        assert!(matches!(keys.open(&clear), Err(SealError::UnknownKey(_))));
        assert_eq!(keys.open(b""), Err(SealError::NotSealed));
    }

    #[test]
    fn keys_are_parsed_from_hex_and_checked() {
        let text = "a1".repeat(32);
        assert_eq!(*parse_key(&text).unwrap(), A);
        assert_eq!(
            *parse_key(&format!("  {}\n", text.to_uppercase())).unwrap(),
            A
        );
        assert_eq!(parse_key("abc"), Err(KeyError::Format));
        assert_eq!(parse_key(&"zz".repeat(32)), Err(KeyError::Format));
        assert_eq!(parse_key(&"a1".repeat(33)), Err(KeyError::Format));
        assert!(matches!(
            Keyring::new(&[1u8; 16], []),
            Err(KeyError::Length { len: 16 })
        ));
        assert!(matches!(
            Keyring::new(&A, [&[1u8; 33][..]]),
            Err(KeyError::Length { len: 33 })
        ));
        // The message explains the format and quotes nothing.
        assert!(
            KeyError::Format
                .to_string()
                .contains("openssl rand -hex 32")
        );
    }

    #[test]
    fn a_derived_key_is_stable_and_differs_from_its_secret() {
        let secret = b"a server secret of at least thirty-two characters";
        let one = derive_key(secret).unwrap();
        assert_eq!(*one, *derive_key(secret).unwrap());
        assert_ne!(
            *one,
            *derive_key(b"another server secret, also long enough").unwrap()
        );
        assert_ne!(&one[..], &secret[..32]);
    }

    #[test]
    fn repeated_keys_are_kept_once_and_debug_shows_ids_only() {
        let keys = ring(&B, &[&A, &B, &A]);
        assert_eq!(keys.ids(), vec![KeyId::of(&B), KeyId::of(&A)]);
        let debug = format!("{keys:?}");
        assert!(debug.contains(&KeyId::of(&B).to_string()), "{debug}");
        assert!(
            !debug.contains("a1a1") && !debug.contains("161, 161"),
            "{debug}"
        );
        assert_eq!(keys.key(&KeyId::of(&A)), Some(&A[..]));
        assert_eq!(keys.current_key(), &B[..]);
    }
}
