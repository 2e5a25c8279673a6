//! The Messages tab: source | mapped | expected side by side, each with its
//! raw text (findings marked where they stand) above its segment → field →
//! component tree. Scrolling is synchronised by segment; selecting a field
//! anywhere selects it everywhere, scrolls it into view and opens the trees
//! to it. The source can be edited in place (see `editor`).

pub mod raw;
pub mod tree;

use egui::RichText;

use super::{App, Command, editor, style};
use crate::finding::{Severity, Side};
use crate::hl7::{Message, Path};
use crate::scenario::OutcomeKind;
use raw::{Mark, Marks};

/// The three panes.
pub const SOURCE: usize = 0;
pub const MAPPED: usize = 1;
pub const EXPECTED: usize = 2;

/// What the Messages tab keeps between frames.
pub struct ViewState {
    pub trees: [tree::TreeState; 3],
    /// Scrolling follows by segment across the panes.
    pub sync: bool,
    /// The source pane shows bytes in hex.
    pub hex: bool,
    /// Scroll to and open the selected field on the next frame.
    pub reveal: bool,
    offsets: [f32; 3],
    pending: [Option<f32>; 3],
    /// Frames left during which scrolling is not followed (after a reveal).
    settle: u8,
    /// The tallest raw text last frame: the text gets no more room than it needs.
    text_height: f32,
    /// Bumped whenever the selected messages change: caches keyed on it.
    pub generation: u64,
    /// Each pane's laid-out text.
    raw: [Option<raw::RawCache>; 3],
    /// The marks of the current messages (generation, masked).
    marks: Option<(u64, bool, std::sync::Arc<[Marks; 3]>)>,
    /// The masked messages (generation).
    masked: Option<(u64, std::sync::Arc<[Option<Message>; 3]>)>,
}

impl Default for ViewState {
    fn default() -> ViewState {
        ViewState {
            trees: Default::default(),
            sync: true,
            hex: false,
            reveal: false,
            offsets: [0.0; 3],
            pending: [None; 3],
            settle: 0,
            text_height: f32::INFINITY,
            generation: 0,
            raw: Default::default(),
            marks: None,
            masked: None,
        }
    }
}

impl ViewState {
    /// A different message: trees closed, scrolled to the top.
    pub fn reset(&mut self) {
        for t in &mut self.trees {
            t.clear();
        }
        self.pending = [Some(0.0); 3];
        self.offsets = [0.0; 3];
        self.text_height = f32::INFINITY;
    }
}

fn finding_note(f: &crate::Finding) -> String {
    format!(
        "{} {} ({}, {}): {}",
        f.code,
        crate::finding::code_text(f.code),
        f.severity.as_str(),
        f.side.as_str(),
        f.reason
    )
}

/// The marks of each pane: sender and mapping findings and dropped fields
/// on the source, receiver findings on the mapped message, and where the
/// mapped and expected messages differ on both.
fn marks(app: &App, msgs: [Option<&Message>; 3]) -> [Marks; 3] {
    let mut out: [Marks; 3] = Default::default();
    let Some(sel) = &app.selected else { return out };
    let Some(r) = app.result(sel.index) else {
        return out;
    };
    for f in &r.replay.findings {
        if f.severity < Severity::Warning {
            continue;
        }
        let mark = if f.severity == Severity::Error {
            Mark::Error
        } else {
            Mark::Warning
        };
        let pane = if f.side == Side::Receiver {
            MAPPED
        } else {
            SOURCE
        };
        if let Some(m) = msgs[pane] {
            let mut at = f.location.clone();
            if f.segment_only {
                at.field_number = 0;
            }
            out[pane].add(m, &at, mark, finding_note(f));
        }
    }
    for row in &sel.rows {
        if row.outcome == Some(OutcomeKind::Dropped)
            && let Some(m) = msgs[SOURCE]
        {
            out[SOURCE].add(
                m,
                &row.path,
                Mark::Dropped,
                format!("dropped: {}", row.detail),
            );
        }
        if row.differs_from_expected {
            let at = row.target.as_ref().unwrap_or(&row.path);
            let note = format!(
                "mapped `{}` ≠ expected `{}`",
                row.mapped.as_deref().unwrap_or(""),
                row.expected.as_deref().unwrap_or("")
            );
            for pane in [MAPPED, EXPECTED] {
                if let Some(m) = msgs[pane] {
                    out[pane].add(m, at, Mark::Differs, note.clone());
                }
            }
        }
    }
    if let Some(m) = msgs[EXPECTED] {
        for o in &r.expected_only {
            out[EXPECTED].add(
                m,
                &o.path,
                Mark::Differs,
                "only in the expected message".into(),
            );
        }
    }
    out
}

