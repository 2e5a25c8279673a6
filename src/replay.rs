//! Replay: sender-profile check → mapping → receiver-profile check, then an
//! account of every populated field. No I/O, no clock: same inputs, same output.

use std::sync::Arc;

use serde::Serialize;

use crate::ack;
use crate::finding::{self, Finding, Severity, Side};
use crate::hl7::{self, Message, Path};
use crate::mapping::{self, Effect};
use crate::profile;
use crate::scenario::{OutcomeKind, Scenario};
use crate::table::Tables;
use crate::workspace::{Handoff, Workspace};

/// What happened to one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Reached the receiver unchanged and was taken.
    Accepted,
    /// Changed or moved by rules on the way, and taken.
    Transformed {
        /// The first rule that changed it; `rules` lists all.
        rule: String,
        rules: Vec<String>,
        from: String,
        to: String,
        /// Where the value ended up (field level).
        target: Path,
    },
    /// A finding was raised on it (by either side's profile or the mapping).
    Rejected {
        code: u16,
        severity: Severity,
        reason: String,
        location: String,
        side: Side,
        /// The rule behind the deciding finding, else the first rule that
        /// shaped the row; `rules` lists every rule that shaped it.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        rules: Vec<String>,
    },
    /// Did not reach the receiver: dropped by a rule (with its reason), not
    /// carried by any rule, or ignored by the receiver.
    Dropped {
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        reason: String,
    },
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Accepted => OutcomeKind::Accepted,
            Outcome::Transformed { .. } => OutcomeKind::Transformed,
            Outcome::Rejected { .. } => OutcomeKind::Rejected,
            Outcome::Dropped { .. } => OutcomeKind::Dropped,
        }
    }
}

/// One row of the account: a populated source field, or a field that only
/// the mapping or a finding brought into view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldResult {
    /// Field-level path: the source path, or the target path for a row with no source.
    pub path: Path,
    pub name: std::borrow::Cow<'static, str>,
    /// Raw source value (`None`: not populated in the source).
    pub source: Option<Arc<str>>,
    /// Raw value where the field ended up in the mapped message.
    pub mapped: Option<Arc<str>>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Every rule effect on this field.
    pub effects: Vec<Effect>,
    /// Every finding on this field, from any side.
    pub findings: Vec<Finding>,
    /// Byte range of the field in the source message text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_range: Option<std::ops::Range<usize>>,
    /// The scenario's expected message's raw value where this row's value
    /// ended up (`None`: empty there, or no expected message).
    pub expected: Option<Arc<str>>,
    /// Whether the mapped value differs from the expected one (always false
    /// when the scenario gives no expected message).
    pub differs_from_expected: bool,
}

/// A field populated only in the scenario's expected message: no row of the
/// account reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedOnly {
    pub path: Path,
    pub name: std::borrow::Cow<'static, str>,
    pub expected: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub accepted: usize,
    pub transformed: usize,
    pub rejected: usize,
    pub dropped: usize,
    /// Rows that carry a warning but no error (counted in their outcome too).
    #[serde(default)]
    pub warnings: usize,
}

impl Counts {
    pub fn of(fields: &[FieldResult]) -> Counts {
        let mut c = Counts::default();
        for f in fields {
            match f.outcome.kind() {
                OutcomeKind::Accepted => c.accepted += 1,
                OutcomeKind::Transformed => c.transformed += 1,
                OutcomeKind::Rejected => c.rejected += 1,
                OutcomeKind::Dropped => c.dropped += 1,
            }
            if f.outcome.kind() != OutcomeKind::Rejected
                && f.findings.iter().any(|x| x.severity == Severity::Warning)
            {
                c.warnings += 1;
            }
        }
        c
    }
}

/// The result of replaying one message through a handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageReplay {
    /// The source text replayed.
    pub source_text: String,
    /// Parse problems that stopped or marred reading the source.
    pub parse_problems: Vec<hl7::ParseProblem>,
    /// The parsed source (`None` when it could not be read).
    #[serde(skip)]
    pub source: Option<Message>,
    #[serde(skip)]
    pub mapped: Option<Message>,
    /// The mapped message, encoded with `\r` segment ends.
    pub mapped_text: String,
    pub fields: Vec<FieldResult>,
    /// Every finding, sender first, then mapping, then receiver.
    pub findings: Vec<Finding>,
    /// Fields the receiver silently ignores.
    pub ignored: Vec<profile::Ignored>,
    pub counts: Counts,
    /// MSA-1 of the receipt: AA, AE or AR.
    pub ack_code: String,
    /// The granular receipt, `\r`-separated.
    pub ack: String,
}

