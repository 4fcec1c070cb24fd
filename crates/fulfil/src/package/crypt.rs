//! Encryption at rest of finished packages: XChaCha20-Poly1305 in the STREAM construction
//! (Hoang, Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its
//! Nonce-Reuse Misuse-Resistance", 2015), with a key derived per package by HKDF-SHA256 from
//! the master key in the configuration.
//!
//! # File format (version 1)
//!
//! ```text
//! offset  size  field
//! 0       8     magic "OMBUDPKG"
//! 8       1     format version, 1
//! 9       32    salt: random per package, the HKDF salt
//! 41      19    nonce prefix: random per package
//! 60      ...   chunks
//! ```
//!
//! The package key is `HKDF-SHA256(ikm = master key, salt, info = "ombud package v1")`, 32 bytes.
//! The plaintext is cut into chunks of 64 KiB ([`CHUNK_SIZE`]); the last chunk holds the rest
//! (0 to 64 KiB bytes: an empty plaintext is one empty last chunk). Each chunk is stored as its
//! ciphertext followed by its 16-byte Poly1305 tag. Chunk `i` is sealed with the 24-byte nonce
//! `prefix ‖ i as u32 big-endian ‖ last` where `last` is 1 on the final chunk and 0 before
//! (aead-stream's `StreamBE32`), and with the 68 header bytes (key id included) as associated
//! data.
//!
//! What that buys: a changed byte anywhere (header included), a wrong key, chunks swapped,
//! dropped or repeated, a cut-off end or bytes appended all make a chunk fail authentication.
//! A reader learns where the file ends from the end of its input: a full chunk followed by end
//! of input must be the one sealed as last.
//!
//! Decryption writes a chunk's plaintext only after its tag checked out, and nothing after the
//! first chunk that fails. Chunks before the failure have already been written, so a caller must
//! treat the output as unusable unless [`decrypt`] returned `Ok` (write it to a temporary file
//! and rename it, or stream it to a person only when the whole package was checked first).

use std::io::{self, Read, Write};

use aead_stream::{DecryptorBE32, EncryptorBE32, StreamBE32};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::KeyInit;
use hkdf::Hkdf;
use ombud_store::seal::{KEY_ID_LEN, KeyId};
use sha2::Sha256;
use zeroize::Zeroize;

/// The first bytes of every encrypted package.
pub const MAGIC: &[u8; 8] = b"OMBUDPKG";
/// The format version this code writes and reads.
pub const VERSION: u8 = 2;
/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// The shortest master key accepted.
pub const MIN_KEY_LEN: usize = 32;
/// Bytes of the Poly1305 tag after each chunk.
pub const TAG_LEN: usize = 16;
/// Bytes of the random HKDF salt in the header.
pub const SALT_LEN: usize = 32;
/// Bytes of the random nonce prefix in the header (24-byte XChaCha nonce less the 5 bytes of
/// STREAM's counter and last-chunk flag).
pub const NONCE_PREFIX_LEN: usize = 19;
/// Where the key id starts in the header.
pub const KEY_ID_OFFSET: usize = MAGIC.len() + 1;
/// Where the salt starts in the header.
pub const SALT_OFFSET: usize = KEY_ID_OFFSET + KEY_ID_LEN;
/// Where the nonce prefix starts in the header.
pub const NONCE_PREFIX_OFFSET: usize = SALT_OFFSET + SALT_LEN;
/// Bytes of the whole header.
pub const HEADER_LEN: usize = NONCE_PREFIX_OFFSET + NONCE_PREFIX_LEN;

const INFO: &[u8] = b"ombud package v2";

/// Where a reader finds the master key a package names: one key (`[u8]`, `[u8; N]`,
/// `Vec<u8>`), which fits only the packages it encrypted, or a keyring with the current and
/// previous keys.
pub trait PackageKeys {
    /// The master key whose id is `id`, if this holds it.
    fn key_for(&self, id: &KeyId) -> Option<&[u8]>;
}

