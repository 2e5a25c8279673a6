//! Edit and re-run. The selected message, edited in place (its raw text or
//! one field's value), is a scratch scenario replayed as you type
//! (debounced), with the account updating live; a message pasted from the
//! clipboard is one too. "Save as scenario…" writes it into the workspace
//! with the expectations it started from or the ones observed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::RichText;

use super::{App, SCRATCH, Tab, style};
use crate::hl7::{self, Path};
use crate::replay::{self, ScenarioResult};
use crate::scenario::{Kind, Scenario, write};

/// How long typing must pause before the message is replayed again.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// The largest message edited in place: beyond it, a text box would lay out
/// megabytes every frame and each keystroke would replay them. Bigger
/// messages are replayed and shown, not edited.
pub const MAX_EDIT_BYTES: usize = 1024 * 1024;

/// Why a message of `len` bytes cannot be edited, if it cannot.
pub fn too_big(len: usize) -> Option<String> {
    (len > MAX_EDIT_BYTES).then(|| {
        format!(
            "The message is {} KB; messages up to {} KB are edited in place (edit the file, or a scenario's mutations)",
            len / 1024,
            MAX_EDIT_BYTES / 1024
        )
    })
}

/// The message being edited.
pub struct Editor {
    /// The text as edited: one segment per line.
    pub text: String,
    /// The workspace scenario it started from (its expectations are checked).
    pub base: Option<usize>,
    pub handoff: String,
    /// Where the text came from, for the header: a scenario's name, "pasted"…
    pub origin: String,
    /// When the text last changed and has not been replayed since.
    pub changed_at: Option<Instant>,
    /// One field's raw value being edited, from the Fields tab or a tree.
    pub field: Option<(Path, String)>,
    /// The id "Save as scenario" writes.
    pub save_id: String,
    /// Save with the expectations of the scenario it started from (else the observed ones).
    pub keep_expectations: bool,
    /// What the last save said.
    pub status: Option<Result<String, String>>,
    /// Replays made since editing began.
    pub runs: usize,
}

/// Segment ends as lines, for editing.
pub fn as_lines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The id offered for saving: the base's id with `-edited`, made unique.
fn free_id(app: &App, stem: &str) -> String {
    let taken = |id: &str| {
        app.workspace
            .as_ref()
            .is_some_and(|ws| ws.scenarios.iter().any(|s| s.id == id))
    };
    let mut id = format!("{stem}-edited");
    let mut n = 2;
    while taken(&id) {
        id = format!("{stem}-edited-{n}");
        n += 1;
    }
    id
}

/// Starts editing the selected scenario's (or scratch message's) source.
pub fn start(app: &mut App) {
    if app.editor.is_some() {
        return;
    }
    let Some(index) = app.selected.as_ref().map(|s| s.index) else {
        return;
    };
    let text = match (app.result(index), app.selected.as_ref()) {
        (Some(r), _) => r.replay.source_text.clone(),
        (None, Some(s)) => s
            .source
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    if let Some(why) = too_big(text.len()) {
        app.problems.push(super::Problem {
            place: "edit".into(),
            message: why,
        });
        return;
    }
    let Some(handoff) = app.handoff_of(index) else {
        return;
    };
    let base = app
        .workspace
        .as_ref()
        .and_then(|ws| ws.scenarios.get(index).map(|_| index));
    let (origin, stem) = match base.and_then(|i| app.workspace.as_ref()?.scenarios.get(i)) {
        Some(s) => (s.name.clone(), s.id.clone()),
        None => (
            app.result(index)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| "message".into()),
            "message".into(),
        ),
    };
    let save_id = free_id(app, &stem);
    app.editor = Some(Editor {
        text: as_lines(&text),
        base,
        handoff,
        origin,
        changed_at: None,
        field: None,
        save_id,
        keep_expectations: base.is_some(),
        status: None,
        runs: 0,
    });
}

