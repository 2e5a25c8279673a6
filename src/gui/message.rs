//! Raw source and mapped messages with the selected field highlighted
//! (click a row → highlight; click in the text → select the field), and a
//! tree view (segment → field → component).

use egui::text::{CCursor, LayoutJob};
use egui::{RichText, TextFormat};

use super::{App, Command, style};
use crate::hl7::{self, Message, Path, names};

/// The message text for display: `\r` shown as a line break, with every
/// byte offset kept (a `\r` before `\n` becomes a space).
fn display_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if c == '\r' {
            out.push(if bytes.get(i + 1) == Some(&b'\n') {
                ' '
            } else {
                '\n'
            });
        } else {
            out.push(c);
        }
    }
    out
}

/// Byte range of a field in the message text.
fn field_range(m: &Message, p: &Path) -> Option<std::ops::Range<usize>> {
    let idx = m.segment_index_of(p.segment, p.segment_number.unwrap_or(1) as usize)?;
    m.segments[idx]
        .fields
        .get(p.field_number.checked_sub(1)?)?
        .range
        .clone()
}

/// The field at a byte offset of the message text.
fn field_at(m: &Message, offset: usize) -> Option<Path> {
    for (_, s, n) in m.segments_with_occurrence() {
        for (i, f) in s.fields.iter().enumerate() {
            if let Some(r) = &f.range
                && r.start <= offset
                && offset <= r.end
            {
                return Some(Path::field_of(s.name, n, i + 1));
            }
        }
    }
    None
}

/// Draws a message's text; returns the field clicked, if any.
fn raw_view(ui: &mut egui::Ui, m: &Message, selected: Option<&Path>, wrap: bool) -> Option<Path> {
    let text = display_text(&m.text);
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let normal = TextFormat {
        font_id: font.clone(),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let hl = TextFormat {
        font_id: font,
        color: egui::Color32::WHITE,
        background: style::BLUE,
        ..Default::default()
    };
    let range = selected.and_then(|p| field_range(m, p)).filter(|r| {
        r.end <= text.len() && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
    });
    let mut job = LayoutJob::default();
    match range {
        Some(r) => {
            job.append(&text[..r.start], 0.0, normal.clone());
            job.append(&text[r.start..r.end], 0.0, hl);
            job.append(&text[r.end..], 0.0, normal);
        }
        None => job.append(&text, 0.0, normal),
    }
    // Wrapped to the pane, or one line per segment with a scroll bar.
    job.wrap.max_width = if wrap {
        ui.available_width().max(80.0)
    } else {
        f32::INFINITY
    };
    let galley = ui.painter().layout_job(job);
    let (rect, resp) = ui.allocate_exact_size(galley.size(), egui::Sense::click());
    ui.painter()
        .galley(rect.min, galley.clone(), ui.visuals().text_color());
    // The text is painted; say what it is for screen readers (and tests).
    let enabled = ui.is_enabled();
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, enabled, &text));
    let resp = resp.on_hover_cursor(egui::CursorIcon::Text);
    if resp.clicked()
        && let Some(pos) = resp.interact_pointer_pos()
    {
        let cursor: CCursor = galley.cursor_from_pos(pos - rect.min);
        let offset = text
            .char_indices()
            .nth(cursor.index.0)
            .map_or(text.len(), |(b, _)| b);
        return field_at(m, offset);
    }
    None
}

