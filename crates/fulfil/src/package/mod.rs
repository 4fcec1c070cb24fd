//! The access and portability package: the person's rows from every collection searched, as
//! JSON and CSV, with `manifest.json` (the Art. 15 information and the index of the files) and
//! `README.html` (the same, readable), in one ZIP, optionally encrypted at rest ([`crypt`]).
//!
//! Memory stays bounded whatever the number of rows: [`CollectionWriter::write_row`] streams
//! each row to two anonymous temporary files in the work folder (they have no name on disk and
//! vanish when the builder is dropped, even after a crash), and [`PackageBuilder::finish`]
//! streams those files into the ZIP. The package is never whole in memory, and
//! [`PackageBuilder::finish_encrypted`] never has a plaintext ZIP on disk.
//!
//! ```text
//! README.html
//! manifest.json
//! data/<system>/<collection>.json    [{"column": value, ...}, ...]
//! data/<system>/<collection>.csv     header row, then one record per row
//! ```
//!
//! Paths are made safe and unique from the names ([`paths`]); the manifest maps them back.
//! Errors never carry row values, only names of systems, collections and columns.

pub mod crypt;
mod manifest;
pub mod paths;
mod readme;
mod text;

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ombud_domain::datamap::Value;
use zip::write::SimpleFileOptions;

pub use manifest::*;
pub use text::Lang;

use crypt::{CryptError, EncryptWriter};
use paths::PathAllocator;

/// What went wrong while building a package.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("I/O error in the package work folder: {0}")]
    Io(#[from] io::Error),
    #[error("CSV error writing {system}/{collection}: {message}")]
    Csv {
        system: String,
        collection: String,
        message: String,
    },
    #[error("ZIP error: {0}")]
    Zip(String),
    #[error(
        "a row of {system}/{collection} has {got} values, but the collection has {expected} columns"
    )]
    RowWidth {
        system: String,
        collection: String,
        expected: usize,
        got: usize,
    },
    #[error("column `{column}` appears twice in {system}/{collection}")]
    DuplicateColumn {
        system: String,
        collection: String,
        column: String,
    },
    #[error("categories were given for `{column}`, which is not a column of {system}/{collection}")]
    UnknownColumn {
        system: String,
        collection: String,
        column: String,
    },
    #[error("collection {system}/{collection} was never finished")]
    Unfinished { system: String, collection: String },
    #[error("README.html could not be rendered: {0}")]
    Readme(String),
    #[error(transparent)]
    Crypt(#[from] CryptError),
}

impl From<zip::result::ZipError> for PackageError {
    fn from(e: zip::result::ZipError) -> Self {
        match e {
            zip::result::ZipError::Io(io) => PackageError::Io(io),
            other => PackageError::Zip(other.to_string()),
        }
    }
}

/// What [`PackageBuilder::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    /// Collections in the package (empty ones included).
    pub collections: usize,
    /// Rows over all collections.
    pub rows: u64,
    /// Bytes written to the output (the ZIP, or the encrypted file).
    pub bytes: u64,
    /// Paths inside the ZIP, in order.
    pub files: Vec<String>,
}

/// Builds one package: collections one after another, then [`finish`](Self::finish).
#[derive(Debug)]
pub struct PackageBuilder {
    work_dir: PathBuf,
    manifest: Manifest,
    paths: PathAllocator,
    staged: Vec<Staged>,
}

/// A collection's temporary files.
#[derive(Debug)]
struct Staged {
    json: Option<BufWriter<File>>,
    csv: Option<csv::Writer<File>>,
    /// Both files, rewound, once the collection is finished.
    done: Option<(File, File)>,
}

impl PackageBuilder {
    /// A builder that keeps its temporary files in `work_dir` (created if missing). Put it on
    /// the disk meant for personal data at rest; the files have no name and vanish with the
    /// builder.
    pub fn new(work_dir: &Path, manifest: Manifest) -> Result<PackageBuilder, PackageError> {
        std::fs::create_dir_all(work_dir)?;
        Ok(PackageBuilder {
            work_dir: work_dir.to_owned(),
            manifest,
            paths: PathAllocator::default(),
            staged: Vec::new(),
        })
    }

