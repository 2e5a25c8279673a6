//! `baton sign`, `signers`, `report` and `verify`: sign-offs by registered
//! signers, the signed report and its verification against a trust anchor.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Subcommand;

use super::{DecisionArg, SideArg, Who, load_workspace};
use baton::replay::{self, Verdict};
use baton::signers::{Signer, Signers, Trust};

#[derive(Subcommand)]
pub enum SignersAction {
    /// List who may sign for each side, with key fingerprints.
    List { workspace: std::path::PathBuf },
    /// Register a person's public key for a side.
    Add {
        workspace: std::path::PathBuf,
        /// The signer's name, as they sign.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        role: String,
        #[arg(long, value_enum)]
        side: SideArg,
        /// Their Ed25519 public key: 64 hex digits, or a PEM file (.pub.pem).
        /// Without it, the key of `--name` on this machine (created if needed).
        #[arg(long)]
        key: Option<String>,
        /// Who registers it.
        #[arg(long)]
        by: String,
    },
    /// Revoke a person's keys (or one, by the start of its fingerprint).
    Revoke {
        workspace: std::path::PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        key: Option<String>,
        /// Who revokes it.
        #[arg(long)]
        by: String,
    },
}

/// The register at `path`, or the exit code (2) after saying why it cannot be read.
fn read_register(path: &Path) -> Result<Signers, u8> {
    Signers::read(path).map_err(|e| {
        eprintln!("baton: {e}");
        2
    })
}

/// A public key given as hex or as a PEM file.
fn public_key_hex(given: &str) -> Result<String, String> {
    let text = given.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(text.to_lowercase());
    }
    let pem = std::fs::read_to_string(text)
        .map_err(|e| format!("`{text}` is neither 64 hex digits nor a readable PEM file: {e}"))?;
    use ed25519_dalek::pkcs8::DecodePublicKey;
    ed25519_dalek::VerifyingKey::from_public_key_pem(&pem)
        .map(|k| baton::workspace::hex(k.as_bytes()))
        .map_err(|e| format!("{text}: not an Ed25519 public key: {e}"))
}

pub fn cmd_signers(action: SignersAction) -> Result<u8> {
    match action {
        SignersAction::List { workspace } => {
            let path = Signers::path(&workspace);
            let s = match read_register(&path) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            if s.signer.is_empty() {
                say!("no registered signers in {}", path.display());
            }
            for x in &s.signer {
                say!(
                    "{:<24} {:<8} {}  {}, added {} by {}{}",
                    format!("{} ({})", x.name, x.role),
                    x.side.as_str(),
                    x.fingerprint(),
                    x.trust.as_str(),
                    x.added,
                    x.added_by,
                    x.revoked
                        .as_ref()
                        .map(|at| format!(
                            ", REVOKED {at} by {}",
                            x.revoked_by.as_deref().unwrap_or("")
                        ))
                        .unwrap_or_default()
                );
            }
            Ok(0)
        }
        SignersAction::Add {
            workspace,
            name,
            role,
            side,
            key,
            by,
        } => {
            let public = match key {
                Some(k) => public_key_hex(&k),
                None => baton::session::public_key_of(&name).map_err(|e| e.to_string()),
            };
            let public = match public {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("baton: {e}");
                    return Ok(2);
                }
            };
            let path = Signers::path(&workspace);
            let mut s = match read_register(&path) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let signer = Signer {
                name,
                role,
                side: side.into(),
                public_key: public,
                added: baton::session::now_rfc3339(),
                added_by: by,
                trust: Trust::Registered,
                revoked: None,
                revoked_by: None,
            };
            let line = format!(
                "registered {} ({} side) with key {}",
                signer.name,
                signer.side.as_str(),
                signer.fingerprint()
            );
            if let Err(e) = s.add(signer).and_then(|_| s.save(&path)) {
                eprintln!("baton: {e}");
                return Ok(1);
            }
            say!("{line} in {}", path.display());
            Ok(0)
        }
        SignersAction::Revoke {
            workspace,
            name,
            key,
            by,
        } => {
            let path = Signers::path(&workspace);
            let mut s = match read_register(&path) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let n = s.revoke(&name, key.as_deref(), &by, &baton::session::now_rfc3339());
            if n == 0 {
                eprintln!(
                    "baton: {name} has no active key{} in {}",
                    key.map(|k| format!(" starting {k}")).unwrap_or_default(),
                    path.display()
                );
                return Ok(1);
            }
            if let Err(e) = s.save(&path) {
                eprintln!("baton: {e}");
                return Ok(2);
            }
            say!("revoked {n} key(s) of {name} in {}", path.display());
            Ok(0)
        }
    }
}

