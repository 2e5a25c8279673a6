//! Real traffic: a log replayed through a handoff, a profile learned from a
//! log, and the log's failures saved as scenarios. Logs are built here with
//! their faults known by construction.

mod common;

use std::path::Path;

use baton::hl7;
use baton::profile::Profile;
use baton::traffic::learn::{LearnOptions, learn_logs};
use baton::traffic::{self, Log, LogItem, LogReader, Options};
use baton::{Severity, Side, Workspace};

fn bundled() -> Workspace {
    Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("bundled workspace")
}

fn oru() -> String {
    std::fs::read_to_string("test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7")
        .expect("sample")
        .replace("\r\n", "\r")
        .replace('\n', "\r")
}

/// The sample with its control id changed and an optional edit.
fn variant(control_id: &str, edit: impl Fn(&mut hl7::Message)) -> String {
    let mut m = hl7::parse_one(&oru()).expect("sample parses");
    m.set(&"MSH-10".parse().unwrap(), control_id);
    edit(&mut m);
    m.encode_wire()
}

fn log(name: &str, bytes: Vec<u8>) -> Log {
    Log {
        name: name.to_string(),
        reader: Box::new(std::io::Cursor::new(bytes)),
    }
}

struct Built {
    bytes: Vec<u8>,
    /// Control ids of the messages without units, in order.
    no_units: Vec<String>,
    messages: Vec<String>,
}

/// 40 clean results, 7 without units on the second OBX, 3 unreadable, and
/// two runs of junk between messages, in every framing a log comes in.
fn built_log() -> Built {
    let mut bytes = Vec::new();
    let mut no_units = Vec::new();
    let mut messages = Vec::new();
    let obx2_units: hl7::Path = "OBX[2]-6".parse().unwrap();
    for i in 0..50 {
        let text = match i {
            _ if i % 7 == 3 => {
                let id = format!("U{i}");
                no_units.push(id.clone());
                variant(&id, |m| m.delete(&obx2_units))
            }
            11 | 21 | 32 => {
                format!("MSH|^^\\&|LAB|X|EHR|Y|20261102||ORU^R01|BAD{i}|P|2.5.1\rPID|1\r")
            }
            _ => variant(&format!("H{i}"), |_| {}),
        };
        messages.push(text.clone());
        match i % 4 {
            0 => bytes.extend_from_slice(text.as_bytes()),
            1 => bytes.extend_from_slice(text.replace('\r', "\r\n").as_bytes()),
            2 => {
                bytes.push(0x0b);
                bytes.extend_from_slice(text.as_bytes());
                bytes.extend_from_slice(b"\x1c\r");
            }
            _ => {
                bytes.extend_from_slice(b"BHS|^~\\&|LAB\r");
                bytes.extend_from_slice(text.as_bytes());
                bytes.extend_from_slice(b"BTS|1\r\n\n");
            }
        }
        if i == 5 || i == 41 {
            bytes.extend_from_slice(b"\n2026-11-02 14:15:00 INFO received from LAB\n\n");
        }
    }
    Built {
        bytes,
        no_units,
        messages,
    }
}

fn run(jobs: usize) -> traffic::TrafficReport {
    let ws = bundled();
    let h = ws.handoff("results").unwrap();
    traffic::replay_logs(
        h,
        &ws.tables,
        vec![log("built.hl7", built_log().bytes)],
        Options {
            jobs,
            ..Default::default()
        },
    )
    .expect("replay")
}

