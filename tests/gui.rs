//! The real app, driven headless as a person would: by labels and clicks.
#![cfg(feature = "gui")]

mod common;
use common::copy_dir;
use common::gui::{open, type_into, wait_for_replay};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use baton::gui::{App, Command, Tab};
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable};

#[test]
fn replay_select_filter_and_read_the_receipt() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    assert!(h.query_all_by_label("Routine lipid panel order").count() >= 1);
    h.get_by_label_contains("0 met · 0 unmet · 26 not run");

    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.get_by_label_contains("26 met · 0 unmet · 0 not run");

    // An error scenario: the missing identifier is a rejected row with its code.
    h.get_by_label("Patient identifier missing").click();
    h.step();
    h.step();
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(5));
    type_into(&mut h, "Search", "PID-3");
    h.run_steps(1);
    assert_eq!(h.state().search, "PID-3");
    assert_eq!(h.state().visible_rows().len(), 1);
    h.get_by_label_contains("101: required field PID-3 (Patient Identifier List) is missing");
    assert!(
        h.query_all_by_label("rejected").count() >= 2,
        "a rejected badge besides the filter toggle"
    );
    h.get_by_label("Clear").click();
    h.run_steps(2);
    assert!(h.state().search.is_empty());

    // Only transformed rows.
    for k in ["accepted", "rejected", "dropped"] {
        h.query_all_by_label(k)
            .next()
            .expect("filter toggle")
            .click();
        h.step();
    }
    h.step();
    let rows = h.state().visible_rows().len();
    assert_eq!(rows, 3, "MSH-6, ORC-7 and OBR-27 are transformed");
    h.get_by_label_contains("ORD-PRIO-OBR");
    assert!(h.query_by_label_contains("101: required field").is_none());

    // Search narrows further.
    type_into(&mut h, "Search", "OBR");
    h.run_steps(1);
    assert_eq!(h.state().visible_rows().len(), 1);

    // The receipt.
    h.get_by_label("Receipt").click();
    h.step();
    h.step();
    h.get_by_label_contains("MSA|AE|ORD000123");
    h.get_by_label_contains("ERR||PID^1^3^1|101^Required field missing^HL70357|E");
}

#[test]
fn click_a_row_then_see_it_in_the_messages_and_handoff() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.get_by_label("Preferred language the map does not know")
        .click();
    h.run_steps(2);
    h.get_by_label("PID-15").click();
    h.step();
    assert_eq!(
        h.state().selected_field.as_ref().map(|p| p.to_string()),
        Some("PID-15".into())
    );
    h.get_by_label("Messages").click();
    h.step();
    h.step();
    assert_eq!(h.state().tab, Tab::Messages);
    assert!(h.query_all_by_label_contains("Primary Language").count() >= 1);
    h.get_by_label("Source (as the sender sends it)");
    h.get_by_label("Mapped (as the receiver gets it)");
    // The selection opened both trees to the field.
    assert!(h.query_all_by_label("PID-15").count() >= 2);

    h.get_by_label("Handoff").click();
    h.step();
    h.get_by_label_contains("ORD-PRIO-ORC");
    h.get_by_label_contains("translate ORC-7.6 → ORC-7.6 via priority");
}

#[test]
fn broken_workspace_shows_located_problems_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("baton.toml"),
        "[workspace]\nname = \"x\"\n\n[[handoff]]\nid = 1\n",
    )
    .unwrap();
    let mut h = open(dir.path().to_str().unwrap());
    h.step();
    h.get_by_label_contains("No workspace is open");
    h.get_by_label_contains("Problems (1)");
    h.get_by_label_contains("baton.toml:5");
}

