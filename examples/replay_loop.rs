//! Replays the bundled ORU many times: a target for profilers.
//! `cargo run --release --example replay_loop -- 20000`
use std::path::Path;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let ws =
        baton::Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("workspace");
    let handoff = ws.handoff("results").expect("handoff");
    let text = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7",
    )
    .expect("message");
    let parse_only = std::env::args().nth(2).as_deref() == Some("parse");
    let start = std::time::Instant::now();
    let mut accepted = 0;
    for _ in 0..n {
        if parse_only {
            accepted += baton::hl7::parse_one(&text)
                .map(|m| m.segments.len())
                .unwrap_or(0);
        } else {
            accepted += baton::replay::replay_text(handoff, &ws.tables, &text)
                .counts
                .accepted;
        }
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{accepted} ({per:.1} µs each)");
}
