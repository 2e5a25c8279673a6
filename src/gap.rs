//! Gap analysis: what the sender emits against what the receiver accepts,
//! field by field, before any message is replayed; and whether a mapping
//! rule covers each gap.

use serde::Serialize;

use crate::finding::Severity;
use crate::hl7::{Delimiters, Message, Path, names};
use crate::mapping::{Mapped, Rules};
use crate::profile::{FieldSpec, Profile, Unlisted, Usage};
use crate::table::Tables;

/// One side's view of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldFacts {
    pub usage: String,
    pub max_repetitions: Option<usize>,
    pub max_length: Option<usize>,
    pub data_type: Option<String>,
    pub table: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Gap {
    /// What kind of gap, in a few words.
    pub kind: String,
    /// In a sentence.
    pub detail: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    let Some(f) = dict.field_of(path.segment, path.field_number) else {
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

/// A side's facts about a field: what its profile lists, else what the
/// standard says (usage R or O, repetitions, type, length).
fn effective<'a>(p: &'a Profile, path: &Path) -> (Option<&'a FieldSpec>, FieldFacts, bool) {
    let listed = p.fields.iter().find(|f| f.path == *path);
    let dict = names::dictionary();
    let def = dict.field_of(path.segment, path.field_number);
    let comp = path
        .component_number
        .and_then(|c| def.and_then(|d| dict.component(&d.data_type, c)));
    let standard_def = if path.component_number.is_some() {
        comp
    } else {
        def
    };
    let standard_type = standard_def.map(|d| d.data_type.clone());
    let standard_len = standard_def.and_then(|d| d.max_length);
    let standard_reps = if path.component_number.is_some() {
        Some(1)
    } else {
        def.map_or(Some(1), |d| d.max_repetitions)
    };
    match listed {
        Some(f) => {
            let mut x = facts(f);
            x.data_type = x.data_type.or(standard_type);
            x.max_repetitions = x.max_repetitions.or(standard_reps);
            (Some(f), x, true)
        }
        None => (
            None,
            FieldFacts {
                usage: if standard_required(p, path) { "R" } else { "O" }.into(),
                max_repetitions: standard_reps,
                max_length: standard_len,
                data_type: standard_type,
                table: None,
            },
            false,
        ),
    }
}

/// What a probe found: the rules that acted, and whether the gap is gone.
struct Probe {
    rules: Vec<String>,
    resolved: bool,
}

/// Runs the rules on a message that shows a gap, and asks whether the
/// mapped value no longer shows it. No rules: nothing resolves.
struct Prober<'a> {
    rules: Option<&'a Rules>,
    tables: &'a Tables,
    message_type: String,
    version: String,
}

impl Prober<'_> {
    /// A message with `raw` at `path` (the segment created for it), mapped.
    fn map(&self, path: &Path, raw: &str) -> Option<(Mapped, Message)> {
        let rules = self.rules?;
        let mut m = Message::with_delimiters(Delimiters::default());
        let msh = format!(
            "MSH|^~\\&|S|S|R|R|20240101120000+0000||{}|PROBE|P|{}",
            self.message_type, self.version
        );
        if let Ok(parsed) = crate::hl7::parse_one(&msh) {
            m = parsed;
        }
        let at = Path {
            segment_number: Some(1),
            ..path.clone()
        };
        if path.segment != "MSH" {
            m.set(&Path::field_of(path.segment, 1, 1), "1");
        }
        m.set(&at, raw);
        let mapped = crate::mapping::apply(rules, self.tables, &m);
        Some((mapped, m))
    }

    fn probe(&self, path: &Path, raw: &str, resolved: impl Fn(&Message) -> bool) -> Probe {
        match self.map(path, raw) {
            None => Probe {
                rules: Vec::new(),
                resolved: false,
            },
            Some((mapped, _)) => {
                let mut rules: Vec<String> = Vec::new();
                for e in &mapped.effects {
                    let touches =
                        e.target.same_field(path) || e.sources.iter().any(|s| s.same_field(path));
                    if touches
                        && !rules.iter().any(|r| **r == *e.rule)
                        && (e.from != e.to || e.action.removes())
                    {
                        rules.push(e.rule.to_string());
                    }
                }
                for f in &mapped.findings {
                    if let Some(r) = &f.rule
                        && f.location.same_field(path)
                        && !rules.contains(r)
                    {
                        rules.push(r.clone());
                    }
                }
                let resolved = !rules.is_empty() && resolved(&mapped.message);
                Probe { rules, resolved }
            }
        }
    }
}