#[test]
fn dropped_hl7_files_are_inspected() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.state_mut().command(Command::InspectFiles(vec![
        PathBuf::from("tests/data/corpus/messages/oru/mscv_LAB-ORU-1.hl7"),
        PathBuf::from("tests/data/corpus/malformed/cdc_Lyme_WithBadDelimiters.txt"),
    ]));
    let start = Instant::now();
    h.step();
    while h.state().is_reading() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "reading did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
    h.get_by_label("Inspected files");
    h.get_by_label_contains("appears twice");
    h.get_by_label("Back to workspace").click();
    h.run_steps(2);
    assert!(h.query_all_by_label("Routine lipid panel order").count() >= 1);
}

#[test]
fn theme_switch_and_cancel() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Dark theme").click();
    h.run_steps(2);
    assert!(h.state().persisted.dark);
    h.get_by_label("Light theme");
    h.state_mut().command(Command::ReplayAll);
    h.state_mut().command(Command::Cancel);
    h.step();
    assert!(!h.state().is_running());
}

#[test]
fn both_leads_sign_then_export_a_signed_masked_report() {
    let dir = tempfile::tempdir().unwrap();
    // Keys go to a private folder; the workspace is a private copy.
    // SAFETY: tests in this file that sign run in this one test only.
    unsafe { std::env::set_var("BATON_CONFIG_DIR", dir.path().join("cfg")) };
    let ws = dir.path().join("ws");
    copy_dir(
        std::path::Path::new("test-scenarios/lab-orders-results"),
        &ws,
    );
    let mut h = open(ws.to_str().unwrap());
    h.step();
    h.get_by_label("Session and sign-off").click();
    h.run_steps(2);
    for (name, side) in [("Ana Ortiz", "sender"), ("Ben Cho", "receiver")] {
        let field = h.get_by_label("Your name");
        field.click();
        h.run_steps(1);
        h.state_mut().session.person.clear();
        h.run_steps(1);
        h.get_by_label("Your name").type_text(name);
        h.get_by_label(side).click();
        h.run_steps(2);
        h.get_by_label("Approve").click();
        h.run_steps(3);
        // Approve asks first, showing what will be signed; the first
        // signature offers to register the key.
        h.get_by_label_contains("Approve: you are about to sign");
        h.get_by_label_contains("of 26 met");
        h.get_by_label("Open gaps");
        h.get_by_label_contains("Register my key").click();
        h.run_steps(2);
        h.get_by_label("Sign").click();
        h.run_steps(3);
        h.get_by_label_contains("Signed: Approve");
    }
    h.get_by_label_contains("Registered signers (2)");
    h.get_by_label_contains("Ready for go-live");
    assert_eq!(
        h.query_all_by_label("valid").count(),
        2,
        "two valid sign-offs"
    );

    let out = dir.path().join("report.html");
    let slot = out.clone();
    h.state_mut()
        .set_save_picker(Box::new(move || Some(slot.clone())));
    h.get_by_label("Export report…").click();
    h.run_steps(3);
    h.get_by_label_contains("Report written");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("READY FOR GO-LIVE"));
    assert!(!html.contains("Delgado"), "masked by default");
    let signers = baton::signers::Signers::read(&ws.join("signers.toml")).unwrap();
    let v = baton::report::verify(&out, Some(&signers)).unwrap();
    assert!(v.valid(), "{:?}", v.problems);

    // Waive the deliberate visit-number drop, from the field table.
    h.get_by_label("Fields").click();
    h.run_steps(2);
    h.get_by_label("PV1-19").click();
    h.run_steps(2);
    h.get_by_label("Session and sign-off").click();
    h.run_steps(2);
    h.get_by_label("Comment").click();
    h.run_steps(1);
    h.get_by_label("Comment")
        .type_text("Billing takes visit numbers from the EHR");
    h.get_by_label("Waiver owner").click();
    h.run_steps(1);
    h.get_by_label("Waiver owner").type_text("Ben Cho");
    type_into(&mut h, "expires", "2027-03-31");
    h.run_steps(1);
    h.get_by_label("Waive selected field").click();
    h.run_steps(3);
    h.get_by_label_contains("Waiver recorded for PV1-19");
    h.get_by_label_contains(
        "Billing takes visit numbers from the EHR (owner Ben Cho, expires 2027-03-31)",
    );

    // A record written by the other team (shared folder) shows up on its own.
    baton::session::append(
        &ws,
        "go-live",
        baton::session::Event::Comment {
            by: baton::session::Person {
                name: "Cleo from the lab".into(),
                role: "analyst".into(),
                side: baton::Side::Receiver,
            },
            scenario: "orders-01-happy".into(),
            path: None,
            text: "Checked on the LIS test box".into(),
        },
    )
    .unwrap();
    h.state_mut().session.last_poll = None; // the 2-second poll is due
    h.run_steps(2);
    h.get_by_label_contains("Checked on the LIS test box");

    // The mask toggle hides patient data on screen too.
    h.get_by_label("Fields").click();
    h.run_steps(2);
    assert!(h.query_all_by_label_contains("Delgado").count() > 0);
    h.get_by_label("Mask patient data").click();
    h.run_steps(2);
    assert_eq!(h.query_all_by_label_contains("Delgado").count(), 0);
    assert!(h.query_all_by_label_contains("PSN-").count() > 0);
    // The Messages tab shows the masked text, not nothing: facilities stay readable.
    h.get_by_label("Messages").click();
    h.run_steps(2);
    h.get_by_label_contains("Patient data masked");
    assert_eq!(h.query_all_by_label_contains("Delgado").count(), 0);
    assert!(h.query_all_by_label_contains("PSN-").count() > 0);
    assert!(h.query_all_by_label_contains("NORTHGATE").count() > 0);
}

