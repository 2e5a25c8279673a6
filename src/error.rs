//! Errors that stop work from running: a file that cannot be read, or a
//! rules / profile / scenario / manifest file that is malformed. Each names
//! the file and, where it can, the line.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{message} (in {}, line {line}, column {column})", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{message} (in {}, line {line}, column {column})", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{message} (in {})", path.display())]
    File { path: PathBuf, message: String },
}

impl LoadError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::Syntax { path, .. }
            | LoadError::Invalid { path, .. }
            | LoadError::File { path, .. } => path,
        }
    }

    /// The 1-based line, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            LoadError::Syntax { line, .. } | LoadError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Parses a TOML document into `T`, turning syntax and shape errors into a
/// located [`LoadError`].
pub fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, LoadError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
        LoadError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

/// An invalid-content error at a span of a TOML file.
pub fn invalid_at(
    path: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    message: String,
) -> LoadError {
    let (line, column) = line_column(text, span.start);
    LoadError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// Reads a file as UTF-8 text, with a located error.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        LoadError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: "the file is not valid UTF-8 text".to_string(),
        }
    })
}
