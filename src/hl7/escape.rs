//! HL7 v2 escape sequences, written here rather than taken from hl7-parser,
//! whose decoder corrupts values when non-ASCII text precedes an escape.

use super::Delimiters;

/// A problem found while decoding escape sequences in one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeProblem {
    /// Character offset of the escape character inside the raw value.
    pub offset: usize,
    pub message: String,
}

/// Decodes `\F\ \S\ \T\ \R\ \E\ \P\ \Xhh..\ \.br\ \H\ \N\` and friends.
/// Unknown or unterminated sequences are kept literally. Borrows when there
/// is nothing to decode.
pub fn unescape<'a>(raw: &'a str, d: &Delimiters) -> std::borrow::Cow<'a, str> {
    if !super::holds(raw, d.escape) {
        return std::borrow::Cow::Borrowed(raw);
    }
    std::borrow::Cow::Owned(unescape_checked(raw, d).0)
}

/// Like [`unescape`], also returning the sequences that could not be decoded.
pub fn unescape_checked(raw: &str, d: &Delimiters) -> (String, Vec<EscapeProblem>) {
    let esc = d.escape;
    if !raw.contains(esc) {
        return (raw.to_string(), Vec::new());
    }
    let mut out = String::with_capacity(raw.len());
    let mut problems = Vec::new();
    let mut rest = raw;
    let mut consumed = 0usize;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + esc.len_utf8()..];
        let Some(end) = after.find(esc) else {
            problems.push(EscapeProblem {
                offset: consumed + start,
                message: format!("unterminated escape sequence starting `{esc}`"),
            });
            out.push_str(&rest[start..]);
            return (out, problems);
        };
        let body = &after[..end];
        match decode_body(body, d) {
            Some(text) => out.push_str(&text),
            None => {
                problems.push(EscapeProblem {
                    offset: consumed + start,
                    message: format!("unknown escape sequence `{esc}{body}{esc}`"),
                });
                out.push(esc);
                out.push_str(body);
                out.push(esc);
            }
        }
        let step = start + esc.len_utf8() + end + esc.len_utf8();
        consumed += step;
        rest = &rest[step..];
    }
    out.push_str(rest);
    (out, problems)
}

fn decode_body(body: &str, d: &Delimiters) -> Option<String> {
    match body {
        "F" => return Some(d.field.to_string()),
        "S" => return Some(d.component.to_string()),
        "T" => return Some(d.subcomponent.to_string()),
        "R" => return Some(d.repetition.to_string()),
        "E" => return Some(d.escape.to_string()),
        "P" => return d.truncation.map(|c| c.to_string()),
        // Highlighting on/off carries no text.
        "H" | "N" => return Some(String::new()),
        ".br" => return Some("\n".to_string()),
        _ => {}
    }
    if let Some(hex) = body.strip_prefix('X') {
        if hex.is_empty() || hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect();
        return Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            // Not UTF-8: read the bytes as Latin-1, which keeps every byte visible.
            Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
        });
    }
    if let Some(rest) = body.strip_prefix(".sp") {
        let n: usize = if rest.trim().is_empty() {
            1
        } else {
            rest.trim().parse().ok()?
        };
        return Some("\n".repeat(n.min(100)));
    }
    // Formatting commands (.in .ti .sk .ce .fi .nf) and character-set switches
    // (\C..\ \M..\) and locally defined escapes (\Z..\) carry no text of their own.
    if [".in", ".ti", ".sk", ".ce", ".fi", ".nf"]
        .iter()
        .any(|p| body.starts_with(p))
        || ((body.starts_with('C') || body.starts_with('M'))
            && body.len() > 1
            && body[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        || body.starts_with('Z')
    {
        return Some(String::new());
    }
    None
}

/// Encodes a plain value so that it can stand in a field: delimiters become
/// escape sequences and line breaks become `\.br\`.
pub fn escape(value: &str, d: &Delimiters) -> String {
    let e = d.escape;
    let mut out = String::with_capacity(value.len() + 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let code = if c == d.escape {
            Some("E")
        } else if c == d.field {
            Some("F")
        } else if c == d.component {
            Some("S")
        } else if c == d.subcomponent {
            Some("T")
        } else if c == d.repetition {
            Some("R")
        } else if Some(c) == d.truncation {
            Some("P")
        } else if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            Some(".br")
        } else if c == '\n' {
            Some(".br")
        } else {
            None
        };
        match code {
            Some(code) => {
                out.push(e);
                out.push_str(code);
                out.push(e);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Delimiters {
        Delimiters::default()
    }

    #[test]
    fn decodes_standard_sequences() {
        assert_eq!(unescape(r"A\F\B\S\C\T\D\R\E\E\", &d()), "A|B^C&D~E\\");
        assert_eq!(unescape(r"line1\.br\line2", &d()), "line1\nline2");
        assert_eq!(unescape(r"\X0D\\X0A\", &d()), "\r\n");
        assert_eq!(unescape(r"\H\bold\N\", &d()), "bold");
    }

    #[test]
    fn non_ascii_before_escape_is_kept() {
        assert_eq!(unescape(r"Müller\T\Straße", &d()), "Müller&Straße");
        assert_eq!(unescape("µg\\S\\L", &d()), "µg^L");
    }

    #[test]
    fn bad_sequences_are_reported_and_kept() {
        let (v, p) = unescape_checked(r"A\Q\B", &d());
        assert_eq!(v, r"A\Q\B");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].offset, 1);
        let (v, p) = unescape_checked(r"A\F", &d());
        assert_eq!(v, r"A\F");
        assert!(p[0].message.contains("unterminated"));
    }

    #[test]
    fn escape_round_trips() {
        let plain = "a|b^c&d~e\\f\nnext";
        let enc = escape(plain, &d());
        assert_eq!(enc, r"a\F\b\S\c\T\d\R\e\E\f\.br\next");
        assert_eq!(unescape(&enc, &d()), plain);
    }
}
