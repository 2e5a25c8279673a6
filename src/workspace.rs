//! The only module that reads a workspace from disk: the manifest
//! (`baton.toml`), its handoffs with their profiles and rules, the code
//! tables and the scenarios. Every error found is collected, each with its
//! file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{LoadError, parse_toml, read_text};
use crate::mapping::Rules;
use crate::profile::Profile;
use crate::scenario::Scenario;
use crate::table::Tables;

pub const MANIFEST: &str = "baton.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    workspace: RawHeader,
    #[serde(default)]
    handoff: Vec<toml::Spanned<RawHandoff>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default = "default_scenarios")]
    scenarios: String,
    /// Fields masked in exports (default: report::DEFAULT_PHI).
    #[serde(default)]
    phi: Option<Vec<String>>,
    /// Dates tied to the patient, reduced to the year in exports
    /// (default: report::DEFAULT_PHI_DATES).
    #[serde(default)]
    phi_dates: Option<Vec<String>>,
}

fn default_scenarios() -> String {
    "scenarios".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandoff {
    id: String,
    name: String,
    source: String,
    target: String,
    #[serde(default)]
    direction: String,
    message_types: Vec<String>,
    #[serde(default)]
    format: String,
    #[serde(default)]
    transport: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    error_handling: String,
    #[serde(default)]
    owner: String,
    sender_profile: String,
    receiver_profile: String,
    rules: String,
    #[serde(default)]
    context: Vec<String>,
}

/// One handoff of the workflow, with everything it needs loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handoff {
    pub id: String,
    pub name: String,
    pub source: String,
    pub target: String,
    pub direction: String,
    pub message_types: Vec<String>,
    pub format: String,
    pub transport: String,
    pub frequency: String,
    pub error_handling: String,
    pub owner: String,
    pub context: Vec<String>,
    pub sender_profile_file: String,
    pub receiver_profile_file: String,
    pub rules_file: String,
    pub sender: Profile,
    pub receiver: Profile,
    pub rules: Rules,
}

/// An input file and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Relative to the workspace root, with `/`.
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workspace {
    pub root: PathBuf,
    pub name: String,
    pub description: String,
    pub handoffs: Vec<Handoff>,
    pub tables: Tables,
    pub scenarios: Vec<Scenario>,
    /// Every file read, sorted by path.
    pub files: Vec<InputFile>,
    /// Fields masked in exported reports.
    pub phi: Vec<String>,
    /// Patient dates reduced to the year in exported reports.
    pub phi_dates: Vec<String>,
    /// The scenario folder, relative to the root.
    pub scenarios_dir: String,
}

/// Every error found while loading a workspace.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct WorkspaceErrors(pub Vec<LoadError>);

struct Reader {
    root: PathBuf,
    files: BTreeMap<String, String>,
}

impl Reader {
    fn read(&mut self, path: &Path) -> Result<String, LoadError> {
        let text = read_text(path)?;
        let rel = path
            .strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let rel = normalise(&rel);
        let digest = Sha256::digest(text.as_bytes());
        self.files.insert(rel, hex(&digest));
        Ok(text)
    }
}

