//! The access and portability package, through its public API only, with real files: a work
//! folder on disk, ZIPs read back with the zip crate, encrypted files decrypted again.

mod crypt;
mod helpers;
mod manifest;
mod paths;
mod readme;
mod roundtrip;