fn tree_view(ui: &mut egui::Ui, m: &Message, selected: Option<&Path>) -> Option<Path> {
    let mut clicked = None;
    let dict = names::dictionary();
    for (si, s, n) in m.segments_with_occurrence() {
        let title = match dict.segment_name(&s.name) {
            Some(d) => format!(
                "{}{} — {d}",
                s.name,
                if n > 1 {
                    format!("[{n}]")
                } else {
                    String::new()
                }
            ),
            None => format!(
                "{}{}",
                s.name,
                if n > 1 {
                    format!("[{n}]")
                } else {
                    String::new()
                }
            ),
        };
        egui::CollapsingHeader::new(title)
            .id_salt(("seg", si))
            .default_open(false)
            .show(ui, |ui| {
                for (fi, f) in s.fields.iter().enumerate() {
                    if f.raw.is_empty() {
                        continue;
                    }
                    let path = Path::field_of(s.name, n, fi + 1);
                    let is_sel = selected.is_some_and(|p| p.same_field(&path));
                    let name = names::name_of(&path);
                    let comps: Vec<&str> = f.raw.split(m.delimiters.component).collect();
                    if comps.len() > 1 && !(s.name == "MSH" && fi < 2) {
                        let resp = egui::CollapsingHeader::new(format!(
                            "{} {name}",
                            path.display_canonical()
                        ))
                        .id_salt(("field", si, fi))
                        .show(ui, |ui| {
                            for (ci, c) in comps.iter().enumerate() {
                                if c.is_empty() {
                                    continue;
                                }
                                let cp = Path {
                                    component_number: Some(ci as u32 + 1),
                                    ..path.clone()
                                };
                                ui.horizontal(|ui| {
                                    ui.monospace(cp.display_canonical());
                                    ui.label(
                                        RichText::new(names::dictionary().path_name(&cp)).weak(),
                                    );
                                    ui.monospace(hl7::unescape(c, &m.delimiters));
                                });
                            }
                        });
                        if resp.header_response.clicked() {
                            clicked = Some(path.clone());
                        }
                    } else if ui
                        .selectable_label(
                            is_sel,
                            format!(
                                "{} {name} = {}",
                                path.display_canonical(),
                                hl7::unescape(&f.raw, &m.delimiters)
                            ),
                        )
                        .clicked()
                    {
                        clicked = Some(path);
                    }
                }
            });
    }
    clicked
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    let Some(sel) = &app.selected else { return };
    // With the mask on, the messages are shown with patient fields masked
    // where they stand (re-read, so clicks and highlights still work).
    let masked: Option<(Option<Message>, Option<Message>)> = match (app.mask_screen, app.masker()) {
        (true, Some(mk)) => {
            let mask = |m: &Option<Message>| {
                m.as_ref().map(|m| {
                    hl7::parse_one(&mk.mask_message(m).encode())
                        .unwrap_or_else(|_| mk.mask_message(m))
                })
            };
            Some((mask(&sel.source), mask(&sel.mapped)))
        }
        _ => None,
    };
    if masked.is_some() {
        ui.label(
            RichText::new(
                "Patient data masked (names, identifiers, addresses, phones; dates to the year).",
            )
            .italics()
            .weak(),
        );
    }
    let (source, mapped) = match &masked {
        Some((s, m)) => (s.as_ref(), m.as_ref()),
        None => (sel.source.as_ref(), sel.mapped.as_ref()),
    };
    let selected = app.selected_field.clone();
    let mut clicked = None;
    if source.is_none() {
        match app.result(sel.index) {
            Some(r) => {
                ui.label(RichText::new("The source could not be read as a message:").strong());
                for p in &r.replay.parse_problems {
                    ui.label(format!(
                        "line {}, column {}: {}",
                        p.line, p.column, p.message
                    ));
                }
                ui.add(
                    egui::Label::new(RichText::new(app.shown(&r.replay.source_text)).monospace())
                        .wrap(),
                );
            }
            None => {
                ui.label(
                    RichText::new("Replay this scenario to see its source and mapped messages.")
                        .italics(),
                );
            }
        }
        return;
    }
    if let Some(p) = &selected {
        ui.horizontal(|ui| {
            ui.label("Selected:");
            ui.monospace(p.display_canonical());
            ui.label(RichText::new(names::name_of(p)).weak());
            if ui
                .small_button("Clear")
                .on_hover_text("Clear the selection")
                .clicked()
            {
                clicked = Some(None);
            }
        });
    } else {
        ui.label(
            RichText::new(
                "Click a field in either message, in the tree, or a row of the Fields tab.",
            )
            .weak(),
        );
    }
    ui.checkbox(&mut app.wrap_lines, "Wrap long segments")
        .on_hover_text("Off: one line per segment, with a horizontal scroll bar");
    let replayed = app.result(sel.index).is_some();
    let wrap = app.wrap_lines;
    let height = ui.available_height();
    ui.columns(3, |cols| {
        cols[0].strong("Source");
        egui::ScrollArea::both()
            .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysVisible)
            .id_salt("raw_source")
            .max_height(height - 30.0)
            .show(&mut cols[0], |ui| {
                if let Some(m) = source
                    && let Some(p) = raw_view(ui, m, selected.as_ref(), wrap)
                {
                    clicked = Some(Some(p));
                }
            });
        cols[1].strong("Mapped");
        egui::ScrollArea::both()
            .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysVisible)
            .id_salt("raw_mapped")
            .max_height(height - 30.0)
            .show(&mut cols[1], |ui| match mapped {
                Some(m) => {
                    if let Some(p) = raw_view(ui, m, selected.as_ref(), wrap) {
                        clicked = Some(Some(p));
                    }
                }
                None if replayed => {
                    ui.label("(no mapped message)");
                }
                None => {
                    ui.label(
                        RichText::new("Replay the scenario to see the mapped message.").italics(),
                    );
                }
            });
        cols[2].strong("Source tree");
        egui::ScrollArea::vertical()
            .id_salt("tree")
            .max_height(height - 30.0)
            .show(&mut cols[2], |ui| {
                if let Some(m) = source
                    && let Some(p) = tree_view(ui, m, selected.as_ref())
                {
                    clicked = Some(Some(p));
                }
            });
    });
    if let Some(p) = clicked {
        app.command(Command::SelectField(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_offsets_map_to_fields() {
        let m =
            hl7::parse_one("MSH|^~\\&|A\r\nPID|1||123||Doe^John\r\nOBX|1\r\nOBX|2|NM\r\n").unwrap();
        let text = display_text(&m.text);
        assert_eq!(text.len(), m.text.len());
        let at = text.find("Doe").unwrap() + 1;
        assert_eq!(field_at(&m, at).unwrap().to_string(), "PID-5");
        let at = text.rfind("NM").unwrap();
        assert_eq!(field_at(&m, at).unwrap().to_string(), "OBX[2]-2");
        let r = field_range(&m, &"PID-5".parse().unwrap()).unwrap();
        assert_eq!(&m.text[r], "Doe^John");
    }
}
