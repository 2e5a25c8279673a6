//! Shared test sessions, stored in the workspace as plain files under
//! `sessions/<name>/`: one JSON file per event (run, comment, waiver,
//! sign-off), never rewritten, so two people adding to the same session at
//! once (through a shared folder or git) cannot overwrite each other. Every
//! write is atomic: temporary file, fsync, rename, fsync of the folder.
//! With `workspace`, the only module that touches the disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::pkcs8::{EncodePublicKey, spki::der::pem::LineEnding};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::finding::Side;
use crate::replay::{Counts, ScenarioResult, Verdict};
use crate::workspace::{InputFile, Workspace, hex};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("session name `{0}` may hold only letters, digits, `-` and `_`")]
    BadName(String),
    #[error("the key file {} is damaged: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("no random bytes for a new key: {0}")]
    Random(String),
    #[error("signing refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Signers(#[from] Box<crate::signers::SignersError>),
}

/// Who did something, and for which side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    #[serde(default)]
    pub role: String,
    pub side: Side,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    pub scenario: String,
    pub verdict: Verdict,
    pub ack_code: String,
    pub counts: Counts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

/// One event of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Run {
        by: Person,
        tool_version: String,
        inputs: Vec<InputFile>,
        results: Vec<ScenarioSummary>,
        /// SHA-256 of the inputs and results: what a sign-off signs.
        content_digest: String,
    },
    Comment {
        by: Person,
        scenario: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        text: String,
    },
    Waiver {
        by: Person,
        scenario: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        reason: String,
        owner: String,
        /// YYYY-MM-DD; the waiver lapses after it.
        expires: String,
    },
    /// One live MLLP exchange (send, listen or relay), captured as it happened.
    Exchange(crate::mllp::Exchange),
    /// What the teams decided about an open gap of the gap analysis.
    Disposition {
        by: Person,
        handoff: String,
        path: String,
        /// `rule` (a rule to write), `waiver` (accepted deviation) or `n/a`.
        disposition: String,
        note: String,
        #[serde(default)]
        owner: String,
    },
    Signoff {
        by: Person,
        decision: Decision,
        #[serde(default)]
        comment: String,
        /// The signed content: inputs' hashes and results.
        content_digest: String,
        /// Ed25519 public key, hex.
        public_key: String,
        /// Ed25519 signature over [`signoff_message`], hex.
        signature: String,
    },
}

/// One stored record: an event with its id and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// UTC, RFC 3339.
    pub at: String,
    #[serde(flatten)]
    pub event: Event,
}

/// A session as merged from its files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Session {
    pub name: String,
    pub records: Vec<Record>,
    /// Files that could not be read, with why (never silently skipped).
    pub unreadable: Vec<(String, String)>,
}

pub fn check_name(name: &str) -> Result<(), SessionError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SessionError::BadName(name.to_string()));
    }
    Ok(())
}

pub fn dir(workspace_root: &Path, name: &str) -> PathBuf {
    workspace_root.join("sessions").join(name)
}

/// Now, as RFC 3339 UTC (`2026-11-23T19:53:00Z`).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = crate::hl7::datetime::civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

fn random_hex(n: usize) -> Result<String, SessionError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| SessionError::Random(e.to_string()))?;
    Ok(hex(&buf))
}

/// Writes bytes to `path` atomically: a temporary file beside it, fsync,
/// rename over, fsync of the folder. A crash leaves the old file or the new
/// one, never a torn one; temporary files are ignored on load.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SessionError> {
    let err = |source| SessionError::Write {
        path: path.to_path_buf(),
        source,
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.{}.tmp", random_hex(4)?));
    {
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Appends an event to a session: a new file, written atomically.
pub fn append(workspace_root: &Path, session: &str, event: Event) -> Result<Record, SessionError> {
    check_name(session)?;
    let at = now_rfc3339();
    let kind = match &event {
        Event::Run { .. } => "run",
        Event::Comment { .. } => "comment",
        Event::Waiver { .. } => "waiver",
        Event::Disposition { .. } => "disposition",
        Event::Exchange(_) => "exchange",
        Event::Signoff { .. } => "signoff",
    };
    let id = format!("{}-{}-{kind}", at.replace([':', '-'], ""), random_hex(4)?);
    let record = Record {
        id: id.clone(),
        at,
        event,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| SessionError::Write {
        path: PathBuf::from(&id),
        source: std::io::Error::other(e),
    })?;
    write_atomic(
        &dir(workspace_root, session).join(format!("{id}.json")),
        &json,
    )?;
    Ok(record)
}

/// Loads and merges a session's records, oldest first. A missing folder is
/// an empty session.
pub fn load(workspace_root: &Path, session: &str) -> Result<Session, SessionError> {
    check_name(session)?;
    let d = dir(workspace_root, session);
    let mut s = Session {
        name: session.to_string(),
        ..Default::default()
    };
    let entries = match std::fs::read_dir(&d) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(s),
        Err(source) => return Err(SessionError::Read { path: d, source }),
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        match std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Record>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => s.records.push(r),
            Err(why) => s.unreadable.push((name, why)),
        }
    }
    s.records
        .sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
    Ok(s)
}

