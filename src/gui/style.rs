//! Colours, themes and the small badges every panel uses.

use egui::{Color32, RichText};

use crate::replay::Verdict;
use crate::scenario::{Kind, OutcomeKind};

pub const GREEN: Color32 = Color32::from_rgb(46, 160, 67);
pub const RED: Color32 = Color32::from_rgb(218, 54, 51);
pub const BLUE: Color32 = Color32::from_rgb(56, 132, 244);
pub const AMBER: Color32 = Color32::from_rgb(210, 153, 34);
pub const GREY: Color32 = Color32::from_rgb(125, 133, 144);

pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
}

pub fn outcome_color(k: OutcomeKind) -> Color32 {
    match k {
        OutcomeKind::Accepted => GREEN,
        OutcomeKind::Transformed => BLUE,
        OutcomeKind::Rejected => RED,
        OutcomeKind::Dropped => AMBER,
    }
}

/// Relative luminance (WCAG 2) of an sRGB colour.
fn luminance(c: Color32) -> f32 {
    let lin = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
}

/// WCAG contrast ratio between two colours (1 to 21).
pub fn contrast(a: Color32, b: Color32) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

const INK: Color32 = Color32::from_rgb(20, 20, 20);

/// A badge's fill: the colour darkened until white text on it reads at
/// 4.5:1 (WCAG AA for small text), in either theme; amber keeps its colour
/// and takes dark text instead.
fn badge_colors(color: Color32) -> (Color32, Color32) {
    if contrast(INK, color) >= 7.0 {
        return (color, INK);
    }
    let mut fill = color;
    while contrast(Color32::WHITE, fill) < 4.5 {
        fill = Color32::from_rgb(
            (f32::from(fill.r()) * 0.92) as u8,
            (f32::from(fill.g()) * 0.92) as u8,
            (f32::from(fill.b()) * 0.92) as u8,
        );
    }
    (fill, Color32::WHITE)
}

fn badge(ui: &mut egui::Ui, text: &str, color: Color32) -> egui::Response {
    let (fill, ink) = badge_colors(color);
    let rich = RichText::new(text).color(ink).strong().small();
    egui::Frame::new()
        .fill(fill)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(5, 1))
        .show(ui, |ui| ui.label(rich))
        .inner
}

/// Accepted is the quiet default; the other outcomes stand out.
pub fn outcome_badge(ui: &mut egui::Ui, k: OutcomeKind) -> egui::Response {
    if k == OutcomeKind::Accepted {
        return ui.label(RichText::new(k.as_str()).color(GREEN).small());
    }
    badge(ui, k.as_str(), outcome_color(k))
}

pub fn kind_badge(ui: &mut egui::Ui, k: Kind) {
    let color = match k {
        Kind::Happy => GREEN,
        Kind::Edge => AMBER,
        Kind::Error => RED,
    };
    ui.label(RichText::new(k.as_str()).color(color).small().strong());
}

/// The color of a severity: red errors, amber warnings, grey information.
pub fn severity_color(s: crate::Severity) -> Color32 {
    match s {
        crate::Severity::Error => RED,
        crate::Severity::Warning => AMBER,
        crate::Severity::Information => GREY,
    }
}

pub fn verdict_badge(ui: &mut egui::Ui, v: Option<Verdict>) {
    match v {
        Some(Verdict::Met) => {
            badge(ui, "MET", GREEN).on_hover_text("MET: every expectation of the scenario held")
        }
        Some(Verdict::Unmet) => badge(ui, "UNMET", RED)
            .on_hover_text("UNMET: at least one expectation did not hold (see Expectations)"),
        None => badge(ui, "NOT RUN", GREY).on_hover_text("not replayed yet (Ctrl+R replays all)"),
    };
}

/// The receipt's MSA-1 as a badge; "--" in grey when there is none.
pub fn ack_badge(ui: &mut egui::Ui, code: &str) {
    if code.is_empty() {
        badge(ui, "--", GREY).on_hover_text("no receipt");
        return;
    }
    let color = match code {
        "AA" => GREEN,
        "AE" => AMBER,
        _ => RED,
    };
    badge(ui, code, color).on_hover_text("MSA-1 of the receipt the receiver would send");
}

pub fn count(ui: &mut egui::Ui, k: OutcomeKind, n: usize) {
    ui.label(
        RichText::new(format!("{n} {}", k.as_str()))
            .color(outcome_color(k))
            .strong(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_badge_reads_at_4_5_to_1() {
        for c in [GREEN, RED, BLUE, AMBER, GREY] {
            let (fill, ink) = badge_colors(c);
            assert!(contrast(fill, ink) >= 4.5, "{c:?}: {}", contrast(fill, ink));
        }
        assert!((contrast(Color32::WHITE, Color32::BLACK) - 21.0).abs() < 0.01);
    }
}
