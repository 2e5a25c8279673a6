//! The side-by-side field table: path, name, source | mapped | expected,
//! the outcome badge, and the rule or 0357 code with its reason; changed
//! characters highlighted. Virtualised rows (egui_extras) for big messages.

use egui::text::LayoutJob;
use egui::{Color32, RichText, TextFormat};
use egui_extras::{Column, TableBuilder};

use super::{App, Command, style};
use crate::diff::{Span, SpanKind};
use crate::scenario::OutcomeKind;

const OUTCOMES: [OutcomeKind; 4] = [
    OutcomeKind::Accepted,
    OutcomeKind::Transformed,
    OutcomeKind::Rejected,
    OutcomeKind::Dropped,
];

/// A value with the spans of one side of a diff highlighted; `Equal` shows
/// the whole diff inline: deletions struck through in red, insertions in green.
fn highlighted(ui: &egui::Ui, value: &str, spans: &[Span], show: SpanKind) -> LayoutJob {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let normal = TextFormat {
        font_id: font.clone(),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let mut job = LayoutJob::default();
    if spans.is_empty() {
        job.append(value, 0.0, normal);
        return job;
    }
    let inline = show == SpanKind::Equal;
    for s in spans {
        match s.kind {
            SpanKind::Equal => job.append(&s.text, 0.0, normal.clone()),
            SpanKind::Delete if inline => job.append(
                &s.text,
                0.0,
                TextFormat {
                    font_id: font.clone(),
                    color: Color32::WHITE,
                    background: style::RED.gamma_multiply(0.85),
                    strikethrough: egui::Stroke::new(1.0, Color32::WHITE),
                    ..Default::default()
                },
            ),
            SpanKind::Insert if inline => job.append(
                &s.text,
                0.0,
                TextFormat {
                    font_id: font.clone(),
                    color: Color32::WHITE,
                    background: style::GREEN.gamma_multiply(0.85),
                    ..Default::default()
                },
            ),
            k if k == show => {
                let bg = if show == SpanKind::Insert {
                    style::GREEN
                } else {
                    style::RED
                };
                job.append(
                    &s.text,
                    0.0,
                    TextFormat {
                        font_id: font.clone(),
                        color: Color32::WHITE,
                        background: bg.gamma_multiply(0.85),
                        ..Default::default()
                    },
                );
            }
            _ => {}
        }
    }
    job
}

/// A cell's label: wrapped onto its row's lines, or cut short (the tooltip
/// has the whole value, never egui's elision tooltip too).
fn fit(label: egui::Label, wrap: bool) -> egui::Label {
    if wrap {
        label.wrap()
    } else {
        label.truncate().show_tooltip_when_elided(false)
    }
}

/// Lines a row needs when values wrap: the longest value over the
/// characters a value column holds, at most 6.
fn row_lines(r: &crate::diff::DiffRow, chars_per_line: usize) -> usize {
    [
        r.source.as_deref().map_or(0, str::len),
        r.mapped.as_deref().map_or(0, str::len),
        r.expected.as_deref().map_or(0, str::len),
        r.detail.len() / 2,
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
    .div_ceil(chars_per_line.max(8))
    .clamp(1, 6)
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    super::editor::bar(app, ui);
    if app.selected.as_ref().is_none_or(|s| s.rows.is_empty()) {
        // Replayed but nothing could be read: say why, with the receipt.
        if let Some(r) = app.selected.as_ref().and_then(|s| app.result(s.index)) {
            ui.horizontal(|ui| {
                style::ack_badge(ui, &r.replay.ack_code);
                ui.strong("The input could not be read as a message: no field to account for.");
            });
            for p in &r.replay.parse_problems {
                let c = style::severity_color(p.severity);
                ui.colored_label(
                    c,
                    format!("line {}, column {}: {}", p.line, p.column, p.message),
                );
            }
            ui.add_space(4.0);
            ui.label("The receipt the receiver sends:");
            for line in r.replay.ack.split('\r').filter(|l| !l.is_empty()) {
                ui.add(egui::Label::new(RichText::new(app.shown(line)).monospace()).wrap());
            }
            return;
        }
        ui.label(
            RichText::new("No field results yet: replay this scenario to see every field's fate.")
                .italics(),
        );
        return;
    }
    ui.horizontal(|ui| {
        ui.label("Show:");
        for (i, k) in OUTCOMES.iter().enumerate() {
            ui.toggle_value(
                &mut app.outcome_filter[i],
                RichText::new(k.as_str()).color(style::outcome_color(*k)),
            );
        }
        let differing = app
            .selected
            .as_ref()
            .map_or(0, |s| s.rows.iter().filter(|r| r.differs_from_expected).count());
        let with_expected = app
            .selected
            .as_ref()
            .and_then(|s| app.result(s.index))
            .is_some_and(|r| r.expected_text.is_some());
        if with_expected {
            ui.separator();
            ui.toggle_value(
                &mut app.differs_only,
                RichText::new(format!("≠ expected only ({differing})")).color(style::AMBER),
            )
            .on_hover_text("Show only the fields whose mapped value differs from the scenario's expected message");
        }
        ui.separator();
        ui.toggle_value(&mut app.problems_first, "Problems first")
            .on_hover_text("Rejected rows first, then warnings and mismatches with the expected message; off: message order");
        ui.checkbox(&mut app.wrap_values, "Wrap values")
            .on_hover_text("Long values onto more lines instead of cut short");
        ui.separator();
        let label = ui.label("Search");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut app.search)
                    .id_salt("fields_search")
                    .hint_text("path, name or value (Ctrl+F)")
                    .desired_width(220.0),
            )
            .labelled_by(label.id);
        if std::mem::take(&mut app.focus_search) {
            search.request_focus();
        }
        if !app.search.is_empty()
            && ui
                .small_button("Clear")
                .on_hover_text("Clear the search")
                .clicked()
        {
            app.search.clear();
        }
    });
    ui.add_space(4.0);
    let indices = app.visible_row_indices();
    if indices.is_empty() {
        let why = if app.search.trim().is_empty() {
            "No row matches the filters above."
        } else {
            "No match: no path, field name or value contains the search."
        };
        ui.label(RichText::new(why).italics().color(style::AMBER));
        return;
    }
    let wrap = app.wrap_values;
    let scroll_to = app.scroll_fields_to.take();
    let masked = app.mask_screen;
    let shown = |v: &str| app.shown(v);
    let Some(sel) = app.selected.as_ref() else {
        return;
    };
    let all_rows = &sel.rows;
    let delims = sel
        .source
        .as_ref()
        .map(|m| m.delimiters)
        .unwrap_or_default();
    let has_expected = app
        .result(sel.index)
        .is_some_and(|r| r.expected_text.is_some());
    let selected_field = app.selected_field.clone();
    let mut clicked = None;
    let mut edit = None;
    let text_height = egui::TextStyle::Body.resolve(ui.style()).size.max(14.0) + 8.0;
    let line = egui::TextStyle::Monospace.resolve(ui.style()).size + 3.0;
    let problems = indices
        .iter()
        .filter(|&&i| App::is_problem(&all_rows[i]))
        .count();
    // Columns share the width there is: values get the room on a wide
    // screen, and the reason column stays in view on a narrow one.
    let w = (ui.available_width() - 90.0 - 100.0 - 70.0).max(400.0);
    let share = if has_expected { 0.18 } else { 0.22 };
    let mut table = TableBuilder::new(ui)
        .id_salt("fields_table")
        .striped(true)
        .resizable(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(90.0).at_least(70.0))
        .column(Column::initial(w * 0.15).at_least(70.0).clip(true))
        .column(Column::initial(w * share).at_least(70.0).clip(true))
        .column(Column::initial(w * share).at_least(70.0).clip(true));
    if has_expected {
        table = table.column(Column::initial(w * share).at_least(70.0).clip(true));
    }
    if let Some(row) = scroll_to {
        table = table.scroll_to_row(row, Some(egui::Align::Center));
    }
    table
        .column(Column::initial(100.0).at_least(90.0))
        .column(Column::initial(64.0).at_least(56.0))
        .column(Column::remainder().at_least(120.0).clip(true))
        .min_scrolled_height(0.0)
        .header(22.0, |mut h| {
            h.col(|ui| {
                ui.strong("Path");
            });
            h.col(|ui| {
                ui.strong("Field");
            });
            h.col(|ui| {
                ui.strong("Source");
            });
            h.col(|ui| {
                ui.strong("Mapped");
            });
            if has_expected {
                h.col(|ui| {
                    ui.strong("Expected");
                });
            }
            h.col(|ui| {
                ui.strong("Outcome");
            });
            h.col(|ui| {
                ui.strong("Severity").on_hover_text(format!(
                    "{problems} problem rows: F8 goes to the next, Shift+F8 to the previous"
                ));
            });
            h.col(|ui| {
                ui.strong("Rule / code and reason");
            });
        })
        .body(|body| {
            let per_line = ((w * share) / 7.5) as usize;
            let heights = indices.iter().map(|&i| {
                if wrap {
                    text_height + line * (row_lines(&all_rows[i], per_line) - 1) as f32
                } else {
                    text_height
                }
            });
            body.heterogeneous_rows(heights, |mut row| {
                let r = &all_rows[indices[row.index()]];
                let is_sel = selected_field
                    .as_ref()
                    .is_some_and(|p| p.same_field(&r.path));
                row.set_selected(is_sel);
                row.col(|ui| {
                    let resp =
                        ui.selectable_label(is_sel, RichText::new(r.path.to_string()).monospace());
                    if resp.clicked() {
                        clicked = Some(r.path.clone());
                    }
                    resp.context_menu(|ui| {
                        let value = r.mapped.as_deref().or(r.source.as_deref()).unwrap_or("");
                        for (label, text) in [
                            ("Copy value", shown(value)),
                            ("Copy path", r.path.to_string()),
                            ("Copy source value", shown(r.source.as_deref().unwrap_or(""))),
                        ] {
                            if ui.button(label).clicked() {
                                ui.ctx().copy_text(text);
                                ui.close();
                            }
                        }
                        if r.source.is_some()
                            && ui
                                .button("Edit value…")
                                .on_hover_text("Change the source value: the message is replayed as you type")
                                .clicked()
                        {
                            edit = Some(r.path.clone());
                            ui.close();
                        }
                    });
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(r.name.as_ref()).truncate());
                });
                // One tooltip per cell: the unescaped value (and the raw text
                // when escapes make them differ), never egui's elision tooltip too.
                let tip = |v: &str, extra: Option<String>| {
                    let value = crate::hl7::unescape(v, &delims);
                    let mut t = if value != v {
                        format!("{value}\nraw: {v}")
                    } else {
                        v.to_string()
                    };
                    if let Some(e) = extra {
                        t.push_str(&format!("\n{e}"));
                    }
                    t
                };
                row.col(|ui| {
                    let v = shown(r.source.as_deref().unwrap_or(""));
                    let spans: &[Span] = if masked { &[] } else { &r.source_to_mapped };
                    let label = fit(egui::Label::new(highlighted(ui, &v, spans, SpanKind::Delete)), wrap);
                    ui.add(label).on_hover_text(tip(&v, None));
                });
                row.col(|ui| {
                    let v = shown(r.mapped.as_deref().unwrap_or(""));
                    let spans: &[Span] = if masked { &[] } else { &r.source_to_mapped };
                    let label = fit(egui::Label::new(highlighted(ui, &v, spans, SpanKind::Insert)), wrap);
                    let moved = r.target.as_ref().map(|t| format!("moved to {t}"));
                    ui.add(label).on_hover_text(tip(&v, moved));
                });
                if has_expected {
                    row.col(|ui| {
                        let v = shown(r.expected.as_deref().unwrap_or(""));
                        let spans: &[Span] = if masked { &[] } else { &r.mapped_to_expected };
                        ui.add(fit(
                            egui::Label::new(highlighted(ui, &v, spans, SpanKind::Equal)),
                            wrap,
                        ))
                        .on_hover_text(tip(&v, Some("mapped → expected: struck-through red is in the mapped value only, green in the expected value only".into())));
                    });
                }
                row.col(|ui| {
                    if let Some(k) = r.outcome {
                        style::outcome_badge(ui, k);
                    }
                    if r.differs_from_expected {
                        ui.label(RichText::new("≠ expected").color(style::AMBER).strong())
                            .on_hover_text("the mapped value differs from the scenario's expected message");
                    }
                });
                row.col(|ui| {
                    if let Some(sev) = r.severity {
                        ui.colored_label(style::severity_color(sev), sev.as_str());
                    }
                });
                row.col(|ui| {
                    let d = shown(&r.detail);
                    ui.add(fit(egui::Label::new(&d), wrap)).on_hover_text(&d);
                });
            });
        });
    if let Some(p) = edit {
        app.command(Command::EditField(p));
    } else if let Some(p) = clicked {
        app.command(Command::SelectField(Some(p)));
    }
}