#[test]
fn gaps_get_dispositions_and_generated_scenarios_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(
        std::path::Path::new("test-scenarios/lab-orders-results"),
        &ws,
    );
    let mut h = open(ws.to_str().unwrap());
    h.step();
    h.get_by_label("Session and sign-off").click();
    h.run_steps(2);
    type_into(&mut h, "Your name", "Ana Ortiz");
    h.get_by_label("Gaps").click();
    h.run_steps(2);
    h.get_by_label_contains("open, 0 covered by rules");
    h.get_by_label("PID-5").click();
    h.run_steps(1);
    type_into(
        &mut h,
        "Disposition note",
        "Registration truncates at 48 from release 7.1",
    );
    h.get_by_label("Waive").click();
    h.run_steps(3);
    h.get_by_label_contains("Disposition recorded for PID-5");
    h.get_by_label_contains("waiver: Registration truncates at 48 from release 7.1 (Ana Ortiz)");

    h.get_by_label("Generated edge and error scenarios").click();
    h.run_steps(2);
    h.get_by_label("Generate from the profiles").click();
    h.run_steps(3);
    let n = h.state().generated.len();
    assert!(n > 20, "{n} generated");
    // Nothing is ticked until the reviewer ticks it: tick two.
    assert!(h.state().generated.iter().all(|(_, on)| !on));
    // Replay them all before saving anything: a verdict beside each.
    h.get_by_label("Replay all generated").click();
    h.run_steps(3);
    assert_eq!(h.state().generated_verdicts.len(), n);
    assert!(h.query_all_by_label("MET").count() >= n);
    assert_eq!(h.state().workspace.as_ref().unwrap().scenarios.len(), 26);
    // Preview one: it opens in the Fields tab, unsaved.
    h.query_all_by_label("Preview")
        .next()
        .expect("Preview")
        .click();
    h.run_steps(3);
    assert_eq!(h.state().tab, Tab::Fields);
    assert_eq!(
        h.state().selected.as_ref().map(|s| s.index),
        Some(baton::gui::SCRATCH)
    );
    h.get_by_label_contains("Generated, not saved yet");
    h.get_by_label("Gaps").click();
    h.run_steps(2);
    let first = h.state().generated[0].0.name.clone();
    let second = h.state().generated[1].0.name.clone();
    let checkbox = egui::accesskit::Role::CheckBox;
    h.get(By::new().label(&first).role(checkbox)).click();
    h.run_steps(1);
    h.get(By::new().label(&second).role(checkbox)).click();
    h.run_steps(2);
    h.get_by_label("Save 2 selected").click();
    h.run_steps(3);
    assert_eq!(
        h.state().workspace.as_ref().unwrap().scenarios.len(),
        26 + 2
    );
}

