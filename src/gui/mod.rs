//! The workbench window (egui/eframe), a thin layer over the core: it keeps
//! UI state only; every action is a [`Command`] carried out at the end of a
//! frame by the same core functions the CLI uses.

mod commands;
mod editor;
mod fields;
mod gaps;
mod handoff;
mod inspect;
mod live;
mod message;
mod problems;
mod receipt;
mod scenarios;
mod signoff;
mod style;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};

use serde::{Deserialize, Serialize};

use crate::diff::{self, DiffRow};
use crate::hl7::{self, Path as FieldPath};
use crate::replay::{self, ScenarioResult, Verdict};
use crate::scenario::{Kind, OutcomeKind};
use crate::workspace::Workspace;

/// The selection index of the scratch result (a message from a log).
pub const SCRATCH: usize = usize::MAX;

pub use editor::{DEBOUNCE, MAX_EDIT_BYTES};

/// What survives a restart (eframe storage).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub recent: Vec<PathBuf>,
    pub dark: bool,
    pub last_workspace: Option<PathBuf>,
}

const STORAGE_KEY: &str = "baton";
const MAX_RECENT: usize = 8;

/// A user action, carried out at the end of the frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    OpenWorkspace(PathBuf),
    ChooseWorkspace,
    ReplayAll,
    ReplaySelected,
    Cancel,
    SelectScenario(usize),
    SelectField(Option<FieldPath>),
    InspectFiles(Vec<PathBuf>),
    SetDark(bool),
    RecordRun,
    AddComment,
    AddWaiver,
    /// Sign: approve (true) or reject (false).
    /// Show what an approval (true) or rejection would sign, and ask.
    ConfirmSign(bool),
    Sign(bool),
    /// Record the selected gap's disposition: rule, waiver or n/a.
    Dispose(String),
    /// Generate scenarios for the selected scenario's handoff, for review.
    Generate,
    /// Save the generated scenarios ticked for saving.
    SaveGenerated,
    /// Replay one generated scenario (by index) without saving, and show it.
    PreviewGenerated(usize),
    /// Replay every generated scenario without saving: a verdict beside each.
    PreviewAllGenerated,
    ExportReport,
    /// Export the report to this path (chosen in a dialog or typed).
    ExportReportTo(PathBuf),
    /// Choose message files to inspect (a dialog, else a path field).
    ChooseMessages,
    SetMask(bool),
    /// Edit the selected message in place (a scratch scenario re-run as you type).
    EditMessage,
    /// Edit one field's value of the selected message.
    EditField(FieldPath),
    /// Ask for the clipboard: the pasted text opens as a scratch message.
    PasteMessage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Fields,
    Messages,
    Receipt,
    Handoff,
    Gaps,
    Live,
    Traffic,
    Session,
}

/// The gap rows of one handoff of one loaded workspace.
type GapCache = ((Arc<Workspace>, String), Arc<Vec<crate::gap::GapRow>>);

/// The navigation keys pressed this frame.
struct Keys {
    up: bool,
    down: bool,
    list_up: bool,
    list_down: bool,
    enter: bool,
    escape: bool,
    next: bool,
    prev: bool,
    copy: bool,
}

/// A problem shown in the problems panel: what, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: String,
    pub message: String,
}

/// Which scenario verdicts the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictFilter {
    All,
    Met,
    Unmet,
    NotRun,
}

/// A replay running on a background thread.
struct Job {
    total: usize,
    /// Results taken from the channel so far.
    received: usize,
    done: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    results: Receiver<(usize, ScenarioResult)>,
}

/// The selected scenario's data, built once when it is selected or replayed.
pub struct Selected {
    pub index: usize,
    pub rows: Vec<DiffRow>,
    pub source: Option<hl7::Message>,
    pub mapped: Option<hl7::Message>,
    /// The scenario's expected mapped message, when it gives one.
    pub expected: Option<hl7::Message>,
}

/// Replaces the folder dialog in tests.
pub type Picker = Box<dyn FnMut() -> Option<PathBuf> + Send>;

pub struct App {
    pub persisted: Persisted,
    pub workspace_path: PathBuf,
    pub workspace: Option<Arc<Workspace>>,
    pub problems: Vec<Problem>,
    pub results: Vec<Option<Arc<ScenarioResult>>>,
    pub selected: Option<Selected>,
    pub selected_field: Option<FieldPath>,
    pub tab: Tab,
    pub kind_filter: [bool; 3],
    pub verdict_filter: VerdictFilter,
    pub outcome_filter: [bool; 4],
    /// Only rows whose mapped value differs from the expected message.
    pub differs_only: bool,
    /// The Fields tab lists problem rows first (else in message order).
    pub problems_first: bool,
    /// The Fields tab wraps long values onto more lines (else truncates them).
    pub wrap_values: bool,
    /// The Fields tab's search box takes the keyboard on the next frame (Ctrl+F).
    pub focus_search: bool,
    /// The Messages tab wraps long segments (else it scrolls sideways).
    pub wrap_lines: bool,
    /// The scenario list scrolls to this scenario on its next frame.
    pub scroll_list_to: Option<usize>,
    /// The Fields table scrolls to this visible row on its next frame.
    pub scroll_fields_to: Option<usize>,
    pub search: String,
    pub inspect: Option<inspect::InspectState>,
    /// Files being read for inspection on a background thread.
    reading: Option<(Vec<PathBuf>, Receiver<inspect::InspectState>)>,
    pub session: signoff::SessionState,
    /// Digest of the current inputs and results, once every scenario has run.
    pub current_digest: Option<String>,
    /// Patient data masked on screen.
    pub mask_screen: bool,
    /// The gap selected in the Gaps tab, and the note for its disposition.
    pub gap_selected: Option<String>,
    pub gap_note: String,
    /// Text the Gaps tab's rows are narrowed to.
    pub gap_filter: String,
    /// The last gap analysis: (workspace, handoff) it was made for, and its rows.
    /// (Holding the workspace keeps its address from being reused by another.)
    gap_cache: Option<GapCache>,
    /// The live MLLP panel.
    pub live: live::LiveState,
    /// The Traffic tab: a log replayed through a handoff, a learned profile.
    pub traffic: traffic::TrafficState,
    /// A message opened from outside the workspace's scenarios (a log's
    /// example), selected as [`SCRATCH`].
    pub scratch: Option<Arc<ScenarioResult>>,
    /// What the scratch result is, for its header.
    pub scratch_note: String,
    /// The message being edited and re-run (a scratch scenario).
    pub editor: Option<editor::Editor>,
    /// The Messages tab's panes, trees and scrolling.
    pub messages: message::ViewState,
    /// "Paste message" asked for the clipboard: the next paste opens as a message.
    paste_wanted: bool,
    /// Generated scenarios under review, and whether each is to be saved.
    pub generated: Vec<(crate::generate::Generated, bool)>,
    /// Verdicts of generated scenarios previewed (by id): met, or why not.
    pub generated_verdicts: rustc_hash::FxHashMap<String, Result<Verdict, String>>,
    masker: Option<crate::report::Masker>,
    commands: Vec<Command>,
    job: Option<Job>,
    picker: Picker,
    save_picker: signoff::SavePicker,
    files_picker: FilesPicker,
    /// A path typed in when no file dialog can open.
    pub path_prompt: Option<PathPrompt>,
}

