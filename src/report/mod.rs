//! The go-live report: a model built from a workspace, its replay results
//! and a session; rendered as self-contained HTML and as JSON; patient data
//! masked by default; signed with a detached Ed25519 signature that
//! `baton verify` (or openssl) checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::finding::Finding;
use crate::hl7::Path as FieldPath;
use crate::replay::{ScenarioResult, Verdict};
use crate::session::{self, Event, GoLive, Person, Session, SignoffStatus};
use crate::workspace::{InputFile, Workspace, hex};

mod mask;
mod verify;

pub use mask::{DEFAULT_PHI, DEFAULT_PHI_DATES, Masker};
pub use verify::{Verification, verify};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportField {
    pub path: String,
    pub name: String,
    pub source: String,
    pub mapped: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportScenario {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub handoff: String,
    pub verdict: Verdict,
    pub ack_code: String,
    /// The counts a sign-off's content digest covers.
    pub counts: crate::replay::Counts,
    pub checks: Vec<(String, bool, String)>,
    pub fields: Vec<ReportField>,
    pub findings: Vec<Finding>,
    pub source: String,
    pub mapped: String,
    pub receipt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSignoff {
    /// The session record, whole: a verifier recomputes the signature from it.
    pub id: String,
    pub at: String,
    pub by: Person,
    pub decision: String,
    /// As signed (sign-off comments are not masked: the signature covers them).
    pub comment: String,
    /// The content (inputs and results) this sign-off signed.
    pub content_digest: String,
    pub public_key: String,
    pub signature: String,
    /// Short SHA-256 fingerprint of the public key.
    pub fingerprint: String,
    /// The key against the workspace's register: registered, first use,
    /// unregistered, revoked.
    pub trust: String,
    pub status: SignoffStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportModel {
    pub title: String,
    pub workspace: String,
    pub description: String,
    pub generated_at: String,
    pub tool_version: String,
    pub session: String,
    pub masked: bool,
    /// Per handoff, its facts in reading order.
    pub handoffs: Vec<Vec<(String, String)>>,
    pub inputs: Vec<InputFile>,
    pub content_digest: String,
    pub scenarios: Vec<ReportScenario>,
    pub comments: Vec<(String, String, String, String)>,
    pub waivers: Vec<BTreeMap<String, String>>,
    pub signoffs: Vec<ReportSignoff>,
    /// The register of signers the statuses were computed against.
    pub signers: Vec<crate::signers::Signer>,
    /// Gap analysis per handoff, with the teams' dispositions.
    pub gaps: Vec<ReportGaps>,
    /// Live MLLP exchanges captured in the session.
    pub exchanges: Vec<crate::mllp::Exchange>,
    pub go_live: GoLive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportGaps {
    pub handoff: String,
    pub rows: Vec<crate::gap::GapRow>,
    /// path → (disposition, note, owner)
    pub dispositions: BTreeMap<String, (String, String, String)>,
}

/// Builds the report model. `mask` masks patient data by meaning (see
/// [`Masker`]); sign-offs are checked against `signers`.
pub fn build(
    ws: &Workspace,
    results: &[ScenarioResult],
    session: &Session,
    mask: bool,
    signers: &crate::signers::Signers,
) -> ReportModel {
    let summaries = session::summaries(results);
    let digest = session::content_digest(&ws.files, &summaries);
    let all_met = results.iter().all(|r| r.verdict == Verdict::Met);
    // Values are learned from the results only when they are to be masked.
    let masker = if mask {
        Masker::for_results(results, &ws.phi, &ws.phi_dates, &digest)
    } else {
        Masker::new(&ws.phi, &ws.phi_dates, &digest)
    };
    let m = |s: &str| if mask { masker.apply(s) } else { s.to_string() };
    let scenarios = results
        .iter()
        .map(|r| scenario_of(r, mask, &masker))
        .collect();
    let mut comments = Vec::new();
    let mut waivers = Vec::new();
    let mut signoffs = Vec::new();
    let mut exchanges = Vec::new();
    for rec in &session.records {
        match &rec.event {
            Event::Comment {
                by,
                scenario,
                path,
                text,
            } => comments.push((
                rec.at.clone(),
                format!("{} ({}, {})", by.name, by.role, by.side.as_str()),
                format!(
                    "{scenario}{}",
                    path.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
                ),
                m(text),
            )),
            Event::Waiver {
                by,
                scenario,
                path,
                code,
                reason,
                owner,
                expires,
            } => {
                let mut w = BTreeMap::new();
                w.insert("at".into(), rec.at.clone());
                w.insert("by".into(), by.name.clone());
                w.insert(
                    "finding".into(),
                    format!(
                        "{scenario} {path}{}",
                        code.map(|c| format!(" ({c})")).unwrap_or_default()
                    ),
                );
                w.insert("reason".into(), m(reason));
                w.insert("owner".into(), owner.clone());
                w.insert("expires".into(), expires.clone());
                waivers.push(w);
            }
            Event::Signoff {
                by,
                decision,
                comment,
                content_digest,
                public_key,
                signature,
            } => signoffs.push(ReportSignoff {
                id: rec.id.clone(),
                at: rec.at.clone(),
                by: by.clone(),
                decision: format!("{decision:?}").to_lowercase(),
                comment: comment.clone(),
                content_digest: content_digest.clone(),
                public_key: public_key.clone(),
                signature: signature.clone(),
                fingerprint: crate::signers::fingerprint(public_key),
                trust: trust_text(signers.trust(&by.name, by.side, public_key)),
                status: session::signoff_status(rec, &digest, signers)
                    .unwrap_or(SignoffStatus::Invalid),
            }),
            Event::Exchange(x) => exchanges.push(crate::mllp::Exchange {
                message: if mask {
                    masker.mask_message_text(&x.message)
                } else {
                    x.message.clone()
                },
                ack: if mask {
                    masker.mask_message_text(&x.ack)
                } else {
                    x.ack.clone()
                },
                ..x.clone()
            }),
            Event::Run { .. } | Event::Disposition { .. } => {}
        }
    }
    let handoffs = ws
        .handoffs
        .iter()
        .map(|h| {
            [
                ("name", h.name.clone()),
                ("sending system", h.source.clone()),
                ("receiving system", h.target.clone()),
                ("direction", h.direction.clone()),
                ("message types", h.message_types.join(", ")),
                ("format", h.format.clone()),
                ("transport", h.transport.clone()),
                ("frequency", h.frequency.clone()),
                ("error handling", h.error_handling.clone()),
                ("owner", h.owner.clone()),
                (
                    "sender profile",
                    format!("{} ({})", h.sender.name, h.sender_profile_file),
                ),
                (
                    "receiver profile",
                    format!("{} ({})", h.receiver.name, h.receiver_profile_file),
                ),
                (
                    "mapping rules",
                    format!(
                        "{} rules ({}): {}",
                        h.rules.rules.len(),
                        h.rules_file,
                        h.rules
                            .rules
                            .iter()
                            .map(|r| r.id.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                ("context requirements", h.context.join("; ")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        })
        .collect();
    let dispositions = session::dispositions(session);
    let gaps = ws
        .handoffs
        .iter()
        .map(|h| ReportGaps {
            handoff: h.id.clone(),
            rows: crate::gap::analyse(&h.sender, &h.receiver, Some(&h.rules), &ws.tables)
                .into_iter()
                .filter(|r| r.status != "no gap")
                .collect(),
            dispositions: dispositions
                .iter()
                .filter(|((ho, _), _)| ho == &h.id)
                .map(|((_, p), d)| (p.clone(), d.clone()))
                .collect(),
        })
        .collect();
    ReportModel {
        exchanges,
        gaps,
        title: format!("Go-live report: {}", ws.name),
        workspace: ws.name.clone(),
        description: ws.description.clone(),
        generated_at: session::now_rfc3339(),
        tool_version: crate::VERSION.to_string(),
        session: session.name.clone(),
        masked: mask,
        handoffs,
        inputs: ws.files.clone(),
        content_digest: digest.clone(),
        scenarios,
        comments,
        waivers,
        signoffs,
        signers: signers.signer.clone(),
        go_live: session::go_live(session, &digest, all_met, signers),
    }
}

/// A key's standing, in words.
pub fn trust_text(t: crate::signers::KeyTrust) -> String {
    match t {
        crate::signers::KeyTrust::Registered(t) => t.as_str().to_string(),
        crate::signers::KeyTrust::Unregistered => "unregistered".into(),
        crate::signers::KeyTrust::Revoked => "revoked".into(),
    }
}

/// One scenario in the report; patient data masked where it stands.
fn scenario_of(r: &ScenarioResult, mask: bool, masker: &Masker) -> ReportScenario {
    let m = |s: &str| if mask { masker.apply(s) } else { s.to_string() };
    let d = r
        .replay
        .source
        .as_ref()
        .map(|x| x.delimiters)
        .unwrap_or_default();
    let field = |p: &FieldPath, v: Option<&str>| {
        let v = v.unwrap_or("");
        if mask {
            masker.mask_field(p, v, &d)
        } else {
            v.to_string()
        }
    };
    let message = |msg: Option<&crate::hl7::Message>, text: &str| match (mask, msg) {
        (false, _) => text.replace('\r', "\n"),
        (true, Some(msg)) => masker.mask_message(msg).encode_wire().replace('\r', "\n"),
        (true, None) if text.is_empty() => String::new(),
        (true, None) => format!(
            "(input that could not be read as HL7, {} bytes: not shown while patient data is masked)",
            text.len()
        ),
    };
    ReportScenario {
        id: r.scenario.clone(),
        name: r.name.clone(),
        kind: r.kind.as_str().into(),
        handoff: r.handoff.clone(),
        verdict: r.verdict,
        ack_code: r.replay.ack_code.clone(),
        counts: r.replay.counts,
        checks: r
            .checks
            .iter()
            .map(|c| (c.expectation.clone(), c.met, m(&c.actual)))
            .collect(),
        fields: crate::diff::diff_scenario(r)
            .into_iter()
            .map(|row| {
                let phi = masker.is_phi(&row.path);
                ReportField {
                    path: row.path.to_string(),
                    name: row.name.to_string(),
                    source: field(&row.path, row.source.as_deref()),
                    mapped: field(
                        row.target.as_ref().unwrap_or(&row.path),
                        row.mapped.as_deref(),
                    ),
                    outcome: row
                        .outcome
                        .map(|o| o.as_str().to_string())
                        .unwrap_or_default(),
                    detail: if phi {
                        m(&row.detail)
                    } else {
                        row.detail.clone()
                    },
                }
            })
            .collect(),
        findings: r
            .replay
            .findings
            .iter()
            .map(|f| Finding {
                reason: if masker.is_phi(&f.location) {
                    m(&f.reason)
                } else {
                    f.reason.clone()
                },
                ..f.clone()
            })
            .collect(),
        source: message(r.replay.source.as_ref(), &r.replay.source_text),
        mapped: message(r.replay.mapped.as_ref(), &r.replay.mapped_text),
        receipt: if mask {
            masker.mask_message_text(&r.replay.ack).replace('\r', "\n")
        } else {
            r.replay.ack.replace('\r', "\n")
        },
    }
}

use html_escape as esc;

/// Text made safe inside HTML (elements and attribute values).
pub(crate) fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328}h1{font-size:1.6rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top;font-size:12px}th{background:#f6f8fa}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;word-break:break-all}.b{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-weight:600;font-size:11px}.accepted{color:#1a7f37}.transformed{background:#0969da}.rejected{background:#cf222e}.dropped{background:#9a6700}.met{background:#1a7f37}.unmet{background:#cf222e}.ready{background:#1a7f37}.notready{background:#cf222e}.valid{color:#1a7f37}.stale{color:#9a6700}.invalid{color:#cf222e}.untrusted{color:#cf222e}details{margin:.4rem 0}@media print{details{display:block}details>*{display:block}body{margin:0}h2{break-before:auto}table{page-break-inside:auto}tr{page-break-inside:avoid}}";

/// Renders the model as one self-contained HTML page, with the model
/// embedded as JSON and its SHA-256 in a meta tag.
pub fn render_html(r: &ReportModel) -> String {
    let json = serde_json::to_string(r).unwrap_or_else(|_| "{}".into());
    // `</` cannot appear inside the script element.
    let embedded = json.replace("</", "<\\/");
    let json_digest = hex(&Sha256::digest(embedded.as_bytes()));
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<meta name=\"baton-data-sha256\" content=\"{json_digest}\">"
    ));
    h.push_str(&format!(
        "<title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&r.title)
    ));
    h.push_str(&format!("<h1>{}</h1>\n", esc(&r.title)));
    let g = &r.go_live;
    h.push_str(&format!(
        "<p><span class=\"b {}\">{}</span> Session <code>{}</code> · generated {} by Baton {} · content digest <code>{}</code>{}</p>\n",
        if g.ready { "ready" } else { "notready" },
        if g.ready { "READY FOR GO-LIVE" } else { "NOT READY" },
        esc(&r.session),
        esc(&r.generated_at),
        esc(&r.tool_version),
        esc(&r.content_digest),
        if r.masked { " · patient data masked" } else { " · <strong>patient data NOT masked</strong>" }
    ));
    if !g.missing.is_empty() {
        h.push_str("<p>Missing: ");
        h.push_str(
            &g.missing
                .iter()
                .map(|m| esc(m))
                .collect::<Vec<_>>()
                .join("; "),
        );
        h.push_str("</p>\n");
    }
    if !r.description.is_empty() {
        h.push_str(&format!("<p>{}</p>\n", esc(&r.description)));
    }
    h.push_str("<h2>Handoffs</h2>\n");
    for ho in &r.handoffs {
        h.push_str("<table>");
        for (k, v) in ho {
            h.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Sign-offs</h2>\n<table><tr><th>When</th><th>Who</th><th>Side</th><th>Decision</th><th>Key</th><th>Status</th><th>Comment</th></tr>");
    for s in &r.signoffs {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td><code>{}</code> ({})</td><td class=\"{st}\">{st}</td><td>{}</td></tr>",
            esc(&s.at),
            esc(&s.by.name),
            esc(&s.by.role),
            s.by.side.as_str(),
            esc(&s.decision),
            esc(&s.fingerprint),
            esc(&s.trust),
            esc(&s.comment),
            st = s.status.as_str()
        ));
    }
    h.push_str("</table>\n");
    h.push_str("<h2>Registered signers</h2>\n<table><tr><th>Who</th><th>Side</th><th>Key</th><th>Added</th><th>Trust</th><th>Revoked</th></tr>");
    for s in &r.signers {
        h.push_str(&format!(
            "<tr><td>{} ({})</td><td>{}</td><td><code>{}</code></td><td>{} by {}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.role),
            s.side.as_str(),
            esc(&s.fingerprint()),
            esc(&s.added),
            esc(&s.added_by),
            s.trust.as_str(),
            esc(&s
                .revoked
                .as_ref()
                .map(|at| format!("{at} by {}", s.revoked_by.as_deref().unwrap_or("")))
                .unwrap_or_default())
        ));
    }
    h.push_str("</table>\n");
    let met = r
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Met)
        .count();
    h.push_str(&format!("<h2>Scenarios: {met} of {} met</h2>\n<table><tr><th>Scenario</th><th>Kind</th><th>Handoff</th><th>Verdict</th><th>Receipt</th></tr>", r.scenarios.len()));
    for s in &r.scenarios {
        let v = if s.verdict == Verdict::Met {
            "met"
        } else {
            "unmet"
        };
        h.push_str(&format!(
            "<tr><td><a href=\"#s-{id}\">{}</a></td><td>{}</td><td>{}</td><td><span class=\"b {v}\">{v}</span></td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.kind),
            esc(&s.handoff),
            esc(&s.ack_code),
            id = esc(&s.id)
        ));
    }
    h.push_str("</table>\n");
    for s in &r.scenarios {
        h.push_str(&format!(
            "<h2 id=\"s-{}\">{} <small>({})</small></h2>\n",
            esc(&s.id),
            esc(&s.name),
            esc(&s.id)
        ));
        h.push_str("<ul>");
        for (e, ok, actual) in &s.checks {
            h.push_str(&format!(
                "<li>{} {}{}</li>",
                if *ok { "✔" } else { "✘" },
                esc(e),
                if *ok {
                    String::new()
                } else {
                    format!(" — got {}", esc(actual))
                }
            ));
        }
        h.push_str("</ul>\n<table><tr><th>Path</th><th>Field</th><th>Source</th><th>Mapped</th><th>Outcome</th><th>Rule / code and reason</th></tr>");
        for f in &s.fields {
            let badge = if f.outcome == "accepted" {
                format!("<span class=\"accepted\">{}</span>", f.outcome)
            } else {
                format!("<span class=\"b {o}\">{o}</span>", o = esc(&f.outcome))
            };
            h.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{badge}</td><td>{}</td></tr>",
                esc(&f.path),
                esc(&f.name),
                esc(&f.source),
                esc(&f.mapped),
                esc(&f.detail)
            ));
        }
        h.push_str("</table>\n");
        h.push_str(&format!(
            "<details><summary>Receipt ({})</summary><pre>{}</pre></details><details><summary>Source message</summary><pre>{}</pre></details><details><summary>Mapped message</summary><pre>{}</pre></details>\n",
            esc(&s.ack_code),
            esc(&s.receipt),
            esc(&s.source),
            esc(&s.mapped)
        ));
    }
    h.push_str(
        "<h2>Comments</h2>\n<table><tr><th>When</th><th>Who</th><th>On</th><th>Comment</th></tr>",
    );
    for (at, by, on, text) in &r.comments {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(at),
            esc(by),
            esc(on),
            esc(text)
        ));
    }
    h.push_str("</table>\n<h2>Waivers</h2>\n<table><tr><th>Finding</th><th>Reason</th><th>Owner</th><th>Expires</th><th>By</th></tr>");
    for w in &r.waivers {
        let g = |k: &str| esc(w.get(k).map(String::as_str).unwrap_or(""));
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            g("finding"),
            g("reason"),
            g("owner"),
            g("expires"),
            g("by")
        ));
    }
    h.push_str("</table>\n");
    for g in &r.gaps {
        h.push_str(&format!(
            "<h2>Gap analysis: {}</h2>\n<table><tr><th>Status</th><th>Field</th><th>Gaps</th><th>Rules</th><th>Disposition</th></tr>",
            esc(&g.handoff)
        ));
        for row in &g.rows {
            let gaps = row
                .gaps
                .iter()
                .map(|x| {
                    format!(
                        "{} ({}): {}",
                        esc(&x.kind),
                        x.severity.as_str(),
                        esc(&x.detail)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>");
            let disp = g
                .dispositions
                .get(&row.path)
                .map(|(d, n, o)| format!("{} — {} (owner {})", esc(d), esc(n), esc(o)))
                .unwrap_or_default();
            h.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code> {}</td><td>{gaps}</td><td>{}</td><td>{disp}</td></tr>",
                esc(&row.status),
                esc(&row.path),
                esc(&row.name),
                esc(&row.covered_by.join(", "))
            ));
        }
        h.push_str("</table>\n");
    }
    if !r.exchanges.is_empty() {
        h.push_str(&format!("<h2>Live exchanges ({})</h2>\n<table><tr><th>Leg</th><th>Peer</th><th>Message</th><th>ACK</th><th>Predicted</th><th>Latency</th><th>Note</th></tr>", r.exchanges.len()));
        for x in &r.exchanges {
            let note = match (&x.error, x.mismatch) {
                (Some(e), _) => esc(e),
                (None, true) => "receiver disagrees with Baton's receipt".into(),
                _ => String::new(),
            };
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} ms</td><td>{note}</td></tr>",
                esc(&x.leg),
                esc(&x.peer),
                esc(&x.label),
                esc(&x.ack_code),
                esc(&x.predicted),
                x.latency_us as f64 / 1000.0
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Inputs</h2>\n<table><tr><th>File</th><th>SHA-256</th></tr>");
    for f in &r.inputs {
        h.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&f.path),
            esc(&f.sha256)
        ));
    }
    h.push_str("</table>\n");
    h.push_str(&format!(
        "<script type=\"application/json\" id=\"baton-data\">{embedded}</script>\n"
    ));
    h.push_str("</body></html>\n");
    h
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Session(#[from] session::SessionError),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The files written for a report.
#[derive(Debug, Clone)]
pub struct Written {
    pub html: PathBuf,
    pub json: PathBuf,
    pub signature: PathBuf,
    pub public_key: PathBuf,
}

pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `out` (HTML), the JSON beside it, and a detached signature by
/// `signer` over the HTML's bytes (`.sig`, raw 64 bytes) with the public
/// key (`.pub.pem`).
pub fn write(model: &ReportModel, out: &Path, signer: &str) -> Result<Written, ReportError> {
    let html = render_html(model);
    let json =
        serde_json::to_string_pretty(model).map_err(|e| ReportError::Invalid(e.to_string()))?;
    let key = session::signing_key(signer)?;
    let sig = key.sign(html.as_bytes());
    let pem = session::public_key_pem(&hex(key.verifying_key().as_bytes()))
        .ok_or_else(|| ReportError::Invalid("cannot encode the public key".into()))?;
    let w = Written {
        html: out.to_path_buf(),
        json: out.with_extension("json"),
        signature: sibling(out, ".sig"),
        public_key: sibling(out, ".pub.pem"),
    };
    session::write_atomic(&w.html, html.as_bytes())?;
    session::write_atomic(&w.json, json.as_bytes())?;
    session::write_atomic(&w.signature, &sig.to_bytes())?;
    session::write_atomic(&w.public_key, pem.as_bytes())?;
    Ok(w)
}
