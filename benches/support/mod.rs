//! What the benchmarks share: the 2 KB ORU^R01 they measure, and running a
//! Python peer that times itself.
#![allow(dead_code)]

use std::path::Path;

/// python-hl7's bare parse of every line of a file (one message per line),
/// timed by itself.
pub const PYTHON_HL7: &str = r#"
import sys, time, hl7
data = open(sys.argv[1], newline='').read()
msgs = [m for m in data.split('\n') if m]
t = time.perf_counter()
for m in msgs:
    hl7.parse(m)
print(len(msgs), time.perf_counter() - t)
"#;

/// The bundled results message grown to about 2 KB with more OBX results,
/// with MSH-10 set to `LAB` and `control_id` when one is given.
pub fn oru_2kb(control_id: Option<usize>) -> String {
    let base = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7",
    )
    .expect("bundled ORU");
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    let obx = lines
        .iter()
        .find(|l| l.starts_with("OBX|2|"))
        .cloned()
        .expect("OBX");
    let mut n = 5;
    while lines.iter().map(|l| l.len() + 1).sum::<usize>() < 2048 {
        lines.insert(
            lines.len() - 1,
            obx.replacen("OBX|2|", &format!("OBX|{n}|"), 1),
        );
        n += 1;
    }
    if let Some(id) = control_id {
        lines[0] = lines[0].replace("LAB778812", &format!("LAB{id:08}"));
    }
    lines.join("\r") + "\r"
}

/// Runs a Python script that prints `<messages> <seconds>` for `file`,
/// `runs` times; the best run, or `None` when Python or its library is missing.
pub fn python_peer(script: &str, dir: &Path, file: &Path, runs: usize) -> Option<(usize, f64)> {
    let path = dir.join("peer.py");
    std::fs::write(&path, script).ok()?;
    let mut best: Option<(usize, f64)> = None;
    for _ in 0..runs {
        let out = std::process::Command::new("python3")
            .arg(&path)
            .arg(file)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("peer failed: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut it = text.split_whitespace();
        let n: usize = it.next()?.parse().ok()?;
        let s: f64 = it.next()?.parse().ok()?;
        if best.is_none_or(|(_, b)| s < b) {
            best = Some((n, s));
        }
    }
    best
}
