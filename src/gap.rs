//! Gap analysis: what the sender emits against what the receiver accepts,
//! field by field, before any message is replayed; and whether a mapping
//! rule covers each gap.

use serde::Serialize;

use crate::finding::Severity;
use crate::hl7::names;
use crate::mapping::{Action, Rules};
use crate::profile::{FieldSpec, Profile, Unlisted, Usage};
use crate::table::Tables;

/// One side's view of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldFacts {
    pub usage: String,
    pub max_repetitions: Option<usize>,
    pub max_length: Option<usize>,
    pub data_type: Option<String>,
    pub table: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// What kind of gap, in a few words.
    pub kind: String,
    /// In a sentence.
    pub detail: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapRow {
    /// `PID-15` or `PID-3.1`; a bare segment id for a segment-level row.
    pub path: String,
    pub name: String,
    pub sender: Option<FieldFacts>,
    pub receiver: Option<FieldFacts>,
    pub gaps: Vec<Gap>,
    /// Rules that act on this field.
    pub covered_by: Vec<String>,
    /// `no gap`, `covered` (a rule acts on it) or `open`.
    pub status: String,
}

fn usage_text(u: Usage) -> &'static str {
    match u {
        Usage::R => "R",
        Usage::RE => "RE",
        Usage::O => "O",
        Usage::C => "C",
        Usage::X => "X",
    }
}

fn facts(f: &FieldSpec) -> FieldFacts {
    FieldFacts {
        usage: usage_text(f.usage).into(),
        max_repetitions: f.max_repetitions,
        max_length: f.max_length,
        data_type: f.data_type.clone(),
        table: f.table.clone(),
    }
}

/// Whether HL7 v2.5.1 requires a field (or a component of a required field).
fn standard_required(p: &Profile, path: &crate::hl7::Path) -> bool {
    let dict = names::dictionary();
    let Some(f) = dict.field(&path.segment, path.field_number) else {
        return false;
    };
    match path.component_number {
        None => f.required,
        Some(c) => {
            let parent_required = f.required
                || p.fields.iter().any(|x| {
                    x.path.segment == path.segment
                        && x.path.field_number == path.field_number
                        && x.path.component_number.is_none()
                        && x.usage == Usage::R
                });
            parent_required && dict.component(&f.data_type, c).is_some_and(|d| d.required)
        }
    }
}

fn codes<'a>(p: &'a Profile, tables: &'a Tables, id: &str) -> Option<Vec<&'a String>> {
    p.inline_tables
        .table(id)
        .or_else(|| tables.table(id))
        .map(|t| t.codes.keys().collect())
}

