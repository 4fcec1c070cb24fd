use std::io::{Read, Write};

use ombud_fulfil::package::crypt::{
    self, CHUNK_SIZE, CryptError, DecryptReader, EncryptWriter, HEADER_LEN, KEY_ID_OFFSET,
    NONCE_PREFIX_OFFSET, SALT_OFFSET, TAG_LEN,
};
use ombud_store::{KeyId, Keyring};

use crate::helpers::KEY;

const SEALED: usize = CHUNK_SIZE + TAG_LEN;

fn plaintext(len: usize) -> Vec<u8> {
    // Not all zeros, and different per position, so a swapped chunk would show.
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

fn seal(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let written = crypt::encrypt(KEY, data, &mut out).unwrap();
    assert_eq!(written, out.len() as u64);
    out
}

/// Decrypts, returning the error and what was written before it.
fn open(key: &[u8], sealed: &[u8]) -> (Result<u64, CryptError>, Vec<u8>) {
    let mut out = Vec::new();
    let r = crypt::decrypt(key, sealed, &mut out);
    (r, out)
}

fn chunks(len: usize) -> usize {
    len / CHUNK_SIZE + 1 - usize::from(len.is_multiple_of(CHUNK_SIZE) && len > 0)
}

#[test]
fn round_trips_at_every_chunk_boundary() {
    for len in [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        2 * CHUNK_SIZE,
        1024 * 1024 + 7,
    ] {
        let data = plaintext(len);
        let sealed = seal(&data);
        assert_eq!(
            sealed.len(),
            HEADER_LEN + len + chunks(len) * TAG_LEN,
            "size for {len}"
        );
        let (r, out) = open(KEY, &sealed);
        assert_eq!(r.unwrap(), len as u64);
        assert!(out == data, "plaintext of {len} bytes comes back");

        // The Read adapter, in odd-sized reads.
        let mut reader = DecryptReader::new(KEY, &sealed[..]).unwrap();
        let mut back = Vec::new();
        let mut buf = [0u8; 7777];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        assert!(back == data, "Read adapter, {len} bytes");
    }
}

#[test]
fn the_writer_accepts_any_write_pattern() {
    let data = plaintext(3 * CHUNK_SIZE + 123);
    let mut w = EncryptWriter::new(KEY, Vec::new()).unwrap();
    for piece in data.chunks(1000) {
        w.write_all(piece).unwrap();
    }
    let (sealed, n) = w.finish().unwrap();
    assert_eq!(n, sealed.len() as u64);
    let (r, out) = open(KEY, &sealed);
    r.unwrap();
    assert!(out == data);
}

#[test]
fn two_encryptions_of_the_same_input_differ() {
    let data = plaintext(1000);
    let a = seal(&data);
    let b = seal(&data);
    assert_eq!(a.len(), b.len());
    assert_eq!(
        a[..SALT_OFFSET],
        b[..SALT_OFFSET],
        "magic, version and key id"
    );
    assert_ne!(
        a[SALT_OFFSET..HEADER_LEN],
        b[SALT_OFFSET..HEADER_LEN],
        "salt and nonce prefix"
    );
    assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..], "ciphertext");
}

fn three_chunks() -> (Vec<u8>, Vec<u8>) {
    let data = plaintext(2 * CHUNK_SIZE + 500);
    let sealed = seal(&data);
    assert_eq!(sealed.len(), HEADER_LEN + 2 * SEALED + 500 + TAG_LEN);
    (data, sealed)
}

fn assert_auth_failure(r: Result<u64, CryptError>, chunk: u64, what: &str) {
    match r {
        Err(CryptError::Authentication { chunk: c }) => assert_eq!(c, chunk, "{what}"),
        other => panic!("{what}: expected an authentication failure, got {other:?}"),
    }
}

