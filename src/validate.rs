//! Checking message files against one profile, outside any workspace: the
//! core of `baton validate`. Every finding is located by path and by line
//! and column in the file, as the NIST validator reports them.
//!
//! Pipelines often de-identify a message before they validate it (CDC's
//! DEX pipeline runs a redactor first). To reproduce what such a pipeline
//! saw, values can be redacted (cleared) by path before the check; the
//! result names what was redacted, and lines and columns then refer to the
//! redacted text.

use std::path::Path as FsPath;

use serde::Serialize;

use crate::error::LoadError;
use crate::finding::{Finding, Severity};
use crate::hl7::{self, Message, ParseProblem, Path};
use crate::profile::{self, Profile};
use crate::table::Tables;

/// A profile ready to check messages with, and what its import left out.
#[derive(Debug, Clone)]
pub struct Validator {
    pub profile: Profile,
    pub tables: Tables,
    /// Items of an XML profile the importer could not map.
    pub unmapped: Vec<String>,
    /// Paths whose values are cleared before the check.
    pub redact: Vec<Path>,
}

/// A finding with its place in the file.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    #[serde(flatten)]
    pub finding: Finding,
    /// 1-based line, when the segment is in the message.
    pub line: Option<usize>,
    /// 1-based column in characters (1 for a missing value: the segment's start).
    pub column: Option<usize>,
}

/// One message's result.
#[derive(Debug, Clone, Serialize)]
pub struct MessageResult {
    /// 1-based line of the message's MSH.
    pub line: usize,
    /// The redactions that changed something, e.g. `PID-5[1].1` (`Pid5`
    /// removed): the paths only, never the values.
    pub redacted: Vec<String>,
    pub findings: Vec<Located>,
}

/// One file's result: what stopped parsing, and each message's findings.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub problems: Vec<ParseProblem>,
    pub messages: Vec<MessageResult>,
}

impl FileResult {
    /// True when anything of error severity was found.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
            || self
                .messages
                .iter()
                .flat_map(|m| &m.findings)
                .any(|f| f.finding.severity == Severity::Error)
    }
}

/// Reads a profile in Baton TOML or standard XML (Messaging Workbench, NIST
/// IGAMT with its companion files). XML value sets travel inside the profile.
pub fn load_profile(
    path: &FsPath,
    text: &str,
    tables: &Tables,
) -> Result<(Profile, Vec<String>), LoadError> {
    load_profile_with(path, text, tables, &mut crate::import::read_beside)
}

/// [`load_profile`], reading NIST companion files through `read`.
pub fn load_profile_with(
    path: &FsPath,
    text: &str,
    tables: &Tables,
    read: &mut crate::import::ReadCompanion,
) -> Result<(Profile, Vec<String>), LoadError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
    {
        let i = crate::import::import_with(path, text, read)?;
        let mut p = i.profile;
        p.inline_tables.tables.extend(i.tables.tables);
        Ok((p, i.unmapped))
    } else {
        Profile::load(path, text, tables).map(|p| (p, Vec::new()))
    }
}

impl Validator {
    /// Loads the profile (and code tables for a TOML profile's references).
    pub fn load(profile: &FsPath, tables: Option<&FsPath>) -> Result<Validator, LoadError> {
        let files: Vec<std::path::PathBuf> = tables.iter().map(|t| t.to_path_buf()).collect();
        Validator::load_with_tables(profile, &files)
    }

    /// [`Validator::load`] with any number of tables files.
    pub fn load_with_tables(
        profile: &FsPath,
        tables: &[std::path::PathBuf],
    ) -> Result<Validator, LoadError> {
        let mut t = Tables::default();
        for tp in tables {
            let text = crate::error::read_text(tp)?;
            t.load_into(tp, &text)?;
        }
        let text = crate::error::read_text(profile)?;
        let (profile, unmapped) = load_profile(profile, &text, &t)?;
        Ok(Validator {
            profile,
            tables: t,
            unmapped,
            redact: Vec::new(),
        })
    }

    /// Checks every message in a file's bytes.
    pub fn validate_bytes(&self, bytes: &[u8]) -> FileResult {
        let mut messages = Vec::new();
        let problems = self.validate_each(bytes, |r| messages.push(r));
        FileResult { problems, messages }
    }

    /// Checks a file's messages one at a time, as they are read: `each` gets
    /// every message's result, and memory holds one message, not the file's.
    /// Returns the file's reading problems.
    pub fn validate_each(
        &self,
        bytes: &[u8],
        mut each: impl FnMut(MessageResult),
    ) -> Vec<hl7::ParseProblem> {
        let (text, problem) = hl7::decode_bytes(bytes);
        // Checked on every core, a batch at a time, reported in file order.
        // Small batches: the parsed messages stay in the caches.
        let mut ordered = crate::ordered::Ordered::with_limits(
            32,
            1 << 20,
            |_, m: &Message| self.validate_message(m),
            &mut each,
        );
        let mut parsed = hl7::for_each_message(&text, |m| {
            let size = m.text.len();
            ordered.push(m, size);
        });
        ordered.finish();
        if let Some(p) = problem {
            parsed.problems.insert(0, p);
        }
        parsed.problems
    }

