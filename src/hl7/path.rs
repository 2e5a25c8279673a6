//! Field paths as HL7 people write them: `PID-5`, `PID-5.1`, `PID-3[2].1`,
//! `OBX[3]-5`, `PID-5.1.2`. All numbers are 1-based.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A segment id (`PID`, `ZPI`), stored inline: paths are made and compared
/// for every field of every replay, so they must not allocate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegName([u8; 3]);

/// Hashed as one word (the derived hash writes a length and three bytes):
/// maps keyed by segment are built for every message.
impl std::hash::Hash for SegName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let [a, b, c] = self.0;
        state.write_u32(u32::from_le_bytes([a, b, c, 0]));
    }
}

impl SegName {
    /// No segment: three spaces.
    pub const BLANK: SegName = SegName([b' '; 3]);

    /// The first three characters of `name` (non-ASCII ones become `?`).
    pub fn new(name: &str) -> SegName {
        let mut b = [b' '; 3];
        for (slot, c) in b.iter_mut().zip(name.chars()) {
            *slot = if c.is_ascii() { c as u8 } else { b'?' };
        }
        SegName(b)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// The three bytes (ASCII).
    pub fn bytes(&self) -> [u8; 3] {
        self.0
    }
}

impl std::ops::Deref for SegName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for SegName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for SegName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SegName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

// Compared byte for byte: the bytes are ASCII, so no UTF-8 check is needed.
impl PartialEq<str> for SegName {
    fn eq(&self, other: &str) -> bool {
        self.0.as_slice() == other.as_bytes()
    }
}

impl PartialEq<&str> for SegName {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_slice() == other.as_bytes()
    }
}

impl PartialEq<String> for SegName {
    fn eq(&self, other: &String) -> bool {
        self.0.as_slice() == other.as_bytes()
    }
}

impl PartialEq<SegName> for String {
    fn eq(&self, other: &SegName) -> bool {
        other == self
    }
}

impl PartialEq<SegName> for str {
    fn eq(&self, other: &SegName) -> bool {
        other == self
    }
}

/// A location in a message, from a segment down to a subcomponent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    pub segment: SegName,
    /// Which occurrence of the segment (1-based). `None`: every occurrence
    /// when a rule applies it, the first when a value is read.
    pub segment_number: Option<u32>,
    pub field_number: usize,
    /// Which repetition of the field. `None`: the whole field when no
    /// component is named, the first repetition otherwise.
    pub repetition_number: Option<u32>,
    pub component_number: Option<u32>,
    pub subcomponent_number: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field path `{path}`: {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: String,
}

impl Path {
    /// The field-level path of one segment occurrence: `OBX[2]-5`.
    pub fn field(segment: &str, segment_number: usize, field_number: usize) -> Path {
        Path::field_of(SegName::new(segment), segment_number, field_number)
    }

    /// [`Path::field`] for a segment id already at hand.
    pub fn field_of(segment: SegName, segment_number: usize, field_number: usize) -> Path {
        Path {
            segment,
            segment_number: Some(segment_number as u32),
            field_number,
            repetition_number: None,
            component_number: None,
            subcomponent_number: None,
        }
    }

    /// This path cut to its field: `PID-3[2].1` → `PID-3`.
    pub fn to_field(&self) -> Path {
        Path {
            repetition_number: None,
            component_number: None,
            subcomponent_number: None,
            ..self.clone()
        }
    }

    /// The same path at a given segment occurrence.
    pub fn at_occurrence(&self, n: usize) -> Path {
        Path {
            segment_number: Some(n as u32),
            ..self.clone()
        }
    }

    /// Is `self` (maybe with no occurrence) the same field as `other`?
    pub fn same_field(&self, other: &Path) -> bool {
        self.segment == other.segment
            && self.field_number == other.field_number
            && self.segment_number.unwrap_or(1) == other.segment_number.unwrap_or(1)
    }

    /// The text as a rule or profile reads it back: an occurrence given,
    /// even the first, keeps its brackets (`OBX[1]-5` is one occurrence;
    /// `OBX-5` in a rule means every occurrence).
    pub fn display_exact(&self) -> String {
        match self.segment_number {
            Some(1) => {
                let s = self.to_string();
                format!("{}[1]{}", &s[..3], &s[3..])
            }
            _ => self.to_string(),
        }
    }

