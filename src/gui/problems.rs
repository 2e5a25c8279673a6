//! The problems panel: load errors and parse problems, each with its place.

use super::App;

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    if app.problems.is_empty() {
        return;
    }
    egui::Panel::bottom("problems")
        .resizable(true)
        .default_size(140.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(format!("Problems ({})", app.problems.len()));
                if ui.small_button("Clear").clicked() {
                    app.problems.clear();
                }
            });
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for p in &app.problems {
                        ui.horizontal_wrapped(|ui| {
                            ui.colored_label(super::style::RED, "•");
                            ui.monospace(&p.place);
                            ui.label(&p.message);
                        });
                    }
                });
        });
}
