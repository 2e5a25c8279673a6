//! Registered signers: who may sign for each side of a handoff, with which
//! Ed25519 public key. Kept in the workspace as `signers.toml` and committed
//! with it, so a sign-off or a report is checked against keys the teams
//! agreed on, never against a key lying beside a file.
//!
//! ```toml
//! [[signer]]
//! name = "Ana Ortiz"
//! role = "EHR interface lead"
//! side = "sender"
//! public_key = "5f1c…"            # Ed25519, 64 hex digits
//! added = "2026-11-30T06:00:00Z"
//! added_by = "Ana Ortiz"
//! trust = "first-use"             # registered | first-use
//! # revoked = "2026-12-01T09:00:00Z", revoked_by = "Ben Cho"
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{LoadError, invalid_at, parse_toml};
use crate::finding::Side;
use crate::workspace::hex;

pub const FILE: &str = "signers.toml";

/// How a key came to be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Added on purpose (`baton signers add`).
    Registered,
    /// Registered by its owner's first signature (trust on first use).
    FirstUse,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Registered => "registered",
            Trust::FirstUse => "first use",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub name: String,
    #[serde(default)]
    pub role: String,
    pub side: Side,
    pub public_key: String,
    pub added: String,
    pub added_by: String,
    pub trust: Trust,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl Signer {
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public_key)
    }

    pub fn active(&self) -> bool {
        self.revoked.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signers {
    #[serde(default)]
    pub signer: Vec<Signer>,
}

/// A key's standing for a person and a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyTrust {
    /// Registered for this person and side, not revoked.
    Registered(Trust),
    /// Not in the register for this person and side.
    Unregistered,
    /// Registered, then revoked.
    Revoked,
}

#[derive(Debug, thiserror::Error)]
pub enum SignersError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Write(#[from] crate::session::SessionError),
}

/// A short, readable fingerprint of a hex public key: the first 16 hex
/// digits of its SHA-256, in groups of four.
pub fn fingerprint(public_key_hex: &str) -> String {
    let bytes = crate::session::from_hex(public_key_hex).unwrap_or_default();
    let d = hex(&Sha256::digest(&bytes));
    d.as_bytes()[..16]
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

fn valid_key(public_key_hex: &str) -> bool {
    crate::session::from_hex(public_key_hex)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .is_some_and(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).is_ok())
}

impl Signers {
    pub fn path(root: &Path) -> PathBuf {
        root.join(FILE)
    }