#[test]
fn counts_are_exact_on_a_log_with_faults_known_by_construction() {
    let built = built_log();
    let r = run(2);
    assert_eq!(r.messages, 50);
    assert_eq!(r.unreadable, 3);
    let units = built.no_units.len();
    assert_eq!(units, 7);
    assert_eq!(r.ack.aa, 50 - 3 - units);
    assert_eq!(r.ack.ae, units);
    assert_eq!(r.ack.ar, 3);
    let obx6 = r.fields.iter().find(|f| f.path == "OBX-6").expect("OBX-6");
    assert_eq!(obx6.rejected, units, "one row per message without units");
    // Three numeric OBX carry units in a clean message, two in a faulty one.
    assert_eq!(obx6.accepted + obx6.transformed, 40 * 3 + units * 2);
    let f = &obx6.findings[0];
    assert_eq!((f.code, f.side, f.count), (101, Side::Receiver, units));
    let ids: Vec<&str> = f.examples.iter().map(|e| e.control_id.as_str()).collect();
    assert_eq!(
        ids,
        built.no_units[..5]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    // The examples point at the real messages, by number.
    for e in &f.examples {
        assert!(built.messages[e.message - 1].contains(&e.control_id));
    }
    let unreadable = r.fields.iter().find(|f| f.path == "(unreadable)").unwrap();
    assert_eq!(unreadable.rejected, 3);
    assert_eq!(unreadable.findings[0].count, 3, "{:?}", unreadable.findings);
    // Junk between messages: two located problems, nothing else lost.
    assert_eq!(r.log_problems.len(), 2, "{:?}", r.log_problems);
    // Every other path is exactly the sum of the messages replayed one by one.
    let ws = bundled();
    let h = ws.handoff("results").unwrap();
    let mut sums: std::collections::HashMap<String, [usize; 4]> = Default::default();
    for m in &built.messages {
        let one = baton::replay::replay_text(h, &ws.tables, m);
        for row in &one.fields {
            let key = format!("{}-{}", row.path.segment.as_str(), row.path.field_number);
            sums.entry(key).or_default()[row.outcome.kind() as usize] += 1;
        }
    }
    for f in r.fields.iter().filter(|f| !f.path.starts_with('(')) {
        let want = sums.get(&f.path).copied().unwrap_or_default();
        assert_eq!(
            [f.accepted, f.transformed, f.rejected, f.dropped],
            want,
            "{}",
            f.path
        );
    }
    assert_eq!(sums.len(), r.fields.len() - 1);
}

#[test]
fn one_worker_and_two_give_the_same_report() {
    assert_eq!(run(1), run(2));
}

#[test]
fn example_lines_are_where_the_message_starts_in_the_file() {
    let built = built_log();
    let r = run(0);
    let text = String::from_utf8_lossy(&built.bytes).into_owned();
    // Count lines as the reader does: CR, LF and CRLF each end one.
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normalized.split('\n').collect();
    for f in &r.fields {
        for x in &f.findings {
            for e in &x.examples {
                let line = lines[e.line - 1].trim_start_matches('\u{0b}');
                assert!(line.starts_with("MSH"), "line {}: {line}", e.line);
                if !e.control_id.is_empty() {
                    assert!(line.contains(&e.control_id), "line {}: {line}", e.line);
                }
            }
        }
    }
}

fn learn(bytes: Vec<u8>, against: Option<Profile>) -> traffic::learn::Learned {
    learn_logs(
        vec![log("t.hl7", bytes)],
        &LearnOptions {
            side: Side::Sender,
            name: "learned".into(),
            against,
            tables: Default::default(),
        },
        Options::default(),
    )
    .expect("learn")
}

fn errors(p: &Profile, text: &str) -> Vec<String> {
    let m = hl7::parse_one(text).expect("parses");
    baton::profile::check(p, &Default::default(), &m)
        .findings
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {} {}", f.location, f.code, f.reason))
        .collect()
}

fn load(text: &str) -> Profile {
    Profile::load(Path::new("learned.toml"), text, &Default::default())
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn a_learned_profile_accepts_its_log_and_flags_what_every_message_carried() {
    let mut bytes = Vec::new();
    let mut texts = Vec::new();
    for i in 0..20 {
        let t = variant(&format!("C{i}"), |m| {
            if i % 2 == 0 {
                m.set(&"PID-8".parse().unwrap(), "M");
            }
            if i % 5 == 0 {
                m.delete(&"OBX[4]-5".parse().unwrap());
            }
        });
        bytes.extend_from_slice(t.as_bytes());
        bytes.push(b'\n');
        texts.push(t);
    }
    let l = learn(bytes, None);
    assert_eq!(l.messages, 20);
    let p = load(&l.profile);
    for t in &texts {
        assert_eq!(errors(&p, t), Vec::<String>::new(), "{}", l.profile);
    }
    assert!(
        l.profile.contains("present in 20 of 20 PID"),
        "{}",
        l.profile
    );
    assert!(
        l.profile.contains("values = [\"F\", \"M\"]"),
        "{}",
        l.profile
    );
    assert!(
        l.profile.contains("message_types = [\"ORU^R01\"]"),
        "{}",
        l.profile
    );
    // A message missing what every message carried is flagged.
    let missing = variant("X1", |m| m.delete(&"PID-5".parse().unwrap()));
    let e = errors(&p, &missing);
    assert!(
        e.iter().any(|e| e.contains("PID") && e.contains(" 101 ")),
        "{e:?}"
    );
    // A new segment is flagged too.
    let extra = format!("{}ZXT|1\r", variant("X2", |_| {}));
    assert!(!errors(&p, &extra).is_empty());
}

#[test]
fn learned_profiles_accept_every_corpus_file_they_came_from() {
    let mut files = common::files("tests/data/corpus/batch", &["hl7", "txt"]);
    files.extend(common::files("tests/data/corpus/messages", &["hl7", "txt"]));
    assert!(files.len() > 20);
    let mut checked = 0;
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let l = learn(bytes.clone(), None);
        if l.messages == l.unreadable {
            continue;
        }
        let p = load(&l.profile);
        for item in LogReader::new(bytes.as_slice(), 0, 1) {
            let LogItem::Message(m) = item.unwrap() else {
                continue;
            };
            let Ok(msg) = hl7::parse_one(&m.text) else {
                continue;
            };
            let e: Vec<_> = baton::profile::check(&p, &Default::default(), &msg)
                .findings
                .into_iter()
                .filter(|x| x.severity == Severity::Error)
                .collect();
            assert!(e.is_empty(), "{}: {e:?}\n{}", f.display(), l.profile);
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked}");
}

#[test]
fn learn_against_a_declared_profile_lists_the_drift() {
    let mut bytes = Vec::new();
    for i in 0..20 {
        bytes.extend_from_slice(variant(&format!("C{i}"), |_| {}).as_bytes());
    }
    let declared = load(
        "[profile]\nname = \"declared\"\nside = \"sender\"\n\n[[field]]\npath = \"PID-8\"\nusage = \"O\"\n\n[[field]]\npath = \"OBX-6\"\nusage = \"X\"\n\n[[field]]\npath = \"PID-7\"\nusage = \"R\"\nmax_length = 4\n",
    );
    let l = learn(bytes, Some(declared));
    let text: Vec<String> = l
        .drift
        .iter()
        .map(|d| format!("{} {}", d.path, d.reason))
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("PID-8") && t.contains("declared O but sent in 100%")),
        "{text:#?}"
    );
    assert!(text.iter().any(|t| t.starts_with("PID-7")), "{text:#?}");
    let pid7 = l.drift.iter().find(|d| d.path == "PID-7").unwrap();
    assert_eq!((pid7.code, pid7.count, pid7.of), (104, 20, 20));
}

