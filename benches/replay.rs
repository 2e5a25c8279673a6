//! Parse alone vs full replay (sender check → mapping → receiver check →
//! field account → receipt) of a ~2 KB ORU^R01, with hl7-parser's own parse
//! as the peer baseline, and a 10,000-message replay.
//!
//! `cargo bench --bench replay`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use baton::hl7;
use baton::replay;
use baton::workspace::Workspace;

#[path = "support/mod.rs"]
mod support;
use support::oru_2kb;

fn bench(c: &mut Criterion) {
    let ws = Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("workspace");
    let handoff = ws.handoff("results").expect("results handoff");
    let text = oru_2kb(None);
    let check = replay::replay_text(handoff, &ws.tables, &text);
    assert_eq!(
        check.ack_code, "AA",
        "the bench message must replay cleanly"
    );

    let mut g = c.benchmark_group("oru_2kb");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("hl7_parser_parse", |b| {
        b.iter(|| hl7_parser::Message::parse_with_lenient_newlines(black_box(&text), true))
    });
    g.bench_function("parse", |b| b.iter(|| hl7::parse_one(black_box(&text))));
    g.bench_function("replay", |b| {
        b.iter(|| replay::replay_text(handoff, &ws.tables, black_box(&text)))
    });
    g.finish();

    // Each phase of one replay, to see where its time goes.
    let msg = hl7::parse_one(&text).expect("bench message");
    let sender = baton::profile::check(&handoff.sender, &ws.tables, &msg);
    let mapped = baton::mapping::apply(&handoff.rules, &ws.tables, &msg);
    let receiver = baton::profile::check(&handoff.receiver, &ws.tables, &mapped.message);
    let mut g = c.benchmark_group("oru_2kb_phases");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("sender_check", |b| {
        b.iter(|| baton::profile::check(&handoff.sender, &ws.tables, black_box(&msg)))
    });
    g.bench_function("mapping", |b| {
        b.iter(|| baton::mapping::apply(&handoff.rules, &ws.tables, black_box(&msg)))
    });
    g.bench_function("receiver_check", |b| {
        b.iter(|| baton::profile::check(&handoff.receiver, &ws.tables, black_box(&mapped.message)))
    });
    g.bench_function("account", |b| {
        b.iter(|| baton::account::account(black_box(&msg), &mapped, &sender, &receiver))
    });
    g.bench_function("ack", |b| {
        b.iter(|| {
            baton::ack::build(
                black_box(&mapped.message),
                &handoff.receiver,
                &receiver.findings,
            )
        })
    });
    g.bench_function("encode_mapped", |b| {
        b.iter(|| black_box(&mapped.message).encode_wire())
    });
    g.bench_function("replay_parsed", |b| {
        b.iter(|| replay::replay_message(handoff, &ws.tables, black_box(msg.clone())))
    });
    g.finish();

    let batch: Vec<String> = (0..10_000)
        .map(|i| text.replacen("LAB778812", &format!("LAB{i:07}"), 1))
        .collect();
    let mut g = c.benchmark_group("batch_10k");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("parse", |b| {
        b.iter(|| {
            batch
                .iter()
                .map(|t| hl7::parse_one(t).is_ok() as usize)
                .sum::<usize>()
        })
    });
    g.bench_function("replay", |b| {
        b.iter(|| {
            batch
                .iter()
                .map(|t| replay::replay_text(handoff, &ws.tables, t).counts.accepted)
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
