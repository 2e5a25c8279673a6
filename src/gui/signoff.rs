//! The shared session: who is testing, comments, sign-off by both leads,
//! go-live readiness and the signed report export. New records written by
//! the other team (shared folder, git) appear on their own.

use std::path::PathBuf;

use egui::RichText;

use super::{App, Command, style};
use crate::Side;
use crate::session::{self, Event, SignoffStatus};

/// The session panel's own state.
pub struct SessionState {
    pub name: String,
    pub person: String,
    pub role: String,
    pub side: Side,
    pub comment: String,
    pub waiver_owner: String,
    pub waiver_expires: String,
    pub mask_export: bool,
    pub loaded: Option<session::Session>,
    pub fingerprint: (usize, Option<std::time::SystemTime>),
    pub last_poll: Option<std::time::Instant>,
    pub message: Option<String>,
    /// Session folders of the workspace, re-read when the session is.
    pub names: Vec<String>,
    /// Signature checks of the loaded records against the current digest,
    /// made once per (session, folder fingerprint, digest, all met), not every frame.
    checked: Option<Checked>,
    /// The workspace's register of signers (`signers.toml`), re-read with the session.
    pub signers: crate::signers::Signers,
    pub signers_stamp: Option<std::time::SystemTime>,
    /// An approval or rejection waiting for the user to confirm what it signs.
    pub pending: Option<Pending>,
    /// Register my key on first use (offered when I have none for my side).
    pub register_key: bool,
}

/// What a sign-off will sign, shown before it is made.
pub struct Pending {
    pub approve: bool,
    pub digest: Option<String>,
    pub met: usize,
    pub total: usize,
    pub open_gaps: usize,
    pub waivers: usize,
    /// My public key (hex), or why it cannot be used.
    pub key: Result<String, String>,
}

struct Checked {
    key: (
        String,
        (usize, Option<std::time::SystemTime>),
        String,
        bool,
        Option<std::time::SystemTime>,
    ),
    /// Per record, in order.
    statuses: Vec<Option<SignoffStatus>>,
    go_live: session::GoLive,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            name: "go-live".into(),
            person: String::new(),
            role: String::new(),
            side: Side::Sender,
            comment: String::new(),
            waiver_owner: String::new(),
            waiver_expires: String::new(),
            mask_export: true,
            loaded: None,
            fingerprint: (0, None),
            last_poll: None,
            message: None,
            names: Vec::new(),
            checked: None,
            signers: Default::default(),
            signers_stamp: None,
            pending: None,
            register_key: false,
        }
    }
}

/// Replaces the save dialog in tests.
pub type SavePicker = Box<dyn FnMut() -> Option<PathBuf> + Send>;

