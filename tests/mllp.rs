//! MLLP over loopback: Baton against python-hl7's `mllp_send` (a peer Baton
//! did not write), Baton-to-Baton relay, and the failure cases.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const W: &str = "test-scenarios/lab-orders-results";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn baton(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
    c.args(args);
    c
}

/// Starts a listening program (`baton`, a Node peer) and waits until its port accepts connections.
fn start(mut c: Command, port: u16) -> Child {
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "listener did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// The probe above counts as a connection with no message; listeners log it as nothing.
fn finish(child: Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn python_hl7_mllp_send_to_baton_listen() {
    if Command::new("mllp_send").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: python-hl7's mllp_send is not installed (.ci/run installs it with pip)"
        );
        return;
    }
    let port = free_port();
    let p = port.to_string();
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &p,
            "--max-messages",
            "1",
            "--duration-s",
            "30",
            "--json",
        ]),
        port,
    );
    let out = Command::new("mllp_send")
        .args([
            "-p",
            &p,
            "-f",
            &format!("{W}/messages/oru-r01-lipid-results.hl7"),
            "--loose",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    let ack = String::from_utf8_lossy(&out.stdout);
    assert!(ack.contains("MSA|AA|LAB778812"), "mllp_send got: {ack}");
    let t = finish(listener);
    let ex = &t["exchanges"][0];
    assert_eq!(ex["leg"], "listen");
    assert_eq!(ex["ack_code"], "AA");
    assert_eq!(ex["label"], "LAB778812");
}

#[test]
fn baton_send_through_baton_relay_to_baton_listen() {
    let (rp, lp) = (free_port(), free_port());
    // The downstream Baton stands in for the receiving system.
    let receiver = start(
        baton(&[
            "listen",
            W,
            "--port",
            &rp.to_string(),
            "--receiver-only",
            "--max-messages",
            "3",
            "--duration-s",
            "30",
            "--json",
        ]),
        rp,
    );
    let relay = start(
        baton(&[
            "relay",
            W,
            "--port",
            &lp.to_string(),
            "--to",
            &format!("127.0.0.1:{rp}"),
            "--max-messages",
            "3",
            "--duration-s",
            "30",
            "--json",
        ]),
        lp,
    );
    let sent = baton(&[
        "send",
        W,
        "--to",
        &format!("127.0.0.1:{lp}"),
        "--scenario",
        "orders-01-happy",
        "--scenario",
        "orders-06-missing-patient-id",
        "--scenario",
        "results-02-missing-units",
        "--json",
    ])
    .output()
    .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    let codes: Vec<&str> = s["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ack_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["AA", "AE", "AE"], "{s:#}");
    assert_eq!(s["summary"]["mismatches"], 0);
    let r = finish(relay);
    let legs: Vec<&str> = r["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["leg"].as_str().unwrap())
        .collect();
    assert_eq!(legs.iter().filter(|l| **l == "relay-in").count(), 3);
    assert_eq!(legs.iter().filter(|l| **l == "relay-out").count(), 3);
    let rec = finish(receiver);
    // The receiver got the mapped orders: facility NG-LAB, priority ROUTINE.
    let first = rec["exchanges"][0]["message"].as_str().unwrap();
    assert!(
        first.contains("|NG-LAB|") && first.contains("^^^^^ROUTINE"),
        "{first}"
    );
}

#[test]
fn garbage_missing_end_and_oversized_input_are_handled() {
    let port = free_port();
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &port.to_string(),
            "--max-bytes",
            "4096",
            "--timeout-ms",
            "2000",
            "--duration-s",
            "6",
            "--json",
        ]),
        port,
    );
    let msg = std::fs::read_to_string(format!("{W}/messages/orm-o01-lipid-panel.hl7"))
        .unwrap()
        .replace('\n', "\r");
    // Garbage before the start byte: still answered.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"noise\r\n\x0b").unwrap();
    s.write_all(msg.as_bytes()).unwrap();
    s.write_all(&[0x1c, 0x0d]).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("MSA|AA|ORD000123"));
    drop(s);
    // Missing end bytes: the sender closes mid-message.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"\x0bMSH|^~\\&|HALF").unwrap();
    drop(s);
    // Over the size limit: refused with AR.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut big = vec![0x0b];
    big.extend(std::iter::repeat_n(b'X', 10_000));
    let _ = s.write_all(&big);
    let n = s.read(&mut buf).unwrap_or(0);
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("MSA|AR"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    drop(s);
    let t = finish(listener);
    let errors: Vec<String> = t["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["error"].as_str().map(str::to_string))
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("closed in the middle")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("limit")), "{errors:?}");
    let answered = t["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "ORD000123")
        .unwrap();
    assert_eq!(answered["garbage_bytes"], 7);
}

#[test]
fn a_receiver_that_never_acks_times_out_and_is_recorded() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        // Accept and hold connections without answering, for a bounded time.
        silent.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok((s, _)) = silent.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let start = Instant::now();
    let out = baton(&[
        "send",
        W,
        "--to",
        &format!("127.0.0.1:{port}"),
        "--scenario",
        "orders-01-happy",
        "--timeout-ms",
        "300",
        "--json",
    ])
    .output()
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5), "no hang");
    assert_eq!(out.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        s["exchanges"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no ACK"),
        "{s:#}"
    );
    // Nobody listening: retries with backoff, then a recorded error.
    let closed = free_port();
    let out = baton(&[
        "send",
        W,
        "--to",
        &format!("127.0.0.1:{closed}"),
        "--scenario",
        "orders-01-happy",
        "--retries",
        "2",
        "--backoff-ms",
        "50",
        "--timeout-ms",
        "300",
        "--json",
    ])
    .output()
    .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["exchanges"][0]["retries"], 2);
    assert!(
        s["exchanges"][0]["error"]
            .as_str()
            .unwrap()
            .contains("could not connect")
    );
    holder.join().unwrap();
}