/// Opens pasted text as a scratch scenario, replayed at once through the
/// selected scenario's handoff (else the handoff whose message types hold it).
pub fn open_pasted(app: &mut App, text: &str) {
    let Some(ws) = app.workspace.clone() else {
        return;
    };
    // The handoff that carries this message type, else the selected one's.
    let handoff = hl7::parse_one(text)
        .ok()
        .and_then(|m| ws.handoff_for_type(&m.message_type()).map(|h| h.id.clone()))
        .or_else(|| app.selected.as_ref().and_then(|s| app.handoff_of(s.index)))
        .or_else(|| ws.handoffs.first().map(|h| h.id.clone()));
    let Some(handoff) = handoff else { return };
    if let Some(why) = too_big(text.len()) {
        // Replayed and shown all the same; only editing is refused.
        if let Some(h) = ws.handoff(&handoff) {
            let replay = replay::replay_text(h, &ws.tables, text);
            app.open_scratch(
                ScenarioResult::unscripted(
                    "pasted",
                    "Pasted message",
                    Kind::Edge,
                    &handoff,
                    replay,
                ),
                &format!("A message pasted from the clipboard. {why}."),
            );
            app.tab = Tab::Fields;
        }
        return;
    }
    let save_id = free_id(app, "pasted");
    app.editor = Some(Editor {
        text: as_lines(text.trim()),
        base: None,
        handoff,
        origin: "a message pasted from the clipboard".into(),
        changed_at: None,
        field: None,
        save_id,
        keep_expectations: false,
        status: None,
        runs: 0,
    });
    rerun(app);
    app.tab = Tab::Messages;
}

/// Replays the edited text when typing has paused; else asks for a frame then.
pub fn poll(app: &mut App, ctx: Option<&egui::Context>) {
    let Some(at) = app.editor.as_ref().and_then(|e| e.changed_at) else {
        return;
    };
    let waited = at.elapsed();
    if waited >= DEBOUNCE {
        rerun(app);
    } else if let Some(ctx) = ctx {
        ctx.request_repaint_after(DEBOUNCE - waited);
    }
}

/// The scenario the edited text stands for: the base scenario with this
/// input (its mutations already applied) and its expectations, or one with none.
fn scratch_scenario(app: &App, e: &Editor) -> Scenario {
    let base = e
        .base
        .and_then(|i| app.workspace.as_ref()?.scenarios.get(i).cloned());
    let input = e.text.replace('\n', "\r");
    match base {
        Some(s) => Scenario {
            name: format!("{} (edited)", s.name),
            input,
            mutations: Vec::new(),
            input_origin: "edited".into(),
            ..s
        },
        None => Scenario {
            id: "scratch".into(),
            name: "Scratch message".into(),
            kind: Kind::Edge,
            handoff: e.handoff.clone(),
            description: String::new(),
            input_origin: "pasted".into(),
            input,
            mutations: Vec::new(),
            expect: Default::default(),
            expected_message: None,
            file: Default::default(),
        },
    }
}

/// Replays the edited text now and shows it as the scratch result.
pub fn rerun(app: &mut App) {
    let (Some(ws), Some(e)) = (app.workspace.clone(), app.editor.as_ref()) else {
        return;
    };
    let scenario = scratch_scenario(app, e);
    let result: ScenarioResult = replay::replay_scenario(&ws, &scenario);
    let note = format!(
        "Editing {}: replayed as you type. Save it as a scenario to keep it.",
        e.origin
    );
    let field = app.selected_field.clone();
    app.scratch = Some(Arc::new(result));
    app.scratch_note = note;
    app.select(SCRATCH);
    app.selected_field = field;
    if let Some(e) = app.editor.as_mut() {
        e.changed_at = None;
        e.runs += 1;
    }
}

/// Writes one field's raw value (delimiters kept: `^` separates components) into the edited text.
pub fn set_field(app: &mut App, path: &Path, value: &str) {
    let Some(e) = app.editor.as_mut() else { return };
    let Ok(mut m) = hl7::parse_one(&e.text.replace('\n', "\r")) else {
        e.status = Some(Err(
            "The text is not a message yet: fix it in the Source pane first.".into(),
        ));
        return;
    };
    m.set(path, value);
    e.text = as_lines(&m.encode());
    e.changed_at = Some(Instant::now());
}

/// Starts editing one field's value (and the message, if not yet).
pub fn edit_field(app: &mut App, path: Path) {
    start(app);
    let value = app
        .editor
        .as_ref()
        .and_then(|e| hl7::parse_one(&e.text.replace('\n', "\r")).ok())
        .map(|m| m.get_or_empty(&path).to_string())
        .unwrap_or_default();
    app.selected_field = Some(path.clone());
    if let Some(e) = app.editor.as_mut() {
        e.field = Some((path, value));
    }
}

