//! The HL7 v2 message model: files of one or many messages, segments and
//! fields with their byte ranges, reading and writing by path, and a
//! serializer that gives back an unmodified message byte for byte.
//!
//! A segment is split into fields at its field separator, keeping each
//! field's byte range (hl7-parser did this, building every component and
//! repetition on the way: a third of a replay's time; it stays as the peer in
//! the benchmarks). This module also finds message boundaries, batches, BOM,
//! framing bytes, line endings, v2.7 truncation characters, escapes, and
//! writes messages back byte for byte.

pub mod datetime;
pub mod escape;
pub mod names;
pub mod path;

use std::ops::Range;

use serde::Serialize;

pub use escape::{escape, unescape};
pub use path::{Path, PathError, SegName};

/// The delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
    /// The v2.7+ truncation character, the fifth in MSH-2 (`^~\&#`).
    pub truncation: Option<char>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
            truncation: None,
        }
    }
}

impl Delimiters {
    /// MSH-2 as written: `^~\&` (or with the truncation character).
    pub fn encoding_characters(&self) -> String {
        let mut s = String::new();
        s.push(self.component);
        s.push(self.repetition);
        s.push(self.escape);
        s.push(self.subcomponent);
        if let Some(t) = self.truncation {
            s.push(t);
        }
        s
    }

    /// Reads MSH-1 and MSH-2. Returns a message saying what is wrong.
    pub fn from_msh(field: char, encoding: &str) -> Result<Delimiters, String> {
        let chars: Vec<char> = encoding.chars().collect();
        if !(4..=5).contains(&chars.len()) {
            return Err(format!(
                "MSH-2 encoding characters `{encoding}` must be 4 characters (5 with the v2.7 truncation character), found {}",
                chars.len()
            ));
        }
        let mut all = vec![field];
        all.extend(&chars);
        for (i, c) in all.iter().enumerate() {
            // A control character (a line end, NUL) cannot delimit anything:
            // the segments themselves end in one.
            if c.is_control() {
                return Err(format!(
                    "delimiter `{}` in `{field}{encoding}` is a control character",
                    c.escape_debug()
                ));
            }
            if all[..i].contains(c) {
                return Err(format!(
                    "delimiter `{c}` appears twice in `{field}{encoding}`; each delimiter must be distinct"
                ));
            }
        }
        Ok(Delimiters {
            field,
            component: chars[0],
            repetition: chars[1],
            escape: chars[2],
            subcomponent: chars[3],
            truncation: chars.get(4).copied(),
        })
    }

    /// Why these delimiters are unusual though unambiguous (a space, a
    /// letter or digit, something other than `|^~\&`), to be warned about.
    pub fn unusual(&self) -> Option<String> {
        let all = [
            self.field,
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ];
        let odd: Vec<String> = all
            .iter()
            .filter(|c| c.is_whitespace() || c.is_alphanumeric())
            .map(|c| format!("`{}`", c.escape_debug()))
            .collect();
        (!odd.is_empty()).then(|| {
            format!(
                "unusual delimiter {} in MSH-1/MSH-2: read as declared; values containing it are split",
                odd.join(", ")
            )
        })
    }
}

/// One field of a segment, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Exactly as written, repetitions and components included. Shared, so
    /// that copying a message to map it copies no text.
    pub raw: std::sync::Arc<str>,
    /// Byte range inside the message text, when the field came from text.
    pub range: Option<Range<usize>>,
}

/// One segment: its name, fields (field 1 first) and how its line ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: SegName,
    /// `fields[0]` is field 1. For MSH, field 1 is the field separator and
    /// field 2 the encoding characters, as HL7 counts them.
    pub fields: Vec<Field>,
    /// Byte range inside the message text (without the terminator).
    pub range: Option<Range<usize>>,
    /// What ended the segment in the source: `\r`, `\n`, `\r\n` or nothing.
    pub terminator: &'static str,
    /// 1-based line in the file the message came from.
    pub line_number: usize,
}

impl Segment {
    pub fn new(name: &str) -> Segment {
        Segment {
            name: SegName::new(name),
            fields: Vec::new(),
            range: None,
            terminator: "\r",
            line_number: 0,
        }
    }

    pub fn field_raw(&self, number: usize) -> Option<&str> {
        self.fields.get(number.checked_sub(1)?).map(|f| &*f.raw)
    }
}

/// One HL7 v2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub delimiters: Delimiters,
    pub segments: Vec<Segment>,
    /// The message's text as it stood in the file (empty for built messages).
    pub text: String,
    /// Byte offset of the message inside its file.
    pub offset: usize,
    /// 1-based line of MSH in the file.
    pub line_number: usize,
}

/// A located problem found while reading a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseProblem {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column (in characters) in that line.
    pub column: usize,
    pub severity: crate::finding::Severity,
    pub message: String,
}

/// Everything read from one file.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub messages: Vec<Message>,
    pub problems: Vec<ParseProblem>,
    /// Batch envelope segments (FHS, BHS, BTS, FTS) seen, as written.
    pub envelopes: Vec<String>,
}

/// How many problems one file may report before the rest are summarised.
const MAX_PROBLEMS: usize = 200;

/// Decodes bytes as UTF-8 (borrowed, no copy), or as Latin-1 with a
/// problem when they are not.
pub fn decode_bytes(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, Option<ParseProblem>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), None),
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
            let problem = ParseProblem {
                line,
                column: 1,
                severity: crate::finding::Severity::Warning,
                message: format!(
                    "not valid UTF-8 at byte {}; read as Latin-1 (ISO 8859-1)",
                    e.valid_up_to()
                ),
            };
            (
                std::borrow::Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
                Some(problem),
            )
        }
    }
}

