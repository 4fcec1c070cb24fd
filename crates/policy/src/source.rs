//! Reading a policy's files, and the canonical bundle that is stored as a policy version.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One file of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as shown in diagnostics (relative to where the user pointed).
    pub path: String,
    pub text: String,
}

/// The text of a policy: one file, or every `.yaml`/`.yml` file of a folder in name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySource {
    pub files: Vec<SourceFile>,
}

/// The policy could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}: the folder has no .yaml or .yml files")]
    EmptyFolder(String),
    #[error("{0}: a policy file must be UTF-8 text")]
    NotUtf8(String),
    #[error("the stored policy bundle is not valid: {0}")]
    Bundle(String),
}

impl PolicySource {
    /// Reads a policy file, or the policy files of a folder.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let shown = path.display().to_string();
        let io = |source| ReadError::Io {
            path: shown.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let paths = if meta.is_dir() {
            let mut paths = Vec::new();
            for entry in std::fs::read_dir(path).map_err(io)? {
                let p = entry.map_err(io)?.path();
                let is_yaml = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
                if is_yaml && p.is_file() {
                    paths.push(p);
                }
            }
            paths.sort();
            if paths.is_empty() {
                return Err(ReadError::EmptyFolder(shown));
            }
            paths
        } else {
            vec![path.to_path_buf()]
        };
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let shown = p.display().to_string();
            let bytes = std::fs::read(&p).map_err(|source| ReadError::Io {
                path: shown.clone(),
                source,
            })?;
            let text = String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8(shown.clone()))?;
            files.push(SourceFile { path: shown, text });
        }
        Ok(Self { files })
    }

    /// A policy from texts in memory, e.g. the example compiled into the binary.
    pub fn from_texts<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            files: files
                .into_iter()
                .map(|(path, text)| SourceFile {
                    path: path.into(),
                    text: text.into(),
                })
                .collect(),
        }
    }

    /// The canonical text stored as a policy version: a JSON object of file names (without
    /// their folder, so the same policy checked out elsewhere hashes the same) and texts.
    pub fn bundle(&self) -> String {
        let files: Vec<SourceFile> = self
            .files
            .iter()
            .map(|f| SourceFile {
                path: file_name(&f.path).to_owned(),
                text: f.text.clone(),
            })
            .collect();
        serde_json::json!({ "files": files }).to_string()
    }

    /// Reads a bundle back.
    pub fn from_bundle(bundle: &str) -> Result<Self, ReadError> {
        serde_json::from_str(bundle).map_err(|e| ReadError::Bundle(e.to_string()))
    }

    /// SHA-256 of the bundle, hex: the identity of a policy version.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.bundle().as_bytes()))
    }

    /// The display path of a file, or `<policy>` for an unknown index.
    pub fn path(&self, file: usize) -> &str {
        self.files.get(file).map_or("<policy>", |f| f.path.as_str())
    }

    /// One line of a file (1-based), without its newline.
    pub fn line(&self, file: usize, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        self.files.get(file)?.text.lines().nth(index)
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_round_trips_and_ignores_the_folder() {
        let a = PolicySource::from_texts([("a/x.yaml", "k: 1\n"), ("a/y.yaml", "j: 2\n")]);
        let b = PolicySource::from_texts([
            ("elsewhere/x.yaml", "k: 1\n"),
            ("elsewhere/y.yaml", "j: 2\n"),
        ]);
        assert_eq!(a.hash(), b.hash());
        let back = PolicySource::from_bundle(&a.bundle()).unwrap();
        assert_eq!(back.files[1].text, "j: 2\n");
        let c = PolicySource::from_texts([("a/x.yaml", "k: 2\n"), ("a/y.yaml", "j: 2\n")]);
        assert_ne!(a.hash(), c.hash());
    }
}