/// Where pane `to` should scroll so its segments line up with pane `from`,
/// which the user scrolled to `offset`.
fn follow(from: &raw::SegmentIndex, offset: f32, to: &raw::SegmentIndex) -> Option<f32> {
    // The segment at the top of the scrolled pane.
    let top = from
        .tops
        .partition_point(|&y| y <= offset + 1.0)
        .checked_sub(1)?;
    // That segment in the other pane, else the nearest one before it both have.
    (0..=top).rev().find_map(|i| {
        let j = *to.at.get(from.keys.get(i)?)?;
        let within = if i == top { offset - from.tops[i] } else { 0.0 };
        Some(to.tops.get(j)? + within.max(0.0))
    })
}

/// With the mask on, the messages with patient fields masked where they
/// stand (re-read, so clicks and highlights still work), kept until the
/// messages change.
fn masked_messages(
    view: &mut ViewState,
    sel: &super::Selected,
    masker: Option<&crate::report::Masker>,
) -> Option<std::sync::Arc<[Option<Message>; 3]>> {
    let mk = masker?;
    if let Some((g, m)) = &view.masked
        && *g == view.generation
    {
        return Some(m.clone());
    }
    let mask = |m: &Option<Message>| {
        m.as_ref().map(|m| {
            crate::hl7::parse_one(&mk.mask_message(m).encode())
                .unwrap_or_else(|_| mk.mask_message(m))
        })
    };
    let m = std::sync::Arc::new([mask(&sel.source), mask(&sel.mapped), mask(&sel.expected)]);
    view.masked = Some((view.generation, m.clone()));
    Some(m)
}

/// The line above the panes: the selection, the view's switches and what
/// the marks mean. Returns a selection change (Clear).
fn toolbar(
    ui: &mut egui::Ui,
    selected: Option<&Path>,
    wrap: &mut bool,
    sync: &mut bool,
) -> Option<Option<Path>> {
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        match selected {
            Some(p) => {
                ui.label("Selected:");
                ui.monospace(p.display_canonical());
                ui.label(RichText::new(crate::hl7::names::name_of(p)).weak());
                if ui
                    .small_button("Clear")
                    .on_hover_text("Clear the selection")
                    .clicked()
                {
                    clicked = Some(None);
                }
            }
            None => {
                ui.label(
                    RichText::new(
                        "Click a field in any message or tree, or a row of the Fields tab.",
                    )
                    .weak(),
                );
            }
        }
        ui.separator();
        ui.checkbox(wrap, "Wrap long segments")
            .on_hover_text("Off: one line per segment, with a horizontal scroll bar");
        ui.checkbox(sync, "Scroll together")
            .on_hover_text("Scrolling one message scrolls the others to the same segment");
        ui.separator();
        for (mark, label) in [
            (Mark::Error, "error"),
            (Mark::Warning, "warning"),
            (Mark::Dropped, "dropped"),
            (Mark::Differs, "≠ expected"),
        ] {
            ui.label(RichText::new(label).color(mark.color()))
                .on_hover_text("how the raw text marks a field; hover a field for what was found");
        }
    });
    clicked
}

