//! The Traffic tab: replay a message log through a handoff on a background
//! thread (progress, rate, Cancel), the per-field table with its stacked
//! bars, the findings and example messages of the field chosen (open one in
//! the Fields and Messages tabs, or save it as a scenario), and a learned
//! profile previewed with its evidence before it is saved.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::{App, Tab, style};
use crate::traffic::learn::{LearnOptions, Learned, thousands};
use crate::traffic::{self, FieldStats, Log, TrafficReport};

/// How the field table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Rejections,
    Warnings,
    Path,
}

/// A run on a background thread.
pub struct Running {
    pub what: &'static str,
    pub messages: Arc<AtomicUsize>,
    pub bytes: Arc<AtomicU64>,
    pub cancel: Arc<AtomicBool>,
    pub started: Instant,
    rx: Receiver<Done>,
}

enum Done {
    Replay(Result<TrafficReport, String>),
    Learn(Result<Learned, String>),
    /// An example message read back from the log, to open or to save.
    Example(Result<(usize, String), String>, ExampleAction),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ExampleAction {
    Open,
    Save { path: String, finding: usize },
}

#[derive(Default)]
pub struct TrafficState {
    /// Log files, in order.
    pub logs: Vec<PathBuf>,
    /// A path typed in (used when no file dialog can open).
    pub path_input: String,
    pub handoff: Option<String>,
    pub running: Option<Running>,
    pub report: Option<Arc<TrafficReport>>,
    pub learned: Option<Arc<Learned>>,
    pub learn_out: String,
    pub sort: Sort,
    /// The field path chosen in the table.
    pub field: Option<String>,
    pub status: Option<String>,
    pub error: Option<String>,
    /// Replaces the file dialog in tests.
    pub picker: Option<Box<dyn FnMut() -> Option<Vec<PathBuf>> + Send>>,
}

impl TrafficState {
    fn open_logs(&self) -> Result<Vec<Log>, String> {
        self.logs
            .iter()
            .map(|p| Log::open(p).map_err(|e| format!("cannot read {}: {e}", p.display())))
            .collect()
    }

    /// Adds log files (dropped, picked or typed).
    pub fn add_logs(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        for p in paths {
            if !self.logs.contains(&p) {
                self.logs.push(p);
            }
        }
        self.error = None;
    }

    fn spawn(
        &mut self,
        what: &'static str,
        ctx: &egui::Context,
        job: impl FnOnce(traffic::Options) -> Done + Send + 'static,
    ) {
        let messages = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let (m, b, c, ctx) = (messages.clone(), bytes.clone(), cancel.clone(), ctx.clone());
        std::thread::spawn(move || {
            let mut progress = |p: traffic::Progress| {
                m.store(p.messages, Ordering::Relaxed);
                b.store(p.bytes, Ordering::Relaxed);
                ctx.request_repaint();
            };
            let done = job(traffic::Options {
                jobs: 0,
                cancel: Some(c),
                progress: Some(&mut progress),
            });
            let _ = tx.send(done);
            ctx.request_repaint();
        });
        self.running = Some(Running {
            what,
            messages,
            bytes,
            cancel,
            started: Instant::now(),
            rx,
        });
        self.error = None;
        self.status = None;
    }

