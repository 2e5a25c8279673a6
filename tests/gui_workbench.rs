//! The analyst's workbench, driven headless as a person would: the three
//! panes and their trees, editing and re-running, pasting, saving as a
//! scenario, the hex view and copying.
#![cfg(feature = "gui")]

mod common;
use common::gui::{open, type_into, wait_for_replay};

use std::time::Duration;

use baton::gui::{App, Command, SCRATCH, Tab};
use baton::replay::Verdict;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable};

/// The bundled workspace, replayed, with scenario `index` selected.
fn replayed_and_selected(index: usize) -> Harness<'static, App> {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.state_mut().command(Command::SelectScenario(index));
    h.run_steps(2);
    h
}

/// Steps until the debounced re-run has happened.
fn after_typing(h: &mut Harness<'static, App>) {
    std::thread::sleep(baton::gui::DEBOUNCE + Duration::from_millis(50));
    h.run_steps(3);
}

fn copied(h: &Harness<'static, App>, want: &str) -> bool {
    h.output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == want))
}

#[test]
fn three_panes_with_trees_follow_the_selection_and_mark_findings() {
    let mut h = replayed_and_selected(0);
    h.get_by_label("Messages").click();
    h.run_steps(2);
    h.get_by_label("Source (as the sender sends it)");
    h.get_by_label("Mapped (as the receiver gets it)");
    h.get_by_label("Expected (the scenario's)");
    // Three trees: open PV1 in the source tree, then click its PV1-3 row.
    assert_eq!(h.query_all_by_label("PV1").count(), 3);
    h.query_all_by_label("PV1").next().expect("PV1").click();
    h.run_steps(2);
    assert!(h.state().messages.trees[0].is_open(2), "PV1 opened");
    h.query_all_by_label("PV1-3")
        .next()
        .expect("PV1-3 row")
        .click();
    h.run_steps(3);
    assert_eq!(
        h.state().selected_field.as_ref().map(|p| p.to_string()),
        Some("PV1-3".into())
    );
    // Selected everywhere: the other trees opened to it.
    assert!(h.state().messages.trees[1].is_open(2));
    assert!(h.state().messages.trees[2].is_open(2));
    // Three tree rows, and the "Selected:" line.
    assert_eq!(h.query_all_by_label("PV1-3").count(), 4);
    // Its data type, length used / maximum and table are on the row.
    assert!(h.query_all_by_label("PL").count() >= 3);
    assert!(h.query_all_by_label_contains("20/80").count() >= 3);
    // Copy the value from the tree's menu.
    // (The first "PV1-3" is the "Selected:" line; the next is the source tree's row.)
    h.query_all_by_label("PV1-3")
        .nth(1)
        .expect("row")
        .click_secondary();
    h.run_steps(2);
    h.get_by_label("Copy value").click();
    h.run_steps(1);
    assert!(copied(&h, "NGCLINIC^^^NORTHGATE"));

    // A rejected field is marked where it stands: the mapped PID has an error.
    h.state_mut().command(Command::SelectScenario(6));
    h.run_steps(3);
    assert!(h.query_all_by_label("has an error").count() >= 1);
    assert!(h.query_all_by_label("has a dropped field").count() >= 1);
}

#[test]
fn a_field_edited_in_place_re_runs_and_saves_as_a_scenario() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ws");
    common::copy_dir(
        std::path::Path::new("test-scenarios/lab-orders-results"),
        &root,
    );
    let mut h = open(root.to_str().expect("utf-8"));
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    h.state_mut().command(Command::SelectScenario(0));
    h.run_steps(2);
    assert_eq!(h.state().result(0).map(|r| r.verdict), Some(Verdict::Met));
    // Right-click the PID-8 row, Edit value…, and type.
    h.get_by_label("PID-8").click_secondary();
    h.run_steps(2);
    h.get_by_label("Edit value…").click();
    h.run_steps(2);
    h.get_by_label_contains("replayed as you type");
    type_into(&mut h, "New value of PID-8:", "X");
    after_typing(&mut h);
    let s = h.state();
    assert_eq!(s.selected.as_ref().map(|x| x.index), Some(SCRATCH));
    let r = s.result(SCRATCH).expect("re-run");
    assert!(
        r.replay.source_text.contains("|FX|"),
        "{}",
        r.replay.source_text
    );
    // The scenario's own expectations are checked against the edit: the
    // mapped message no longer equals the expected one.
    assert_eq!(r.verdict, Verdict::Unmet);
    assert!(
        r.checks
            .iter()
            .any(|c| !c.met && c.actual.contains("PID[1]-8"))
    );
    h.get_by_label_contains("≠ expected only (1)");
    assert!(h.query_all_by_label("UNMET").count() >= 1);

    // Save it with what was observed: listed, replayed, met.
    h.get_by_label("Keep the scenario's expectations").click();
    h.run_steps(1);
    h.get_by_label("Save as scenario…").click();
    h.run_steps(2);
    wait_for_replay(&mut h);
    let ws = h.state().workspace.clone().expect("workspace");
    let i = ws
        .scenarios
        .iter()
        .position(|s| s.id == "orders-01-happy-edited")
        .expect("the saved scenario is listed");
    assert!(root.join("scenarios/orders-01-happy-edited.hl7").exists());
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(i));
    assert_eq!(h.state().result(i).map(|r| r.verdict), Some(Verdict::Met));
    assert!(h.state().editor.is_none());
}

