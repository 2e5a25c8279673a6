//! Writes a scenario from a message: an edited or pasted message saved from
//! the workbench, with either the expectations it started from or the ones
//! Baton observed when it replayed it.

use std::path::{Path as FsPath, PathBuf};

use serde::Serialize;

use super::{Expect, FieldExpectation, FindingExpectation, Kind, OutcomeKind};
use crate::finding::Severity;
use crate::hl7::Path;
use crate::replay::MessageReplay;

/// Why a scenario could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "`{0}` is not a usable scenario id: use letters, digits, `-`, `_` or `.` (not first), at most 100"
    )]
    BadId(String),
    #[error("{} already exists: choose another id", .0.display())]
    Exists(PathBuf),
    #[error(transparent)]
    Write(#[from] crate::session::SessionError),
    #[error("could not write the scenario file: {0}")]
    Encode(#[from] toml::ser::Error),
}

/// A scenario to write: the message goes to `<id>.hl7` beside `<id>.toml`.
#[derive(Debug, Clone)]
pub struct NewScenario {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub handoff: String,
    pub description: String,
    /// The message text (any segment ends; written with `\n`, as people edit files).
    pub message: String,
    pub expect: Expect,
}

#[derive(Serialize)]
struct ScenarioFile<'a> {
    name: &'a str,
    kind: Kind,
    handoff: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    input: String,
    expect: &'a Expect,
}

/// Checks a scenario id: it names two files, so it is a plain file stem.
pub fn check_id(id: &str) -> Result<(), WriteError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(WriteError::BadId(id.to_string()))
    }
}

/// The expectations a replay meets exactly: its receipt code, its counts,
/// each rejected or dropped field, and each error or warning finding.
pub fn observed(r: &MessageReplay) -> Expect {
    let mut e = Expect {
        ack: Some(r.ack_code.clone()),
        rejected: Some(r.counts.rejected),
        dropped: Some(r.counts.dropped),
        transformed: Some(r.counts.transformed),
        ..Expect::default()
    };
    for f in &r.fields {
        let kind = f.outcome.kind();
        if matches!(kind, OutcomeKind::Rejected | OutcomeKind::Dropped) {
            e.field.push(FieldExpectation {
                path: f.path.clone(),
                outcome: Some(kind),
                code: None,
                severity: None,
                side: None,
                rule: None,
                mapped: None,
            });
        }
    }
    let mut seen = rustc_hash::FxHashSet::default();
    for x in &r.findings {
        if !matches!(x.severity, Severity::Error | Severity::Warning) {
            continue;
        }
        let path = if x.location.field_number == 0 || x.segment_only {
            Path::field_of(
                x.location.segment,
                x.location.segment_number.unwrap_or(1) as usize,
                1,
            )
        } else {
            x.location.clone()
        };
        if seen.insert((path.to_string(), x.code, x.side, x.severity)) {
            e.finding.push(FindingExpectation {
                path,
                code: x.code,
                severity: Some(x.severity),
                side: Some(x.side),
            });
        }
    }
    e
}

/// Writes `<id>.hl7` and `<id>.toml` into `dir`; never overwrites.
/// Returns the scenario file.
pub fn write(dir: &FsPath, s: &NewScenario) -> Result<PathBuf, WriteError> {
    check_id(&s.id)?;
    let toml_path = dir.join(format!("{}.toml", s.id));
    let hl7_path = dir.join(format!("{}.hl7", s.id));
    for p in [&toml_path, &hl7_path] {
        if p.exists() {
            return Err(WriteError::Exists(p.clone()));
        }
    }
    let mut text: String = s
        .message
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim_end_matches('\n')
        .to_string();
    text.push('\n');
    let file = ScenarioFile {
        name: &s.name,
        kind: s.kind,
        handoff: &s.handoff,
        description: &s.description,
        input: format!("{}.hl7", s.id),
        expect: &s.expect,
    };
    let body = toml::to_string(&file)?;
    std::fs::create_dir_all(dir).map_err(|source| crate::session::SessionError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    crate::session::write_atomic(&hl7_path, text.as_bytes())?;
    crate::session::write_atomic(&toml_path, body.as_bytes())?;
    Ok(toml_path)
}
