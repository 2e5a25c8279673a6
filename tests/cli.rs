//! The `baton` binary as a user runs it: exit codes, text and JSON output,
//! JUnit, and located errors for bad workspaces.

mod common;
use common::copy_dir;

use std::path::Path;
use std::process::{Command, Output};

fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .output()
        .expect("run baton")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A copy of a bundled workspace in a temporary folder, to break.
fn copy_workspace(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new("test-scenarios").join(name), dir.path());
    dir
}

#[test]
fn run_default_workspace_passes_and_lists_every_field() {
    let o = baton(&["run", "test-scenarios/lab-orders-results"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("26 scenarios: 26 met, 0 unmet"), "{out}");
    assert!(
        out.contains("PID-15     Primary Language             rejected 103 error by receiver"),
        "{out}"
    );
    assert!(
        out.contains("dropped by ORD-VISIT: LabCore keeps no visit numbers"),
        "{out}"
    );
    assert!(out.contains("accepted unchanged: MSH-1 MSH-2"), "{out}");
}

#[test]
fn run_writes_json_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let o = baton(&[
        "run",
        "test-scenarios/adt-registration",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["summary"]["met"], 5);
    let s = &doc["scenarios"][0];
    for key in [
        "scenario",
        "kind",
        "verdict",
        "checks",
        "fields",
        "findings",
        "counts",
        "ack",
        "ack_code",
        "mapped_text",
    ] {
        assert!(!s[key].is_null(), "missing {key}");
    }
    let f = &s["fields"][0];
    for key in ["path", "name", "source", "outcome"] {
        assert!(!f[key].is_null(), "field missing {key}: {f}");
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 5, "{xml}");
}

#[test]
fn run_exits_1_when_an_expectation_fails() {
    let ws = copy_workspace("adt-registration");
    let f = ws.path().join("scenarios/a01-admit.toml");
    let t = std::fs::read_to_string(&f)
        .unwrap()
        .replace("mapped = \"Nguyen^Lan\"", "mapped = \"Lan^Nguyen\"");
    std::fs::write(&f, t).unwrap();
    let o = baton(&["run", ws.path().to_str().unwrap()]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("UNMET"), "{out}");
    assert!(
        out.contains("✗ expected NK1-2 transformed, rule REG-NK1-NAME, mapped `Lan^Nguyen`"),
        "{out}"
    );
}

#[test]
fn bad_rules_give_file_line_and_rule() {
    let ws = copy_workspace("lab-orders-results");
    let f = ws.path().join("rules/orders.toml");
    let t = std::fs::read_to_string(&f)
        .unwrap()
        .replace("map = \"language\"", "map = \"languages\"");
    std::fs::write(&f, t).unwrap();
    let o = baton(&["run", ws.path().to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("rule `ORD-LANG`: map `languages` is not defined"),
        "{err}"
    );
    assert!(err.contains("rules/orders.toml, line 29"), "{err}");
}

#[test]
fn bad_profile_and_manifest_are_located() {
    let ws = copy_workspace("lab-orders-results");
    let p = ws.path().join("profiles/labcore-orders-receiver.toml");
    let t = std::fs::read_to_string(&p).unwrap().replace(
        "usage = \"RE\"\ntype = \"CE\"\ntable = \"HL70296\"",
        "usage = \"MAYBE\"",
    );
    std::fs::write(&p, t).unwrap();
    let m = ws.path().join("baton.toml");
    let t = std::fs::read_to_string(&m).unwrap().replace(
        "[[handoff]]\nid = \"results\"",
        "[[handoff]]\nid = \"results\"\ncolour = \"blue\"",
    );
    std::fs::write(&m, t).unwrap();
    let o = baton(&["run", ws.path().to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("colour") && err.contains("baton.toml, line"),
        "{err}"
    );

    // With the manifest fixed, the profile error shows.
    let t = std::fs::read_to_string(&m)
        .unwrap()
        .replace("colour = \"blue\"\n", "");
    std::fs::write(&m, t).unwrap();
    let o = baton(&["run", ws.path().to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(
        err.contains("MAYBE") && err.contains("labcore-orders-receiver.toml, line"),
        "{err}"
    );
}

#[test]
fn missing_workspace_is_a_clear_error() {
    let o = baton(&["run", "/nonexistent/place"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("no baton.toml here"), "{err}");
}

#[test]
fn inspect_json_has_documented_shape() {
    let o = baton(&[
        "inspect",
        "--json",
        "tests/data/corpus/messages/oru/mscv_LAB-ORU-1.hl7",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let msg = &doc["files"][0]["messages"][0];
    let fields = msg["fields"].as_array().unwrap();
    let pid5 = fields.iter().find(|f| f["path"] == "PID-5").unwrap();
    assert_eq!(pid5["name"], "Patient Name");
    assert!(pid5["raw"].as_str().unwrap().contains('^'));
    assert!(
        pid5["components"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("PID-5.1")
    );
    assert!(
        fields.iter().any(|f| f["path"] == "OBX[2]-5"),
        "later occurrences are written OBX[2]-5"
    );
}

#[test]
fn inspect_exit_codes() {
    let o = baton(&[
        "inspect",
        "tests/data/corpus/malformed/cdc_Lyme_WithBadDelimiters.txt",
    ]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out.contains("cdc_Lyme_WithBadDelimiters.txt:1:5: error: bad MSH"),
        "{out}"
    );
    let o = baton(&["inspect", "/nonexistent.hl7"]);
    assert_eq!(o.status.code(), Some(2));
    // Binary junk: a problem, not a crash.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(
        &junk,
        (0..20_000u32)
            .map(|i| (i * 131 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let o = baton(&["inspect", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn diff_and_ack() {
    let dir = tempfile::tempdir().unwrap();
    let a = "test-scenarios/lab-orders-results/messages/orm-o01-lipid-panel.hl7";
    let b = dir.path().join("b.hl7");
    let t = std::fs::read_to_string(a)
        .unwrap()
        .replace("Delgado^Maria", "Delgado^Mariana");
    std::fs::write(&b, &t).unwrap();
    let o = baton(&["diff", a, b.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("changed PID-5"), "{out}");
    let o = baton(&["diff", a, a]);
    assert_eq!(o.status.code(), Some(0));

    let bad = dir.path().join("bad.hl7");
    std::fs::write(&bad, t.replace("MRN448812^^^NORTHGATE^MR", "")).unwrap();
    let o = baton(&[
        "ack",
        bad.to_str().unwrap(),
        "--workspace",
        "test-scenarios/lab-orders-results",
    ]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("MSA|AE|ORD000123"), "{out}");
    assert!(
        out.contains("ERR||PID^1^3^1|101^Required field missing^HL70357|E"),
        "{out}"
    );
}

#[test]
fn commands_use_the_workspace_they_are_run_in() {
    let dir = copy_workspace("referral-specialist");
    let deep = dir.path().join("scenarios");
    let run_in = |cwd: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("run baton")
    };
    // `run` with no workspace, two folders down: the workspace it is in.
    let o = run_in(&deep, &["run"]);
    let (out, err) = text(&o);
    assert!(out.contains("16 scenarios: 16 met"), "{out}\n{err}");
    assert!(!err.contains("bundled"), "{err}");
    // Outside any workspace: the bundled one, and it says so.
    let elsewhere = tempfile::tempdir().unwrap();
    let o = run_in(elsewhere.path(), &["run"]);
    let (_, err) = text(&o);
    assert!(err.contains("using the bundled workspace"), "{err}");
    // `validate` with a TOML profile that names tables: the workspace's tables.
    let profile = dir.path().join("profiles/lakeshore-ref-receiver.toml");
    let message = dir.path().join("messages/ref-i12-cardiology.hl7");
    let o = baton(&[
        "validate",
        "--profile",
        profile.to_str().unwrap(),
        message.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(err.contains("code tables of the workspace"), "{err}");
    // The unmapped payer and the offset-less time are what this receiver says of the raw message.
    assert!(
        out.contains("IN1-3.1") && out.contains("103"),
        "{out}\n{err}"
    );
    assert!(out.contains("RF1-7") && out.contains("UTC offset"), "{out}");
}

#[test]
fn run_reports_parse_warnings_and_warnings_apart() {
    let dir = copy_workspace("discharge-home-health");
    std::fs::write(
        dir.path().join("scenarios/x-bad-escape.toml"),
        "name = \"bad escape\"\nkind = \"edge\"\nhandoff = \"discharge\"\ninput = \"../messages/mdm-t02-discharge-summary.hl7\"\n[[mutate]]\nset_raw = \"OBX-5\"\nvalue = \"dose \\\\T\"\n[[mutate]]\nset = \"TXA-18\"\nvalue = \"X\"\n[expect]\nack = \"AA\"\n",
    )
    .unwrap();
    let o = baton(&[
        "run",
        dir.path().to_str().unwrap(),
        "--scenario",
        "x-bad-escape",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("warnings 1"), "{out}");
    assert!(out.contains("escape"), "the inspect warning: {out}");
    assert!(out.contains("warning 103 by mapping"), "{out}");
}

/// `baton replay` on a log: the handoff guessed from the log's first message
/// when none is named, the JSON summary, the exit codes (0 clean, 1 something
/// rejected, 2 the work could not run).
#[test]
fn replay_of_a_log_guesses_the_handoff_counts_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let oru = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7",
    )
    .unwrap();
    let clean = dir.path().join("clean.hl7");
    std::fs::write(&clean, format!("{oru}\n{oru}\n")).unwrap();
    let ws = "test-scenarios/lab-orders-results";
    let clean_s = clean.to_str().unwrap();

    // Two handoffs and none named: the log's ORU^R01 picks `results`.
    let o = baton(&["replay", ws, clean_s, "--json", "-"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("using the handoff `results`"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(json["handoff"], "results");
    assert_eq!(json["messages"], 2);
    assert_eq!(json["ack"]["AA"], 2);

    // Named: no guess, no note.
    let o = baton(&["replay", ws, "--handoff", "results", clean_s]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("using the handoff"), "{err}");

    // A message whose units are gone is rejected by the receiver: exit 1.
    let no_units: String = oru
        .lines()
        .map(|l| {
            if l.starts_with("OBX|1|") {
                let mut f: Vec<&str> = l.split('|').collect();
                f[6] = "";
                f.join("|")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r");
    let faulty = dir.path().join("faulty.hl7");
    std::fs::write(&faulty, format!("{oru}\n{no_units}\n")).unwrap();
    let o = baton(&[
        "replay",
        ws,
        "--handoff",
        "results",
        faulty.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));

    // An unknown handoff, or a log that is not there: exit 2, said why.
    let o = baton(&["replay", ws, "--handoff", "nope", clean_s]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("no handoff `nope`") && err.contains("results"),
        "{err}"
    );
    let missing = dir.path().join("missing.hl7");
    let o = baton(&[
        "replay",
        ws,
        "--handoff",
        "results",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
}
