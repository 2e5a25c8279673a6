//! Validates CDC's PHLIP-FLU sample against its NIST profile in a loop, for
//! profiling (`perf record cargo run --release --example validate_loop`).

fn main() -> anyhow::Result<()> {
    let v = baton::validate::Validator::load(
        std::path::Path::new("tests/data/corpus/profiles/nist/cdc_PHLIP-FLU-2.5.1/PROFILE.xml"),
        None,
    )?;
    let text =
        std::fs::read("tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt")?;
    let m = baton::hl7::parse_bytes(&text).messages.remove(0);
    let mut n = 0;
    for _ in 0..20_000 {
        n += v.validate_message(&m).findings.len();
    }
    println!("{n}");
    Ok(())
}