#[test]
fn saved_scenarios_are_met_when_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    common::copy_dir(Path::new("test-scenarios/lab-orders-results"), &root);
    let ws = Workspace::load(&root).unwrap();
    let h = ws.handoff("results").unwrap();
    let bytes = built_log().bytes;
    let r = traffic::replay_logs(
        h,
        &ws.tables,
        vec![log("built.hl7", bytes.clone())],
        Options::default(),
    )
    .unwrap();
    let masker = baton::report::Masker::new(&ws.phi, &ws.phi_dates, "salt");
    let dir = root.join("scenarios");
    let saved = traffic::scenarios::save(
        h,
        &ws.tables,
        &r,
        vec![log("built.hl7", bytes)],
        &dir,
        Some(&masker),
    )
    .unwrap();
    assert_eq!(saved.len(), r.problems().len());
    assert!(saved.len() >= 2);
    // Masked: no patient name from the sample reaches the scenarios.
    for s in &saved {
        let hl7_file = s.file.with_extension("hl7");
        let text = std::fs::read_to_string(hl7_file).unwrap();
        assert!(!text.contains("Delgado"), "{text}");
    }
    let ws = Workspace::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let mut met = 0;
    for s in ws.scenarios.iter().filter(|s| s.id.starts_with("log-")) {
        let result = baton::replay::replay_scenario(&ws, s);
        assert_eq!(
            result.verdict,
            baton::Verdict::Met,
            "{}: {:?}",
            s.id,
            result.checks
        );
        met += 1;
    }
    assert_eq!(met, saved.len());
}