/// Compares two profiles. `rules` (optional) marks gaps a rule covers.
pub fn analyse(
    sender: &Profile,
    receiver: &Profile,
    rules: Option<&Rules>,
    tables: &Tables,
) -> Vec<GapRow> {
    let mut rows = Vec::new();
    let rules_on = |seg: &str, field: usize| -> Vec<String> {
        rules
            .map(|r| {
                r.rules
                    .iter()
                    .filter(|rule| {
                        rule.from
                            .iter()
                            .chain(&rule.to)
                            .any(|p| p.segment == seg && p.field_number == field)
                    })
                    .map(|rule| rule.id.to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Segments the sender emits that the receiver does not list.
    for s in &sender.segments {
        if receiver.segment(&s.id).is_none() && s.usage != Usage::X {
            let severity = match receiver.unknown_segments {
                Unlisted::Reject => Severity::Error,
                Unlisted::Ignore => Severity::Warning,
                Unlisted::Accept => Severity::Information,
            };
            let fate = match receiver.unknown_segments {
                Unlisted::Reject => "rejects it",
                Unlisted::Ignore => "ignores it: its fields would be lost",
                Unlisted::Accept => "accepts it unchecked",
            };
            let covered: Vec<String> = rules
                .map(|r| {
                    r.rules
                        .iter()
                        .filter(|rule| rule.from.iter().any(|p| p.segment == s.id.as_str()))
                        .map(|rule| rule.id.to_string())
                        .collect()
                })
                .unwrap_or_default();
            rows.push(GapRow {
                path: s.id.clone(),
                name: names::dictionary()
                    .segment_name(&s.id)
                    .unwrap_or("site-defined segment")
                    .to_string(),
                sender: None,
                receiver: None,
                gaps: vec![Gap {
                    kind: "segment not in receiver".into(),
                    detail: format!(
                        "the sender emits {} ({}); the receiver {fate}",
                        s.id,
                        usage_text(s.usage)
                    ),
                    severity,
                }],
                status: if covered.is_empty() {
                    "open".into()
                } else {
                    "covered".into()
                },
                covered_by: covered,
            });
        }
    }
    // Every field either side lists, in segments the sender emits.
    let mut paths: Vec<crate::hl7::Path> = Vec::new();
    for f in sender.fields.iter().chain(&receiver.fields) {
        if sender
            .segment(&f.path.segment)
            .is_some_and(|s| s.usage == Usage::X)
        {
            continue;
        }
        if !paths.contains(&f.path) {
            paths.push(f.path.clone());
        }
    }
    paths.sort();
    for path in paths {
        let s = sender.fields.iter().find(|f| f.path == path);
        let r = receiver.fields.iter().find(|f| f.path == path);
        let mut gaps = Vec::new();
        // A field the sender's profile does not list is what the standard says.
        let su = s
            .map(|f| f.usage)
            .or_else(|| standard_required(sender, &path).then_some(Usage::R));
        let ru = r.map(|f| f.usage);
        if ru == Some(Usage::R) && !matches!(su, Some(Usage::R)) {
            gaps.push(Gap {
                kind: "sender optional, receiver required".into(),
                detail: format!(
                    "the sender may leave {path} empty ({}); the receiver requires it",
                    su.map(usage_text).unwrap_or("not in the sender's profile")
                ),
                severity: Severity::Error,
            });
        }
        if ru == Some(Usage::X) && matches!(su, Some(Usage::R | Usage::RE)) {
            gaps.push(Gap {
                kind: "receiver does not support".into(),
                detail: format!("the sender fills {path}; the receiver does not support it (X)"),
                severity: Severity::Warning,
            });
        }
        if let (Some(sl), Some(rl)) = (s.and_then(|f| f.max_length), r.and_then(|f| f.max_length))
            && sl > rl
        {
            gaps.push(Gap {
                kind: "sender longer than receiver".into(),
                detail: format!("the sender allows {sl} characters; the receiver {rl}"),
                severity: Severity::Error,
            });
        } else if let (None, Some(rl)) =
            (s.and_then(|f| f.max_length), r.and_then(|f| f.max_length))
            && s.is_some()
        {
            gaps.push(Gap {
                kind: "sender length unbounded".into(),
                detail: format!("the sender sets no limit; the receiver allows {rl}"),
                severity: Severity::Warning,
            });
        }
        // A profile silent on repetitions keeps the standard's (MSH-10 does not repeat).
        let standard_reps = || {
            if path.component_number.is_some() {
                return Some(1);
            }
            names::dictionary()
                .field(&path.segment, path.field_number)
                .map(|d| d.max_repetitions)
                .unwrap_or(Some(1))
        };
        if let (Some(sr), Some(rr)) = (
            s.map(|f| {
                f.max_repetitions
                    .or_else(standard_reps)
                    .unwrap_or(usize::MAX)
            }),
            r.and_then(|f| f.max_repetitions),
        ) && sr > rr
        {
            gaps.push(Gap {
                kind: "sender repeats more".into(),
                detail: format!(
                    "the sender may repeat {path} {}; the receiver takes {rr}",
                    if sr == usize::MAX {
                        "without limit".to_string()
                    } else {
                        format!("{sr} times")
                    }
                ),
                severity: Severity::Warning,
            });
        }
        if let (Some(sd), Some(rd)) = (
            s.and_then(|f| f.data_type.as_deref()),
            r.and_then(|f| f.data_type.as_deref()),
        ) && sd != rd
        {
            gaps.push(Gap {
                kind: "data types differ".into(),
                detail: format!("{sd} on the sender, {rd} on the receiver"),
                severity: Severity::Warning,
            });
        }
        match (
            s.and_then(|f| f.table.as_deref()),
            r.and_then(|f| f.table.as_deref()),
        ) {
            (Some(st), Some(rt)) if st != rt => {
                let extra: Vec<String> =
                    match (codes(sender, tables, st), codes(receiver, tables, rt)) {
                        (Some(sc), Some(rc)) => sc
                            .into_iter()
                            .filter(|c| !rc.contains(c))
                            .cloned()
                            .collect(),
                        _ => Vec::new(),
                    };
                let detail = if extra.is_empty() {
                    format!("sender table {st}, receiver table {rt}")
                } else {
                    format!(
                        "sender table {st}, receiver table {rt}: the receiver lacks {}",
                        extra.join(", ")
                    )
                };
                gaps.push(Gap {
                    kind: "code tables differ".into(),
                    detail,
                    severity: Severity::Error,
                });
            }
            (None, Some(rt)) if s.is_some() || su.is_none() => {
                gaps.push(Gap { kind: "receiver checks codes".into(), detail: format!("the receiver checks against {rt}; the sender names no table (free text possible)"), severity: Severity::Warning });
            }
            _ => {}
        }
        let name = names::dictionary().path_name(&path);
        let covered_by = rules_on(&path.segment, path.field_number);
        let status = if gaps.is_empty() {
            "no gap"
        } else if covered_by.is_empty() {
            "open"
        } else {
            "covered"
        };
        rows.push(GapRow {
            path: path.to_string(),
            name,
            sender: s.map(facts),
            receiver: r.map(facts),
            gaps,
            covered_by,
            status: status.into(),
        });
    }
    // Time zones: the receiver requires offsets the sender does not promise.
    if receiver.timestamps_require_offset && !sender.timestamps_require_offset {
        let covered: Vec<String> = rules
            .map(|r| {
                r.rules
                    .iter()
                    .filter(|x| x.action == Action::Datetime)
                    .map(|x| x.id.to_string())
                    .collect()
            })
            .unwrap_or_default();
        rows.push(GapRow {
            path: "TS/DTM".into(),
            name: "every timestamp".into(),
            sender: None,
            receiver: None,
            gaps: vec![Gap { kind: "time zone required".into(), detail: "the receiver requires a UTC offset on timestamps; the sender does not promise one".into(), severity: Severity::Warning }],
            status: if covered.is_empty() { "open".into() } else { "covered".into() },
            covered_by: covered,
        });
    }
    // Conformance statements the receiver enforces that the sender's profile
    // does not state: the sender may break them without knowing.
    if let Some(rc) = &receiver.conformance {
        let stated: Vec<String> = sender
            .conformance
            .as_ref()
            .map(|sc| sc.statements().into_iter().map(|s| s.description).collect())
            .unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        for st in rc.statements() {
            if stated.contains(&st.description) {
                continue;
            }
            let path = if st.id.is_empty() {
                format!("{}: {}", st.context, st.description)
            } else {
                format!("{}: {}", st.context, st.id)
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            rows.push(GapRow {
                path,
                name: if st.applies_to.is_empty() {
                    format!("conformance statement on {}", st.context)
                } else {
                    format!(
                        "conformance statement on {} ({})",
                        st.context,
                        st.applies_to.join(", ")
                    )
                },
                sender: None,
                receiver: None,
                gaps: vec![Gap {
                    kind: "receiver conformance statement".into(),
                    detail: format!(
                        "the receiver's profile requires: {} The sender's profile does not state it.",
                        st.description
                    ),
                    severity: if st.severity == Severity::Error {
                        Severity::Warning
                    } else {
                        Severity::Information
                    },
                }],
                covered_by: Vec::new(),
                status: "open".into(),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn bundled_orders_handoff_gaps() {
        let ws = crate::Workspace::load(Path::new("test-scenarios/lab-orders-results")).unwrap();
        let h = ws.handoff("orders").unwrap();
        let rows = analyse(&h.sender, &h.receiver, Some(&h.rules), &ws.tables);
        let row = |p: &str| {
            rows.iter()
                .find(|r| r.path == p)
                .unwrap_or_else(|| panic!("{p}: {rows:#?}"))
        };
        // Priority tables differ (P has no LabCore code) and a rule covers it.
        let prio = row("ORC-7.6");
        assert!(
            prio.gaps
                .iter()
                .any(|g| g.kind == "code tables differ" && g.detail.contains('P')),
            "{prio:#?}"
        );
        assert_eq!(prio.covered_by, vec!["ORD-PRIO-ORC".to_string()]);
        // The name: 100 characters on the sender, 48 on the receiver.
        assert!(
            row("PID-5")
                .gaps
                .iter()
                .any(|g| g.kind == "sender longer than receiver")
        );
        // Free-text language: the receiver checks codes the sender does not.
        assert_eq!(row("PID-15").status, "covered");
        // ZPI: the receiver ignores it.
        assert_eq!(row("ZPI").status, "open");
        // The birth date is optional in the standard and the sender's profile; LabCore requires it.
        assert!(
            row("PID-7")
                .gaps
                .iter()
                .any(|g| g.kind == "sender optional, receiver required")
        );
        // The allergen is required by the standard on both sides: no usage gap.
        assert!(
            !row("AL1-3")
                .gaps
                .iter()
                .any(|g| g.kind == "sender optional, receiver required")
        );
    }
}
