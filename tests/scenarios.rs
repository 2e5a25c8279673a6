//! Every bundled workspace under test-scenarios/ is replayed; adding a
//! workspace folder adds it here. All expectations must hold, and replay
//! must be deterministic.

mod common;

use std::path::Path;

use baton::replay::{self, Verdict};
use baton::workspace::Workspace;

fn workspaces() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir("test-scenarios")
        .expect("test-scenarios/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("baton.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_bundled_scenario_is_met() {
    let dirs = workspaces();
    assert!(dirs.len() >= 2, "expected at least two bundled workspaces");
    for dir in dirs {
        let ws = Workspace::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert!(!ws.scenarios.is_empty(), "{}: no scenarios", dir.display());
        for r in replay::replay_all(&ws) {
            let unmet: Vec<_> = r.checks.iter().filter(|c| !c.met).collect();
            assert_eq!(
                r.verdict,
                Verdict::Met,
                "{}/{}: {unmet:#?}",
                dir.display(),
                r.scenario
            );
            assert!(
                !r.checks.is_empty(),
                "{}: a scenario must expect something",
                r.scenario
            );
        }
    }
}

#[test]
fn default_workspace_covers_all_kinds() {
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).unwrap();
    assert!(ws.scenarios.len() >= 15);
    for kind in ["happy", "edge", "error"] {
        assert!(
            ws.scenarios.iter().any(|s| s.kind.as_str() == kind),
            "no {kind} scenario"
        );
    }
    assert_eq!(ws.handoffs.len(), 2);
}

#[test]
fn replay_is_deterministic() {
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).unwrap();
    let a = serde_json::to_string(&replay::replay_all(&ws)).unwrap();
    let b = serde_json::to_string(&replay::replay_all(&ws)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn every_populated_field_is_accounted_for() {
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).unwrap();
    for r in replay::replay_all(&ws) {
        let Some(source) = &r.replay.source else {
            continue;
        };
        for f in source.populated_fields() {
            let rows: Vec<_> = r
                .replay
                .fields
                .iter()
                .filter(|x| x.path == f.path)
                .collect();
            assert_eq!(
                rows.len(),
                1,
                "{}: {} has {} rows",
                r.scenario,
                f.path,
                rows.len()
            );
            assert_eq!(rows[0].source.as_deref(), Some(f.raw));
        }
        // And every populated mapped field is reachable from a row.
        let mapped = r.replay.mapped.as_ref().unwrap();
        for f in mapped.populated_fields() {
            let covered = r.replay.fields.iter().any(|x| {
                x.path.same_field(&f.path)
                    || matches!(&x.outcome, baton::Outcome::Transformed { target, .. } if target.same_field(&f.path))
            });
            assert!(covered, "{}: mapped {} has no row", r.scenario, f.path);
        }
    }
}

#[test]
fn the_failures_real_projects_hit_are_visible() {
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).unwrap();
    let result = |id: &str| replay::replay_scenario(&ws, ws.scenario(id).unwrap());
    let field = |r: &baton::ScenarioResult, p: &str| {
        r.replay
            .fields
            .iter()
            .find(|f| f.path.to_string() == p)
            .cloned()
            .unwrap()
    };

    // Free text where a code is expected.
    let r = result("orders-04-language-unmapped");
    assert!(matches!(
        field(&r, "PID-15").outcome,
        baton::Outcome::Rejected { code: 103, .. }
    ));
    // A Z-segment the receiver ignores is dropped, not silent.
    let r = result("orders-08-z-segment-ignored");
    assert_eq!(r.replay.ack_code, "AA");
    assert!(matches!(
        field(&r, "ZPI-2").outcome,
        baton::Outcome::Dropped { .. }
    ));
    // Units missing on a numeric result, at the right occurrence.
    let r = result("results-02-missing-units");
    assert!(
        r.replay
            .findings
            .iter()
            .any(|f| f.location.to_string() == "OBX[2]-6" && f.code == 101)
    );
    assert!(
        r.replay
            .ack
            .contains("ERR||OBX^2^6^1|101^Required field missing^HL70357|E")
    );
    // Timestamps get the lab's offset.
    let r = result("results-01-happy");
    assert_eq!(
        field(&r, "OBX[3]-14").mapped.as_deref(),
        Some("20261102140500-0800")
    );
}

#[test]
fn a_nist_profile_side_records_its_companion_files_and_stands_for_its_side() {
    let ws = Workspace::load(Path::new("test-scenarios/phlip-flu-elr")).unwrap();
    let files: Vec<String> = ws.files.iter().map(|f| f.path.clone()).collect();
    for f in [
        "profiles/cdc-phlip-flu/PROFILE.xml",
        "profiles/cdc-phlip-flu/CONSTRAINTS.xml",
        "profiles/cdc-phlip-flu/VALUESETS.xml",
        "profiles/cdc-phlip-flu/VALUESETBINDINGS.xml",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} not among {files:#?}");
    }
    let h = ws.handoff("flu-results").unwrap();
    assert_eq!(h.receiver.side, baton::Side::Receiver);
    // A conformance statement of the receiver, reported as the receiver's.
    let r = replay::replay_scenario(&ws, ws.scenario("flu-04-test-code-not-loinc").unwrap());
    let f = r
        .replay
        .findings
        .iter()
        .find(|f| f.rule.as_deref() == Some("CWE-1-LOINC"))
        .expect("CWE-1-LOINC finding");
    assert_eq!(f.side, baton::Side::Receiver);
    assert_eq!(f.location.to_string(), "OBX-3[1].1");
}

