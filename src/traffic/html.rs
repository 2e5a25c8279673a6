//! A self-contained HTML page of a log replay: one stacked bar per field
//! path (accepted / transformed / rejected / dropped) and the findings under
//! it, masked by default like the go-live report.

use std::fmt::Write as _;

use super::TrafficReport;
use super::learn::{redact, thousands};
use crate::report::{Masker, html_escape as esc};

/// Whether values on `path` may be shown: unmasked, or not patient data.
pub fn values_shown(masker: Option<&Masker>, path: &str) -> bool {
    match (masker, path.parse::<crate::hl7::Path>()) {
        (Some(m), Ok(p)) => !m.is_phi(&p),
        (Some(_), Err(_)) => false,
        (None, _) => true,
    }
}

/// A finding's reason with the values it quoted, when they may be shown.
pub fn shown_reason(masker: Option<&Masker>, path: &str, f: &super::FindingStats) -> String {
    if f.values.is_empty() || !values_shown(masker, path) {
        return redact(&f.reason);
    }
    // One value quoted once and only one value ever seen: put it back.
    if f.values.len() == 1 && f.reason.matches("`…`").count() == 1 {
        return f.reason.replace("`…`", &format!("`{}`", f.values[0]));
    }
    let more = if f.values.len() >= super::EXAMPLES {
        ", …"
    } else {
        ""
    };
    format!(
        "{} (values: {}{more})",
        f.reason,
        f.values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The page. `masker`: `None` shows values as they are.
pub fn render(r: &TrafficReport, masker: Option<&Masker>) -> String {
    let mut o = String::new();
    let n = thousands;
    let _ = write!(
        o,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Baton traffic replay: {handoff}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232b}}
table{{border-collapse:collapse;width:100%}} td,th{{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}}
th{{background:#f4f6f8}} .num{{text-align:right;font-variant-numeric:tabular-nums}}
.bar{{display:flex;height:14px;width:320px;border-radius:3px;overflow:hidden;background:#eee}}
.a{{background:#2e7d32}} .t{{background:#1565c0}} .r{{background:#c62828}} .d{{background:#8d6e63}}
.f{{font-size:12px;color:#44505c;margin:2px 0}} code{{background:#f4f6f8;padding:0 3px}}
.legend span{{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}}
</style></head><body>
<h1>Traffic replay: handoff <code>{handoff}</code></h1>
<p>{messages} messages ({unreadable} unreadable), {bytes} bytes, from {files}. Receipts: AA {aa}, AE {ae}, AR {ar}.{masked}{cancelled}</p>
<p class="legend"><span class="a"></span>accepted<span class="t"></span>transformed<span class="r"></span>rejected<span class="d"></span>dropped</p>
<table><tr><th>Field</th><th>Name</th><th>Outcomes</th><th class="num">Accepted</th><th class="num">Transformed</th><th class="num">Rejected</th><th class="num">Dropped</th><th class="num">Warnings</th></tr>
"#,
        handoff = esc(&r.handoff),
        messages = n(r.messages),
        unreadable = n(r.unreadable),
        bytes = n(r.bytes as usize),
        files = esc(&r.files.join(", ")),
        aa = n(r.ack.aa),
        ae = n(r.ack.ae),
        ar = n(r.ack.ar),
        masked = if masker.is_some() {
            " Values in reasons on patient fields are masked."
        } else {
            " <strong>Unmasked</strong>: reasons show values as they are."
        },
        cancelled = if r.cancelled {
            " <strong>Stopped before the end of the logs.</strong>"
        } else {
            ""
        },
    );
    for f in &r.fields {
        let total = f.total().max(1) as f64;
        let pct = |x: usize| x as f64 * 100.0 / total;
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td><div class=\"bar\" title=\"{} rows\">",
            esc(&f.path),
            esc(&f.name),
            n(f.total())
        );
        for (class, x) in [
            ("a", f.accepted),
            ("t", f.transformed),
            ("r", f.rejected),
            ("d", f.dropped),
        ] {
            if x > 0 {
                let _ = write!(
                    o,
                    "<div class=\"{class}\" style=\"width:{:.2}%\"></div>",
                    pct(x)
                );
            }
        }
        let _ = write!(o, "</div>");
        for x in &f.findings {
            let examples: Vec<String> = x
                .examples
                .iter()
                .map(|e| format!("#{} {}", e.message, esc(&e.control_id)))
                .collect();
            let _ = write!(
                o,
                "<div class=\"f\">{} × {} {} ({}): {} <span title=\"examples\">[{}]</span></div>",
                n(x.count),
                x.code,
                x.severity.as_str(),
                x.side.as_str(),
                esc(&shown_reason(masker, &f.path, x)),
                examples.join(", ")
            );
        }
        let _ = writeln!(
            o,
            "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            n(f.accepted),
            n(f.transformed),
            n(f.rejected),
            n(f.dropped),
            n(f.warnings)
        );
    }
    let _ = writeln!(o, "</table>");
    if !r.log_problems.is_empty() {
        let _ = writeln!(o, "<h2>In the logs</h2><ul>");
        for p in &r.log_problems {
            let file = r.files.get(p.file).map(String::as_str).unwrap_or("");
            let _ = writeln!(
                o,
                "<li>{}:{}:{}: {}</li>",
                esc(file),
                p.line,
                p.column,
                esc(&p.message)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(
        o,
        "<p class=\"f\">Baton {}</p></body></html>",
        crate::VERSION
    );
    o
}