/// Replays one message text through a handoff.
pub fn replay_text(handoff: &Handoff, tables: &Tables, text: &str) -> MessageReplay {
    match hl7::parse_one_noting(text) {
        Ok((msg, mut warnings)) => {
            // What `inspect` says of the same text (an unterminated escape…).
            warnings.extend(crate::inspect::escape_problems(&msg));
            let mut r = replay_message(handoff, tables, msg);
            r.parse_problems = warnings;
            r
        }
        Err(problems) => unreadable(handoff, text, problems),
    }
}

/// The replay of text that could not be read: AR, with the problems as findings.
pub fn unreadable(
    handoff: &Handoff,
    text: &str,
    problems: Vec<hl7::ParseProblem>,
) -> MessageReplay {
    let findings: Vec<Finding> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| Finding {
            location: Path::field("MSH", 1, 1),
            segment_only: true,
            code: finding::SEGMENT_SEQUENCE,
            severity: Severity::Error,
            reason: format!("line {}, column {}: {}", p.line, p.column, p.message),
            side: Side::Receiver,
            rule: None,
        })
        .collect();
    let ack_text = ack::build_for_unreadable(text, handoff, &findings);
    MessageReplay {
        source_text: text.to_string(),
        parse_problems: problems,
        source: None,
        mapped: None,
        mapped_text: String::new(),
        fields: Vec::new(),
        findings,
        ignored: Vec::new(),
        counts: Counts::default(),
        ack_code: "AR".to_string(),
        ack: ack_text,
    }
}

/// The replay of a parsed message before its receipt is written: both
/// checks, the mapping and the account. [`replay_message`] and a log replay
/// share it, so a log's message is replayed exactly as a scenario's.
pub struct Replayed {
    pub sender: profile::CheckResult,
    pub mapped: mapping::Mapped,
    pub receiver: profile::CheckResult,
    pub fields: Vec<FieldResult>,
}

impl Replayed {
    /// Sender check → mapping → receiver check → account.
    pub fn run(handoff: &Handoff, tables: &Tables, source: &Message) -> Replayed {
        let (sender, mapped, receiver) = stages(handoff, tables, source);
        let fields = crate::account::account(source, &mapped, &sender, &receiver);
        Replayed {
            sender,
            mapped,
            receiver,
            fields,
        }
    }
}

/// Sender check → mapping → receiver check.
fn stages(
    handoff: &Handoff,
    tables: &Tables,
    source: &Message,
) -> (profile::CheckResult, mapping::Mapped, profile::CheckResult) {
    let sender = profile::check(&handoff.sender, tables, source);
    let mapped = mapping::apply(&handoff.rules, tables, source);
    let receiver = profile::check(&handoff.receiver, tables, &mapped.message);
    (sender, mapped, receiver)
}

/// A message replayed exactly as [`Replayed::run`] replays it, for a log's
/// counts: the account's rows are handed to `row` as they are decided, none
/// written out. Returns MSA-1 of the receipt (what the interface and the
/// receiver found decide it; the sender's own findings are not acknowledged).
pub fn replay_rows(
    handoff: &Handoff,
    tables: &Tables,
    source: &Message,
    row: impl FnMut(crate::account::Row<'_>),
) -> &'static str {
    let (sender, mapped, receiver) = stages(handoff, tables, source);
    crate::account::account_rows(source, &mapped, &sender, &receiver, row);
    ack::ack_code(mapped.findings.iter().chain(&receiver.findings))
}

/// Replays a parsed message through a handoff.
pub fn replay_message(handoff: &Handoff, tables: &Tables, source: Message) -> MessageReplay {
    let Replayed {
        sender,
        mapped,
        receiver,
        fields,
    } = Replayed::run(handoff, tables, &source);
    // The receipt carries what the interface and the receiver found; the
    // sender's own conformance findings are reported but not acknowledged.
    let mut receipt_findings = mapped.findings.clone();
    receipt_findings.extend(receiver.findings.iter().cloned());
    let (ack_code, ack_text) = ack::build(&mapped.message, &handoff.receiver, &receipt_findings);
    let mut findings = sender.findings;
    findings.extend(receipt_findings);
    MessageReplay {
        source_text: source.text.clone(),
        parse_problems: Vec::new(),
        mapped_text: mapped.message.encode_wire(),
        counts: Counts::of(&fields),
        fields,
        findings,
        ignored: receiver.ignored,
        ack_code,
        ack: ack_text,
        source: Some(source),
        mapped: Some(mapped.message),
    }
}

