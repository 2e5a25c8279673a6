//! A mutation fuzzer on stable Rust. Seeds are the repository's own files
//! (sample messages, malformed inputs, batches, profiles, rules, scenarios);
//! each input is a seeded mutation of one of them, run through the core
//! under `catch_unwind` with a time budget: message reading (inspect), the
//! full replay of both bundled handoffs, validation against CDC's NIST
//! profile, MLLP framing, and the loaders of profiles (TOML, Messaging
//! Workbench and NIST XML), rules and scenarios.
//!
//! `cargo test --test fuzz` runs a short pass (`BATON_FUZZ_SECS`, default
//! 20 s) and every input kept in `tests/data/fuzz/`. Run longer with, e.g.,
//! `BATON_FUZZ_SECS=3600 BATON_FUZZ_SEED=7 cargo test --release --test fuzz -- --nocapture`.
//! An input that panics or overruns its budget is written to
//! `tests/data/fuzz/` (commit it: it becomes a regression test) and fails the run.

use std::panic::{AssertUnwindSafe, catch_unwind};
mod common;
use common::files;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use baton::workspace::Workspace;

/// Longest an input may take (debug build, loaded machine).
const BUDGET: Duration = Duration::from_secs(5);
/// Largest input made.
const MAX_INPUT: usize = 256 * 1024;
const KEPT: &str = "tests/data/fuzz";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Message,
    Profile,
    Rules,
    Scenario,
    Xml,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Message => "message",
            Target::Profile => "profile",
            Target::Rules => "rules",
            Target::Scenario => "scenario",
            Target::Xml => "xml",
        }
    }

    fn of_file(p: &Path) -> Option<Target> {
        let name = p.file_name()?.to_string_lossy().into_owned();
        if name.starts_with("message-") || name.starts_with("found-message") {
            return Some(Target::Message);
        }
        for t in [
            Target::Message,
            Target::Profile,
            Target::Rules,
            Target::Scenario,
            Target::Xml,
        ] {
            if name.starts_with(&format!("found-{}-", t.name())) {
                return Some(t);
            }
        }
        None
    }
}

/// xorshift64*: deterministic, seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&[u8]] = &[
    b"|",
    b"^",
    b"~",
    b"\\",
    b"&",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x0b",
    b"\x1c",
    b"\x00",
    b"\xff",
    b"MSH|^~\\&|",
    b"\\X0D0A\\",
    b"\\T\\",
    b"\\",
    b"\"\"",
    b"4000000000",
    b"9223372036854775807",
    b"-1",
    b"99999",
    b"OBX[10001]-5",
    b"PID-4000000000",
    b"ZZZ|",
    b"<NOT>",
    b"</NOT>",
    b"[[rule]]",
    b"[[field]]",
    b"= \"",
    b"\xc3\xbc",
    b"\xe2\x80",
    b"[*]",
    b".0",
    b"+9999",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if !v.is_empty() => {
                // Repeat a slice (a segment, a line) many times.
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(200)).min(v.len());
                let slice = v[start..end].to_vec();
                for _ in 0..1 + rng.below(400) {
                    if v.len() + slice.len() > MAX_INPUT {
                        break;
                    }
                    v.splice(end..end, slice.iter().copied());
                }
            }
            4 => {
                // Splice in part of another seed.
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let s = rng.below(other.len());
                    let e = (s + rng.below(400)).min(other.len());
                    v.splice(at..at, other[s..e].iter().copied());
                }
            }
            5 if !v.is_empty() => {
                // Nest: wrap a slice in itself (deep structures).
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(30)).min(v.len());
                let slice = v[start..end].to_vec();
                for _ in 0..rng.below(2000) {
                    if v.len() + 2 * slice.len() > MAX_INPUT {
                        break;
                    }
                    v.splice(start..start, slice.iter().copied());
                }
            }
            _ => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let end = (at + t.len()).min(v.len());
                v.splice(at..end, t.iter().copied());
            }
        }
        v.truncate(MAX_INPUT);
    }
    v
}

fn seeds(t: Target) -> Vec<Vec<u8>> {
    let paths: Vec<PathBuf> = match t {
        Target::Message => [
            files("tests/data/corpus/messages", &[]),
            files("tests/data/corpus/malformed", &["txt", "hl7"]),
            files("tests/data/corpus/batch", &[]),
            files("test-scenarios", &["hl7"]),
        ]
        .concat(),
        Target::Profile => files("test-scenarios", &["toml"])
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/profiles/"))
            .collect(),
        Target::Rules => files("test-scenarios", &["toml"])
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/rules/"))
            .collect(),
        Target::Scenario => files("test-scenarios", &["toml"])
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/scenarios/"))
            .collect(),
        Target::Xml => files("tests/data/corpus/profiles", &["xml"]),
    };
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() <= MAX_INPUT)
        .collect()
}

/// Everything an input is run through.
struct Core {
    ws: Workspace,
    phlip: baton::validate::Validator,
}

impl Core {
    fn load() -> Core {
        Core {
            ws: Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("workspace"),
            phlip: baton::validate::Validator::load(
                Path::new("test-scenarios/phlip-flu-elr/profiles/cdc-phlip-flu/PROFILE.xml"),
                None,
            )
            .expect("PHLIP profile"),
        }
    }