#[test]
fn a_broken_log_gives_located_problems_and_no_crash() {
    let ws = bundled();
    let h = ws.handoff("results").unwrap();
    let good = variant("G1", |_| {});
    let mut bytes = Vec::new();
    // Binary junk, a truncated MLLP frame, a good message, a 50 MB line.
    bytes.extend(
        (0u8..=255)
            .cycle()
            .take(4096)
            .filter(|b| !matches!(b, 0x0b | 0x1c | b'\r' | b'\n')),
    );
    bytes.push(b'\n');
    bytes.push(0x0b);
    bytes.extend_from_slice(&good.as_bytes()[..good.len() / 2]);
    bytes.push(0x0b);
    bytes.extend_from_slice(good.as_bytes());
    bytes.extend_from_slice(b"\x1c\r");
    bytes.extend(std::iter::repeat_n(b'A', 50 * 1024 * 1024));
    bytes.push(b'\n');
    bytes.extend_from_slice(variant("G2", |_| {}).as_bytes());
    let r = traffic::replay_logs(
        h,
        &ws.tables,
        vec![log("broken.hl7", bytes)],
        Options::default(),
    )
    .unwrap();
    assert_eq!(r.messages, 3, "{r:#?}");
    assert_eq!(r.ack.aa, 2);
    assert_eq!(
        r.unreadable + r.ack.ae,
        1,
        "the truncated frame is one message, marred"
    );
    assert!(
        r.log_problems.iter().any(|p| p.line == 1),
        "{:?}",
        r.log_problems
    );
    assert!(
        r.log_problems
            .iter()
            .any(|p| p.message.contains("outside any message") && p.line > 2),
        "the 50 MB line: {:?}",
        r.log_problems
    );
}

#[test]
fn a_log_replay_acknowledges_each_message_as_its_scenario_does() {
    // The log path replays without writing the receipt; its MSA-1 must be
    // the one the receipt carries, for every bundled scenario.
    let ws = bundled();
    let mut seen = std::collections::BTreeSet::new();
    for s in &ws.scenarios {
        let whole = baton::replay::replay_scenario(&ws, s);
        let Some(source) = whole.replay.source.as_ref() else {
            continue;
        };
        let h = ws.handoff(&s.handoff).unwrap();
        // Its rows, as counted: path, outcome and findings of each, in order.
        let mut lean = Vec::new();
        let code = baton::replay::replay_rows(h, &ws.tables, source, |row| {
            lean.push((row.path().clone(), row.kind(), row.findings().to_vec()))
        });
        assert_eq!(code, whole.replay.ack_code, "{}", s.id);
        let rows: Vec<_> = whole
            .replay
            .fields
            .iter()
            .map(|f| (f.path.clone(), f.outcome.kind(), f.findings.clone()))
            .collect();
        assert_eq!(lean, rows, "{}", s.id);
        // And written out, each row is the scenario's.
        let run = baton::replay::Replayed::run(h, &ws.tables, source);
        let written: Vec<_> = whole
            .replay
            .fields
            .iter()
            .map(|f| {
                let mut f = f.clone();
                f.expected = None;
                f.differs_from_expected = false;
                f
            })
            .collect();
        assert_eq!(run.fields, written, "{}", s.id);
        seen.insert(whole.replay.ack_code.clone());
    }
    assert!(seen.len() >= 3, "AA, AE and AR all covered: {seen:?}");
}

#[test]
fn progress_counts_every_message_and_cancel_stops_the_reader() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let ws = bundled();
    let h = ws.handoff("results").unwrap();
    // Enough messages for several batches.
    let one = oru();
    let mut bytes = Vec::new();
    for _ in 0..1500 {
        bytes.extend_from_slice(one.as_bytes());
        bytes.push(b'\n');
    }
    let mut last = traffic::Progress::default();
    let mut seen = |p: traffic::Progress| last = p;
    let r = traffic::replay_logs(
        h,
        &ws.tables,
        vec![log("many.hl7", bytes.clone())],
        Options {
            progress: Some(&mut seen),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((r.messages, last.messages), (1500, 1500));
    assert_eq!(last.bytes, r.bytes);
    // Cancelled after the first batch: returns (no reader left blocked),
    // says so, and counts only what was replayed.
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let mut stop = |_: traffic::Progress| flag.store(true, Ordering::Relaxed);
    let r = traffic::replay_logs(
        h,
        &ws.tables,
        vec![log("many.hl7", bytes)],
        Options {
            cancel: Some(cancel.clone()),
            progress: Some(&mut stop),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.cancelled);
    assert!(r.messages > 0 && r.messages < 1500, "{}", r.messages);
}
