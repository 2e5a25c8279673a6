//! Verifying a go-live report without trusting anything that travels with
//! it. What is checked:
//!
//! 1. the embedded data matches its recorded SHA-256;
//! 2. the HTML is exactly what the embedded data renders to, byte for byte
//!    (no visible text can change without the data changing);
//! 3. the content digest follows from the data's inputs and results;
//! 4. each sign-off's signature, recomputed from its whole record, and its
//!    key against the register of signers (the trust anchor);
//! 5. each sign-off's status and the go-live verdict, recomputed from the data;
//! 6. the report file's detached signature, against the registered keys,
//!    never against the key lying beside the file.
//!
//! With no trust anchor, 1–3 and the signatures themselves are checked, and
//! the result says clearly that who signed was not.

use std::path::Path;

use ed25519_dalek::{Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{ReportError, ReportModel, render_html, sibling, trust_text};
use crate::finding::Side;
use crate::replay::Verdict;
use crate::session::{self, Decision, Event, Person, Record, ScenarioSummary, SignoffStatus};
use crate::signers::Signers;
use crate::workspace::hex;

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// What was checked and held, one line each.
    pub checked: Vec<String>,
    /// Who signed what, with which key.
    pub signoffs: Vec<String>,
    /// Why the report cannot be trusted (empty: it can).
    pub problems: Vec<String>,
    /// Whether a register of signers was given to check keys against.
    pub anchored: bool,
}

impl Verification {
    /// Everything holds, against a trust anchor.
    pub fn valid(&self) -> bool {
        self.anchored && self.problems.is_empty()
    }
}

