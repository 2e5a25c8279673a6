//! `baton replay` (a message log through a handoff) and `baton learn` (a
//! profile from traffic).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use baton::report::Masker;
use baton::traffic::learn::{LearnOptions, thousands};
use baton::traffic::{self, Log, TrafficReport};

use super::{load_workspace, write_out};

/// Opens every log, or says which one could not be opened.
fn open_logs(paths: &[PathBuf]) -> std::result::Result<Vec<Log>, u8> {
    let mut logs = Vec::new();
    for p in paths {
        match Log::open(p) {
            Ok(l) => logs.push(l),
            Err(e) => {
                eprintln!("baton: cannot read the log {}: {e}", p.display());
                return Err(2);
            }
        }
    }
    Ok(logs)
}

/// `file:line:column: message`.
fn located(files: &[String], p: &traffic::LogProblem) -> String {
    let file = files.get(p.file).map(String::as_str).unwrap_or("");
    format!("{file}:{}:{}: {}", p.line, p.column, p.message)
}

fn workspace_masker(ws: &baton::Workspace) -> Masker {
    Masker::new(&ws.phi, &ws.phi_dates, &ws.name)
}

pub struct ReplayArgs<'a> {
    pub workspace: &'a Path,
    pub handoff: Option<&'a str>,
    pub logs: &'a [PathBuf],
    pub json: Option<&'a str>,
    pub html: Option<&'a Path>,
    pub save_scenarios: Option<&'a Path>,
    pub jobs: usize,
    pub unmasked: bool,
}

