//! Field diffs keyed by path: source | mapped | expected, with the
//! character-level differences inside each changed value (`similar`).

use std::sync::Arc;

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
    /// Values shared with the messages: a row copies no text.
    pub source: Option<Arc<str>>,
    pub mapped: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Arc<str>>,
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
    /// The most serious finding on a row that is not rejected (a warning or
    /// information riding on it); for a rejected row, its error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::finding::Severity>,
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
    // Segment by segment: each segment of `a` finds its counterpart in `b`
    // (same name and occurrence) through one index of b's segments, then
    // fields pair up by number. No lookup per field, no search.
    let pos_b = b.positions();
    let mut matched_b = vec![false; b.segments.len()];
    let mut rows = Vec::new();
    let row = |p: Path, x: Option<&Arc<str>>, y: Option<&Arc<str>>| DiffRow {
        name: names::name_of(&p),
        source: x.cloned(),
        mapped: y.cloned(),
        expected: None,
        change: change_of(x.map(|v| &**v), y.map(|v| &**v)),
        outcome: None,
        detail: String::new(),
        source_to_mapped: spans(x.map(|v| &**v), y.map(|v| &**v)),
        mapped_to_expected: Vec::new(),
        differs_from_expected: false,
        severity: None,
        target: None,
        path: p,
    };
    fn populated(s: Option<&crate::hl7::Segment>, i: usize) -> Option<&Arc<str>> {
        s.and_then(|s| s.fields.get(i))
            .filter(|f| !f.raw.is_empty())
            .map(|f| &f.raw)
    }
    for (_, sa, occ) in a.segments_with_occurrence() {
        let ib = pos_b.get(sa.name, occ as u32);
        if let Some(i) = ib {
            matched_b[i] = true;
        }
        let sb = ib.map(|i| &b.segments[i]);
        let n = sa.fields.len().max(sb.map_or(0, |s| s.fields.len()));
        for i in 0..n {
            let (x, y) = (populated(Some(sa), i), populated(sb, i));
            if x.is_some() || y.is_some() {
                rows.push(row(Path::field_of(sa.name, occ, i + 1), x, y));
            }
        }
    }
    for (i, sb, occ) in b.segments_with_occurrence() {
        if matched_b[i] {
            continue;
        }
        for (n, f) in sb.fields.iter().enumerate() {
            if !f.raw.is_empty() {
                rows.push(row(Path::field_of(sb.name, occ, n + 1), None, Some(&f.raw)));
            }
        }
    }
    rows
}

/// The diff of a replayed scenario: one row per accounted field, then one
/// per field only the expected message has.
/// What a field row says in words: the rules that changed it, the 0357
/// code and reason that rejected it, why it was dropped (and by which
/// rule), and any warning riding on a row that is not rejected.
pub fn detail_of(f: &crate::replay::FieldResult) -> String {
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
    detail
}

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
            let exp = has_expected.then(|| f.expected.clone());
            let detail = detail_of(f);
            let src = f.source.as_deref();
            let map = f.mapped.as_deref();
            DiffRow {
                path: f.path.clone(),
                target,
                name: f.name.clone(),
                source: f.source.clone(),
                mapped: f.mapped.clone(),
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
                severity: f.findings.iter().map(|x| x.severity).max(),
            }
        })
        .collect();
    rows.extend(result.expected_only.iter().map(|o| DiffRow {
        path: o.path.clone(),
        target: None,
        name: o.name.clone(),
        source: None,
        mapped: None,
        expected: Some(Arc::from(o.expected.as_str())),
        change: Change::Same,
        outcome: None,
        detail: "only in the expected message: no field of the source reaches it".into(),
        source_to_mapped: Vec::new(),
        mapped_to_expected: spans(None, Some(&o.expected)),
        differs_from_expected: true,
        severity: None,
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
