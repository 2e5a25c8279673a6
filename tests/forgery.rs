//! A forger against the signed go-live report: every forgery is refused by
//! `baton verify` against the workspace's register of signers, with a
//! reason; an untouched report is accepted; openssl still verifies the
//! detached signature; masked exports leak no patient identifier.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::{EncodePublicKey, spki::der::pem::LineEnding};

struct Setup {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    cfg: PathBuf,
    report: PathBuf,
}

fn baton(cfg: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .env("BATON_CONFIG_DIR", cfg)
        .args(args)
        .output()
        .expect("run baton")
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sign(s: &Setup, name: &str, side: &str, decision: &str) -> Output {
    baton(
        &s.cfg,
        &[
            "sign",
            s.ws.to_str().unwrap(),
            "--session",
            "go-live",
            "--name",
            name,
            "--role",
            "lead",
            "--side",
            side,
            "--decision",
            decision,
            "--register-key",
        ],
    )
}

/// Ana (sender) approves, Ben (receiver) rejects; Ana exports the report.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(Path::new("test-scenarios/lab-orders-results"), &ws);
    let s = Setup {
        cfg: dir.path().join("cfg"),
        report: dir.path().join("out/report.html"),
        ws,
        _dir: dir,
    };
    assert!(sign(&s, "Ana Ortiz", "sender", "approve").status.success());
    assert!(sign(&s, "Ben Cho", "receiver", "reject").status.success());
    let o = baton(
        &s.cfg,
        &[
            "report",
            s.ws.to_str().unwrap(),
            "--session",
            "go-live",
            "--out",
            s.report.to_str().unwrap(),
            "--signer",
            "Ana Ortiz",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    s
}

fn verify(s: &Setup) -> Output {
    baton(
        &s.cfg,
        &[
            "verify",
            s.report.to_str().unwrap(),
            "--workspace",
            s.ws.to_str().unwrap(),
        ],
    )
}

fn sibling(p: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", p.display()))
}

/// Signs the report file with `key`, writing the signature and that key
/// beside it, as a forger would.
fn resign(report: &Path, key: &ed25519_dalek::SigningKey) {
    let html = std::fs::read(report).unwrap();
    std::fs::write(sibling(report, ".sig"), key.sign(&html).to_bytes()).unwrap();
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(sibling(report, ".pub.pem"), pem).unwrap();
}

/// Ana's own key, as a registered signer turned forger would use it.
fn key_of(cfg: &Path, file: &str) -> ed25519_dalek::SigningKey {
    let hex = std::fs::read_to_string(cfg.join("keys").join(file)).unwrap();
    let bytes = baton::session::from_hex(hex.trim()).unwrap();
    ed25519_dalek::SigningKey::from_bytes(&bytes.try_into().unwrap())
}

/// Rewrites the embedded data with `edit`, fixes its hash, re-renders the
/// visible report from it (so text and data agree), and returns the HTML.
fn forge_data(report: &Path, edit: impl Fn(&mut serde_json::Value)) -> String {
    let html = std::fs::read_to_string(report).unwrap();
    let data = html
        .split("<script type=\"application/json\" id=\"baton-data\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .unwrap()
        .replace("<\\/", "</");
    let mut v: serde_json::Value = serde_json::from_str(&data).unwrap();
    edit(&mut v);
    let model: baton::report::ReportModel = serde_json::from_value(v).unwrap();
    let forged = baton::report::render_html(&model);
    std::fs::write(report, &forged).unwrap();
    forged
}

#[test]
fn an_untouched_report_verifies_and_openssl_agrees() {
    let s = setup();
    let o = verify(&s);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("VERIFIED against"), "{text}");
    assert!(
        text.contains("Ana Ortiz (lead, sender) approve with key")
            && text.contains("Ben Cho (lead, receiver) reject with key"),
        "who signed what with which key: {text}"
    );
    assert!(text.contains("first use"), "{text}");
    // Without a trust anchor it says it checked integrity only, and does not pass.
    let o = baton(&s.cfg, &["verify", s.report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("INTEGRITY ONLY"), "{}", out(&o));
    // The README's openssl recipe verifies the detached signature.
    match Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(sibling(&s.report, ".pub.pem"))
        .arg("-rawin")
        .arg("-in")
        .arg(&s.report)
        .arg("-sigfile")
        .arg(sibling(&s.report, ".sig"))
        .output()
    {
        Ok(o) => assert!(
            String::from_utf8_lossy(&o.stdout).contains("Signature Verified Successfully"),
            "{}",
            out(&o)
        ),
        Err(_) => eprintln!("SKIPPED: openssl is not installed"),
    }
}

#[test]
fn an_edited_report_resigned_with_the_forgers_own_key_fails() {
    let s = setup();
    let html = std::fs::read_to_string(&s.report).unwrap();
    assert!(html.contains("NOT READY"));
    std::fs::write(&s.report, html.replace("NOT READY", "READY FOR GO-LIVE")).unwrap();
    let mallory = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    resign(&s.report, &mallory);
    let o = verify(&s);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("no registered, unrevoked key"), "{text}");
    assert!(text.contains("differs from its embedded data"), "{text}");
}

#[test]
fn visible_text_edited_by_a_registered_signer_fails() {
    let s = setup();
    let html = std::fs::read_to_string(&s.report).unwrap();
    // Ben's rejection shown as an approval, in the visible table only.
    let edited = html.replacen(
        "<td>receiver</td><td>reject</td>",
        "<td>receiver</td><td>approve</td>",
        1,
    );
    assert_ne!(edited, html);
    std::fs::write(&s.report, edited).unwrap();
    resign(&s.report, &key_of(&s.cfg, "ana-ortiz.ed25519"));
    let o = verify(&s);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("differs from its embedded data"), "{text}");
    assert!(
        text.contains("signed by Ana Ortiz"),
        "the file signature itself is Ana's: {text}"
    );
}

#[test]
fn a_decision_changed_in_the_data_fails_even_with_hash_and_text_redone() {
    let s = setup();
    forge_data(&s.report, |v| {
        for so in v["signoffs"].as_array_mut().unwrap() {
            if so["decision"] == "reject" {
                so["decision"] = "approve".into();
            }
        }
        v["go_live"]["ready"] = true.into();
        v["go_live"]["receiver_approved_by"] = "Ben Cho".into();
        v["go_live"]["missing"] = serde_json::json!([]);
    });
    resign(&s.report, &key_of(&s.cfg, "ana-ortiz.ed25519"));
    let o = verify(&s);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Ben Cho (lead, receiver) approve with key")
            && text.contains("the signature does not match the record"),
        "{text}"
    );
    assert!(
        text.contains("the report says READY but its data gives NOT READY"),
        "{text}"
    );
}

