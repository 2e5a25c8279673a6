//! Scenarios: an input message (a file or inline), mutations applied to it,
//! and the expectations that must hold after replay. Format: README,
//! "Scenario files".

use std::path::{Path as FsPath, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{LoadError, invalid_at, parse_toml};
use crate::finding::{Severity, Side};
use crate::hl7::{self, Delimiters, Path};

pub mod write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Happy,
    Edge,
    Error,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Happy => "happy",
            Kind::Edge => "edge",
            Kind::Error => "error",
        }
    }
}

/// The kind of outcome a field can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    Accepted,
    Transformed,
    Rejected,
    Dropped,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Accepted => "accepted",
            OutcomeKind::Transformed => "transformed",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Dropped => "dropped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEndings {
    Cr,
    Lf,
    Crlf,
}

/// A change made to the input before replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Write a plain value (escaped for you) at this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Path>,
    /// Write raw text (delimiters kept) at this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_raw: Option<Path>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Clear this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Path>,
    /// Re-encode the whole message with these five delimiters (`|^~\&`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiters: Option<String>,
    /// Rewrite only MSH-2, leaving the text as it is (mis-declared delimiters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declare_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_endings: Option<LineEndings>,
    /// Keep only this many bytes of the message text (cut at a character boundary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<usize>,
    /// Append a segment, written as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_segment: Option<String>,
    /// Remove every segment with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_segment: Option<String>,
    /// Replace text in the encoded message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldExpectation {
    pub path: Path,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// A rule id that must have acted on the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The mapped raw value at this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingExpectation {
    pub path: Path,
    pub code: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// MSA-1 of the receipt: AA, AE or AR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<String>,
    /// Exact counts of field outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformed: Option<usize>,
    /// The whole mapped message, as a file next to the scenario or inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field: Vec<FieldExpectation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finding: Vec<FindingExpectation>,
    /// Findings that must not be raised (e.g. no 104 for a value exactly at
    /// the maximum length, whatever else the profiles say about it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_finding: Vec<FindingExpectation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    kind: Kind,
    handoff: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    mutate: Vec<toml::Spanned<Mutation>>,
    #[serde(default)]
    expect: Expect,
}

/// A loaded scenario, with its input read into memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    /// The file stem: `lang-free-text`.
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub handoff: String,
    pub description: String,
    /// Where the input came from: a file path, or `inline`.
    pub input_origin: String,
    /// The input text as read, before mutations.
    pub input: String,
    pub mutations: Vec<Mutation>,
    pub expect: Expect,
    /// Expected mapped message text, when given.
    pub expected_message: Option<String>,
    pub file: PathBuf,
}

impl Scenario {
    /// Reads a scenario file; `read` loads a file named relative to it.
    pub fn load(
        path: &FsPath,
        text: &str,
        read: &mut dyn FnMut(&FsPath) -> Result<String, LoadError>,
    ) -> Result<Scenario, LoadError> {
        let raw: RawScenario = parse_toml(path, text)?;
        let dir = path.parent().unwrap_or(FsPath::new("."));
        let (input_origin, input) = match (&raw.input, &raw.message) {
            (Some(f), None) => (f.clone(), read(&dir.join(f))?),
            (None, Some(m)) => ("inline".to_string(), m.clone()),
            _ => {
                let line = match raw.input {
                    Some(_) => crate::profile::key_line(text, "input"),
                    None => crate::profile::key_line(text, "name"),
                };
                return Err(LoadError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    column: 1,
                    message: "a scenario needs either `input` (a message file) or `message` (inline text), not both".into(),
                });
            }
        };
        for m in &raw.mutate {
            let span = m.span();
            let m = m.get_ref();
            let ops = [
                m.set.is_some(),
                m.set_raw.is_some(),
                m.delete.is_some(),
                m.delimiters.is_some(),
                m.declare_encoding.is_some(),
                m.line_endings.is_some(),
                m.truncate.is_some(),
                m.append_segment.is_some(),
                m.remove_segment.is_some(),
                m.replace.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if ops != 1 {
                return Err(invalid_at(path, text, span, "each [[mutate]] does exactly one thing: set, set_raw, delete, delimiters, declare_encoding, line_endings, truncate, append_segment, remove_segment or replace".into()));
            }
            for p in [&m.set, &m.set_raw, &m.delete].into_iter().flatten() {
                if p.segment == "MSH" && p.field_number <= 2 {
                    return Err(invalid_at(
                        path,
                        text,
                        span,
                        format!(
                            "{p} holds the delimiters: change them with `delimiters` or `declare_encoding`"
                        ),
                    ));
                }
                if let Err(e) = crate::hl7::names::dictionary().check_path(p) {
                    return Err(invalid_at(path, text, span, e));
                }
            }
            if m.replace.as_deref() == Some("") {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    "`replace` needs a non-empty text to find".into(),
                ));
            }
            if m.value.is_some() && m.set.is_none() && m.set_raw.is_none() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    "`value` goes with `set` or `set_raw`".into(),
                ));
            }
            if m.with.is_some() && m.replace.is_none() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    "`with` goes with `replace`".into(),
                ));
            }
            if (m.set.is_some() || m.set_raw.is_some()) && m.value.is_none() {
                return Err(invalid_at(path, text, span, "`set` needs a `value`".into()));
            }
            if m.replace.is_some() && m.with.is_none() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    "`replace` needs a `with`".into(),
                ));
            }
            if let Some(d) = &m.delimiters {
                let mut chars = d.chars();
                let first = chars.next().unwrap_or('|');
                Delimiters::from_msh(first, chars.as_str()).map_err(|e| {
                    invalid_at(path, text, span.clone(), format!("`delimiters`: {e}"))
                })?;
            }
        }
        let expected_message = match (&raw.expect.message_file, &raw.expect.message) {
            (Some(f), _) => Some(read(&dir.join(f))?),
            (None, Some(m)) => Some(m.clone()),
            _ => None,
        };
        if let Some(ack) = &raw.expect.ack
            && !["AA", "AE", "AR"].contains(&ack.as_str())
        {
            return Err(LoadError::Invalid {
                path: path.to_path_buf(),
                line: crate::profile::key_line(text, "ack"),
                column: 1,
                message: format!("expect.ack `{ack}` must be AA, AE or AR"),
            });
        }
        let expectation_paths = raw
            .expect
            .field
            .iter()
            .map(|f| &f.path)
            .chain(raw.expect.finding.iter().map(|f| &f.path))
            .chain(raw.expect.no_finding.iter().map(|f| &f.path));
        for p in expectation_paths {
            if let Err(e) = crate::hl7::names::dictionary().check_path(p) {
                return Err(LoadError::Invalid {
                    path: path.to_path_buf(),
                    line: find_line(text, &p.to_string()),
                    column: 1,
                    message: format!("expectation: {e}"),
                });
            }
        }
        Ok(Scenario {
            id: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            name: raw.name,
            kind: raw.kind,
            handoff: raw.handoff,
            description: raw.description,
            input_origin,
            input,
            mutations: raw.mutate.into_iter().map(|m| m.into_inner()).collect(),
            expect: raw.expect,
            expected_message,
            file: path.to_path_buf(),
        })
    }

    /// The input text after mutations: what is replayed. `Err` says which
    /// mutation would make the message larger than [`MAX_PREPARED_BYTES`].
    pub fn prepared_input(&self) -> Result<String, String> {
        apply_mutations(&self.input, &self.mutations)
    }
}