#[test]
fn live_panel_listens_and_shows_each_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(
        std::path::Path::new("test-scenarios/lab-orders-results"),
        &ws,
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut h = open(ws.to_str().unwrap());
    h.step();
    h.get_by_label("Live").click();
    h.run_steps(2);
    h.get_by_label("Port").click();
    h.run_steps(1);
    h.state_mut().live.port.clear();
    h.get_by_label("Port").type_text(&port.to_string());
    h.run_steps(1);
    // Nothing is captured into a session unless asked.
    assert!(!h.state().live.capture);
    h.get_by_label("Capture into session “go-live”").click();
    h.run_steps(1);
    assert!(h.state().live.capture);
    h.get_by_label("Start listening").click();
    h.run_steps(2);
    h.get_by_label_contains(&format!("Listening on 127.0.0.1:{port}"));
    h.get_by_label_contains("captured in session go-live");
    // A sender sends the unmapped-language order over real MLLP.
    let msg = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/orm-o01-lipid-panel.hl7",
    )
    .unwrap()
    .replace('\n', "\r")
    .replace("spa^Spanish^ISO6392", "Tagalog");
    let (ack, err) = common::send_over_mllp(port, &msg, 2, Duration::from_millis(50));
    assert!(err.is_none(), "{err:?}");
    assert!(ack.contains("MSA|AE|ORD000123"));
    let start = Instant::now();
    while h.state().live.transcript().is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
    h.get_by_label_contains("1 messages · 0 errors");
    // Each exchange shows its message type and time.
    assert!(h.query_all_by_label("ORM^O01").count() >= 1);
    let at = h.state().live.transcript()[0].ended_at.clone();
    assert!(at.ends_with('Z') && at.len() == 20, "{at}");
    h.get_by_label(&at[11..19]);
    h.get_by_label("ORD000123").click();
    h.run_steps(2);
    h.get_by_label_contains("41 accepted, 3 transformed, 1 rejected, 1 dropped");
    // The header names the selected exchange; the rejected field gives its
    // 0357 code and reason, the dropped one says it goes nowhere and why.
    assert!(h.query_all_by_label("ORD000123").count() >= 2);
    h.get_by_label(&at);
    h.get_by_label_contains("103: ");
    h.get_by_label("nowhere: not sent on");
    // Captured into the session too.
    let s = baton::session::load(&ws, "go-live").unwrap();
    assert!(
        s.records
            .iter()
            .any(|r| matches!(r.event, baton::session::Event::Exchange(_)))
    );
    h.get_by_label("Stop").click();
    h.run_steps(2);
    h.get_by_label("Start listening");
}

#[test]
fn a_nist_receiver_profile_shows_its_conformance_findings_and_statement_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(std::path::Path::new("test-scenarios/phlip-flu-elr"), &ws);
    let mut h = open(ws.to_str().unwrap());
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.get_by_label_contains("9 met · 0 unmet · 0 not run");

    // The failed statement on the selected scenario's OBX-3, with its id and text.
    h.get_by_label("Local test code labelled as LOINC").click();
    h.run_steps(2);
    type_into(&mut h, "Search", "OBX-3");
    h.run_steps(1);
    h.get_by_label_contains("102: conformance statement CWE-1-LOINC not met");
    h.get_by_label("Receipt").click();
    h.run_steps(2);
    h.get_by_label_contains("MSA|AE|");
    h.get_by_label("Handoff").click();
    h.run_steps(2);
    h.get_by_label_contains(
        "57 conformance statements, 18 predicates, 30 datatype value-set bindings",
    );

    // The Gaps tab: the receiver's statements the lab's profile does not state.
    h.get_by_label("Session and sign-off").click();
    h.run_steps(2);
    type_into(&mut h, "Your name", "Maria Lopez");
    h.get_by_label("Gaps").click();
    h.run_steps(2);
    h.get_by_label_contains("gaps, ");
    type_into(&mut h, "Filter gaps", "NoACKType");
    h.run_steps(1);
    h.get_by_label_contains("1 shown");
    h.get_by_label("MSH: NoACKType").click();
    h.run_steps(1);
    h.get_by_label_contains("receiver conformance statement");
    type_into(&mut h, "Disposition note", "Rule PHL-ACCEPT-ACK fills NE");
    h.get_by_label("Not applicable").click();
    h.run_steps(3);
    h.get_by_label_contains("Disposition recorded for MSH: NoACKType");
}

