//! Two command-line paths against their Python peers, in the same run:
//!
//! - `baton validate` with CDC's PHLIP-FLU NIST profile over a file of
//!   PHLIP messages, per message, against hl7apy's strict parse + validate;
//! - `baton inspect --json` over a file of 10 KB LRI results, per message,
//!   against python-hl7's parse, with the JSON bytes written per input byte.
//!
//! Wall time of the real binary (process start, profile load, output
//! included), best of 5. `cargo bench --bench cli_paths`
//! (BATON_CLI_MESSAGES changes the number of messages, default 2,000).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;
use support::{PYTHON_HL7, python_peer};

const BATON: &str = env!("CARGO_BIN_EXE_baton");
const PROFILE: &str = "tests/data/corpus/profiles/nist/cdc_PHLIP-FLU-2.5.1/PROFILE.xml";
const PHLIP: &str = "tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt";
const LRI: &str = "tests/data/corpus/messages/oru/mscv_LRI_2.0-NG_CBC_Typ_Message.hl7";

const HL7APY: &str = r#"
import sys, time
from hl7apy.parser import parse_message
from hl7apy.consts import VALIDATION_LEVEL
data = open(sys.argv[1], newline='').read()
msgs = [m for m in data.split('\n') if m]
t = time.perf_counter()
# hl7apy reads only 4 encoding characters: the v2.7 truncation character goes.
msgs = [m.replace('|^~\\&#|', '|^~\\&|', 1) for m in msgs]
for m in msgs:
    msg = parse_message(m, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    msg.validate()
print(len(msgs), time.perf_counter() - t)
"#;

/// One message per line: segments ended by CR, messages by LF.
fn log_of(sample: &str, n: usize, dir: &Path, name: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(sample).expect("sample");
    let one = text
        .trim_start_matches('\u{feff}')
        .replace("\r\n", "\r")
        .replace('\n', "\r")
        .trim_end_matches('\r')
        .to_string();
    let path = dir.join(name);
    let mut out = String::with_capacity((one.len() + 2) * n);
    for _ in 0..n {
        out.push_str(&one);
        out.push_str("\r\n");
    }
    std::fs::write(&path, out).expect("write");
    path
}

/// Best of 5 wall-clock runs of the binary; returns (seconds, stdout bytes).
/// Its output is read through a pipe and counted, as a consumer would
/// (not gathered into one growing buffer: for `inspect --json` that is
/// hundreds of megabytes copied and faulted in on the bench's side).
fn run_baton(args: &[&str]) -> (f64, usize) {
    use std::io::Read;
    let mut best = (f64::MAX, 0);
    for _ in 0..5 {
        let t = Instant::now();
        let mut child = Command::new(BATON)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("baton runs");
        let mut out = child.stdout.take().expect("stdout");
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0;
        loop {
            match out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => bytes += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading baton's output: {e}"),
            }
        }
        child.wait().expect("baton ends");
        let s = t.elapsed().as_secs_f64();
        if s < best.0 {
            best = (s, bytes);
        }
    }
    best
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let n: usize = std::env::var("BATON_CLI_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir().expect("temp dir");

    let phlip = log_of(PHLIP, n, dir.path(), "phlip.hl7");
    let phlip_s = phlip.to_string_lossy().into_owned();
    let (baton_s, _) = run_baton(&["validate", "--profile", PROFILE, &phlip_s]);
    let (one_s, _) = {
        let one = log_of(PHLIP, 1, dir.path(), "phlip1.hl7");
        run_baton(&["validate", "--profile", PROFILE, &one.to_string_lossy()])
    };
    let per = (baton_s - one_s).max(1e-9) / (n - 1) as f64;
    println!(
        "validate PHLIP-FLU: {n} messages in {baton_s:.3} s; one message (start-up and profile load) {:.1} ms; {:.1} µs per further message",
        one_s * 1e3,
        per * 1e6
    );
    match python_peer(HL7APY, dir.path(), &phlip, 3) {
        Some((count, s)) => {
            assert_eq!(count, n);
            let peer = s / n as f64;
            println!(
                "  hl7apy strict parse + validate: {:.1} µs per message; Baton is {:.0}× per message ({:.0}× over the whole file, start-up included)",
                peer * 1e6,
                peer / per,
                s / baton_s
            );
        }
        None => println!("  hl7apy not available (pip install hl7apy): no ratio"),
    }

    let lri = log_of(LRI, n, dir.path(), "lri.hl7");
    let input = std::fs::metadata(&lri).expect("size").len() as f64;
    let lri_s = lri.to_string_lossy().into_owned();
    let (inspect_s, json_bytes) = run_baton(&["inspect", "--json", &lri_s]);
    let per = inspect_s / n as f64;
    println!(
        "inspect --json LRI: {n} messages in {inspect_s:.3} s ({:.1} µs per message); {:.1} bytes of JSON per input byte",
        per * 1e6,
        json_bytes as f64 / input
    );
    match python_peer(PYTHON_HL7, dir.path(), &lri, 3) {
        Some((count, s)) => {
            assert_eq!(count, n);
            println!(
                "  python-hl7 parse: {:.1} µs per message; Baton inspect --json is {:.1}× faster",
                s / n as f64 * 1e6,
                s / inspect_s
            );
        }
        None => println!("  python-hl7 not available (pip install hl7): no ratio"),
    }
}