pub fn cmd_sign(
    path: &Path,
    session: &str,
    who: &Who,
    decision: DecisionArg,
    comment: &str,
    register_key: bool,
) -> Result<u8> {
    let ws = workspace_or_return!(path);
    let results = replay::replay_all(&ws);
    let decision = match decision {
        DecisionArg::Approve => baton::session::Decision::Approve,
        DecisionArg::Reject => baton::session::Decision::Reject,
    };
    let signed = match baton::session::sign(
        &ws,
        session,
        who.person(),
        decision,
        comment,
        &results,
        register_key,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(1);
        }
    };
    if signed.registered_on_first_use {
        let key = match &signed.record.event {
            baton::session::Event::Signoff { public_key, .. } => {
                baton::signers::fingerprint(public_key)
            }
            _ => String::new(),
        };
        say!(
            "registered {}'s key {key} for the {} side on first use (signers.toml: commit it with the workspace)",
            who.name,
            who.person().side.as_str()
        );
    }
    let signers = &signed.signers;
    let s = baton::session::load(&ws.root, session)?;
    let digest = baton::session::content_digest(&ws.files, &baton::session::summaries(&results));
    let all_met = results.iter().all(|r| r.verdict == Verdict::Met);
    let g = baton::session::go_live(&s, &digest, all_met, signers);
    say!(
        "signed {} as {} ({}): {:?}",
        signed.record.id,
        who.name,
        who.person().side.as_str(),
        decision
    );
    if g.ready {
        say!(
            "go-live: ready (sender: {}, receiver: {})",
            g.sender_approved_by.unwrap_or_default(),
            g.receiver_approved_by.unwrap_or_default()
        );
    } else {
        say!("go-live: not ready; missing {}", g.missing.join("; "));
    }
    Ok(0)
}

pub fn cmd_report(
    path: &Path,
    session: Option<&str>,
    out: &Path,
    mask: bool,
    signer: &str,
) -> Result<u8> {
    let ws = workspace_or_return!(path);
    let results = replay::replay_all(&ws);
    let s = match session {
        Some(name) => baton::session::load(&ws.root, name)?,
        None => baton::session::Session {
            name: "(none)".into(),
            ..Default::default()
        },
    };
    for (file, why) in &s.unreadable {
        eprintln!("baton: session record {file} could not be read: {why}");
    }
    let signers = match Signers::read(&Signers::path(&ws.root)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(2);
        }
    };
    let public = baton::session::public_key_of(signer)?;
    if !signers.active().any(|x| x.public_key == public) {
        eprintln!(
            "baton: note: the report is signed by {signer}'s key {}, which is not registered in signers.toml; `baton verify` against this workspace will refuse it",
            baton::signers::fingerprint(&public)
        );
    }
    let model = baton::report::build(&ws, &results, &s, mask, &signers);
    let w = baton::report::write(&model, out, signer)?;
    say!("wrote {} and {}", w.html.display(), w.json.display());
    say!(
        "signature {} (public key {}, {})",
        w.signature.display(),
        w.public_key.display(),
        baton::signers::fingerprint(&public)
    );
    say!(
        "go-live: {}",
        if model.go_live.ready {
            "ready".to_string()
        } else {
            format!("not ready; missing {}", model.go_live.missing.join("; "))
        }
    );
    Ok(0)
}

pub fn cmd_verify(
    report: &Path,
    workspace: Option<&Path>,
    signers_file: Option<&Path>,
) -> Result<u8> {
    let anchor_path = workspace
        .map(Signers::path)
        .or_else(|| signers_file.map(Path::to_path_buf));
    let anchor = match &anchor_path {
        None => None,
        Some(p) if !p.exists() => {
            eprintln!("baton: no register of signers at {}", p.display());
            return Ok(2);
        }
        Some(p) => match Signers::read(p) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("baton: {e}");
                return Ok(2);
            }
        },
    };
    let v = match baton::report::verify(report, anchor.as_ref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(2);
        }
    };
    for line in &v.checked {
        say!("ok       {line}");
    }
    for line in &v.signoffs {
        say!("sign-off {line}");
    }
    for line in &v.problems {
        say!("FAILED   {line}");
    }
    match (&anchor_path, v.valid()) {
        (Some(p), true) => {
            say!("{}: VERIFIED against {}", report.display(), p.display());
            Ok(0)
        }
        (Some(p), false) => {
            say!("{}: NOT VALID against {}", report.display(), p.display());
            Ok(1)
        }
        (None, _) => {
            say!(
                "{}: {}; INTEGRITY ONLY: who signed was not checked (give --workspace W or --signers FILE)",
                report.display(),
                if v.problems.is_empty() {
                    "intact"
                } else {
                    "NOT VALID"
                }
            );
            Ok(1)
        }
    }
}
