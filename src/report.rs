//! The go-live report: a model built from a workspace, its replay results
//! and a session; rendered as self-contained HTML and as JSON; patient data
//! masked by default; signed with a detached Ed25519 signature that
//! `baton verify` (or openssl) checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, Verifier, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::finding::Finding;
use crate::hl7::{self, Path as FieldPath};
use crate::replay::{ScenarioResult, Verdict};
use crate::session::{self, Event, GoLive, Person, Session, SignoffStatus};
use crate::workspace::{InputFile, Workspace, hex};

/// Fields masked in exports unless the workspace says otherwise.
pub const DEFAULT_PHI: &[&str] = &[
    "PID-2", "PID-3", "PID-4", "PID-5", "PID-6", "PID-7", "PID-9", "PID-11", "PID-13", "PID-14",
    "PID-18", "PID-19", "PID-20", "NK1-2", "NK1-4", "NK1-5", "NK1-6", "MRG-1", "MRG-7", "GT1-3",
    "GT1-5", "GT1-6", "IN1-16", "IN1-19",
];

#[derive(Debug, Clone, Serialize)]
pub struct ReportField {
    pub path: String,
    pub name: String,
    pub source: String,
    pub mapped: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportScenario {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub handoff: String,
    pub verdict: Verdict,
    pub ack_code: String,
    pub checks: Vec<(String, bool, String)>,
    pub fields: Vec<ReportField>,
    pub findings: Vec<Finding>,
    pub source: String,
    pub mapped: String,
    pub receipt: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportSignoff {
    pub by: Person,
    pub at: String,
    pub decision: String,
    pub comment: String,
    pub status: SignoffStatus,
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize)]
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
    /// Gap analysis per handoff, with the teams' dispositions.
    pub gaps: Vec<ReportGaps>,
    /// Live MLLP exchanges captured in the session.
    pub exchanges: Vec<crate::mllp::Exchange>,
    pub go_live: GoLive,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportGaps {
    pub handoff: String,
    pub rows: Vec<crate::gap::GapRow>,
    /// path → (disposition, note, owner)
    pub dispositions: BTreeMap<String, (String, String, String)>,
}

/// Consistent pseudonyms for patient data: the same value always becomes
/// the same `PSN-xxxxxxxx` within one report.
pub struct Masker {
    salt: String,
    /// Original text → pseudonym, longest first when applied.
    map: Vec<(String, String)>,
}

impl Masker {
    fn pseudonym(&self, value: &str) -> String {
        let d = Sha256::digest(format!("{}\0{value}", self.salt).as_bytes());
        format!("PSN-{}", &hex(&d)[..8])
    }

    fn learn(&mut self, raw: &str, d: &hl7::Delimiters) {
        let mut add = |v: &str| {
            let v = v.trim();
            // Short values (sex codes, set ids) are not identifying and would
            // corrupt other text if replaced everywhere.
            if v.chars().count() >= 3 && v != "\"\"" && !self.map.iter().any(|(o, _)| o == v) {
                let p = self.pseudonym(v);
                self.map.push((v.to_string(), p));
            }
        };
        add(raw);
        for rep in raw.split(d.repetition) {
            add(rep);
            for comp in rep.split(d.component) {
                add(comp);
                add(&hl7::unescape(comp, d));
                for sub in comp.split(d.subcomponent) {
                    add(sub);
                }
            }
        }
    }

    /// A masker that knows every patient value at `phi` paths in `results`.
    pub fn for_results<'a>(
        results: impl IntoIterator<Item = &'a ScenarioResult>,
        phi: &[String],
        salt: &str,
    ) -> Masker {
        let phi_paths: Vec<FieldPath> = phi.iter().filter_map(|p| p.parse().ok()).collect();
        let mut masker = Masker {
            salt: salt.to_string(),
            map: Vec::new(),
        };
        for r in results {
            for m in [&r.replay.source, &r.replay.mapped].into_iter().flatten() {
                for f in m.populated_fields() {
                    if phi_paths.iter().any(|p| {
                        p.segment == f.path.segment && p.field_number == f.path.field_number
                    }) {
                        masker.learn(f.raw, &m.delimiters);
                    }
                }
            }
        }
        masker
            .map
            .sort_by_key(|(orig, _)| std::cmp::Reverse(orig.len()));
        masker
    }

    /// Replaces every known patient value in `text` by its pseudonym.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (orig, p) in &self.map {
            if out.contains(orig.as_str()) {
                out = out.replace(orig.as_str(), p);
            }
        }
        out
    }
}