/// Reads a file's bytes: one message or many, batch envelopes, blank lines,
/// any line endings, a UTF-8 BOM and MLLP framing bytes are all accepted.
pub fn parse_bytes(bytes: &[u8]) -> ParsedFile {
    let (text, problem) = decode_bytes(bytes);
    let mut parsed = parse_text(&text);
    if let Some(p) = problem {
        parsed.problems.insert(0, p);
    }
    parsed
}

struct Line<'a> {
    start: usize,
    content: &'a str,
    terminator: &'a str,
    number: usize,
}

/// The lines of a text with their ends (CR, LF or CRLF), one at a time.
struct Lines<'a> {
    text: &'a str,
    at: usize,
    number: usize,
}

fn split_lines(text: &str) -> Lines<'_> {
    Lines {
        text,
        at: 0,
        number: 1,
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        if start >= bytes.len() {
            return None;
        }
        let rest = &bytes[start..];
        let (content_end, end) = match memchr::memchr2(b'\r', b'\n', rest) {
            Some(i) => {
                let i = start + i;
                let end = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                (i, end)
            }
            None => (bytes.len(), bytes.len()),
        };
        let line = Line {
            start,
            content: &self.text[start..content_end],
            terminator: &self.text[content_end..end],
            number: self.number,
        };
        self.number += 1;
        self.at = end;
        Some(line)
    }
}

/// A line end as kept on a segment: CR, LF, CRLF or nothing (the only
/// ends [`Lines`] gives), without a string per segment.
fn line_end(t: &str) -> &'static str {
    match t {
        "\r" => "\r",
        "\n" => "\n",
        "\r\n" => "\r\n",
        _ => "",
    }
}

