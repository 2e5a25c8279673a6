//! The window's commands, carried out between frames: every button and key
//! queues one, and `apply_commands` does the work.

use std::path::PathBuf;
use std::sync::mpsc::channel;

use super::*;

impl App {
    /// Carries out the queued commands.
    pub fn apply_commands(&mut self, ctx: Option<&egui::Context>) {
        for c in std::mem::take(&mut self.commands) {
            match c {
                Command::OpenWorkspace(p) => self.open_workspace(&p),
                Command::ChooseWorkspace => match (self.picker)() {
                    Some(p) => self.open_workspace(&p),
                    None => self.path_prompt = Some(PathPrompt::new(PathFor::Workspace)),
                },
                Command::ChooseMessages => match (self.files_picker)() {
                    Some(files) if !files.is_empty() => self.command(Command::InspectFiles(files)),
                    _ => self.path_prompt = Some(PathPrompt::new(PathFor::Messages)),
                },
                Command::ReplayAll => {
                    let all = (0..self.results.len()).collect();
                    self.start_replay(all, ctx.cloned());
                }
                Command::ReplaySelected => {
                    let visible = self.visible_scenarios();
                    let pick = match &self.selected {
                        Some(s) if s.index == SCRATCH => Vec::new(),
                        Some(s) => vec![s.index],
                        None => visible,
                    };
                    self.start_replay(pick, ctx.cloned());
                }
                Command::Cancel => self.cancel(),
                Command::SelectScenario(i) => {
                    // Another scenario: the edit in progress is left (unsaved).
                    self.editor = None;
                    self.inspect = None;
                    self.selected_field = None;
                    self.select(i);
                }
                Command::SelectField(p) => {
                    self.messages.reveal = p.is_some();
                    self.selected_field = p
                }
                Command::EditField(p) => {
                    editor::edit_field(self, p);
                }
                Command::EditMessage => editor::start(self),
                Command::PasteMessage => {
                    self.paste_wanted = true;
                    if let Some(ctx) = ctx {
                        ctx.send_viewport_cmd(egui::ViewportCommand::RequestPaste);
                    }
                }
                Command::InspectFiles(files) => self.inspect_files(files, ctx),
                Command::SetMask(on) => self.mask_screen = on,
                Command::RecordRun => self.record_run(),
                Command::AddComment => self.add_comment(),
                Command::AddWaiver => self.add_waiver(),
                Command::Generate => self.generate(),
                Command::PreviewGenerated(i) => self.preview_generated(i, true),
                Command::PreviewAllGenerated => {
                    for i in 0..self.generated.len() {
                        self.preview_generated(i, false);
                    }
                }
                Command::SaveGenerated => self.save_generated(),
                Command::Dispose(kind) => self.dispose(kind),
                Command::ConfirmSign(approve) => {
                    let pending = self.pending_signoff(approve);
                    self.session.register_key = false;
                    self.session.pending = Some(pending);
                }
                Command::Sign(approve) => self.sign(approve),
                Command::ExportReport => match (self.save_picker)() {
                    Some(out) => self.command(Command::ExportReportTo(out)),
                    None => self.path_prompt = Some(PathPrompt::new(PathFor::Report)),
                },
                Command::ExportReportTo(out) => self.export_report_to(out),
                Command::SetDark(dark) => {
                    self.persisted.dark = dark;
                    if let Some(ctx) = ctx {
                        style::apply(ctx, dark);
                    }
                }
            }
        }
    }

    fn record_run(&mut self) {
        if let (Some(all), Some(ws)) = (self.ensure_all_results(), self.workspace.clone()) {
            self.session.message = Some(
                match crate::session::record_run(&ws, &self.session.name, self.person(), &all) {
                    Ok(r) => format!("Recorded run {}", r.id),
                    Err(e) => format!("Could not record the run: {e}"),
                },
            );
            self.reload_session();
        }
    }

    fn add_comment(&mut self) {
        if let (Some(ws), Some(sel)) = (
            self.workspace.clone(),
            self.selected.as_ref().map(|s| s.index),
        ) {
            let event = crate::session::Event::Comment {
                by: self.person(),
                scenario: self.scenario_id(sel),
                path: self.selected_field.as_ref().map(|p| p.display_canonical()),
                text: self.session.comment.trim().to_string(),
            };
            self.session.message = Some(
                match crate::session::append(&ws.root, &self.session.name, event) {
                    Ok(_) => {
                        self.session.comment.clear();
                        "Comment added".to_string()
                    }
                    Err(e) => format!("Could not add the comment: {e}"),
                },
            );
            self.reload_session();
        }
    }

    fn add_waiver(&mut self) {
        if let (Some(ws), Some(sel), Some(field)) = (
            self.workspace.clone(),
            self.selected.as_ref().map(|s| s.index),
            self.selected_field.clone(),
        ) {
            let code = self.result(sel).and_then(|r| {
                r.replay
                    .findings
                    .iter()
                    .find(|f| f.location.same_field(&field))
                    .map(|f| f.code)
            });
            let event = crate::session::Event::Waiver {
                by: self.person(),
                scenario: self.scenario_id(sel),
                path: field.display_canonical(),
                code,
                reason: self.session.comment.trim().to_string(),
                owner: self.session.waiver_owner.trim().to_string(),
                expires: self.session.waiver_expires.trim().to_string(),
            };
            self.session.message = Some(
                match crate::session::append(&ws.root, &self.session.name, event) {
                    Ok(_) => {
                        self.session.comment.clear();
                        format!("Waiver recorded for {}", field.display_canonical())
                    }
                    Err(e) => format!("Could not record the waiver: {e}"),
                },
            );
            self.reload_session();
        }
    }