/// Replaces the message-files dialog in tests.
pub type FilesPicker = Box<dyn FnMut() -> Option<Vec<PathBuf>> + Send>;

/// What a typed path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFor {
    Workspace,
    Messages,
    Report,
}

/// The path field shown when no file dialog can open (no desktop portal,
/// a remote session): never a click that silently does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPrompt {
    pub purpose: PathFor,
    pub text: String,
}

impl PathPrompt {
    fn new(purpose: PathFor) -> PathPrompt {
        PathPrompt {
            purpose,
            text: String::new(),
        }
    }
}

fn default_files_picker() -> FilesPicker {
    Box::new(|| {
        rfd::FileDialog::new()
            .set_title("Open HL7 message files")
            .add_filter("HL7 messages", &["hl7", "txt", "er7", "msg"])
            .add_filter("All files", &["*"])
            .pick_files()
    })
}

fn default_picker() -> Picker {
    Box::new(|| {
        rfd::FileDialog::new()
            .set_title("Open a Baton workspace folder")
            .pick_folder()
    })
}

impl App {
    /// The app as eframe creates it: persisted state restored, then `workspace` opened.
    pub fn new(cc: &eframe::CreationContext<'_>, workspace: PathBuf) -> App {
        App::open(cc, Some(workspace), PathBuf::new())
    }

    /// The app as `baton` opens it: the workspace named, else the last one
    /// opened (when it still has a manifest), else `default`.
    pub fn open(
        cc: &eframe::CreationContext<'_>,
        workspace: Option<PathBuf>,
        default: PathBuf,
    ) -> App {
        let persisted: Persisted = cc
            .storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_default();
        style::apply(&cc.egui_ctx, persisted.dark);
        let path = workspace_to_open(workspace, &persisted, default);
        App::with_state(path, default_picker(), persisted)
    }

    /// The app with no window: used by tests, which also replace the folder dialog.
    pub fn with_picker(workspace: PathBuf, picker: Picker) -> App {
        App::with_state(workspace, picker, Persisted::default())
    }

    /// [`App::with_picker`] with persisted state (recent workspaces, theme)
    /// restored before the workspace opens, so that opening adds to it.
    pub fn with_state(workspace: PathBuf, picker: Picker, persisted: Persisted) -> App {
        let mut app = App {
            persisted,
            workspace_path: workspace.clone(),
            workspace: None,
            problems: Vec::new(),
            results: Vec::new(),
            selected: None,
            selected_field: None,
            tab: Tab::Fields,
            kind_filter: [true; 3],
            verdict_filter: VerdictFilter::All,
            outcome_filter: [true; 4],
            differs_only: false,
            problems_first: true,
            wrap_values: false,
            focus_search: false,
            wrap_lines: true,
            scroll_list_to: None,
            scroll_fields_to: None,
            search: String::new(),
            inspect: None,
            reading: None,
            session: signoff::SessionState::default(),
            current_digest: None,
            mask_screen: false,
            gap_selected: None,
            gap_note: String::new(),
            gap_filter: String::new(),
            gap_cache: None,
            generated: Vec::new(),
            scratch_note: String::new(),
            generated_verdicts: Default::default(),
            editor: None,
            messages: Default::default(),
            paste_wanted: false,
            live: live::LiveState::default(),
            traffic: traffic::TrafficState::default(),
            scratch: None,
            masker: None,
            commands: Vec::new(),
            job: None,
            picker,
            save_picker: signoff::default_save_picker(),
            files_picker: default_files_picker(),
            path_prompt: None,
        };
        app.open_workspace(&workspace);
        app
    }

    /// Replaces the message-files dialog (tests).
    pub fn set_files_picker(&mut self, p: FilesPicker) {
        self.files_picker = p;
    }

