//! Gap analysis on real profiles, and generated scenarios whose
//! expectations hold when replayed.

mod common;
use common::copy_dir;

use std::path::Path;
use std::process::Command;

use baton::{Workspace, gap, generate, import, replay};

fn imported(path: &str) -> baton::profile::Profile {
    let text = std::fs::read_to_string(path).unwrap();
    let i = import::import(Path::new(path), &text).unwrap();
    let mut p = i.profile;
    p.inline_tables.tables.extend(i.tables.tables);
    p
}

#[test]
fn gap_analysis_of_two_real_profiles() {
    // A generic ADT^A01 v2.5 sender against the VA's ADT^A01 v2.3.1 receiver.
    let sender = imported("../shared/corpus/profiles/mwb/hapi_ADT_A01_segnotsup.xml");
    let receiver = imported("../shared/corpus/profiles/mwb/hapi_VA-ADT_A01.xml");
    let rows = gap::analyse(&sender, &receiver, None, &baton::table::Tables::default());
    let row = |p: &str| {
        rows.iter()
            .find(|r| r.path == p)
            .unwrap_or_else(|| panic!("no row {p}"))
    };
    let kinds = |p: &str| {
        row(p)
            .gaps
            .iter()
            .map(|g| g.kind.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        kinds("MSH-17").contains(&"sender longer than receiver".to_string()),
        "{:?}",
        row("MSH-17")
    );
    assert!(
        row("MSH-17").gaps[0]
            .detail
            .contains("3 characters; the receiver 2")
    );
    assert!(kinds("PID-19").contains(&"sender optional, receiver required".to_string()));
    assert!(kinds("MSH-12").contains(&"data types differ".to_string()));
    assert!(
        rows.iter()
            .all(|r| r.status == "open" || r.status == "no gap"),
        "no rules given: nothing covered"
    );
    assert!(rows.len() > 100);
}

#[test]
fn generated_scenarios_hold_when_replayed() {
    for (name, handoffs) in [
        ("lab-orders-results", vec!["orders", "results"]),
        ("adt-registration", vec!["registration"]),
        // A NIST profile as the receiver: conformance statements apply too.
        ("phlip-flu-elr", vec!["flu-results"]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&Path::new("test-scenarios").join(name), dir.path());
        let ws = Workspace::load(dir.path()).unwrap();
        let before = ws.scenarios.len();
        let mut total = 0;
        for h in handoffs {
            let g = generate::generate(&ws, ws.handoff(h).unwrap()).unwrap();
            assert!(!g.is_empty());
            total += generate::save(&ws, &g).unwrap().len();
        }
        let ws = Workspace::load(dir.path()).unwrap();
        assert_eq!(ws.scenarios.len(), before + total);
        for r in replay::replay_all(&ws) {
            let unmet: Vec<_> = r.checks.iter().filter(|c| !c.met).collect();
            assert!(unmet.is_empty(), "{name}/{}: {unmet:#?}", r.scenario);
        }
        // Saving again writes nothing: files are never overwritten.
        let g = generate::generate(&ws, &ws.handoffs[0]).unwrap();
        assert_eq!(generate::save(&ws, &g).unwrap().len(), 0);
    }
}

#[test]
fn gap_and_generate_commands() {
    let w = "test-scenarios/lab-orders-results";
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "gap",
            &format!("{w}/profiles/careehr-orders-sender.toml"),
            &format!("{w}/profiles/labcore-orders-receiver.toml"),
            "--rules",
            &format!("{w}/rules/orders.toml"),
            "--tables",
            &format!("{w}/tables/codes.toml"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        // P has no LabCore code: the translate rule acts, but does not resolve the gap.
        text.contains("open     ORC-7.6")
            && text.contains("[rules ORD-PRIO-ORC]")
            && text.contains("no rule translates P"),
        "{text}"
    );
    assert!(
        text.contains("open     PID-5")
            && text.contains("the sender's profile allows 100 characters; the receiver 48"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "open error gaps");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["generate", w, "--handoff", "orders"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gen-orders-missing-pid-7") && text.contains("--save writes them"),
        "{text}"
    );
}