    /// Starts replaying the logs through the chosen handoff.
    pub fn start_replay(&mut self, ws: Arc<crate::Workspace>, ctx: &egui::Context) {
        let Some(id) = self.handoff_id(&ws) else {
            self.error = Some("the workspace has no handoff".into());
            return;
        };
        let logs = match self.open_logs() {
            Ok(l) => l,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        self.report = None;
        self.field = None;
        self.spawn("Replaying", ctx, move |options| {
            let Some(h) = ws.handoff(&id) else {
                return Done::Replay(Err(format!("no handoff `{id}`")));
            };
            Done::Replay(
                traffic::replay_logs(h, &ws.tables, logs, options).map_err(|e| e.to_string()),
            )
        });
    }

    /// Starts learning a profile from the logs.
    pub fn start_learn(&mut self, ctx: &egui::Context) {
        let logs = match self.open_logs() {
            Ok(l) => l,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let names: Vec<String> = self
            .logs
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        if self.learn_out.is_empty()
            && let Some(first) = self.logs.first()
        {
            self.learn_out = first.with_extension("learned.toml").display().to_string();
        }
        self.learned = None;
        self.spawn("Learning", ctx, move |options| {
            let opts = LearnOptions {
                side: crate::Side::Sender,
                name: format!("Learned from {}", names.join(", ")),
                against: None,
                tables: Default::default(),
            };
            Done::Learn(traffic::learn::learn_logs(logs, &opts, options).map_err(|e| e.to_string()))
        });
    }

    fn handoff_id(&self, ws: &crate::Workspace) -> Option<String> {
        self.handoff
            .clone()
            .filter(|h| ws.handoff(h).is_some())
            .or_else(|| ws.handoffs.first().map(|h| h.id.clone()))
    }

    fn fetch(&mut self, number: usize, action: ExampleAction, ctx: &egui::Context) {
        let logs = match self.open_logs() {
            Ok(l) => l,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        self.spawn("Reading the example", ctx, move |_| {
            let want = std::iter::once(number).collect();
            let r = traffic::scenarios::fetch_messages(logs, &want)
                .map_err(|e| e.to_string())
                .and_then(|mut m| {
                    m.remove(&number)
                        .map(|t| (number, t))
                        .ok_or_else(|| format!("message {number} is no longer in the log"))
                });
            Done::Example(r, action)
        });
    }
}

/// Takes what a background run has finished.
pub fn poll(app: &mut App) {
    let Some(run) = &app.traffic.running else {
        return;
    };
    let Ok(done) = run.rx.try_recv() else {
        return;
    };
    let what = run.what;
    app.traffic.running = None;
    match done {
        Done::Replay(Ok(r)) => {
            app.traffic.status = Some(if r.cancelled {
                format!("Cancelled after {} messages.", thousands(r.messages))
            } else {
                format!("{what} done: {} messages.", thousands(r.messages))
            });
            app.traffic.report = Some(Arc::new(r));
        }
        Done::Learn(Ok(l)) => app.traffic.learned = Some(Arc::new(l)),
        Done::Replay(Err(e)) | Done::Learn(Err(e)) | Done::Example(Err(e), _) => {
            app.traffic.error = Some(e)
        }
        Done::Example(Ok((number, text)), ExampleAction::Open) => open_example(app, number, &text),
        Done::Example(Ok((_, text)), ExampleAction::Save { path, finding }) => {
            save_example(app, &path, finding, &text)
        }
    }
}

fn open_example(app: &mut App, number: usize, text: &str) {
    let Some(ws) = app.workspace.clone() else {
        return;
    };
    let Some(id) = app.traffic.handoff_id(&ws) else {
        return;
    };
    let Some(h) = ws.handoff(&id) else { return };
    let replay = crate::replay::replay_text(h, &ws.tables, text);
    let result = crate::replay::ScenarioResult::unscripted(
        &format!("log message {number}"),
        &format!("Message {number} of the log"),
        crate::scenario::Kind::Error,
        &id,
        replay,
    );
    app.open_scratch(
        result,
        "Not a scenario of the workspace: a message opened from a log, replayed through the handoff (no expectations).",
    );
    app.tab = Tab::Fields;
}

fn save_example(app: &mut App, path: &str, finding: usize, text: &str) {
    let (Some(ws), Some(report)) = (app.workspace.clone(), app.traffic.report.clone()) else {
        return;
    };
    let Some(id) = app.traffic.handoff_id(&ws) else {
        return;
    };
    let Some(h) = ws.handoff(&id) else { return };
    let Some(field) = report.fields.iter().find(|f| f.path == path) else {
        return;
    };
    let Some(f) = field.findings.get(finding) else {
        return;
    };
    let masker = crate::report::Masker::new(&ws.phi, &ws.phi_dates, &ws.name);
    let dir = ws.root.join(&ws.scenarios_dir);
    match traffic::scenarios::save_one(h, &ws.tables, field, f, text, &dir, Some(&masker), None) {
        Ok(s) => {
            app.traffic.status = Some(format!(
                "Saved {} (reload the workspace to list it).",
                s.file.display()
            ))
        }
        Err(e) => app.traffic.error = Some(e.to_string()),
    }
}

fn pick_logs(app: &mut App) {
    let picked = match app.traffic.picker.as_mut() {
        Some(p) => p(),
        None => rfd::FileDialog::new()
            .set_title("Open message logs")
            .add_filter("HL7 logs", &["hl7", "txt", "log", "dat", "mllp"])
            .add_filter("All files", &["*"])
            .pick_files(),
    };
    match picked {
        Some(files) if !files.is_empty() => app.traffic.add_logs(files),
        _ => {
            app.traffic.error = Some(
                "No file dialog is available here: type the log's path in the field and press Add."
                    .into(),
            )
        }
    }
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    let Some(ws) = app.workspace.clone() else {
        ui.label("Open a workspace first.");
        return;
    };
    let ctx = ui.ctx().clone();
    ui.horizontal_wrapped(|ui| {
        if ui.button("Open log…").clicked() {
            pick_logs(app);
        }
        let label = ui.label("Log path:");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut app.traffic.path_input)
                    .hint_text("/path/to/messages.hl7")
                    .desired_width(280.0),
            )
            .labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Add").clicked() || enter) && !app.traffic.path_input.trim().is_empty() {
            let p = PathBuf::from(app.traffic.path_input.trim());
            if p.is_file() {
                app.traffic.add_logs([p]);
                app.traffic.path_input.clear();
            } else {
                app.traffic.error = Some(format!("{} is not a file", p.display()));
            }
        }
        ui.separator();
        ui.label("Handoff:");
        if app.traffic.handoff.is_none()
            && let Some(first) = app.traffic.logs.first()
        {
            // The handoff whose message types include the log's first message.
            app.traffic.handoff = Some(
                traffic::handoff_for_log(&ws, first)
                    .or(ws.handoffs.first())
                    .map(|h| h.id.clone())
                    .unwrap_or_default(),
            );
        }
        let current = app.traffic.handoff_id(&ws).unwrap_or_default();
        egui::ComboBox::from_id_salt("traffic-handoff")
            .selected_text(current.clone())
            .show_ui(ui, |ui| {
                for h in &ws.handoffs {
                    if ui
                        .selectable_label(current == h.id, format!("{} — {}", h.id, h.name))
                        .clicked()
                    {
                        app.traffic.handoff = Some(h.id.clone());
                    }
                }
            });
        let idle = app.traffic.running.is_none();
        let has_logs = !app.traffic.logs.is_empty();
        let why = if !has_logs {
            "Open or drop a log first"
        } else {
            "A run is in progress"
        };
        if ui
            .add_enabled(idle && has_logs, egui::Button::new("Replay log"))
            .on_disabled_hover_text(why)
            .clicked()
        {
            app.traffic.start_replay(ws.clone(), &ctx);
        }
        if ui
            .add_enabled(idle && has_logs, egui::Button::new("Learn profile…"))
            .on_disabled_hover_text(why)
            .clicked()
        {
            app.traffic.start_learn(&ctx);
        }
    });
    if app.traffic.logs.is_empty() {
        ui.label(
            RichText::new("No log yet: open one, type its path, or drop files on this tab.")
                .italics(),
        );
    } else {
        ui.horizontal_wrapped(|ui| {
            ui.label("Logs:");
            let mut remove = None;
            for (i, p) in app.traffic.logs.iter().enumerate() {
                ui.label(RichText::new(p.display().to_string()).monospace());
                if ui
                    .small_button("✕")
                    .on_hover_text("Remove this log")
                    .clicked()
                {
                    remove = Some(i);
                }
            }
            if let Some(i) = remove {
                app.traffic.logs.remove(i);
            }
        });
    }
    if let Some(run) = &app.traffic.running {
        let n = run.messages.load(Ordering::Relaxed);
        let secs = run.started.elapsed().as_secs_f64().max(0.001);
        let cancel = run.cancel.clone();
        ui.horizontal(|ui| {
            ui.add(egui::Spinner::new());
            ui.label(format!(
                "{}: {} messages · {:.0} messages/s · {:.1} s",
                run.what,
                thousands(n),
                n as f64 / secs,
                secs
            ));
            if ui.button("Cancel").clicked() {
                cancel.store(true, Ordering::Relaxed);
            }
        });
        ctx.request_repaint_after(std::time::Duration::from_millis(100));
    }
    if let Some(e) = &app.traffic.error {
        ui.colored_label(style::RED, e);
    }
    if let Some(s) = &app.traffic.status {
        ui.label(s);
    }
    if let Some(l) = app.traffic.learned.clone() {
        learn_preview(app, ui, &l);
        return;
    }
    let Some(report) = app.traffic.report.clone() else {
        return;
    };
    summary(ui, &report);
    ui.separator();
    let avail = ui.available_height();
    let detail_open = app.traffic.field.is_some();
    let table_height = if detail_open { avail * 0.55 } else { avail };
    ui.push_id("traffic-fields", |ui| {
        ui.set_max_height(table_height);
        field_table(app, ui, &report);
    });
    if let Some(path) = app.traffic.field.clone()
        && let Some(f) = report.fields.iter().find(|f| f.path == path)
    {
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("traffic-detail")
            .show(ui, |ui| detail(app, ui, f, &ctx));
    }
}

fn summary(ui: &mut egui::Ui, r: &TrafficReport) {
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "{} messages · {} unreadable",
                thousands(r.messages),
                thousands(r.unreadable)
            ))
            .strong(),
        );
        ui.separator();
        style::ack_badge(ui, "AA");
        ui.label(thousands(r.ack.aa));
        style::ack_badge(ui, "AE");
        ui.label(thousands(r.ack.ae));
        style::ack_badge(ui, "AR");
        ui.label(thousands(r.ack.ar));
        ui.separator();
        // Counted, not collected and sorted, every frame.
        let problems: usize = r.fields.iter().map(|f| f.findings.len()).sum();
        ui.label(format!("{problems} distinct findings"));
        if !r.log_problems.is_empty() {
            ui.separator();
            let n = r.log_problems.len() + r.more_log_problems;
            ui.colored_label(
                style::AMBER,
                format!("{n} problem{} in the logs", if n == 1 { "" } else { "s" }),
            )
            .on_hover_text(
                r.log_problems
                    .iter()
                    .take(20)
                    .map(|p| {
                        format!(
                            "{}:{}:{}: {}",
                            r.files.get(p.file).map(String::as_str).unwrap_or(""),
                            p.line,
                            p.column,
                            p.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
    });
}

/// A stacked bar: accepted, transformed, rejected, dropped.
fn bar(ui: &mut egui::Ui, f: &FieldStats, width: f32) -> egui::Response {
    let (rect, resp) = ui.allocate_exact_size(egui::vec2(width, 12.0), egui::Sense::hover());
    let total = f.total().max(1) as f32;
    let mut x = rect.left();
    for (n, kind) in [
        (f.accepted, crate::scenario::OutcomeKind::Accepted),
        (f.transformed, crate::scenario::OutcomeKind::Transformed),
        (f.rejected, crate::scenario::OutcomeKind::Rejected),
        (f.dropped, crate::scenario::OutcomeKind::Dropped),
    ] {
        if n == 0 {
            continue;
        }
        let w = rect.width() * n as f32 / total;
        let r = egui::Rect::from_min_size(egui::pos2(x, rect.top()), egui::vec2(w, rect.height()));
        ui.painter().rect_filled(r, 0.0, style::outcome_color(kind));
        x += w;
    }
    resp.on_hover_text(format!(
        "accepted {} · transformed {} · rejected {} · dropped {}",
        thousands(f.accepted),
        thousands(f.transformed),
        thousands(f.rejected),
        thousands(f.dropped)
    ))
}

fn field_table(app: &mut App, ui: &mut egui::Ui, r: &TrafficReport) {
    ui.horizontal(|ui| {
        ui.label("Sort by:");
        ui.selectable_value(&mut app.traffic.sort, Sort::Rejections, "Rejections");
        ui.selectable_value(&mut app.traffic.sort, Sort::Warnings, "Warnings");
        ui.selectable_value(&mut app.traffic.sort, Sort::Path, "Path");
    });
    let mut order: Vec<&FieldStats> = r.fields.iter().collect();
    match app.traffic.sort {
        Sort::Rejections => {} // the report's own order
        Sort::Warnings => order.sort_by_key(|f| std::cmp::Reverse(f.warnings)),
        Sort::Path => order.sort_by(|a, b| a.path.cmp(&b.path)),
    }
    let mut clicked = None;
    // A click anywhere in a row selects it: labels do not take the click.
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::initial(90.0).resizable(true))
        .column(Column::initial(170.0).resizable(true).clip(true))
        .column(Column::initial(170.0).resizable(true))
        .columns(Column::initial(78.0).resizable(true), 4)
        .column(Column::remainder().at_least(70.0))
        .header(20.0, |mut h| {
            for t in [
                "Field",
                "Name",
                "Outcomes",
                "Accepted",
                "Transformed",
                "Rejected",
                "Dropped",
                "Warnings",
            ] {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, order.len(), |mut row| {
                let f = order[row.index()];
                row.set_selected(app.traffic.field.as_deref() == Some(f.path.as_str()));
                row.col(|ui| {
                    ui.label(RichText::new(&f.path).monospace());
                });
                row.col(|ui| {
                    ui.label(&f.name);
                });
                row.col(|ui| {
                    let w = ui.available_width().max(40.0) - 8.0;
                    bar(ui, f, w);
                });
                for (n, color) in [
                    (f.accepted, None),
                    (f.transformed, None),
                    (f.rejected, Some(style::RED)),
                    (f.dropped, None),
                    (f.warnings, Some(style::AMBER)),
                ] {
                    row.col(|ui| {
                        let t = RichText::new(thousands(n));
                        ui.label(match color {
                            Some(c) if n > 0 => t.color(c).strong(),
                            _ => t,
                        });
                    });
                }
                if row.response().clicked() {
                    clicked = Some(f.path.clone());
                }
            });
        });
    if let Some(p) = clicked {
        app.traffic.field = Some(p);
    }
}

fn detail(app: &mut App, ui: &mut egui::Ui, f: &FieldStats, ctx: &egui::Context) {
    ui.heading(format!("{} {}", f.path, f.name));
    if f.findings.is_empty() {
        ui.label("No finding on this field.");
    }
    let idle = app.traffic.running.is_none();
    for (i, x) in f.findings.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("{} ×", thousands(x.count))).strong());
            ui.label(
                RichText::new(format!("{} {}", x.code, x.severity.as_str()))
                    .color(style::severity_color(x.severity)),
            );
            ui.label(format!("({})", x.side.as_str()));
            ui.label(traffic::html::shown_reason(None, &f.path, x));
        });
        ui.indent(("examples", i), |ui| {
            for e in &x.examples {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "message {} · control id {} · {}:{}",
                        e.message,
                        if e.control_id.is_empty() {
                            "—"
                        } else {
                            &e.control_id
                        },
                        e.file,
                        e.line
                    ));
                    if ui
                        .add_enabled(idle, egui::Button::new("Open"))
                        .on_hover_text("Show this message in the Fields and Messages tabs")
                        .on_disabled_hover_text("Wait for the log replay (or learning) to end")
                        .clicked()
                    {
                        app.traffic.fetch(e.message, ExampleAction::Open, ctx);
                    }
                    if ui
                        .add_enabled(idle, egui::Button::new("Save as scenario"))
                        .on_hover_text("Write an error scenario (masked) into the workspace")
                        .on_disabled_hover_text("Wait for the log replay (or learning) to end")
                        .clicked()
                    {
                        app.traffic.fetch(
                            e.message,
                            ExampleAction::Save {
                                path: f.path.clone(),
                                finding: i,
                            },
                            ctx,
                        );
                    }
                });
            }
        });
    }
    if f.other_findings > 0 {
        ui.label(format!(
            "… and {} more findings past the first {} distinct ones",
            thousands(f.other_findings),
            traffic::FINDINGS_PER_FIELD
        ));
    }
}

fn learn_preview(app: &mut App, ui: &mut egui::Ui, l: &Learned) {
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "Learned from {} messages ({} unreadable): {} segments, {} fields and components.",
                thousands(l.messages),
                thousands(l.unreadable),
                l.segments.len(),
                l.fields.len()
            ))
            .strong(),
        );
    });
    ui.horizontal(|ui| {
        let label = ui.label("Save to:");
        ui.add(egui::TextEdit::singleline(&mut app.traffic.learn_out).desired_width(360.0))
            .labelled_by(label.id);
        if ui.button("Save profile").clicked() {
            let path = PathBuf::from(app.traffic.learn_out.trim());
            match crate::session::write_atomic(&path, l.profile.as_bytes()) {
                Ok(()) => app.traffic.status = Some(format!("Saved {}", path.display())),
                Err(e) => app.traffic.error = Some(e.to_string()),
            }
        }
        if ui.button("Close preview").clicked() {
            app.traffic.learned = None;
        }
    });
    egui::ScrollArea::both()
        .id_salt("learn-preview")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let mut text = l.profile.as_str();
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .code_editor()
                    .desired_width(f32::INFINITY),
            );
        });
}
