//! Scaling: each step doubles the input, from 1,000 to 64,000 segments, for
//! replay (through the bundled results handoff), validate (the receiver's
//! profile check with locations), diff (a message against itself with one
//! value changed per segment) and load (a rules file with as many rules).
//! After criterion's own report it prints, per operation, the ratio of each
//! step's median to the one before: linear work gives about 2.0; every step must stay
//! at or below 2.5.
//!
//! `cargo bench --bench scaling`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};

use baton::workspace::Workspace;

const SIZES: [usize; 7] = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000];

/// An ORU^R01 with `n` segments (MSH, PID, OBR, then OBX).
fn oru(n: usize, changed: bool) -> String {
    let mut s = String::with_capacity(n * 80);
    s.push_str("MSH|^~\\&|LABCORE|LAB|CAREEHR|HOSP|20240101120000-0800||ORU^R01|C1|P|2.5.1\r");
    s.push_str("PID|1||MRN1^^^HOSP^MR||Doe^Jo||19800101|F\r");
    s.push_str("OBR|1|ORD1|FIL1|24331-1^Lipid panel^LN|||20240101103000-0800||||||||||||||||F\r");
    for i in 1..=n.saturating_sub(3) {
        let v = if changed { i % 90 + 6 } else { i % 90 + 5 };
        s.push_str(&format!(
            "OBX|{i}|NM|2093-3^Cholesterol^LN||{v}|mg/dL|<200|N|||F|||20240101110000-0800\r"
        ));
    }
    s
}

/// A rules file with `n` rules.
fn rules(n: usize) -> String {
    let mut s = String::from("mode = \"passthrough\"\n");
    for i in 0..n {
        s.push_str(&format!(
            "\n[[rule]]\nid = \"R{i}\"\naction = \"set\"\nto = \"ZZ{}-{}\"\nvalue = \"v{i}\"\n",
            i / 999 % 10,
            i % 999 + 1
        ));
    }
    s
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("workspace");
    let handoff = ws.handoff("results").expect("results handoff");
    let validator = baton::validate::Validator::load(
        Path::new("test-scenarios/lab-orders-results/profiles/careehr-results-receiver.toml"),
        Some(Path::new(
            "test-scenarios/lab-orders-results/tables/codes.toml",
        )),
    )
    .expect("profile");
    let mut g = c.benchmark_group("scaling");
    for &n in &SIZES {
        let text = oru(n, false);
        let other = baton::hl7::parse_one(&oru(n, true)).expect("parses");
        let msg = baton::hl7::parse_one(&text).expect("parses");
        let rules_text = rules(n);
        g.bench_with_input(BenchmarkId::new("replay", n), &text, |b, t| {
            b.iter(|| baton::replay::replay_text(handoff, &ws.tables, black_box(t)))
        });
        g.bench_with_input(BenchmarkId::new("validate", n), &msg, |b, m| {
            b.iter(|| validator.validate_message(black_box(m)))
        });
        g.bench_with_input(BenchmarkId::new("diff", n), &msg, |b, m| {
            b.iter(|| baton::diff::diff_messages(black_box(m), &other))
        });
        g.bench_with_input(BenchmarkId::new("load", n), &rules_text, |b, t| {
            b.iter(|| {
                baton::mapping::Rules::load(Path::new("rules.toml"), black_box(t), &ws.tables)
                    .expect("rules load")
            })
        });
    }
    g.finish();
    c.final_summary();
    report();
}

/// Reads criterion's estimates and prints each step's ratio.
fn report() {
    let mut worst = 0.0f64;
    println!("\nscaling: time ratio of each doubling (linear ≈ 2.0; limit 2.5)");
    for op in ["replay", "validate", "diff", "load"] {
        let times: Vec<Option<f64>> = SIZES
            .iter()
            .map(|n| {
                let p = format!("target/criterion/scaling/{op}/{n}/new/estimates.json");
                let text = std::fs::read_to_string(p).ok()?;
                let v: serde_json::Value = serde_json::from_str(&text).ok()?;
                // The median: one slow sample on a shared VM does not move it.
                v["median"]["point_estimate"].as_f64()
            })
            .collect();
        let mut line = format!("  {op:<9}");
        for w in times.windows(2) {
            match (w[0], w[1]) {
                (Some(a), Some(b)) if a > 0.0 => {
                    let r = b / a;
                    worst = worst.max(r);
                    line.push_str(&format!(" {r:>5.2}"));
                }
                _ => line.push_str("     -"),
            }
        }
        if let Some(Some(t)) = times.last() {
            line.push_str(&format!(
                "   ({:.1} ms at {})",
                t / 1e6,
                SIZES[SIZES.len() - 1]
            ));
        }
        println!("{line}");
    }
    println!("  worst step: {worst:.2}");
}