#[test]
fn a_signoff_with_an_unregistered_key_is_untrusted_and_fails() {
    let s = setup();
    // Mallory signs an approval under Ben's name with a key of her own.
    let mallory = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let ws = baton::Workspace::load(&s.ws).unwrap();
    let results = baton::replay::replay_all(&ws);
    let digest = baton::session::content_digest(&ws.files, &baton::session::summaries(&results));
    let by = baton::session::Person {
        name: "Ben Cho".into(),
        role: "lead".into(),
        side: baton::Side::Receiver,
    };
    let sig = mallory.sign(&baton::session::signoff_message(
        &by,
        baton::session::Decision::Approve,
        "",
        &digest,
    ));
    baton::session::append(
        &s.ws,
        "go-live",
        baton::session::Event::Signoff {
            by,
            decision: baton::session::Decision::Approve,
            comment: String::new(),
            content_digest: digest,
            public_key: baton::workspace::hex(mallory.verifying_key().as_bytes()),
            signature: baton::workspace::hex(&sig.to_bytes()),
        },
    )
    .unwrap();
    let o = baton(
        &s.cfg,
        &[
            "report",
            s.ws.to_str().unwrap(),
            "--session",
            "go-live",
            "--out",
            s.report.to_str().unwrap(),
            "--signer",
            "Ana Ortiz",
        ],
    );
    assert!(o.status.success());
    let html = std::fs::read_to_string(&s.report).unwrap();
    assert!(
        html.contains("untrusted") && html.contains("NOT READY"),
        "the forged approval does not count"
    );
    let o = verify(&s);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("is unregistered for Ben Cho on the receiver side"),
        "{text}"
    );
}

#[test]
fn a_revoked_key_signs_nothing_and_fails_verification() {
    let s = setup();
    let o = baton(
        &s.cfg,
        &[
            "signers",
            "revoke",
            s.ws.to_str().unwrap(),
            "--name",
            "Ben Cho",
            "--by",
            "Ana Ortiz",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let listed = out(&baton(&s.cfg, &["signers", "list", s.ws.to_str().unwrap()]));
    assert!(listed.contains("REVOKED"), "{listed}");
    // Ben's earlier sign-off no longer counts: the report fails.
    let o = verify(&s);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("is revoked for Ben Cho"), "{text}");
    // And Ben cannot sign again with it, even asking to register it.
    let o = sign(&s, "Ben Cho", "receiver", "approve");
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("revoked"), "{}", out(&o));
}

