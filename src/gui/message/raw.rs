//! A message's raw text: the selected field highlighted, findings marked
//! where they stand (as 7Edit and HL7 Soup do), a hover says what they are,
//! a click selects the field, and a right-click copies.

use std::ops::Range;

use egui::text::{CCursor, LayoutJob};
use egui::{Color32, Stroke, TextFormat};
use rustc_hash::FxHashMap;

use crate::gui::style;
use crate::hl7::{Message, Path, names};

/// A field of a message: (segment index, field number); field 0 is the segment itself.
pub type Key = (usize, usize);

/// What a mark says, least to most serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// Differs from the other message (mapped ↔ expected).
    Differs,
    /// The value does not reach the receiver.
    Dropped,
    Warning,
    Error,
}

impl Mark {
    pub fn color(self) -> Color32 {
        match self {
            Mark::Differs | Mark::Warning => style::AMBER,
            Mark::Dropped => style::GREY,
            Mark::Error => style::RED,
        }
    }
}

/// Marks on one message's fields, each with what it says.
#[derive(Default)]
pub struct Marks {
    pub at: FxHashMap<Key, (Mark, Vec<String>)>,
    /// The worst mark in each segment, by segment index.
    segments: FxHashMap<usize, Mark>,
}

/// At most this many notes per field (the rest are counted).
const MAX_NOTES: usize = 8;

impl Marks {
    /// Marks the field at `p` (its segment when the field is absent).
    pub fn add(&mut self, m: &Message, p: &Path, mark: Mark, note: String) {
        let number = p.segment_number.unwrap_or(1) as usize;
        let Some(si) = m.segment_index_of(p.segment, number) else {
            return;
        };
        let present = p.field_number > 0
            && m.segments[si]
                .fields
                .get(p.field_number - 1)
                .is_some_and(|f| f.range.is_some());
        let key = (si, if present { p.field_number } else { 0 });
        let w = self.segments.entry(si).or_insert(mark);
        *w = (*w).max(mark);
        let e = self.at.entry(key).or_insert((mark, Vec::new()));
        e.0 = e.0.max(mark);
        if e.1.len() < MAX_NOTES {
            e.1.push(note);
        }
    }

    pub fn get(&self, key: Key) -> Option<&(Mark, Vec<String>)> {
        self.at.get(&key)
    }

    /// The worst mark on a segment or any of its fields.
    pub fn worst_in_segment(&self, si: usize) -> Option<Mark> {
        self.segments.get(&si).copied()
    }
}

