//! The gap matrix of a handoff: sender vs receiver for every field that
//! crosses, the kind of gap, whether a rule covers it, and the teams'
//! disposition of each open gap.

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::{App, Command, style};
use crate::finding::Severity;
use crate::gap::{FieldFacts, GapRow};

fn facts(f: &Option<FieldFacts>) -> String {
    match f {
        None => "—".into(),
        Some(f) => {
            let mut s = f.usage.clone();
            if let Some(t) = &f.data_type {
                s.push_str(&format!(" {t}"));
            }
            if let Some(l) = f.max_length {
                s.push_str(&format!(" len {l}"));
            }
            if let Some(r) = f.max_repetitions {
                s.push_str(&format!(" rep {r}"));
            }
            if let Some(t) = &f.table {
                s.push_str(&format!(" {t}"));
            }
            s
        }
    }
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    let Some(ws) = app.workspace.clone() else {
        return;
    };
    let Some(index) = app.selected.as_ref().map(|s| s.index) else {
        return;
    };
    let Some(h) = ws
        .scenarios
        .get(index)
        .map(|s| s.handoff.clone())
        .or_else(|| app.result(index).map(|r| r.handoff.clone()))
        .and_then(|id| ws.handoff(&id))
    else {
        return;
    };
    // The analysis is made once per workspace load and handoff, not every frame.
    let all = match &app.gap_cache {
        Some(((w, id), rows)) if std::sync::Arc::ptr_eq(w, &ws) && *id == h.id => rows.clone(),
        _ => {
            let rows: Vec<GapRow> =
                crate::gap::analyse(&h.sender, &h.receiver, Some(&h.rules), &ws.tables)
                    .into_iter()
                    .filter(|r| r.status != "no gap")
                    .collect();
            let rows = std::sync::Arc::new(rows);
            app.gap_cache = Some(((ws.clone(), h.id.clone()), rows.clone()));
            rows
        }
    };
    let needle = app.gap_filter.trim().to_lowercase();
    let rows: Vec<&GapRow> = all
        .iter()
        .filter(|r| {
            needle.is_empty()
                || r.path.to_lowercase().contains(&needle)
                || r.name.to_lowercase().contains(&needle)
                || r.gaps.iter().any(|g| {
                    g.kind.to_lowercase().contains(&needle)
                        || g.detail.to_lowercase().contains(&needle)
                })
        })
        .collect();
    let dispositions = app
        .session
        .loaded
        .as_ref()
        .map(crate::session::dispositions)
        .unwrap_or_default();
    let open = all.iter().filter(|r| r.status == "open").count();
    ui.horizontal(|ui| {
        ui.strong(format!("Gaps: {} → {}", h.sender.name, h.receiver.name));
        ui.label(format!(
            "{} gaps, {open} open, {} covered by rules",
            all.len(),
            all.len() - open
        ));
    });
    ui.horizontal(|ui| {
        let l = ui.label("Filter gaps");
        ui.add(
            egui::TextEdit::singleline(&mut app.gap_filter)
                .hint_text("field, kind or text, e.g. PID or conformance")
                .desired_width(320.0),
        )
        .labelled_by(l.id);
        if !needle.is_empty() {
            ui.label(format!("{} shown", rows.len()));
        }
    });
    ui.label(RichText::new("Select a gap, then record its disposition in the session (your name and side come from the Session tab).").weak());
    if let Some(m) = &app.session.message {
        ui.label(RichText::new(m).strong());
    }
    ui.horizontal(|ui| {
        let l = ui.label("Disposition note");
        ui.add(egui::TextEdit::singleline(&mut app.gap_note).desired_width(320.0))
            .labelled_by(l.id);
        let ready = app.gap_selected.is_some()
            && !app.gap_note.trim().is_empty()
            && !app.session.person.trim().is_empty();
        for (label, kind) in [
            ("Rule to write", "rule"),
            ("Waive", "waiver"),
            ("Not applicable", "n/a"),
        ] {
            if ui
                .add_enabled(ready, egui::Button::new(label))
                .on_disabled_hover_text(
                    "Select a gap, write a note, and give your name in the Session tab first",
                )
                .clicked()
            {
                app.commands.push(Command::Dispose(kind.to_string()));
            }
        }
    });
    egui::CollapsingHeader::new("Generated edge and error scenarios")
        .id_salt("generated")
        .default_open(!app.generated.is_empty())
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                if ui.button("Generate from the profiles").clicked() {
                    app.commands.push(Command::Generate);
                }
                if ui
                    .add_enabled(!app.generated.is_empty(), egui::Button::new("Replay all generated"))
                    .on_hover_text("Replay each generated scenario as it would be saved, without saving it: a verdict beside each")
                    .on_disabled_hover_text("Generate first")
                    .clicked()
                {
                    app.commands.push(Command::PreviewAllGenerated);
                }
                let n = app.generated.iter().filter(|(_, on)| *on).count();
                if ui
                    .add_enabled(n > 0, egui::Button::new(format!("Save {n} selected")))
                    .on_disabled_hover_text("Tick the scenarios to save: none is ticked by default")
                    .clicked()
                {
                    app.commands.push(Command::SaveGenerated);
                }
            });
            egui::ScrollArea::vertical()
                .id_salt("generated_list")
                .max_height(160.0)
                .show(ui, |ui| {
                    let mut preview = None;
                    for (i, (g, on)) in app.generated.iter_mut().enumerate() {
                        ui.horizontal(|ui| {
                            ui.checkbox(on, &g.name);
                            ui.label(RichText::new(g.kind.as_str()).small());
                            match app.generated_verdicts.get(&g.id) {
                                Some(Ok(v)) => style::verdict_badge(ui, Some(*v)),
                                Some(Err(e)) => {
                                    ui.colored_label(style::RED, "invalid").on_hover_text(e);
                                }
                                None => {}
                            }
                            if ui
                                .small_button("Preview")
                                .on_hover_text("Replay it without saving and open it in the Fields tab")
                                .clicked()
                            {
                                preview = Some(i);
                            }
                            ui.label(RichText::new(&g.reason).weak().small());
                        });
                    }
                    if let Some(i) = preview {
                        app.commands.push(Command::PreviewGenerated(i));
                    }
                });
        });
    let selected = app.gap_selected.clone();
    let mut clicked = None;
    // Columns share the width there is: at 1280 px nothing essential is cut.
    let w = (ui.available_width() - 150.0).max(500.0);
    TableBuilder::new(ui)
        .id_salt("gaps_table")
        .striped(true)
        .resizable(true)
        .column(Column::initial(64.0))
        .column(Column::initial(80.0))
        .column(Column::initial(w * 0.13).at_least(60.0).clip(true))
        .column(Column::initial(w * 0.12).at_least(60.0).clip(true))
        .column(Column::initial(w * 0.12).at_least(60.0).clip(true))
        .column(Column::initial(w * 0.40).at_least(100.0).clip(true))
        .column(Column::initial(w * 0.09).at_least(50.0).clip(true))
        .column(Column::remainder().at_least(60.0).clip(true))
        .header(20.0, |mut hd| {
            for t in [
                "Status",
                "Field",
                "Name",
                "Sender",
                "Receiver",
                "Gap",
                "Rules",
                "Disposition",
            ] {
                hd.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(22.0, rows.len(), |mut row| {
                let r = &rows[row.index()];
                row.col(|ui| {
                    let c = if r.status == "open" {
                        style::RED
                    } else {
                        style::BLUE
                    };
                    ui.colored_label(c, &r.status);
                });
                row.col(|ui| {
                    if ui
                        .selectable_label(
                            selected.as_deref() == Some(r.path.as_str()),
                            RichText::new(&r.path).monospace(),
                        )
                        .clicked()
                    {
                        clicked = Some(r.path.clone());
                    }
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(&r.name).truncate());
                });
                row.col(|ui| {
                    ui.monospace(facts(&r.sender));
                });
                row.col(|ui| {
                    ui.monospace(facts(&r.receiver));
                });
                row.col(|ui| {
                    let text = r
                        .gaps
                        .iter()
                        .map(|g| format!("{}: {}", g.kind, g.detail))
                        .collect::<Vec<_>>()
                        .join("; ");
                    let worst = r
                        .gaps
                        .iter()
                        .map(|g| g.severity)
                        .max()
                        .unwrap_or(Severity::Information);
                    // A gap the rules resolve is not an open problem: not red.
                    let c = if r.status == "covered" {
                        style::GREY
                    } else {
                        style::severity_color(worst)
                    };
                    ui.add(egui::Label::new(RichText::new(&text).color(c)).truncate())
                        .on_hover_text(&text);
                });
                row.col(|ui| {
                    ui.label(r.covered_by.join(", "));
                });
                row.col(|ui| {
                    if let Some((d, n, o)) = dispositions.get(&(h.id.clone(), r.path.clone())) {
                        ui.add(egui::Label::new(format!("{d}: {n} ({o})")).truncate());
                    }
                });
            });
        });
    if let Some(p) = clicked {
        app.gap_selected = Some(p);
    }
}
