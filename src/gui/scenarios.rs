//! The scenario list: kind, verdict and counts, with filters. Virtualised,
//! so ten thousand scenarios scroll as fast as ten.

use egui::RichText;

use super::{App, Command, VerdictFilter, style};

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    egui::Panel::left("scenarios")
        .resizable(true)
        .default_size(360.0)
        .min_size(260.0)
        // Its width is the user's: long names and count lines do not widen it.
        .max_size(520.0)
        .show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                ui.strong("Scenarios");
                if let Some(ws) = &app.workspace {
                    ui.label(RichText::new(format!("{}", ws.scenarios.len())).weak());
                }
            });
            ui.horizontal(|ui| {
                for (i, name) in ["happy", "edge", "error"].iter().enumerate() {
                    ui.toggle_value(&mut app.kind_filter[i], *name);
                }
                ui.separator();
                egui::ComboBox::from_label("verdict")
                    .selected_text(match app.verdict_filter {
                        VerdictFilter::All => "all verdicts",
                        VerdictFilter::Met => "met",
                        VerdictFilter::Unmet => "unmet",
                        VerdictFilter::NotRun => "not run",
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(
                            &mut app.verdict_filter,
                            VerdictFilter::All,
                            "all verdicts",
                        );
                        ui.selectable_value(&mut app.verdict_filter, VerdictFilter::Met, "met");
                        ui.selectable_value(&mut app.verdict_filter, VerdictFilter::Unmet, "unmet");
                        ui.selectable_value(
                            &mut app.verdict_filter,
                            VerdictFilter::NotRun,
                            "not run",
                        );
                    });
            });
            ui.separator();
            let visible = app.visible_scenarios();
            let Some(ws) = app.workspace.clone() else {
                return;
            };
            let selected = app.selected.as_ref().map(|s| s.index);
            let row_height = 44.0;
            let mut area = egui::ScrollArea::vertical().auto_shrink([false, false]);
            // `--select` (and any selection made elsewhere) brings its row into view.
            if let Some(i) = app.scroll_list_to.take()
                && let Some(pos) = visible.iter().position(|&v| v == i)
            {
                area = area.vertical_scroll_offset((pos as f32 - 3.0).max(0.0) * row_height);
            }
            area.show_rows(ui, row_height, visible.len(), |ui, range| {
                    for &i in &visible[range] {
                        let s = &ws.scenarios[i];
                        let result = app
                            .result(i)
                            .map(|r| (r.verdict, r.replay.ack_code.clone(), r.replay.counts));
                        let is_selected = selected == Some(i);
                        ui.horizontal(|ui| {
                            style::verdict_badge(ui, result.as_ref().map(|r| r.0));
                            style::kind_badge(ui, s.kind);
                            if ui
                                .selectable_label(is_selected, RichText::new(&s.name).strong())
                                .clicked()
                            {
                                app.command(Command::SelectScenario(i));
                            }
                        });
                        ui.horizontal(|ui| {
                            ui.add_space(4.0);
                            ui.label(RichText::new(&s.id).size(12.5).weak());
                            if let Some((_, ack, c)) = &result {
                                ui.label(
                                    RichText::new(format!(
                                        "{ack} · A {} · T {} · R {} · D {} · W {}",
                                        c.accepted,
                                        c.transformed,
                                        c.rejected,
                                        c.dropped,
                                        c.warnings
                                    ))
                                    .size(12.5),
                                )
                                .on_hover_text(format!(
                                    "receipt {ack}; fields: {} accepted, {} transformed, {} rejected, {} dropped; {} carry warnings",
                                    c.accepted, c.transformed, c.rejected, c.dropped, c.warnings
                                ));
                            }
                        });
                        ui.add_space(2.0);
                    }
                });
        });
}
