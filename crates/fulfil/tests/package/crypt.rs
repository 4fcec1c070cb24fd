use std::io::{Read, Write};

use ombud_fulfil::package::crypt::{
    self, CHUNK_SIZE, CryptError, DecryptReader, EncryptWriter, HEADER_LEN, TAG_LEN,
};

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
    assert_ne!(a[9..HEADER_LEN], b[9..HEADER_LEN], "salt and nonce prefix");
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
        ("salt", 9, 0u64),
        ("nonce prefix", 9 + 32, 0),
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
fn a_wrong_key_fails_and_writes_nothing() {
    let (_, sealed) = three_chunks();
    let mut other = KEY.to_vec();
    other[0] ^= 1;
    let (r, out) = open(&other, &sealed);
    assert_auth_failure(r, 0, "wrong key");
    assert!(out.is_empty());
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

    let mut bad = sealed.clone();
    bad[8] = 2;
    let (r, _) = open(KEY, &bad);
    assert!(matches!(r, Err(CryptError::UnsupportedVersion(2))), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("version 2"));

    let short = [1u8; 31];
    let err = crypt::encrypt(&short, &b"x"[..], Vec::new()).unwrap_err();
    assert!(
        matches!(err, CryptError::KeyTooShort { len: 31 }),
        "{err:?}"
    );
    let (r, _) = open(&short, &sealed);
    assert!(
        matches!(r, Err(CryptError::KeyTooShort { len: 31 })),
        "{r:?}"
    );
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