/// Builds the report model. `mask` replaces patient data by pseudonyms.
pub fn build(
    ws: &Workspace,
    results: &[ScenarioResult],
    session: &Session,
    mask: bool,
    phi: &[String],
) -> ReportModel {
    let summaries = session::summaries(results);
    let digest = session::content_digest(&ws.files, &summaries);
    let all_met = results.iter().all(|r| r.verdict == Verdict::Met);
    let masker = if mask {
        Masker::for_results(results, phi, &digest)
    } else {
        Masker {
            salt: digest.clone(),
            map: Vec::new(),
        }
    };
    let m = |s: &str| if mask { masker.apply(s) } else { s.to_string() };
    let scenarios = results
        .iter()
        .map(|r| ReportScenario {
            id: r.scenario.clone(),
            name: r.name.clone(),
            kind: r.kind.as_str().into(),
            handoff: r.handoff.clone(),
            verdict: r.verdict,
            ack_code: r.replay.ack_code.clone(),
            checks: r
                .checks
                .iter()
                .map(|c| (c.expectation.clone(), c.met, m(&c.actual)))
                .collect(),
            fields: crate::diff::diff_scenario(r)
                .into_iter()
                .map(|d| ReportField {
                    path: d.path.to_string(),
                    name: d.name.clone(),
                    source: m(d.source.as_deref().unwrap_or("")),
                    mapped: m(d.mapped.as_deref().unwrap_or("")),
                    outcome: d
                        .outcome
                        .map(|o| o.as_str().to_string())
                        .unwrap_or_default(),
                    detail: m(&d.detail),
                })
                .collect(),
            findings: r
                .replay
                .findings
                .iter()
                .map(|f| Finding {
                    reason: m(&f.reason),
                    ..f.clone()
                })
                .collect(),
            source: m(&r.replay.source_text.replace('\r', "\n")),
            mapped: m(&r.replay.mapped_text.replace('\r', "\n")),
            receipt: m(&r.replay.ack.replace('\r', "\n")),
        })
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
                public_key,
                ..
            } => signoffs.push(ReportSignoff {
                by: by.clone(),
                at: rec.at.clone(),
                decision: format!("{decision:?}").to_lowercase(),
                comment: m(comment),
                status: session::signoff_status(rec, &digest).unwrap_or(SignoffStatus::Invalid),
                public_key: public_key.clone(),
            }),
            Event::Exchange(x) => exchanges.push(crate::mllp::Exchange {
                message: m(&x.message),
                ack: m(&x.ack),
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
        go_live: session::go_live(session, &digest, all_met),
    }
}

fn esc(s: &str) -> String {
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

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328}h1{font-size:1.6rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top;font-size:12px}th{background:#f6f8fa}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;word-break:break-all}.b{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-weight:600;font-size:11px}.accepted{color:#1a7f37}.transformed{background:#0969da}.rejected{background:#cf222e}.dropped{background:#9a6700}.met{background:#1a7f37}.unmet{background:#cf222e}.ready{background:#1a7f37}.notready{background:#cf222e}.valid{color:#1a7f37}.stale{color:#9a6700}.invalid{color:#cf222e}details{margin:.4rem 0}@media print{details{display:block}details>*{display:block}body{margin:0}h2{break-before:auto}table{page-break-inside:auto}tr{page-break-inside:avoid}}";

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
    h.push_str("<h2>Sign-offs</h2>\n<table><tr><th>When</th><th>Who</th><th>Side</th><th>Decision</th><th>Status</th><th>Comment</th></tr>");
    for s in &r.signoffs {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td>{}</td></tr>",
            esc(&s.at),
            esc(&s.by.name),
            esc(&s.by.role),
            s.by.side.as_str(),
            esc(&s.decision),
            esc(&s.comment),
            st = format!("{:?}", s.status).to_lowercase()
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

fn sibling(path: &Path, suffix: &str) -> PathBuf {
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

/// Checks a report: the detached signature over every byte of the HTML,
/// and the embedded data against its recorded SHA-256.
pub fn verify(html_path: &Path) -> Result<String, ReportError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| ReportError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let html = read(html_path)?;
    let sig = read(&sibling(html_path, ".sig"))?;
    let pem = String::from_utf8(read(&sibling(html_path, ".pub.pem"))?)
        .map_err(|_| ReportError::Invalid("the public key file is not text".into()))?;
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let vk = VerifyingKey::from_public_key_pem(&pem)
        .map_err(|e| ReportError::Invalid(format!("bad public key: {e}")))?;
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|_| ReportError::Invalid("the signature file is not 64 bytes".into()))?;
    vk.verify(&html, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| ReportError::Invalid("signature does not match: the report was changed after signing, or signed by another key".into()))?;
    let text = String::from_utf8(html)
        .map_err(|_| ReportError::Invalid("the report is not UTF-8".into()))?;
    let meta = text
        .split("name=\"baton-data-sha256\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or_else(|| ReportError::Invalid("no embedded data hash".into()))?;
    let data = text
        .split("<script type=\"application/json\" id=\"baton-data\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .ok_or_else(|| ReportError::Invalid("no embedded data".into()))?;
    if hex(&Sha256::digest(data.as_bytes())) != meta {
        return Err(ReportError::Invalid(
            "the embedded data does not match its hash".into(),
        ));
    }
    Ok(format!(
        "signature valid; embedded data matches {meta}; signed by key {}",
        hex(vk.as_bytes())
    ))
}