#[test]
fn exchanges_are_captured_in_the_session_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    common::copy_dir(std::path::Path::new(W), &ws);
    let wss = ws.to_str().unwrap();
    let port = free_port();
    let listener = start(
        baton(&[
            "listen",
            wss,
            "--port",
            &port.to_string(),
            "--max-messages",
            "2",
            "--duration-s",
            "30",
            "--session",
            "live",
            "--json",
        ]),
        port,
    );
    let out = baton(&[
        "send",
        wss,
        "--to",
        &format!("127.0.0.1:{port}"),
        "--scenario",
        "orders-01-happy",
        "--scenario",
        "orders-09-unmapped-priority",
        "--session",
        "live",
    ])
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    finish(listener);
    let s = baton::session::load(&ws, "live").unwrap();
    let legs: Vec<String> = s
        .records
        .iter()
        .filter_map(|r| match &r.event {
            baton::session::Event::Exchange(x) => Some(x.leg.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(legs.iter().filter(|l| *l == "send").count(), 2);
    assert_eq!(legs.iter().filter(|l| *l == "listen").count(), 2);
    let report = dir.path().join("r.html");
    let o = baton(&[
        "report",
        wss,
        "--session",
        "live",
        "--out",
        report.to_str().unwrap(),
    ])
    .env("BATON_CONFIG_DIR", dir.path().join("cfg"))
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let html = std::fs::read_to_string(report).unwrap();
    assert!(
        html.contains("Live exchanges (4)"),
        "transcripts go into the report"
    );
    assert!(!html.contains("Delgado"), "masked there too");
}

#[test]
fn many_connections_at_once() {
    let port = free_port();
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &port.to_string(),
            "--max-messages",
            "20",
            "--duration-s",
            "30",
            "--json",
        ]),
        port,
    );
    let msg = std::fs::read_to_string(format!("{W}/messages/oru-r01-lipid-results.hl7"))
        .unwrap()
        .replace('\n', "\r");
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let m = msg.replace("LAB778812", &format!("LAB{i:06}"));
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                baton::mllp::write_frame(&mut s, m.as_bytes()).unwrap();
                let f = baton::mllp::read_frame(&mut s, &baton::mllp::Limits::default())
                    .unwrap()
                    .unwrap();
                String::from_utf8(f.payload).unwrap()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        assert!(t.join().unwrap().contains(&format!("MSA|AA|LAB{i:06}")));
    }
    let t = finish(listener);
    assert_eq!(t["summary"]["messages"], 20);
    assert_eq!(t["summary"]["errors"], 0);
}

fn node_peers() -> bool {
    let ok = std::path::Path::new("tests/peers/node_modules/node-hl7-client").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ok {
        eprintln!(
            "SKIPPED: the Node MLLP peers are not installed (.ci/run installs them with npm in tests/peers)"
        );
    }
    ok
}