    /// Keys that move and copy, when no text field has the keyboard:
    /// Up/Down through the Fields table when a row is selected there (else
    /// through the scenario list; Ctrl+Up/Down always), Enter opens (a
    /// scenario in the Fields tab, a row in the Messages tab), Escape clears
    /// the row, F8 / Shift+F8 the next or previous problem row, Ctrl+F
    /// searches the fields, Ctrl+C copies the selected field's value.
    fn navigation_keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        if ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::F)) {
            self.tab = Tab::Fields;
            self.focus_search = true;
        }
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let k = ctx.input_mut(|i| Keys {
            up: i.consume_key(Modifiers::NONE, Key::ArrowUp),
            down: i.consume_key(Modifiers::NONE, Key::ArrowDown),
            list_up: i.consume_key(Modifiers::COMMAND, Key::ArrowUp),
            list_down: i.consume_key(Modifiers::COMMAND, Key::ArrowDown),
            enter: i.consume_key(Modifiers::NONE, Key::Enter),
            escape: i.consume_key(Modifiers::NONE, Key::Escape),
            next: i.consume_key(Modifiers::NONE, Key::F8),
            prev: i.consume_key(Modifiers::SHIFT, Key::F8),
            copy: i.events.iter().any(|e| matches!(e, egui::Event::Copy)),
        });
        let in_rows = self.tab == Tab::Fields && self.selected_field.is_some();
        if (k.up || k.down) && in_rows {
            self.step_row(k.down);
        } else if k.up || k.down || k.list_up || k.list_down {
            self.step_scenario(k.down || k.list_down);
        }
        if k.enter {
            if self.selected_field.is_some() {
                self.tab = Tab::Messages;
                self.messages.reveal = true;
            } else {
                self.tab = Tab::Fields;
            }
        }
        if k.escape {
            self.selected_field = None;
        }
        if k.next || k.prev {
            self.step_problem(k.next);
        }
        // Text selected in a label or the raw message is what Ctrl+C copies.
        let text_selected = ctx
            .plugin::<egui::text_selection::LabelSelectionState>()
            .lock()
            .has_selection();
        if k.copy
            && !text_selected
            && let Some(text) = self.selected_value()
        {
            ctx.copy_text(text);
        }
    }

    /// Selects the next (or previous) scenario of the list.
    fn step_scenario(&mut self, down: bool) {
        let list = self.visible_scenarios();
        let at = self
            .selected
            .as_ref()
            .and_then(|s| list.iter().position(|&i| i == s.index));
        let to = match (at, down) {
            (None, _) => list.first().copied(),
            (Some(p), true) => list.get(p + 1).copied(),
            (Some(p), false) => p.checked_sub(1).and_then(|p| list.get(p).copied()),
        };
        if let Some(i) = to {
            self.command(Command::SelectScenario(i));
            self.scroll_list_to = Some(i);
        }
    }

    /// Selects the next (or previous) row of the Fields table, as shown.
    fn step_row(&mut self, down: bool) {
        let Some(sel) = &self.selected else { return };
        let rows = self.visible_row_indices();
        let at = self
            .selected_field
            .as_ref()
            .and_then(|p| rows.iter().position(|&i| sel.rows[i].path == *p));
        let to = match (at, down) {
            (None, _) => Some(0),
            (Some(p), true) => Some((p + 1).min(rows.len().saturating_sub(1))),
            (Some(p), false) => Some(p.saturating_sub(1)),
        };
        if let Some(pos) = to
            && let Some(&i) = rows.get(pos)
        {
            self.selected_field = Some(sel.rows[i].path.clone());
            self.scroll_fields_to = Some(pos);
        }
    }

    /// A paste opens as a scratch message when "Paste message" asked for
    /// it, or when it is a message (starts with MSH) and no text field has
    /// the keyboard (Ctrl+V anywhere else).
    fn pasted(&mut self, ctx: &egui::Context) {
        let text = ctx.input(|i| {
            i.events.iter().find_map(|e| match e {
                egui::Event::Paste(t) => Some(t.clone()),
                _ => None,
            })
        });
        let Some(text) = text else { return };
        let wanted = std::mem::take(&mut self.paste_wanted);
        let free = !ctx.egui_wants_keyboard_input();
        let looks = text.trim_start().starts_with("MSH");
        if wanted && !looks {
            self.problems.push(Problem {
                place: "clipboard".into(),
                message: "The clipboard does not hold an HL7 message (it does not start with MSH)."
                    .into(),
            });
        } else if looks && (wanted || free) {
            editor::open_pasted(self, &text);
        }
    }

    /// Replays a generated scenario without saving it; `show` opens it in
    /// the Fields tab as a scratch result.
    fn preview_generated(&mut self, i: usize, show: bool) {
        let (Some(ws), Some((g, _))) = (self.workspace.clone(), self.generated.get(i)) else {
            return;
        };
        let g = g.clone();
        match crate::generate::preview(&ws, &g) {
            Ok(r) => {
                self.generated_verdicts.insert(g.id.clone(), Ok(r.verdict));
                if show {
                    self.open_scratch(
                        r,
                        &format!(
                            "Generated, not saved yet: {} Tick it in the Gaps tab to save it.",
                            g.reason
                        ),
                    );
                    self.tab = Tab::Fields;
                }
            }
            Err(e) => {
                self.generated_verdicts.insert(g.id.clone(), Err(e));
            }
        }
    }

    /// Whether a row of the Fields tab is a problem: rejected, with a
    /// warning, or different from the expected message.
    pub fn is_problem(r: &DiffRow) -> bool {
        r.outcome == Some(OutcomeKind::Rejected)
            || r.differs_from_expected
            || r.severity >= Some(crate::finding::Severity::Warning)
    }

    /// Selects the next (or previous) problem row of the Fields tab, wrapping.
    pub fn step_problem(&mut self, forward: bool) {
        let Some(sel) = &self.selected else { return };
        let rows = self.visible_row_indices();
        let problems: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| App::is_problem(&sel.rows[i]))
            .collect();
        if problems.is_empty() {
            return;
        }
        let current = self
            .selected_field
            .as_ref()
            .and_then(|p| rows.iter().position(|&i| sel.rows[i].path == *p));
        let pos_of = |i: usize| rows.iter().position(|&r| r == i).unwrap_or(0);
        let pick = match current {
            None if forward => problems[0],
            None => problems[problems.len() - 1],
            Some(c) if forward => problems
                .iter()
                .copied()
                .find(|&i| pos_of(i) > c)
                .unwrap_or(problems[0]),
            Some(c) => problems
                .iter()
                .rev()
                .copied()
                .find(|&i| pos_of(i) < c)
                .unwrap_or(problems[problems.len() - 1]),
        };
        self.selected_field = Some(sel.rows[pick].path.clone());
        self.scroll_fields_to = Some(pos_of(pick));
        self.tab = Tab::Fields;
    }

    /// The selected field's value as shown: the mapped value, else the source's.
    pub fn selected_value(&self) -> Option<String> {
        let sel = self.selected.as_ref()?;
        let p = self.selected_field.as_ref()?;
        let row = sel.rows.iter().find(|r| r.path == *p)?;
        let v = row.mapped.as_deref().or(row.source.as_deref())?;
        Some(self.shown(v))
    }

    /// The path field, when a dialog could not open.
    fn path_prompt_ui(&mut self, ui: &mut egui::Ui) {
        let Some(prompt) = self.path_prompt.as_mut() else {
            return;
        };
        let (title, action, hint) = match prompt.purpose {
            PathFor::Workspace => ("Open workspace", "Open", "/path/to/workspace folder"),
            PathFor::Messages => ("Open messages", "Open", "/path/to/messages.hl7"),
            PathFor::Report => ("Export report", "Export", "/path/to/report.html"),
        };
        let mut done = None;
        let mut cancel = false;
        egui::Panel::top("path_prompt").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal_wrapped(|ui| {
                ui.strong(format!("{title}:"));
                ui.label("No file dialog is available here (no desktop portal, or a remote session). Type the path.");
            });
            {
                let label = ui.label("Path:");
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(&mut prompt.text)
                            .hint_text(hint)
                            .desired_width(420.0),
                    )
                    .labelled_by(label.id);
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.horizontal(|ui| {
                    let ok = !prompt.text.trim().is_empty();
                    if ui
                        .add_enabled(ok, egui::Button::new(action))
                        .on_disabled_hover_text("Type a path first")
                        .clicked()
                        || (enter && ok)
                    {
                        done = Some(PathBuf::from(prompt.text.trim()));
                    }
                    if ui.button("Cancel").clicked() {
                        cancel = true;
                    }
                });
            }
            ui.add_space(4.0);
        });
        if cancel {
            self.path_prompt = None;
        } else if let Some(p) = done {
            let purpose = prompt.purpose;
            self.path_prompt = None;
            self.command(match purpose {
                PathFor::Workspace => Command::OpenWorkspace(p),
                PathFor::Messages => Command::InspectFiles(vec![p]),
                PathFor::Report => Command::ExportReportTo(p),
            });
        }
    }

    /// Replaces the report save dialog (tests).
    pub fn set_save_picker(&mut self, p: signoff::SavePicker) {
        self.save_picker = p;
    }

    /// The masker of the current results (for patient data on screen).
    pub fn masker(&self) -> Option<&crate::report::Masker> {
        self.masker.as_ref()
    }

    /// The text as shown: masked when the screen mask is on.
    pub fn shown(&self, text: &str) -> String {
        match (&self.masker, self.mask_screen) {
            // A message is masked where its patient fields stand; other text
            // by the values learned from them.
            (Some(m), true) => m.mask_message_text(text),
            _ => text.to_string(),
        }
    }

    fn all_results(&self) -> Option<Vec<ScenarioResult>> {
        self.results.iter().map(|r| r.as_deref().cloned()).collect()
    }

    /// Recomputes what depends on having every result.
    fn refresh_derived(&mut self) {
        let Some(ws) = &self.workspace else { return };
        match self.all_results() {
            Some(all) => {
                let d = crate::session::content_digest(&ws.files, &crate::session::summaries(&all));
                self.masker = Some(crate::report::Masker::for_results(
                    &all,
                    &ws.phi,
                    &ws.phi_dates,
                    &d,
                ));
                self.current_digest = Some(d);
            }
            None => self.current_digest = None,
        }
    }

    /// Replays anything not yet replayed, here and now (sign-off and export need all).
    fn ensure_all_results(&mut self) -> Option<Vec<ScenarioResult>> {
        let ws = self.workspace.clone()?;
        self.cancel();
        for (i, slot) in self.results.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some(Arc::new(replay::replay_scenario(&ws, &ws.scenarios[i])));
            }
        }
        self.refresh_derived();
        if let Some(i) = self.selected.as_ref().map(|s| s.index) {
            self.select(i);
        }
        self.all_results()
    }

    fn person(&self) -> crate::session::Person {
        crate::session::Person {
            name: self.session.person.trim().to_string(),
            role: self.session.role.trim().to_string(),
            side: self.session.side,
        }
    }

    /// What a sign-off would sign now, for the confirmation.
    fn pending_signoff(&mut self, approve: bool) -> signoff::Pending {
        let results: Vec<&ScenarioResult> = self.results.iter().flatten().map(|r| &**r).collect();
        let met = results
            .iter()
            .filter(|r| r.verdict == crate::Verdict::Met)
            .count();
        let total = self.results.len();
        let open_gaps = self
            .workspace
            .as_ref()
            .map(|ws| {
                ws.handoffs
                    .iter()
                    .map(|h| {
                        crate::gap::analyse(&h.sender, &h.receiver, Some(&h.rules), &ws.tables)
                            .iter()
                            .filter(|g| g.status == "open")
                            .count()
                    })
                    .sum()
            })
            .unwrap_or(0);
        let waivers = self
            .session
            .loaded
            .as_ref()
            .map(|l| {
                l.records
                    .iter()
                    .filter(|r| matches!(r.event, crate::session::Event::Waiver { .. }))
                    .count()
            })
            .unwrap_or(0);
        let key =
            crate::session::public_key_of(self.session.person.trim()).map_err(|e| e.to_string());
        signoff::Pending {
            approve,
            digest: self.current_digest.clone(),
            met,
            total,
            open_gaps,
            waivers,
            key,
        }
    }

    fn reload_signers(&mut self) {
        let Some(ws) = &self.workspace else { return };
        let path = crate::signers::Signers::path(&ws.root);
        self.session.signers_stamp = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        match crate::signers::Signers::read(&path) {
            Ok(s) => self.session.signers = s,
            Err(e) => {
                self.session.signers = Default::default();
                self.session.message = Some(format!("The register of signers cannot be read: {e}"));
            }
        }
    }

    fn reload_session(&mut self) {
        self.reload_signers();
        let Some(ws) = &self.workspace else { return };
        self.session.names = crate::session::list(&ws.root);
        if crate::session::check_name(&self.session.name).is_err() {
            self.session.loaded = None;
            return;
        }
        self.session.fingerprint = crate::session::fingerprint(&ws.root, &self.session.name);
        match crate::session::load(&ws.root, &self.session.name) {
            Ok(s) => self.session.loaded = Some(s),
            Err(e) => self.session.message = Some(e.to_string()),
        }
    }

    /// Notices records written by someone else (checked every 2 s).
    fn poll_session(&mut self) {
        let Some(ws) = &self.workspace else { return };
        let due = self
            .session
            .last_poll
            .is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(2));
        if !due {
            return;
        }
        self.session.last_poll = Some(std::time::Instant::now());
        let stamp = std::fs::metadata(crate::signers::Signers::path(&ws.root))
            .and_then(|m| m.modified())
            .ok();
        if stamp != self.session.signers_stamp {
            self.reload_signers();
        }
        let Some(ws) = &self.workspace else { return };
        // Sessions the other team starts show up too.
        self.session.names = crate::session::list(&ws.root);
        if crate::session::check_name(&self.session.name).is_ok()
            && (self
                .session
                .loaded
                .as_ref()
                .is_none_or(|l| l.name != self.session.name)
                || crate::session::fingerprint(&ws.root, &self.session.name)
                    != self.session.fingerprint)
        {
            self.reload_session();
        }
    }

    pub fn command(&mut self, c: Command) {
        self.commands.push(c);
    }

    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// (done, total) of the running replay.
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.job
            .as_ref()
            .map(|j| (j.done.load(Ordering::Relaxed), j.total))
    }

    /// The result at `index`, shared (no copy of its rows).
    pub fn result_shared(&self, index: usize) -> Option<Arc<ScenarioResult>> {
        if index == SCRATCH {
            return self.scratch.clone();
        }
        self.results.get(index).and_then(|r| r.clone())
    }

    pub fn result(&self, index: usize) -> Option<&ScenarioResult> {
        if index == SCRATCH {
            return self.scratch.as_deref();
        }
        self.results.get(index).and_then(|r| r.as_deref())
    }

    /// Shows a result that is not one of the workspace's scenarios (a
    /// message from a log) in the Fields, Messages and Receipt tabs.
    pub fn open_scratch(&mut self, result: ScenarioResult, note: &str) {
        self.editor = None;
        self.scratch = Some(Arc::new(result));
        self.scratch_note = note.to_string();
        self.selected_field = None;
        self.select(SCRATCH);
    }

    /// The handoff of the scenario (or scratch message) at `index`.
    pub(crate) fn handoff_of(&self, index: usize) -> Option<String> {
        match self
            .workspace
            .as_ref()
            .and_then(|ws| ws.scenarios.get(index))
        {
            Some(s) => Some(s.handoff.clone()),
            None => self.result(index).map(|r| r.handoff.clone()),
        }
    }

    /// The id of the scenario (or scratch message) at `index`.
    fn scenario_id(&self, index: usize) -> String {
        match self
            .workspace
            .as_ref()
            .and_then(|ws| ws.scenarios.get(index))
        {
            Some(s) => s.id.clone(),
            None => self
                .result(index)
                .map(|r| r.scenario.clone())
                .unwrap_or_default(),
        }
    }

    pub fn summary(&self) -> (usize, usize, usize) {
        let met = self
            .results
            .iter()
            .flatten()
            .filter(|r| r.verdict == Verdict::Met)
            .count();
        let run = self.results.iter().flatten().count();
        (met, run - met, self.results.len() - run)
    }

    /// Scenario indices the list shows, after the kind and verdict filters.
    pub fn visible_scenarios(&self) -> Vec<usize> {
        let Some(ws) = &self.workspace else {
            return Vec::new();
        };
        ws.scenarios
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                self.kind_filter[match s.kind {
                    Kind::Happy => 0,
                    Kind::Edge => 1,
                    Kind::Error => 2,
                }]
            })
            .filter(|(i, _)| {
                let v = self.result(*i).map(|r| r.verdict);
                match self.verdict_filter {
                    VerdictFilter::All => true,
                    VerdictFilter::Met => v == Some(Verdict::Met),
                    VerdictFilter::Unmet => v == Some(Verdict::Unmet),
                    VerdictFilter::NotRun => v.is_none(),
                }
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Indices of the selected scenario's field rows after the outcome filter and search.
    pub fn visible_row_indices(&self) -> Vec<usize> {
        let Some(sel) = &self.selected else {
            return Vec::new();
        };
        let needle = self.search.trim().to_lowercase();
        let mut rows = sel
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let k = r.outcome.unwrap_or(OutcomeKind::Accepted);
                self.outcome_filter[match k {
                    OutcomeKind::Accepted => 0,
                    OutcomeKind::Transformed => 1,
                    OutcomeKind::Rejected => 2,
                    OutcomeKind::Dropped => 3,
                }]
            })
            .filter(|(_, r)| !self.differs_only || r.differs_from_expected)
            .filter(|(_, r)| {
                let has = |v: &Option<std::sync::Arc<str>>| {
                    v.as_deref()
                        .is_some_and(|v| v.to_lowercase().contains(&needle))
                };
                needle.is_empty()
                    || r.path.to_string().to_lowercase().contains(&needle)
                    || r.name.to_lowercase().contains(&needle)
                    || has(&r.source)
                    || has(&r.mapped)
                    || has(&r.expected)
            })
            .map(|(i, _)| i)
            .collect::<Vec<usize>>();
        if self.problems_first {
            // Stable: rejected first, then warnings and mismatches, each in message order.
            rows.sort_by_key(|&i| std::cmp::Reverse(App::problem_rank(&sel.rows[i])));
        }
        rows
    }

    /// How much a row needs looking at: 2 rejected, 1 a warning or a
    /// mismatch with the expected message, 0 otherwise.
    pub fn problem_rank(r: &DiffRow) -> u8 {
        if r.outcome == Some(OutcomeKind::Rejected)
            || r.severity == Some(crate::finding::Severity::Error)
        {
            2
        } else {
            u8::from(App::is_problem(r))
        }
    }

    /// Rows of the selected scenario's field table after the outcome filter and search.
    pub fn visible_rows(&self) -> Vec<&DiffRow> {
        let Some(sel) = &self.selected else {
            return Vec::new();
        };
        self.visible_row_indices()
            .into_iter()
            .map(|i| &sel.rows[i])
            .collect()
    }

    pub(crate) fn open_workspace(&mut self, path: &Path) {
        self.cancel();
        self.live.stop();
        self.problems.clear();
        self.selected = None;
        self.selected_field = None;
        self.inspect = None;
        self.workspace_path = path.to_path_buf();
        match Workspace::load(path) {
            Ok(ws) => {
                self.results = vec![None; ws.scenarios.len()];
                self.workspace = Some(Arc::new(ws));
                self.persisted.last_workspace = Some(path.to_path_buf());
                self.persisted.recent.retain(|p| p != path);
                self.persisted.recent.insert(0, path.to_path_buf());
                self.persisted.recent.truncate(MAX_RECENT);
                if let Some(ws) = &self.workspace
                    && !ws.scenarios.is_empty()
                {
                    self.select(0);
                }
            }
            Err(errors) => {
                self.workspace = None;
                self.results.clear();
                self.problems = errors
                    .0
                    .iter()
                    .map(|e| Problem {
                        place: match e.line() {
                            Some(l) => format!("{}:{l}", e.path().display()),
                            None => e.path().display().to_string(),
                        },
                        message: e.to_string(),
                    })
                    .collect();
            }
        }
    }

    pub(crate) fn select(&mut self, index: usize) {
        if self.selected.as_ref().is_none_or(|s| s.index != index) {
            self.messages.reset();
        }
        // New messages: what the Messages tab laid out for the old ones goes.
        self.messages.generation += 1;
        let result = self.result_shared(index);
        let expected = result
            .as_ref()
            .and_then(|r| r.expected_text.as_deref())
            .and_then(|t| hl7::parse_one(t).ok());
        let (rows, source, mapped) = match &result {
            Some(r) => (
                diff::diff_scenario(r),
                r.replay.source.clone(),
                hl7::parse_one(&r.replay.mapped_text).ok(),
            ),
            // Not replayed yet: the source is known all the same.
            None => {
                let source = self
                    .workspace
                    .as_ref()
                    .and_then(|ws| ws.scenarios.get(index))
                    .and_then(|s| s.prepared_input().ok())
                    .and_then(|t| hl7::parse_one(&t).ok());
                (Vec::new(), source, None)
            }
        };
        self.selected = Some(Selected {
            index,
            rows,
            source,
            mapped,
            expected,
        });
    }

    fn start_replay(&mut self, indices: Vec<usize>, ctx: Option<egui::Context>) {
        let Some(ws) = self.workspace.clone() else {
            return;
        };
        self.cancel();
        let done = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let total = indices.len();
        let (d, c) = (done.clone(), cancel.clone());
        std::thread::spawn(move || {
            for i in indices {
                if c.load(Ordering::Relaxed) {
                    break;
                }
                let r = replay::replay_scenario(&ws, &ws.scenarios[i]);
                if tx.send((i, r)).is_err() {
                    break;
                }
                d.fetch_add(1, Ordering::Relaxed);
                if let Some(ctx) = &ctx {
                    ctx.request_repaint();
                }
            }
        });
        self.job = Some(Job {
            total,
            received: 0,
            done,
            cancel,
            results: rx,
        });
    }

    fn cancel(&mut self) {
        if let Some(mut job) = self.job.take() {
            job.cancel.store(true, Ordering::Relaxed);
            self.drain(&mut job);
        }
    }

    /// Takes finished results from the job; true when it has finished.
    fn drain(&mut self, job: &mut Job) -> bool {
        let mut selected_changed = false;
        while let Ok((i, r)) = job.results.try_recv() {
            job.received += 1;
            if let Some(slot) = self.results.get_mut(i) {
                *slot = Some(Arc::new(r));
            }
            selected_changed |= self.selected.as_ref().is_some_and(|s| s.index == i);
        }
        if selected_changed && let Some(i) = self.selected.as_ref().map(|s| s.index) {
            self.select(i);
        }
        let finished = job.received >= job.total;
        if finished {
            self.refresh_derived();
        }
        finished
    }

    /// True while dropped files are being read.
    pub fn is_reading(&self) -> bool {
        self.reading.is_some()
    }

    /// Polls the background replay and file reading.
    pub fn poll(&mut self) {
        if let Some((_, rx)) = &self.reading {
            match rx.try_recv() {
                Ok(state) => {
                    self.problems = state.problems();
                    self.inspect = Some(state);
                    self.reading = None;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.reading = None,
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
        }
        if let Some(mut job) = self.job.take() {
            // `drain` takes every result sent so far; the job is over when
            // all are counted or the thread has gone (cancelled).
            let finished = self.drain(&mut job);
            let gone = job.cancel.load(Ordering::Relaxed) && Arc::strong_count(&job.done) == 1;
            if !(finished || gone) {
                self.job = Some(job);
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let (all, selected) = ctx.input_mut(|i| {
            let sel = i.consume_key(
                egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
                egui::Key::R,
            );
            let all = i.consume_key(egui::Modifiers::COMMAND, egui::Key::R);
            (all, sel)
        });
        if selected {
            self.command(Command::ReplaySelected);
        } else if all {
            self.command(Command::ReplayAll);
        }
        self.navigation_keys(ctx);
        self.pasted(ctx);
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() && self.tab == Tab::Traffic {
            self.traffic.add_logs(dropped);
        } else if let Some(first) = dropped.first() {
            if first.is_dir()
                || first
                    .file_name()
                    .is_some_and(|n| n == crate::workspace::MANIFEST)
            {
                self.command(Command::OpenWorkspace(first.clone()));
            } else {
                self.command(Command::InspectFiles(dropped));
            }
        }
    }

    /// Draws one frame.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll();
        traffic::poll(self);
        editor::poll(self, Some(&ctx));
        self.poll_session();
        self.shortcuts(&ctx);
        self.top_bar(ui);
        self.path_prompt_ui(ui);
        problems::ui(self, ui);
        if self.inspect.is_some() {
            inspect::ui(self, ui);
        } else {
            scenarios::ui(self, ui);
            self.central(ui);
        }
        self.apply_commands(Some(&ctx));
        if self.is_running() || self.is_reading() || self.live.running.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                ui.heading("Baton");
                ui.separator();
                if ui
                    .button("Open workspace…")
                    .on_hover_text("Open a folder with a baton.toml")
                    .clicked()
                {
                    self.command(Command::ChooseWorkspace);
                }
                if ui
                    .button("Open messages…")
                    .on_hover_text("Inspect .hl7 files: every message, segment and field (or drop files on the window)")
                    .clicked()
                {
                    self.command(Command::ChooseMessages);
                }
                if ui
                    .add_enabled(self.workspace.is_some(), egui::Button::new("Paste message"))
                    .on_hover_text("Replay the HL7 message on the clipboard through the handoff that carries its type, as a scratch scenario you can edit and save (Ctrl+V anywhere outside a text field does the same)")
                    .on_disabled_hover_text("Open a workspace first: a message is replayed through its handoffs")
                    .clicked()
                {
                    self.command(Command::PasteMessage);
                }
                ui.menu_button("Recent", |ui| {
                    if self.persisted.recent.is_empty() {
                        ui.label("No recent workspaces");
                    }
                    for p in self.persisted.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.command(Command::OpenWorkspace(p));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                let can_run = self.workspace.is_some() && !self.is_running();
                if ui
                    .add_enabled(can_run, egui::Button::new("Replay all"))
                    .on_hover_text("Replay every scenario (Ctrl+R)")
                    .on_disabled_hover_text(if self.workspace.is_none() {
                        "Open a workspace first"
                    } else {
                        "A replay is running: Cancel it, or wait"
                    })
                    .clicked()
                {
                    self.command(Command::ReplayAll);
                }
                if ui
                    .add_enabled(
                        can_run && self.selected.is_some(),
                        egui::Button::new("Replay selected"),
                    )
                    .on_hover_text("Replay the selected scenario (Ctrl+Shift+R)")
                    .on_disabled_hover_text(if !can_run {
                        "Open a workspace, or wait for the running replay"
                    } else {
                        "Select a scenario first"
                    })
                    .clicked()
                {
                    self.command(Command::ReplaySelected);
                }
                if let Some((files, _)) = &self.reading {
                    ui.spinner();
                    ui.label(format!("Reading {} file(s)…", files.len()));
                }
                if let Some((done, total)) = self.progress() {
                    let frac = if total == 0 {
                        1.0
                    } else {
                        done as f32 / total as f32
                    };
                    ui.add(
                        egui::ProgressBar::new(frac)
                            .desired_width(160.0)
                            .text(format!("{done} / {total}")),
                    );
                    if ui.button("Cancel").clicked() {
                        self.command(Command::Cancel);
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let dark = self.persisted.dark;
                    let mut mask = self.mask_screen;
                    if ui
                        .checkbox(&mut mask, "Mask patient data")
                        .on_hover_text("Replace names, identifiers, birth dates, addresses and phones by pseudonyms on screen")
                        .changed()
                    {
                        self.command(Command::SetMask(mask));
                    }
                    if ui
                        .button(if dark { "Light theme" } else { "Dark theme" })
                        .on_hover_text("Switch theme")
                        .clicked()
                    {
                        self.command(Command::SetDark(!dark));
                    }
                    let (met, unmet, not_run) = self.summary();
                    if let Some(ws) = &self.workspace {
                        ui.label(
                            egui::RichText::new(format!(
                                "{met} met · {unmet} unmet · {not_run} not run"
                            ))
                            .strong(),
                        );
                        ui.separator();
                        // Truncated to the room left: it never runs under the buttons.
                        ui.add(egui::Label::new(egui::RichText::new(&ws.name).weak()).truncate())
                            .on_hover_text(&ws.name);
                    }
                });
            });
            ui.add_space(4.0);
        });
    }

    fn central(&mut self, ui: &mut egui::Ui) {
        egui::CentralPanel::default().show(ui, |ui| {
            let Some(ws) = self.workspace.clone() else {
                ui.vertical_centered(|ui| {
                    ui.add_space(80.0);
                    ui.heading("No workspace is open");
                    ui.label(format!("{} could not be loaded; see the problems below.", self.workspace_path.display()));
                    ui.label("Open a folder with a baton.toml, or drop one (or .hl7 files) on this window.");
                });
                return;
            };
            let Some(index) = self.selected.as_ref().map(|s| s.index) else {
                ui.label("Select a scenario on the left.");
                return;
            };
            let result = self.result_shared(index);
            let scratch = index == SCRATCH;
            let (name, kind, description, handoff, origin) = match (ws.scenarios.get(index), &result) {
                (Some(s), _) => (s.name.clone(), s.kind, s.description.clone(), s.handoff.clone(), s.input_origin.clone()),
                (None, Some(r)) => (r.name.clone(), r.kind, self.scratch_note.clone(), r.handoff.clone(), if self.editor.is_some() { "edited".to_string() } else { "log".to_string() }),
                (None, None) => return,
            };
            // A scratch result has a verdict when it checks a scenario's expectations (an edit).
            let judged = result.as_ref().is_some_and(|r| !scratch || !r.checks.is_empty());
            ui.horizontal(|ui| {
                ui.heading(&name);
                if !scratch {
                    style::kind_badge(ui, kind);
                }
                match &result {
                    Some(r) => {
                        if judged {
                            style::verdict_badge(ui, Some(r.verdict));
                        }
                        style::ack_badge(ui, &r.replay.ack_code);
                    }
                    None => style::verdict_badge(ui, None),
                }
            });
            if !description.is_empty() {
                ui.label(&description);
            }
            if let Some(h) = ws.handoff(&handoff) {
                ui.label(egui::RichText::new(format!("{} → {} · {} · {}", h.source, h.target, h.name, origin)).weak());
            }
            if let Some(r) = &result {
                let c = r.replay.counts;
                ui.horizontal(|ui| {
                    style::count(ui, OutcomeKind::Accepted, c.accepted);
                    style::count(ui, OutcomeKind::Transformed, c.transformed);
                    style::count(ui, OutcomeKind::Rejected, c.rejected);
                    style::count(ui, OutcomeKind::Dropped, c.dropped);
                    if c.warnings > 0 {
                        ui.label(format!("{} with warnings", c.warnings))
                            .on_hover_text("fields accepted or transformed that carry a warning; a warning is not a rejection");
                    }
                });
                let unmet = r.checks.iter().filter(|c| !c.met).count();
                egui::CollapsingHeader::new(format!("Expectations: {} of {} met", r.checks.len() - unmet, r.checks.len()))
                    .default_open(unmet > 0)
                    .show(ui, |ui| {
                        for c in &r.checks {
                            ui.horizontal(|ui| {
                                if c.met {
                                    ui.colored_label(style::GREEN, egui::RichText::new("met  ").strong());
                                } else {
                                    ui.colored_label(style::RED, egui::RichText::new("unmet").strong());
                                }
                                ui.label(&c.expectation);
                                if !c.met {
                                    ui.label(egui::RichText::new(format!("got {}", c.actual)).color(style::RED));
                                }
                            });
                        }
                    });
            } else {
                ui.label(egui::RichText::new("Not run yet: press Replay all (Ctrl+R) or Replay selected.").italics());
            }
            ui.separator();
            ui.horizontal(|ui| {
                for (tab, label) in [
                    (Tab::Fields, "Fields"),
                    (Tab::Messages, "Messages"),
                    (Tab::Receipt, "Receipt"),
                    (Tab::Handoff, "Handoff"),
                    (Tab::Gaps, "Gaps"),
                    (Tab::Live, "Live"),
                    (Tab::Traffic, "Traffic"),
                    (Tab::Session, "Session and sign-off"),
                ] {
                    ui.selectable_value(&mut self.tab, tab, label);
                }
            });
            ui.separator();
            match self.tab {
                Tab::Fields => fields::ui(self, ui),
                Tab::Messages => message::ui(self, ui),
                Tab::Receipt => receipt::ui(self, ui, result.as_deref()),
                Tab::Handoff => handoff::ui(ui, &ws),
                Tab::Gaps => gaps::ui(self, ui),
                Tab::Live => live::ui(self, ui),
                Tab::Traffic => traffic::ui(self, ui),
                Tab::Session => signoff::ui(self, ui),
            }
        });
    }
}

