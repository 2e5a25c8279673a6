//! Times each replay stage on the bundled ORU (a profiling aid).
use std::path::Path;
use std::time::Instant;

fn time<T>(label: &str, n: usize, mut f: impl FnMut() -> T) {
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    println!(
        "{label:>16}: {:.1} µs",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

fn main() {
    let ws =
        baton::Workspace::load(Path::new("test-scenarios/lab-orders-results")).expect("workspace");
    let h = ws.handoff("results").expect("handoff");
    let base = std::fs::read_to_string(
        "test-scenarios/lab-orders-results/messages/oru-r01-lipid-results.hl7",
    )
    .expect("message");
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    let obx = lines
        .iter()
        .find(|l| l.starts_with("OBX|2|"))
        .cloned()
        .expect("OBX");
    let grow = std::env::args().nth(1).is_some();
    let mut k = 5;
    while grow && lines.iter().map(|l| l.len() + 1).sum::<usize>() < 2048 {
        lines.insert(
            lines.len() - 1,
            obx.replacen("OBX|2|", &format!("OBX|{k}|"), 1),
        );
        k += 1;
    }
    let text = lines.join("\r") + "\r";
    let msg = baton::hl7::parse_one(&text).expect("parse");
    let mapped = baton::mapping::apply(&h.rules, &ws.tables, &msg);
    let n = 20000;
    time("parse", n, || baton::hl7::parse_one(&text));
    time("clone", n, || msg.clone());
    time("sender check", n, || {
        baton::profile::check(&h.sender, &ws.tables, &msg)
    });
    time("apply", n, || {
        baton::mapping::apply(&h.rules, &ws.tables, &msg)
    });
    time("receiver check", n, || {
        baton::profile::check(&h.receiver, &ws.tables, &mapped.message)
    });
    time("populated", n, || msg.populated_fields());
    time("encode_wire", n, || mapped.message.encode_wire());
    let sender = baton::profile::check(&h.sender, &ws.tables, &msg);
    let receiver = baton::profile::check(&h.receiver, &ws.tables, &mapped.message);
    time("account", n, || {
        baton::replay::account(&msg, &mapped, &sender, &receiver)
    });
    time("ack", n, || {
        baton::ack::build(&mapped.message, &h.receiver, &receiver.findings)
    });
    time("drop msg", n, || drop(std::hint::black_box(msg.clone())));
    let paths: Vec<baton::hl7::Path> = msg.populated_fields().into_iter().map(|f| f.path).collect();
    time("name_of x59", n, || {
        paths
            .iter()
            .map(|p| baton::hl7::names::name_of(p).len())
            .sum::<usize>()
    });
    time("get x59", n, || {
        paths
            .iter()
            .map(|p| mapped.message.get_shared(p).map_or(0, |v| v.len()))
            .sum::<usize>()
    });
    time("replay_message", n, || {
        baton::replay::replay_message(h, &ws.tables, msg.clone())
    });
    time("replay_text", n, || {
        baton::replay::replay_text(h, &ws.tables, &text)
    });
}
