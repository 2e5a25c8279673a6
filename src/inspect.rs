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

/// The populated components a field's view lists, with their paths: those
/// of a composite or repeated value (a plain value lists none).
fn components_of<'a>(
    path: &'a Path,
    raw: &'a str,
    d: &'a hl7::Delimiters,
) -> impl Iterator<Item = (Path, &'a str)> + 'a {
    let repeated = raw.contains(d.repetition);
    raw.split(d.repetition)
        .enumerate()
        .filter(move |(_, rep)| repeated || rep.contains(d.component))
        .flat_map(move |(ri, rep)| {
            rep.split(d.component)
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(move |(ci, comp)| {
                    let p = Path {
                        repetition_number: (ri > 0).then_some(ri as u32 + 1),
                        component_number: Some(ci as u32 + 1),
                        ..path.clone()
                    };
                    (p, comp)
                })
        })
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
                for (p, comp) in components_of(&f.path, f.raw, d) {
                    components.push(ComponentView {
                        name: dict.path_name(&p),
                        raw: comp.to_string(),
                        value: escape::unescape(comp, d).into_owned(),
                        path: p,
                    });
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
            // Most values hold no escape at all: nothing to decode or copy.
            if (s.name == "MSH" && i < 2) || !f.raw.contains(msg.delimiters.escape) {
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

/// A file without messages says why; problems go in file order.
fn settle_problems(problems: &mut Vec<ParseProblem>, no_message: bool, empty: bool) {
    if no_message && problems.is_empty() {
        problems.push(ParseProblem {
            line: 1,
            column: 1,
            severity: Severity::Error,
            message: if empty {
                "the file is empty".into()
            } else {
                "no HL7 message found: a message starts with MSH".into()
            },
        });
    }
    problems.sort_by_key(|p| (p.line, p.column));
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
        settle_problems(&mut problems, parsed.messages.is_empty(), bytes.is_empty());
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

/// Writes one file's `inspect --json` object (`{"file","messages","problems"}`,
/// the shape [`FileReport`] serializes to) while reading it: each message is
/// parsed, viewed and written before the next is read, so memory holds one
/// message, not the file's. Returns whether the file has errors.
pub fn write_file_json(
    out: &mut impl std::io::Write,
    file: &str,
    bytes: &[u8],
) -> std::io::Result<bool> {
    let (text, decoded) = hl7::decode_bytes(bytes);
    write!(out, "{{\"file\":")?;
    serde_json::to_writer(&mut *out, file)?;
    write!(out, ",\"messages\":[")?;
    // Messages are viewed on every core, a batch at a time, and written in order.
    let mut count = 0usize;
    let mut escapes = Vec::new();
    let mut written: std::io::Result<()> = Ok(());
    // JSON is about 15 bytes per input byte: small batches keep it in the caches.
    let mut ordered = crate::ordered::Ordered::with_limits(
        32,
        1 << 20,
        |i, m: &Message| {
            let mut buf = Vec::with_capacity(m.text.len() * 16);
            let json = serde_json::to_writer(&mut buf, &JsonMessage(i, m)).map(|()| buf);
            (json, escape_problems(m))
        },
        |(json, problems): (serde_json::Result<Vec<u8>>, Vec<ParseProblem>)| {
            escapes.extend(problems);
            if written.is_ok() {
                written = (|| {
                    if count > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(&json?)?;
                    Ok(())
                })();
            }
            count += 1;
        },
    );
    let parsed = hl7::for_each_message(&text, |m| {
        let size = m.text.len();
        ordered.push(m, size);
    });
    ordered.finish();
    written?;
    let mut problems = parsed.problems;
    if let Some(p) = decoded {
        problems.insert(0, p);
    }
    problems.extend(escapes);
    settle_problems(&mut problems, count == 0, bytes.is_empty());
    write!(out, "],\"problems\":")?;
    serde_json::to_writer(&mut *out, &problems)?;
    write!(out, "}}")?;
    Ok(problems.iter().any(|p| p.severity != Severity::Information))
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

/// A message's `inspect --json` view written straight from the message:
/// the same shape as [`MessageView`], with no copy of any value.
struct JsonMessage<'a>(usize, &'a Message);

impl Serialize for JsonMessage<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let m = self.1;
        let mut st = s.serialize_struct("MessageView", 7)?;
        st.serialize_field("number", &(self.0 + 1))?;
        st.serialize_field("line", &m.line_number)?;
        st.serialize_field("message_type", &m.message_type())?;
        st.serialize_field("control_id", m.control_id())?;
        st.serialize_field("version", m.version())?;
        st.serialize_field("segments", &m.segments.len())?;
        st.serialize_field("fields", &JsonFields(m))?;
        st.end()
    }
}

struct JsonFields<'a>(&'a Message);

impl Serialize for JsonFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let m = self.0;
        let mut seq = s.serialize_seq(None)?;
        for f in m.populated_fields() {
            seq.serialize_element(&JsonField(&f, m))?;
        }
        seq.end()
    }
}

