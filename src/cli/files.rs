//! `inspect`, `diff` and `validate`: commands on message files.

use super::*;

/// Larger files are refused with a message rather than read into memory.
pub(super) const MAX_INSPECT_BYTES: u64 = 1 << 30;

/// Reads a file for `inspect`, or says why not (too big, unreadable).
pub(super) fn inspect_bytes_of(f: &Path) -> Option<Vec<u8>> {
    if let Ok(meta) = std::fs::metadata(f)
        && meta.len() > MAX_INSPECT_BYTES
    {
        eprintln!(
            "baton: {} is {} MB; inspect reads files up to {} MB",
            f.display(),
            meta.len() / 1_000_000,
            MAX_INSPECT_BYTES / 1_000_000
        );
        return None;
    }
    match std::fs::read(f) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            eprintln!("baton: cannot read {}: {e}", f.display());
            None
        }
    }
}

pub(super) fn cmd_inspect(files: &[PathBuf], json: bool) -> Result<u8> {
    let mut unreadable = false;
    if json {
        // Compact, and written while each file is read, message by message,
        // by a thread of its own while the next messages are viewed.
        let mut out = output::Background::stdout();
        let mut errors = false;
        let mut first = true;
        out.write_all(b"{\"files\":[")?;
        for f in files {
            let Some(bytes) = inspect_bytes_of(f) else {
                unreadable = true;
                continue;
            };
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            errors |= inspect::write_file_json(&mut out, &f.display().to_string(), &bytes)?;
        }
        out.write_all(b"]}\n")?;
        out.finish()?;
        return Ok(if unreadable { 2 } else { u8::from(errors) });
    }
    let mut reports = Vec::new();
    for f in files {
        match inspect_bytes_of(f) {
            Some(bytes) => {
                reports.push(inspect::FileReport::read(&f.display().to_string(), &bytes))
            }
            None => unreadable = true,
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    {
        for r in &reports {
            writeln!(
                out,
                "{}: {} message(s), {} problem(s)",
                r.file,
                r.messages.len(),
                r.problems.len()
            )?;
            for p in &r.problems {
                writeln!(
                    out,
                    "  {}:{}:{}: {}: {}",
                    r.file,
                    p.line,
                    p.column,
                    p.severity.as_str(),
                    p.message
                )?;
            }
            for i in 0..r.messages.len() {
                let Some(m) = r.view(i) else { continue };
                writeln!(
                    out,
                    "  message {} at line {}: {} control id {} version {}",
                    m.number, m.line, m.message_type, m.control_id, m.version
                )?;
                for f in &m.fields {
                    let value = if f.value != f.raw {
                        format!("  = `{}`", one_line(&f.value))
                    } else {
                        String::new()
                    };
                    writeln!(
                        out,
                        "    {:<11} {:<34} `{}`{value}",
                        f.path.to_string(),
                        one_line(&f.name),
                        one_line(&f.raw)
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(if unreadable {
        2
    } else if reports.iter().any(|r| r.has_errors()) {
        1
    } else {
        0
    })
}

pub(super) fn read_message(path: &Path) -> Result<baton::hl7::Message, u8> {
    let bytes = std::fs::read(path).map_err(|e| {
        eprintln!("baton: cannot read {}: {e}", path.display());
        2u8
    })?;
    let (text, _) = baton::hl7::decode_bytes(&bytes);
    baton::hl7::parse_one(&text).map_err(|problems| {
        for p in problems {
            eprintln!(
                "baton: {}:{}:{}: {}",
                path.display(),
                p.line,
                p.column,
                p.message
            );
        }
        2u8
    })
}

pub(super) fn cmd_diff(a: &Path, b: &Path, json: bool) -> Result<u8> {
    let (ma, mb) = match (read_message(a), read_message(b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(c), _) | (_, Err(c)) => return Ok(c),
    };
    let rows = diff::diff_messages(&ma, &mb);
    let changed = rows.iter().filter(|r| r.change != Change::Same).count();
    if json {
        let doc = serde_json::json!({ "a": a.display().to_string(), "b": b.display().to_string(), "changed": changed, "rows": rows });
        say!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for r in rows.iter().filter(|r| r.change != Change::Same) {
            let tag = match r.change {
                Change::Changed => "changed",
                Change::Added => "added  ",
                Change::Removed => "removed",
                Change::Same => "same   ",
            };
            say!(
                "{tag} {:<11} {:<30} `{}` → `{}`",
                r.path.to_string(),
                one_line(&r.name),
                one_line(r.source.as_deref().unwrap_or("")),
                one_line(r.mapped.as_deref().unwrap_or(""))
            );
        }
        say!("{changed} of {} fields differ", rows.len());
    }
    Ok(u8::from(changed > 0))
}

/// One checked message, as `baton validate` prints it.
pub(super) fn write_validated(
    out: &mut impl Write,
    file: &Path,
    msg: &baton::validate::MessageResult,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} (message at line {}): {} finding(s)",
        file.display(),
        msg.line,
        msg.findings.len()
    )?;
    if !msg.redacted.is_empty() {
        writeln!(
            out,
            "  redacted before the check: {}",
            msg.redacted.join(", ")
        )?;
    }
    for f in &msg.findings {
        let place = match (f.line, f.column) {
            (Some(l), Some(c)) => format!("{l}:{c}"),
            _ => "-".to_string(),
        };
        writeln!(
            out,
            "  {:<8} {:<12} {} {:<11} {}",
            place,
            f.finding.location_text(),
            f.finding.code,
            f.finding.severity.as_str(),
            f.finding.reason
        )?;
    }
    Ok(())
}

pub(super) fn cmd_validate(
    profile: &Path,
    tables: Option<&Path>,
    messages: &[PathBuf],
    redact: &[String],
    json: bool,
    show_unmapped: bool,
) -> Result<u8> {
    // Without --tables, a TOML profile inside a workspace uses that
    // workspace's tables (the nearest baton.toml at or above the profile).
    let table_files: Vec<PathBuf> = match tables {
        Some(t) => vec![t.to_path_buf()],
        None => match baton::workspace::find_upward(profile) {
            Some(root) => match baton::workspace::tables_of(&root) {
                Ok(files) => {
                    if !files.is_empty() {
                        eprintln!(
                            "note: using the code tables of the workspace {}",
                            root.display()
                        );
                    }
                    files
                }
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        },
    };
    let mut v = match baton::validate::Validator::load_with_tables(profile, &table_files) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(2);
        }
    };
    for r in redact.iter().flat_map(|r| r.split(',')).map(str::trim) {
        match r.parse::<baton::hl7::Path>() {
            Ok(p) => v.redact.push(p),
            Err(e) => {
                eprintln!("baton: --redact: {e}");
                return Ok(2);
            }
        }
    }
    let mut any_error = false;
    let mut docs = Vec::new();
    for m in messages {
        let bytes = match std::fs::read(m) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("baton: cannot read {}: {e}", m.display());
                return Ok(2);
            }
        };
        if json {
            let result = v.validate_bytes(&bytes);
            any_error |= result.has_errors();
            docs.push(serde_json::json!({ "file": m.display().to_string(), "problems": result.problems, "messages": result.messages }));
            continue;
        }
        // Text: each message's findings are written as soon as it is checked,
        // through one buffer (not a write per line).
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut written = Ok(());
        let problems = v.validate_each(&bytes, |msg| {
            any_error |= msg
                .findings
                .iter()
                .any(|f| f.finding.severity == baton::Severity::Error);
            if written.is_ok() {
                written = write_validated(&mut out, m, &msg);
            }
        });
        written?;
        for problem in &problems {
            any_error |= problem.severity == baton::Severity::Error;
            writeln!(
                out,
                "{}:{}:{}: {}: {}",
                m.display(),
                problem.line,
                problem.column,
                problem.severity.as_str(),
                problem.message
            )?;
        }
        out.flush()?;
    }
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "profile": v.profile.name, "unmapped": v.unmapped, "files": docs })
            )?
        );
    } else if show_unmapped {
        say!("not mapped from {}:", profile.display());
        for u in &v.unmapped {
            say!("  - {u}");
        }
    } else if !v.unmapped.is_empty() {
        say!(
            "({} profile items not mapped; --show-unmapped lists them)",
            v.unmapped.len()
        );
    }
    Ok(u8::from(any_error))
}