    fn run(&self, t: Target, input: &[u8]) {
        let text = String::from_utf8_lossy(input);
        match t {
            Target::Message => {
                let _ = baton::inspect::inspect_bytes("fuzz", input);
                for h in &self.ws.handoffs {
                    let _ = baton::replay::replay_text(h, &self.ws.tables, &text);
                }
                let _ = self.phlip.validate_bytes(input);
                let mut framed = Vec::with_capacity(input.len() + 3);
                framed.push(0x0b);
                framed.extend_from_slice(input);
                framed.extend_from_slice(b"\x1c\r");
                let mut r = std::io::Cursor::new(framed);
                let limits = baton::mllp::Limits::default();
                while let Ok(Some(_)) = baton::mllp::read_frame(&mut r, &limits) {}
            }
            Target::Profile => {
                let _ = baton::profile::Profile::load(Path::new("p.toml"), &text, &self.ws.tables);
            }
            Target::Rules => {
                if let Ok(rules) =
                    baton::mapping::Rules::load(Path::new("r.toml"), &text, &self.ws.tables)
                {
                    let mut h = self.ws.handoffs[0].clone();
                    h.rules = rules;
                    let msg = std::fs::read_to_string(
                        "test-scenarios/lab-orders-results/messages/orm-o01-lipid-panel.hl7",
                    )
                    .unwrap_or_default();
                    let _ = baton::replay::replay_text(&h, &self.ws.tables, &msg);
                }
            }
            Target::Scenario => {
                let msg = std::fs::read_to_string(
                    "test-scenarios/lab-orders-results/messages/orm-o01-lipid-panel.hl7",
                )
                .unwrap_or_default();
                if let Ok(s) = baton::scenario::Scenario::load(
                    Path::new("test-scenarios/lab-orders-results/scenarios/s.toml"),
                    &text,
                    &mut |_| Ok(msg.clone()),
                ) && let Ok(prepared) = s.prepared_input()
                {
                    let _ = baton::replay::replay_text(
                        &self.ws.handoffs[0],
                        &self.ws.tables,
                        &prepared,
                    );
                }
            }
            Target::Xml => {
                let _ = baton::import::import(Path::new("p.xml"), &text);
            }
        }
    }
}

/// Runs one input; `Err` says what went wrong (panic or over budget).
fn check(core: &Core, t: Target, input: &[u8], beat: &AtomicU64) -> Result<(), String> {
    beat.store(now_ms(), Ordering::Relaxed);
    let start = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| core.run(t, input)));
    let took = start.elapsed();
    match r {
        Err(e) => Err(format!(
            "panicked: {}",
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Ok(()) if took > BUDGET => Err(format!("took {took:?}, over the {BUDGET:?} budget")),
        Ok(()) => Ok(()),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn keep(t: Target, input: &[u8]) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut h);
    let p = Path::new(KEPT).join(format!("found-{}-{:016x}.bin", t.name(), h.finish()));
    let _ = std::fs::create_dir_all(KEPT);
    let _ = std::fs::write(&p, input);
    p
}

/// A watchdog: if an input runs far past its budget (a hang), say which and abort.
fn watchdog(beat: Arc<AtomicU64>, current: Arc<std::sync::Mutex<(Target, Vec<u8>)>>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let last = beat.load(Ordering::Relaxed);
            if last != 0 && now_ms().saturating_sub(last) > 6 * BUDGET.as_millis() as u64 {
                if let Ok(c) = current.lock() {
                    let p = keep(c.0, &c.1);
                    eprintln!("fuzz: an input hangs; kept as {}", p.display());
                }
                std::process::abort();
            }
        }
    });
}

#[test]
fn kept_inputs_stay_fixed() {
    let core = Core::load();
    let beat = AtomicU64::new(0);
    for p in files(KEPT, &[]) {
        let Some(t) = Target::of_file(&p) else {
            continue;
        };
        let input = std::fs::read(&p).unwrap();
        if let Err(e) = check(&core, t, &input, &beat) {
            panic!("{}: {e}", p.display());
        }
    }
}

#[test]
fn a_short_fuzzing_pass_finds_nothing() {
    let secs: u64 = std::env::var("BATON_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("BATON_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_ba70);
    let core = Core::load();
    let targets = [
        Target::Message,
        Target::Profile,
        Target::Rules,
        Target::Scenario,
        Target::Xml,
    ];
    let all: Vec<(Target, Vec<Vec<u8>>)> = targets.iter().map(|&t| (t, seeds(t))).collect();
    let beat = Arc::new(AtomicU64::new(0));
    let current = Arc::new(std::sync::Mutex::new((Target::Message, Vec::new())));
    watchdog(beat.clone(), current.clone());
    // Quiet the default hook: a caught panic is a finding, reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(seed | 1);
    let start = Instant::now();
    let mut runs = 0u64;
    let mut found = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        let (t, seeds) = &all[runs as usize % all.len()];
        if seeds.is_empty() {
            runs += 1;
            continue;
        }
        let base = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seeds, base);
        if let Ok(mut c) = current.lock() {
            *c = (*t, input.clone());
        }
        if let Err(e) = check(&core, *t, &input, &beat) {
            found.push(format!(
                "{} ({}): {e}",
                keep(*t, &input).display(),
                t.name()
            ));
        }
        runs += 1;
    }
    beat.store(0, Ordering::Relaxed);
    std::panic::set_hook(hook);
    eprintln!("fuzz: {runs} inputs in {secs} s (seed {seed})");
    assert!(found.is_empty(), "{}", found.join("\n"));
}