    /// Canonical text, with the first segment occurrence written without brackets.
    pub fn display_canonical(&self) -> String {
        let mut p = self.clone();
        if p.segment_number == Some(1) {
            p.segment_number = None;
        }
        p.to_string()
    }
}

/// Appends a number's digits (no formatting machinery: paths are written
/// millions of times in a big `inspect --json`).
fn push_number(out: &mut [u8; 96], at: &mut usize, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        if *at < out.len() {
            out[*at] = d;
            *at += 1;
        }
    }
}

impl Path {
    /// The path's text into a stack buffer: `SEG[n]-f[r].c.s`.
    fn write_into<'b>(&self, out: &'b mut [u8; 96]) -> &'b str {
        let mut at = 0;
        let push = |out: &mut [u8; 96], at: &mut usize, b: &[u8]| {
            for &x in b {
                if *at < out.len() {
                    out[*at] = x;
                    *at += 1;
                }
            }
        };
        push(out, &mut at, self.segment.as_str().as_bytes());
        if let Some(n) = self.segment_number.filter(|&n| n != 1) {
            push(out, &mut at, b"[");
            push_number(out, &mut at, u64::from(n));
            push(out, &mut at, b"]");
        }
        push(out, &mut at, b"-");
        push_number(out, &mut at, self.field_number as u64);
        if let Some(r) = self.repetition_number {
            push(out, &mut at, b"[");
            push_number(out, &mut at, u64::from(r));
            push(out, &mut at, b"]");
        }
        if let Some(c) = self.component_number {
            push(out, &mut at, b".");
            push_number(out, &mut at, u64::from(c));
            if let Some(s) = self.subcomponent_number {
                push(out, &mut at, b".");
                push_number(out, &mut at, u64::from(s));
            }
        }
        // Only ASCII was written (a segment name is ASCII letters and digits).
        std::str::from_utf8(&out[..at]).unwrap_or("")
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 96];
        f.write_str(self.write_into(&mut buf))
    }
}

/// The largest numbers a path may name: nothing is allocated or searched
/// on a number beyond these.
pub const MAX_SEGMENT_NUMBER: u32 = 10_000;
pub const MAX_FIELD_NUMBER: u32 = 999;
pub const MAX_REPETITION_NUMBER: u32 = 10_000;
pub const MAX_COMPONENT_NUMBER: u32 = 99;

fn parse_number(text: &str, what: &str, path: &str) -> Result<u32, PathError> {
    let max = match what {
        "segment occurrence" => MAX_SEGMENT_NUMBER,
        "field number" => MAX_FIELD_NUMBER,
        "repetition" => MAX_REPETITION_NUMBER,
        _ => MAX_COMPONENT_NUMBER,
    };
    match text.parse::<u64>() {
        Ok(n) if (1..=u64::from(max)).contains(&n) => Ok(n as u32),
        Ok(n) if n > u64::from(max) => Err(PathError {
            path: path.to_string(),
            reason: format!("{what} {n} is more than the limit of {max}"),
        }),
        _ if text.bytes().all(|b| b.is_ascii_digit()) && text.len() > 18 => Err(PathError {
            path: path.to_string(),
            reason: format!("{what} `{text}` is more than the limit of {max}"),
        }),
        _ => Err(PathError {
            path: path.to_string(),
            reason: format!("{what} `{text}` must be a whole number from 1"),
        }),
    }
}

/// Splits `NAME[3]` into `NAME` and `Some(3)`.
fn split_bracket<'a>(
    text: &'a str,
    what: &str,
    path: &str,
) -> Result<(&'a str, Option<u32>), PathError> {
    match text.find('[') {
        None => Ok((text, None)),
        Some(open) => {
            let Some(inner) = text[open + 1..].strip_suffix(']') else {
                return Err(PathError {
                    path: path.to_string(),
                    reason: format!("`{text}`: a `[` needs a closing `]` at the end"),
                });
            };
            Ok((&text[..open], Some(parse_number(inner, what, path)?)))
        }
    }
}

