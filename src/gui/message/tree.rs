//! A message as a tree: segment → field → component, each with its data
//! type, length (used / the standard's maximum) and table. Virtualised: only
//! the rows in view are drawn, so a message of 50,000 segments stays smooth.

use egui::{RichText, Sense};
use rustc_hash::FxHashSet;

use super::raw::{Mark, Marks};
use crate::gui::style;
use crate::hl7::{self, Message, Path, names};

/// Which segments and fields are open.
#[derive(Default)]
pub struct TreeState {
    segments: FxHashSet<usize>,
    fields: FxHashSet<(usize, usize)>,
}

impl TreeState {
    pub fn clear(&mut self) {
        self.segments.clear();
        self.fields.clear();
    }

    pub fn is_open(&self, si: usize) -> bool {
        self.segments.contains(&si)
    }
}

#[derive(Clone, Copy)]
enum Row {
    /// Segment index and occurrence.
    Segment(usize, usize),
    /// Segment index, occurrence, field number.
    Field(usize, usize, usize),
    /// Segment index, occurrence, field number, component number.
    Component(usize, usize, usize, usize),
}

/// What the tree reports.
#[derive(Default)]
pub struct TreeOut {
    pub clicked: Option<Path>,
    /// "Edit value…" chosen on a field.
    pub edit: Option<Path>,
}

/// Whether a field is split into components in the tree (not MSH-1/MSH-2).
fn has_components(m: &Message, si: usize, fi: usize) -> bool {
    let s = &m.segments[si];
    !(s.name == "MSH" && fi <= 2)
        && s.fields
            .get(fi - 1)
            .is_some_and(|f| f.raw.contains(m.delimiters.component))
}

fn rows(m: &Message, state: &TreeState) -> Vec<Row> {
    let mut out = Vec::with_capacity(m.segments.len());
    for (si, s, n) in m.segments_with_occurrence() {
        out.push(Row::Segment(si, n));
        if !state.segments.contains(&si) {
            continue;
        }
        for (i, f) in s.fields.iter().enumerate() {
            if f.raw.is_empty() {
                continue;
            }
            out.push(Row::Field(si, n, i + 1));
            if state.fields.contains(&(si, i + 1)) && has_components(m, si, i + 1) {
                for (ci, c) in f.raw.split(m.delimiters.component).enumerate() {
                    if !c.is_empty() {
                        out.push(Row::Component(si, n, i + 1, ci + 1));
                    }
                }
            }
        }
    }
    out
}

/// A small open/closed triangle that toggles.
fn toggle(ui: &mut egui::Ui, open: bool, visible: bool) -> bool {
    let (rect, resp) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), Sense::click());
    if visible {
        let c = ui.visuals().text_color();
        let r = rect.shrink(2.0);
        let points = if open {
            vec![r.left_top(), r.right_top(), r.center_bottom()]
        } else {
            vec![r.left_top(), r.right_center(), r.left_bottom()]
        };
        ui.painter()
            .add(egui::Shape::convex_polygon(points, c, egui::Stroke::NONE));
    }
    visible && resp.clicked()
}

fn mark_color(ui: &egui::Ui, mark: Option<Mark>) -> egui::Color32 {
    mark.map_or(ui.visuals().text_color(), Mark::color)
}

/// The definition line: type, length used / maximum, table.
fn definition(def: Option<&names::ElementDef>, len: usize) -> (String, String, String, bool) {
    definition_with(def, None, len)
}

/// The definition line, the side's profile first where it lists the field
/// (its type, length and table), the standard's otherwise.
fn definition_with(
    def: Option<&names::ElementDef>,
    spec: Option<&crate::profile::FieldSpec>,
    len: usize,
) -> (String, String, String, bool) {
    let ty = spec
        .and_then(|s| s.data_type.clone())
        .or_else(|| def.map(|d| d.data_type.clone()))
        .unwrap_or_default();
    let max = spec
        .and_then(|s| s.max_length)
        .or_else(|| def.and_then(|d| d.max_length));
    let table = spec
        .and_then(|s| s.table.clone())
        .or_else(|| def.and_then(|d| d.table.clone()))
        .map(|t| t.trim_start_matches("HL7").to_string())
        .unwrap_or_default();
    let shown = match max {
        Some(m) => format!("{len}/{m}"),
        None => len.to_string(),
    };
    (ty, shown, table, max.is_some_and(|m| len > m))
}