impl PackageKeys for [u8] {
    fn key_for(&self, id: &KeyId) -> Option<&[u8]> {
        (KeyId::of(self) == *id).then_some(self)
    }
}

impl<const N: usize> PackageKeys for [u8; N] {
    fn key_for(&self, id: &KeyId) -> Option<&[u8]> {
        self[..].key_for(id)
    }
}

impl PackageKeys for Vec<u8> {
    fn key_for(&self, id: &KeyId) -> Option<&[u8]> {
        self[..].key_for(id)
    }
}

impl PackageKeys for ombud_store::Keyring {
    fn key_for(&self, id: &KeyId) -> Option<&[u8]> {
        self.key(id)
    }
}
const SEALED_CHUNK: usize = CHUNK_SIZE + TAG_LEN;

type Cipher = XChaCha20Poly1305;

/// Why a package could not be encrypted or decrypted. Messages never hold key material or
/// content.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("the package master key has {len} bytes; at least {MIN_KEY_LEN} are needed")]
    KeyTooShort { len: usize },
    #[error("this is not an encrypted ombud package (the file does not start with OMBUDPKG)")]
    NotAPackage,
    #[error(
        "the encrypted package has format version {0}, which this version of ombud cannot read (it reads version {VERSION})"
    )]
    UnsupportedVersion(u8),
    #[error("the encrypted package ends inside its header")]
    TruncatedHeader,
    #[error(
        "the package was encrypted with key {0}, which is not configured (neither encryption_key nor previous_encryption_keys)"
    )]
    UnknownKey(KeyId),
    #[error(
        "chunk {chunk} of the encrypted package failed authentication: the key is wrong, or the file was changed, cut short, extended or reordered"
    )]
    Authentication { chunk: u64 },
    #[error("the package is too large to encrypt as one stream (more than 2^32 chunks)")]
    TooLarge,
    #[error("the package key could not be derived")]
    KeyDerivation,
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
    #[error("I/O error on the encrypted package: {0}")]
    Io(#[source] io::Error),
}

impl From<io::Error> for CryptError {
    /// Unwraps a `CryptError` that travelled through an `io::Error` (from the `Read` and `Write`
    /// adapters); wraps any other I/O error.
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<CryptError>()) {
            match e.into_inner().map(|inner| inner.downcast::<CryptError>()) {
                Some(Ok(c)) => *c,
                Some(Err(other)) => CryptError::Io(io::Error::other(other)),
                None => CryptError::Io(io::Error::other("unknown I/O error")),
            }
        } else {
            CryptError::Io(e)
        }
    }
}

fn into_io(e: CryptError) -> io::Error {
    match e {
        CryptError::Io(io) => io,
        other => io::Error::other(other),
    }
}

/// Encrypts `input` to `output`. Returns the number of bytes written to `output`.
pub fn encrypt(
    master_key: &[u8],
    mut input: impl Read,
    output: impl Write,
) -> Result<u64, CryptError> {
    let mut w = EncryptWriter::new(master_key, output)?;
    io::copy(&mut input, &mut w)?;
    let (_, written) = w.finish()?;
    Ok(written)
}

/// Decrypts `input` to `output`, checking every chunk, with the key in `keys` that the header
/// names. Returns the number of plaintext bytes written to `output`. See the module
/// documentation on what was written when this fails.
pub fn decrypt<K: PackageKeys + ?Sized>(
    keys: &K,
    input: impl Read,
    mut output: impl Write,
) -> Result<u64, CryptError> {
    let mut r = DecryptReader::new(keys, input)?;
    let mut written = 0u64;
    loop {
        let chunk = r.next_chunk()?;
        if chunk.is_empty() {
            break;
        }
        output.write_all(chunk)?;
        written += chunk.len() as u64;
    }
    output.flush()?;
    Ok(written)
}