    /// The manifest so far.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Starts a collection with the given columns; rows follow through the writer. Call
    /// [`CollectionWriter::finish`] before the next collection or the end of the package.
    pub fn collection(
        &mut self,
        system: &str,
        collection: &str,
        columns: &[String],
    ) -> Result<CollectionWriter<'_>, PackageError> {
        self.collection_with_categories(system, collection, columns, Vec::new())
    }

    /// [`collection`](Self::collection), with the data categories of (some of) the columns, as
    /// the data map gives them; they go into the manifest.
    pub fn collection_with_categories(
        &mut self,
        system: &str,
        collection: &str,
        columns: &[String],
        categories: ColumnCategories,
    ) -> Result<CollectionWriter<'_>, PackageError> {
        let names = || (system.to_owned(), collection.to_owned());
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                let (system, collection) = names();
                return Err(PackageError::DuplicateColumn {
                    system,
                    collection,
                    column: c.clone(),
                });
            }
        }
        let mut infos: Vec<ColumnInfo> = columns
            .iter()
            .map(|c| ColumnInfo {
                name: c.clone(),
                categories: Vec::new(),
                encoding: None,
            })
            .collect();
        for (column, keys) in categories {
            let Some(info) = infos.iter_mut().find(|i| i.name == column) else {
                let (system, collection) = names();
                return Err(PackageError::UnknownColumn {
                    system,
                    collection,
                    column,
                });
            };
            for k in keys {
                let k = k.to_string();
                if !info.categories.contains(&k) {
                    info.categories.push(k);
                }
            }
        }

        let json_file = tempfile::tempfile_in(&self.work_dir)?;
        let csv_file = tempfile::tempfile_in(&self.work_dir)?;
        let mut json = BufWriter::with_capacity(64 * 1024, json_file);
        json.write_all(b"[")?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(64 * 1024)
            .from_writer(csv_file);
        csv.write_record(columns)
            .map_err(|e| csv_error(system, collection, e))?;

        let stem = self.paths.collection_stem(system, collection);
        let (system_name, purposes) = self
            .manifest
            .systems
            .get(system)
            .map_or((None, Vec::new()), |(n, p)| (Some(n.clone()), p.clone()));
        self.manifest.collections.push(CollectionInfo {
            system: system.to_owned(),
            system_name,
            collection: collection.to_owned(),
            rows: 0,
            columns: infos,
            json_file: format!("{stem}.json"),
            csv_file: format!("{stem}.csv"),
            purposes,
        });
        self.staged.push(Staged {
            json: Some(json),
            csv: Some(csv),
            done: None,
        });
        let keys = columns
            .iter()
            .map(|c| {
                let mut k = serde_json::to_vec(c).map_err(io::Error::from)?;
                k.push(b':');
                Ok(k)
            })
            .collect::<Result<Vec<_>, io::Error>>()?;
        let index = self.staged.len() - 1;
        Ok(CollectionWriter {
            builder: self,
            index,
            keys,
            scratch: String::new(),
            number: Vec::new(),
            binary: vec![false; columns.len()],
        })
    }

    /// Writes the ZIP to `out` and returns what it holds. Temporary files are gone afterwards.
    pub fn finish(self, out: impl Write) -> Result<PackageSummary, PackageError> {
        let counted = Counting::new(BufWriter::with_capacity(64 * 1024, out));
        let (counted, mut summary) = self.write_zip(counted)?;
        let bytes = counted.count;
        counted
            .inner
            .into_inner()
            .map_err(|e| e.into_error())?
            .flush()?;
        summary.bytes = bytes;
        Ok(summary)
    }

    /// Like [`finish`](Self::finish), but the ZIP goes straight into the encryptor
    /// ([`crypt`]) with a key derived from `master_key` (at least 32 bytes). No plaintext ZIP
    /// is ever on disk; `bytes` in the summary counts the encrypted output.
    pub fn finish_encrypted(
        self,
        master_key: &[u8],
        out: impl Write,
    ) -> Result<PackageSummary, PackageError> {
        let enc = EncryptWriter::new(master_key, out)?;
        let (enc, mut summary) = self.write_zip(enc)?;
        let (_, bytes) = enc.finish()?;
        summary.bytes = bytes;
        Ok(summary)
    }

    fn write_zip<W: Write>(mut self, out: W) -> Result<(W, PackageSummary), PackageError> {
        let mut files = Vec::new();
        for (info, staged) in self.manifest.collections.iter().zip(&self.staged) {
            match &staged.done {
                Some(f) => files.push(f),
                None => {
                    return Err(PackageError::Unfinished {
                        system: info.system.clone(),
                        collection: info.collection.clone(),
                    });
                }
            }
        }
        self.manifest.refresh_categories();
        let readme = readme::render(&self.manifest)?;
        let manifest_json = serde_json::to_vec_pretty(&self.manifest).map_err(io::Error::from)?;

        let mut zip = zip::ZipWriter::new_stream(out);
        let base = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6))
            .unix_permissions(0o644)
            .last_modified_time(zip_time(&self.manifest.request.completed_at));
        let mut names = Vec::new();
        zip.start_file("README.html", base)?;
        zip.write_all(readme.as_bytes())?;
        names.push("README.html".to_owned());
        zip.start_file("manifest.json", base)?;
        zip.write_all(&manifest_json)?;
        names.push("manifest.json".to_owned());
        let mut buf = vec![0u8; 64 * 1024];
        for (info, (json, csv)) in self.manifest.collections.iter().zip(files) {
            for (name, mut file) in [(&info.json_file, json), (&info.csv_file, csv)] {
                let len = file.metadata()?.len();
                // ZIP64 where the entry could come near 4 GiB, even after a poor deflate.
                let opts = base.large_file(len >= 0xF000_0000);
                zip.start_file(name.as_str(), opts)?;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    zip.write_all(&buf[..n])?;
                }
                names.push(name.clone());
            }
        }
        let out = zip.finish()?.into_inner();
        let summary = PackageSummary {
            collections: self.manifest.collections.len(),
            rows: self.manifest.collections.iter().map(|c| c.rows).sum(),
            bytes: 0,
            files: names,
        };
        Ok((out, summary))
    }
}