#[test]
fn node_hl7_client_sends_to_baton_listen() {
    if !node_peers() {
        return;
    }
    let port = free_port();
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &port.to_string(),
            "--max-messages",
            "1",
            "--duration-s",
            "30",
            "--json",
        ]),
        port,
    );
    let out = Command::new("node")
        .args([
            "tests/peers/client.cjs",
            &port.to_string(),
            &format!("{W}/messages/orm-o01-lipid-panel.hl7"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ACK AA ORD000123"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = finish(listener);
    assert_eq!(t["exchanges"][0]["ack_code"], "AA");
}

#[test]
fn baton_send_to_node_hl7_server_flags_disagreements() {
    if !node_peers() {
        return;
    }
    let port = free_port();
    let mut node = Command::new("node");
    node.args(["tests/peers/server.cjs", &port.to_string(), "2"]);
    let server = start(node, port);
    // The probe connection above carries no message; node-hl7-server closes it.
    let out = baton(&[
        "send",
        W,
        "--to",
        &format!("127.0.0.1:{port}"),
        "--mapped",
        "--scenario",
        "orders-01-happy",
        "--scenario",
        "orders-04-language-unmapped",
        "--json",
    ])
    .output()
    .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ex = s["exchanges"].as_array().unwrap();
    assert_eq!(ex[0]["ack_code"], "AA");
    assert_eq!(ex[0]["mismatch"], false);
    // The real receiver accepted what LabCore's profile rejects: a finding.
    assert_eq!(ex[1]["ack_code"], "AA");
    assert_eq!(ex[1]["predicted"], "AE");
    assert_eq!(ex[1]["mismatch"], true);
    assert_eq!(out.status.code(), Some(1));
    let got = server.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got.stdout)
            .matches("GOT ORD000123 ORM")
            .count(),
        2
    );
}

#[test]
fn a_half_open_connection_is_dropped_and_others_are_served() {
    let port = free_port();
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &port.to_string(),
            "--timeout-ms",
            "300",
            "--max-messages",
            "1",
            "--duration-s",
            "20",
            "--json",
        ]),
        port,
    );
    // Connects, starts nothing, never closes.
    let idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // Connects, starts a frame, then goes quiet.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled.write_all(b"\x0bMSH|^~\\&|STALL").unwrap();
    // Well past the 300 ms timeout, even on a loaded machine.
    std::thread::sleep(Duration::from_millis(2000));
    let msg = std::fs::read_to_string(format!("{W}/messages/oru-r01-lipid-results.hl7"))
        .unwrap()
        .replace('\n', "\r");
    let (ack, err) = common::send_over_mllp(port, &msg, 1, Duration::from_millis(50));
    assert!(err.is_none() && ack.contains("MSA|AA"), "{err:?} {ack}");
    let t = finish(listener);
    // The stalled half-message is recorded as an error; the idle connection is simply dropped.
    assert_eq!(t["summary"]["messages"], 2, "{t:#}");
    assert_eq!(t["summary"]["errors"], 1);
    assert!(
        t["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["error"].as_str().is_some_and(|x| x.contains("stopped")))
    );
    drop((idle, stalled));
}

#[test]
fn connections_past_the_cap_are_refused_and_recorded() {
    let port = free_port();
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &port.to_string(),
            "--max-connections",
            "4",
            "--timeout-ms",
            "3000",
            "--max-messages",
            "1",
            "--duration-s",
            "30",
            "--json",
        ]),
        port,
    );
    // The start-up probe's connection may still be open: let it time out first.
    std::thread::sleep(Duration::from_millis(3500));
    let mut idle: Vec<std::net::TcpStream> = (0..10)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut closed = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 1];
        if matches!(s.read(&mut buf), Ok(0)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 6, "four served, six refused");
    drop(idle);
    // The served ones end when their peers go; a new connection is served again.
    std::thread::sleep(Duration::from_millis(500));
    let msg = std::fs::read_to_string(format!("{W}/messages/oru-r01-lipid-results.hl7"))
        .unwrap()
        .replace('\n', "\r");
    let (ack, err) = common::send_over_mllp(port, &msg, 3, Duration::from_millis(200));
    assert!(err.is_none() && ack.contains("MSA|AA"), "{err:?} {ack}");
    let t = finish(listener);
    assert_eq!(t["summary"]["refused"], 6, "{t:#}");
}

#[test]
fn the_transcript_in_memory_is_a_window_and_the_file_has_every_exchange() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.jsonl");
    let n = baton::mllp::TRANSCRIPT_WINDOW + 200;
    let listener = start(
        baton(&[
            "listen",
            W,
            "--port",
            &port.to_string(),
            "--max-messages",
            &n.to_string(),
            "--duration-s",
            "120",
            "--transcript",
            file.to_str().unwrap(),
            "--json",
        ]),
        port,
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let msg =
        "MSH|^~\\&|LAB|L|EHR|H|20240101120000-0800||ORU^R01|X|P|2.5.1\rPID|1||1^^^H^MR||Doe\r";
    for i in 0..n {
        let m = msg.replace("|X|", &format!("|C{i}|"));
        baton::mllp::write_frame(&mut s, m.as_bytes()).unwrap();
        baton::mllp::read_frame(&mut s, &baton::mllp::Limits::default())
            .unwrap()
            .unwrap();
    }
    let t = finish(listener);
    assert_eq!(t["summary"]["messages"], n);
    let kept = t["exchanges"].as_array().unwrap().len();
    assert!(
        kept <= baton::mllp::TRANSCRIPT_WINDOW,
        "{kept} kept in memory"
    );
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    assert_eq!(lines, n, "every exchange streamed to the file");
}
