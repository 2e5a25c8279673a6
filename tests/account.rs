//! The per-field account on handoffs written for these tests: every row,
//! every rule cited, each finding counted once, warnings apart from
//! rejections, and silence in a profile read as the HL7 standard.

mod common;

use baton::replay::{FieldResult, MessageReplay, Outcome};
use baton::scenario::OutcomeKind;
use common::{MINI_RECEIVER, MINI_SENDER, MiniWorkspace};

const MSH: &str = "MSH|^~\\&|EHR|HOSP|LIS|LAB|20240101120000-0500||ORM^O01|C1|P|2.5.1\r";
const TABLES: &str = "[[map]]\nid = \"prio\"\ncodes = { R = \"ROUTINE\" }\n";

fn row<'a>(r: &'a MessageReplay, path: &str) -> &'a FieldResult {
    r.fields
        .iter()
        .find(|f| f.path.to_string() == path)
        .unwrap_or_else(|| {
            let all: Vec<String> = r.fields.iter().map(|f| f.path.to_string()).collect();
            panic!("no row {path}; rows: {all:?}")
        })
}

fn rules_of(f: &FieldResult) -> Vec<String> {
    match &f.outcome {
        Outcome::Transformed { rules, .. } | Outcome::Rejected { rules, .. } => rules.clone(),
        Outcome::Dropped { rule, .. } => rule.iter().cloned().collect(),
        Outcome::Accepted => Vec::new(),
    }
}

#[test]
fn msh_is_never_an_unknown_segment_and_rules_on_it_are_cited() {
    let receiver = format!("{MINI_RECEIVER}unknown_segments = \"reject\"\n");
    let rules = "[[rule]]\nid = \"FAC\"\naction = \"set\"\nto = \"MSH-6\"\nvalue = \"NG-LAB\"\n";
    let ws = MiniWorkspace::new(MINI_SENDER, &receiver, rules, TABLES);
    let r = ws.replay(&format!("{MSH}PID|1||123^^^H^MR||Doe^Jo\r"));
    assert_eq!(r.ack_code, "AA", "{}", r.ack);
    assert_eq!(r.counts.dropped, 0, "{:#?}", r.fields);
    let f = row(&r, "MSH-6");
    assert_eq!(f.outcome.kind(), OutcomeKind::Transformed);
    assert_eq!(rules_of(f), ["FAC"]);
}

#[test]
fn a_value_written_into_an_empty_field_has_its_own_row_and_its_finding_counts_once() {
    let receiver =
        format!("{MINI_RECEIVER}[[field]]\npath = \"PID-2\"\nusage = \"O\"\nmax_length = 2\n");
    let rules = "[[rule]]\nid = \"C\"\naction = \"copy\"\nfrom = \"PID-3.1\"\nto = \"PID-2\"\n\
                 [[rule]]\nid = \"S\"\naction = \"set\"\nto = \"PID-18\"\nvalue = \"ACC1\"\n\
                 [[rule]]\nid = \"D\"\naction = \"default\"\nto = \"PID-8\"\nvalue = \"U\"\n";
    let ws = MiniWorkspace::new(MINI_SENDER, &receiver, rules, TABLES);
    let r = ws.replay(&format!("{MSH}PID|1||123^^^H^MR||Doe^Jo\r"));
    for (path, rule, to) in [("PID-18", "S", "ACC1"), ("PID-8", "D", "U")] {
        let f = row(&r, path);
        assert!(f.source.is_none());
        match &f.outcome {
            Outcome::Transformed {
                rules, from, to: t, ..
            } => {
                assert_eq!(rules, &[rule.to_string()]);
                assert_eq!((from.as_str(), t.as_str()), ("", to));
            }
            o => panic!("{path}: {o:?}"),
        }
    }
    // PID-2 got `123` (3 characters; the receiver stores 2): rejected on its own row, citing the copy.
    let f = row(&r, "PID-2");
    assert_eq!(f.outcome.kind(), OutcomeKind::Rejected);
    assert_eq!(rules_of(f), ["C"]);
    let f3 = row(&r, "PID-3");
    assert_eq!(f3.outcome.kind(), OutcomeKind::Accepted);
    assert!(f3.findings.is_empty(), "{:?}", f3.findings);
    let total: usize = r.fields.iter().map(|f| f.findings.len()).sum();
    assert_eq!(total, r.findings.len(), "each finding on exactly one row");
}