/// Draws the tree; `editable` offers "Edit value…" on fields.
#[allow(clippy::too_many_arguments)]
pub fn show(
    ui: &mut egui::Ui,
    id: &str,
    m: &Message,
    state: &mut TreeState,
    selected: Option<&Path>,
    reveal: bool,
    marks: &Marks,
    editable: bool,
    height: f32,
    profile: Option<&crate::profile::Profile>,
) -> TreeOut {
    let mut out = TreeOut::default();
    let sel_si = selected
        .and_then(|p| m.segment_index_of(p.segment, p.segment_number.unwrap_or(1) as usize));
    if reveal && let (Some(si), Some(p)) = (sel_si, selected) {
        state.segments.insert(si);
        if p.component_number.is_some() {
            state.fields.insert((si, p.field_number));
        }
    }
    let rows = rows(m, state);
    let row_h = egui::TextStyle::Body.resolve(ui.style()).size + 8.0;
    let mut area = egui::ScrollArea::both()
        .id_salt(id)
        .max_height(height)
        .auto_shrink([false, false]);
    if reveal
        && let (Some(si), Some(p)) = (sel_si, selected)
        && let Some(i) = rows.iter().position(|r| match *r {
            Row::Field(s, _, f) => s == si && f == p.field_number,
            _ => false,
        })
    {
        let spacing = ui.spacing().item_spacing.y;
        area = area.vertical_scroll_offset(((row_h + spacing) * i as f32 - height / 2.0).max(0.0));
    }
    let dict = names::dictionary();
    let wide = ui.available_width() > 520.0;
    area.show_rows(ui, row_h, rows.len(), |ui, range| {
        ui.style_mut().interaction.selectable_labels = false;
        for row in &rows[range] {
            let (rect, resp) = ui.allocate_exact_size(
                egui::vec2(ui.available_width().max(200.0), row_h),
                Sense::click(),
            );
            let line = Line::of(m, *row, dict, profile);
            let is_sel = match (*row, selected) {
                (Row::Field(..), Some(p)) => p.same_field(&line.path),
                _ => false,
            };
            if is_sel {
                ui.painter()
                    .rect_filled(rect, 2.0, ui.visuals().selection.bg_fill);
            } else if resp.hovered() {
                ui.painter()
                    .rect_filled(rect, 2.0, ui.visuals().widgets.hovered.weak_bg_fill);
            }
            let mut child = ui.new_child(
                egui::UiBuilder::new()
                    .max_rect(rect)
                    .layout(egui::Layout::left_to_right(egui::Align::Center)),
            );
            let toggled = draw_line(&mut child, &line, *row, state, marks, wide, row_h);
            let key = line.key;
            match *row {
                Row::Segment(si, _) => {
                    if toggled || resp.clicked() {
                        flip(&mut state.segments, si);
                    }
                }
                Row::Field(si, _, fi) => {
                    if toggled {
                        flip(&mut state.fields, (si, fi));
                    } else if resp.clicked() {
                        out.clicked = Some(line.path.clone());
                    }
                }
                Row::Component(..) => {
                    if resp.clicked() {
                        out.clicked = Some(Path {
                            component_number: None,
                            ..line.path.clone()
                        });
                    }
                }
            }
            let notes = key.and_then(|k| marks.get(k)).map(|x| x.1.clone());
            let resp = resp.on_hover_ui(|ui| {
                ui.strong(&line.tip);
                for n in notes.iter().flatten() {
                    ui.label(n);
                }
            });
            if !matches!(row, Row::Segment(..)) {
                resp.context_menu(|ui| {
                    if ui.button("Copy value").clicked() {
                        ui.ctx().copy_text(line.value.clone());
                        ui.close();
                    }
                    if ui.button("Copy path").clicked() {
                        ui.ctx().copy_text(line.path.display_canonical());
                        ui.close();
                    }
                    let s = &m.segments[line.si];
                    if let Some(seg) = s.range.clone().and_then(|r| m.text.get(r))
                        && ui.button("Copy segment").clicked()
                    {
                        ui.ctx().copy_text(seg.to_string());
                        ui.close();
                    }
                    if editable
                        && matches!(row, Row::Field(..))
                        && ui.button("Edit value…").clicked()
                    {
                        out.edit = Some(line.path.clone());
                        ui.close();
                    }
                });
            }
        }
    });
    out
}

fn flip<T: std::hash::Hash + Eq>(set: &mut FxHashSet<T>, x: T) {
    if !set.remove(&x) {
        set.insert(x);
    }
}

/// What one row shows.
struct Line {
    si: usize,
    /// The field's key for marks (none for a component or segment row).
    key: Option<super::raw::Key>,
    path: Path,
    label: String,
    name: String,
    ty: String,
    len: String,
    table: String,
    over: bool,
    value: String,
    tip: String,
    has_children: bool,
}