fn is_segment_name(name: &str) -> bool {
    name.len() == 3
        && name.as_bytes()[0].is_ascii_uppercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Strips a BOM and MLLP framing bytes (0x0B start, 0x1C end) from a line,
/// returning how many bytes were removed from the front.
fn strip_framing(content: &str) -> (usize, &str) {
    let trimmed_front = content.trim_start_matches(['\u{feff}', '\u{0b}']);
    let front = content.len() - trimmed_front.len();
    let trimmed = trimmed_front.trim_end_matches('\u{1c}');
    (front, trimmed)
}

struct Builder {
    delimiters: Delimiters,
    segments: Vec<Segment>,
    start: usize,
    end: usize,
    line_number: usize,
}

/// Reads text: see [`parse_bytes`].
pub fn parse_text(text: &str) -> ParsedFile {
    let mut messages = Vec::new();
    let mut out = for_each_message(text, |m| messages.push(m));
    out.messages = messages;
    out
}

/// Reads text message by message: `each` gets every message as soon as it
/// ends, so memory holds one message at a time, not the file's. Returns the
/// problems and batch envelopes (its `messages` stay empty).
pub fn for_each_message(text: &str, mut each: impl FnMut(Message)) -> ParsedFile {
    let mut out = ParsedFile::default();
    let mut current: Option<Builder> = None;
    let mut suppressed = 0usize;
    let mut problem = |out: &mut ParsedFile, p: ParseProblem| {
        if out.problems.len() < MAX_PROBLEMS {
            out.problems.push(p);
        } else {
            suppressed += 1;
        }
    };

    for line in split_lines(text) {
        let (front, content) = strip_framing(line.content);
        let start = line.start + front;
        // A segment ended by the MLLP end byte: the byte and the line end
        // after it are framing, not part of the message.
        let framed = front + content.len() < line.content.len();
        let terminator = if framed { "" } else { line.terminator };
        if content.trim().is_empty() {
            // A blank line ends a message.
            if let Some(b) = current.take() {
                each(finish(text, b));
            }
            continue;
        }
        let name = content.get(..3).unwrap_or(content);
        if ["FHS", "BHS", "BTS", "FTS"].contains(&name) {
            if let Some(b) = current.take() {
                each(finish(text, b));
            }
            out.envelopes.push(content.to_string());
            continue;
        }
        if name == "MSH" {
            if let Some(b) = current.take() {
                each(finish(text, b));
            }
            match parse_msh(content, line.number) {
                Ok((delimiters, segment)) => {
                    if let Some(w) = delimiters.unusual() {
                        problem(
                            &mut out,
                            ParseProblem {
                                line: line.number,
                                column: 4,
                                severity: crate::finding::Severity::Warning,
                                message: w,
                            },
                        );
                    }
                    let mut segment = segment;
                    segment.terminator = line_end(terminator);
                    current = Some(Builder {
                        delimiters,
                        segments: vec![segment],
                        start,
                        end: start + content.len() + terminator.len(),
                        line_number: line.number,
                    });
                }
                Err((column, message)) => problem(
                    &mut out,
                    ParseProblem {
                        line: line.number,
                        column,
                        severity: crate::finding::Severity::Error,
                        message: format!("{message}; the message starting here was skipped"),
                    },
                ),
            }
            continue;
        }
        let Some(b) = current.as_mut() else {
            problem(
                &mut out,
                ParseProblem {
                    line: line.number,
                    column: 1,
                    severity: crate::finding::Severity::Error,
                    message: format!(
                        "`{}` is not inside a message: a message must start with MSH",
                        preview(content)
                    ),
                },
            );
            continue;
        };
        match parse_segment(content, b.delimiters, line.number) {
            Ok(mut segment) => {
                segment.terminator = line_end(terminator);
                // Ranges are relative to the message's text.
                let shift = start - b.start;
                shift_ranges(&mut segment, shift);
                b.segments.push(segment);
                b.end = start + content.len() + terminator.len();
            }
            Err((column, message)) => problem(
                &mut out,
                ParseProblem {
                    line: line.number,
                    column,
                    severity: crate::finding::Severity::Error,
                    message,
                },
            ),
        }
    }
    if let Some(b) = current.take() {
        each(finish(text, b));
    }
    if suppressed > 0 {
        out.problems.push(ParseProblem {
            line: out.problems.last().map(|p| p.line).unwrap_or(1),
            column: 1,
            severity: crate::finding::Severity::Error,
            message: format!("{suppressed} more problems in this file were not listed"),
        });
    }
    out
}

fn preview(s: &str) -> String {
    let p: String = s
        .chars()
        .take(24)
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    if s.chars().count() > 24 {
        format!("{p}…")
    } else {
        p
    }
}

fn shift_ranges(segment: &mut Segment, shift: usize) {
    if let Some(r) = segment.range.as_mut() {
        *r = r.start + shift..r.end + shift;
    }
    for f in &mut segment.fields {
        if let Some(r) = f.range.as_mut() {
            *r = r.start + shift..r.end + shift;
        }
    }
}

fn finish(text: &str, b: Builder) -> Message {
    Message {
        delimiters: b.delimiters,
        segments: b.segments,
        text: text[b.start..b.end].to_string(),
        offset: b.start,
        line_number: b.line_number,
    }
}

/// Reads an MSH line: delimiters, then the fields.
fn parse_msh(content: &str, line_number: usize) -> Result<(Delimiters, Segment), (usize, String)> {
    let mut chars = content.char_indices().skip(3);
    let Some((_, field_sep)) = chars.next() else {
        return Err((4, "MSH has no field separator (MSH-1)".to_string()));
    };
    let rest = &content[3 + field_sep.len_utf8()..];
    let encoding = rest.split(field_sep).next().unwrap_or_default();
    let delimiters =
        Delimiters::from_msh(field_sep, encoding).map_err(|m| (5, format!("bad MSH: {m}")))?;
    let mut segment = parse_segment(content, delimiters, line_number)?;
    // The split reads `MSH|^~\&|A` as fields [`^~\&`, `A`]; HL7 counts the
    // field separator itself as MSH-1.
    segment.fields.insert(
        0,
        Field {
            raw: field_sep.to_string().into(),
            range: Some(3..3 + field_sep.len_utf8()),
        },
    );
    Ok((delimiters, segment))
}

/// Splits one segment line into fields, with their byte ranges.
fn parse_segment(
    content: &str,
    d: Delimiters,
    line_number: usize,
) -> Result<Segment, (usize, String)> {
    let name = content.get(..3).unwrap_or(content);
    if !is_segment_name(name) {
        return Err((
            1,
            format!(
                "`{}` does not start with a segment name (three upper-case letters or digits)",
                preview(content)
            ),
        ));
    }
    if content.len() == 3 {
        return Ok(Segment {
            name: SegName::new(name),
            fields: Vec::new(),
            range: Some(0..3),
            terminator: "",
            line_number,
        });
    }
    let after = content[3..].chars().next();
    if after != Some(d.field) {
        return Err((
            4,
            format!(
                "segment {name} is followed by `{}` where the field separator `{}` was expected",
                after
                    .map(|c| c.escape_debug().to_string())
                    .unwrap_or_default(),
                d.field
            ),
        ));
    }
    // Fields are what lies between field separators: a separator inside a
    // value is always escaped (\F\), so a plain split reads the line whole.
    let sep = d.field.len_utf8();
    let mut offset = 3 + sep;
    let rest = &content[offset..];
    // As many fields as separators plus one: collected from a counted
    // range, each is written in its place.
    let mut pieces = split_parts(rest, Some(d.field));
    let fields = (0..count_parts(rest, d.field))
        .map(|_| {
            let piece = pieces.next().unwrap_or_default();
            let start = offset;
            offset += piece.len() + sep;
            Field {
                raw: if piece.is_empty() {
                    empty_raw()
                } else {
                    piece.into()
                },
                range: Some(start..start + piece.len()),
            }
        })
        .collect();
    Ok(Segment {
        name: SegName::new(name),
        fields,
        range: Some(0..content.len()),
        terminator: "",
        line_number,
    })
}

/// An empty field's text: one shared per thread (a message has many
/// empty fields; each would otherwise be an allocation).
fn empty_raw() -> std::sync::Arc<str> {
    thread_local! {
        static EMPTY: std::sync::Arc<str> = std::sync::Arc::from("");
    }
    EMPTY.with(std::sync::Arc::clone)
}

/// Parses text that must hold exactly one message.
pub fn parse_one(text: &str) -> Result<Message, Vec<ParseProblem>> {
    parse_one_noting(text).map(|(m, _)| m)
}

/// [`parse_one`], keeping the warnings met on the way (odd delimiters,
/// stray line endings) beside the message.
pub fn parse_one_noting(text: &str) -> Result<(Message, Vec<ParseProblem>), Vec<ParseProblem>> {
    let mut parsed = parse_text(text);
    let errors = parsed
        .problems
        .iter()
        .any(|p| p.severity == crate::finding::Severity::Error);
    if errors {
        return Err(parsed.problems);
    }
    match parsed.messages.len() {
        1 => Ok((parsed.messages.remove(0), parsed.problems)),
        0 => Err(vec![ParseProblem {
            line: 1,
            column: 1,
            severity: crate::finding::Severity::Error,
            message: "no message found: a message starts with MSH".to_string(),
        }]),
        n => Err(vec![ParseProblem {
            line: parsed.messages[1].line_number,
            column: 1,
            severity: crate::finding::Severity::Error,
            message: format!("expected one message, found {n}"),
        }]),
    }
}

// ---- reading and writing parts of a field ----

/// Part `number` (1-based) of `raw` split on `sep`, keeping empty parts
/// (`a^^b` → `a`, ``, `b`).
pub fn part(raw: &str, sep: char, number: u32) -> &str {
    let skip = (number as usize).saturating_sub(1);
    split_parts(raw, Some(sep)).nth(skip).unwrap_or("")
}

/// The parts of `raw` split on `sep` (by byte when `sep` is ASCII), empty
/// ones kept; `raw` whole when there is no separator.
pub fn split_parts(raw: &str, sep: Option<char>) -> SplitParts<'_> {
    SplitParts {
        rest: Some(raw),
        sep,
    }
}