fn bytes_of(path: &Path) -> Result<Vec<u8>, ReportError> {
    std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn verifying_key(hex_key: &str) -> Option<VerifyingKey> {
    let pk: [u8; 32] = session::from_hex(hex_key)?.try_into().ok()?;
    VerifyingKey::from_bytes(&pk).ok()
}

fn signature(bytes: &[u8]) -> Option<ed25519_dalek::Signature> {
    let arr: [u8; 64] = bytes.try_into().ok()?;
    Some(ed25519_dalek::Signature::from_bytes(&arr))
}

/// Verifies a report. `anchor`: the register of signers to trust (from the
/// workspace, or a file the verifier keeps). `Err` only when a file cannot
/// be read; every other failure is a problem in the result.
pub fn verify(html_path: &Path, anchor: Option<&Signers>) -> Result<Verification, ReportError> {
    let mut v = Verification {
        anchored: anchor.is_some(),
        ..Default::default()
    };
    let html = bytes_of(html_path)?;
    let Ok(text) = String::from_utf8(html.clone()) else {
        v.problems.push("the report is not UTF-8 text".into());
        return Ok(v);
    };
    let Some(model) = embedded_model(&text, &mut v) else {
        return Ok(v);
    };
    // 2. Every visible character follows from the data.
    if render_html(&model) == text {
        v.checked
            .push("the visible report is exactly what its data renders to".into());
    } else {
        v.problems.push(
            "the visible report differs from its embedded data: text was edited after export"
                .into(),
        );
    }
    // 3. The content digest follows from the inputs and results.
    let summaries: Vec<ScenarioSummary> = model
        .scenarios
        .iter()
        .map(|s| ScenarioSummary {
            scenario: s.id.clone(),
            verdict: s.verdict,
            ack_code: s.ack_code.clone(),
            counts: s.counts,
        })
        .collect();
    let digest = session::content_digest(&model.inputs, &summaries);
    if digest == model.content_digest {
        v.checked.push(format!(
            "the content digest {digest} follows from the inputs and results"
        ));
    } else {
        v.problems.push(format!(
            "the content digest {} does not follow from the report's inputs and results ({digest})",
            model.content_digest
        ));
    }
    // 4, 5. Sign-offs and the go-live verdict, recomputed from the records.
    let records: Vec<Record> = model
        .signoffs
        .iter()
        .map(|s| Record {
            id: s.id.clone(),
            at: s.at.clone(),
            event: Event::Signoff {
                by: s.by.clone(),
                decision: decision_of(&s.decision),
                comment: s.comment.clone(),
                content_digest: s.content_digest.clone(),
                public_key: s.public_key.clone(),
                signature: s.signature.clone(),
            },
        })
        .collect();
    let statuses = check_signoffs(&model, &records, &digest, anchor, &mut v);
    let all_met = model.scenarios.iter().all(|s| s.verdict == Verdict::Met);
    if anchor.is_some() {
        let go_live = session::go_live_from(&records, &statuses, all_met);
        if go_live == model.go_live {
            v.checked.push(format!(
                "the go-live verdict ({}) follows from the data",
                if go_live.ready { "ready" } else { "not ready" }
            ));
        } else {
            v.problems.push(format!(
                "the report says {} but its data gives {}{}",
                if model.go_live.ready {
                    "READY"
                } else {
                    "NOT READY"
                },
                if go_live.ready { "READY" } else { "NOT READY" },
                if go_live.missing.is_empty() {
                    String::new()
                } else {
                    format!(" (missing {})", go_live.missing.join("; "))
                }
            ));
        }
    }
    // 6. The file's own signature.
    check_file_signature(html_path, &html, anchor, &mut v)?;
    Ok(v)
}

/// 1. The embedded data, checked against its hash and read.
fn embedded_model(text: &str, v: &mut Verification) -> Option<ReportModel> {
    let meta = text
        .split("name=\"baton-data-sha256\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    let data = text
        .split("<script type=\"application/json\" id=\"baton-data\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next());
    let (Some(meta), Some(data)) = (meta, data) else {
        v.problems
            .push("no embedded data or data hash: this is not a Baton report".into());
        return None;
    };
    if hex(&Sha256::digest(data.as_bytes())) != meta {
        v.problems
            .push("the embedded data does not match its recorded SHA-256".into());
        return None;
    }
    v.checked
        .push(format!("the embedded data matches its SHA-256 {meta}"));
    match serde_json::from_str::<ReportModel>(&data.replace("<\\/", "</")) {
        Ok(m) => Some(m),
        Err(e) => {
            v.problems
                .push(format!("the embedded data cannot be read as a report: {e}"));
            None
        }
    }
}

fn decision_of(text: &str) -> Decision {
    if text == "approve" {
        Decision::Approve
    } else {
        Decision::Reject
    }
}

/// Each sign-off: its signature from the whole record, its key against the
/// register, its status recomputed and compared with the one written.
fn check_signoffs(
    model: &ReportModel,
    records: &[Record],
    digest: &str,
    anchor: Option<&Signers>,
    v: &mut Verification,
) -> Vec<Option<SignoffStatus>> {
    let mut out = Vec::new();
    for (s, record) in model.signoffs.iter().zip(records) {
        // The same checks a session makes; a decision written other than
        // `approve` / `reject` is not what was signed.
        let known_decision = s.decision == decision_text(decision_of(&s.decision));
        let status = match anchor {
            Some(a) => session::signoff_status(record, digest, a),
            None => session::signature_status(record, digest),
        }
        .filter(|_| known_decision)
        .unwrap_or(SignoffStatus::Invalid);
        let sig_ok = status != SignoffStatus::Invalid;
        let fp = crate::signers::fingerprint(&s.public_key);
        let who = describe(&s.by, &s.decision, &fp);
        let trust = anchor.map(|a| a.trust(&s.by.name, s.by.side, &s.public_key));
        let standing = match trust {
            Some(t) => trust_text(t),
            None => "key not checked: no register given".into(),
        };
        v.signoffs.push(format!(
            "{who}: signature {}, key {standing}, {}",
            if sig_ok { "good" } else { "BAD" },
            status.as_str()
        ));
        if !sig_ok {
            v.problems.push(format!(
                "{who}: the signature does not match the record (name, role, side, decision, comment or content changed)"
            ));
        }
        if let Some(t) = trust
            && !matches!(t, crate::signers::KeyTrust::Registered(_))
        {
            v.problems.push(format!(
                "{who}: key {fp} is {} for {} on the {} side",
                trust_text(t),
                s.by.name,
                s.by.side.as_str()
            ));
        }
        if anchor.is_some() && status != s.status {
            v.problems.push(format!(
                "{who}: the report says {} but it is {}",
                s.status.as_str(),
                status.as_str()
            ));
        }
        out.push(Some(status));
    }
    out
}

fn decision_text(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    }
}

fn describe(by: &Person, decision: &str, fp: &str) -> String {
    let side = match by.side {
        Side::Sender => "sender",
        Side::Receiver => "receiver",
        Side::Mapping => "mapping",
    };
    format!(
        "{} ({}, {side}) {decision} with key {fp}",
        by.name,
        if by.role.is_empty() {
            "no role"
        } else {
            &by.role
        }
    )
}

/// The report file's detached signature: against every registered key when
/// a register is given; else against the key beside the file, said as such.
fn check_file_signature(
    html_path: &Path,
    html: &[u8],
    anchor: Option<&Signers>,
    v: &mut Verification,
) -> Result<(), ReportError> {
    let sig_path = sibling(html_path, ".sig");
    let Some(sig) = signature(&bytes_of(&sig_path)?) else {
        v.problems
            .push(format!("{} is not a 64-byte signature", sig_path.display()));
        return Ok(());
    };
    match anchor {
        Some(signers) => {
            let by = signers.active().find(|s| {
                verifying_key(&s.public_key).is_some_and(|k| k.verify(html, &sig).is_ok())
            });
            match by {
                Some(s) => v.checked.push(format!(
                    "the report file is signed by {} ({}, {}) with registered key {}",
                    s.name,
                    s.role,
                    s.side.as_str(),
                    s.fingerprint()
                )),
                None => {
                    let beside = std::fs::read_to_string(sibling(html_path, ".pub.pem"))
                        .ok()
                        .and_then(|pem| {
                            use ed25519_dalek::pkcs8::DecodePublicKey;
                            VerifyingKey::from_public_key_pem(&pem).ok()
                        })
                        .map(|k| crate::signers::fingerprint(&hex(k.as_bytes())))
                        .unwrap_or_else(|| "unreadable".into());
                    v.problems.push(format!(
                        "the report file's signature was made by no registered, unrevoked key (the key beside the file is {beside}): it was changed after signing, or signed by someone else"
                    ));
                }
            }
        }
        None => {
            let pem = std::fs::read_to_string(sibling(html_path, ".pub.pem")).unwrap_or_default();
            use ed25519_dalek::pkcs8::DecodePublicKey;
            match VerifyingKey::from_public_key_pem(&pem) {
                Ok(k) if k.verify(html, &sig).is_ok() => v.checked.push(format!(
                    "the report file's signature matches the key beside it ({}); INTEGRITY ONLY: who holds that key was not checked (give --workspace or --signers)",
                    crate::signers::fingerprint(&hex(k.as_bytes()))
                )),
                _ => v.problems.push(
                    "the report file's signature does not match the key beside it".into(),
                ),
            }
        }
    }
    Ok(())
}