/// The message text for display: `\r` shown as a line break, with every
/// byte offset kept (a `\r` before `\n` becomes a space).
pub fn display_text(text: &str) -> String {
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

/// Byte range of a field (or, for field 0, the segment's name) in the message text.
pub fn key_range(m: &Message, (si, fi): Key) -> Option<Range<usize>> {
    let s = m.segments.get(si)?;
    if fi == 0 {
        let r = s.range.clone()?;
        return Some(r.start..(r.start + s.name.as_str().len()).min(r.end));
    }
    s.fields.get(fi - 1)?.range.clone()
}

/// The field (or segment name) at a byte offset of the message text, with its path.
pub fn field_at(m: &Message, offset: usize) -> Option<(Key, Option<Path>)> {
    for (si, s, n) in m.segments_with_occurrence() {
        let Some(r) = &s.range else { continue };
        if offset < r.start || offset > r.end {
            continue;
        }
        for (i, f) in s.fields.iter().enumerate() {
            if let Some(fr) = &f.range
                && fr.start <= offset
                && offset <= fr.end
            {
                return Some(((si, i + 1), Some(Path::field_of(s.name, n, i + 1))));
            }
        }
        return Some(((si, 0), None));
    }
    None
}

/// A message's segments as (name, occurrence), by segment index, and the
/// other way round: what scrolling together lines up.
pub struct SegmentIndex {
    pub keys: Vec<(crate::hl7::SegName, usize)>,
    pub at: FxHashMap<(crate::hl7::SegName, usize), usize>,
    /// The top of each segment in the pane's content, by segment index.
    pub tops: Vec<f32>,
}

impl SegmentIndex {
    pub fn new(m: &Message, tops: Vec<f32>) -> SegmentIndex {
        let keys: Vec<_> = m
            .segments_with_occurrence()
            .map(|(_, s, n)| (s.name, n))
            .collect();
        let at = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        SegmentIndex { keys, at, tops }
    }
}

/// What the raw view reports.
pub struct RawOut {
    /// A field clicked (left or right).
    pub clicked: Option<Path>,
    /// Where the pane's segments stand.
    pub segments: Option<std::sync::Arc<SegmentIndex>>,
}

fn format(font: &egui::FontId, color: Color32) -> TextFormat {
    TextFormat {
        font_id: font.clone(),
        color,
        ..Default::default()
    }
}

/// The text as a layout job: marks and the selection as sections.
fn job(ui: &egui::Ui, m: &Message, text: &str, selected: Option<Key>, marks: &Marks) -> LayoutJob {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let normal = format(&font, ui.visuals().text_color());
    let mut spans: Vec<(Range<usize>, TextFormat)> = Vec::new();
    let ok = |r: &Range<usize>| {
        r.start <= r.end
            && r.end <= text.len()
            && text.is_char_boundary(r.start)
            && text.is_char_boundary(r.end)
    };
    for (&key, (mark, _)) in &marks.at {
        if Some(key) == selected {
            continue;
        }
        let Some(r) = key_range(m, key).filter(ok) else {
            continue;
        };
        let c = mark.color();
        let mut f = format(&font, ui.visuals().text_color());
        match mark {
            Mark::Dropped => {
                f.strikethrough = Stroke::new(1.0, c);
                f.color = c;
            }
            Mark::Differs => f.underline = Stroke::new(2.0, c),
            Mark::Warning | Mark::Error => {
                f.background = c.gamma_multiply(0.30);
                f.underline = Stroke::new(2.0, c);
            }
        }
        spans.push((r, f));
    }
    if let Some(r) = selected.and_then(|k| key_range(m, k)).filter(ok) {
        let mut f = format(&font, Color32::WHITE);
        f.background = style::BLUE;
        spans.push((r, f));
    }
    spans.sort_by_key(|(r, _)| r.start);
    let mut job = LayoutJob::default();
    let mut at = 0;
    for (r, f) in spans {
        if r.start < at {
            continue; // overlapping (cannot happen for field ranges): keep the first
        }
        job.append(&text[at..r.start], 0.0, normal.clone());
        job.append(&text[r.start..r.end], 0.0, f);
        at = r.end;
    }
    job.append(&text[at..], 0.0, normal);
    job
}

/// Each segment's top in the galley, by segment index: one walk over the rows.
fn segment_tops(m: &Message, text: &str, galley: &egui::Galley) -> Vec<f32> {
    // Character index of each segment start (byte index when the text is ASCII).
    let ascii = text.is_ascii();
    let mut starts = Vec::with_capacity(m.segments.len());
    let mut chars = text.char_indices().enumerate();
    for s in &m.segments {
        let b = s.range.as_ref().map_or(0, |r| r.start);
        if ascii {
            starts.push(b);
            continue;
        }
        let mut ci = starts.last().copied().unwrap_or(0);
        for (c, (bi, _)) in chars.by_ref() {
            ci = c;
            if bi >= b {
                break;
            }
        }
        starts.push(ci);
    }
    let mut tops = Vec::with_capacity(starts.len());
    let mut rows = galley.rows.iter().peekable();
    let mut row_start = 0usize;
    let mut last_top = 0.0;
    for ci in starts {
        while let Some(row) = rows.peek() {
            let end = row_start + row.char_count_including_newline().0;
            if ci < end {
                break;
            }
            row_start = end;
            rows.next();
        }
        if let Some(row) = rows.peek() {
            last_top = row.min_y();
        }
        tops.push(last_top);
    }
    tops
}

/// A pane's laid-out text, kept while nothing it depends on changes: a
/// big message is laid out once, not every frame.
pub struct RawCache {
    key: (u64, Option<Key>, u32, bool),
    text: String,
    galley: std::sync::Arc<egui::Galley>,
    segments: std::sync::Arc<SegmentIndex>,
}

/// Draws a message's text. `generation` changes whenever the messages do.
#[allow(clippy::too_many_arguments)]
pub fn show(
    ui: &mut egui::Ui,
    m: &Message,
    selected: Option<&Path>,
    marks: &Marks,
    wrap: bool,
    reveal: bool,
    cache: &mut Option<RawCache>,
    generation: u64,
) -> RawOut {
    let sel_key = selected.and_then(|p| {
        let si = m.segment_index_of(p.segment, p.segment_number.unwrap_or(1) as usize)?;
        Some((si, p.field_number))
    });
    // Wrapped to the pane, or one line per segment with a scroll bar.
    let width = if wrap {
        ui.available_width().max(80.0)
    } else {
        f32::INFINITY
    };
    let key = (generation, sel_key, width.to_bits(), ui.visuals().dark_mode);
    if cache.as_ref().is_none_or(|c| c.key != key) {
        let text = display_text(&m.text);
        let mut job = job(ui, m, &text, sel_key, marks);
        job.wrap.max_width = width;
        let galley = ui.painter().layout_job(job);
        let segments = std::sync::Arc::new(SegmentIndex::new(m, segment_tops(m, &text, &galley)));
        *cache = Some(RawCache {
            key,
            text,
            galley,
            segments,
        });
    }
    let Some(c) = cache.as_ref() else {
        return RawOut {
            clicked: None,
            segments: None,
        };
    };
    let (text, galley) = (&c.text, c.galley.clone());
    // Click selects a field; drag selects text to copy (Ctrl+C), as in a label.
    let (rect, resp) = ui.allocate_exact_size(galley.size(), egui::Sense::click_and_drag());
    egui::text_selection::LabelSelectionState::label_text_selection(
        ui,
        &resp,
        rect.min,
        galley.clone(),
        ui.visuals().text_color(),
        egui::Stroke::NONE,
    );
    // The text is painted; say what it is for screen readers (and tests):
    // its start, not half a megabyte every frame.
    let enabled = ui.is_enabled();
    resp.widget_info(|| {
        let mut end = text.len().min(MAX_SPOKEN);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        egui::WidgetInfo::labeled(egui::Role::Label, enabled, &text[..end])
    });
    let segments = c.segments.clone();
    let byte_at = |pos: egui::Pos2| {
        let cursor: CCursor = galley.cursor_from_pos(pos - rect.min);
        if text.is_ascii() {
            cursor.index.0.min(text.len())
        } else {
            text.char_indices()
                .nth(cursor.index.0)
                .map_or(text.len(), |(b, _)| b)
        }
    };
    if reveal
        && let Some(r) = sel_key.and_then(|k| key_range(m, k))
        && text.is_char_boundary(r.start)
    {
        let ci = text[..r.start].chars().count();
        let at = galley
            .pos_from_cursor(CCursor::new(ci))
            .translate(rect.min.to_vec2());
        ui.scroll_to_rect(at.expand2(egui::vec2(0.0, 24.0)), None);
    }
    let resp = resp.on_hover_cursor(egui::CursorIcon::Text);
    let mut clicked = None;
    if (resp.clicked() || resp.secondary_clicked())
        && let Some(pos) = resp.interact_pointer_pos()
    {
        clicked = field_at(m, byte_at(pos)).and_then(|(_, p)| p);
    }
    if let Some(pos) = resp.hover_pos()
        && let Some((key, path)) = field_at(m, byte_at(pos))
    {
        let notes: Vec<&String> = [key, (key.0, 0)]
            .iter()
            .filter_map(|k| marks.get(*k))
            .flat_map(|(_, n)| n)
            .collect();
        if let Some(p) = path {
            resp.clone().on_hover_ui_at_pointer(|ui| {
                ui.strong(format!("{} {}", p.display_canonical(), names::name_of(&p)));
                let raw = key_range(m, key).and_then(|r| m.text.get(r)).unwrap_or("");
                let value = crate::hl7::unescape(raw, &m.delimiters);
                ui.monospace(value.as_ref());
                for n in notes {
                    ui.label(n);
                }
            });
        } else if !notes.is_empty() {
            resp.clone().on_hover_ui_at_pointer(|ui| {
                for n in notes {
                    ui.label(n);
                }
            });
        }
    }
    let sel_range = sel_key.and_then(|k| key_range(m, k));
    resp.context_menu(|ui| {
        let segment = sel_key
            .and_then(|(si, _)| m.segments.get(si))
            .and_then(|s| s.range.clone())
            .and_then(|r| m.text.get(r));
        let value = sel_range.clone().and_then(|r| m.text.get(r));
        let items = [
            (
                "Copy value",
                value.map(|v| crate::hl7::unescape(v, &m.delimiters).into_owned()),
            ),
            ("Copy path", selected.map(|p| p.display_canonical())),
            ("Copy segment", segment.map(str::to_string)),
            (
                "Copy message",
                Some(m.text.replace("\r\n", "\r").replace('\r', "\n")),
            ),
        ];
        for (label, text) in items {
            if ui
                .add_enabled(text.is_some(), egui::Button::new(label))
                .clicked()
            {
                if let Some(t) = text {
                    ui.ctx().copy_text(t);
                }
                ui.close();
            }
        }
    });
    RawOut {
        clicked,
        segments: Some(segments),
    }
}

/// How much of a message's text its accessible label carries.
const MAX_SPOKEN: usize = 4096;

/// A hex dump line: offset, 16 bytes in hex, and the printable ones.
pub fn hex_line(bytes: &[u8], offset: usize) -> String {
    let chunk = &bytes[offset..(offset + 16).min(bytes.len())];
    let mut out = format!("{offset:08x}  ");
    for i in 0..16 {
        match chunk.get(i) {
            Some(b) => out.push_str(&format!("{b:02x} ")),
            None => out.push_str("   "),
        }
        if i == 7 {
            out.push(' ');
        }
    }
    out.push(' ');
    out.extend(chunk.iter().map(|&b| {
        if b.is_ascii_graphic() || b == b' ' {
            b as char
        } else {
            '.'
        }
    }));
    out
}

/// At most this many bytes are shown in hex (the rest are counted).
pub const MAX_HEX_BYTES: usize = 1024 * 1024;

/// A hex view of any bytes, drawn row by row (only the rows in view).
pub fn hex_view(ui: &mut egui::Ui, bytes: &[u8], id: &str, height: f32) {
    let shown = bytes.len().min(MAX_HEX_BYTES);
    if shown < bytes.len() {
        ui.label(format!(
            "The first {} of {} bytes:",
            crate::traffic::learn::thousands(shown),
            crate::traffic::learn::thousands(bytes.len())
        ));
    }
    let bytes = &bytes[..shown];
    let row_h = egui::TextStyle::Monospace.resolve(ui.style()).size + 4.0;
    egui::ScrollArea::both()
        .id_salt(id)
        .max_height(height)
        .auto_shrink([false, false])
        .show_rows(ui, row_h, bytes.len().div_ceil(16), |ui, rows| {
            for r in rows {
                ui.add(
                    egui::Label::new(egui::RichText::new(hex_line(bytes, r * 16)).monospace())
                        .extend(),
                );
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte range of the field a path names.
    fn field_range(m: &Message, p: &Path) -> Option<Range<usize>> {
        let si = m.segment_index_of(p.segment, p.segment_number.unwrap_or(1) as usize)?;
        key_range(m, (si, p.field_number))
    }

    #[test]
    fn click_offsets_map_to_fields() {
        let m =
            crate::hl7::parse_one("MSH|^~\\&|A\r\nPID|1||123||Doe^John\r\nOBX|1\r\nOBX|2|NM\r\n")
                .unwrap();
        let text = display_text(&m.text);
        assert_eq!(text.len(), m.text.len());
        let at = text.find("Doe").unwrap() + 1;
        assert_eq!(field_at(&m, at).unwrap().1.unwrap().to_string(), "PID-5");
        let at = text.rfind("NM").unwrap();
        assert_eq!(field_at(&m, at).unwrap().1.unwrap().to_string(), "OBX[2]-2");
        let r = field_range(&m, &"PID-5".parse().unwrap()).unwrap();
        assert_eq!(&m.text[r], "Doe^John");
        // The segment name is its own key, with no field path.
        let at = text.find("PID").unwrap();
        assert_eq!(field_at(&m, at).unwrap(), ((1, 0), None));
    }

    #[test]
    fn a_missing_field_marks_its_segment() {
        let m = crate::hl7::parse_one("MSH|^~\\&|A\rPID|1\r").unwrap();
        let mut marks = Marks::default();
        marks.add(&m, &"PID-3".parse().unwrap(), Mark::Error, "101".into());
        marks.add(&m, &"PID-1".parse().unwrap(), Mark::Warning, "w".into());
        marks.add(&m, &"PID-1".parse().unwrap(), Mark::Error, "e".into());
        assert_eq!(marks.get((1, 0)).map(|x| x.0), Some(Mark::Error));
        assert_eq!(
            marks.get((1, 1)).map(|x| (x.0, x.1.len())),
            Some((Mark::Error, 2))
        );
        assert_eq!(key_range(&m, (1, 0)).map(|r| &m.text[r]), Some("PID"));
        assert_eq!(marks.worst_in_segment(1), Some(Mark::Error));
    }

    #[test]
    fn hex_lines_show_offsets_bytes_and_text() {
        let b = b"MSH|\x0b\x00abc";
        assert_eq!(
            hex_line(b, 0),
            "00000000  4d 53 48 7c 0b 00 61 62  63                       MSH|..abc"
        );
    }
}