/// Names of a workspace's sessions.
pub fn list(workspace_root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(workspace_root.join("sessions"))
        .map(|r| {
            r.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A cheap fingerprint of a session folder, to notice new records.
pub fn fingerprint(workspace_root: &Path, session: &str) -> (usize, Option<SystemTime>) {
    let d = dir(workspace_root, session);
    let n = std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(0);
    (n, std::fs::metadata(&d).and_then(|m| m.modified()).ok())
}

/// The results part of what is signed.
pub fn summaries(results: &[ScenarioResult]) -> Vec<ScenarioSummary> {
    results
        .iter()
        .map(|r| ScenarioSummary {
            scenario: r.scenario.clone(),
            verdict: r.verdict,
            ack_code: r.replay.ack_code.clone(),
            counts: r.replay.counts,
        })
        .collect()
}

/// SHA-256 over the inputs' hashes and the results, in a fixed form.
pub fn content_digest(inputs: &[InputFile], results: &[ScenarioSummary]) -> String {
    let mut h = Sha256::new();
    h.update(b"baton-content-v1\n");
    for f in inputs {
        h.update(format!("input {} {}\n", f.sha256, f.path).as_bytes());
    }
    for r in results {
        let c = r.counts;
        h.update(
            format!(
                "result {} {:?} {} {} {} {} {}\n",
                r.scenario, r.verdict, r.ack_code, c.accepted, c.transformed, c.rejected, c.dropped
            )
            .as_bytes(),
        );
    }
    hex(&h.finalize())
}

/// Records a run of the whole workspace.
pub fn record_run(
    ws: &Workspace,
    session: &str,
    by: Person,
    results: &[ScenarioResult],
) -> Result<Record, SessionError> {
    let results = summaries(results);
    let content_digest = content_digest(&ws.files, &results);
    append(
        &ws.root,
        session,
        Event::Run {
            by,
            tool_version: crate::VERSION.to_string(),
            inputs: ws.files.clone(),
            results,
            content_digest,
        },
    )
}

/// The exact bytes a sign-off's signature covers.
pub fn signoff_message(
    by: &Person,
    decision: Decision,
    comment: &str,
    content_digest: &str,
) -> Vec<u8> {
    format!(
        "baton-signoff-v1\nname: {}\nrole: {}\nside: {}\ndecision: {:?}\ncontent: {content_digest}\ncomment: {comment}\n",
        by.name,
        by.role,
        by.side.as_str(),
        decision
    )
    .into_bytes()
}

// ---- keys ----

/// Where keys live: `$BATON_CONFIG_DIR`, else `$XDG_CONFIG_HOME/baton`, else `~/.config/baton`.
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BATON_CONFIG_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        return PathBuf::from(d).join("baton");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".config").join("baton")
}

/// A name made into a file-name part: lower-case letters, digits and `-`.
pub(crate) fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "key".into() } else { s }
}