#[test]
fn the_fields_tab_shows_warnings_on_accepted_rows_and_rules_on_rejected_ones() {
    let mut h = open("test-scenarios/discharge-home-health");
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.get_by_label_contains("16 met · 0 unmet · 0 not run");

    // A code passed through with a warning: accepted, the warning on its row.
    h.get_by_label("Unknown confidentiality level passes with a warning")
        .click();
    h.run_steps(2);
    type_into(&mut h, "Search", "TXA-18");
    h.run_steps(1);
    assert_eq!(h.state().visible_rows().len(), 1);
    h.get_by_label_contains("warning 103 (mapping): `X` has no translation");
    h.get_by_label_contains("1 with warnings");
    h.get_by_label("Clear").click();
    h.run_steps(2);

    // A rejection cites the translate rule that found no code.
    h.get_by_label("An operative report has no home-health document kind")
        .click();
    h.run_steps(2);
    type_into(&mut h, "Search", "TXA-2");
    h.run_steps(1);
    h.get_by_label_contains("[DIS-DOCTYPE]");
    h.get_by_label("Clear").click();
    h.run_steps(2);

    // Repetitions treated differently have a row each.
    h.get_by_label("The MRN is the second identifier").click();
    h.run_steps(2);
    type_into(&mut h, "Search", "PID-3");
    h.run_steps(1);
    assert_eq!(h.state().visible_rows().len(), 2);
    h.get_by_label("PID-3[1]");
    h.get_by_label_contains("DIS-MRN: HomeCare Connect stores one medical record number");
}

/// Steps frames until the Traffic tab's background run has finished.
fn wait_for_traffic(h: &mut Harness<'static, App>) {
    let start = Instant::now();
    h.step();
    while h.state().traffic.running.is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "run did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(3);
}

#[test]
fn the_traffic_tab_replays_a_log_opens_an_example_and_learns_a_profile() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Traffic").click();
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Traffic);
    h.get_by_label_contains("No log yet");
    // Without a file dialog, the path field does the job.
    type_into(&mut h, "Log path:", "tests/data/traffic/results-day.hl7");
    h.get_by_label("Add").click();
    h.run_steps(2);
    assert_eq!(h.state().traffic.logs.len(), 1);
    // The handoff is the one for the log's message type.
    assert_eq!(h.state().traffic.handoff.as_deref(), Some("results"));
    h.get_by_label("Replay log").click();
    wait_for_traffic(&mut h);
    h.get_by_label_contains("61 messages · 0 unreadable");
    // The field with the most rejections comes first, with its counts.
    let first = &h.state().traffic.report.as_ref().unwrap().fields[0];
    assert_eq!((first.path.as_str(), first.rejected), ("OBX-6", 6));
    h.get_by_label("OBX-6").click();
    h.run_steps(2);
    assert_eq!(h.state().traffic.field.as_deref(), Some("OBX-6"));
    h.get_by_label_contains("6 ×");
    h.get_by_label_contains("message 9 · control id LAB778809");
    // One click opens the example in the Fields tab.
    h.query_all_by_label("Open").next().expect("Open").click();
    wait_for_traffic(&mut h);
    assert_eq!(h.state().tab, Tab::Fields);
    assert_eq!(
        h.state().selected.as_ref().map(|s| s.index),
        Some(baton::gui::SCRATCH)
    );
    h.get_by_label("Message 9 of the log");
    type_into(&mut h, "Search", "Units");
    h.run_steps(2);
    h.get_by_label_contains("101: OBX[2]-6 is missing");
    // Learn a profile from the same log and preview it.
    h.get_by_label("Traffic").click();
    h.run_steps(2);
    h.get_by_label("Learn profile…").click();
    wait_for_traffic(&mut h);
    h.get_by_label_contains("Learned from 61 messages");
    let learned = h.state().traffic.learned.clone().expect("learned");
    assert!(learned.profile.contains("present in 61 of 61 PID"));
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("learned.toml");
    h.state_mut().traffic.learn_out = file.display().to_string();
    h.get_by_label("Save profile").click();
    h.run_steps(2);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), learned.profile);
}