impl FromStr for Path {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| PathError {
            path: s.to_string(),
            reason: reason.to_string(),
        };
        let text = s.trim();
        if text.len() < 5 {
            return Err(err(
                "expected SEGMENT-FIELD, for example PID-5 or OBX[2]-5.1",
            ));
        }
        // The segment part ends at the first '-' (or '.' in the PID.5 style).
        let sep = text
            .find(['-', '.'])
            .ok_or_else(|| err("expected `-` between segment and field, as in PID-5"))?;
        let (seg_part, rest) = (&text[..sep], &text[sep + 1..]);
        let (segment, segment_number) = split_bracket(seg_part, "segment occurrence", s)?;
        let seg_ok = segment.len() == 3
            && segment
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase())
            && segment
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !seg_ok {
            return Err(err(
                "segment must be three upper-case letters or digits, as in PID or ZPI",
            ));
        }
        let mut parts = rest.split('.');
        let field_part = parts.next().unwrap_or_default();
        let (field_text, repetition_number) = split_bracket(field_part, "repetition", s)?;
        let field_number = parse_number(field_text, "field number", s)? as usize;
        let component_number = parts
            .next()
            .map(|c| parse_number(c, "component number", s))
            .transpose()?;
        let subcomponent_number = parts
            .next()
            .map(|c| parse_number(c, "subcomponent number", s))
            .transpose()?;
        if parts.next().is_some() {
            return Err(err("too many parts: a path ends at the subcomponent"));
        }
        Ok(Path {
            segment: SegName::new(segment),
            segment_number,
            field_number,
            repetition_number,
            component_number,
            subcomponent_number,
        })
    }
}

impl Serialize for Path {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Written from a stack buffer: no string built per path.
        let mut buf = [0u8; 96];
        s.serialize_str(self.write_into(&mut buf))
    }
}

impl<'de> Deserialize<'de> for Path {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_all_forms() {
        assert_eq!(p("PID-5").field_number, 5);
        assert_eq!(p("PID-5.1").component_number, Some(1));
        let x = p("PID-3[2].1");
        assert_eq!(
            (x.repetition_number, x.component_number),
            (Some(2), Some(1))
        );
        let x = p("OBX[3]-5");
        assert_eq!((x.segment_number, x.field_number), (Some(3), 5));
        let x = p("PID-5.1.2");
        assert_eq!(x.subcomponent_number, Some(2));
        assert_eq!(p("PID.5.1").to_string(), "PID-5.1");
        assert_eq!(p("ZPI-1").segment, "ZPI");
    }

    #[test]
    fn displays_canonically() {
        for s in ["PID-5", "PID-5.1", "PID-3[2].1", "OBX[3]-5", "PID-5.1.2"] {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(p("OBX[1]-5").to_string(), "OBX-5");
        // As a rule reads it back, one occurrence stays one occurrence.
        assert_eq!(p("OBX[1]-5").display_exact(), "OBX[1]-5");
        assert_eq!(p("OBX-5").display_exact(), "OBX-5");
        assert_eq!(
            p("OBX[1]-5").display_exact().parse::<Path>(),
            Ok(p("OBX[1]-5"))
        );
    }

    #[test]
    fn rejects_bad_paths() {
        for s in [
            "",
            "PID",
            "pid-5",
            "PID-0",
            "PID-x",
            "PID-5.0",
            "PID[0]-1",
            "PID[2-1",
            "PI-5",
            "PID-1.2.3.4",
            "PID-4000000000",
            "PID-1000",
            "ZZZ[10001]-1",
            "PID-3[99999999999999999999]",
        ] {
            assert!(s.parse::<Path>().is_err(), "{s} should fail");
        }
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn every_part_is_written_and_the_largest_numbers_fit() {
        let p: Path = "OBX[12]-5[3].2.1".parse().expect("path");
        assert_eq!(p.to_string(), "OBX[12]-5[3].2.1");
        assert_eq!(
            serde_json::to_string(&p).expect("json"),
            "\"OBX[12]-5[3].2.1\""
        );
        let big = Path {
            segment: SegName::new("ZZZ"),
            segment_number: Some(u32::MAX),
            field_number: usize::MAX,
            repetition_number: Some(u32::MAX),
            component_number: Some(u32::MAX),
            subcomponent_number: Some(u32::MAX),
        };
        assert_eq!(
            big.to_string(),
            format!(
                "ZZZ[4294967295]-{}[4294967295].4294967295.4294967295",
                usize::MAX
            )
        );
    }
}