fn csv_error(system: &str, collection: &str, e: csv::Error) -> PackageError {
    // csv's messages for writing name positions and I/O causes, never field contents.
    match e.into_kind() {
        csv::ErrorKind::Io(io) => PackageError::Io(io),
        other => PackageError::Csv {
            system: system.to_owned(),
            collection: collection.to_owned(),
            message: match other {
                csv::ErrorKind::UnequalLengths { .. } => "rows of unequal length".to_owned(),
                _ => "the CSV writer failed".to_owned(),
            },
        },
    }
}

/// The ZIP's timestamp of every entry: when the request was completed (UTC).
fn zip_time(completed_at: &str) -> zip::DateTime {
    completed_at
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| jiff::tz::TimeZone::UTC.to_datetime(t))
        .and_then(|d| {
            zip::DateTime::from_date_and_time(
                u16::try_from(d.year()).ok()?,
                u8::try_from(d.month()).ok()?,
                u8::try_from(d.day()).ok()?,
                u8::try_from(d.hour()).ok()?,
                u8::try_from(d.minute()).ok()?,
                u8::try_from(d.second()).ok()?,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// Writes the rows of one collection. Borrows the builder: one collection at a time.
#[derive(Debug)]
pub struct CollectionWriter<'a> {
    builder: &'a mut PackageBuilder,
    index: usize,
    /// `"column":` per column, JSON-escaped once.
    keys: Vec<Vec<u8>>,
    scratch: String,
    number: Vec<u8>,
    /// Columns where a binary value was written (as Base64).
    binary: Vec<bool>,
}

impl CollectionWriter<'_> {
    /// Appends one row: a value per column, in column order.
    pub fn write_row(&mut self, row: &[Value]) -> Result<(), PackageError> {
        let info = &mut self.builder.manifest.collections[self.index];
        if row.len() != self.keys.len() {
            return Err(PackageError::RowWidth {
                system: info.system.clone(),
                collection: info.collection.clone(),
                expected: self.keys.len(),
                got: row.len(),
            });
        }
        let staged = &mut self.builder.staged[self.index];
        let (Some(json), Some(csv)) = (staged.json.as_mut(), staged.csv.as_mut()) else {
            return Err(PackageError::Unfinished {
                system: info.system.clone(),
                collection: info.collection.clone(),
            });
        };
        json.write_all(if info.rows == 0 { b"\n{" } else { b",\n{" })?;
        for (i, (value, key)) in row.iter().zip(&self.keys).enumerate() {
            if i > 0 {
                json.write_all(b",")?;
            }
            json.write_all(key)?;
            let cell = encode(value, &mut self.scratch, &mut self.number);
            if matches!(value, Value::Bytes(_)) {
                self.binary[i] = true;
            }
            match cell {
                Cell::Null => json.write_all(b"null")?,
                Cell::Raw(raw) => {
                    json.write_all(raw)?;
                }
                Cell::Text(t) => serde_json::to_writer(&mut *json, t).map_err(io::Error::from)?,
            }
            let field: &[u8] = match cell {
                Cell::Null => b"",
                Cell::Raw(raw) => raw,
                Cell::Text(t) => t.as_bytes(),
            };
            csv.write_field(field)
                .map_err(|e| csv_error(&info.system, &info.collection, e))?;
        }
        json.write_all(b"}")?;
        csv.write_record(None::<&[u8]>)
            .map_err(|e| csv_error(&info.system, &info.collection, e))?;
        info.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.builder.manifest.collections[self.index].rows
    }

    /// Ends the collection and returns its row count.
    pub fn finish(self) -> Result<u64, PackageError> {
        let info = &mut self.builder.manifest.collections[self.index];
        for (col, binary) in info.columns.iter_mut().zip(&self.binary) {
            if *binary {
                col.encoding = Some("base64".to_owned());
            }
        }
        let staged = &mut self.builder.staged[self.index];
        let (Some(mut json), Some(csv)) = (staged.json.take(), staged.csv.take()) else {
            return Ok(info.rows);
        };
        json.write_all(if info.rows == 0 { b"]\n" } else { b"\n]\n" })?;
        let mut json = json.into_inner().map_err(|e| e.into_error())?;
        let mut csv = csv
            .into_inner()
            .map_err(|e| PackageError::Io(io::Error::other(e.error().to_string())))?;
        json.seek(SeekFrom::Start(0))?;
        csv.seek(SeekFrom::Start(0))?;
        staged.done = Some((json, csv));
        Ok(info.rows)
    }
}

/// One value as it goes into both files.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Null,
    /// Written as is in JSON (a number, `true`, `false`) and in CSV.
    Raw(&'a [u8]),
    /// A JSON string; its text in CSV.
    Text(&'a str),
}

fn encode<'a>(value: &'a Value, scratch: &'a mut String, number: &'a mut Vec<u8>) -> Cell<'a> {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(true) => Cell::Raw(b"true"),
        Value::Bool(false) => Cell::Raw(b"false"),
        Value::Int(i) => {
            number.clear();
            let _ = write!(number, "{i}");
            Cell::Raw(number)
        }
        Value::Float(f) if f.is_nan() => Cell::Text("NaN"),
        Value::Float(f) if f.is_infinite() => {
            Cell::Text(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Value::Float(f) => {
            number.clear();
            // serde_json writes the shortest text that reads back as the same f64.
            let _ = serde_json::to_writer(&mut *number, f);
            Cell::Raw(number)
        }
        Value::Text(s) => Cell::Text(s),
        Value::Bytes(b) => {
            scratch.clear();
            base64::engine::general_purpose::STANDARD.encode_string(b, scratch);
            Cell::Text(scratch)
        }
    }
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