#[test]
fn a_key_file_that_cannot_be_read_is_refused_clearly() {
    let s = setup();
    let key = s.cfg.join("keys/ana-ortiz.ed25519");
    std::fs::remove_file(&key).unwrap();
    std::fs::create_dir(&key).unwrap(); // unreadable as a file, for root too
    let o = sign(&s, "Ana Ortiz", "sender", "approve");
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("cannot be read"), "{}", out(&o));
}

/// One planted identifier per Safe Harbor class, where HL7 v2 carries it.
const PLANTED: &[(&str, &str, &[&str])] = &[
    ("PID-5", "Quixotesque^Zebulon", &["Quixotesque", "Zebulon"]),
    (
        "PID-11",
        "742 Evergreen Terrace^^Shelbyville^IL^62565^USA",
        &["742 Evergreen", "Shelbyville", "62565"],
    ),
    (
        "PID-13",
        "^PRN^PH^zeb@example.net^1^217^5557788",
        &["zeb@example.net", "5557788"],
    ),
    ("PID-19", "987-65-4321", &["987-65-4321"]),
    (
        "PID-14",
        "^NET^Internet^https://zeb.example.net/10.20.30.40",
        &["zeb.example.net", "10.20.30.40"],
    ),
    ("PID-3", "MRNZQ55501^^^NORTHGATE^MR", &["MRNZQ55501"]),
    ("PID-18", "ACCTZQ7781", &["ACCTZQ7781"]),
    ("PID-7", "19510627", &["19510627"]),
    ("PV1-19", "VISZQ3321", &["VISZQ3321"]),
    ("IN1-36", "POLZQ9911", &["POLZQ9911"]),
    ("OBX-18", "DEVZQ4040", &["DEVZQ4040"]),
];

#[test]
fn masked_exports_of_every_bundled_workspace_leak_no_planted_identifier() {
    let mut names: Vec<PathBuf> = std::fs::read_dir("test-scenarios")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("baton.toml").exists())
        .collect();
    names.sort();
    for src in names {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        copy_dir(&src, &ws);
        let mut facilities = Vec::new();
        for f in std::fs::read_dir(ws.join("messages")).unwrap().flatten() {
            let bytes = std::fs::read(f.path()).unwrap();
            let parsed = baton::hl7::parse_bytes(&bytes);
            let mut text = String::new();
            for m in parsed.messages {
                let mut m = m;
                for (path, value, _) in PLANTED {
                    m.set(&path.parse().unwrap(), value);
                }
                facilities.push(m.get_or_empty(&"MSH-4.1".parse().unwrap()).to_string());
                text.push_str(&m.encode_wire());
            }
            std::fs::write(f.path(), text).unwrap();
        }
        let report = dir.path().join("report.html");
        let o = baton(
            &dir.path().join("cfg"),
            &[
                "report",
                ws.to_str().unwrap(),
                "--out",
                report.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}: {}", src.display(), out(&o));
        let html = std::fs::read_to_string(&report).unwrap();
        let json = std::fs::read_to_string(report.with_extension("json")).unwrap();
        for (path, _, needles) in PLANTED {
            for n in *needles {
                assert!(
                    !html.contains(n),
                    "{}: {path} `{n}` leaked into the HTML",
                    src.display()
                );
                assert!(
                    !json.contains(n),
                    "{}: {path} `{n}` leaked into the JSON",
                    src.display()
                );
            }
        }
        // Facility names in MSH stay readable; the birth year stays.
        for f in facilities.iter().filter(|f| !f.is_empty()) {
            assert!(
                html.contains(&format!("|{f}")),
                "{}: facility {f} masked",
                src.display()
            );
        }
        assert!(
            html.contains("1951"),
            "{}: the birth year stays",
            src.display()
        );
        // The identifiers were there to find: the unmasked export shows them.
        let raw = dir.path().join("raw.html");
        let o = baton(
            &dir.path().join("cfg"),
            &[
                "report",
                ws.to_str().unwrap(),
                "--out",
                raw.to_str().unwrap(),
                "--no-mask",
            ],
        );
        assert!(o.status.success());
        let raw = std::fs::read_to_string(&raw).unwrap();
        assert!(
            raw.contains("Quixotesque") && raw.contains("987-65-4321"),
            "{}",
            src.display()
        );
        assert!(
            html.contains("^IL^625^USA"),
            "{}: state and ZIP3 stay",
            src.display()
        );
    }
}