pub fn cmd_replay(a: ReplayArgs) -> Result<u8> {
    let ws = match load_workspace(a.workspace) {
        Ok(ws) => ws,
        Err(code) => return Ok(code),
    };
    // Read from the first log only when the handoff must be guessed.
    let guess = || {
        a.logs
            .first()
            .and_then(|l| traffic::handoff_for_log(&ws, l))
    };
    let handoff = match a.handoff {
        Some(id) => match ws.handoff(id) {
            Some(h) => h,
            None => {
                let ids: Vec<&str> = ws.handoffs.iter().map(|h| h.id.as_str()).collect();
                eprintln!(
                    "baton: the workspace has no handoff `{id}`; it has: {}",
                    ids.join(", ")
                );
                return Ok(2);
            }
        },
        None if ws.handoffs.len() == 1 => &ws.handoffs[0],
        None if let Some(h) = guess() => {
            eprintln!(
                "note: using the handoff `{}`, whose message types include the log's first message",
                h.id
            );
            h
        }
        None => {
            let ids: Vec<&str> = ws.handoffs.iter().map(|h| h.id.as_str()).collect();
            eprintln!(
                "baton: name the handoff with --handoff; the workspace has: {}",
                ids.join(", ")
            );
            return Ok(2);
        }
    };
    let logs = match open_logs(a.logs) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let report = match traffic::replay_logs(
        handoff,
        &ws.tables,
        logs,
        traffic::Options {
            jobs: a.jobs,
            ..Default::default()
        },
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("baton: cannot read the logs: {e}");
            return Ok(2);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    if report.messages == 0 {
        for p in &report.log_problems {
            eprintln!("{}", located(&report.files, p));
        }
        eprintln!("baton: the logs hold no HL7 message (a message starts with an MSH segment)");
        return Ok(2);
    }
    let to_stdout = a.json == Some("-");
    if !to_stdout {
        print_summary(&report, secs)?;
    }
    if let Some(target) = a.json {
        write_out(target, &serde_json::to_string_pretty(&report)?)?;
    }
    let masker = (!a.unmasked).then(|| workspace_masker(&ws));
    if let Some(path) = a.html {
        let page = traffic::html::render(&report, masker.as_ref());
        baton::session::write_atomic(path, page.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !to_stdout {
            say!("wrote {}", path.display());
        }
    }
    if let Some(dir) = a.save_scenarios {
        let logs = match open_logs(a.logs) {
            Ok(l) => l,
            Err(code) => return Ok(code),
        };
        let saved =
            traffic::scenarios::save(handoff, &ws.tables, &report, logs, dir, masker.as_ref())?;
        let lost = saved.iter().filter(|s| !s.finding_kept).count();
        if !to_stdout {
            say!(
                "wrote {} scenarios to {}{}",
                saved.len(),
                dir.display(),
                if lost > 0 {
                    format!(
                        " ({lost} no longer show their finding once masked: see their comments, or use --unmasked)"
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(if report.rejected() > 0 || report.unreadable > 0 {
        1
    } else {
        0
    })
}

fn print_summary(r: &TrafficReport, secs: f64) -> Result<()> {
    let rate = if secs > 0.0 {
        r.messages as f64 / secs
    } else {
        0.0
    };
    say!(
        "handoff {}: {} messages ({} unreadable) in {:.2} s ({:.0} messages/s)",
        r.handoff,
        thousands(r.messages),
        thousands(r.unreadable),
        secs,
        rate
    );
    say!(
        "receipts: AA {} · AE {} · AR {}",
        thousands(r.ack.aa),
        thousands(r.ack.ae),
        thousands(r.ack.ar)
    );
    let rows: usize = r.fields.iter().map(|f| f.total()).sum();
    let sum = |g: fn(&traffic::FieldStats) -> usize| r.fields.iter().map(g).sum::<usize>();
    say!(
        "fields: {} rows · accepted {} · transformed {} · rejected {} · dropped {} · warnings {}",
        thousands(rows),
        thousands(sum(|f| f.accepted)),
        thousands(sum(|f| f.transformed)),
        thousands(sum(|f| f.rejected)),
        thousands(sum(|f| f.dropped)),
        thousands(sum(|f| f.warnings))
    );
    let problems = r.problems();
    if !problems.is_empty() {
        say!("\nmost frequent findings:");
    }
    for (f, x) in problems.iter().take(15) {
        let e = &x.examples[0];
        say!(
            "  {:>8} × {} {} {} {}: {}  (e.g. message {} `{}`, {}:{})",
            thousands(x.count),
            x.code,
            x.severity.as_str(),
            x.side.as_str(),
            f.path,
            traffic::html::shown_reason(None, &f.path, x),
            e.message,
            e.control_id,
            e.file,
            e.line
        );
    }
    if problems.len() > 15 {
        say!(
            "  … {} more distinct findings (--json lists them all)",
            problems.len() - 15
        );
    }
    for p in &r.log_problems {
        say!("{}", located(&r.files, p));
    }
    if r.more_log_problems > 0 {
        say!("… {} more problems in the logs", r.more_log_problems);
    }
    Ok(())
}

pub struct LearnArgs<'a> {
    pub logs: &'a [PathBuf],
    pub out: Option<&'a Path>,
    pub side: baton::Side,
    pub name: Option<&'a str>,
    pub json: bool,
    pub against: Option<&'a Path>,
    pub tables: Option<&'a Path>,
    pub jobs: usize,
}

pub fn cmd_learn(a: LearnArgs) -> Result<u8> {
    let (against, tables) = match a.against {
        Some(p) => {
            let tables: Vec<PathBuf> = a.tables.map(Path::to_path_buf).into_iter().collect();
            match baton::validate::Validator::load_with_tables(p, &tables) {
                Ok(v) => (Some(v.profile), v.tables),
                Err(e) => {
                    eprintln!("baton: {e}");
                    return Ok(2);
                }
            }
        }
        None => (None, Default::default()),
    };
    let name = a.name.map(str::to_string).unwrap_or_else(|| {
        let files: Vec<String> = a
            .logs
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        format!("Learned from {}", files.join(", "))
    });
    let logs = match open_logs(a.logs) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let learned = match traffic::learn::learn_logs(
        logs,
        &LearnOptions {
            side: a.side,
            name,
            against,
            tables,
        },
        traffic::Options {
            jobs: a.jobs,
            ..Default::default()
        },
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("baton: cannot read the logs: {e}");
            return Ok(2);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let files: Vec<String> = a.logs.iter().map(|f| f.display().to_string()).collect();
    if learned.messages == learned.unreadable {
        for p in &learned.log_problems {
            eprintln!("{}", located(&files, p));
        }
        eprintln!("baton: the logs hold no readable HL7 message: nothing to learn from");
        return Ok(2);
    }
    if let Some(out) = a.out {
        baton::session::write_atomic(out, learned.profile.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if a.json {
        say!("{}", serde_json::to_string_pretty(&learned)?);
    } else {
        say!(
            "learned from {} messages ({} unreadable) in {:.2} s: {} segments, {} fields and components",
            thousands(learned.messages),
            thousands(learned.unreadable),
            secs,
            learned.segments.len(),
            learned.fields.len()
        );
        if let Some(out) = a.out {
            say!("wrote {}", out.display());
        } else {
            say!("{}", learned.profile);
        }
        if a.against.is_some() {
            if learned.drift.is_empty() {
                say!("no drift: the traffic keeps to the declared profile");
            } else {
                say!("\ndrift from the declared profile:");
            }
            for d in &learned.drift {
                let code = if d.code == 0 {
                    "usage".to_string()
                } else {
                    d.code.to_string()
                };
                say!(
                    "  {:>8} of {} {} {} {}: {}",
                    thousands(d.count),
                    thousands(d.of),
                    code,
                    d.severity.as_str(),
                    d.path,
                    d.reason
                );
            }
        }
        for p in &learned.log_problems {
            say!("{}", located(&files, p));
        }
    }
    Ok(0)
}
