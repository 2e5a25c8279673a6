//! The handoff map: systems, formats, owners, profiles, mapping rules and
//! code tables of the open workspace.

use egui::RichText;

use crate::workspace::Workspace;

pub fn ui(ui: &mut egui::Ui, ws: &Workspace) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.heading(&ws.name);
            if !ws.description.is_empty() {
                ui.label(&ws.description);
            }
            ui.label(
                RichText::new(ws.root.display().to_string())
                    .weak()
                    .monospace(),
            );
            for h in &ws.handoffs {
                ui.add_space(8.0);
                egui::CollapsingHeader::new(
                    RichText::new(format!("{}  {} → {}", h.name, h.source, h.target)).strong(),
                )
                .id_salt(("handoff", &h.id))
                .default_open(true)
                .show(ui, |ui| {
                    egui::Grid::new(("handoff_grid", &h.id))
                        .num_columns(2)
                        .striped(true)
                        .show(ui, |ui| {
                            for (k, v) in [
                                ("Handoff id", h.id.as_str()),
                                ("Sending system", h.source.as_str()),
                                ("Receiving system", h.target.as_str()),
                                ("Direction", h.direction.as_str()),
                                ("Format", h.format.as_str()),
                                ("Transport", h.transport.as_str()),
                                ("Frequency", h.frequency.as_str()),
                                ("Error handling", h.error_handling.as_str()),
                                ("Owner", h.owner.as_str()),
                            ] {
                                ui.label(RichText::new(k).weak());
                                ui.label(v);
                                ui.end_row();
                            }
                            ui.label(RichText::new("Message types").weak());
                            ui.label(h.message_types.join(", "));
                            ui.end_row();
                            ui.label(RichText::new("Sender profile").weak());
                            ui.label(format!("{} ({})", h.sender.name, h.sender_profile_file));
                            ui.end_row();
                            ui.label(RichText::new("Receiver profile").weak());
                            ui.label(format!("{} ({})", h.receiver.name, h.receiver_profile_file));
                            ui.end_row();
                            for (side, p) in [("Sender", &h.sender), ("Receiver", &h.receiver)] {
                                if !p.inline_tables.tables.is_empty() {
                                    ui.label(RichText::new(format!("{side} value sets")).weak());
                                    ui.label(format!(
                                        "{} in the profile itself",
                                        p.inline_tables.tables.len()
                                    ));
                                    ui.end_row();
                                }
                                if let Some(c) = &p.conformance {
                                    let (statements, predicates, bindings) = c.counts();
                                    ui.label(RichText::new(format!("{side} conformance")).weak());
                                    ui.label(format!(
                                        "{statements} conformance statements, {predicates} predicates, {bindings} datatype value-set bindings, checked on every replay"
                                    ));
                                    ui.end_row();
                                }
                            }
                        });
                    if !h.context.is_empty() {
                        ui.add_space(4.0);
                        ui.strong("Context requirements");
                        for c in &h.context {
                            ui.label(format!("• {c}"));
                        }
                    }
                    ui.add_space(4.0);
                    ui.strong(format!(
                        "Mapping rules ({}, {:?} mode) — {}",
                        h.rules.rules.len(),
                        h.rules.mode,
                        h.rules_file
                    ));
                    egui::Grid::new(("rules_grid", &h.id))
                        .num_columns(3)
                        .striped(true)
                        .show(ui, |ui| {
                            for r in &h.rules.rules {
                                ui.monospace(&*r.id);
                                ui.label(r.summary());
                                ui.label(
                                    RichText::new(format!(
                                        "line {}{}",
                                        r.line,
                                        if r.note.is_empty() {
                                            String::new()
                                        } else {
                                            format!(" · {}", r.note)
                                        }
                                    ))
                                    .weak(),
                                );
                                ui.end_row();
                            }
                        });
                });
            }
            ui.add_space(8.0);
            egui::CollapsingHeader::new(
                RichText::new(format!(
                    "Code tables ({}) and maps ({})",
                    ws.tables.tables.len(),
                    ws.tables.maps.len()
                ))
                .strong(),
            )
            .default_open(false)
            .show(ui, |ui| {
                for t in ws.tables.tables.values() {
                    ui.label(RichText::new(format!("{} {}", t.id, t.name)).strong());
                    ui.label(
                        t.codes
                            .iter()
                            .map(|(k, v)| format!("{k} = {v}"))
                            .collect::<Vec<_>>()
                            .join(" · "),
                    );
                }
                for m in ws.tables.maps.values() {
                    ui.label(RichText::new(format!("map {} {}", m.id, m.name)).strong());
                    ui.label(
                        m.codes
                            .iter()
                            .map(|(k, v)| format!("{k} → {v}"))
                            .collect::<Vec<_>>()
                            .join(" · "),
                    );
                }
            });
        });
}