/// Writes the edited message as a scenario, then reloads the workspace and selects it.
pub fn save(app: &mut App) {
    let (Some(ws), Some(e)) = (app.workspace.clone(), app.editor.as_ref()) else {
        return;
    };
    let base = e.base.and_then(|i| ws.scenarios.get(i));
    let expect = match (base, e.keep_expectations, app.scratch.as_ref()) {
        (Some(b), true, _) => b.expect.clone(),
        (_, _, Some(r)) => write::observed(&r.replay),
        _ => Default::default(),
    };
    let dir = base
        .and_then(|b| b.file.parent().map(|p| p.to_path_buf()))
        .unwrap_or_else(|| ws.root.join(&ws.scenarios_dir));
    let new = write::NewScenario {
        id: e.save_id.trim().to_string(),
        name: match base {
            Some(b) => format!("{} (edited)", b.name),
            None => "Pasted message".into(),
        },
        kind: base.map_or(Kind::Edge, |b| b.kind),
        handoff: e.handoff.clone(),
        description: match base {
            Some(b) => format!(
                "Edited from {} in the workbench. {}",
                b.id,
                if e.keep_expectations {
                    "Expectations are the original scenario's."
                } else {
                    "Expectations are what Baton observed: review them."
                }
            ),
            None => "Pasted into the workbench. Expectations are what Baton observed: review them."
                .into(),
        },
        message: e.text.clone(),
        expect,
    };
    match write::write(&dir, &new) {
        Ok(file) => {
            let tab = app.tab;
            app.editor = None;
            app.open_workspace(&ws.root.clone());
            app.tab = tab;
            if let Some(i) = app
                .workspace
                .as_ref()
                .and_then(|w| w.scenarios.iter().position(|s| s.id == new.id))
            {
                app.select(i);
                app.scroll_list_to = Some(i);
                app.command(super::Command::ReplaySelected);
            }
            app.session.message = Some(format!("Saved {}", file.display()));
        }
        Err(err) => {
            if let Some(e) = app.editor.as_mut() {
                e.status = Some(Err(err.to_string()));
            }
        }
    }
}

/// The bar above the Fields and Messages tabs while editing: what is being
/// edited, the field value editor, Save as scenario and Stop editing.
pub fn bar(app: &mut App, ui: &mut egui::Ui) {
    let Some(e) = app.editor.as_mut() else { return };
    let mut stop = false;
    let mut save_now = false;
    let mut field_changed = None;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Editing").strong().color(style::AMBER));
            ui.label(format!("{} — replayed as you type", e.origin));
            if e.changed_at.is_some() {
                ui.label(RichText::new("(typing…)").weak());
            }
        });
        if let Some((path, value)) = e.field.as_mut() {
            ui.horizontal(|ui| {
                let label = ui.label(format!("New value of {}:", path.display_canonical()));
                let resp = ui
                    .add(egui::TextEdit::singleline(value).desired_width(360.0))
                    .labelled_by(label.id);
                if resp.changed() {
                    field_changed = Some((path.clone(), value.clone()));
                }
                ui.label(RichText::new("as it stands in the message: ^ separates components, ~ repetitions").weak());
            });
        }
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Scenario id:");
            ui.add(egui::TextEdit::singleline(&mut e.save_id).desired_width(200.0))
                .labelled_by(label.id);
            if e.base.is_some() {
                ui.checkbox(&mut e.keep_expectations, "Keep the scenario's expectations")
                    .on_hover_text("Off: save what Baton observed now (receipt, counts, rejected and dropped fields, findings)");
            }
            let ok = write::check_id(e.save_id.trim()).is_ok();
            if ui
                .add_enabled(ok, egui::Button::new("Save as scenario…"))
                .on_hover_text("Writes <id>.hl7 and <id>.toml into the workspace, then lists and replays it")
                .on_disabled_hover_text("Type an id: letters, digits, -, _ or . (not first)")
                .clicked()
            {
                save_now = true;
            }
            if ui
                .button("Stop editing")
                .on_hover_text("Back to the scenario; the edit is discarded")
                .clicked()
            {
                stop = true;
            }
        });
        if let Some(s) = &e.status {
            match s {
                Ok(m) => ui.label(m),
                Err(m) => ui.colored_label(style::RED, m),
            };
        }
    });
    if let Some((p, v)) = field_changed {
        set_field(app, &p, &v);
    }
    if save_now {
        save(app);
    } else if stop {
        let base = app.editor.take().and_then(|e| e.base);
        app.scratch = None;
        if let Some(i) = base {
            app.select(i);
        }
    }
}