/// Whether a scenario's expectations held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Met,
    Unmet,
}

/// One expectation and whether it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub expectation: String,
    pub met: bool,
    pub actual: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub name: String,
    pub kind: crate::scenario::Kind,
    pub handoff: String,
    pub verdict: Verdict,
    pub checks: Vec<Check>,
    #[serde(flatten)]
    pub replay: MessageReplay,
    /// The expected mapped message, when the scenario gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_text: Option<String>,
    /// Fields only the expected message has (each differs from the mapped message).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_only: Vec<ExpectedOnly>,
}

impl ScenarioResult {
    /// A message replayed outside any scenario (a log's example, a paste):
    /// no expectations, so nothing is unmet.
    pub fn unscripted(
        scenario: &str,
        name: &str,
        kind: crate::scenario::Kind,
        handoff: &str,
        replay: MessageReplay,
    ) -> ScenarioResult {
        ScenarioResult {
            scenario: scenario.to_string(),
            name: name.to_string(),
            kind,
            handoff: handoff.to_string(),
            verdict: Verdict::Met,
            checks: Vec::new(),
            replay,
            expected_text: None,
            expected_only: Vec::new(),
        }
    }
}

/// Replays one scenario of a workspace.
pub fn replay_scenario(ws: &Workspace, scenario: &Scenario) -> ScenarioResult {
    let Some(handoff) = ws.handoff(&scenario.handoff) else {
        // Workspace loading guarantees the handoff exists; keep a readable result anyway.
        return ScenarioResult {
            scenario: scenario.id.clone(),
            name: scenario.name.clone(),
            kind: scenario.kind,
            handoff: scenario.handoff.clone(),
            verdict: Verdict::Unmet,
            checks: vec![Check {
                expectation: format!("handoff `{}` exists", scenario.handoff),
                met: false,
                actual: "not defined".into(),
            }],
            replay: MessageReplay {
                source_text: scenario.input.clone(),
                parse_problems: Vec::new(),
                source: None,
                mapped: None,
                mapped_text: String::new(),
                fields: Vec::new(),
                findings: Vec::new(),
                ignored: Vec::new(),
                counts: Counts::default(),
                ack_code: "AR".into(),
                ack: String::new(),
            },
            expected_text: None,
            expected_only: Vec::new(),
        };
    };
    let mut replay = match scenario.prepared_input() {
        Ok(text) => replay_text(handoff, &ws.tables, &text),
        Err(e) => unreadable(
            handoff,
            "",
            vec![hl7::ParseProblem {
                line: 1,
                column: 1,
                severity: Severity::Error,
                message: e,
            }],
        ),
    };
    let expected_only = match scenario.expected_message.as_deref().map(hl7::parse_one) {
        Some(Ok(expected)) => compare_expected(&mut replay, &expected),
        _ => Vec::new(),
    };
    let checks = check_expectations(scenario, &replay, &expected_only);
    let verdict = if checks.iter().all(|c| c.met) {
        Verdict::Met
    } else {
        Verdict::Unmet
    };
    ScenarioResult {
        scenario: scenario.id.clone(),
        name: scenario.name.clone(),
        kind: scenario.kind,
        handoff: scenario.handoff.clone(),
        verdict,
        checks,
        replay,
        expected_text: scenario.expected_message.clone(),
        expected_only,
    }
}

/// Where a row's value ended up: its target when a rule moved it.
pub fn landing(f: &FieldResult) -> &Path {
    match &f.outcome {
        Outcome::Transformed { target, .. } if !target.same_field(&f.path) => target,
        _ => &f.path,
    }
}

