//! `gap`, `disposition` and `generate`: what the profiles of a handoff say.

use super::*;

/// Loads a profile in Baton TOML or standard XML; XML value sets travel inside.
pub(super) fn load_profile(
    path: &Path,
    tables: &baton::table::Tables,
) -> Result<(baton::profile::Profile, Vec<String>), String> {
    baton::error::read_text(path)
        .and_then(|text| baton::validate::load_profile(path, &text, tables))
        .map_err(|e| e.to_string())
}

pub(super) fn load_tables(path: Option<&Path>) -> Result<baton::table::Tables, String> {
    let mut t = baton::table::Tables::default();
    if let Some(tp) = path {
        baton::error::read_text(tp)
            .and_then(|text| t.load_into(tp, &text))
            .map_err(|e| e.to_string())?;
    }
    Ok(t)
}

pub(super) fn cmd_gap(
    sender: &Path,
    receiver: &Path,
    rules: Option<&Path>,
    tables: Option<&Path>,
    json: bool,
    all: bool,
) -> Result<u8> {
    let loaded = (|| -> Result<_, String> {
        let t = load_tables(tables)?;
        let (s, _) = load_profile(sender, &t)?;
        let (r, _) = load_profile(receiver, &t)?;
        let rules = match rules {
            Some(rp) => {
                let text = baton::error::read_text(rp).map_err(|e| e.to_string())?;
                Some(baton::mapping::Rules::load(rp, &text, &t).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        Ok((t, s, r, rules))
    })();
    let (t, s, r, rules) = match loaded {
        Ok(x) => x,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(2);
        }
    };
    let rows = baton::gap::analyse(&s, &r, rules.as_ref(), &t);
    let open_errors = rows
        .iter()
        .filter(|g| {
            g.status == "open" && g.gaps.iter().any(|x| x.severity == baton::Severity::Error)
        })
        .count();
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "sender": s.name, "receiver": r.name, "open_errors": open_errors, "rows": rows })
            )?
        );
    } else {
        say!("{} → {}", s.name, r.name);
        for g in rows.iter().filter(|g| all || g.status != "no gap") {
            let cover = if g.covered_by.is_empty() {
                String::new()
            } else {
                format!(" [rules {}]", g.covered_by.join(", "))
            };
            say!("{:<8} {:<10} {}{cover}", g.status, g.path, g.name);
            for x in &g.gaps {
                say!(
                    "         {:<7}  {}: {}",
                    x.severity.as_str(),
                    x.kind,
                    x.detail
                );
            }
        }
        let open = rows.iter().filter(|g| g.status == "open").count();
        let covered = rows.iter().filter(|g| g.status == "covered").count();
        say!(
            "{} fields compared: {open} open, {covered} covered by rules, {} without gap",
            rows.len(),
            rows.len() - open - covered
        );
    }
    Ok(u8::from(open_errors > 0))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn cmd_disposition(
    path: &Path,
    session: &str,
    who: &Who,
    handoff: String,
    field: String,
    disposition: String,
    note: String,
    owner: String,
) -> Result<u8> {
    let ws = workspace_or_return!(path);
    let Some(h) = ws.handoff(&handoff) else {
        eprintln!("baton: no handoff `{handoff}` in {}", path.display());
        return Ok(2);
    };
    let rows = baton::gap::analyse(&h.sender, &h.receiver, Some(&h.rules), &ws.tables);
    if !rows.iter().any(|r| r.path == field && r.status != "no gap") {
        eprintln!("baton: `{field}` is not a gap of handoff {handoff}; `baton gap` lists them");
        return Ok(2);
    }
    let rec = baton::session::append(
        &ws.root,
        session,
        baton::session::Event::Disposition {
            by: who.person(),
            handoff,
            path: field,
            disposition,
            note,
            owner,
        },
    )?;
    say!("recorded {} in session {session}", rec.id);
    Ok(0)
}

pub(super) fn cmd_generate(path: &Path, handoff: &str, save: bool) -> Result<u8> {
    let ws = workspace_or_return!(path);
    let Some(h) = ws.handoff(handoff) else {
        eprintln!("baton: no handoff `{handoff}` in {}", path.display());
        return Ok(2);
    };
    let generated = match baton::generate::generate(&ws, h) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(2);
        }
    };
    for g in &generated {
        say!("{:<5} {:<44} {}", g.kind.as_str(), g.id, g.name);
        say!("      {}", g.reason);
    }
    if save {
        let written = baton::generate::save(&ws, &generated)?;
        say!(
            "{} generated, {} written (existing files kept)",
            generated.len(),
            written.len()
        );
    } else {
        say!(
            "{} generated; --save writes them into {}",
            generated.len(),
            ws.root.join(&ws.scenarios_dir).display()
        );
    }
    Ok(0)
}
