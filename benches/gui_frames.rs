//! Frame time of the real window, headless (egui_kittest), on large inputs:
//! a generated workspace of 10,000 scenarios, replayed, while the scenario
//! list scrolls; and a 100,000-message file being inspected while the
//! message list scrolls; and the Traffic tab while a 100,000-message log
//! replays on the background thread. The baseline is the same frame on the bundled
//! 26-scenario workspace, in the same run.
//!
//! `cargo bench --bench gui_frames`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baton::gui::{App, Command, Tab};
use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::kittest::Queryable;

#[path = "../tests/common/mod.rs"]
mod common;
use common::copy_dir;
use egui_kittest::Harness;

const BUNDLED: &str = "test-scenarios/lab-orders-results";

/// A copy of the bundled workspace with `n` scenarios (copies of its own).
fn big_workspace(dir: &Path, n: usize) {
    copy_dir(Path::new(BUNDLED), dir);
    let originals: Vec<PathBuf> = std::fs::read_dir(dir.join("scenarios"))
        .expect("scenarios")
        .flatten()
        .map(|e| e.path())
        .collect();
    let mut i = originals.len();
    while i < n {
        for o in &originals {
            if i >= n {
                break;
            }
            let text = std::fs::read_to_string(o).expect("scenario");
            std::fs::write(dir.join("scenarios").join(format!("gen-{i:05}.toml")), text)
                .expect("write");
            i += 1;
        }
    }
}

fn harness(workspace: PathBuf) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .allow_missing_glyphs()
        .with_accessibility_check(false)
        .build_eframe(move |cc| App::new(cc, workspace))
}

fn replay_all(h: &mut Harness<'static, App>) {
    h.state_mut().command(Command::ReplayAll);
    let start = Instant::now();
    h.step();
    while h.state().is_running() && start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
}

/// One frame with the pointer over the list, scrolling down by a screenful.
fn scroll_frame(h: &mut Harness<'static, App>, at: egui::Pos2, down: bool) {
    h.hover_at(at);
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, if down { -600.0 } else { 600.0 }),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    });
    h.step();
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let big = tmp.path().join("big");
    big_workspace(&big, 10_000);

    let mut g = c.benchmark_group("frame");
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(8));

    let mut small = harness(PathBuf::from(BUNDLED));
    replay_all(&mut small);
    let mut down = true;
    g.bench_function("bundled_26_scenarios_scroll", |b| {
        b.iter(|| {
            down = !down;
            scroll_frame(&mut small, egui::pos2(150.0, 500.0), down)
        })
    });

    let mut large = harness(big.clone());
    replay_all(&mut large);
    assert_eq!(large.state().summary().2, 0, "all 10,000 replayed");
    let mut n = 0u32;
    g.bench_function("10000_scenarios_scroll", |b| {
        b.iter(|| {
            n += 1;
            scroll_frame(&mut large, egui::pos2(150.0, 500.0), n % 40 < 20)
        })
    });

    // A 100,000-message file (the bundled ORU, repeated).
    let msg = std::fs::read_to_string(format!("{BUNDLED}/messages/oru-r01-lipid-results.hl7"))
        .expect("message");
    let file = tmp.path().join("100k.hl7");
    std::fs::write(&file, msg.repeat(100_000)).expect("write");
    let mut inspect = harness(PathBuf::from(BUNDLED));
    inspect
        .state_mut()
        .command(Command::InspectFiles(vec![file.clone()]));
    inspect.step();
    inspect.step();
    let mut m = 0u32;
    g.bench_function("100000_messages_scroll", |b| {
        b.iter(|| {
            m += 1;
            scroll_frame(&mut inspect, egui::pos2(150.0, 500.0), m % 40 < 20)
        })
    });

    // The Traffic tab while the same 100,000 messages replay through the
    // results handoff on every core (restarted whenever a run ends).
    let mut traffic = harness(PathBuf::from(BUNDLED));
    traffic.state_mut().tab = Tab::Traffic;
    traffic.state_mut().traffic.add_logs([file.clone()]);
    traffic.state_mut().traffic.handoff = Some("results".into());
    traffic.step();
    let mut t = 0u32;
    let mut runs = 0u32;
    g.bench_function("traffic_100000_messages_replaying", |b| {
        b.iter(|| {
            if traffic.state().traffic.running.is_none() {
                traffic.get_by_label("Replay log").click();
                runs += 1;
            }
            t += 1;
            scroll_frame(&mut traffic, egui::pos2(700.0, 500.0), t % 40 < 20)
        })
    });
    println!("traffic: {runs} replay runs started while measuring");

    // The Messages tab on a 5,000-OBX result: three panes with marks, trees
    // and scrolling that follows by segment.
    let mut lines: Vec<&str> = msg.lines().collect();
    let obx: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("OBX"))
        .collect();
    let mut big_obx = Vec::new();
    for i in 0..5_000 {
        big_obx.push(obx[i % obx.len()]);
    }
    lines.retain(|l| !l.starts_with("OBX"));
    lines.extend(big_obx);
    let text = lines.join("\r");
    let mut messages = harness(PathBuf::from(BUNDLED));
    {
        let app = messages.state_mut();
        let ws = app.workspace.clone().expect("workspace");
        let h = ws.handoff("results").expect("results handoff");
        let replay = baton::replay::replay_text(h, &ws.tables, &text);
        app.open_scratch(
            baton::replay::ScenarioResult::unscripted(
                "big",
                "5,000 OBX",
                baton::scenario::Kind::Edge,
                "results",
                replay,
            ),
            "bench",
        );
        app.tab = Tab::Messages;
    }
    messages.step();
    let mut k = 0u32;
    g.bench_function("messages_tab_5000_obx_scroll", |b| {
        b.iter(|| {
            k += 1;
            scroll_frame(&mut messages, egui::pos2(600.0, 400.0), k % 40 < 20)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