/// The person's signing key, created on first use (private file, owner-only).
pub fn signing_key(name: &str) -> Result<SigningKey, SessionError> {
    let path = config_dir()
        .join("keys")
        .join(format!("{}.ed25519", slug(name)));
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| SessionError::BadKey {
            path: path.clone(),
            reason: format!(
                "it cannot be read ({e}); fix its permissions, or sign as someone else"
            ),
        })?;
        let bytes = from_hex(text.trim()).ok_or_else(|| SessionError::BadKey {
            path: path.clone(),
            reason: "not 64 hex digits".into(),
        })?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| SessionError::BadKey {
            path: path.clone(),
            reason: "not 32 bytes".into(),
        })?;
        return Ok(SigningKey::from_bytes(&arr));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| SessionError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&secret);
    write_private(&path, hex(&secret).as_bytes())?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SessionError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |source| SessionError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(err)?;
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SessionError> {
    write_atomic(path, bytes)
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The path of a person's key file.
pub fn key_path(name: &str) -> PathBuf {
    config_dir()
        .join("keys")
        .join(format!("{}.ed25519", slug(name)))
}

/// The public key (hex) a person would sign with, creating the key if needed.
pub fn public_key_of(name: &str) -> Result<String, SessionError> {
    Ok(hex(signing_key(name)?.verifying_key().as_bytes()))
}

/// Signs a decision over the current content and records it. The signer's
/// key must be registered for their side in the workspace's `signers.toml`
/// (and not revoked); with `register_first_use`, a person with no key
/// registered for that side registers this one (trust on first use).
pub fn sign(
    ws: &Workspace,
    session: &str,
    by: Person,
    decision: Decision,
    comment: &str,
    results: &[ScenarioResult],
    register_first_use: bool,
) -> Result<Signed, SessionError> {
    let key = signing_key(&by.name)?;
    let mut registered = false;
    let public = hex(key.verifying_key().as_bytes());
    let register = crate::signers::Signers::path(&ws.root);
    let mut signers = crate::signers::Signers::read(&register)
        .map_err(|e| Box::new(crate::signers::SignersError::Load(e)))?;
    let fp = crate::signers::fingerprint(&public);
    match signers.trust(&by.name, by.side, &public) {
        crate::signers::KeyTrust::Registered(_) => {}
        crate::signers::KeyTrust::Revoked => {
            return Err(SessionError::Refused(format!(
                "{}'s key {fp} was revoked in {}; a revoked key signs nothing",
                by.name,
                register.display()
            )));
        }
        crate::signers::KeyTrust::Unregistered if signers.is_revoked(&public) => {
            return Err(SessionError::Refused(format!(
                "key {fp} was revoked in {}; a revoked key signs nothing",
                register.display()
            )));
        }
        crate::signers::KeyTrust::Unregistered => {
            if signers.has_active(&by.name, by.side) || !register_first_use {
                return Err(SessionError::Refused(format!(
                    "{}'s key {fp} is not registered for the {} side in {}; {}",
                    by.name,
                    by.side.as_str(),
                    register.display(),
                    if signers.has_active(&by.name, by.side) {
                        "another key is registered for this person: sign with it, or have it revoked and this one added (baton signers add)"
                    } else {
                        "register it on first use (--register-key, or the window's \"register my key\"), or have a registered signer add it (baton signers add)"
                    }
                )));
            }
            signers
                .add(crate::signers::Signer {
                    name: by.name.clone(),
                    role: by.role.clone(),
                    side: by.side,
                    public_key: public.clone(),
                    added: now_rfc3339(),
                    added_by: by.name.clone(),
                    trust: crate::signers::Trust::FirstUse,
                    revoked: None,
                    revoked_by: None,
                })
                .map_err(Box::new)?;
            signers.save(&register).map_err(Box::new)?;
            registered = true;
        }
    }
    let digest = content_digest(&ws.files, &summaries(results));
    let sig = key.sign(&signoff_message(&by, decision, comment, &digest));
    let record = append(
        &ws.root,
        session,
        Event::Signoff {
            by,
            decision,
            comment: comment.to_string(),
            content_digest: digest,
            public_key: public,
            signature: hex(&sig.to_bytes()),
        },
    )?;
    Ok(Signed {
        record,
        registered_on_first_use: registered,
        signers,
    })
}

/// What signing did: the record, whether the key was registered on first
/// use, and the register as it now stands.
#[derive(Debug, Clone)]
pub struct Signed {
    pub record: Record,
    pub registered_on_first_use: bool,
    pub signers: crate::signers::Signers,
}

/// A sign-off's standing against the current content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignoffStatus {
    /// Signature good and over the current inputs and results.
    Valid,
    /// Signature good, but the inputs or results have changed since.
    Stale,
    /// The signature does not verify.
    Invalid,
    /// The signature verifies, but the key is not registered for that
    /// person and side, or was revoked: it proves nothing about who signed.
    Untrusted,
}

impl SignoffStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SignoffStatus::Valid => "valid",
            SignoffStatus::Stale => "stale",
            SignoffStatus::Invalid => "invalid",
            SignoffStatus::Untrusted => "untrusted",
        }
    }
}

/// A sign-off's standing: its signature, its key against the register,
/// and its content against the current one.
pub fn signoff_status(
    record: &Record,
    current_digest: &str,
    signers: &crate::signers::Signers,
) -> Option<SignoffStatus> {
    let status = signature_status(record, current_digest)?;
    let Event::Signoff { by, public_key, .. } = &record.event else {
        return None;
    };
    Some(match status {
        SignoffStatus::Invalid => SignoffStatus::Invalid,
        _ if !matches!(
            signers.trust(&by.name, by.side, public_key),
            crate::signers::KeyTrust::Registered(_)
        ) =>
        {
            SignoffStatus::Untrusted
        }
        other => other,
    })
}