/// A pane the user scrolled: the other two follow it, segment by segment.
fn follow_scroll(
    view: &mut ViewState,
    offsets: &mut [f32; 3],
    pending: &[Option<f32>; 3],
    segs: &[Option<std::sync::Arc<raw::SegmentIndex>>; 3],
    ctx: &egui::Context,
) {
    if view.settle > 0 {
        view.settle -= 1;
    } else if view.sync
        && let Some(from) = (0..3).find(|&i| {
            (offsets[i] - view.offsets[i]).abs() > 0.5 && pending[i].is_none() && segs[i].is_some()
        })
        && let Some(fs) = segs[from].clone()
    {
        for to in (0..3).filter(|&t| t != from) {
            if let Some(ts) = &segs[to]
                && let Some(y) = follow(&fs, offsets[from], ts)
            {
                view.pending[to] = Some(y);
                offsets[to] = y;
            }
        }
        ctx.request_repaint();
    }
    view.offsets = *offsets;
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    editor::bar(app, ui);
    let Some(sel) = &app.selected else { return };
    // With the mask on, the messages are shown with patient fields masked
    // where they stand (re-read, so clicks and highlights still work).
    let generation = app.messages.generation;
    let masker = app.masker.as_ref().filter(|_| app.mask_screen);
    let masked = masked_messages(&mut app.messages, sel, masker);
    if masked.is_some() {
        ui.label(
            RichText::new(
                "Patient data masked (names, identifiers, addresses, phones; dates to the year).",
            )
            .italics()
            .weak(),
        );
    }
    let msgs: [Option<&Message>; 3] = match masked.as_deref() {
        Some([s, m, e]) => [s.as_ref(), m.as_ref(), e.as_ref()],
        None => [
            sel.source.as_ref(),
            sel.mapped.as_ref(),
            sel.expected.as_ref(),
        ],
    };
    // Shared, not copied: a message may be megabytes.
    let result = app.result_shared(sel.index);
    let replayed = result.is_some();
    let has_expected = result.as_ref().is_some_and(|r| r.expected_text.is_some());
    let source_text: Option<&str> = result.as_deref().map(|r| r.replay.source_text.as_str());
    let selected = app.selected_field.clone();
    // The mapped and expected panes show where the selected value landed.
    let landed = selected.as_ref().map(|p| {
        sel.rows
            .iter()
            .find(|r| r.path.same_field(p))
            .and_then(|r| r.target.clone())
            .unwrap_or_else(|| p.clone())
    });
    let is_masked = masked.is_some();
    let marks = match &app.messages.marks {
        Some((g, m, x)) if *g == generation && *m == is_masked => x.clone(),
        _ => {
            let x = std::sync::Arc::new(marks(app, msgs));
            app.messages.marks = Some((generation, is_masked, x.clone()));
            x
        }
    };
    let mut clicked = toolbar(
        ui,
        selected.as_ref(),
        &mut app.wrap_lines,
        &mut app.messages.sync,
    );
    let mut edit_field = None;
    let mut start_edit = false;
    let wrap = app.wrap_lines;
    let reveal = std::mem::take(&mut app.messages.reveal);
    if reveal {
        app.messages.settle = 3;
    }
    let height = (ui.available_height() - 40.0).max(200.0);
    let raw_h = (app.messages.text_height + 12.0).clamp(120.0, (height * 0.6).max(120.0));
    let tree_h = (height - raw_h - 36.0).max(80.0);
    let editing = app.editor.is_some();
    let source_unreadable = msgs[SOURCE].is_none() && replayed;
    let mut offsets = [0.0f32; 3];
    let mut text_height = 0.0f32;
    let mut segs: [Option<std::sync::Arc<raw::SegmentIndex>>; 3] = Default::default();
    let pending = std::mem::take(&mut app.messages.pending);
    let titles = [
        "Source (as the sender sends it)",
        "Mapped (as the receiver gets it)",
        "Expected (the scenario's)",
    ];
    if source_unreadable {
        unreadable_note(app, ui);
    }
    // Each tree shows its side's profile where it lists a field: the
    // sender's for the source, the receiver's for mapped and expected.
    let ws = app.workspace.clone();
    let handoff_id = app.handoff_of(sel.index);
    let handoff = ws
        .as_deref()
        .zip(handoff_id.as_deref())
        .and_then(|(w, id)| w.handoff(id));
    let profiles: [Option<&crate::profile::Profile>; 3] = match handoff {
        Some(h) => [Some(&h.sender), Some(&h.receiver), Some(&h.receiver)],
        None => [None; 3],
    };
    let view = &mut app.messages;
    let mut editor_text = app
        .editor
        .as_mut()
        .map(|e| (&mut e.text, &mut e.changed_at));
    // Without an expected message, its pane gives its width to the other two.
    let panes = if has_expected { 3 } else { 2 };
    if !has_expected && replayed {
        ui.label(
            RichText::new("This scenario gives no expected message: source and mapped only.")
                .weak(),
        );
    }
    ui.columns(panes, |cols| {
        for (pane, ui) in cols.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                ui.strong(titles[pane]);
                if pane == SOURCE && !editing {
                    let big = source_text.and_then(|t| editor::too_big(t.len()));
                    if ui
                        .add_enabled(big.is_none(), egui::Button::new("Edit").small())
                        .on_hover_text("Edit the message in place: it is replayed as you type, and can be saved as a scenario")
                        .on_disabled_hover_text(big.unwrap_or_default())
                        .clicked()
                    {
                        start_edit = true;
                    }
                }
                if pane == SOURCE {
                    ui.checkbox(&mut view.hex, "Hex")
                        .on_hover_text("The source's bytes in hex, for binary or mis-encoded input");
                }
            });
            let m = msgs[pane];
            let mut area = egui::ScrollArea::both()
                .id_salt(("raw", pane))
                .max_height(raw_h)
                .auto_shrink([false, false])
                .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysVisible);
            if let Some(y) = pending[pane] {
                area = area.vertical_scroll_offset(y);
            }
            if pane == SOURCE && (view.hex || (source_unreadable && !editing)) {
                let text = source_text.or(m.map(|m| m.text.as_str())).unwrap_or("");
                raw::hex_view(ui, text.as_bytes(), "hex_source", raw_h);
                pane_tree(ui, pane, m, view, &selected, reveal, &marks, tree_h, profiles[pane], &mut clicked, &mut edit_field);
                continue;
            }
            let out = area.show(ui, |ui| {
                if pane == SOURCE && let Some((text, changed)) = editor_text.as_mut() {
                    let label = ui.label(RichText::new("Message text").weak())
                        .on_hover_text("One segment per line: replayed as you type");
                    let resp = ui.add(
                        egui::TextEdit::multiline(*text)
                            .code_editor()
                            .desired_width(f32::INFINITY)
                            .desired_rows(12)
                            .id_salt("source_editor"),
                    ).labelled_by(label.id);
                    if resp.changed() {
                        **changed = Some(std::time::Instant::now());
                    }
                    return None;
                }
                match m {
                    Some(m) => {
                        let out = raw::show(ui, m, if pane == SOURCE { selected.as_ref() } else { landed.as_ref() }, &marks[pane], wrap, reveal, &mut view.raw[pane], generation * 2 + u64::from(is_masked));
                        Some(out)
                    }
                    None => {
                        ui.label(RichText::new(match pane {
                            MAPPED if replayed => "(no mapped message)",
                            MAPPED => "Replay the scenario to see the mapped message.",
                            EXPECTED if replayed && !has_expected => "This scenario gives no expected message.",
                            EXPECTED => "Replay the scenario to compare with its expected message.",
                            _ => "No source message.",
                        }).italics());
                        None
                    }
                }
            });
            offsets[pane] = out.state.clamped_offset().y;
            text_height = text_height.max(out.content_size.y);
            if let Some(o) = out.inner {
                segs[pane] = o.segments;
                if let Some(p) = o.clicked {
                    clicked = Some(Some(p));
                }
            }
            pane_tree(ui, pane, m, view, if pane == SOURCE { &selected } else { &landed }, reveal, &marks, tree_h, profiles[pane], &mut clicked, &mut edit_field);
        }
    });
    let view = &mut app.messages;
    follow_scroll(view, &mut offsets, &pending, &segs, ui.ctx());
    if (text_height - view.text_height).abs() > 1.0 {
        view.text_height = text_height;
        ui.ctx().request_repaint();
    }
    if let Some(p) = edit_field {
        app.command(Command::EditField(p));
    } else if start_edit {
        app.command(Command::EditMessage);
    }
    if let Some(p) = clicked {
        app.command(Command::SelectField(p));
    }
}