/// Sets each row's expected value (where its value ended up) and whether
/// the mapped value differs from it; returns the fields only the expected
/// message has. One pass over each message, no search per row.
fn compare_expected(replay: &mut MessageReplay, expected: &Message) -> Vec<ExpectedOnly> {
    type Key = (hl7::SegName, u32, usize);
    let fields = expected.populated_fields();
    let by_key: rustc_hash::FxHashMap<Key, &str> = fields
        .iter()
        .map(|f| {
            (
                (
                    f.path.segment,
                    f.path.segment_number.unwrap_or(1),
                    f.path.field_number,
                ),
                f.raw,
            )
        })
        .collect();
    let mut covered: rustc_hash::FxHashSet<Key> = Default::default();
    for f in &mut replay.fields {
        let at = landing(f).clone();
        let key = (at.segment, at.segment_number.unwrap_or(1), at.field_number);
        covered.insert(key);
        let value = if at.repetition_number.is_none() && at.component_number.is_none() {
            by_key.get(&key).copied()
        } else {
            expected.get(&at).filter(|v| !v.is_empty())
        };
        f.differs_from_expected = f.mapped.as_deref().unwrap_or("") != value.unwrap_or("");
        f.expected = value.map(Arc::from);
    }
    fields
        .iter()
        .filter(|f| {
            !covered.contains(&(
                f.path.segment,
                f.path.segment_number.unwrap_or(1),
                f.path.field_number,
            ))
        })
        .map(|f| ExpectedOnly {
            name: hl7::names::name_of(&f.path),
            path: f.path.clone(),
            expected: f.raw.to_string(),
        })
        .collect()
}

/// Replays every scenario, in order.
pub fn replay_all(ws: &Workspace) -> Vec<ScenarioResult> {
    ws.scenarios
        .iter()
        .map(|s| replay_scenario(ws, s))
        .collect()
}