/// The signature's standing alone (valid, stale or invalid), whoever's key it is.
pub fn signature_status(record: &Record, current_digest: &str) -> Option<SignoffStatus> {
    let Event::Signoff {
        by,
        decision,
        comment,
        content_digest,
        public_key,
        signature,
    } = &record.event
    else {
        return None;
    };
    let ok = (|| {
        let pk: [u8; 32] = from_hex(public_key)?.try_into().ok()?;
        let sig: [u8; 64] = from_hex(signature)?.try_into().ok()?;
        let vk = VerifyingKey::from_bytes(&pk).ok()?;
        vk.verify(
            &signoff_message(by, *decision, comment, content_digest),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .ok()
    })()
    .is_some();
    Some(if !ok {
        SignoffStatus::Invalid
    } else if content_digest == current_digest {
        SignoffStatus::Valid
    } else {
        SignoffStatus::Stale
    })
}

/// Go-live readiness: an approval from each side's lead over the current content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLive {
    pub ready: bool,
    pub sender_approved_by: Option<String>,
    pub receiver_approved_by: Option<String>,
    pub missing: Vec<String>,
}

pub fn go_live(
    session: &Session,
    current_digest: &str,
    all_met: bool,
    signers: &crate::signers::Signers,
) -> GoLive {
    let statuses: Vec<Option<SignoffStatus>> = session
        .records
        .iter()
        .map(|r| signoff_status(r, current_digest, signers))
        .collect();
    go_live_from(&session.records, &statuses, all_met)
}

/// Go-live from records and their statuses (as a report's verifier
/// recomputes them).
pub fn go_live_from(
    records: &[Record],
    statuses: &[Option<SignoffStatus>],
    all_met: bool,
) -> GoLive {
    let approved = |side: Side| {
        // The latest valid decision of each signer on this side counts.
        let mut latest: Vec<(&str, Decision)> = Vec::new();
        for (r, st) in records.iter().zip(statuses) {
            if let Event::Signoff { by, decision, .. } = &r.event
                && by.side == side
                && *st == Some(SignoffStatus::Valid)
            {
                latest.retain(|(n, _)| *n != by.name);
                latest.push((&by.name, *decision));
            }
        }
        latest
            .iter()
            .rev()
            .find(|(_, d)| *d == Decision::Approve)
            .map(|(n, _)| n.to_string())
    };
    let sender = approved(Side::Sender);
    let receiver = approved(Side::Receiver);
    let mut missing = Vec::new();
    if sender.is_none() {
        missing.push("approval by the sending side's lead".to_string());
    }
    if receiver.is_none() {
        missing.push("approval by the receiving side's lead".to_string());
    }
    if !all_met {
        missing.push("every scenario's expectations met".to_string());
    }
    GoLive {
        ready: missing.is_empty(),
        sender_approved_by: sender,
        receiver_approved_by: receiver,
        missing,
    }
}

/// The PEM (SubjectPublicKeyInfo) form of a hex public key, for openssl.
pub fn public_key_pem(public_key_hex: &str) -> Option<String> {
    let pk: [u8; 32] = from_hex(public_key_hex)?.try_into().ok()?;
    VerifyingKey::from_bytes(&pk)
        .ok()?
        .to_public_key_pem(LineEnding::LF)
        .ok()
}

/// The latest disposition of each (handoff, path) in a session.
pub fn dispositions(
    session: &Session,
) -> std::collections::BTreeMap<(String, String), (String, String, String)> {
    let mut out = std::collections::BTreeMap::new();
    for r in &session.records {
        if let Event::Disposition {
            by,
            handoff,
            path,
            disposition,
            note,
            owner,
        } = &r.event
        {
            let owner = if owner.is_empty() {
                by.name.clone()
            } else {
                owner.clone()
            };
            out.insert(
                (handoff.clone(), path.clone()),
                (disposition.clone(), note.clone(), owner),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_and_hex() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert_eq!(from_hex(&hex(&[0, 255, 16])), Some(vec![0, 255, 16]));
        assert!(from_hex("zz").is_none());
    }

    #[test]
    fn bad_session_names_are_refused() {
        assert!(check_name("../x").is_err());
        assert!(check_name("go-live_1").is_ok());
    }
}