    /// Checks one message (after redaction, when asked).
    pub fn validate_message(&self, msg: &Message) -> MessageResult {
        let (redacted_msg, redacted) = redact(msg, &self.redact);
        let m = redacted_msg.as_ref().unwrap_or(msg);
        // Where each segment occurrence stands, once: locating a finding is no search.
        let positions = m.positions();
        let findings = profile::check(&self.profile, &self.tables, m)
            .findings
            .into_iter()
            .map(|f| {
                // A finding about a whole segment points at the segment's start.
                let at = positions.get(f.location.segment, f.location.segment_number.unwrap_or(1));
                let place = at
                    .and_then(|i| m.locate_in(i, &f.location))
                    .map(|(line, column)| (line, if f.segment_only { 1 } else { column }));
                Located {
                    line: place.map(|p| p.0),
                    column: place.map(|p| p.1),
                    finding: f,
                }
            })
            .collect();
        MessageResult {
            line: msg.line_number,
            redacted,
            findings,
        }
    }
}

/// Clears the values at `paths`. A path without a segment occurrence acts
/// on every occurrence; without a repetition, on every repetition. Returns
/// the redacted message, re-read from its new text so that lines and
/// columns refer to what is checked, and the concrete paths that changed;
/// `None` when nothing changed.
pub fn redact(msg: &Message, paths: &[Path]) -> (Option<Message>, Vec<String>) {
    if paths.is_empty() {
        return (None, Vec::new());
    }
    let mut out = msg.clone();
    let mut changed = Vec::new();
    // Where each segment occurrence stands: one pass, no search per path.
    let mut positions: rustc_hash::FxHashMap<crate::hl7::SegName, Vec<usize>> = Default::default();
    for (i, s) in out.segments.iter().enumerate() {
        positions.entry(s.name).or_default().push(i);
    }
    for path in paths {
        let list = positions
            .get(&path.segment)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let occurrences: Vec<(u32, usize)> = match path.segment_number {
            Some(n) => list
                .get(n as usize - 1)
                .map(|&i| vec![(n, i)])
                .unwrap_or_default(),
            None => list
                .iter()
                .enumerate()
                .map(|(k, &i)| (k as u32 + 1, i))
                .collect(),
        };
        for (occ, index) in occurrences {
            let mut at = path.clone();
            at.segment_number = Some(occ);
            let reps: Vec<Option<u32>> = match (path.repetition_number, path.component_number) {
                (Some(r), _) => vec![Some(r)],
                (None, None) => vec![None],
                (None, Some(_)) => {
                    let mut whole = at.clone();
                    whole.component_number = None;
                    whole.subcomponent_number = None;
                    let raw = out.get_in(index, &whole);
                    let n = if raw.is_empty() {
                        0
                    } else {
                        raw.split(out.delimiters.repetition).count()
                    };
                    (1..=n as u32).map(Some).collect()
                }
            };
            for rep in reps {
                at.repetition_number = rep;
                if !out.get_in(index, &at).is_empty() {
                    out.set_in(index, &at, "");
                    changed.push(at.to_string());
                }
            }
        }
    }
    if changed.is_empty() {
        return (None, changed);
    }
    // Re-read the new text, keeping the file's line numbering.
    let text = out.encode();
    match hl7::parse_one(&text) {
        Ok(mut m) => {
            let shift = msg.line_number.saturating_sub(1);
            for s in &mut m.segments {
                s.line_number += shift;
            }
            m.line_number = msg.line_number;
            (Some(m), changed)
        }
        // Clearing values cannot break the framing; keep the edit regardless.
        Err(_) => (Some(out), changed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    const MSG: &str = "MSH|^~\\&|A|B|C|D|20240101120000-0500||ADT^A01|1|P|2.5.1\rPID|1||123^^^H^MR||Doe^Jane~Roe^Janet|Smith|19800101\rNK1|1|Doe^John\rNK1|2|Doe^Jim\r";

    #[test]
    fn redacts_by_path_and_reports_what_changed() {
        let m = hl7::parse_one(MSG).unwrap();
        let (r, changed) = redact(&m, &[p("PID-5.1"), p("PID-6"), p("NK1-2"), p("PID-19")]);
        let r = r.unwrap();
        assert_eq!(
            changed,
            ["PID-5[1].1", "PID-5[2].1", "PID-6", "NK1-2", "NK1[2]-2"]
        );
        assert_eq!(r.get(&p("PID-5")), Some("^Jane~^Janet"));
        assert_eq!(r.get(&p("PID-6")), Some(""));
        assert_eq!(r.get(&p("PID-7")), Some("19800101"));
        assert_eq!(r.get(&p("NK1[2]-2")), Some(""));
        // Re-read: columns refer to the redacted text.
        assert_eq!(r.locate(&p("PID-7")), Some((2, 34)));
        let (none, nothing) = redact(&m, &[p("PID-30")]);
        assert!(none.is_none() && nothing.is_empty());
    }
}
