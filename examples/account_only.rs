//! Runs only the field account in a loop (a profiling aid).
use std::path::Path;
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
    let mut k = 5;
    while lines.iter().map(|l| l.len() + 1).sum::<usize>() < 2048 {
        lines.insert(
            lines.len() - 1,
            obx.replacen("OBX|2|", &format!("OBX|{k}|"), 1),
        );
        k += 1;
    }
    let text = lines.join("\r") + "\r";
    let msg = baton::hl7::parse_one(&text).expect("parse");
    let mapped = baton::mapping::apply(&h.rules, &ws.tables, &msg);
    let sender = baton::profile::check(&h.sender, &ws.tables, &msg);
    let receiver = baton::profile::check(&h.receiver, &ws.tables, &mapped.message);
    sizes();
    let mut n = 0;
    for _ in 0..30_000 {
        n += baton::replay::account(&msg, &mapped, &sender, &receiver).len();
    }
    println!("{n}");
}

#[allow(dead_code)]
fn sizes() {
    println!(
        "FieldResult {} Outcome {} Path {} Effect {} Finding {}",
        std::mem::size_of::<baton::replay::FieldResult>(),
        std::mem::size_of::<baton::Outcome>(),
        std::mem::size_of::<baton::hl7::Path>(),
        std::mem::size_of::<baton::mapping::Effect>(),
        std::mem::size_of::<baton::Finding>()
    );
}