#[test]
fn a_mapped_value_that_differs_from_the_expected_message_is_marked_and_filtered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    copy_dir(
        std::path::Path::new("test-scenarios/lab-orders-results"),
        &root,
    );
    // The expected message loses a character of the patient's name.
    let file = root.join("expected/orm-o01-lipid-panel.mapped.hl7");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("Delgado^Maria", "Delgado^Mari", 1)).unwrap();
    let mut h = open(root.to_str().unwrap());
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.query_all_by_label("Routine lipid panel order")
        .next()
        .expect("scenario")
        .click();
    h.run_steps(2);
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(0));
    h.get_by_label_contains("differs at PID[1]-5");
    // The toggle counts the differing rows; on, it leaves only them.
    h.get_by_label("≠ expected only (1)").click();
    h.run_steps(2);
    assert!(h.state().differs_only);
    let rows = h.state().visible_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].path.to_string(), "PID-5");
    h.get_by_label("≠ expected");
    // The deleted character is a span of its own.
    assert!(
        rows[0]
            .mapped_to_expected
            .iter()
            .any(|s| s.kind == baton::diff::SpanKind::Delete && s.text == "a")
    );
    // Search matches values too.
    h.get_by_label("≠ expected only (1)").click();
    h.run_steps(1);
    type_into(&mut h, "Search", "Portland");
    h.run_steps(2);
    let paths: Vec<String> = h
        .state()
        .visible_rows()
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert_eq!(paths, ["PID-11"]);
}

#[test]
fn recent_workspaces_are_kept_and_the_last_one_reopens() {
    use baton::gui::{Persisted, workspace_to_open};
    let bundled = PathBuf::from("test-scenarios/lab-orders-results");
    let other = PathBuf::from("test-scenarios/adt-registration");
    let before = Persisted {
        recent: vec![other.clone()],
        dark: false,
        last_workspace: Some(other.clone()),
    };
    // With no workspace named, the last one opens (it is still a workspace).
    assert_eq!(workspace_to_open(None, &before, bundled.clone()), other);
    // One that is gone falls back to the default.
    let gone = Persisted {
        last_workspace: Some(PathBuf::from("/nonexistent/ws")),
        ..before.clone()
    };
    assert_eq!(workspace_to_open(None, &gone, bundled.clone()), bundled);
    // Opening another adds to the list instead of replacing it.
    let app = App::with_state(bundled.clone(), Box::new(|| None), before);
    assert_eq!(app.persisted.recent, vec![bundled.clone(), other]);
    assert_eq!(app.persisted.last_workspace, Some(bundled));
}

#[test]
fn an_unknown_select_or_tab_is_said_in_the_window() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.state_mut().apply_options(&baton::gui::RunOptions {
        replay: false,
        select: Some("no-such-scenario".into()),
        tab: Some("sideways".into()),
    });
    h.run_steps(2);
    h.get_by_label_contains("no scenario `no-such-scenario` in this workspace");
    h.get_by_label_contains("no tab `sideways`; the tabs are fields, messages");
    // A known one works.
    h.state_mut().apply_options(&baton::gui::RunOptions {
        replay: false,
        select: Some("results-02-missing-units".into()),
        tab: Some("Traffic".into()),
    });
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Traffic);
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(19));
}

