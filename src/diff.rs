//! Field diffs keyed by path: source | mapped | expected, with the
//! character-level differences inside each changed value (`similar`).

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::hl7::{Message, Path, names};
use crate::replay::{Outcome, ScenarioResult};
use crate::scenario::OutcomeKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    Equal,
    Delete,
    Insert,
}

/// A run of characters in a character-level diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub kind: SpanKind,
    pub text: String,
}

/// Character-level differences from `a` to `b`, adjacent runs merged.
pub fn char_diff(a: &str, b: &str) -> Vec<Span> {
    let diff = TextDiff::from_chars(a, b);
    let mut out: Vec<Span> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => SpanKind::Equal,
            ChangeTag::Delete => SpanKind::Delete,
            ChangeTag::Insert => SpanKind::Insert,
        };
        let text = change.value();
        match out.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(text),
            _ => out.push(Span {
                kind,
                text: text.to_string(),
            }),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Same,
    Changed,
    Added,
    Removed,
}

/// One row of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffRow {
    pub path: Path,
    /// Where the value ended up, when not at `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Path>,
    /// Borrowed from the dictionary for a plain field: no copy per row.
    pub name: std::borrow::Cow<'static, str>,
    pub source: Option<String>,
    pub mapped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    pub change: Change,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeKind>,
    /// Rule ids, or the 0357 code and reason, in words.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Source → mapped, character by character (empty when equal).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_to_mapped: Vec<Span>,
    /// Mapped → expected (empty when equal or no expectation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapped_to_expected: Vec<Span>,
    /// The mapped value differs from the expected message's (false when
    /// the scenario gives no expected message).
    pub differs_from_expected: bool,
}

fn change_of(a: Option<&str>, b: Option<&str>) -> Change {
    match (a, b) {
        (Some(x), Some(y)) if x == y => Change::Same,
        (Some(_), Some(_)) => Change::Changed,
        (None, Some(_)) => Change::Added,
        (Some(_), None) => Change::Removed,
        (None, None) => Change::Same,
    }
}

fn spans(a: Option<&str>, b: Option<&str>) -> Vec<Span> {
    match (a, b) {
        (Some(x), Some(y)) if x == y => Vec::new(),
        (None, None) => Vec::new(),
        _ => char_diff(a.unwrap_or(""), b.unwrap_or("")),
    }
}

/// Diffs two messages field by field (every populated field of either).
pub fn diff_messages(a: &Message, b: &Message) -> Vec<DiffRow> {
    // Every populated field of each side, keyed by a small copied key
    // (segment, occurrence, field): one pass each, no search, no pointer
    // chasing into the paths while hashing.
    type Key = (crate::hl7::SegName, u32, usize);
    let key = |p: &Path| (p.segment, p.segment_number.unwrap_or(1), p.field_number);
    let fa = a.populated_fields();
    let fb = b.populated_fields();
    let mut in_b: rustc_hash::FxHashMap<Key, usize> = rustc_hash::FxHashMap::default();
    in_b.reserve(fb.len());
    for (i, f) in fb.iter().enumerate() {
        in_b.insert(key(&f.path), i);
    }
    let mut seen_in_b = vec![false; fb.len()];
    let mut rows = Vec::with_capacity(fa.len().max(fb.len()));
    let row = |p: &Path, x: Option<&str>, y: Option<&str>| DiffRow {
        name: names::name_of(p),
        source: x.map(str::to_string),
        mapped: y.map(str::to_string),
        expected: None,
        change: change_of(x, y),
        outcome: None,
        detail: String::new(),
        source_to_mapped: spans(x, y),
        mapped_to_expected: Vec::new(),
        differs_from_expected: false,
        target: None,
        path: p.clone(),
    };
    for f in &fa {
        let y = in_b.get(&key(&f.path)).map(|&i| {
            seen_in_b[i] = true;
            fb[i].raw
        });
        rows.push(row(&f.path, Some(f.raw), y));
    }
    for (f, seen) in fb.iter().zip(seen_in_b) {
        if !seen {
            rows.push(row(&f.path, None, Some(f.raw)));
        }
    }
    rows
}

