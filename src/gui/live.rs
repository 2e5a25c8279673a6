//! The live panel: Baton listening for a sender (or relaying to the
//! receiver) while both teams watch: connection state, counts, error rate,
//! latency percentiles and histogram, every exchange, and the per-field
//! account of the one selected.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::{App, style};
use crate::mllp::{self, Exchange, Live};

pub struct LiveState {
    pub port: String,
    pub relay_to: String,
    pub relay: bool,
    pub running: Option<(Arc<Live>, String)>,
    pub selected: Option<usize>,
    pub error: Option<String>,
    /// Record each exchange in the session named in the Session tab (off
    /// until asked: nothing lands in a session unnoticed).
    pub capture: bool,
    /// The selected exchange's per-field account, replayed once per selection
    /// (of this listener) rather than every frame.
    account: Option<(Arc<Live>, usize, crate::replay::MessageReplay)>,
}

impl Default for LiveState {
    fn default() -> Self {
        LiveState {
            port: "2575".into(),
            relay_to: String::new(),
            relay: false,
            running: None,
            selected: None,
            error: None,
            capture: false,
            account: None,
        }
    }
}

impl LiveState {
    /// Starts listening on 127.0.0.1:port on a background thread.
    pub fn start(
        &mut self,
        app_ws: Option<Arc<crate::Workspace>>,
        session: Option<(std::path::PathBuf, String)>,
    ) {
        let Some(ws) = app_ws else { return };
        let port: u16 = match self.port.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                self.error = Some(format!("`{}` is not a port number", self.port));
                return;
            }
        };
        let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => l,
            Err(e) => {
                self.error = Some(format!("cannot listen on 127.0.0.1:{port}: {e}"));
                return;
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let forward = (self.relay && !self.relay_to.trim().is_empty()).then(|| {
            (
                self.relay_to.trim().to_string(),
                mllp::SendOptions {
                    timeout: std::time::Duration::from_secs(10),
                    retries: 3,
                    backoff: std::time::Duration::from_millis(200),
                    mapped: true,
                },
            )
        });
        let options = mllp::ListenOptions {
            max_connections: mllp::DEFAULT_MAX_CONNECTIONS,
            ack_mode: mllp::AckMode::Original,
            limits: mllp::Limits::default(),
            max_messages: None,
            duration: None,
            forward,
            receiver_only: false,
        };
        let live = Arc::new(Live {
            capture: session,
            ..Default::default()
        });
        let l2 = live.clone();
        std::thread::spawn(move || {
            let _ = mllp::listen(ws, listener, options, l2);
        });
        self.error = None;
        self.running = Some((live, addr));
    }

    pub fn stop(&mut self) {
        if let Some((live, _)) = &self.running {
            live.stop.store(true, Ordering::Relaxed);
        }
        self.running = None;
    }

    pub fn transcript(&self) -> Vec<Exchange> {
        self.running
            .as_ref()
            .and_then(|(l, _)| l.transcript.lock().ok().map(|t| t.clone()))
            .unwrap_or_default()
    }
}