impl Line {
    fn of(
        m: &Message,
        row: Row,
        dict: &names::Dictionary,
        profile: Option<&crate::profile::Profile>,
    ) -> Line {
        match row {
            Row::Segment(si, n) => {
                let s = &m.segments[si];
                let label = if n > 1 {
                    format!("{}[{n}]", s.name)
                } else {
                    s.name.to_string()
                };
                let name = dict.segment_name(&s.name).unwrap_or("").to_string();
                Line {
                    si,
                    key: Some((si, 0)),
                    path: Path::field_of(s.name, n, 0),
                    tip: format!("{label} {name}"),
                    label,
                    name,
                    ty: String::new(),
                    len: String::new(),
                    table: String::new(),
                    over: false,
                    value: String::new(),
                    has_children: true,
                }
            }
            Row::Field(si, n, fi) => {
                let s = &m.segments[si];
                let f = &s.fields[fi - 1];
                let path = Path::field_of(s.name, n, fi);
                let value = hl7::unescape(&f.raw, &m.delimiters).into_owned();
                let def = dict.field(&s.name, fi);
                let spec = profile.and_then(|p| p.field(&s.name, fi));
                let (ty, len, table, over) = definition_with(def, spec, value.chars().count());
                let name = names::name_of(&path).into_owned();
                let mut tip = format!("{} {name}", path.display_canonical());
                if !ty.is_empty() {
                    tip.push_str(&format!("\ntype {ty}, length {len}"));
                    if !table.is_empty() {
                        tip.push_str(&format!(", table {table}"));
                    }
                    tip.push_str(match (spec, profile) {
                        (Some(_), Some(p)) => {
                            if p.side == crate::finding::Side::Sender {
                                " (the sender's profile)"
                            } else {
                                " (the receiver's profile)"
                            }
                        }
                        _ => " (the HL7 standard)",
                    });
                }
                if value != *f.raw {
                    tip.push_str(&format!("\nraw: {}", f.raw));
                }
                Line {
                    si,
                    key: Some((si, fi)),
                    label: path.display_canonical(),
                    path,
                    name,
                    ty,
                    len,
                    table,
                    over,
                    value,
                    tip,
                    has_children: has_components(m, si, fi),
                }
            }
            Row::Component(si, n, fi, ci) => {
                let s = &m.segments[si];
                let raw = s.fields[fi - 1]
                    .raw
                    .split(m.delimiters.component)
                    .nth(ci - 1)
                    .unwrap_or("");
                let path = Path {
                    component_number: Some(ci as u32),
                    ..Path::field_of(s.name, n, fi)
                };
                let value = hl7::unescape(raw, &m.delimiters).into_owned();
                let def = dict
                    .field(&s.name, fi)
                    .and_then(|d| dict.component(&d.data_type, ci as u32));
                let (ty, len, table, over) = definition(def, value.chars().count());
                let name = dict.path_name(&path);
                Line {
                    si,
                    key: None,
                    label: path.display_canonical(),
                    tip: format!("{} {name}", path.display_canonical()),
                    path,
                    name,
                    ty,
                    len,
                    table,
                    over,
                    value,
                    has_children: false,
                }
            }
        }
    }
}

/// Draws one row's text; true when its open/closed triangle was clicked.
fn draw_line(
    ui: &mut egui::Ui,
    line: &Line,
    row: Row,
    state: &TreeState,
    marks: &Marks,
    wide: bool,
    row_h: f32,
) -> bool {
    let weak = ui.visuals().weak_text_color();
    match row {
        Row::Segment(si, _) => {
            let mark = marks.worst_in_segment(si);
            let t = toggle(ui, state.segments.contains(&si), true);
            ui.label(
                RichText::new(&line.label)
                    .monospace()
                    .strong()
                    .color(mark_color(ui, mark)),
            );
            ui.label(RichText::new(&line.name).color(weak));
            if let Some(mk) = mark {
                let what = match mk {
                    Mark::Error => "has an error",
                    Mark::Warning => "has a warning",
                    Mark::Dropped => "has a dropped field",
                    Mark::Differs => "differs from expected",
                };
                ui.label(RichText::new(what).small().color(mk.color()));
            }
            t
        }
        Row::Field(si, _, fi) | Row::Component(si, _, fi, _) => {
            let component = matches!(row, Row::Component(..));
            ui.add_space(if component { 30.0 } else { 12.0 });
            let t = if component {
                false
            } else {
                toggle(ui, state.fields.contains(&(si, fi)), line.has_children)
            };
            let mark = line.key.and_then(|k| marks.get(k)).map(|x| x.0);
            ui.add_sized(
                [if component { 70.0 } else { 62.0 }, row_h],
                egui::Label::new(
                    RichText::new(&line.label)
                        .monospace()
                        .color(mark_color(ui, mark)),
                ),
            );
            if wide {
                ui.add_sized(
                    [130.0, row_h],
                    egui::Label::new(RichText::new(&line.name).color(weak)).truncate(),
                );
            }
            ui.add_sized(
                [34.0, row_h],
                egui::Label::new(RichText::new(&line.ty).monospace().color(weak)),
            );
            ui.add_sized(
                [60.0, row_h],
                egui::Label::new(RichText::new(&line.len).monospace().color(if line.over {
                    style::RED
                } else {
                    weak
                })),
            );
            ui.add_sized(
                [36.0, row_h],
                egui::Label::new(RichText::new(&line.table).monospace().color(weak)),
            );
            ui.add(egui::Label::new(RichText::new(&line.value).monospace()).truncate());
            t
        }
    }
}
