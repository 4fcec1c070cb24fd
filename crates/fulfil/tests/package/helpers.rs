use std::io::{Cursor, Read};

use jiff::civil::date;
use ombud_domain::policy::Policy;
use ombud_fulfil::package::{
    Lang, Manifest, PackageBuilder, PackageRight, PackageSummary, RequestFacts, crypt,
};
use zip::ZipArchive;

pub const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-master-key";

pub fn policy() -> Policy {
    match ombud_policy::load(ombud_policy::example::impero(), date(2026, 3, 1)) {
        Ok(loaded) => loaded.policy,
        Err(rejected) => panic!("the example policy does not load:\n{rejected}"),
    }
}

pub fn facts(lang: Lang) -> RequestFacts {
    RequestFacts {
        reference: "R-7KQ2".into(),
        right: PackageRight::Access,
        received: "2026-03-02T09:15:00Z".parse().unwrap(),
        completed_at: "2026-03-05T14:30:00Z".parse().unwrap(),
        lang,
    }
}

pub fn manifest(lang: Lang) -> Manifest {
    Manifest::from_policy(&policy(), facts(lang))
}

pub fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Builds a package in a fresh work folder with `fill`, encrypted; returns the summary and the
/// decrypted ZIP.
pub fn build_encrypted(
    lang: Lang,
    fill: impl FnOnce(&mut PackageBuilder),
) -> (PackageSummary, Vec<u8>) {
    let work = tempfile::tempdir().unwrap();
    let mut b = PackageBuilder::new(work.path(), manifest(lang)).unwrap();
    fill(&mut b);
    let mut sealed = Vec::new();
    let summary = b.finish_encrypted(KEY, &mut sealed).unwrap();
    assert_eq!(summary.bytes, sealed.len() as u64);
    assert_eq!(&sealed[..8], b"OMBUDPKG");
    let mut zip = Vec::new();
    crypt::decrypt(KEY, &sealed[..], &mut zip).unwrap();
    (summary, zip)
}

/// Same, as a plain ZIP.
pub fn build_plain(
    lang: Lang,
    fill: impl FnOnce(&mut PackageBuilder),
) -> (PackageSummary, Vec<u8>) {
    let work = tempfile::tempdir().unwrap();
    let mut b = PackageBuilder::new(work.path(), manifest(lang)).unwrap();
    fill(&mut b);
    let mut zip = Vec::new();
    let summary = b.finish(&mut zip).unwrap();
    assert_eq!(summary.bytes, zip.len() as u64);
    (summary, zip)
}

pub fn archive(zip: &[u8]) -> ZipArchive<Cursor<Vec<u8>>> {
    ZipArchive::new(Cursor::new(zip.to_vec())).expect("a readable ZIP")
}

pub fn entry(zip: &mut ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut f = zip
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name} is in the ZIP: {e}"));
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

pub fn entry_text(zip: &mut ZipArchive<Cursor<Vec<u8>>>, name: &str) -> String {
    String::from_utf8(entry(zip, name)).expect("UTF-8")
}

pub fn manifest_json(zip: &mut ZipArchive<Cursor<Vec<u8>>>) -> serde_json::Value {
    serde_json::from_slice(&entry(zip, "manifest.json")).expect("manifest.json is JSON")
}

/// The entry names, in archive order.
pub fn names(zip: &mut ZipArchive<Cursor<Vec<u8>>>) -> Vec<String> {
    (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect()
}
