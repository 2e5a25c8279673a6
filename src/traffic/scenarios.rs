//! Turns a log's failures into regression scenarios: one error scenario per
//! distinct finding, from its first example message (masked by default),
//! with the expectations Baton observed, ready to review.

use std::fmt::Write as _;
use std::path::{Path as FsPath, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{FieldStats, FindingStats, Log, LogItem, LogReader, TrafficReport};
use crate::report::Masker;
use crate::scenario::OutcomeKind;
use crate::table::Tables;
use crate::workspace::Handoff;

/// One scenario written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Saved {
    pub file: PathBuf,
    pub path: String,
    pub code: u16,
    /// False when masking the message made the finding go away: the
    /// scenario keeps what the masked message does (review it).
    pub finding_kept: bool,
}

/// Why scenarios could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("could not read log {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] crate::session::SessionError),
    #[error("the finding has no example message")]
    NoExample,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The distinct findings of a report, each with its first example's message number.
fn wanted(r: &TrafficReport) -> Vec<(&FieldStats, &FindingStats, usize)> {
    r.problems()
        .into_iter()
        .filter_map(|(f, x)| x.examples.first().map(|e| (f, x, e.message)))
        .collect()
}

/// Reads the messages numbered in `numbers` from the logs again.
pub fn fetch_messages(
    logs: Vec<Log>,
    numbers: &FxHashSet<usize>,
) -> Result<FxHashMap<usize, String>, SaveError> {
    let mut out = FxHashMap::default();
    let mut next = 1;
    for (i, log) in logs.into_iter().enumerate() {
        let name = log.name.clone();
        let mut reader = LogReader::new(log.reader, i, next);
        for item in reader.by_ref() {
            match item {
                Ok(LogItem::Message(m)) if numbers.contains(&m.number) => {
                    out.insert(m.number, m.text);
                }
                Ok(_) => {}
                Err(source) => {
                    return Err(SaveError::Read {
                        file: name.clone(),
                        source,
                    });
                }
            }
        }
        next = reader.next_number();
        if out.len() == numbers.len() {
            break;
        }
    }
    Ok(out)
}

/// Writes one scenario per distinct finding of `report` into `dir`, reading
/// the example messages from `logs` (the same logs, opened again).
pub fn save(
    handoff: &Handoff,
    tables: &Tables,
    report: &TrafficReport,
    logs: Vec<Log>,
    dir: &FsPath,
    masker: Option<&Masker>,
) -> Result<Vec<Saved>, SaveError> {
    let want = wanted(report);
    let numbers: FxHashSet<usize> = want.iter().map(|w| w.2).collect();
    let texts = fetch_messages(logs, &numbers)?;
    let mut saved = Vec::new();
    for (i, (field, finding, number)) in want.iter().enumerate() {
        let Some(text) = texts.get(number).filter(|t| !t.is_empty()) else {
            continue;
        };
        saved.push(save_one(
            handoff,
            tables,
            field,
            finding,
            text,
            dir,
            masker,
            Some(i + 1),
        )?);
    }
    Ok(saved)
}

/// Writes one scenario for one distinct finding from the text of its example
/// message: `index` numbers the files of a batch (else the message number does).
#[allow(clippy::too_many_arguments)]
pub fn save_one(
    handoff: &Handoff,
    tables: &Tables,
    field: &FieldStats,
    finding: &FindingStats,
    text: &str,
    dir: &FsPath,
    masker: Option<&Masker>,
    index: Option<usize>,
) -> Result<Saved, SaveError> {
    let text = match masker {
        Some(m) => m.mask_message_text(text),
        None => text.to_string(),
    };
    let Some(example) = finding.examples.first() else {
        return Err(SaveError::NoExample);
    };
    let number = &example.message;
    let base = match index {
        Some(i) => format!(
            "log-{i:03}-{}-{}",
            finding.code,
            crate::session::slug(&field.path)
        ),
        None => format!(
            "log-m{number}-{}-{}",
            finding.code,
            crate::session::slug(&field.path)
        ),
    };
    let message_file = format!("{base}.hl7");
    crate::session::write_atomic(&dir.join(&message_file), text.as_bytes())?;
    let r = super::replay_one(
        handoff,
        tables,
        &super::LogMessage {
            number: *number,
            file: 0,
            line: 1,
            offset: 0,
            text: text.clone(),
            latin1: false,
            skipped: None,
        },
    );
    // The same finding in the replay of the (masked) message.
    let hit = r.findings.iter().find(|x| {
        x.code == finding.code
            && x.side == finding.side
            && x.severity == finding.severity
            && (field.path.starts_with('(')
                || format!(
                    "{}-{}",
                    x.location.segment.as_str(),
                    x.location.field_number
                ) == field.path
                || x.segment_only && field.path.starts_with(x.location.segment.as_str()))
    });
    let mut o = String::new();
    let _ = writeln!(
        o,
        "name = {}",
        quote(&format!(
            "From the log: {} {} on {}",
            finding.code,
            crate::finding::code_text(finding.code),
            field.path
        ))
    );
    let _ = writeln!(o, "kind = \"error\"");
    let _ = writeln!(o, "handoff = {}", quote(&handoff.id));
    let reason = super::html::shown_reason(masker, &field.path, finding);
    let _ = writeln!(
        o,
        "description = {}",
        quote(&format!(
            "Message {} (control id {}) of {}, line {}: {} ({} side). Seen {} times in the log. {}Expectations are what Baton observed: review them.",
            example.message,
            example.control_id,
            example.file,
            example.line,
            reason,
            finding.side.as_str(),
            super::learn::thousands(finding.count),
            if masker.is_some() {
                "Patient data masked. "
            } else {
                ""
            }
        ))
    );
    let _ = writeln!(o, "input = {}\n", quote(&message_file));
    let _ = writeln!(o, "[expect]");
    let _ = writeln!(o, "ack = {}", quote(&r.ack_code));
    let _ = writeln!(o, "rejected = {}", r.counts.rejected);
    let _ = writeln!(o, "dropped = {}", r.counts.dropped);
    if let Some(x) = hit {
        let _ = writeln!(o, "\n[[expect.finding]]");
        let path = if x.location.field_number == 0 {
            format!("{}-1", x.location.segment.as_str())
        } else {
            x.location.display_exact()
        };
        let _ = writeln!(o, "path = {}", quote(&path));
        let _ = writeln!(o, "code = {}", x.code);
        let _ = writeln!(o, "side = \"{}\"", x.side.as_str());
        if let Some(row) = r
            .fields
            .iter()
            .find(|f| f.findings.contains(x) && f.outcome.kind() == OutcomeKind::Rejected)
        {
            let _ = writeln!(o, "\n[[expect.field]]");
            let _ = writeln!(o, "path = {}", quote(&row.path.display_exact()));
            let _ = writeln!(o, "outcome = \"rejected\"");
        }
    } else {
        let _ = writeln!(
            o,
            "# Masking the message changed it so that this finding no longer happens;\n# save with --unmasked to keep the original values."
        );
    }
    let file = dir.join(format!("{base}.toml"));
    crate::session::write_atomic(&file, o.as_bytes())?;
    Ok(Saved {
        file,
        path: field.path.clone(),
        code: finding.code,
        finding_kept: hit.is_some(),
    })
}