/// Re-encrypts `input` (opened with the key in `keys` that it names) under `master_key` to
/// `output`, chunk by chunk: no plaintext is written anywhere. Returns the bytes written. As
/// with [`decrypt`], the output is unusable unless this returned `Ok`.
pub fn reencrypt<K: PackageKeys + ?Sized>(
    keys: &K,
    master_key: &[u8],
    input: impl Read,
    output: impl Write,
) -> Result<u64, CryptError> {
    let mut r = DecryptReader::new(keys, input)?;
    let mut w = EncryptWriter::new(master_key, output)?;
    loop {
        let chunk = r.next_chunk()?;
        if chunk.is_empty() {
            break;
        }
        w.write_all(chunk)?;
    }
    let (_, written) = w.finish()?;
    Ok(written)
}

/// What [`reencrypt_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rekeyed {
    /// The package was under the keyring's current key already; the file was not touched.
    AlreadyCurrent,
    /// The package was re-encrypted under the current key; the file now has this many bytes.
    Reencrypted { bytes: u64 },
}

/// Re-encrypts the package file at `path` under the keyring's current key, if it is under a
/// previous one (for `ombud keys rotate`). The new file is written next to the old one and
/// renamed over it once complete and synced, so a crash leaves one whole package, old or new,
/// and a download already reading the old file finishes it. Idempotent.
pub fn reencrypt_file(
    keys: &ombud_store::Keyring,
    path: &std::path::Path,
) -> Result<Rekeyed, CryptError> {
    let mut input = io::BufReader::new(std::fs::File::open(path)?);
    if key_id(&mut input)? == keys.current_id() {
        return Ok(Rekeyed::AlreadyCurrent);
    }
    io::Seek::rewind(&mut input)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = io::BufWriter::new(tmp);
    let bytes = reencrypt(keys, keys.current_key(), input, &mut out)?;
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| CryptError::Io(e.error))?;
    Ok(Rekeyed::Reencrypted { bytes })
}

/// The id of the master key an encrypted package names in its header, without decrypting it.
pub fn key_id(mut input: impl Read) -> Result<KeyId, CryptError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(&mut input, &mut header)?;
    check_header(&header, got)?;
    Ok(header_key_id(&header))
}

/// Checks magic, version and length of a header of which `got` bytes were read.
fn check_header(header: &[u8; HEADER_LEN], got: usize) -> Result<(), CryptError> {
    if header[..got.min(MAGIC.len())] != MAGIC[..got.min(MAGIC.len())] {
        return Err(CryptError::NotAPackage);
    }
    if got <= MAGIC.len() {
        return Err(if got == 0 {
            CryptError::NotAPackage
        } else {
            CryptError::TruncatedHeader
        });
    }
    if header[MAGIC.len()] != VERSION {
        return Err(CryptError::UnsupportedVersion(header[MAGIC.len()]));
    }
    if got < HEADER_LEN {
        return Err(CryptError::TruncatedHeader);
    }
    Ok(())
}

fn header_key_id(header: &[u8; HEADER_LEN]) -> KeyId {
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&header[KEY_ID_OFFSET..SALT_OFFSET]);
    KeyId::from_bytes(id)
}

fn check_key(master_key: &[u8]) -> Result<(), CryptError> {
    if master_key.len() < MIN_KEY_LEN {
        return Err(CryptError::KeyTooShort {
            len: master_key.len(),
        });
    }
    Ok(())
}

fn cipher(master_key: &[u8], salt: &[u8]) -> Result<Cipher, CryptError> {
    let mut okm = [0u8; 32];
    let derived = Hkdf::<Sha256>::new(Some(salt), master_key).expand(INFO, &mut okm);
    let cipher = derived
        .ok()
        .and_then(|()| Cipher::new_from_slice(&okm).ok());
    okm.zeroize();
    // Both fail only on lengths, which are constants here.
    cipher.ok_or(CryptError::KeyDerivation)
}

fn nonce_prefix(
    bytes: &[u8],
) -> Result<aead_stream::Nonce<Cipher, StreamBE32<Cipher>>, CryptError> {
    aead_stream::Nonce::<Cipher, StreamBE32<Cipher>>::try_from(bytes)
        .map_err(|_| CryptError::TruncatedHeader)
}