#[test]
fn no_finding_expectations_hold_or_name_what_was_found() {
    let ws = Workspace::load(Path::new("test-scenarios/phlip-flu-elr")).unwrap();
    let mut s = ws.scenario("flu-01-valid").unwrap().clone();
    let e = |path: &str| baton::scenario::FindingExpectation {
        path: path.parse().unwrap(),
        code: 104,
        severity: None,
        side: None,
    };
    // OBX-17.3 is within its length; OBX-17.1 is not.
    s.expect.no_finding = vec![e("OBX-17.3")];
    assert_eq!(replay::replay_scenario(&ws, &s).verdict, Verdict::Met);
    s.expect.no_finding = vec![e("OBX-17.1")];
    let r = replay::replay_scenario(&ws, &s);
    assert_eq!(r.verdict, Verdict::Unmet);
    let c = r.checks.iter().find(|c| !c.met).unwrap();
    assert!(c.actual.contains("30 characters long"), "{c:?}");
}

#[test]
fn the_receipt_tab_order_is_the_acks_order() {
    // The Receipt tab lists `ack::receipt_order` of the non-sender findings:
    // row n must be ERR segment n of the receipt, in every bundled scenario.
    for dir in std::fs::read_dir("test-scenarios").unwrap().flatten() {
        let ws = baton::Workspace::load(&dir.path()).unwrap();
        for s in &ws.scenarios {
            let r = baton::replay::replay_scenario(&ws, s);
            let rows: Vec<u16> = baton::ack::receipt_order(
                r.replay
                    .findings
                    .iter()
                    .filter(|f| f.side != baton::Side::Sender),
            )
            .iter()
            .map(|f| f.code)
            .collect();
            let errs: Vec<u16> = r
                .replay
                .ack
                .split('\r')
                .filter(|l| l.starts_with("ERR"))
                .filter_map(|l| l.split('|').nth(3))
                .filter_map(|c| c.split('^').next()?.parse().ok())
                .collect();
            assert_eq!(rows, errs, "{}: {}", s.id, r.replay.ack);
        }
    }
}

/// An edited message saved as a scenario, with what Baton observed, is
/// met when the workspace is loaded again; one saved with the expectations
/// it started from keeps them. Ids and existing files are refused.
#[test]
fn a_message_saved_with_its_observed_expectations_is_met() {
    use baton::scenario::write::{NewScenario, WriteError, observed, write};
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ws");
    common::copy_dir(Path::new("test-scenarios/lab-orders-results"), &root);
    let ws = Workspace::load(&root).expect("workspace");
    let base = ws
        .scenarios
        .iter()
        .find(|s| s.id == "orders-01-happy")
        .expect("happy order");
    let h = ws.handoff(&base.handoff).expect("handoff");
    // The analyst blanks the patient identifier and the name's length grows.
    let mut msg = baton::hl7::parse_one(&base.prepared_input().expect("input")).expect("parse");
    msg.set(&"PID-3".parse().expect("path"), "");
    let edited = msg.encode();
    let r = replay::replay_text(h, &ws.tables, &edited);
    assert_eq!(r.ack_code, "AE", "a missing PID-3 is an error");
    let dir = root.join(&ws.scenarios_dir);
    let new = NewScenario {
        id: "edited-no-pid3".into(),
        name: "Edited: no patient identifier".into(),
        kind: baton::scenario::Kind::Error,
        handoff: base.handoff.clone(),
        description: "Saved from the workbench".into(),
        message: edited.clone(),
        expect: observed(&r),
    };
    let file = write(&dir, &new).expect("written");
    assert!(file.ends_with("edited-no-pid3.toml"));
    assert!(matches!(write(&dir, &new), Err(WriteError::Exists(_))));
    let bad = NewScenario {
        id: "../escape".into(),
        ..new.clone()
    };
    assert!(matches!(write(&dir, &bad), Err(WriteError::BadId(_))));
    // Its original expectations, kept: unmet now, which is what they say.
    let kept = NewScenario {
        id: "edited-kept".into(),
        expect: base.expect.clone(),
        ..new
    };
    write(&dir, &kept).expect("written");

    let ws = Workspace::load(&root).expect("workspace with the saved scenarios");
    let saved = ws
        .scenarios
        .iter()
        .find(|s| s.id == "edited-no-pid3")
        .expect("listed");
    let r = replay::replay_scenario(&ws, saved);
    assert_eq!(r.verdict, Verdict::Met, "{:#?}", r.checks);
    assert!(r.checks.iter().any(|c| c.expectation.contains("PID-3")));
    assert!(
        r.checks
            .iter()
            .any(|c| c.expectation == "receipt MSA-1 = AE")
    );
    let kept = ws
        .scenarios
        .iter()
        .find(|s| s.id == "edited-kept")
        .expect("listed");
    assert_eq!(replay::replay_scenario(&ws, kept).verdict, Verdict::Unmet);
}
