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

fn badge(ui: &mut egui::Ui, text: &str, color: Color32) -> egui::Response {
    let rich = RichText::new(text).color(Color32::WHITE).strong().small();
    egui::Frame::new()
        .fill(color)
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

pub fn ack_badge(ui: &mut egui::Ui, code: &str) {
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
