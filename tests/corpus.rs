//! Every file of the corpus (tests/data/corpus, copied from public sources:
//! see its SOURCES.md) goes through `inspect` without a panic
//! or a hang; valid messages parse cleanly and round-trip byte for byte;
//! malformed ones give located problems.

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use baton::hl7;
use baton::inspect::{self, FileView};

const CORPUS: &str = "tests/data/corpus";

fn files(dir: &str) -> Vec<PathBuf> {
    common::files(&format!("{CORPUS}/{dir}"), &[])
}

/// Inspects a file on another thread, failing the test if it takes over 10 s.
fn inspect_bounded(path: &Path) -> FileView {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.display().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(inspect::inspect_bytes(&name, &bytes));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("inspect hung or panicked on {}", path.display()))
}

#[test]
fn corpus_is_present() {
    assert!(
        Path::new(CORPUS).join("messages").is_dir(),
        "the corpus must sit at tests/data/corpus"
    );
}

#[test]
fn valid_messages_parse_cleanly_and_round_trip() {
    let mut count = 0;
    for dir in ["messages", "batch"] {
        for path in files(dir) {
            let view = inspect_bounded(&path);
            assert!(!view.messages.is_empty(), "{}: no message", path.display());
            let errors: Vec<_> = view
                .problems
                .iter()
                .filter(|p| p.severity == baton::Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            let bytes = std::fs::read(&path).unwrap();
            let parsed = hl7::parse_bytes(&bytes);
            for m in &parsed.messages {
                assert_eq!(m.encode(), m.text, "{} does not round-trip", path.display());
                count += 1;
            }
        }
    }
    assert!(
        count >= 110,
        "expected the corpus's 110+ messages, read {count}"
    );
}

#[test]
fn malformed_files_give_located_problems_never_a_panic() {
    let mut with_problems = 0;
    for path in files("malformed").into_iter().chain(files("payloads")) {
        let view = inspect_bounded(&path);
        for p in &view.problems {
            assert!(
                p.line >= 1 && p.column >= 1,
                "{}: unlocated {p:?}",
                path.display()
            );
            assert!(!p.message.is_empty());
        }
        if !view.problems.is_empty() {
            with_problems += 1;
        }
    }
    // Fuzzer findings, bad delimiters, comments, empty file, JSON, payload.
    assert!(
        with_problems >= 15,
        "only {with_problems} malformed files reported problems"
    );
}

#[test]
fn known_bad_inputs_are_reported_where_they_are() {
    let view = inspect_bounded(&Path::new(CORPUS).join("malformed/cdc_Lyme_WithBadDelimiters.txt"));
    let first = &view.problems[0];
    assert_eq!((first.line, first.column), (1, 5));
    assert!(first.message.contains("appears twice"), "{}", first.message);

    let view = inspect_bounded(&Path::new(CORPUS).join("malformed/cdc_empty.txt"));
    assert!(view.problems[0].message.contains("empty"));

    let view = inspect_bounded(&Path::new(CORPUS).join("malformed/eff_Sample-ADT.txt"));
    assert!(view.problems.iter().any(|p| p.line == 6));
}

#[test]
fn escapes_after_non_ascii_text_decode_correctly() {
    // hl7-parser's decoder breaks here; ours must not.
    let m = hl7::parse_one("MSH|^~\\&|A\rOBX|1|ST|X||µg Müller\\T\\Straße \\F\\ end\r").unwrap();
    assert_eq!(m.value(&"OBX-5".parse().unwrap()), "µg Müller&Straße | end");
}

#[test]
fn large_payload_is_read_in_one_piece() {
    let payload =
        std::fs::read_to_string(Path::new(CORPUS).join("payloads/hapi_uuencoded_escaped_obx5.txt"))
            .unwrap();
    let text = format!(
        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\rOBX|1|ED|DOC||{}\r",
        payload.trim_end()
    );
    let m = hl7::parse_one(&text).unwrap();
    assert_eq!(m.encode(), text);
    let value = m.value(&"OBX-5".parse().unwrap());
    assert!(value.len() > 60_000, "{}", value.len());
    assert!(value.contains("\r\n"));
}

/// `inspect --json` writes each file while reading it, straight from the
/// messages; its bytes are exactly what serializing the whole file's views
/// gives, for every file of the corpus and for empty, junk and escaped input.
#[test]
fn streamed_inspect_json_is_the_documented_shape_byte_for_byte() {
    let mut inputs: Vec<(String, Vec<u8>)> = files("")
        .into_iter()
        .filter(|p| !p.extension().is_some_and(|e| e == "md" || e == "xml"))
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (p.display().to_string(), bytes)
        })
        .collect();
    assert!(inputs.len() > 20, "{} files", inputs.len());
    for (name, text) in [
        ("empty", ""),
        ("junk", "hello\nworld\n"),
        (
            "escapes",
            "MSH|^~\\&|A|B|C|D|2024||ORU^R01|1|P|2.5.1\rOBX|1|ST|x^y~z||a\\T\\b\\X0D\\^^|\\E\\\rNTE|1||\\F\rZZZ|^|~|^~^\r",
        ),
        ("latin1", "MSH|^~\\&|A\rPID|1||\u{e9}\r"),
    ] {
        inputs.push((name.into(), text.as_bytes().to_vec()));
    }
    inputs.push((
        "latin1 bytes".into(),
        b"MSH|^~\\&|A\rPID|1||\xe9\r".to_vec(),
    ));
    for (name, bytes) in &inputs {
        let mut streamed = Vec::new();
        let errors = inspect::write_file_json(&mut streamed, name, bytes).expect("write");
        let whole = inspect::FileReport::read(name, bytes);
        let expected = serde_json::to_vec(&whole).expect("json");
        assert_eq!(
            String::from_utf8_lossy(&streamed),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        assert_eq!(errors, whole.has_errors(), "{name}");
    }
}