/// The diff of a replayed scenario: one row per accounted field, then one
/// per field only the expected message has.
pub fn diff_scenario(result: &ScenarioResult) -> Vec<DiffRow> {
    let has_expected = result.expected_text.is_some();
    let mut rows: Vec<DiffRow> = result
        .replay
        .fields
        .iter()
        .map(|f| {
            let target = match &f.outcome {
                Outcome::Transformed { target, .. } if !target.same_field(&f.path) => {
                    Some(target.clone())
                }
                _ => None,
            };
            let exp = has_expected.then(|| f.expected.as_deref().map(str::to_string));
            let mut detail = match &f.outcome {
                Outcome::Accepted => String::new(),
                Outcome::Transformed { rules, .. } => rules.join(", "),
                Outcome::Rejected {
                    code,
                    reason,
                    rules,
                    ..
                } => {
                    if rules.is_empty() {
                        format!("{code}: {reason}")
                    } else {
                        format!("{code}: {reason} [{}]", rules.join(", "))
                    }
                }
                Outcome::Dropped { rule, reason } => match rule {
                    Some(r) => format!("{r}: {reason}"),
                    None => reason.clone(),
                },
            };
            // Warnings ride on a row that is not rejected.
            if f.outcome.kind() != crate::scenario::OutcomeKind::Rejected {
                for w in f
                    .findings
                    .iter()
                    .filter(|w| w.severity != crate::finding::Severity::Error)
                {
                    if !detail.is_empty() {
                        detail.push_str("; ");
                    }
                    detail.push_str(&format!(
                        "{} {} ({}): {}",
                        w.severity.as_str(),
                        w.code,
                        w.side.as_str(),
                        w.reason
                    ));
                }
            }
            let src = f.source.as_deref();
            let map = f.mapped.as_deref();
            DiffRow {
                path: f.path.clone(),
                target,
                name: f.name.clone(),
                source: f.source.as_deref().map(str::to_string),
                mapped: f.mapped.as_deref().map(str::to_string),
                expected: exp.clone().flatten(),
                change: change_of(src, map),
                outcome: Some(f.outcome.kind()),
                detail,
                source_to_mapped: spans(src, map),
                mapped_to_expected: match &exp {
                    Some(e) if f.differs_from_expected => spans(map, e.as_deref()),
                    _ => Vec::new(),
                },
                differs_from_expected: f.differs_from_expected,
            }
        })
        .collect();
    rows.extend(result.expected_only.iter().map(|o| DiffRow {
        path: o.path.clone(),
        target: None,
        name: o.name.clone(),
        source: None,
        mapped: None,
        expected: Some(o.expected.clone()),
        change: Change::Same,
        outcome: None,
        detail: "only in the expected message: no field of the source reaches it".into(),
        source_to_mapped: Vec::new(),
        mapped_to_expected: spans(None, Some(&o.expected)),
        differs_from_expected: true,
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_diff_marks_changes() {
        let d = char_diff("Spanish", "spa");
        let deleted: String = d
            .iter()
            .filter(|s| s.kind == SpanKind::Delete)
            .map(|s| s.text.as_str())
            .collect();
        let inserted: String = d
            .iter()
            .filter(|s| s.kind == SpanKind::Insert)
            .map(|s| s.text.as_str())
            .collect();
        assert!(!deleted.is_empty() && !inserted.is_empty());
        assert!(
            char_diff("same", "same")
                .iter()
                .all(|s| s.kind == SpanKind::Equal)
        );
    }

    #[test]
    fn diffs_messages_by_path() {
        let a = crate::hl7::parse_one("MSH|^~\\&|A\rPID|1||123||Doe^John\r").unwrap();
        let b = crate::hl7::parse_one("MSH|^~\\&|A\rPID|1||123||Doe^Jon|||F\r").unwrap();
        let rows = diff_messages(&a, &b);
        let by = |p: &str| {
            rows.iter()
                .find(|r| r.path.to_string() == p)
                .unwrap()
                .change
        };
        assert_eq!(by("PID-3"), Change::Same);
        assert_eq!(by("PID-5"), Change::Changed);
        assert_eq!(by("PID-8"), Change::Added);
    }
}
