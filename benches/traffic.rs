//! Real traffic, measured side by side: `replay` and `learn` over a
//! generated 100,000-message log (2 KB ORU^R01 through the bundled results
//! handoff), against hl7-parser parsing the same messages in the same run
//! and python-hl7 parsing them from a script this bench calls.
//!
//! `cargo bench --bench traffic` (BATON_TRAFFIC_MESSAGES changes the size).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use baton::traffic::learn::{LearnOptions, learn_logs};
use baton::traffic::{self, Log, Options};
use baton::workspace::Workspace;

#[path = "support/mod.rs"]
mod support;
use support::{PYTHON_HL7, oru_2kb, python_peer};

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("BATON_TRAFFIC_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("workspace");
    let handoff = ws.handoff("results").expect("results handoff");
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("day.hl7");
    // One message per line for python-hl7 (CR inside, LF between): Baton reads it as is.
    let mut bytes = Vec::with_capacity(n * 2100);
    let mut messages = Vec::with_capacity(n);
    for i in 0..n {
        let m = oru_2kb(Some(i));
        bytes.extend_from_slice(m.as_bytes());
        bytes.push(b'\n');
        messages.push(m);
    }
    std::fs::write(&log_path, &bytes).expect("write log");
    let open = || vec![Log::open(&log_path).expect("open log")];
    let report = traffic::replay_logs(handoff, &ws.tables, open(), Options::default()).unwrap();
    assert_eq!(report.messages, n);
    assert_eq!(report.ack.aa, n, "the bench log must replay cleanly");

    let mut g = c.benchmark_group(format!("log_{n}"));
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("hl7_parser_parse_1_core", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(hl7_parser::Message::parse_with_lenient_newlines(m, true).is_ok());
            }
        })
    });
    g.bench_function("replay_all_cores", |b| {
        b.iter(|| traffic::replay_logs(handoff, &ws.tables, open(), Options::default()))
    });
    g.bench_function("replay_1_core", |b| {
        b.iter(|| {
            traffic::replay_logs(
                handoff,
                &ws.tables,
                open(),
                Options {
                    jobs: 1,
                    ..Default::default()
                },
            )
        })
    });
    let opts = LearnOptions {
        side: baton::Side::Sender,
        name: "bench".into(),
        against: None,
        tables: Default::default(),
    };
    g.bench_function("learn_all_cores", |b| {
        b.iter(|| learn_logs(open(), &opts, Options::default()))
    });
    g.finish();

    // The peers and the ratios, in the same run.
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    let replay_s = (0..3)
        .map(|_| {
            time(&mut || {
                traffic::replay_logs(handoff, &ws.tables, open(), Options::default()).unwrap();
            })
        })
        .fold(f64::MAX, f64::min);
    let learn_s = (0..3)
        .map(|_| {
            time(&mut || {
                learn_logs(open(), &opts, Options::default()).unwrap();
            })
        })
        .fold(f64::MAX, f64::min);
    println!(
        "\n{n} messages ({:.0} MB): replay {:.2} s ({:.0} messages/s, all cores), learn {:.2} s ({:.0} messages/s); learn/replay speed {:.2}×",
        bytes.len() as f64 / 1e6,
        replay_s,
        n as f64 / replay_s,
        learn_s,
        n as f64 / learn_s,
        replay_s / learn_s
    );
    match python_peer(PYTHON_HL7, dir.path(), &log_path, 1) {
        Some((count, s)) => {
            assert_eq!(count, n, "python-hl7 read every message");
            println!(
                "python-hl7 bare parse: {s:.2} s ({:.0} messages/s); Baton replay is {:.1}× its throughput, learn {:.1}×",
                n as f64 / s,
                s / replay_s,
                s / learn_s
            );
        }
        None => println!("python-hl7 not available (pip install hl7): no ratio"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
