//! Driving the real app headless, as a person would (egui_kittest).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use baton::gui::App;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub fn open(workspace: &str) -> Harness<'static, App> {
    let path = PathBuf::from(workspace);
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        // Headless tests have only egui's bundled font; data may hold arrows it lacks.
        .allow_missing_glyphs()
        .build_eframe(move |cc| App::new(cc, path))
}

/// Clicks a labelled text box and types into it, as a person would.
pub fn type_into(h: &mut Harness<'static, App>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

/// Steps frames until the background replay has finished (at most 60 s).
pub fn wait_for_replay(h: &mut Harness<'static, App>) {
    let start = Instant::now();
    h.step();
    while h.state().is_running() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "replay did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.step();
    h.step();
}