#[test]
fn the_source_text_is_edited_in_place_and_stop_editing_goes_back() {
    let mut h = replayed_and_selected(0);
    h.get_by_label("Messages").click();
    h.run_steps(2);
    h.get_by_label("Edit").click();
    h.run_steps(2);
    assert!(h.state().editor.is_some());
    // The whole text is editable: type a segment at the end.
    let editor = || By::new().role(egui::accesskit::Role::MultilineTextInput);
    h.get(editor()).focus();
    h.run_steps(1);
    assert!(h.get(editor()).is_focused(), "the editor has the keyboard");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    h.run_steps(1);
    h.get(editor()).type_text("\nZZZ|1|hello");
    h.run_steps(1);
    assert!(
        h.state()
            .editor
            .as_ref()
            .is_some_and(|e| e.text.contains("ZZZ|1|hello")),
        "{:?}",
        h.state().editor.as_ref().map(|e| e.text.clone())
    );
    after_typing(&mut h);
    let r = h.state().result(SCRATCH).expect("re-run");
    assert!(r.replay.source_text.contains("ZZZ|1|hello"));
    h.get_by_label("Stop editing").click();
    h.run_steps(2);
    assert!(h.state().editor.is_none());
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(0));
}

#[test]
fn a_pasted_message_opens_as_a_scratch_scenario_on_its_handoff() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    // "Paste message" with something that is not a message says so.
    h.get_by_label("Paste message").click();
    h.run_steps(1);
    h.event(egui::Event::Paste("hello".into()));
    h.run_steps(2);
    assert!(h.state().editor.is_none());
    h.get_by_label_contains("does not hold an HL7 message");
    // Ctrl+V of a results message, outside any text field.
    let text = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7",
    )
    .expect("message");
    h.event(egui::Event::Paste(text));
    h.run_steps(3);
    let s = h.state();
    let e = s.editor.as_ref().expect("editing the pasted message");
    assert_eq!(e.handoff, "results", "chosen by its message type");
    assert_eq!(s.tab, Tab::Messages);
    let r = s.result(SCRATCH).expect("replayed");
    assert_eq!(r.replay.ack_code, "AA");
    assert!(!r.replay.fields.is_empty());
    assert!(
        h.query_all_by_label_contains("a message pasted from the clipboard")
            .count()
            >= 1
    );
}

#[test]
fn binary_input_shows_in_hex() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.get_by_label("Replay all").click();
    wait_for_replay(&mut h);
    let i = h
        .state()
        .workspace
        .as_ref()
        .and_then(|ws| {
            ws.scenarios
                .iter()
                .position(|s| s.id == "orders-15-binary-junk")
        })
        .expect("scenario");
    h.state_mut().command(Command::SelectScenario(i));
    h.run_steps(2);
    h.get_by_label("Messages").click();
    h.run_steps(2);
    h.get_by_label("The source could not be read as a message:");
    assert!(h.query_all_by_label_contains("00000000  ").count() >= 1);
}