pub fn default_save_picker() -> SavePicker {
    Box::new(|| {
        rfd::FileDialog::new()
            .set_title("Export the signed go-live report")
            .set_file_name("go-live-report.html")
            .save_file()
    })
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    if app.workspace.is_none() {
        return;
    }
    let s = &mut app.session;
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("who").num_columns(2).show(ui, |ui| {
            let l = ui.label("Session");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut s.name).desired_width(160.0)).labelled_by(l.id);
                for existing in &s.names {
                    if ui.small_button(existing).clicked() {
                        s.name = existing.clone();
                        s.loaded = None;
                    }
                }
            });
            ui.end_row();
            let l = ui.label("Your name");
            ui.add(egui::TextEdit::singleline(&mut s.person).desired_width(220.0)).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Your role");
            ui.add(egui::TextEdit::singleline(&mut s.role).hint_text("e.g. Interface lead").desired_width(220.0)).labelled_by(l.id);
            ui.end_row();
            ui.label("Your side");
            ui.horizontal(|ui| {
                ui.radio_value(&mut s.side, Side::Sender, "sender");
                ui.radio_value(&mut s.side, Side::Receiver, "receiver");
            });
            ui.end_row();
            let l = ui.label("Comment");
            ui.add(egui::TextEdit::multiline(&mut s.comment).desired_rows(2).desired_width(420.0)).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Waiver owner");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut s.waiver_owner).desired_width(160.0)).labelled_by(l.id);
                let e = ui.label("expires");
                ui.add(egui::TextEdit::singleline(&mut s.waiver_expires).hint_text("YYYY-MM-DD").desired_width(100.0)).labelled_by(e.id);
            });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            let ready = !s.person.trim().is_empty() && session::check_name(&s.name).is_ok();
            if ui.add_enabled(ready, egui::Button::new("Record run")).on_hover_text("Replay everything and record it in the session").on_disabled_hover_text("Give your name and a session name first").clicked() {
                app.commands.push(Command::RecordRun);
            }
            if ui.add_enabled(ready && !s.comment.trim().is_empty(), egui::Button::new("Add comment")).on_hover_text("On the selected scenario (and field)").on_disabled_hover_text("Give your name, a session name and a comment first").clicked() {
                app.commands.push(Command::AddComment);
            }
            let waivable = ready
                && app.selected_field.is_some()
                && !s.comment.trim().is_empty()
                && !s.waiver_owner.trim().is_empty()
                && crate::hl7::datetime::Timestamp::parse(&s.waiver_expires.replace('-', "")).is_ok_and(|t| t.day.is_some() && !t.has_time());
            if ui
                .add_enabled(waivable, egui::Button::new("Waive selected field"))
                .on_hover_text("Accept the selected field's finding as a known deviation: the comment is the reason; needs an owner and an expiry date")
                .on_disabled_hover_text("Needs your name, a session, a selected field, the reason (comment), an owner and an expiry date (YYYY-MM-DD)")
                .clicked()
            {
                app.commands.push(Command::AddWaiver);
            }
            ui.separator();
            if ui.add_enabled(ready, egui::Button::new("Approve")).on_hover_text("Review what will be signed, then sign an approval of the current inputs and results").on_disabled_hover_text("Give your name and a session name first").clicked() {
                app.commands.push(Command::ConfirmSign(true));
            }
            if ui.add_enabled(ready, egui::Button::new("Reject")).on_hover_text("Review what will be signed, then sign a rejection").on_disabled_hover_text("Give your name and a session name first").clicked() {
                app.commands.push(Command::ConfirmSign(false));
            }
            ui.separator();
            ui.checkbox(&mut s.mask_export, "Mask patient data in the export");
            if ui.button("Export report…").clicked() {
                app.commands.push(Command::ExportReport);
            }
        });
        if let Some(p) = &s.pending {
            let mut confirm = false;
            let mut cancel = false;
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.strong(if p.approve { "Approve: you are about to sign" } else { "Reject: you are about to sign" });
                egui::Grid::new("will-sign").num_columns(2).show(ui, |ui| {
                    ui.label("Signer");
                    ui.label(format!("{} ({}, {} side)", s.person.trim(), s.role.trim(), s.side.as_str()));
                    ui.end_row();
                    ui.label("Inputs and results digest");
                    ui.label(RichText::new(p.digest.as_deref().unwrap_or("(every scenario is replayed first)")).monospace());
                    ui.end_row();
                    ui.label("Scenario verdicts");
                    ui.label(format!("{} of {} met", p.met, p.total));
                    ui.end_row();
                    ui.label("Open gaps");
                    ui.label(p.open_gaps.to_string());
                    ui.end_row();
                    ui.label("Waivers");
                    ui.label(p.waivers.to_string());
                    ui.end_row();
                    ui.label("Your key");
                    match &p.key {
                        Ok(k) => {
                            let fp = crate::signers::fingerprint(k);
                            let t = s.signers.trust(s.person.trim(), s.side, k);
                            ui.label(format!("{fp} ({})", crate::report::trust_text(t)));
                        }
                        Err(e) => {
                            ui.colored_label(style::RED, e);
                        }
                    }
                    ui.end_row();
                });
                let key_ok = match &p.key {
                    Ok(k) => match s.signers.trust(s.person.trim(), s.side, k) {
                        crate::signers::KeyTrust::Registered(_) => true,
                        crate::signers::KeyTrust::Revoked => {
                            ui.colored_label(style::RED, "This key was revoked: it can sign nothing.");
                            false
                        }
                        crate::signers::KeyTrust::Unregistered if s.signers.is_revoked(k) => {
                            ui.colored_label(style::RED, "This key was revoked: it can sign nothing.");
                            false
                        }
                        crate::signers::KeyTrust::Unregistered => {
                            if s.signers.has_active(s.person.trim(), s.side) {
                                ui.colored_label(style::RED, "Another key is registered for you on this side: sign with it, or have it revoked and this one added.");
                                false
                            } else {
                                ui.checkbox(&mut s.register_key, "Register my key (trust on first use; recorded as such in signers.toml)");
                                s.register_key
                            }
                        }
                    },
                    Err(_) => false,
                };
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(key_ok, egui::Button::new("Sign"))
                        .on_disabled_hover_text("Your key must be registered for your side (or registered now, on first use)")
                        .clicked()
                    {
                        confirm = true;
                    }
                    if ui.button("Cancel").clicked() {
                        cancel = true;
                    }
                });
            });
            if confirm {
                let approve = p.approve;
                s.pending = None;
                app.commands.push(Command::Sign(approve));
            } else if cancel {
                s.pending = None;
            }
        }
        if let Some(m) = &s.message {
            ui.label(RichText::new(m).strong());
        }
        ui.separator();
        ui.strong(format!("Registered signers ({})", s.signers.signer.len()));
        if s.signers.signer.is_empty() {
            ui.label(RichText::new("No one yet: the first signature of each lead registers their key (trust on first use), or use `baton signers add`.").weak());
        }
        for x in &s.signers.signer {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("{} ({}, {} side)", x.name, x.role, x.side.as_str()));
                ui.label(RichText::new(x.fingerprint()).monospace());
                ui.label(RichText::new(format!("{}, added {} by {}", x.trust.as_str(), x.added, x.added_by)).weak());
                if let Some(at) = &x.revoked {
                    ui.colored_label(style::RED, format!("revoked {at}"));
                }
            });
        }
        ui.separator();
        let Some(loaded) = &s.loaded else {
            ui.label("No records yet.");
            return;
        };
        let digest = app.current_digest.clone();
        if let Some(d) = &digest {
            let all_met = app.results.iter().all(|r| r.as_ref().is_some_and(|r| r.verdict == crate::Verdict::Met));
            let key = (loaded.name.clone(), s.fingerprint, d.clone(), all_met, s.signers_stamp);
            if s.checked.as_ref().is_none_or(|c| c.key != key) {
                s.checked = Some(Checked {
                    key,
                    statuses: loaded.records.iter().map(|r| session::signoff_status(r, d, &s.signers)).collect(),
                    go_live: session::go_live(loaded, d, all_met, &s.signers),
                });
            }
        } else {
            s.checked = None;
        }
        let checked = s.checked.as_ref();
        if let Some(g) = checked.map(|c| &c.go_live) {
            ui.horizontal(|ui| {
                if g.ready {
                    ui.colored_label(style::GREEN, RichText::new("Ready for go-live").strong());
                } else {
                    ui.colored_label(style::RED, RichText::new("Not ready for go-live").strong());
                    ui.label(format!("missing: {}", g.missing.join("; ")));
                }
            });
        } else {
            ui.label(RichText::new("Replay every scenario to check sign-offs against the current results.").italics());
        }
        for (file, why) in &loaded.unreadable {
            ui.colored_label(style::RED, format!("{file} could not be read: {why}"));
        }
        ui.add_space(4.0);
        ui.strong(format!("Records ({})", loaded.records.len()));
        for (i, r) in loaded.records.iter().enumerate().rev() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(&r.at).weak().monospace());
                match &r.event {
                    Event::Run { by, results, .. } => {
                        let met = results.iter().filter(|x| x.verdict == crate::Verdict::Met).count();
                        ui.label(format!("run by {} ({}): {met} of {} met", by.name, by.side.as_str(), results.len()));
                    }
                    Event::Comment { by, scenario, path, text } => {
                        ui.label(format!("{} ({}) on {scenario}{}: {text}", by.name, by.side.as_str(), path.as_ref().map(|p| format!(" {p}")).unwrap_or_default()));
                    }
                    Event::Waiver { by, scenario, path, reason, owner, expires, .. } => {
                        ui.label(format!("waiver by {} on {scenario} {path}: {reason} (owner {owner}, expires {expires})", by.name));
                    }
                    Event::Exchange(x) => {
                        ui.label(format!(
                            "{} {} {}: {} (predicted {}){}",
                            x.leg,
                            x.peer,
                            x.label,
                            x.ack_code,
                            x.predicted,
                            x.error.as_ref().map(|e| format!(" error: {e}")).unwrap_or_default()
                        ));
                    }
                    Event::Disposition { by, handoff, path, disposition, note, owner } => {
                        ui.label(format!("gap {handoff} {path}: {disposition} by {} — {note} (owner {owner})", by.name));
                    }
                    Event::Signoff { by, decision, comment, public_key, .. } => {
                        let status = checked.and_then(|c| c.statuses.get(i).copied().flatten());
                        let (text, color) = match status {
                            Some(SignoffStatus::Valid) => ("valid", style::GREEN),
                            Some(SignoffStatus::Stale) => ("stale: inputs or results changed since", style::AMBER),
                            Some(SignoffStatus::Invalid) => ("INVALID signature", style::RED),
                            Some(SignoffStatus::Untrusted) => ("UNTRUSTED: key not registered for this person and side, or revoked", style::RED),
                            None => ("not checked", style::GREY),
                        };
                        ui.label(format!("{:?} by {} ({}, {} side) {comment}", decision, by.name, by.role, by.side.as_str()));
                        ui.label(RichText::new(format!("key {}", crate::signers::fingerprint(public_key))).monospace().weak());
                        ui.colored_label(color, text);
                    }
                }
            });
        }
    });
}