/// The largest message mutations may produce.
pub const MAX_PREPARED_BYTES: usize = 64 * 1024 * 1024;

/// The 1-based line of the first line that holds `needle` (1 when none does).
fn find_line(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// Applies mutations in order. Structural ones need a parseable message and
/// are skipped (the text kept) when the text no longer parses. A mutation
/// that would grow the message past [`MAX_PREPARED_BYTES`] stops with an error.
pub fn apply_mutations(input: &str, mutations: &[Mutation]) -> Result<String, String> {
    let mut text = input.to_string();
    for (n, m) in mutations.iter().enumerate() {
        if let Some(find) = m.replace.as_deref().filter(|f| !f.is_empty()) {
            let with = m.with.as_deref().unwrap_or("");
            let hits = text.matches(find).count();
            let grown = text.len() - hits * find.len() + hits * with.len();
            if grown > MAX_PREPARED_BYTES {
                return Err(format!(
                    "mutation {} (`replace`) would make the message {grown} bytes, more than the limit of {MAX_PREPARED_BYTES}",
                    n + 1
                ));
            }
        }
        if let Some(n) = m.truncate {
            let mut cut = n.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            continue;
        }
        if let Some(le) = m.line_endings {
            let eol = match le {
                LineEndings::Cr => "\r",
                LineEndings::Lf => "\n",
                LineEndings::Crlf => "\r\n",
            };
            text = text
                .replace("\r\n", "\n")
                .replace('\r', "\n")
                .split('\n')
                .collect::<Vec<_>>()
                .join(eol);
            continue;
        }
        if let Some(find) = &m.replace {
            text = text.replace(find.as_str(), m.with.as_deref().unwrap_or(""));
            continue;
        }
        if let Some(enc) = &m.declare_encoding {
            if let Ok(msg) = hl7::parse_one(&text) {
                let mut msg = msg;
                if let Some(f) = msg.segments[0].fields.get_mut(1) {
                    f.raw = enc.as_str().into();
                }
                text = msg.encode();
            }
            continue;
        }
        let Ok(mut msg) = hl7::parse_one(&text) else {
            continue;
        };
        if let Some(p) = &m.set {
            msg.set_value(p, m.value.as_deref().unwrap_or(""));
        } else if let Some(p) = &m.set_raw {
            msg.set(p, m.value.as_deref().unwrap_or(""));
        } else if let Some(p) = &m.delete {
            msg.delete(p);
        } else if let Some(d) = &m.delimiters {
            let mut chars = d.chars();
            let first = chars.next().unwrap_or('|');
            if let Ok(new) = Delimiters::from_msh(first, chars.as_str()) {
                msg = msg.with_new_delimiters(new);
            }
        } else if let Some(seg) = &m.append_segment {
            let eol = msg
                .segments
                .last()
                .map(|s| s.terminator)
                .filter(|t| !t.is_empty())
                .unwrap_or("\r");
            let mut t = msg.encode();
            if !t.ends_with(['\r', '\n']) {
                t.push_str(eol);
            }
            t.push_str(seg);
            t.push_str(eol);
            text = t;
            continue;
        } else if let Some(id) = &m.remove_segment {
            msg.segments.retain(|s| &s.name != id);
        }
        text = msg.encode();
    }
    Ok(text)
}