fn value_at(m: &Message, path: &Path) -> String {
    m.value(&Path {
        segment_number: Some(1),
        ..path.clone()
    })
}

/// Compares two profiles. `rules` (optional): a gap is covered when the
/// rules, run on a value that shows it, resolve it.
pub fn analyse(
    sender: &Profile,
    receiver: &Profile,
    rules: Option<&Rules>,
    tables: &Tables,
) -> Vec<GapRow> {
    let mut rows = Vec::new();
    let prober = Prober {
        rules,
        tables,
        message_type: receiver
            .message_types
            .first()
            .or(sender.message_types.first())
            .cloned()
            .unwrap_or_else(|| "ORU^R01".into()),
        version: receiver
            .hl7_version
            .clone()
            .or(sender.hl7_version.clone())
            .unwrap_or_else(|| "2.5.1".into()),
    };
    // Segments the sender emits that the receiver neither lists nor knows
    // from the standard's message structure.
    let structure = crate::hl7::parse_one(&format!(
        "MSH|^~\\&|S|S|R|R|20240101||{}|P|P|2.5.1",
        prober.message_type
    ))
    .ok()
    .and_then(|m| crate::profile::structure_of(&m));
    for s in &sender.segments {
        let known = receiver.segment(&s.id).is_some()
            || crate::profile::standard_knows(structure, crate::hl7::SegName::new(&s.id));
        if known || s.usage == Usage::X {
            continue;
        }
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
        let field1 = Path::field_of(crate::hl7::SegName::new(&s.id), 1, 2);
        let seg = field1.segment;
        let probe = prober.probe(&field1, "probe", |m| m.segment_count(&seg) == 0);
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
            status: if probe.resolved { "covered" } else { "open" }.into(),
            covered_by: probe.rules,
        });
    }
    // Every field either side lists, in segments the sender emits.
    let mut paths: Vec<Path> = Vec::new();
    let mut seen: std::collections::HashSet<Path> = std::collections::HashSet::new();
    for f in sender.fields.iter().chain(&receiver.fields) {
        if sender
            .segment(&f.path.segment)
            .is_some_and(|s| s.usage == Usage::X)
        {
            continue;
        }
        if seen.insert(f.path.clone()) {
            paths.push(f.path.clone());
        }
    }
    // Every timestamp the receiver requires an offset on, field by field.
    let offsets = offset_paths(sender, receiver);
    for p in &offsets {
        if seen.insert(p.clone()) {
            paths.push(p.clone());
        }
    }
    paths.sort();
    for path in paths {
        let (s, sf, s_listed) = effective(sender, &path);
        let (r, rf, r_listed) = effective(receiver, &path);
        let mut gaps: Vec<(Gap, Probe)> = Vec::new();
        let su = s
            .map(|f| f.usage)
            .unwrap_or(if sf.usage == "R" { Usage::R } else { Usage::O });
        let ru = r
            .map(|f| f.usage)
            .unwrap_or(if rf.usage == "R" { Usage::R } else { Usage::O });
        let src = if s_listed {
            "the sender's profile"
        } else {
            "the standard"
        };
        if ru == Usage::R && su != Usage::R {
            let probe = prober.probe(&path, "", |m| !value_at(m, &path).is_empty());
            gaps.push((
                Gap {
                    kind: "sender optional, receiver required".into(),
                    detail: format!(
                        "the sender may leave {path} empty ({} in {src}); the receiver requires it",
                        usage_text(su)
                    ),
                    severity: Severity::Error,
                },
                probe,
            ));
        }
        if ru == Usage::X && matches!(su, Usage::R | Usage::RE) {
            let probe = prober.probe(&path, "probe", |m| value_at(m, &path).is_empty());
            gaps.push((
                Gap {
                    kind: "receiver does not support".into(),
                    detail: format!(
                        "the sender fills {path}; the receiver does not support it (X)"
                    ),
                    severity: Severity::Warning,
                },
                probe,
            ));
        }
        if let Some(rl) = r.and_then(|f| f.max_length) {
            match sf.max_length {
                Some(sl) if sl > rl => {
                    let long = "X".repeat(sl.min(4096));
                    let probe =
                        prober.probe(&path, &long, |m| value_at(m, &path).chars().count() <= rl);
                    gaps.push((
                        Gap {
                            kind: "sender longer than receiver".into(),
                            detail: format!("{src} allows {sl} characters; the receiver {rl}"),
                            severity: Severity::Error,
                        },
                        probe,
                    ));
                }
                None => {
                    let long = "X".repeat((rl + 1).min(4096));
                    let probe =
                        prober.probe(&path, &long, |m| value_at(m, &path).chars().count() <= rl);
                    gaps.push((
                        Gap {
                            kind: "sender length unbounded".into(),
                            detail: format!("the sender sets no limit; the receiver allows {rl}"),
                            severity: Severity::Warning,
                        },
                        probe,
                    ));
                }
                _ => {}
            }
        }
        if let (Some(rr), true) = (
            r.and_then(|f| f.max_repetitions),
            path.component_number.is_none(),
        ) {
            let sr = sf.max_repetitions.unwrap_or(usize::MAX);
            if sr > rr {
                let reps = vec!["R"; (rr + 1).min(64)].join("~");
                let probe = prober.probe(&path, &reps, |m| {
                    m.get(&Path {
                        segment_number: Some(1),
                        ..path.clone()
                    })
                    .map_or(0, |v| v.split('~').filter(|x| !x.is_empty()).count())
                        <= rr
                });
                gaps.push((
                    Gap {
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
                    },
                    probe,
                ));
            }
        }
        if let (Some(sd), Some(rd)) = (sf.data_type.as_deref(), rf.data_type.as_deref())
            && sd != rd
            && (s_listed || r_listed)
        {
            gaps.push((
                Gap {
                    kind: "data types differ".into(),
                    detail: format!("{sd} on the sender, {rd} on the receiver"),
                    severity: Severity::Warning,
                },
                // No value shows a type difference in general: it stays open for review.
                Probe {
                    rules: Vec::new(),
                    resolved: false,
                },
            ));
        }
        if let Some(rt) = r.and_then(|f| f.table.as_deref()) {
            let receiver_codes = codes(receiver, tables, rt).unwrap_or_default();
            let in_receiver = |m: &Message| {
                let v = value_at(m, &code_path(&path, &rf));
                receiver_codes.iter().any(|c| **c == v)
            };
            match s.and_then(|f| f.table.as_deref()) {
                Some(st) if st != rt => {
                    let sender_codes: Vec<String> = codes(sender, tables, st)
                        .unwrap_or_default()
                        .into_iter()
                        .cloned()
                        .collect();
                    let extra: Vec<&String> = sender_codes
                        .iter()
                        .filter(|c| !receiver_codes.contains(c))
                        .collect();
                    // Covered only when every code the sender may send maps to the receiver's.
                    let mut untranslated = Vec::new();
                    let mut acted: Vec<String> = Vec::new();
                    for code in &sender_codes {
                        let probe = prober.probe(&code_path(&path, &sf), code, in_receiver);
                        for r in probe.rules {
                            if !acted.contains(&r) {
                                acted.push(r);
                            }
                        }
                        if !probe.resolved && extra.contains(&code) {
                            untranslated.push(code.clone());
                        }
                    }
                    let mut detail = if extra.is_empty() {
                        format!("sender table {st}, receiver table {rt}")
                    } else {
                        format!(
                            "sender table {st}, receiver table {rt}: the receiver lacks {}",
                            extra
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    if !untranslated.is_empty() {
                        detail
                            .push_str(&format!("; no rule translates {}", untranslated.join(", ")));
                    }
                    let resolved = untranslated.is_empty() && !acted.is_empty();
                    gaps.push((
                        Gap {
                            kind: "code tables differ".into(),
                            detail,
                            severity: Severity::Error,
                        },
                        Probe {
                            rules: acted,
                            resolved,
                        },
                    ));
                }
                Some(_) => {}
                None => {
                    let probe = prober.probe(&code_path(&path, &sf), "free text", in_receiver);
                    gaps.push((
                        Gap {
                            kind: "receiver checks codes".into(),
                            detail: format!("the receiver checks against {rt}; the sender names no table (free text possible)"),
                            severity: Severity::Warning,
                        },
                        probe,
                    ));
                }
            }
        }
        if offsets.contains(&path) {
            let ts_path = if matches!(sf.data_type.as_deref(), Some("TS"))
                && path.component_number.is_none()
            {
                Path {
                    component_number: Some(1),
                    ..path.clone()
                }
            } else {
                path.clone()
            };
            let probe = prober.probe(&path, "20240115103000", |m| {
                crate::hl7::datetime::Timestamp::parse(&value_at(m, &ts_path))
                    .is_ok_and(|t| t.offset_minutes.is_some())
            });
            gaps.push((
                Gap {
                    kind: "time zone required".into(),
                    detail: format!(
                        "the receiver requires a UTC offset on {path}; the sender does not promise one"
                    ),
                    severity: Severity::Warning,
                },
                probe,
            ));
        }
        let name = names::dictionary().path_name(&path);
        let mut covered_by: Vec<String> = Vec::new();
        for (_, p) in &gaps {
            for r in &p.rules {
                if !covered_by.contains(r) {
                    covered_by.push(r.clone());
                }
            }
        }
        let status = if gaps.is_empty() {
            "no gap"
        } else if gaps.iter().all(|(_, p)| p.resolved) {
            "covered"
        } else {
            "open"
        };
        rows.push(GapRow {
            path: path.to_string(),
            name,
            sender: Some(sf),
            receiver: Some(rf),
            gaps: gaps.into_iter().map(|(g, _)| g).collect(),
            covered_by,
            status: status.into(),
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

/// Where a code stands in a field: component 1 of a coded type.
fn code_path(path: &Path, facts: &FieldFacts) -> Path {
    // OBX-5 with a value set is coded (OBX-2 = CE/CWE): the code is its first component.
    let coded_observation = path.segment == "OBX" && path.field_number == 5;
    if path.component_number.is_none()
        && (coded_observation
            || matches!(
                facts.data_type.as_deref(),
                Some("CE" | "CWE" | "CNE" | "CF")
            ))
    {
        Path {
            component_number: Some(1),
            ..path.clone()
        }
    } else {
        path.clone()
    }
}

/// The timestamp fields the receiver requires an offset on and the sender
/// does not promise one for: every TS/DTM field of the segments either side
/// lists, unless a field says otherwise.
fn offset_paths(sender: &Profile, receiver: &Profile) -> Vec<Path> {
    let dict = names::dictionary();
    let requires = |p: &Profile, path: &Path| {
        p.fields
            .iter()
            .find(|f| f.path == *path)
            .and_then(|f| f.require_offset)
            .unwrap_or(p.timestamps_require_offset)
    };
    let mut segments: Vec<&str> = sender.segments.iter().map(|s| s.id.as_str()).collect();
    if segments.is_empty() {
        segments = receiver.segments.iter().map(|s| s.id.as_str()).collect();
    }
    let mut out = Vec::new();
    for seg in segments {
        if receiver.segment(seg).is_some_and(|s| s.usage == Usage::X)
            || sender.segment(seg).is_some_and(|s| s.usage == Usage::X)
        {
            continue;
        }
        for (i, def) in dict.fields_of(seg).iter().enumerate() {
            let Some(def) = def else { continue };
            if !matches!(def.data_type.as_str(), "TS" | "DTM") {
                continue;
            }
            let path = Path {
                segment_number: None,
                ..Path::field_of(crate::hl7::SegName::new(seg), 1, i + 1)
            };
            if requires(receiver, &path) && !requires(sender, &path) {
                out.push(path);
            }
        }
    }
    out
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
        // Free-text language: the receiver checks codes the sender does not,
        // and ORD-LANG passes a name it does not know through unchanged: open.
        assert_eq!(row("PID-15").status, "open");
        assert_eq!(row("PID-15").covered_by, vec!["ORD-LANG".to_string()]);
        // Every priority but P has a translation: the gap stays open and says which.
        assert!(
            prio.gaps
                .iter()
                .any(|g| g.detail.contains("no rule translates P"))
        );
        assert_eq!(prio.status, "open");
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

    fn profile(text: &str) -> Profile {
        Profile::load(Path::new("p.toml"), text, &crate::table::Tables::default()).unwrap()
    }

    fn tables() -> Tables {
        let mut t = Tables::default();
        t.load_into(
            Path::new("t.toml"),
            "[[table]]\nid = \"HL70004\"\ncodes = { I = \"Inpatient\", O = \"Outpatient\" }\n",
        )
        .unwrap();
        t
    }

    #[test]
    fn a_field_the_sender_does_not_list_is_what_the_standard_says() {
        let t = tables();
        let sender = profile("[profile]\nname = \"s\"\nside = \"sender\"\n");
        let receiver = Profile::load(
            Path::new("r.toml"),
            "[profile]\nname = \"r\"\nside = \"receiver\"\n\
             [[field]]\npath = \"PV1-2\"\nusage = \"R\"\ntable = \"HL70004\"\n\
             [[field]]\npath = \"PID-5\"\nusage = \"R\"\nmax_length = 48\n\
             [[field]]\npath = \"PID-7\"\nusage = \"R\"\n",
            &t,
        )
        .unwrap();
        let rows = analyse(&sender, &receiver, None, &t);
        let kinds = |p: &str| -> Vec<String> {
            rows.iter()
                .find(|r| r.path == p)
                .map(|r| r.gaps.iter().map(|g| g.kind.clone()).collect())
                .unwrap_or_default()
        };
        // PV1-2 is required by the standard on both sides, but only the receiver checks codes.
        assert_eq!(kinds("PV1-2"), ["receiver checks codes"]);
        // PID-5: the standard allows 250 characters; the receiver 48.
        assert_eq!(kinds("PID-5"), ["sender longer than receiver"]);
        // PID-7 is optional in the standard and required by the receiver.
        assert_eq!(kinds("PID-7"), ["sender optional, receiver required"]);
    }

    #[test]
    fn a_gap_is_covered_only_when_the_rule_resolves_it() {
        let t = tables();
        let sender = profile(
            "[profile]\nname = \"s\"\nside = \"sender\"\n[[segment]]\nid = \"OBR\"\nusage = \"R\"\n\
             [[field]]\npath = \"PID-5\"\nusage = \"R\"\nmax_length = 60\n",
        );
        let receiver = profile(
            "[profile]\nname = \"r\"\nside = \"receiver\"\ntimestamps_require_offset = true\n[[segment]]\nid = \"OBR\"\nusage = \"R\"\n\
             [[field]]\npath = \"PID-5\"\nusage = \"R\"\nmax_length = 48\n",
        );
        let rules = |text: &str| Rules::load(Path::new("r.toml"), text, &t).unwrap();
        let status = |rules: &Rules, p: &str| {
            analyse(&sender, &receiver, Some(rules), &t)
                .into_iter()
                .find(|r| r.path == p)
                .map(|r| (r.status, r.covered_by))
                .unwrap()
        };
        // A join that makes the name longer does not cover the length gap.
        let join = rules(
            "[[rule]]\nid = \"J\"\naction = \"join\"\nfrom = [\"PID-5.2\", \"PID-5.1\"]\nto = \"PID-5\"\n",
        );
        assert_eq!(status(&join, "PID-5").0, "open");
        let cut = rules(
            "[[rule]]\nid = \"T\"\naction = \"transform\"\nfrom = \"PID-5\"\nsteps = [{ truncate = 48 }]\n",
        );
        assert_eq!(status(&cut, "PID-5"), ("covered".into(), vec!["T".into()]));
        // Offsets are covered field by field: converting OBR-7 says nothing of OBR-22.
        let tz = rules(
            "[[rule]]\nid = \"Z\"\naction = \"datetime\"\nfrom = \"OBR-7\"\nassume_zone = \"America/Chicago\"\n",
        );
        assert_eq!(status(&tz, "OBR-7").0, "covered");
        assert_eq!(status(&tz, "OBR-22").0, "open");
    }
}