#[test]
fn an_unreadable_input_shows_its_problems_and_receipt_in_the_fields_tab() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.query_all_by_label("Binary junk instead of a message")
        .next()
        .expect("scenario")
        .click();
    h.run_steps(2);
    h.get_by_label("The input could not be read as a message: no field to account for.");
    assert!(h.query_all_by_label_contains("MSA|AR").count() >= 1);
    assert_eq!(
        h.query_all_by_label_contains("No field results yet")
            .count(),
        0
    );
}

#[test]
fn the_messages_tab_shows_the_source_before_a_replay() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    // Scenario 19 is below the fold of the list: select it as --select does.
    h.state_mut().command(Command::SelectScenario(19));
    h.run_steps(2);
    h.get_by_label("Messages").click();
    h.run_steps(2);
    assert!(h.state().result(19).is_none(), "not replayed");
    assert!(h.query_all_by_label_contains("MSH|^~\\&|LABCORE").count() >= 1);
    h.get_by_label("Replay the scenario to see the mapped message.");
    assert!(h.state().wrap_lines);
}

#[test]
fn without_a_file_dialog_a_path_field_opens_workspaces_and_messages() {
    let path = PathBuf::from("test-scenarios/lab-orders-results");
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .allow_missing_glyphs()
        .build_eframe(move |_cc| {
            // No dialog can open here: both pickers give nothing.
            let mut app = App::with_picker(path, Box::new(|| None));
            app.set_files_picker(Box::new(|| None));
            app
        });
    h.step();
    h.get_by_label("Open workspace…").click();
    h.run_steps(2);
    h.get_by_label_contains("No file dialog is available here");
    type_into(&mut h, "Path:", "test-scenarios/adt-registration");
    h.get_by_label("Open").click();
    h.run_steps(3);
    assert!(h.state().path_prompt.is_none());
    assert_eq!(
        h.state().workspace_path,
        PathBuf::from("test-scenarios/adt-registration")
    );
    // The same for message files.
    h.get_by_label("Open messages…").click();
    h.run_steps(2);
    type_into(&mut h, "Path:", "tests/data/traffic/results-day.hl7");
    h.get_by_label("Open").click();
    let start = Instant::now();
    while h.state().inspect.is_none() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    assert!(h.state().inspect.is_some(), "the file is being inspected");
    // Cancel closes the field and does nothing.
    h.get_by_label("Open workspace…").click();
    h.run_steps(2);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.state().path_prompt.is_none());
}

#[test]
fn the_keyboard_moves_through_scenarios_and_problems_and_copies() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.state_mut().command(Command::SelectScenario(19));
    h.run_steps(2);
    // F8: the next problem row (the rejected OBX[2]-6), selected and in view.
    h.key_press(egui::Key::F8);
    h.run_steps(2);
    assert_eq!(
        h.state().selected_field.as_ref().map(|p| p.to_string()),
        Some("OBX[2]-6".to_string())
    );
    h.get_by_label("Severity");
    // Shift+F8 wraps back to the same single problem.
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::F8);
    h.run_steps(2);
    assert_eq!(
        h.state().selected_field.as_ref().map(|p| p.to_string()),
        Some("OBX[2]-6".to_string())
    );
    // With no row selected (Escape), Down and Up move through the scenario list.
    h.key_press(egui::Key::Escape);
    h.run_steps(1);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(20));
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(2);
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(19));
    // Ctrl+C copies the selected field's value.
    h.state_mut().selected_field = Some("OBX[1]-6".parse().unwrap());
    h.event(egui::Event::Copy);
    h.step();
    assert_eq!(
        h.state().selected_value().as_deref(),
        Some("mg/dL^mg/dL^UCUM")
    );
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == "mg/dL^mg/dL^UCUM"));
    assert!(copied, "{:?}", h.output().platform_output.commands);
}