#[test]
fn a_changed_byte_anywhere_fails_and_nothing_after_it_is_written() {
    let (data, sealed) = three_chunks();
    let cases = [
        ("salt", SALT_OFFSET, 0u64),
        ("nonce prefix", NONCE_PREFIX_OFFSET, 0),
        ("first ciphertext byte", HEADER_LEN, 0),
        ("first tag", HEADER_LEN + CHUNK_SIZE, 0),
        ("second chunk", HEADER_LEN + SEALED + 100, 1),
        ("last chunk", HEADER_LEN + 2 * SEALED + 10, 2),
        ("last tag", sealed.len() - 1, 2),
    ];
    for (what, at, chunk) in cases {
        let mut bad = sealed.clone();
        bad[at] ^= 0x01;
        let (r, out) = open(KEY, &bad);
        assert_auth_failure(r, chunk, what);
        let good = usize::try_from(chunk).unwrap() * CHUNK_SIZE;
        assert_eq!(
            out.len(),
            good,
            "{what}: only the chunks before it were written"
        );
        assert!(out[..] == data[..good], "{what}");
    }
}

#[test]
fn truncation_fails() {
    let (data, sealed) = three_chunks();
    // The last chunk dropped: the second now ends the file but was not sealed as last.
    let (r, out) = open(KEY, &sealed[..HEADER_LEN + 2 * SEALED]);
    assert_auth_failure(r, 1, "last chunk dropped");
    assert!(out[..] == data[..CHUNK_SIZE]);
    // Cut inside the last chunk, inside a middle chunk, inside a tag.
    for (cut, chunk) in [
        (sealed.len() - 1, 2),
        (HEADER_LEN + SEALED + 1000, 1),
        (HEADER_LEN + CHUNK_SIZE + 3, 0),
        (HEADER_LEN + 5, 0),
    ] {
        let (r, _) = open(KEY, &sealed[..cut]);
        assert_auth_failure(r, chunk, &format!("cut at {cut}"));
    }
    // Nothing but the header.
    let (r, out) = open(KEY, &sealed[..HEADER_LEN]);
    assert_auth_failure(r, 0, "header only");
    assert!(out.is_empty());
    // Inside the header.
    let (r, _) = open(KEY, &sealed[..HEADER_LEN - 1]);
    assert!(matches!(r, Err(CryptError::TruncatedHeader)), "{r:?}");
    let (r, _) = open(KEY, &sealed[..8]);
    assert!(matches!(r, Err(CryptError::TruncatedHeader)), "{r:?}");
    let (r, _) = open(KEY, &[]);
    assert!(matches!(r, Err(CryptError::NotAPackage)), "{r:?}");
}

#[test]
fn appended_bytes_fail() {
    let (_, mut sealed) = three_chunks();
    sealed.extend_from_slice(&[0u8; 100]);
    let (r, _) = open(KEY, &sealed);
    assert_auth_failure(r, 2, "bytes after the last chunk");

    // After a full last chunk too.
    let mut full = seal(&plaintext(2 * CHUNK_SIZE));
    full.push(0);
    let (r, _) = open(KEY, &full);
    assert_auth_failure(r, 1, "a byte after a full last chunk");
}

#[test]
fn reordered_or_repeated_chunks_fail() {
    let (_, sealed) = three_chunks();
    let header = &sealed[..HEADER_LEN];
    let c0 = &sealed[HEADER_LEN..HEADER_LEN + SEALED];
    let c1 = &sealed[HEADER_LEN + SEALED..HEADER_LEN + 2 * SEALED];
    let last = &sealed[HEADER_LEN + 2 * SEALED..];
    for (what, parts, chunk) in [
        ("swapped", vec![header, c1, c0, last], 0u64),
        ("repeated", vec![header, c0, c0, last], 1),
        ("dropped middle", vec![header, c0, last], 1),
    ] {
        let (r, out) = open(KEY, &parts.concat());
        assert_auth_failure(r, chunk, what);
        assert_eq!(
            out.len(),
            usize::try_from(chunk).unwrap() * CHUNK_SIZE,
            "{what}"
        );
    }
}

#[test]
fn a_wrong_key_is_named_and_writes_nothing() {
    let (_, sealed) = three_chunks();
    let mut other = KEY.to_vec();
    other[0] ^= 1;
    let (r, out) = open(&other, &sealed);
    match r {
        Err(CryptError::UnknownKey(id)) => assert_eq!(id, KeyId::of(KEY)),
        other => panic!("expected an unknown key, got {other:?}"),
    }
    assert!(out.is_empty());
}