/// A path's name from the dictionary, written without building a string.
struct PathName<'a>(&'a Path);

impl Serialize for PathName<'_> {
    /// Written as one string: a field's name straight from the dictionary,
    /// a component's (`Field / Component`) made once per thread and kept
    /// (the dictionary's names are finite), not formatted piece by piece.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        type Key = (hl7::SegName, usize, Option<u32>, Option<u32>);
        thread_local! {
            static NAMES: std::cell::RefCell<rustc_hash::FxHashMap<Key, Box<str>>> =
                Default::default();
        }
        let path = self.0;
        let dict = names::dictionary();
        let Some(field) = dict.field_of(path.segment, path.field_number) else {
            return s.collect_str(self);
        };
        // Only what the dictionary defines is named (and kept): the kept
        // names are bounded by the dictionary, whatever the message says.
        let Some((c, comp)) = path
            .component_number
            .and_then(|c| Some((c, dict.component(&field.data_type, c)?)))
        else {
            return s.serialize_str(&field.name);
        };
        let sub = path
            .subcomponent_number
            .filter(|&n| dict.component(&comp.data_type, n).is_some());
        let key = (path.segment, path.field_number, Some(c), sub);
        NAMES.with(|names| {
            let mut names = names.borrow_mut();
            let name = names.entry(key).or_insert_with(|| self.to_string().into());
            s.serialize_str(name)
        })
    }
}

impl std::fmt::Display for PathName<'_> {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dict = names::dictionary();
        let path = self.0;
        let Some(field) = dict.field_of(path.segment, path.field_number) else {
            if path.segment.starts_with('Z') {
                return write!(out, "{} (site-defined segment)", path.segment);
            }
            return Ok(());
        };
        out.write_str(&field.name)?;
        if let Some(c) = path.component_number
            && let Some(comp) = dict.component(&field.data_type, c)
        {
            write!(out, " / {}", comp.name)?;
            if let Some(sub) = path.subcomponent_number
                && let Some(sub) = dict.component(&comp.data_type, sub)
            {
                write!(out, " / {}", sub.name)?;
            }
        }
        Ok(())
    }
}

struct JsonField<'a>(&'a hl7::FieldRef<'a>, &'a Message);

impl Serialize for JsonField<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (f, m) = (self.0, self.1);
        let d = &m.delimiters;
        let is_delims = f.path.segment == "MSH" && f.path.field_number <= 2;
        let value = if is_delims {
            std::borrow::Cow::Borrowed(f.raw)
        } else {
            escape::unescape(f.raw, d)
        };
        let components = !is_delims && components_of(&f.path, f.raw, d).next().is_some();
        let mut st = s.serialize_struct("FieldView", 6)?;
        st.serialize_field("path", &f.path)?;
        st.serialize_field("name", &PathName(&f.path))?;
        st.serialize_field("raw", f.raw)?;
        st.serialize_field("value", &value)?;
        if let Some(r) = &f.range {
            st.serialize_field("range", r)?;
        }
        if components {
            st.serialize_field("components", &JsonComponents(f, d))?;
        }
        st.end()
    }
}

struct JsonComponents<'a>(&'a hl7::FieldRef<'a>, &'a hl7::Delimiters);

impl Serialize for JsonComponents<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct One<'a>(Path, &'a str, &'a hl7::Delimiters);
        impl Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut st = s.serialize_struct("ComponentView", 4)?;
                st.serialize_field("path", &self.0)?;
                st.serialize_field("name", &PathName(&self.0))?;
                st.serialize_field("raw", self.1)?;
                st.serialize_field("value", &escape::unescape(self.1, self.2))?;
                st.end()
            }
        }
        let (f, d) = (self.0, self.1);
        let mut seq = s.serialize_seq(None)?;
        for (p, comp) in components_of(&f.path, f.raw, d) {
            seq.serialize_element(&One(p, comp, d))?;
        }
        seq.end()
    }
}