fn normalise(rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    parts.join("/")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The nearest workspace at or above `start` (a folder or a file in one):
/// the folder holding a `baton.toml`.
pub fn find_upward(start: &Path) -> Option<PathBuf> {
    let start = if start.is_file() {
        start.parent()?
    } else {
        start
    };
    let start = std::fs::canonicalize(start).ok()?;
    start
        .ancestors()
        .find(|d| d.join(MANIFEST).is_file())
        .map(Path::to_path_buf)
}

/// The tables files a workspace's manifest names, resolved against its
/// folder (without loading the rest of the workspace).
pub fn tables_of(root: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let manifest = root.join(MANIFEST);
    let text = read_text(&manifest)?;
    let raw: RawManifest = parse_toml(&manifest, &text)?;
    Ok(raw.workspace.tables.iter().map(|t| root.join(t)).collect())
}

impl Workspace {
    /// Loads the workspace in a folder (or the folder of a `baton.toml`).
    pub fn load(path: &Path) -> Result<Workspace, WorkspaceErrors> {
        let root = if path.is_file() {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        let manifest_path = root.join(MANIFEST);
        if !manifest_path.exists() {
            return Err(WorkspaceErrors(vec![LoadError::File {
                path: manifest_path,
                message: format!(
                    "no {MANIFEST} here: a workspace is a folder with a {MANIFEST} manifest"
                ),
            }]));
        }
        let mut reader = Reader {
            root: root.clone(),
            files: BTreeMap::new(),
        };
        let mut errors = Vec::new();
        let manifest_text = reader
            .read(&manifest_path)
            .map_err(|e| WorkspaceErrors(vec![e]))?;
        let manifest: RawManifest =
            parse_toml(&manifest_path, &manifest_text).map_err(|e| WorkspaceErrors(vec![e]))?;

        let mut tables = Tables::default();
        for t in &manifest.workspace.tables {
            let p = root.join(t);
            match reader.read(&p).and_then(|text| tables.load_into(&p, &text)) {
                Ok(()) => {}
                Err(e) => errors.push(e),
            }
        }

        let mut handoffs = Vec::new();
        for h in manifest.handoff {
            let span = h.span();
            let h = h.into_inner();
            if handoffs.iter().any(|x: &Handoff| x.id == h.id) {
                errors.push(crate::error::invalid_at(
                    &manifest_path,
                    &manifest_text,
                    span,
                    format!("handoff id `{}` is used twice", h.id),
                ));
                continue;
            }
            let mut load_profile = |rel: &str,
                                    side: crate::finding::Side|
             -> Result<Profile, LoadError> {
                let p = root.join(rel);
                let text = reader.read(&p)?;
                // Baton TOML, or a standard XML profile whose value sets travel
                // with it. NIST companion files are inputs too, read through the
                // reader: their hashes go into runs and sign-offs, so an edited
                // constraint makes them stale.
                let (mut profile, _) =
                    crate::validate::load_profile_with(&p, &text, &tables, &mut |c: &Path| {
                        if c.is_file() {
                            reader.read(c).map(Some)
                        } else {
                            Ok(None)
                        }
                    })?;
                if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
                    // The handoff says which side the profile stands for.
                    profile.side = side;
                } else if profile.side != side {
                    return Err(LoadError::Invalid {
                        line: crate::profile::key_line(&text, "side"),
                        column: 1,
                        message: format!(
                            "this profile says side = \"{}\" but handoff `{}` names it as its {} profile",
                            profile.side.as_str(),
                            h.id,
                            side.as_str()
                        ),
                        path: p,
                    });
                }
                Ok(profile)
            };
            let sender = load_profile(&h.sender_profile, crate::finding::Side::Sender);
            let receiver = load_profile(&h.receiver_profile, crate::finding::Side::Receiver);
            let rules_path = root.join(&h.rules);
            let rules = reader
                .read(&rules_path)
                .and_then(|text| Rules::load(&rules_path, &text, &tables));
            match (sender, receiver, rules) {
                (Ok(sender), Ok(receiver), Ok(rules)) => handoffs.push(Handoff {
                    id: h.id,
                    name: h.name,
                    source: h.source,
                    target: h.target,
                    direction: h.direction,
                    message_types: h.message_types,
                    format: h.format,
                    transport: h.transport,
                    frequency: h.frequency,
                    error_handling: h.error_handling,
                    owner: h.owner,
                    context: h.context,
                    sender_profile_file: h.sender_profile,
                    receiver_profile_file: h.receiver_profile,
                    rules_file: h.rules,
                    sender,
                    receiver,
                    rules,
                }),
                (s, r, m) => {
                    errors.extend(s.err());
                    errors.extend(r.err());
                    errors.extend(m.err());
                }
            }
        }

        let mut scenarios = Vec::new();
        let dir = root.join(&manifest.workspace.scenarios);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(source) => {
                errors.push(LoadError::Io {
                    path: dir.clone(),
                    source,
                });
                Vec::new()
            }
        };
        files.sort();
        for f in files {
            let mut handoff_line = 1;
            let loaded = reader.read(&f).and_then(|text| {
                handoff_line = crate::profile::key_line(&text, "handoff");
                Scenario::load(&f, &text, &mut |p| reader.read(p))
            });
            match loaded {
                Ok(s) => {
                    if !handoffs.iter().any(|h| h.id == s.handoff) && errors.is_empty() {
                        errors.push(LoadError::Invalid {
                            path: f.clone(),
                            line: handoff_line,
                            column: 1,
                            message: format!(
                                "scenario names handoff `{}`, which the manifest does not define (known: {})",
                                s.handoff,
                                handoffs.iter().map(|h| h.id.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        });
                    }
                    scenarios.push(s);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(WorkspaceErrors(errors));
        }
        let phi = manifest.workspace.phi.clone().unwrap_or_else(|| {
            crate::report::DEFAULT_PHI
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        let phi_dates = manifest.workspace.phi_dates.clone().unwrap_or_else(|| {
            crate::report::DEFAULT_PHI_DATES
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        Ok(Workspace {
            scenarios_dir: manifest.workspace.scenarios.clone(),
            phi,
            phi_dates,
            root,
            name: manifest.workspace.name,
            description: manifest.workspace.description,
            handoffs,
            tables,
            scenarios,
            files: reader
                .files
                .into_iter()
                .map(|(path, sha256)| InputFile { path, sha256 })
                .collect(),
        })
    }

    pub fn handoff(&self, id: &str) -> Option<&Handoff> {
        self.handoffs.iter().find(|h| h.id == id)
    }

    pub fn scenario(&self, id: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// The handoff whose sender emits this message type, if any.
    pub fn handoff_for_type(&self, message_type: &str) -> Option<&Handoff> {
        self.handoffs
            .iter()
            .find(|h| h.message_types.iter().any(|t| t == message_type))
    }
}