    /// Reads a signers file; a missing file is an empty register.
    pub fn read(path: &Path) -> Result<Signers, LoadError> {
        if !path.exists() {
            return Ok(Signers::default());
        }
        let text = crate::error::read_text(path)?;
        Signers::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Signers, LoadError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            signer: Vec<toml::Spanned<Signer>>,
        }
        let raw: Raw = parse_toml(path, text)?;
        let mut out = Signers::default();
        for s in raw.signer {
            let span = s.span();
            let s = s.into_inner();
            if !valid_key(&s.public_key) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "signer {}: public_key is not an Ed25519 public key (64 hex digits)",
                        s.name
                    ),
                ));
            }
            if s.side == Side::Mapping {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("signer {}: side is sender or receiver", s.name),
                ));
            }
            out.signer.push(s);
        }
        Ok(out)
    }

    /// Writes the register atomically.
    pub fn save(&self, path: &Path) -> Result<(), SignersError> {
        let mut text = String::from(
            "# Who may sign for each side of this workspace's handoffs (baton signers add | revoke).\n\n",
        );
        text.push_str(&toml::to_string(self).map_err(|e| SignersError::Refused(e.to_string()))?);
        crate::session::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// The standing of `public_key` for `name` signing for `side`.
    pub fn trust(&self, name: &str, side: Side, public_key: &str) -> KeyTrust {
        let mine = self
            .signer
            .iter()
            .filter(|s| s.name == name && s.side == side && s.public_key == public_key);
        let mut revoked = false;
        for s in mine {
            if s.active() {
                return KeyTrust::Registered(s.trust);
            }
            revoked = true;
        }
        if revoked {
            KeyTrust::Revoked
        } else {
            KeyTrust::Unregistered
        }
    }

    /// Whether the key is revoked for anyone (a revoked key signs nothing).
    pub fn is_revoked(&self, public_key: &str) -> bool {
        self.signer
            .iter()
            .any(|s| s.public_key == public_key && !s.active())
    }

    /// Active keys, for checking a report file's own signature.
    pub fn active(&self) -> impl Iterator<Item = &Signer> {
        self.signer.iter().filter(|s| s.active())
    }

    /// Registers a key. Refused: a key that is not Ed25519, one already
    /// registered for that person and side, or one that was revoked.
    pub fn add(&mut self, signer: Signer) -> Result<(), SignersError> {
        if !valid_key(&signer.public_key) {
            return Err(SignersError::Refused(
                "the public key is not an Ed25519 public key (64 hex digits)".into(),
            ));
        }
        if signer.side == Side::Mapping {
            return Err(SignersError::Refused(
                "a signer signs for the sender or the receiver side".into(),
            ));
        }
        if self.is_revoked(&signer.public_key) {
            return Err(SignersError::Refused(format!(
                "key {} was revoked and cannot be registered again",
                fingerprint(&signer.public_key)
            )));
        }
        if self.trust(&signer.name, signer.side, &signer.public_key) != KeyTrust::Unregistered {
            return Err(SignersError::Refused(format!(
                "{} is already registered for the {} side with key {}",
                signer.name,
                signer.side.as_str(),
                fingerprint(&signer.public_key)
            )));
        }
        self.signer.push(signer);
        Ok(())
    }

    /// Revokes every active key of a person (or only the one whose
    /// fingerprint or hex starts with `key`). Returns how many.
    pub fn revoke(&mut self, name: &str, key: Option<&str>, by: &str, at: &str) -> usize {
        let norm = |s: &str| s.replace(' ', "").to_lowercase();
        let mut n = 0;
        for s in &mut self.signer {
            let matches_key = key.is_none_or(|k| {
                let k = norm(k);
                norm(&s.fingerprint()).starts_with(&k) || s.public_key.starts_with(&k)
            });
            if s.name == name && s.active() && matches_key {
                s.revoked = Some(at.to_string());
                s.revoked_by = Some(by.to_string());
                n += 1;
            }
        }
        n
    }

    /// Whether a person has any active key for a side.
    pub fn has_active(&self, name: &str, side: Side) -> bool {
        self.signer
            .iter()
            .any(|s| s.name == name && s.side == side && s.active())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> String {
        hex(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .as_bytes())
    }

    fn signer(name: &str, side: Side, k: &str) -> Signer {
        Signer {
            name: name.into(),
            role: "lead".into(),
            side,
            public_key: k.into(),
            added: "2026-11-30T00:00:00Z".into(),
            added_by: "test".into(),
            trust: Trust::Registered,
            revoked: None,
            revoked_by: None,
        }
    }

    #[test]
    fn keys_are_trusted_per_person_and_side_until_revoked() {
        let mut s = Signers::default();
        s.add(signer("Ana", Side::Sender, &key(1))).unwrap();
        assert_eq!(
            s.trust("Ana", Side::Sender, &key(1)),
            KeyTrust::Registered(Trust::Registered)
        );
        assert_eq!(
            s.trust("Ana", Side::Receiver, &key(1)),
            KeyTrust::Unregistered
        );
        assert_eq!(
            s.trust("Ben", Side::Sender, &key(1)),
            KeyTrust::Unregistered
        );
        assert_eq!(
            s.trust("Ana", Side::Sender, &key(2)),
            KeyTrust::Unregistered
        );
        assert!(s.add(signer("Ana", Side::Sender, &key(1))).is_err());
        assert_eq!(s.revoke("Ana", None, "Ben", "2026-12-01T00:00:00Z"), 1);
        assert_eq!(s.trust("Ana", Side::Sender, &key(1)), KeyTrust::Revoked);
        assert!(
            s.add(signer("Ana", Side::Sender, &key(1))).is_err(),
            "a revoked key stays revoked"
        );
        // Round trip through the file.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        s.save(&p).unwrap();
        assert_eq!(Signers::read(&p).unwrap(), s);
        assert_eq!(fingerprint(&key(1)).len(), 19);
    }

    #[test]
    fn a_bad_register_is_located() {
        let e = Signers::parse(
            Path::new("signers.toml"),
            "[[signer]]\nname = \"A\"\nside = \"sender\"\npublic_key = \"zz\"\nadded = \"x\"\nadded_by = \"y\"\ntrust = \"registered\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Ed25519") && e.contains("line 1"), "{e}");
    }
}
