//! Validating CDC's PHLIP-FLU sample against its NIST profile: parse alone
//! (baseline), the structural check without the conformance rules, and the
//! full check with its 57 statements, 18 predicates and 30 datatype
//! bindings evaluated on the group structure.
//!
//! `cargo bench --bench validate`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use baton::hl7;
use baton::validate::Validator;

const PROFILE: &str = "tests/data/corpus/profiles/nist/cdc_PHLIP-FLU-2.5.1/PROFILE.xml";
const MESSAGE: &str = "tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt";

fn bench(c: &mut Criterion) {
    let full = Validator::load(Path::new(PROFILE), None).expect("PHLIP profile");
    assert!(full.profile.conformance.is_some());
    let mut structural = full.clone();
    structural.profile.conformance = None;
    let text = std::fs::read(MESSAGE).expect("PHLIP sample");
    let message = hl7::parse_bytes(&text).messages.remove(0);

    let mut g = c.benchmark_group("phlip_validate");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("parse", |b| b.iter(|| hl7::parse_bytes(black_box(&text))));
    g.bench_function("check_structural", |b| {
        b.iter(|| structural.validate_message(black_box(&message)))
    });
    g.bench_function("check_with_conformance", |b| {
        b.iter(|| full.validate_message(black_box(&message)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
