//! `send` and `listen`: live MLLP.

use super::*;

pub(super) fn print_exchange(e: &baton::mllp::Exchange) -> Result<()> {
    let status = match &e.error {
        Some(err) => format!("ERROR {err}"),
        None if e.mismatch => format!("MISMATCH got {} predicted {}", e.ack_code, e.predicted),
        None => format!("{} (predicted {})", e.ack_code, e.predicted),
    };
    say!(
        "{:<9} {:<22} {:<32} {:>8.1} ms  retries {}  {status}",
        e.leg,
        e.peer,
        e.label,
        e.latency_us as f64 / 1000.0,
        e.retries
    );
    Ok(())
}

pub(super) fn print_summary(t: &[baton::mllp::Exchange], json: bool) -> Result<()> {
    let mut totals = baton::mllp::Totals::default();
    for e in t {
        totals.add(e);
    }
    print_totals(t, &totals, json)
}

pub(super) fn cmd_send(
    path: &Path,
    to: &str,
    mapped: bool,
    only: &[String],
    net: &NetArgs,
    json: bool,
) -> Result<u8> {
    let ws = workspace_or_return!(path);
    if let Some(name) = &net.session {
        baton::session::check_name(name)?;
    }
    let t = baton::mllp::send(&ws, to, &net.send_options(mapped), &net.limits(), only);
    if let Some(name) = &net.session {
        for e in &t {
            baton::session::append(&ws.root, name, baton::session::Event::Exchange(e.clone()))?;
        }
    }
    if !json {
        for e in &t {
            print_exchange(e)?;
        }
    }
    print_summary(&t, json)?;
    Ok(u8::from(t.iter().any(|e| e.error.is_some() || e.mismatch)))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn cmd_listen(
    path: &Path,
    host: &str,
    port: u16,
    forward: Option<String>,
    (enhanced, receiver_only): (bool, bool),
    stop: &StopArgs,
    net: &NetArgs,
    json: bool,
) -> Result<u8> {
    let ws = std::sync::Arc::new(workspace_or_return!(path));
    let listener = std::net::TcpListener::bind((host, port))
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    eprintln!(
        "baton: listening on {}{}",
        listener.local_addr()?,
        forward
            .as_ref()
            .map(|t| format!(", relaying to {t}"))
            .unwrap_or_default()
    );
    let options = baton::mllp::ListenOptions {
        ack_mode: if enhanced {
            baton::mllp::AckMode::Enhanced
        } else {
            baton::mllp::AckMode::Original
        },
        limits: net.limits(),
        max_messages: stop.max_messages,
        duration: stop.duration_s.map(std::time::Duration::from_secs),
        forward: forward.map(|t| (t, net.send_options(true))),
        receiver_only,
        max_connections: net.max_connections,
    };
    if let Some(name) = &net.session {
        baton::session::check_name(name)?;
    }
    let stream: Option<std::sync::Mutex<Box<dyn Write + Send>>> = match &net.transcript {
        Some(p) => {
            let f = std::fs::File::create(p)
                .with_context(|| format!("cannot write the transcript {}", p.display()))?;
            Some(std::sync::Mutex::new(Box::new(std::io::BufWriter::new(f))))
        }
        None => None,
    };
    let live = std::sync::Arc::new(baton::mllp::Live {
        capture: net.session.clone().map(|n| (ws.root.clone(), n)),
        stream,
        ..Default::default()
    });
    baton::mllp::listen(ws, listener, options, live.clone())?;
    let t = live
        .transcript
        .lock()
        .map(|t| t.clone())
        .unwrap_or_default();
    let totals = live.totals.lock().map(|t| t.clone()).unwrap_or_default();
    if !json {
        if totals.exchanges > t.len() {
            say!(
                "(the newest {} of {} exchanges; --transcript or --session keeps every one)",
                t.len(),
                totals.exchanges
            );
        }
        for e in &t {
            print_exchange(e)?;
        }
    }
    print_totals(&t, &totals, json)?;
    Ok(u8::from(totals.errors > 0))
}

/// The summary of a listener: totals over every exchange, not only the window.
pub(super) fn print_totals(
    t: &[baton::mllp::Exchange],
    totals: &baton::mllp::Totals,
    json: bool,
) -> Result<()> {
    let lat = baton::mllp::totals_latency(totals);
    if json {
        let (p50, p95, max) = lat.unwrap_or((0, 0, 0));
        say!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "exchanges": t,
                "summary": { "messages": totals.exchanges, "errors": totals.errors, "mismatches": totals.mismatches, "refused": totals.refused, "latency_us": { "p50": p50, "p95": p95, "max": max } }
            }))?
        );
    } else {
        let lat = lat
            .map(|(a, b, c)| {
                format!(
                    "; latency p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
                    a as f64 / 1e3,
                    b as f64 / 1e3,
                    c as f64 / 1e3
                )
            })
            .unwrap_or_default();
        say!(
            "{} exchanges, {} errors ({} connections refused), {} disagreements with Baton's receipt{lat}",
            totals.exchanges,
            totals.errors,
            totals.refused,
            totals.mismatches
        );
    }
    Ok(())
}