#[test]
fn problems_first_rows_by_keyboard_enter_escape_and_search() {
    let mut h = replayed_and_selected(6);
    // Problem rows come first: the rejected PID-5 tops the table.
    let first = h.state().visible_rows()[0].path.to_string();
    assert_eq!(first, "PID-5");
    h.get_by_label("Problems first").click();
    h.run_steps(1);
    assert_eq!(h.state().visible_rows()[0].path.to_string(), "MSH-1");
    h.get_by_label("Problems first").click();
    h.run_steps(1);
    // A row selected: Down and Up move through the table, not the list.
    h.get_by_label("PID-5").click();
    h.run_steps(1);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(1);
    let second = h.state().visible_rows()[1].path.clone();
    assert_eq!(h.state().selected_field.as_ref(), Some(&second));
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(6));
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(1);
    assert_eq!(
        h.state().selected_field.as_ref().map(|p| p.to_string()),
        Some("PID-5".into())
    );
    // Ctrl+Down moves the scenario list all the same.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(h.state().selected.as_ref().map(|s| s.index), Some(7));
    // Enter opens the selected row in the Messages tab; Escape clears it.
    h.state_mut().selected_field = Some("PID-3".parse().expect("path"));
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Messages);
    h.key_press(egui::Key::Escape);
    h.run_steps(1);
    assert!(h.state().selected_field.is_none());
    // Ctrl+F: the Fields tab's search has the keyboard; a value matches.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Fields);
    h.get(
        egui_kittest::kittest::By::new()
            .role(egui::accesskit::Role::TextInput)
            .label("Search"),
    )
    .type_text("Penicillin");
    h.run_steps(2);
    assert_eq!(h.state().search, "Penicillin");
    assert_eq!(h.state().visible_rows().len(), 1);
    h.get(
        egui_kittest::kittest::By::new()
            .role(egui::accesskit::Role::TextInput)
            .label("Search"),
    )
    .type_text("zzz");
    h.run_steps(2);
    h.get_by_label_contains("No match");
    // Wrap values: the toggle is there and rows grow instead of cutting.
    h.get_by_label("Wrap values").click();
    h.run_steps(1);
    assert!(h.state().wrap_values);
}

#[test]
fn the_receipt_tab_copies_the_ack() {
    let mut h = replayed_and_selected(5);
    h.get_by_label("Receipt").click();
    h.run_steps(2);
    h.get_by_label("Copy ACK").click();
    h.run_steps(1);
    let ack = h
        .state()
        .result(5)
        .expect("replayed")
        .replay
        .ack
        .replace('\r', "\n");
    assert!(copied(&h, ack.trim_end()), "{ack}");
}

#[test]
fn raw_text_is_selected_by_dragging_and_copied() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    h.state_mut().command(Command::SelectScenario(0));
    h.run_steps(2);
    h.get_by_label("Messages").click();
    h.run_steps(2);
    let rect = h
        .query_all_by_label_contains("MSH|^~\\&|CAREEHR")
        .next()
        .expect("the source text")
        .rect();
    let from = rect.left_top() + egui::vec2(1.0, 6.0);
    let to = from + egui::vec2(90.0, 0.0);
    h.event(egui::Event::PointerMoved(from));
    h.event(egui::Event::PointerButton {
        pos: from,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(1);
    h.event(egui::Event::PointerMoved(to));
    h.run_steps(1);
    h.event(egui::Event::PointerButton {
        pos: to,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(1);
    h.event(egui::Event::Copy);
    h.run_steps(1);
    let texts: Vec<String> = h
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.starts_with("MSH|") && t.len() > 4),
        "{texts:?}"
    );
}

#[test]
fn a_message_too_big_to_edit_is_replayed_but_not_edited() {
    let mut h = open("test-scenarios/lab-orders-results");
    h.step();
    let one = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7",
    )
    .expect("message");
    // One message of ~1.5 MB: its OBX segments repeated.
    let obx: String = one
        .lines()
        .filter(|l| l.starts_with("OBX"))
        .map(|l| format!("{l}\r"))
        .collect();
    let mut big = one.replace('\n', "\r");
    while big.len() <= baton::gui::MAX_EDIT_BYTES + 100_000 {
        big.push_str(&obx);
    }
    let started = std::time::Instant::now();
    h.event(egui::Event::Paste(big));
    h.run_steps(3);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(h.state().editor.is_none(), "not edited in place");
    let r = h.state().result(SCRATCH).expect("replayed all the same");
    assert!(r.replay.fields.len() > 1000);
    h.get_by_label_contains("messages up to 1024 KB are edited in place");
}

#[test]
fn each_tree_shows_its_sides_profile_where_it_lists_the_field() {
    // Patient name longer than LabCore allows: CareEHR allows 100, LabCore 48.
    let mut h = replayed_and_selected(6);
    h.get_by_label("Messages").click();
    h.run_steps(2);
    h.state_mut()
        .command(Command::SelectField(Some("PID-5".parse().expect("path"))));
    h.run_steps(3);
    // The source tree reads CareEHR's profile, the mapped tree LabCore's.
    assert!(
        h.query_all_by_label_contains("/100").count() >= 1,
        "sender's 100"
    );
    assert!(
        h.query_all_by_label_contains("/48").count() >= 1,
        "receiver's 48"
    );
}