#[test]
fn every_rule_that_shaped_a_row_is_cited_rejections_included() {
    let rules = "[[rule]]\nid = \"C1\"\naction = \"copy\"\nfrom = \"PID-2.1\"\nto = \"PID-3.1\"\n\
                 [[rule]]\nid = \"C2\"\naction = \"set\"\nto = \"PID-3.5\"\nvalue = \"MR\"\n\
                 [[rule]]\nid = \"P\"\naction = \"translate\"\nfrom = \"ORC-7.6\"\nmap = \"prio\"\n\
                 [[rule]]\nid = \"X\"\naction = \"drop\"\nfrom = \"PID-19\"\nreason = \"no SSN downstream\"\n";
    let ws = MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, rules, TABLES);
    let r = ws.replay(&format!(
        "{MSH}PID|1|999|123^^^H||Doe^Jo||||||||||||||111-22-3333\rORC|NW||||||^^^^^Q\r"
    ));
    let f = row(&r, "PID-3");
    assert_eq!(f.outcome.kind(), OutcomeKind::Transformed);
    assert_eq!(rules_of(f), ["C1", "C2"]);
    let f = row(&r, "ORC-7");
    assert_eq!(f.outcome.kind(), OutcomeKind::Rejected);
    assert_eq!(rules_of(f), ["P"], "the translate rule that found no code");
    let f = row(&r, "PID-19");
    match &f.outcome {
        Outcome::Dropped { rule, reason } => {
            assert_eq!(rule.as_deref(), Some("X"));
            assert_eq!(reason, "no SSN downstream");
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn a_warning_is_not_a_rejection() {
    let rules = "[[rule]]\nid = \"P\"\naction = \"translate\"\nfrom = \"ORC-7.6\"\nmap = \"prio\"\non_unmapped = \"pass\"\n";
    let receiver = format!(
        "{MINI_RECEIVER}[[field]]\npath = \"PID-5\"\nusage = \"R\"\nmax_length = 3\nmax_length_severity = \"warning\"\n"
    );
    let ws = MiniWorkspace::new(MINI_SENDER, &receiver, rules, TABLES);
    let r = ws.replay(&format!(
        "{MSH}PID|1||123^^^H^MR||Doe^Jo\rORC|NW||||||^^^^^Q\r"
    ));
    assert_eq!(r.ack_code, "AA", "{}", r.ack);
    assert_eq!(r.counts.rejected, 0, "{:#?}", r.fields);
    assert_eq!(r.counts.warnings, 2);
    for path in ["PID-5", "ORC-7"] {
        let f = row(&r, path);
        assert_eq!(f.outcome.kind(), OutcomeKind::Accepted, "{path}");
        assert!(
            f.findings
                .iter()
                .all(|x| x.severity == baton::Severity::Warning)
                && !f.findings.is_empty()
        );
    }
}

#[test]
fn standard_required_fields_are_required_without_a_profile_entry() {
    let ws = MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, "", TABLES);
    // No MSH-10 (control id): the standard requires it.
    let r = ws.replay(&MSH.replace("|C1|", "||"));
    assert_eq!(r.ack_code, "AE", "{}", r.ack);
    let f = row(&r, "MSH-10");
    assert_eq!(f.outcome.kind(), OutcomeKind::Rejected);
    assert!(r.ack.contains("ERR||MSH^1^10^1|101"), "{}", r.ack);
}

#[test]
fn a_replay_reports_the_warnings_inspect_gives_for_the_same_text() {
    let ws = MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, "", TABLES);
    let text = format!("{MSH}PID|1||123^^^H^MR||Doe\\T^Jo\r");
    let r = ws.replay(&text);
    let inspected = baton::inspect::inspect_bytes("m.hl7", text.as_bytes()).problems;
    assert!(!r.parse_problems.is_empty(), "no warning on the bad escape");
    for p in &r.parse_problems {
        assert!(
            inspected
                .iter()
                .any(|q| q.message == p.message && q.line == p.line),
            "{p:?} not from inspect: {inspected:?}"
        );
    }
}