/// See [`split_parts`].
pub struct SplitParts<'a> {
    rest: Option<&'a str>,
    sep: Option<char>,
}

impl<'a> Iterator for SplitParts<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let at = match self.sep {
            None => None,
            Some(sep) if sep.is_ascii() => find_byte(sep as u8, rest.as_bytes()).map(|i| (i, 1)),
            Some(sep) => rest.find(sep).map(|i| (i, sep.len_utf8())),
        };
        match at {
            Some((i, len)) => {
                self.rest = rest.get(i + len..);
                rest.get(..i)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// How many parts `raw` has when split on `sep` (1 for an empty value).
pub fn count_parts(raw: &str, sep: char) -> usize {
    if sep.is_ascii() {
        let (sep, bytes) = (sep as u8, raw.as_bytes());
        if bytes.len() > SHORT {
            return memchr::memchr_iter(sep, bytes).count() + 1;
        }
        return count_short(sep, bytes) + 1;
    }
    raw.split(sep).count()
}

/// Eight bytes read as one word (the slice holds at least eight).
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

const LOW_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that equals the byte in `pattern`
/// (repeated in every byte), and of no other byte.
fn matching_bytes(w: u64, pattern: u64) -> u64 {
    let x = w ^ pattern;
    !(((x & LOW_BITS) + LOW_BITS) | x) & HIGH_BITS
}

/// How many times `b` occurs in a short text, eight bytes at a time.
fn count_short(b: u8, bytes: &[u8]) -> usize {
    let pattern = u64::from_ne_bytes([b; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut n = 0;
    for c in &mut chunks {
        n += matching_bytes(word(c), pattern).count_ones() as usize;
    }
    n + chunks.remainder().iter().filter(|&&c| c == b).count()
}

/// The first `b` in a short text, eight bytes at a time.
fn find_short(b: u8, bytes: &[u8]) -> Option<usize> {
    let pattern = u64::from_ne_bytes([b; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let m = matching_bytes(word(c), pattern);
        if m != 0 {
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b)
        .map(|i| at + i)
}

/// Texts up to this long are searched eight bytes at a time; longer ones
/// (a segment's line) with `memchr`, whose set-up costs more than it saves
/// on a short value.
const SHORT: usize = 32;

/// The first `b` in `bytes`.
#[inline]
fn find_byte(b: u8, bytes: &[u8]) -> Option<usize> {
    if bytes.len() > SHORT {
        memchr::memchr(b, bytes)
    } else {
        find_short(b, bytes)
    }
}

/// Whether `raw` holds `c` (by byte when `c` is ASCII: no char searcher
/// set up for a short value).
#[inline]
pub(crate) fn holds(raw: &str, c: char) -> bool {
    if c.is_ascii() {
        find_byte(c as u8, raw.as_bytes()).is_some()
    } else {
        raw.contains(c)
    }
}

/// Reads a repetition / component / subcomponent of a field's raw value.
#[inline]
pub fn sub_value<'a>(
    raw: &'a str,
    d: &Delimiters,
    repetition: Option<u32>,
    component: Option<u32>,
    subcomponent: Option<u32>,
) -> &'a str {
    let mut v = raw;
    if repetition.is_none() && component.is_none() {
        return v;
    }
    v = part(v, d.repetition, repetition.unwrap_or(1));
    if let Some(c) = component {
        v = part(v, d.component, c);
        if let Some(s) = subcomponent {
            v = part(v, d.subcomponent, s);
        }
    }
    v
}

fn replace_part(raw: &str, sep: char, number: u32, f: impl FnOnce(&str) -> String) -> String {
    let number = (number as usize).max(1);
    let mut parts: Vec<String> = raw.split(sep).map(str::to_string).collect();
    if parts.len() < number {
        parts.resize(number, String::new());
    }
    parts[number - 1] = f(&parts[number - 1]);
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts.join(&sep.to_string())
}

/// Writes a repetition / component / subcomponent into a field's raw value.
pub fn with_sub_value(
    raw: &str,
    d: &Delimiters,
    repetition: Option<u32>,
    component: Option<u32>,
    subcomponent: Option<u32>,
    value: &str,
) -> String {
    if repetition.is_none() && component.is_none() {
        return value.to_string();
    }
    replace_part(
        raw,
        d.repetition,
        repetition.unwrap_or(1),
        |rep| match component {
            None => value.to_string(),
            Some(c) => replace_part(rep, d.component, c, |comp| match subcomponent {
                None => value.to_string(),
                Some(s) => replace_part(comp, d.subcomponent, s, |_| value.to_string()),
            }),
        },
    )
}

/// Where each occurrence of each segment stands in a message (see
/// [`Message::positions`]).
pub struct Positions(rustc_hash::FxHashMap<SegName, smallvec::SmallVec<[usize; 2]>>);

impl Positions {
    /// The index of occurrence `occurrence` (1-based) of segment `name`.
    pub fn get(&self, name: SegName, occurrence: u32) -> Option<usize> {
        let at = (occurrence as usize).checked_sub(1)?;
        self.0.get(&name)?.get(at).copied()
    }
}

/// A populated field of a message, at field level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef<'a> {
    /// `PID-5`, `OBX[2]-5`: always with the occurrence set.
    pub path: Path,
    pub raw: &'a str,
    /// The same text, shared.
    pub shared: &'a std::sync::Arc<str>,
    pub range: Option<Range<usize>>,
    /// Index of the segment in the message.
    pub segment_index: usize,
}

impl Message {
    /// An empty message with the given delimiters and an MSH carrying them.
    pub fn with_delimiters(delimiters: Delimiters) -> Message {
        let mut msh = Segment::new("MSH");
        msh.fields = vec![
            Field {
                raw: delimiters.field.to_string().into(),
                range: None,
            },
            Field {
                raw: delimiters.encoding_characters().into(),
                range: None,
            },
        ];
        Message {
            delimiters,
            segments: vec![msh],
            text: String::new(),
            offset: 0,
            line_number: 1,
        }
    }

    /// Serializes the message. An unmodified parsed message comes back byte
    /// for byte as it was read (line endings included); new segments end in `\r`.
    pub fn encode(&self) -> String {
        self.encode_with(None)
    }

    fn encode_with(&self, terminator: Option<&str>) -> String {
        let mut out = String::with_capacity(self.text.len().max(256));
        let sep = self.delimiters.field;
        for s in &self.segments {
            out.push_str(&s.name);
            if s.name == "MSH" && s.fields.len() >= 2 {
                out.push_str(&s.fields[0].raw);
                out.push_str(&s.fields[1].raw);
                for f in &s.fields[2..] {
                    out.push(sep);
                    out.push_str(&f.raw);
                }
            } else {
                for f in &s.fields {
                    out.push(sep);
                    out.push_str(&f.raw);
                }
            }
            out.push_str(terminator.unwrap_or(s.terminator));
        }
        out
    }

    /// The same message with every segment ending in `\r`, as sent on the wire.
    pub fn encode_wire(&self) -> String {
        self.encode_with(Some("\r"))
    }

    /// Index of the n-th (1-based) segment named `name`.
    pub fn segment_index(&self, name: &str, number: usize) -> Option<usize> {
        self.segment_index_of(SegName::new(name), number)
    }

    /// Index of the n-th (1-based) segment with this id.
    pub fn segment_index_of(&self, name: SegName, number: usize) -> Option<usize> {
        self.segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.name == name)
            .nth(number.checked_sub(1)?)
            .map(|(i, _)| i)
    }

    pub fn segment_count(&self, name: &str) -> usize {
        let name = SegName::new(name);
        self.segments.iter().filter(|s| s.name == name).count()
    }

    /// The raw text at a path, `None` when the segment or field is absent.
    pub fn get(&self, path: &Path) -> Option<&str> {
        let idx = self.segment_index_of(path.segment, path.segment_number.unwrap_or(1) as usize)?;
        let raw = self.segments[idx].field_raw(path.field_number)?;
        Some(sub_value(
            raw,
            &self.delimiters,
            path.repetition_number,
            path.component_number,
            path.subcomponent_number,
        ))
    }

    /// The raw text at a path read in the segment at `index` (whatever
    /// occurrence the path names): no search for the segment.
    pub fn get_in(&self, index: usize, path: &Path) -> &str {
        let Some(raw) = self
            .segments
            .get(index)
            .and_then(|s| s.field_raw(path.field_number))
        else {
            return "";
        };
        sub_value(
            raw,
            &self.delimiters,
            path.repetition_number,
            path.component_number,
            path.subcomponent_number,
        )
    }

    /// The raw text at a path, shared with the message when the path is a
    /// whole field (no copy), `None` when absent.
    pub fn get_shared(&self, path: &Path) -> Option<std::sync::Arc<str>> {
        if path.repetition_number.is_none() && path.component_number.is_none() {
            let idx =
                self.segment_index_of(path.segment, path.segment_number.unwrap_or(1) as usize)?;
            let f = self.segments[idx]
                .fields
                .get(path.field_number.checked_sub(1)?)?;
            return Some(f.raw.clone());
        }
        self.get(path).map(std::sync::Arc::from)
    }

    /// Where a path stands in the file the message came from: 1-based line
    /// and 1-based column (in characters) of the value's first character,
    /// or column 1 (the segment's start) when the value is empty, as the
    /// NIST validator reports a missing field. `None` when the segment is
    /// absent or the message was built rather than read.
    pub fn locate(&self, path: &Path) -> Option<(usize, usize)> {
        let idx = self.segment_index_of(path.segment, path.segment_number.unwrap_or(1) as usize)?;
        self.locate_in(idx, path)
    }

    /// [`Message::locate`] in the segment at `idx` (no search for it).
    pub fn locate_in(&self, idx: usize, path: &Path) -> Option<(usize, usize)> {
        let seg = self.segments.get(idx)?;
        let seg_range = seg.range.clone()?;
        let line = seg.line_number;
        let at_start = Some((line, 1));
        let Some(field) = path
            .field_number
            .checked_sub(1)
            .and_then(|i| seg.fields.get(i))
        else {
            return at_start;
        };
        let Some(field_range) = field.range.clone() else {
            return at_start;
        };
        let value = sub_value(
            &field.raw,
            &self.delimiters,
            path.repetition_number,
            path.component_number,
            path.subcomponent_number,
        );
        if value.is_empty() {
            return at_start;
        }
        // `sub_value` returns a slice of the field's text: its offset there.
        let within = (value.as_ptr() as usize).checked_sub(field.raw.as_ptr() as usize)?;
        let start = field_range.start + within;
        let before = self.text.get(seg_range.start..start)?;
        Some((line, before.chars().count() + 1))
    }

    /// The raw text at a path, empty when absent.
    pub fn get_or_empty(&self, path: &Path) -> &str {
        self.get(path).unwrap_or("")
    }

    /// The unescaped value at a path.
    pub fn value(&self, path: &Path) -> String {
        unescape(self.get_or_empty(path), &self.delimiters).into_owned()
    }

    /// Writes raw (already escaped) text at a path, creating the segment
    /// (appended at the end) and fields as needed. MSH-1 and MSH-2 are not written.
    pub fn set(&mut self, path: &Path, raw: &str) {
        if path.segment == "MSH" && path.field_number <= 2 {
            return;
        }
        let number = path.segment_number.unwrap_or(1) as usize;
        let idx = match self.segment_index(&path.segment, number) {
            Some(i) => i,
            None => {
                if raw.is_empty() {
                    return;
                }
                let have = self.segment_count(&path.segment);
                for _ in have..number {
                    self.segments.push(Segment::new(&path.segment));
                }
                self.segments.len() - 1
            }
        };
        self.set_in(idx, path, raw);
    }

    /// Writes raw text at a path in the segment at `index` (whatever
    /// occurrence the path names), creating fields as needed.
    pub fn set_in(&mut self, index: usize, path: &Path, raw: &str) {
        if path.segment == "MSH" && path.field_number <= 2 {
            return;
        }
        let d = self.delimiters;
        let Some(seg) = self.segments.get_mut(index) else {
            return;
        };
        if seg.fields.len() < path.field_number {
            if raw.is_empty() {
                return;
            }
            seg.fields.resize(
                path.field_number,
                Field {
                    raw: "".into(),
                    range: None,
                },
            );
        }
        let field = &mut seg.fields[path.field_number - 1];
        // A whole field is written as given (no copy made to compare).
        let whole = path.repetition_number.is_none() && path.component_number.is_none();
        let new = if whole {
            std::borrow::Cow::Borrowed(raw)
        } else {
            std::borrow::Cow::Owned(with_sub_value(
                &field.raw,
                &d,
                path.repetition_number,
                path.component_number,
                path.subcomponent_number,
                raw,
            ))
        };
        if *new != *field.raw {
            field.raw = (&*new).into();
            field.range = None;
            // A changed segment keeps no trailing empty fields.
            while seg.fields.len() > 2 && seg.fields.last().is_some_and(|f| f.raw.is_empty()) {
                seg.fields.pop();
            }
        }
    }

    /// Writes a plain value at a path, escaping it first.
    pub fn set_value(&mut self, path: &Path, value: &str) {
        let raw = escape(value, &self.delimiters);
        self.set(path, &raw);
    }

    /// Clears the value at a path.
    pub fn delete(&mut self, path: &Path) {
        self.set(path, "");
    }

    /// Every segment with its index and its 1-based occurrence among
    /// segments of the same name: `(index, segment, occurrence)`.
    pub fn segments_with_occurrence(&self) -> impl Iterator<Item = (usize, &Segment, usize)> {
        // A map, not a list search: many distinct segment names stay linear.
        // One lookup per run of a segment id (OBX, OBX, …).
        let mut counts: rustc_hash::FxHashMap<SegName, usize> = Default::default();
        self.segment_runs().flat_map(move |(name, run)| {
            let seen = counts.entry(name).or_default();
            let before = *seen;
            *seen += run.len();
            run.zip(before + 1..)
                .map(|(i, n)| (i, &self.segments[i], n))
        })
    }

    /// Each segment's 1-based occurrence among segments of its name, in order.
    pub fn occurrences(&self) -> Vec<u32> {
        self.segments_with_occurrence()
            .map(|(_, _, n)| n as u32)
            .collect()
    }

    /// Where each (segment, occurrence) stands in the message.
    pub fn positions(&self) -> Positions {
        // One entry per run of a segment id (OBX, OBX, … is one lookup).
        let mut map: rustc_hash::FxHashMap<SegName, smallvec::SmallVec<[usize; 2]>> =
            Default::default();
        for (name, run) in self.segment_runs() {
            map.entry(name).or_default().extend(run);
        }
        Positions(map)
    }

    /// The message's runs of one segment id, in order: each id with the
    /// indexes of its run (OBX, OBX, OBX is one run).
    pub fn segment_runs(&self) -> impl Iterator<Item = (SegName, Range<usize>)> + '_ {
        let mut i = 0;
        std::iter::from_fn(move || {
            let s = self.segments.get(i)?;
            let run = self.segments[i..]
                .iter()
                .take_while(|x| x.name == s.name)
                .count();
            let indexes = i..i + run;
            i += run;
            Some((s.name, indexes))
        })
    }

    /// Every populated field, at field level, in message order.
    pub fn populated_fields(&self) -> Vec<FieldRef<'_>> {
        self.segments_with_occurrence()
            .flat_map(|(segment_index, s, n)| {
                s.fields
                    .iter()
                    .zip(1..)
                    .filter(|(f, _)| !f.raw.is_empty())
                    .map(move |(f, i)| FieldRef {
                        path: Path::field_of(s.name, n, i),
                        raw: &f.raw,
                        shared: &f.raw,
                        range: f.range.clone(),
                        segment_index,
                    })
            })
            .collect()
    }

    /// MSH-9 as `TYPE^EVENT` (components 1 and 2).
    pub fn message_type(&self) -> String {
        self.message_type_text().into_owned()
    }

    /// [`Message::message_type`], borrowed from MSH-9 when it is written
    /// there as it reads (`^` between type and event).
    pub fn message_type_text(&self) -> std::borrow::Cow<'_, str> {
        let d = self.delimiters;
        let raw = self
            .segments
            .first()
            .and_then(|s| s.field_raw(9))
            .unwrap_or("");
        let t = sub_value(raw, &d, None, Some(1), None);
        let e = sub_value(raw, &d, None, Some(2), None);
        if e.is_empty() {
            return t.into();
        }
        // Both are slices of `raw` (the type at its start, then the event):
        // borrowed when `^` stands between them.
        let at = |part: &str| (part.as_ptr() as usize).checked_sub(raw.as_ptr() as usize);
        if let (Some(start), Some(event_at)) = (at(t), at(e))
            && d.component == '^'
            && event_at == start + t.len() + 1
            && let Some(both) = raw.get(start..event_at + e.len())
        {
            return both.into();
        }
        format!("{t}^{e}").into()
    }

    /// MSH-10.
    pub fn control_id(&self) -> &str {
        self.segments
            .first()
            .and_then(|s| s.field_raw(10))
            .unwrap_or("")
    }

    /// MSH-12 version (component 1).
    pub fn version(&self) -> &str {
        let raw = self
            .segments
            .first()
            .and_then(|s| s.field_raw(12))
            .unwrap_or("");
        sub_value(raw, &self.delimiters, None, Some(1), None)
    }

    /// Re-encodes the message with other delimiters, keeping every value.
    pub fn with_new_delimiters(&self, new: Delimiters) -> Message {
        let old = self.delimiters;
        let mut m = self.clone();
        m.delimiters = new;
        for s in &mut m.segments {
            let skip = if s.name == "MSH" { 2 } else { 0 };
            for (i, f) in s.fields.iter_mut().enumerate() {
                f.range = None;
                if i < skip {
                    continue;
                }
                f.raw = reencode(&f.raw, &old, &new).into();
            }
            if s.name == "MSH" && s.fields.len() >= 2 {
                s.fields[0].raw = new.field.to_string().into();
                s.fields[1].raw = new.encoding_characters().into();
            }
        }
        m.text = String::new();
        m
    }
}