fn histogram(ui: &mut egui::Ui, t: &[Exchange]) {
    let lat: Vec<f64> = t
        .iter()
        .filter(|e| e.error.is_none() && e.latency_us > 0)
        .map(|e| e.latency_us as f64 / 1000.0)
        .collect();
    let (w, h) = (320.0, 60.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(w, h), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_stroke(
        rect,
        2.0,
        egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    let Some(max) = lat
        .iter()
        .cloned()
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    else {
        return;
    };
    let buckets = 16usize;
    let mut counts = vec![0usize; buckets];
    for x in &lat {
        let i = ((x / max.max(1e-9)) * (buckets as f64 - 1.0)).round() as usize;
        counts[i.min(buckets - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f32;
    let bw = w / buckets as f32;
    for (i, c) in counts.iter().enumerate() {
        let bh = (*c as f32 / top) * (h - 4.0);
        let r = egui::Rect::from_min_size(
            egui::pos2(rect.left() + i as f32 * bw + 1.0, rect.bottom() - bh - 2.0),
            egui::vec2(bw - 2.0, bh),
        );
        painter.rect_filled(r, 1.0, style::BLUE);
    }
    ui.label(
        RichText::new(format!("latency 0 – {max:.1} ms"))
            .small()
            .weak(),
    );
}

pub fn ui(app: &mut App, ui: &mut egui::Ui) {
    let ws = app.workspace.clone();
    let name_ok = crate::session::check_name(&app.session.name).is_ok();
    let capture = app
        .workspace
        .as_ref()
        .map(|w| (w.root.clone(), app.session.name.clone()))
        .filter(|_| name_ok && app.live.capture);
    let session_name = app.session.name.clone();
    let s = &mut app.live;
    ui.horizontal(|ui| {
        let l = ui.label("Port");
        ui.add_enabled(
            s.running.is_none(),
            egui::TextEdit::singleline(&mut s.port).desired_width(70.0),
        )
        .labelled_by(l.id);
        ui.checkbox(&mut s.relay, "Relay to");
        let l = ui.label("receiver");
        ui.add_enabled(
            s.running.is_none() && s.relay,
            egui::TextEdit::singleline(&mut s.relay_to)
                .hint_text("host:port")
                .desired_width(160.0),
        )
        .labelled_by(l.id);
        ui.add_enabled(
            s.running.is_none() && name_ok,
            egui::Checkbox::new(
                &mut s.capture,
                format!("Capture into session “{session_name}”"),
            ),
        )
        .on_disabled_hover_text(if name_ok {
            "Stop listening to change this"
        } else {
            "Give the session a name in the Session tab first"
        });
        if s.running.is_none() {
            if ui.button("Start listening").clicked() {
                s.start(ws, capture);
            }
        } else if ui.button("Stop").clicked() {
            s.stop();
        }
    });
    if let Some(e) = &s.error {
        ui.colored_label(style::RED, e);
    }
    // Read in place, under the lock, for this frame: no copy of every exchange.
    let live = s.running.as_ref().map(|(l, _)| l.clone());
    let guard = live.as_ref().and_then(|l| l.transcript.lock().ok());
    let t: &[Exchange] = guard.as_deref().map_or(&[], |v| v.as_slice());
    match &s.running {
        Some((live, addr)) => {
            let n = live.messages.load(Ordering::Relaxed);
            let errors = live.errors.load(Ordering::Relaxed);
            let rate = if n == 0 {
                0.0
            } else {
                100.0 * errors as f64 / n as f64
            };
            ui.horizontal(|ui| {
                ui.colored_label(
                    style::GREEN,
                    RichText::new(format!("Listening on {addr}")).strong(),
                );
                let captured = match &live.capture {
                    Some((_, name)) => format!("captured in session {name}"),
                    None => "not captured in a session".to_string(),
                };
                ui.label(format!(
                    "{} connections · {n} messages · {errors} errors ({rate:.0}%) · {captured}",
                    live.connections.load(Ordering::Relaxed),
                ));
            });
        }
        None => {
            ui.label(RichText::new("Not listening. Point the sending system at this port; Baton answers with the granular receipt, or relays to the receiver and passes its ACK back.").weak());
        }
    }
    if let Some((p50, p95, max)) = mllp::latency_summary(t) {
        ui.label(format!(
            "latency p50 {:.1} ms · p95 {:.1} ms · max {:.1} ms",
            p50 as f64 / 1e3,
            p95 as f64 / 1e3,
            max as f64 / 1e3
        ));
    }
    histogram(ui, t);
    ui.separator();
    let mut clicked = None;
    let selected = s.selected;
    TableBuilder::new(ui)
        .id_salt("live_table")
        .striped(true)
        .max_scroll_height(220.0)
        .column(Column::initial(70.0))
        .column(Column::initial(70.0))
        .column(Column::initial(130.0))
        .column(Column::initial(80.0))
        .column(Column::initial(150.0))
        .column(Column::initial(60.0))
        .column(Column::initial(76.0))
        .column(Column::initial(76.0))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            for x in [
                "Time (UTC)",
                "Leg",
                "Peer",
                "Type",
                "Control id / scenario",
                "ACK",
                "Predicted",
                "Latency",
                "Note",
            ] {
                h.col(|ui| {
                    ui.strong(x);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, t.len(), |mut row| {
                let i = row.index();
                let e = &t[i];
                row.col(|ui| {
                    // `2026-11-30T10:12:03Z` → `10:12:03`
                    let time = e.ended_at.get(11..19).unwrap_or(&e.ended_at);
                    ui.label(time).on_hover_text(&e.ended_at);
                });
                row.col(|ui| {
                    ui.label(&e.leg);
                });
                row.col(|ui| {
                    ui.label(&e.peer);
                });
                row.col(|ui| {
                    ui.label(message_type(&e.message));
                });
                row.col(|ui| {
                    let label = if e.label.is_empty() {
                        format!("#{}", i + 1)
                    } else {
                        e.label.clone()
                    };
                    if ui.selectable_label(selected == Some(i), label).clicked() {
                        clicked = Some(i);
                    }
                });
                row.col(|ui| {
                    style::ack_badge(ui, &e.ack_code);
                });
                row.col(|ui| {
                    ui.label(&e.predicted);
                });
                row.col(|ui| {
                    ui.label(format!("{:.1} ms", e.latency_us as f64 / 1000.0));
                });
                row.col(|ui| {
                    match (&e.error, e.mismatch) {
                        (Some(err), _) => ui.colored_label(style::RED, err),
                        (None, true) => ui
                            .colored_label(style::AMBER, "receiver disagrees with Baton's receipt"),
                        _ => ui.label(""),
                    };
                });
            });
        });
    if let Some(i) = clicked {
        app.live.selected = Some(i);
    }
    // The per-field account of the selected exchange.
    let (Some(i), Some(live)) = (app.live.selected, live.as_ref()) else {
        return;
    };
    let Some(e) = t.get(i) else {
        return;
    };
    let Some(ws) = &app.workspace else { return };
    let fresh = app
        .live
        .account
        .as_ref()
        .is_some_and(|(l, j, _)| Arc::ptr_eq(l, live) && *j == i);
    if !fresh {
        let Some(h) = hl7::parse_one(&e.message)
            .ok()
            .and_then(|m| ws.handoff_for_type(&m.message_type()))
            .or_else(|| ws.handoffs.first())
        else {
            return;
        };
        let r = crate::replay::replay_text(h, &ws.tables, &e.message);
        app.live.account = Some((live.clone(), i, r));
    }
    let Some((_, _, r)) = &app.live.account else {
        return;
    };
    ui.separator();
    // The header names the selected exchange: it follows the selection.
    ui.horizontal_wrapped(|ui| {
        let label = if e.label.is_empty() {
            format!("Exchange #{}", i + 1)
        } else {
            e.label.clone()
        };
        ui.strong(label);
        ui.label(message_type(&e.message));
        ui.label(RichText::new(&e.ended_at).weak());
        ui.label("receiver sent");
        style::ack_badge(ui, &e.ack_code);
        ui.label("Baton predicts");
        style::ack_badge(ui, &r.ack_code);
    });
    ui.label(format!(
        "{} accepted, {} transformed, {} rejected, {} dropped (accepted fields not listed)",
        r.counts.accepted, r.counts.transformed, r.counts.rejected, r.counts.dropped
    ));
    egui::ScrollArea::vertical()
        .id_salt("live_fields")
        .show(ui, |ui| {
            for f in r
                .fields
                .iter()
                .filter(|f| f.outcome.kind() != crate::scenario::OutcomeKind::Accepted)
            {
                ui.horizontal(|ui| {
                    ui.monospace(f.path.to_string());
                    style::outcome_badge(ui, f.outcome.kind());
                    ui.label(app.shown(f.source.as_deref().unwrap_or("")));
                    ui.label("→");
                    let at = crate::replay::landing(f);
                    match f.outcome.kind() {
                        crate::scenario::OutcomeKind::Dropped => {
                            ui.label(RichText::new("nowhere: not sent on").color(style::AMBER));
                        }
                        _ if !at.same_field(&f.path) => {
                            ui.label(format!(
                                "{} at {}",
                                app.shown(f.mapped.as_deref().unwrap_or("")),
                                at.display_canonical()
                            ));
                        }
                        _ => {
                            ui.label(app.shown(f.mapped.as_deref().unwrap_or("")));
                        }
                    }
                    let detail = crate::diff::detail_of(f);
                    if !detail.is_empty() {
                        let color = match f.outcome.kind() {
                            crate::scenario::OutcomeKind::Rejected => style::RED,
                            crate::scenario::OutcomeKind::Dropped => style::AMBER,
                            _ => ui.visuals().weak_text_color(),
                        };
                        ui.colored_label(color, app.shown(&detail));
                    }
                });
            }
        });
}

use crate::hl7;

/// MSH-9 type^event of a message text, read from its first line ("" when
/// it is not a message).
fn message_type(text: &str) -> String {
    let Some(rest) = text
        .trim_start_matches(['\u{0b}', '\u{feff}'])
        .strip_prefix("MSH")
    else {
        return String::new();
    };
    let Some(sep) = rest.chars().next() else {
        return String::new();
    };
    let line = rest.split(['\r', '\n']).next().unwrap_or("");
    // `|^~\&|A|…`: index 1 is MSH-2, so MSH-9 is index 8.
    let field = line.split(sep).nth(8).unwrap_or("");
    let comp = line
        .split(sep)
        .nth(1)
        .and_then(|e| e.chars().next())
        .unwrap_or('^');
    field.split(comp).take(2).collect::<Vec<_>>().join("^")
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_type_reads_msh_9() {
        assert_eq!(
            super::message_type("MSH|^~\\&|A|B|C|D|2024||ORU^R01^ORU_R01|1|P|2.5.1\rPID|1"),
            "ORU^R01"
        );
        assert_eq!(super::message_type("garbage"), "");
    }
}