/// The tree under a pane's text.
#[allow(clippy::too_many_arguments)]
fn pane_tree(
    ui: &mut egui::Ui,
    pane: usize,
    m: Option<&Message>,
    view: &mut ViewState,
    selected: &Option<Path>,
    reveal: bool,
    marks: &[Marks; 3],
    height: f32,
    profile: Option<&crate::profile::Profile>,
    clicked: &mut Option<Option<Path>>,
    edit: &mut Option<Path>,
) {
    ui.separator();
    let Some(m) = m else { return };
    let out = tree::show(
        ui,
        &format!("tree{pane}"),
        m,
        &mut view.trees[pane],
        selected.as_ref(),
        reveal,
        &marks[pane],
        pane == SOURCE,
        height,
        profile,
    );
    if let Some(p) = out.clicked {
        *clicked = Some(Some(p));
    }
    if pane == SOURCE
        && let Some(p) = out.edit
    {
        *edit = Some(p);
    }
}

/// The unreadable source: its problems (the hex view shows its bytes).
pub fn unreadable_note(app: &App, ui: &mut egui::Ui) {
    let Some(sel) = &app.selected else { return };
    if sel.source.is_some() {
        return;
    }
    if let Some(r) = app.result(sel.index) {
        ui.label(RichText::new("The source could not be read as a message:").strong());
        for p in &r.replay.parse_problems {
            ui.colored_label(
                style::severity_color(p.severity),
                format!("line {}, column {}: {}", p.line, p.column, p.message),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_follows_by_segment_and_skips_what_the_other_lacks() {
        let src = crate::hl7::parse_one("MSH|^~\\&|A\rPID|1\rZPI|x\rOBX|1\rOBX|2\r").unwrap();
        let map = crate::hl7::parse_one("MSH|^~\\&|A\rPID|1\rOBX|1\rOBX|2\r").unwrap();
        // Source rows are 20 px; mapped rows 30 px (wrapped differently).
        let stops = [0.0, 20.0, 40.0, 60.0, 80.0];
        let mtops = [0.0, 30.0, 60.0, 90.0];
        // OBX[2] at the top of the source, 5 px into it: OBX[2] in the mapped, 5 px in.
        let (s, m) = (
            raw::SegmentIndex::new(&src, stops.to_vec()),
            raw::SegmentIndex::new(&map, mtops.to_vec()),
        );
        assert_eq!(follow(&s, 85.0, &m), Some(95.0));
        // The Z-segment the mapped message lacks: the segment before it (PID).
        assert_eq!(follow(&s, 45.0, &m), Some(30.0));
        assert_eq!(follow(&s, 0.0, &m), Some(0.0));
    }
}