fn reencode(raw: &str, old: &Delimiters, new: &Delimiters) -> String {
    raw.split(old.repetition)
        .map(|rep| {
            rep.split(old.component)
                .map(|comp| {
                    comp.split(old.subcomponent)
                        .map(|sub| escape(&unescape(sub, old), new))
                        .collect::<Vec<_>>()
                        .join(&new.subcomponent.to_string())
                })
                .collect::<Vec<_>>()
                .join(&new.component.to_string())
        })
        .collect::<Vec<_>>()
        .join(&new.repetition.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search and count agree with a byte loop for
    /// every length up to past [`SHORT`], every place of the byte, and
    /// neighbours that differ from it by one bit or by the high bit.
    #[test]
    fn short_searches_agree_with_a_byte_loop() {
        for b in [b'|', b'^', b'~', b'\\', b'&', 0x7f, 0x80, 0xff, 0] {
            for len in 0..=SHORT + 9 {
                let fills = [b ^ 1, b ^ 0x80, b.wrapping_add(1), b'A'];
                for fill in fills {
                    let none = vec![fill; len];
                    assert_eq!(find_short(b, &none), None);
                    assert_eq!(count_short(b, &none), 0);
                    for at in 0..len {
                        // One match, then a second one after it.
                        let mut bytes = none.clone();
                        for also in [at, at + 3] {
                            if also >= len {
                                break;
                            }
                            bytes[also] = b;
                            let count = bytes.iter().filter(|&&c| c == b).count();
                            assert_eq!(find_short(b, &bytes), Some(at), "{b} {len} {at}");
                            assert_eq!(count_short(b, &bytes), count, "{b} {len} {at}");
                        }
                    }
                }
            }
        }
    }

    const ORU: &str = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000-0500||ORU^R01|MSG1|P|2.5.1\rPID|1||123^^^HOSP^MR~456^^^SSA^SS||Müller^Hans\rOBX|1|NM|GLU^Glucose||5.4|mmol/L|3.9-5.8||||F\rOBX|2|ST|NOTE||a\\T\\b\r";

    fn p(s: &str) -> Path {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn unusual_but_unambiguous_delimiters_are_read_with_a_warning() {
        // A real sample file has a space for the subcomponent separator.
        let text = ORU.replacen("^~\\&", "^~\\ ", 1);
        let parsed = parse_text(&text);
        assert_eq!(parsed.messages.len(), 1, "{:?}", parsed.problems);
        assert_eq!(parsed.messages[0].delimiters.subcomponent, ' ');
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(
            parsed.problems[0].severity,
            crate::finding::Severity::Warning
        );
        assert_eq!((parsed.problems[0].line, parsed.problems[0].column), (1, 4));
        // A repeated delimiter is ambiguous: still an error.
        let parsed = parse_text(&ORU.replacen("^~\\&", "^~\\^", 1));
        assert!(parsed.messages.is_empty());
        assert_eq!(parsed.problems[0].severity, crate::finding::Severity::Error);
    }

    #[test]
    fn a_segment_ended_by_the_mllp_end_byte_round_trips() {
        let framed = format!("\u{0b}{}\u{1c}\r", ORU.trim_end());
        let parsed = parse_text(&framed);
        assert_eq!(parsed.messages.len(), 1, "{:?}", parsed.problems);
        let m = &parsed.messages[0];
        assert!(!m.text.contains('\u{1c}'), "{:?}", m.text);
        assert_eq!(m.encode(), m.text);
        assert_eq!(m.segments.len(), 4);
    }

    #[test]
    fn round_trips_byte_for_byte() {
        for text in [
            ORU.to_string(),
            ORU.replace('\r', "\n"),
            ORU.replace('\r', "\r\n"),
            ORU.trim_end().to_string(),
        ] {
            let parsed = parse_text(&text);
            assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
            assert_eq!(parsed.messages.len(), 1);
            assert_eq!(parsed.messages[0].encode(), text);
        }
    }

    #[test]
    fn locates_values_by_line_and_character_column() {
        let m = parse_one(ORU).unwrap();
        assert_eq!(m.locate(&p("MSH-9")), Some((1, 49)));
        assert_eq!(m.locate(&p("PID-3[2].4")), Some((2, 28)));
        // Column in characters: `ü` is two bytes but one column.
        assert_eq!(m.locate(&p("PID-5.2")), Some((2, 43)));
        assert_eq!(m.locate(&p("OBX[2]-5")), Some((4, 16)));
        // Empty or absent values point at the segment's start.
        assert_eq!(m.locate(&p("PID-4")), Some((2, 1)));
        assert_eq!(m.locate(&p("PID-30")), Some((2, 1)));
        assert_eq!(m.locate(&p("NK1-2")), None);
    }

    #[test]
    fn reads_paths() {
        let m = parse_one(ORU).unwrap();
        assert_eq!(m.get(&p("MSH-1")), Some("|"));
        assert_eq!(m.get(&p("MSH-2")), Some("^~\\&"));
        assert_eq!(m.get(&p("MSH-9")), Some("ORU^R01"));
        assert_eq!(m.get(&p("PID-3[2].1")), Some("456"));
        assert_eq!(m.get(&p("PID-3.4")), Some("HOSP"));
        assert_eq!(m.get(&p("PID-5.1")), Some("Müller"));
        assert_eq!(m.get(&p("OBX[2]-5")), Some("a\\T\\b"));
        assert_eq!(m.value(&p("OBX[2]-5")), "a&b");
        assert_eq!(m.get(&p("OBX[3]-5")), None);
        assert_eq!(m.message_type(), "ORU^R01");
        assert_eq!(m.version(), "2.5.1");
    }

    #[test]
    fn ranges_point_into_text() {
        let m = parse_one(ORU).unwrap();
        for f in m.populated_fields() {
            let r = f.range.clone().unwrap();
            assert_eq!(&m.text[r], f.raw, "{}", f.path);
        }
    }

    #[test]
    fn sets_and_deletes() {
        let mut m = parse_one(ORU).unwrap();
        m.set(&p("PID-15.1"), "spa");
        assert_eq!(m.get(&p("PID-15")), Some("spa"));
        m.set_value(&p("OBX[2]-5"), "x|y");
        assert_eq!(m.get(&p("OBX[2]-5")), Some("x\\F\\y"));
        m.delete(&p("PID-3[2]"));
        assert_eq!(m.get(&p("PID-3")), Some("123^^^HOSP^MR"));
        m.set(&p("ZPI-2"), "z");
        assert!(m.encode().ends_with("ZPI||z\r"));
        m.set(&p("PID-5.1.2"), "von");
        assert_eq!(m.get(&p("PID-5")), Some("Müller&von^Hans"));
    }

    #[test]
    fn the_message_type_reads_the_same_whatever_the_delimiters() {
        let cases = [
            ("MSH|^~\\&|A|B|||1||ORU^R01^ORU_R01|X|P|2.5.1\r", "ORU^R01"),
            ("MSH|*~\\&|A|B|||1||ORU*R01*ORU_R01|X|P|2.5.1\r", "ORU^R01"),
            ("MSH|^~\\&|A|B|||1||ORU~ADT^A01|X|P|2.5.1\r", "ORU"),
            ("MSH|^~\\&|A|B|||1||ORU^|X|P|2.5.1\r", "ORU"),
            ("MSH|^~\\&|A|B|||1||^R01|X|P|2.5.1\r", "^R01"),
            ("MSH|^~\\&|A|B|||1|||X|P|2.5.1\r", ""),
        ];
        for (text, want) in cases {
            let m = parse_one(text).unwrap();
            assert_eq!(m.message_type(), want, "{text}");
            assert!(
                matches!(m.message_type_text(), std::borrow::Cow::Borrowed(_))
                    || !text.contains("ORU^R01")
            );
        }
    }

    #[test]
    fn five_character_msh2_keeps_field_numbers() {
        let m = parse_one("MSH|^~\\&#|APP|FAC|||20240101||ORU^R01|X|P|2.7\r").unwrap();
        assert_eq!(m.delimiters.truncation, Some('#'));
        assert_eq!(m.get(&p("MSH-3")), Some("APP"));
        assert_eq!(m.message_type(), "ORU^R01");
    }

    #[test]
    fn splits_batches_and_blank_lines() {
        let text = format!("\u{feff}FHS|^~\\&\nBHS|^~\\&\n{ORU}\n\n{ORU}BTS|2\nFTS|1\n");
        let parsed = parse_text(&text);
        assert_eq!(parsed.messages.len(), 2, "{:?}", parsed.problems);
        assert_eq!(parsed.envelopes.len(), 4);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    }

    #[test]
    fn reports_located_problems() {
        let parsed = parse_text("PID|1\nMSH|&&&&|x\nMSH|^~\\&|A\nbad line\nPID|1");
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 2, 4]);
        assert_eq!(parsed.messages.len(), 1);
        assert_eq!(parsed.messages[0].segments.len(), 2);
    }

    #[test]
    fn binary_junk_never_panics() {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 256) as u8).collect();
        let parsed = parse_bytes(&junk);
        assert!(!parsed.problems.is_empty());
        let mut with_msh = b"MSH|^~\\&|".to_vec();
        with_msh.extend(&junk);
        let _ = parse_bytes(&with_msh);
    }

    #[test]
    fn reencodes_with_new_delimiters() {
        let m = parse_one(ORU).unwrap();
        let d = Delimiters::from_msh('#', "$~\\&").unwrap();
        let n = m.with_new_delimiters(d);
        let text = n.encode();
        assert!(text.starts_with("MSH#$~\\&#LAB#"));
        let back = parse_one(&text).unwrap();
        assert_eq!(back.value(&p("PID-5.1")), "Müller");
        assert_eq!(back.value(&p("OBX[2]-5")), "a&b");
    }
}