#[test]
fn a_changed_key_id_fails_even_when_that_key_is_known() {
    // The header names another configured key: the chunks fail under it (the header is
    // authenticated), and the original key is not tried.
    let other = [9u8; 32];
    let keys = Keyring::new(&other, [&[1u8; 32][..]]).unwrap();
    let mut sealed = Vec::new();
    crypt::encrypt(&[1u8; 32], &plaintext(100)[..], &mut sealed).unwrap();
    sealed[KEY_ID_OFFSET..SALT_OFFSET].copy_from_slice(KeyId::of(&other).as_bytes());
    let (r, out) = {
        let mut out = Vec::new();
        (crypt::decrypt(&keys, &sealed[..], &mut out), out)
    };
    assert_auth_failure(r, 0, "key id changed");
    assert!(out.is_empty());
}

#[test]
fn a_keyring_opens_packages_of_its_previous_keys_and_reencrypts_them() {
    let (a, b) = ([0xa1u8; 32], [0xb2u8; 32]);
    let data = plaintext(2 * CHUNK_SIZE + 9);
    let mut under_a = Vec::new();
    crypt::encrypt(&a, &data[..], &mut under_a).unwrap();
    assert_eq!(crypt::key_id(&under_a[..]).unwrap(), KeyId::of(&a));

    let rotated = Keyring::new(&b, [&a[..]]).unwrap();
    let mut out = Vec::new();
    crypt::decrypt(&rotated, &under_a[..], &mut out).unwrap();
    assert!(out == data, "the previous key still opens it");

    let mut under_b = Vec::new();
    let n = crypt::reencrypt(&rotated, rotated.current_key(), &under_a[..], &mut under_b).unwrap();
    assert_eq!(n, under_b.len() as u64);
    assert_eq!(under_b.len(), under_a.len());
    assert_eq!(crypt::key_id(&under_b[..]).unwrap(), KeyId::of(&b));
    let only_b = Keyring::new(&b, []).unwrap();
    let mut out = Vec::new();
    crypt::decrypt(&only_b, &under_b[..], &mut out).unwrap();
    assert!(
        out == data,
        "the current key alone opens the re-encrypted package"
    );
    let mut out = Vec::new();
    assert!(matches!(
        crypt::decrypt(&only_b, &under_a[..], &mut out),
        Err(CryptError::UnknownKey(id)) if id == KeyId::of(&a)
    ));
    // A damaged package is not re-encrypted into a valid one.
    let mut bad = under_a.clone();
    bad[HEADER_LEN + 3] ^= 1;
    assert!(crypt::reencrypt(&rotated, rotated.current_key(), &bad[..], Vec::new()).is_err());
}

#[test]
fn wrong_magic_version_and_short_keys_are_named() {
    let sealed = seal(b"data");
    let mut bad = sealed.clone();
    bad[0] = b'X';
    let (r, _) = open(KEY, &bad);
    assert!(matches!(r, Err(CryptError::NotAPackage)), "{r:?}");
    let (r, _) = open(KEY, b"PK\x03\x04 a plain zip");
    assert!(matches!(r, Err(CryptError::NotAPackage)), "{r:?}");

    // Version 1, which had no key id, is no longer read.
    let mut bad = sealed.clone();
    bad[8] = 1;
    let (r, _) = open(KEY, &bad);
    assert!(matches!(r, Err(CryptError::UnsupportedVersion(1))), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("version 1"));

    let short = [1u8; 31];
    let err = crypt::encrypt(&short, &b"x"[..], Vec::new()).unwrap_err();
    assert!(
        matches!(err, CryptError::KeyTooShort { len: 31 }),
        "{err:?}"
    );
    let (r, _) = open(&short, &sealed);
    assert!(matches!(r, Err(CryptError::UnknownKey(_))), "{r:?}");
}

#[test]
fn reads_after_a_failure_keep_failing() {
    let (_, mut sealed) = three_chunks();
    sealed[HEADER_LEN + SEALED + 5] ^= 0x80;
    let mut reader = DecryptReader::new(KEY, &sealed[..]).unwrap();
    let mut first = vec![0u8; CHUNK_SIZE];
    reader.read_exact(&mut first).unwrap();
    let mut buf = [0u8; 16];
    assert!(reader.read(&mut buf).is_err());
    assert!(
        reader.read(&mut buf).is_err(),
        "no plaintext after a failure"
    );
    let err = CryptError::from(reader.read(&mut buf).unwrap_err());
    assert!(
        matches!(err, CryptError::Authentication { chunk: 1 }),
        "{err:?}"
    );
}
