//! What `baton inspect` shows of a file: every message with every populated
//! field (path, name, raw, unescaped value, populated components), and every
//! problem with its line and column.

use serde::Serialize;

use crate::finding::Severity;
use crate::hl7::{self, Message, ParseProblem, Path, escape, names};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentView {
    pub path: Path,
    pub name: String,
    pub raw: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldView {
    pub path: Path,
    pub name: String,
    pub raw: String,
    pub value: String,
    /// Byte range of the field in the message text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<std::ops::Range<usize>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// 1-based position of the message in its file.
    pub number: usize,
    /// 1-based line of its MSH.
    pub line: usize,
    pub message_type: String,
    pub control_id: String,
    pub version: String,
    pub segments: usize,
    pub fields: Vec<FieldView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileView {
    pub file: String,
    pub messages: Vec<MessageView>,
    pub problems: Vec<ParseProblem>,
}

impl FileView {
    pub fn has_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.severity != Severity::Information)
    }
}

/// The populated fields of a message, with components.
pub fn fields(msg: &Message) -> Vec<FieldView> {
    let d = &msg.delimiters;
    let dict = names::dictionary();
    msg.populated_fields()
        .into_iter()
        .map(|f| {
            let mut components = Vec::new();
            let is_delims = f.path.segment == "MSH" && f.path.field_number <= 2;
            if !is_delims {
                let reps: Vec<&str> = f.raw.split(d.repetition).collect();
                for (ri, rep) in reps.iter().enumerate() {
                    let comps: Vec<&str> = rep.split(d.component).collect();
                    if comps.len() < 2 && reps.len() < 2 {
                        continue;
                    }
                    for (ci, comp) in comps.iter().enumerate() {
                        if comp.is_empty() {
                            continue;
                        }
                        let p = Path {
                            repetition_number: (ri > 0).then_some(ri as u32 + 1),
                            component_number: Some(ci as u32 + 1),
                            ..f.path.clone()
                        };
                        components.push(ComponentView {
                            name: dict.path_name(&p),
                            raw: comp.to_string(),
                            value: escape::unescape(comp, d).into_owned(),
                            path: p,
                        });
                    }
                }
            }
            FieldView {
                name: dict.path_name(&f.path),
                raw: f.raw.to_string(),
                value: if is_delims {
                    f.raw.to_string()
                } else {
                    escape::unescape(f.raw, d).into_owned()
                },
                range: f.range.clone(),
                components,
                path: f.path,
            }
        })
        .collect()
}

/// Escape-sequence problems in a message, located by line and column.
pub fn escape_problems(msg: &Message) -> Vec<ParseProblem> {
    let mut out = Vec::new();
    for (seg_index, s) in msg.segments.iter().enumerate() {
        for (i, f) in s.fields.iter().enumerate() {
            if s.name == "MSH" && i < 2 {
                continue;
            }
            let (_, problems) = escape::unescape_checked(&f.raw, &msg.delimiters);
            for p in problems {
                let seg_start = s.range.as_ref().map_or(0, |r| r.start);
                let col_bytes = f.range.as_ref().map_or(0, |r| r.start - seg_start) + p.offset;
                let line_text = s
                    .range
                    .as_ref()
                    .and_then(|r| msg.text.get(r.clone()))
                    .unwrap_or("");
                let column = line_text
                    .get(..col_bytes.min(line_text.len()))
                    .map_or(1, |t| t.chars().count() + 1);
                out.push(ParseProblem {
                    line: if s.line_number > 0 {
                        s.line_number
                    } else {
                        msg.line_number + seg_index
                    },
                    column,
                    severity: Severity::Warning,
                    message: format!("{}-{}: {}", s.name, i + 1, p.message),
                });
            }
        }
    }
    out
}

/// A file read for inspection, whose message views are made one at a
/// time as they are printed or serialized: a 100,000-message file never
/// holds all its views in memory at once.
pub struct FileReport {
    pub file: String,
    pub messages: Vec<Message>,
    pub problems: Vec<ParseProblem>,
}

impl FileReport {
    pub fn read(file: &str, bytes: &[u8]) -> FileReport {
        let parsed = hl7::parse_bytes(bytes);
        let mut problems = parsed.problems;
        for m in &parsed.messages {
            problems.extend(escape_problems(m));
        }
        if parsed.messages.is_empty() && problems.is_empty() {
            problems.push(ParseProblem {
                line: 1,
                column: 1,
                severity: Severity::Error,
                message: if bytes.is_empty() {
                    "the file is empty".into()
                } else {
                    "no HL7 message found: a message starts with MSH".into()
                },
            });
        }
        problems.sort_by_key(|p| (p.line, p.column));
        FileReport {
            file: file.to_string(),
            messages: parsed.messages,
            problems,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.severity != Severity::Information)
    }

    /// The view of the message at `index` (0-based).
    pub fn view(&self, index: usize) -> Option<MessageView> {
        self.messages.get(index).map(|m| view(index, m))
    }
}

fn view(index: usize, m: &Message) -> MessageView {
    MessageView {
        number: index + 1,
        line: m.line_number,
        message_type: m.message_type(),
        control_id: m.control_id().to_string(),
        version: m.version().to_string(),
        segments: m.segments.len(),
        fields: fields(m),
    }
}

struct LazyMessages<'a>(&'a [Message]);

impl serde::Serialize for LazyMessages<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (i, m) in self.0.iter().enumerate() {
            seq.serialize_element(&view(i, m))?;
        }
        seq.end()
    }
}

impl serde::Serialize for FileReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FileView", 3)?;
        st.serialize_field("file", &self.file)?;
        st.serialize_field("messages", &LazyMessages(&self.messages))?;
        st.serialize_field("problems", &self.problems)?;
        st.end()
    }
}

/// Inspects one file's bytes, with every view made at once (small files, tests).
pub fn inspect_bytes(file: &str, bytes: &[u8]) -> FileView {
    let report = FileReport::read(file, bytes);
    FileView {
        file: report.file.clone(),
        messages: report
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| view(i, m))
            .collect(),
        problems: report.problems,
    }
}