fn check_expectations(s: &Scenario, r: &MessageReplay, only: &[ExpectedOnly]) -> Vec<Check> {
    let e = &s.expect;
    let mut checks = Vec::new();
    if let Some(ack) = &e.ack {
        checks.push(Check {
            expectation: format!("receipt MSA-1 = {ack}"),
            met: &r.ack_code == ack,
            actual: r.ack_code.clone(),
        });
    }
    for (what, want, got) in [
        ("rejected", e.rejected, r.counts.rejected),
        ("dropped", e.dropped, r.counts.dropped),
        ("transformed", e.transformed, r.counts.transformed),
    ] {
        if let Some(want) = want {
            checks.push(Check {
                expectation: format!("{want} fields {what}"),
                met: want == got,
                actual: got.to_string(),
            });
        }
    }
    if let Some(expected) = &s.expected_message {
        let want = hl7::parse_one(expected)
            .map(|m| m.encode_wire())
            .unwrap_or_else(|_| expected.clone());
        let met = want == r.mapped_text;
        let differing: Vec<String> = r
            .fields
            .iter()
            .filter(|f| f.differs_from_expected)
            .map(|f| landing(f).display_exact())
            .chain(only.iter().map(|o| o.path.display_exact()))
            .collect();
        let actual = match (met, differing.len()) {
            (true, _) => "equal".to_string(),
            (false, 0) => "differs in segment order or delimiters (see the diff)".to_string(),
            (false, n) if n <= 5 => format!("differs at {}", differing.join(", ")),
            (false, n) => format!(
                "differs at {} and {} more",
                differing[..5].join(", "),
                n - 5
            ),
        };
        checks.push(Check {
            expectation: "mapped message equals the expected message".into(),
            met,
            actual,
        });
    }
    for fe in &e.field {
        // `PID-3[2]` names the row of that repetition when rules split the field.
        let row = r
            .fields
            .iter()
            .find(|f| {
                f.path.same_field(&fe.path)
                    && fe.path.repetition_number.is_some()
                    && f.path.repetition_number == fe.path.repetition_number
            })
            .or_else(|| r.fields.iter().find(|f| f.path.same_field(&fe.path)));
        let mut parts = Vec::new();
        let mut met = row.is_some();
        let actual = match row {
            None => "no such field in the account".to_string(),
            Some(row) => {
                let kind = row.outcome.kind();
                if let Some(o) = fe.outcome {
                    parts.push(o.as_str().to_string());
                    met &= o == kind;
                }
                let (code, severity, side) = match &row.outcome {
                    Outcome::Rejected {
                        code,
                        severity,
                        side,
                        ..
                    } => (Some(*code), Some(*severity), Some(*side)),
                    _ => (None, None, None),
                };
                if let Some(c) = fe.code {
                    parts.push(format!("code {c}"));
                    met &= row.findings.iter().any(|f| f.code == c) || code == Some(c);
                }
                if let Some(sv) = fe.severity {
                    parts.push(sv.as_str().to_string());
                    met &= severity == Some(sv) || row.findings.iter().any(|f| f.severity == sv);
                }
                if let Some(sd) = fe.side {
                    parts.push(format!("by {}", sd.as_str()));
                    met &= row.findings.iter().any(|f| f.side == sd) || side == Some(sd);
                }
                if let Some(rule) = &fe.rule {
                    parts.push(format!("rule {rule}"));
                    // A row that cites several rules matches any one of them.
                    met &= row.effects.iter().any(|e| *e.rule == **rule)
                        || row
                            .findings
                            .iter()
                            .any(|f| f.rule.as_deref() == Some(rule.as_str()))
                        || matches!(&row.outcome, Outcome::Dropped { rule: Some(x), .. } if x == rule)
                        || matches!(&row.outcome, Outcome::Rejected { rules, .. } if rules.contains(rule));
                }
                if let Some(v) = &fe.mapped {
                    parts.push(format!("mapped `{v}`"));
                    let got = r
                        .mapped
                        .as_ref()
                        .map(|m| m.get_or_empty(&fe.path).to_string())
                        .unwrap_or_default();
                    met &= &got == v;
                }
                describe_row(
                    row,
                    fe.mapped.is_some().then(|| {
                        r.mapped
                            .as_ref()
                            .map(|m| m.get_or_empty(&fe.path).to_string())
                            .unwrap_or_default()
                    }),
                )
            }
        };
        checks.push(Check {
            expectation: format!("{} {}", fe.path, parts.join(", ")),
            met,
            actual,
        });
    }
    let matches = |ff: &crate::scenario::FindingExpectation, f: &crate::Finding| {
        (f.location.same_field(&ff.path)
            || (f.segment_only && f.location.segment == ff.path.segment))
            && f.code == ff.code
            && ff.severity.is_none_or(|s| s == f.severity)
            && ff.side.is_none_or(|s| s == f.side)
    };
    for ff in &e.no_finding {
        let hits: Vec<String> = r
            .findings
            .iter()
            // Same component too: OBX-17.1 too long says nothing of OBX-17.3.
            .filter(|f| {
                matches(ff, f)
                    && (ff.path.component_number.is_none()
                        || f.location.component_number.is_none()
                        || f.location.component_number == ff.path.component_number)
            })
            .map(|f| {
                format!(
                    "{} {} {}: {}",
                    f.location_text(),
                    f.code,
                    f.severity.as_str(),
                    f.reason
                )
            })
            .collect();
        checks.push(Check {
            expectation: format!("no finding {} code {}", ff.path, ff.code),
            met: hits.is_empty(),
            actual: if hits.is_empty() {
                "none".into()
            } else {
                hits.join("; ")
            },
        });
    }
    for ff in &e.finding {
        let hit = r.findings.iter().any(|f| matches(ff, f));
        let actual = r
            .findings
            .iter()
            .filter(|f| f.location.segment == ff.path.segment)
            .map(|f| format!("{} {} {}", f.location_text(), f.code, f.severity.as_str()))
            .collect::<Vec<_>>()
            .join("; ");
        checks.push(Check {
            expectation: format!("finding {} code {}", ff.path, ff.code),
            met: hit,
            actual: if actual.is_empty() {
                "none".into()
            } else {
                actual
            },
        });
    }
    checks
}

fn describe_row(row: &FieldResult, mapped: Option<String>) -> String {
    let mut s = match &row.outcome {
        Outcome::Accepted => "accepted".to_string(),
        Outcome::Transformed { rules, .. } => format!("transformed by {}", rules.join(", ")),
        Outcome::Rejected {
            code,
            severity,
            side,
            ..
        } => format!("rejected {code} {} by {}", severity.as_str(), side.as_str()),
        Outcome::Dropped { rule, .. } => match rule {
            Some(r) => format!("dropped by {r}"),
            None => "dropped".to_string(),
        },
    };
    if let Some(m) = mapped {
        s.push_str(&format!(", mapped `{m}`"));
    }
    s
}
