//! The granular receipt: the ACK the receiver would send, and its ERR
//! segments decoded.

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::{App, style};
use crate::finding::{Side, code_text};
use crate::replay::ScenarioResult;

pub fn ui(app: &mut App, ui: &mut egui::Ui, result: Option<&ScenarioResult>) {
    let Some(r) = result else {
        ui.label(RichText::new("Replay this scenario to see the receipt.").italics());
        return;
    };
    ui.horizontal(|ui| {
        ui.strong("Receipt");
        style::ack_badge(ui, &r.replay.ack_code);
        ui.label(match r.replay.ack_code.as_str() {
            "AA" => "Application Accept: the receiver takes the message",
            "AE" => "Application Error: the receiver reports errors",
            _ => "Application Reject: the receiver cannot process the message",
        });
        if ui
            .small_button("Copy ACK")
            .on_hover_text("The whole receipt, one segment per line (masked when the mask is on)")
            .clicked()
        {
            let text: Vec<String> = r
                .replay
                .ack
                .split('\r')
                .filter(|l| !l.is_empty())
                .map(|l| app.shown(l))
                .collect();
            ui.ctx().copy_text(text.join("\n"));
        }
    });
    ui.add_space(4.0);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        for line in r.replay.ack.split('\r').filter(|l| !l.is_empty()) {
            ui.add(egui::Label::new(RichText::new(app.shown(line)).monospace()).wrap());
        }
    });
    ui.add_space(8.0);
    // In the receipt's own order: ERR segment n is row n.
    let findings =
        crate::ack::receipt_order(r.replay.findings.iter().filter(|f| f.side != Side::Sender));
    let sender: Vec<_> = r
        .replay
        .findings
        .iter()
        .filter(|f| f.side == Side::Sender)
        .collect();
    ui.strong(format!("ERR segments ({})", findings.len()));
    if findings.is_empty() {
        ui.label("None: nothing was rejected.");
    } else {
        TableBuilder::new(ui)
            .id_salt("err_table")
            .striped(true)
            .column(Column::initial(110.0))
            .column(Column::initial(200.0))
            .column(Column::initial(80.0))
            .column(Column::initial(80.0))
            .column(Column::remainder().clip(true))
            .header(20.0, |mut h| {
                for t in [
                    "ERR-2 location",
                    "ERR-3 code (0357)",
                    "ERR-4",
                    "side",
                    "reason",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, findings.len(), |mut row| {
                    let f = findings[row.index()];
                    row.col(|ui| {
                        ui.monospace(f.location_text());
                    });
                    row.col(|ui| {
                        ui.label(format!("{} {}", f.code, code_text(f.code)));
                    });
                    row.col(|ui| {
                        ui.colored_label(style::severity_color(f.severity), f.severity.as_str());
                    });
                    row.col(|ui| {
                        ui.label(f.side.as_str());
                    });
                    row.col(|ui| {
                        // Plain text: values in quotes, not markdown backticks.
                        let reason = app.shown(&f.reason).replace('`', "\"");
                        ui.add(egui::Label::new(&reason).truncate())
                            .on_hover_text(&reason);
                    });
                });
            });
    }
    if !sender.is_empty() {
        ui.add_space(8.0);
        ui.strong(format!(
            "Sender conformance findings, not in the receipt ({})",
            sender.len()
        ));
        for f in sender {
            ui.label(format!(
                "{} · {} {} · {}",
                f.location_text(),
                f.code,
                code_text(f.code),
                app.shown(&f.reason)
            ));
        }
    }
}