/// A `Write` that encrypts what it is given to an inner writer. Call [`EncryptWriter::finish`]
/// at the end: a writer dropped without it leaves a file that fails to decrypt (its last chunk
/// is missing), which is the safe outcome for an interrupted export.
pub struct EncryptWriter<W: Write> {
    inner: W,
    stream: Option<EncryptorBE32<Cipher>>,
    header: [u8; HEADER_LEN],
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> std::fmt::Debug for EncryptWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptWriter")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W: Write> EncryptWriter<W> {
    /// Writes the header (with a fresh salt and nonce prefix) and gets ready for the plaintext.
    pub fn new(master_key: &[u8], mut inner: W) -> Result<Self, CryptError> {
        check_key(master_key)?;
        let mut random = [0u8; SALT_LEN + NONCE_PREFIX_LEN];
        getrandom::fill(&mut random).map_err(|e| CryptError::Random(e.to_string()))?;
        let (salt, prefix) = random.split_at(SALT_LEN);
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()] = VERSION;
        header[KEY_ID_OFFSET..SALT_OFFSET].copy_from_slice(KeyId::of(master_key).as_bytes());
        header[SALT_OFFSET..NONCE_PREFIX_OFFSET].copy_from_slice(salt);
        header[NONCE_PREFIX_OFFSET..].copy_from_slice(prefix);
        let stream = EncryptorBE32::from_aead(cipher(master_key, salt)?, &nonce_prefix(prefix)?);
        inner.write_all(&header)?;
        Ok(EncryptWriter {
            inner,
            stream: Some(stream),
            header,
            buf: Vec::with_capacity(SEALED_CHUNK),
            written: HEADER_LEN as u64,
        })
    }

    fn seal_next(&mut self) -> Result<(), CryptError> {
        let stream = self.stream.as_mut().ok_or(CryptError::TooLarge)?;
        stream
            .encrypt_next_in_place(&self.header, &mut self.buf)
            .map_err(|_| CryptError::TooLarge)?;
        self.inner.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Seals the last chunk and flushes. Returns the inner writer and the number of bytes
    /// written to it (header and tags included).
    pub fn finish(mut self) -> Result<(W, u64), CryptError> {
        let stream = self.stream.take().ok_or(CryptError::TooLarge)?;
        stream
            .encrypt_last_in_place(&self.header, &mut self.buf)
            .map_err(|_| CryptError::TooLarge)?;
        self.inner.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        self.inner.flush()?;
        Ok((self.inner, self.written))
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full chunk is sealed only once more data arrives: the last chunk is sealed by
        // `finish`, so a plaintext that is a multiple of the chunk size ends on a full chunk.
        if self.buf.len() == CHUNK_SIZE {
            self.seal_next().map_err(into_io)?;
        }
        let n = data.len().min(CHUNK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A `Read` that decrypts an encrypted package and yields each chunk's plaintext once its tag
/// checked out. After a failure every further read fails.
pub struct DecryptReader<R: Read> {
    inner: R,
    stream: Option<DecryptorBE32<Cipher>>,
    header: [u8; HEADER_LEN],
    buf: Vec<u8>,
    pos: usize,
    chunk: u64,
    lookahead: Option<u8>,
    state: ReadState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Reading,
    Done,
    Failed,
}

impl<R: Read> std::fmt::Debug for DecryptReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptReader")
            .field("chunk", &self.chunk)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<R: Read> DecryptReader<R> {
    /// Reads and checks the header, and takes the master key it names from `keys`.
    pub fn new<K: PackageKeys + ?Sized>(keys: &K, mut inner: R) -> Result<Self, CryptError> {
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut inner, &mut header)?;
        check_header(&header, got)?;
        let id = header_key_id(&header);
        let master_key = keys.key_for(&id).ok_or(CryptError::UnknownKey(id))?;
        check_key(master_key)?;
        let salt = &header[SALT_OFFSET..NONCE_PREFIX_OFFSET];
        let prefix = &header[NONCE_PREFIX_OFFSET..];
        let stream = DecryptorBE32::from_aead(cipher(master_key, salt)?, &nonce_prefix(prefix)?);
        Ok(DecryptReader {
            inner,
            stream: Some(stream),
            header,
            buf: Vec::with_capacity(SEALED_CHUNK),
            pos: 0,
            chunk: 0,
            lookahead: None,
            state: ReadState::Reading,
        })
    }

    /// The plaintext of the next chunk (what remains of it after earlier reads); empty at the
    /// end of the package.
    fn next_chunk(&mut self) -> Result<&[u8], CryptError> {
        if self.pos < self.buf.len() {
            let start = self.pos;
            self.pos = self.buf.len();
            return Ok(&self.buf[start..]);
        }
        match self.state {
            ReadState::Done => return Ok(&[]),
            ReadState::Failed => return Err(CryptError::Authentication { chunk: self.chunk }),
            ReadState::Reading => {}
        }
        match self.open_chunk() {
            Ok(()) => {
                self.pos = self.buf.len();
                Ok(&self.buf)
            }
            Err(e) => {
                self.state = ReadState::Failed;
                self.buf.clear();
                self.pos = 0;
                Err(e)
            }
        }
    }

    /// Reads one sealed chunk, decides from the end of input whether it is the last, and opens
    /// it into `buf`.
    fn open_chunk(&mut self) -> Result<(), CryptError> {
        self.buf.clear();
        self.buf.resize(SEALED_CHUNK, 0);
        let mut got = 0;
        if let Some(b) = self.lookahead.take() {
            self.buf[0] = b;
            got = 1;
        }
        got += read_full(&mut self.inner, &mut self.buf[got..])?;
        let last = if got < SEALED_CHUNK {
            true
        } else {
            let mut one = [0u8; 1];
            let more = read_full(&mut self.inner, &mut one)?;
            if more == 1 {
                self.lookahead = Some(one[0]);
            }
            more == 0
        };
        self.buf.truncate(got);
        let fail = CryptError::Authentication { chunk: self.chunk };
        if got < TAG_LEN {
            return Err(fail);
        }
        if last {
            let stream = self
                .stream
                .take()
                .ok_or(CryptError::Authentication { chunk: self.chunk })?;
            stream
                .decrypt_last_in_place(&self.header, &mut self.buf)
                .map_err(|_| fail)?;
            self.state = ReadState::Done;
        } else {
            let stream = self
                .stream
                .as_mut()
                .ok_or(CryptError::Authentication { chunk: self.chunk })?;
            stream
                .decrypt_next_in_place(&self.header, &mut self.buf)
                .map_err(|_| fail)?;
        }
        self.chunk += 1;
        Ok(())
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.buf.len() {
            // Load the next chunk, then hand it out from the start.
            let len = self.next_chunk().map_err(into_io)?.len();
            self.pos -= len;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_layout_is_what_the_docs_say() {
        let key = [7u8; 32];
        let mut out = Vec::new();
        encrypt(&key, &b"hello"[..], &mut out).unwrap();
        assert_eq!(&out[..8], MAGIC);
        assert_eq!(out[8], VERSION);
        assert_eq!(&out[9..17], KeyId::of(&key).as_bytes());
        assert_eq!(HEADER_LEN, 68);
        assert_eq!(key_id(&out[..]).unwrap(), KeyId::of(&key));
        assert_eq!(out.len(), HEADER_LEN + 5 + TAG_LEN);
    }

    #[test]
    fn errors_survive_the_trip_through_io_error() {
        let e = CryptError::from(into_io(CryptError::Authentication { chunk: 3 }));
        assert!(matches!(e, CryptError::Authentication { chunk: 3 }));
        let e = CryptError::from(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
        assert!(matches!(e, CryptError::Io(ref io) if io.kind() == io::ErrorKind::BrokenPipe));
    }
}
