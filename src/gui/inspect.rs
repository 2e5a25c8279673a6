//! Dropped `.hl7` files: every message and field, as `baton inspect` shows
//! them. The message list is virtualised for files of 100,000 messages.

use std::path::PathBuf;

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::{App, Problem};
use crate::inspect::{FieldView, FileReport};

pub struct InspectState {
    pub files: Vec<FileReport>,
    pub unreadable: Vec<Problem>,
    /// (file, message) selected.
    pub selected: (usize, usize),
    /// Views of the selected message, made when it is selected.
    pub fields: Vec<FieldView>,
}

impl InspectState {
    pub fn read(paths: &[PathBuf]) -> InspectState {
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for p in paths {
            match std::fs::read(p) {
                Ok(bytes) => files.push(FileReport::read(&p.display().to_string(), &bytes)),
                Err(e) => unreadable.push(Problem {
                    place: p.display().to_string(),
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        let mut s = InspectState {
            files,
            unreadable,
            selected: (0, 0),
            fields: Vec::new(),
        };
        s.select(0, 0);
        s
    }

    pub fn select(&mut self, file: usize, message: usize) {
        self.selected = (file, message);
        self.fields = self
            .files
            .get(file)
            .and_then(|f| f.view(message))
            .map(|v| v.fields)
            .unwrap_or_default();
    }

    pub fn problems(&self) -> Vec<Problem> {
        let mut out = self.unreadable.clone();
        for f in &self.files {
            for p in &f.problems {
                out.push(Problem {
                    place: format!("{}:{}:{}", f.file, p.line, p.column),
                    message: p.message.clone(),
                });
            }
        }
        out
    }
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    let Some(state) = app.inspect.as_mut() else {
        return;
    };
    let mut select = None;
    let mut close = false;
    egui::Panel::left("inspect_list")
        .resizable(true)
        .default_size(320.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("Inspected files");
                if ui.button("Back to workspace").clicked() {
                    close = true;
                }
            });
            for (fi, f) in state.files.iter().enumerate() {
                ui.label(
                    RichText::new(format!(
                        "{} — {} message(s), {} problem(s)",
                        f.file,
                        f.messages.len(),
                        f.problems.len()
                    ))
                    .strong(),
                );
                let row_h = 20.0;
                egui::ScrollArea::vertical()
                    .id_salt(("msgs", fi))
                    .max_height(ui.available_height() * 0.9)
                    .show_rows(ui, row_h, f.messages.len(), |ui, range| {
                        for mi in range {
                            let m = &f.messages[mi];
                            let sel = state.selected == (fi, mi);
                            let label = format!(
                                "#{} line {} {} {}",
                                mi + 1,
                                m.line_number,
                                m.message_type(),
                                m.control_id()
                            );
                            if ui.selectable_label(sel, label).clicked() {
                                select = Some((fi, mi));
                            }
                        }
                    });
            }
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let fields = &state.fields;
        ui.strong(format!("{} populated field(s)", fields.len()));
        TableBuilder::new(ui)
            .id_salt("inspect_table")
            .striped(true)
            .resizable(true)
            .column(Column::initial(100.0))
            .column(Column::initial(220.0).clip(true))
            .column(Column::initial(300.0).clip(true))
            .column(Column::remainder().clip(true))
            .header(20.0, |mut h| {
                for t in ["Path", "Field", "Raw", "Value"] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, fields.len(), |mut row| {
                    let f = &fields[row.index()];
                    row.col(|ui| {
                        ui.monospace(f.path.to_string());
                    });
                    row.col(|ui| {
                        ui.label(&f.name);
                    });
                    row.col(|ui| {
                        ui.add(egui::Label::new(RichText::new(&f.raw).monospace()).truncate());
                    });
                    row.col(|ui| {
                        ui.add(egui::Label::new(&f.value).truncate());
                    });
                });
            });
    });
    if let Some((f, m)) = select {
        state.select(f, m);
    }
    if close {
        app.inspect = None;
        app.problems.clear();
    }
}
