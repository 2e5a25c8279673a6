//! Sessions, sign-off and the signed report, end to end.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use baton::replay;
use baton::session::{self, Decision, Event, Person, SignoffStatus};
use baton::{Side, Workspace};

/// A private copy of the bundled workspace and a private key folder.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(Path::new("test-scenarios/lab-orders-results"), &ws);
    (dir, ws)
}

fn person(name: &str, side: Side) -> Person {
    Person {
        name: name.into(),
        role: "lead".into(),
        side,
    }
}

fn baton(cfg: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .env("BATON_CONFIG_DIR", cfg)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn concurrent_writers_never_overwrite_each_other() {
    let (_d, ws) = setup();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ws = ws.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    session::append(
                        &ws,
                        "joint",
                        Event::Comment {
                            by: person(&format!("writer {t}"), Side::Sender),
                            scenario: "orders-01-happy".into(),
                            path: None,
                            text: format!("note {i}"),
                        },
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = session::load(&ws, "joint").unwrap();
    assert_eq!(s.records.len(), 100);
    assert!(s.unreadable.is_empty());
}

#[test]
fn killing_a_writer_mid_write_loses_nothing_already_saved() {
    let (d, ws) = setup();
    let cfg = d.path().join("cfg");
    let exe = env!("CARGO_BIN_EXE_baton");
    // A loop of real processes appending records, killed at an arbitrary moment.
    let script = format!(
        "while true; do '{exe}' comment '{}' --session crash --name w --side sender --scenario orders-01-happy --text x >/dev/null || exit 1; done",
        ws.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("BATON_CONFIG_DIR", &cfg)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while session::load(&ws, "crash").unwrap().records.len() < 5
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = session::load(&ws, "crash").unwrap().records.len();
    std::thread::sleep(Duration::from_millis(137));
    // SIGKILL the shell and whichever baton it is running.
    let _ = Command::new("pkill")
        .args(["-KILL", "-P", &child.id().to_string()])
        .status();
    child.kill().unwrap();
    let _ = child.wait();
    let after = session::load(&ws, "crash").unwrap();
    assert!(
        after.unreadable.is_empty(),
        "torn records: {:?}",
        after.unreadable
    );
    assert!(
        after.records.len() >= before,
        "{} < {before}",
        after.records.len()
    );
}

#[test]
fn signoffs_need_both_leads_and_go_stale_when_inputs_change() {
    let (d, ws_path) = setup();
    // SAFETY of the test: keys go to a private folder.
    let cfg = d.path().join("cfg");
    let out = baton(
        &cfg,
        &[
            "sign",
            ws_path.to_str().unwrap(),
            "--session",
            "s",
            "--name",
            "Ana",
            "--side",
            "sender",
            "--decision",
            "approve",
            "--register-key",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("missing approval by the receiving side's lead")
    );
    let out = baton(
        &cfg,
        &[
            "sign",
            ws_path.to_str().unwrap(),
            "--session",
            "s",
            "--name",
            "Ben",
            "--side",
            "receiver",
            "--decision",
            "approve",
            "--register-key",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("go-live: ready"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = cfg.join("keys/ana.ed25519");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // Change an input: both signatures go stale.
    let rules = ws_path.join("rules/orders.toml");
    let t = std::fs::read_to_string(&rules).unwrap() + "\n# edited after sign-off\n";
    std::fs::write(&rules, t).unwrap();
    let ws = Workspace::load(&ws_path).unwrap();
    let results = replay::replay_all(&ws);
    let digest = session::content_digest(&ws.files, &session::summaries(&results));
    let s = session::load(&ws_path, "s").unwrap();
    let signers = baton::signers::Signers::read(&ws_path.join("signers.toml")).unwrap();
    let statuses: Vec<_> = s
        .records
        .iter()
        .filter_map(|r| session::signoff_status(r, &digest, &signers))
        .collect();
    assert_eq!(statuses, vec![SignoffStatus::Stale, SignoffStatus::Stale]);
    assert!(!session::go_live(&s, &digest, true, &signers).ready);

    // A forged record does not verify.
    let mut forged = s.records[0].clone();
    if let Event::Signoff { decision, .. } = &mut forged.event {
        *decision = Decision::Reject;
    }
    assert_eq!(
        session::signoff_status(&forged, &digest, &signers),
        Some(SignoffStatus::Invalid)
    );
}

#[test]
fn report_is_signed_masked_and_tamper_evident() {
    let (d, ws_path) = setup();
    let cfg = d.path().join("cfg");
    let ws = ws_path.to_str().unwrap();
    baton(
        &cfg,
        &[
            "sign",
            ws,
            "--session",
            "g",
            "--name",
            "Ana",
            "--side",
            "sender",
            "--decision",
            "approve",
            "--register-key",
        ],
    );
    let disp = baton(
        &cfg,
        &[
            "disposition",
            ws,
            "--session",
            "g",
            "--name",
            "Ben",
            "--side",
            "receiver",
            "--handoff",
            "orders",
            "--path",
            "ZPI",
            "--disposition",
            "waiver",
            "--note",
            "Preferences go by phone",
        ],
    );
    assert_eq!(
        disp.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&disp.stderr)
    );
    let bad = baton(
        &cfg,
        &[
            "disposition",
            ws,
            "--session",
            "g",
            "--name",
            "Ben",
            "--side",
            "receiver",
            "--handoff",
            "orders",
            "--path",
            "PID-1",
            "--disposition",
            "waiver",
            "--note",
            "x",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "PID-1 is not a gap");
    let out_path = d.path().join("out/report.html");
    let out = baton(
        &cfg,
        &[
            "report",
            ws,
            "--session",
            "g",
            "--out",
            out_path.to_str().unwrap(),
            "--signer",
            "Ana",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&out_path).unwrap();
    let json = std::fs::read_to_string(out_path.with_extension("json")).unwrap();
    // Known identifiers of the bundled patient must not appear when masked.
    for phi in [
        "Delgado",
        "Maria",
        "MRN448812",
        "19780214",
        "1450 Harbor Ave",
        "5550182",
        "ACC77812",
    ] {
        assert!(!html.contains(phi), "{phi} in the masked HTML");
        assert!(!json.contains(phi), "{phi} in the masked JSON");
    }
    assert!(html.contains("PSN-"));
    assert!(html.contains("NOT READY") && html.contains("approval by the receiving side"));
    assert!(html.contains("ORD-PRIO-ORC") && html.contains("Go-live report"));
    assert!(
        html.contains("Gap analysis: orders") && html.contains("waiver — Preferences go by phone"),
        "gap matrix with dispositions"
    );
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "self-contained"
    );

    let ok = baton(
        &cfg,
        &["verify", out_path.to_str().unwrap(), "--workspace", ws],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // Any changed byte fails.
    let mut bytes = std::fs::read(&out_path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&out_path, &bytes).unwrap();
    let bad = baton(
        &cfg,
        &["verify", out_path.to_str().unwrap(), "--workspace", ws],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("NOT VALID"));

    // Unmasked on request.
    let raw_path = d.path().join("out/raw.html");
    baton(
        &cfg,
        &[
            "report",
            ws,
            "--out",
            raw_path.to_str().unwrap(),
            "--no-mask",
        ],
    );
    assert!(
        std::fs::read_to_string(&raw_path)
            .unwrap()
            .contains("Delgado")
    );
}

#[test]
fn editing_a_nist_constraints_file_makes_signoffs_stale() {
    let d = tempfile::tempdir().unwrap();
    let ws_path = d.path().join("ws");
    copy_dir(Path::new("test-scenarios/phlip-flu-elr"), &ws_path);
    let cfg = d.path().join("cfg");
    for (name, side) in [("Ana", "sender"), ("Ben", "receiver")] {
        let out = baton(
            &cfg,
            &[
                "sign",
                ws_path.to_str().unwrap(),
                "--session",
                "s",
                "--name",
                name,
                "--side",
                side,
                "--decision",
                "approve",
                "--register-key",
            ],
        );
        assert!(out.status.success(), "{out:?}");
    }
    let status = |ws_path: &Path| {
        let ws = Workspace::load(ws_path).unwrap();
        let digest =
            session::content_digest(&ws.files, &session::summaries(&replay::replay_all(&ws)));
        let s = session::load(ws_path, "s").unwrap();
        let signers = baton::signers::Signers::read(&ws_path.join("signers.toml")).unwrap();
        s.records
            .iter()
            .filter_map(|r| session::signoff_status(r, &digest, &signers))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        status(&ws_path),
        [SignoffStatus::Valid, SignoffStatus::Valid]
    );
    // CONSTRAINTS.xml is read by the importer, beside PROFILE.xml; it is an input all the same.
    let c = ws_path.join("profiles/cdc-phlip-flu/CONSTRAINTS.xml");
    let t = std::fs::read_to_string(&c)
        .unwrap()
        .replace("Strength=\"SHOULD\"", "Strength=\"SHALL\"");
    std::fs::write(&c, t).unwrap();
    assert_eq!(
        status(&ws_path),
        [SignoffStatus::Stale, SignoffStatus::Stale]
    );
}
