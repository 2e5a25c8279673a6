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

#[test]
fn every_mismatch_with_the_expected_message_is_a_marked_row() {
    // Passthrough: the mapped message is the source. The expected message
    // lacks a character of the name, changes the sex, drops PID-7 and adds
    // PID-11: four rows differ, one of them only in the expected message.
    let rules = "mode = \"passthrough\"\n";
    let ws = MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, rules, TABLES);
    let root = ws.dir.path();
    let source = format!("{MSH}PID|1||123^^^H^MR||Doe^Jon||19800101|M\r");
    let expected = format!("{MSH}PID|1||123^^^H^MR||Doe^Jo|||F|||1 Main St\r");
    std::fs::write(root.join("in.hl7"), &source).unwrap();
    std::fs::write(root.join("expected.hl7"), &expected).unwrap();
    std::fs::write(
        root.join("scenarios/mismatch.toml"),
        "name = \"m\"\nkind = \"happy\"\nhandoff = \"h\"\ninput = \"../in.hl7\"\n\n[expect]\nmessage_file = \"../expected.hl7\"\n",
    )
    .unwrap();
    let w = ws.load();
    let r = baton::replay::replay_scenario(&w, &w.scenarios[0]);
    let differs: Vec<String> = r
        .replay
        .fields
        .iter()
        .filter(|f| f.differs_from_expected)
        .map(|f| f.path.to_string())
        .collect();
    assert_eq!(differs, ["PID-5", "PID-7", "PID-8"]);
    let pid5 = r
        .replay
        .fields
        .iter()
        .find(|f| f.path.to_string() == "PID-5")
        .unwrap();
    assert_eq!(pid5.expected.as_deref(), Some("Doe^Jo"));
    let pid3 = r
        .replay
        .fields
        .iter()
        .find(|f| f.path.to_string() == "PID-3")
        .unwrap();
    assert!(!pid3.differs_from_expected);
    assert_eq!(r.expected_only.len(), 1);
    assert_eq!(r.expected_only[0].path.to_string(), "PID-11");
    let check = r
        .checks
        .iter()
        .find(|c| c.expectation.contains("expected message"))
        .unwrap();
    assert!(!check.met);
    assert_eq!(
        check.actual,
        "differs at PID[1]-5, PID[1]-7, PID[1]-8, PID[1]-11"
    );
    // The diff marks the missing character as a deletion and the added field as its own row.
    let rows = baton::diff::diff_scenario(&r);
    let d5 = rows.iter().find(|d| d.path.to_string() == "PID-5").unwrap();
    assert!(d5.differs_from_expected);
    assert!(
        d5.mapped_to_expected
            .iter()
            .any(|s| s.kind == baton::diff::SpanKind::Delete && s.text == "n"),
        "{:?}",
        d5.mapped_to_expected
    );
    let d11 = rows
        .iter()
        .find(|d| d.path.to_string() == "PID-11")
        .unwrap();
    assert_eq!(
        (d11.mapped.as_deref(), d11.expected.as_deref()),
        (None, Some("1 Main St"))
    );
    assert!(d11.differs_from_expected);
    // run --json carries both on every row.
    let json = serde_json::to_value(&r).unwrap();
    for f in json["fields"].as_array().unwrap() {
        assert!(
            f.get("differs_from_expected")
                .is_some_and(|v| v.is_boolean()),
            "{f}"
        );
        assert!(f.get("expected").is_some(), "{f}");
    }
}