    fn generate(&mut self) {
        if let Some((ws, index)) = self
            .workspace
            .clone()
            .zip(self.selected.as_ref().map(|s| s.index))
            && let Some(h) = self.handoff_of(index).and_then(|id| ws.handoff(&id))
        {
            match crate::generate::generate(&ws, h) {
                Ok(g) => {
                    let existing: Vec<&str> = ws.scenarios.iter().map(|s| s.id.as_str()).collect();
                    self.generated_verdicts.clear();
                    self.generated = g
                        .into_iter()
                        .filter(|x| !existing.contains(&x.id.as_str()))
                        // Nothing is saved unless the reviewer ticks it.
                        .map(|x| (x, false))
                        .collect();
                    self.session.message = Some(format!(
                        "{} new scenarios generated for review",
                        self.generated.len()
                    ));
                }
                Err(e) => self.session.message = Some(e),
            }
        }
    }

    fn save_generated(&mut self) {
        if let Some(ws) = self.workspace.clone() {
            let chosen: Vec<_> = self
                .generated
                .iter()
                .filter(|(_, on)| *on)
                .map(|(g, _)| g.clone())
                .collect();
            match crate::generate::save(&ws, &chosen) {
                Ok(written) => {
                    let keep = self
                        .selected
                        .as_ref()
                        .and_then(|s| ws.scenarios.get(s.index))
                        .map(|s| s.id.clone());
                    let tab = self.tab;
                    self.generated.clear();
                    self.open_workspace(&ws.root.clone());
                    self.tab = tab;
                    if let (Some(id), Some(new_ws)) = (keep, self.workspace.clone())
                        && let Some(i) = new_ws.scenarios.iter().position(|s| s.id == id)
                    {
                        self.select(i);
                    }
                    self.session.message = Some(format!(
                        "{} scenarios saved; replay to run them",
                        written.len()
                    ));
                }
                Err(e) => self.session.message = Some(format!("Could not save: {e}")),
            }
        }
    }

    fn dispose(&mut self, kind: String) {
        let handoff = self
            .workspace
            .as_ref()
            .zip(self.selected.as_ref())
            .and_then(|(_, s)| self.handoff_of(s.index));
        if let (Some(ws), Some(handoff), Some(path)) =
            (self.workspace.clone(), handoff, self.gap_selected.clone())
        {
            let event = crate::session::Event::Disposition {
                by: self.person(),
                handoff,
                path: path.clone(),
                disposition: kind,
                note: self.gap_note.trim().to_string(),
                owner: self.session.person.trim().to_string(),
            };
            self.session.message = Some(
                match crate::session::append(&ws.root, &self.session.name, event) {
                    Ok(_) => {
                        self.gap_note.clear();
                        format!("Disposition recorded for {path}")
                    }
                    Err(e) => format!("Could not record the disposition: {e}"),
                },
            );
            self.reload_session();
        }
    }

    fn sign(&mut self, approve: bool) {
        if let (Some(all), Some(ws)) = (self.ensure_all_results(), self.workspace.clone()) {
            let decision = if approve {
                crate::session::Decision::Approve
            } else {
                crate::session::Decision::Reject
            };
            let comment = self.session.comment.trim().to_string();
            self.session.message = Some(
                match crate::session::sign(
                    &ws,
                    &self.session.name,
                    self.person(),
                    decision,
                    &comment,
                    &all,
                    self.session.register_key,
                ) {
                    Ok(_) => {
                        self.session.comment.clear();
                        format!("Signed: {decision:?} by {}", self.session.person.trim())
                    }
                    Err(e) => format!("Could not sign: {e}"),
                },
            );
            self.reload_session();
        }
    }

    fn export_report_to(&mut self, out: PathBuf) {
        if let (Some(all), Some(ws)) = (self.ensure_all_results(), self.workspace.clone()) {
            {
                let s = self.session.loaded.clone().unwrap_or_default();
                let model = crate::report::build(
                    &ws,
                    &all,
                    &s,
                    self.session.mask_export,
                    &self.session.signers,
                );
                let signer = if self.session.person.trim().is_empty() {
                    "baton-report".to_string()
                } else {
                    self.session.person.trim().to_string()
                };
                self.session.message = Some(match crate::report::write(&model, &out, &signer) {
                    Ok(w) => format!(
                        "Report written: {} (signature {})",
                        w.html.display(),
                        w.signature.display()
                    ),
                    Err(e) => format!("Could not write the report: {e}"),
                });
            }
        }
    }

    fn inspect_files(&mut self, files: Vec<PathBuf>, ctx: Option<&egui::Context>) {
        // Big files take seconds to read: keep the window responsive.
        let (tx, rx) = channel();
        let paths = files.clone();
        let ctx = ctx.cloned();
        std::thread::spawn(move || {
            let _ = tx.send(inspect::InspectState::read(&paths));
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
        self.reading = Some((files, rx));
    }
}