impl App {
    /// `--select` and `--tab`: an unknown one is said on stderr and shown
    /// in the window's problems, not silently ignored.
    pub fn apply_options(&mut self, options: &RunOptions) {
        if let Some(id) = &options.select {
            match self
                .workspace
                .as_ref()
                .and_then(|ws| ws.scenarios.iter().position(|s| &s.id == id))
            {
                Some(i) => {
                    self.command(Command::SelectScenario(i));
                    self.scroll_list_to = Some(i);
                }
                None => {
                    let message = format!("no scenario `{id}` in this workspace");
                    eprintln!("baton: --select: {message}");
                    self.problems.push(Problem {
                        place: "--select".into(),
                        message,
                    });
                }
            }
        }
        if let Some(tab) = &options.tab {
            let known = [
                ("fields", Tab::Fields),
                ("messages", Tab::Messages),
                ("receipt", Tab::Receipt),
                ("handoff", Tab::Handoff),
                ("gaps", Tab::Gaps),
                ("live", Tab::Live),
                ("traffic", Tab::Traffic),
                ("session", Tab::Session),
            ];
            match known
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(tab))
            {
                Some((_, t)) => self.tab = *t,
                None => {
                    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                    let message = format!("no tab `{tab}`; the tabs are {}", names.join(", "));
                    eprintln!("baton: --tab: {message}");
                    self.problems.push(Problem {
                        place: "--tab".into(),
                        message,
                    });
                }
            }
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.persisted);
    }
}

/// The workspace the window opens: the one named, else the last one opened
/// when it is still a workspace, else `default`.
pub fn workspace_to_open(
    named: Option<PathBuf>,
    persisted: &Persisted,
    default: PathBuf,
) -> PathBuf {
    named
        .or_else(|| {
            persisted
                .last_workspace
                .clone()
                .filter(|p| p.join(crate::workspace::MANIFEST).is_file())
        })
        .unwrap_or(default)
}

/// Options for running the window.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Replay every scenario as soon as the window opens.
    pub replay: bool,
    /// Select this scenario (by id) on opening.
    pub select: Option<String>,
    /// Open this tab.
    pub tab: Option<String>,
}

/// Opens the window on a workspace (`None`: the last one, else `default`).
pub fn run(
    workspace: Option<PathBuf>,
    default: PathBuf,
    options: RunOptions,
) -> Result<(), eframe::Error> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Baton — interface handoff workbench")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([900.0, 560.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Baton",
        native,
        Box::new(move |cc| {
            let mut app = App::open(cc, workspace, default);
            app.apply_options(&options);
            if options.replay {
                app.command(Command::ReplayAll);
            }
            Ok(Box::new(app))
        }),
    )
}
