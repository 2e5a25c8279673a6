//! The command line: parses arguments, calls the core, prints, and turns
//! results into exit codes. anyhow lives here, not in the core.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use baton::diff::{self, Change};
use baton::inspect;
use baton::replay::{self, Outcome, ScenarioResult, Verdict};
use baton::workspace::Workspace;

/// `println!` that returns an error when standard output has gone (a closed
/// pipe) instead of panicking; `run` treats that as a normal end.
macro_rules! say {
    ($($t:tt)*) => {{
        writeln!(std::io::stdout().lock(), $($t)*)?;
    }};
}

/// Loads a workspace, or returns its exit code (2) from the command after
/// listing every load error.
macro_rules! workspace_or_return {
    ($path:expr) => {
        match load_workspace($path) {
            Ok(ws) => ws,
            Err(code) => return Ok(code),
        }
    };
}

mod files;
mod mllp;
mod output;
mod profiles;
mod signoff;
mod traffic;

use files::*;
use mllp::*;
use profiles::*;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Test both sides of an HL7 v2 interface handoff together: replay scenarios through sender profile → mapping → receiver profile and account for every field.",
    after_help = "With no command, opens the workbench window on the bundled default workspace (or --workspace)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub window: WindowArgs,
}

/// Options for the window (no command given).
#[derive(clap::Args)]
pub struct WindowArgs {
    /// Workspace the window opens (default: the bundled lab-orders-results).
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// Replay every scenario as soon as the window opens.
    #[arg(long)]
    pub replay: bool,
    /// Select this scenario (by id) when the window opens.
    #[arg(long, value_name = "ID")]
    pub select: Option<String>,
    /// Open this tab: fields, messages, receipt, handoff, gaps, live, traffic or session.
    #[arg(long, value_name = "TAB")]
    pub tab: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Replay every scenario of a workspace. Exit 0: all met; 1: any unmet; 2: could not load.
    Run {
        /// Workspace folder (default: the bundled lab-orders-results).
        workspace: Option<PathBuf>,
        /// Write the results as JSON to FILE, or `-` for standard output.
        #[arg(long, value_name = "FILE")]
        json: Option<String>,
        /// Write a JUnit XML report to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Only these scenarios (by id, the file name without .toml).
        #[arg(long = "scenario", value_name = "ID")]
        scenarios: Vec<String>,
        /// List accepted fields one per line too.
        #[arg(short, long)]
        verbose: bool,
        /// Record this run in a session (with --name and --side).
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        who: OptWho,
    },
    /// Show every message and populated field of HL7 files. Exit 0: clean; 1: problems; 2: unreadable.
    Inspect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare two messages field by field. Exit 0: same; 1: different; 2: unreadable.
    Diff {
        a: PathBuf,
        b: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Sign the current results of a workspace as a side's lead (approve or reject).
    Sign {
        workspace: PathBuf,
        #[arg(long)]
        session: String,
        #[command(flatten)]
        who: Who,
        #[arg(long, value_enum)]
        decision: DecisionArg,
        #[arg(long, default_value = "")]
        comment: String,
        /// Register your key in the workspace's signers.toml if you have
        /// none for your side yet (trust on first use, recorded as such).
        #[arg(long)]
        register_key: bool,
    },
    /// The register of people who may sign for each side (signers.toml).
    Signers {
        #[command(subcommand)]
        action: signoff::SignersAction,
    },
    /// Add a comment on a scenario (or one of its fields) to a session.
    Comment {
        workspace: PathBuf,
        #[arg(long)]
        session: String,
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        scenario: String,
        #[arg(long)]
        path: Option<String>,
        #[arg(long)]
        text: String,
    },
    /// Record a waiver: an accepted deviation, with reason, owner and expiry.
    Waive {
        workspace: PathBuf,
        #[arg(long)]
        session: String,
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        scenario: String,
        #[arg(long)]
        path: String,
        #[arg(long)]
        code: Option<u16>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        owner: String,
        /// YYYY-MM-DD
        #[arg(long)]
        expires: String,
    },
    /// Record what the teams decided about a gap: a rule to write, a waiver, or not applicable.
    Disposition {
        workspace: PathBuf,
        #[arg(long)]
        session: String,
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        handoff: String,
        /// The gap's field, as `baton gap` shows it (PID-15, ZPI, TS/DTM).
        #[arg(long)]
        path: String,
        #[arg(long, value_parser = ["rule", "waiver", "n/a"])]
        disposition: String,
        #[arg(long)]
        note: String,
        #[arg(long, default_value = "")]
        owner: String,
    },
    /// Generate edge and error scenarios from a handoff's profiles; --save writes them.
    Generate {
        workspace: PathBuf,
        #[arg(long)]
        handoff: String,
        /// Write them into the workspace's scenario folder (never overwriting).
        #[arg(long)]
        save: bool,
    },
    /// Replay a workspace's scenarios to a receiving system's MLLP endpoint.
    /// Exit 0: every ACK arrived and agreed with Baton's prediction; 1: otherwise.
    Send {
        workspace: PathBuf,
        /// HOST:PORT of the receiver.
        #[arg(long)]
        to: String,
        /// Send the mapped message (default: the source).
        #[arg(long)]
        mapped: bool,
        #[arg(long = "scenario", value_name = "ID")]
        scenarios: Vec<String>,
        #[command(flatten)]
        net: NetArgs,
        #[arg(long)]
        json: bool,
    },
    /// Accept messages from a sending system: check, map, check, and answer with the granular ACK.
    Listen {
        workspace: PathBuf,
        #[arg(long)]
        port: u16,
        /// Address to bind (default 127.0.0.1: this machine only).
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Answer with commit ACKs (CA/CE/CR) instead of application ACKs.
        #[arg(long)]
        enhanced: bool,
        /// Stand in for the receiving system: messages arrive already mapped and are
        /// checked against the receiver's profile only.
        #[arg(long)]
        receiver_only: bool,
        #[command(flatten)]
        stop: StopArgs,
        #[command(flatten)]
        net: NetArgs,
        #[arg(long)]
        json: bool,
    },
    /// Listen for the sender, forward the mapped message to the receiver, and pass its ACK back.
    Relay {
        workspace: PathBuf,
        #[arg(long)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// HOST:PORT of the receiver.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        stop: StopArgs,
        #[command(flatten)]
        net: NetArgs,
        #[arg(long)]
        json: bool,
    },
    /// Write the signed go-live report (HTML, JSON, detached signature, public key).
    Report {
        workspace: PathBuf,
        #[arg(long)]
        session: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// Export patient data unmasked (masking is on by default).
        #[arg(long)]
        no_mask: bool,
        /// Whose key signs the report file.
        #[arg(long, default_value = "baton-report")]
        signer: String,
    },
    /// Check messages against a profile (Baton TOML, or Messaging Workbench / NIST IGAMT XML).
    /// Exit 0: no errors; 1: errors found; 2: unreadable.
    Validate {
        #[arg(long)]
        profile: PathBuf,
        /// Code tables for a TOML profile's `table` references.
        #[arg(long)]
        tables: Option<PathBuf>,
        #[arg(required = true)]
        messages: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
        /// Also list what the importer could not map.
        #[arg(long)]
        show_unmapped: bool,
        /// Clear these values before the check, as a de-identifying pipeline
        /// would (repeat or separate with commas): `PID-5.1`, `PID-6`, `NK1-2`.
        #[arg(long, value_name = "PATH")]
        redact: Vec<String>,
    },
    /// Compare a sender and a receiver profile field by field (gap analysis).
    /// Exit 0: no open gap of error severity; 1: open errors; 2: unreadable.
    Gap {
        sender: PathBuf,
        receiver: PathBuf,
        /// Mapping rules: gaps a rule acts on are marked covered.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Code tables for TOML profiles and rules.
        #[arg(long)]
        tables: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        /// Also list fields with no gap.
        #[arg(long)]
        all: bool,
    },
    /// Verify a go-live report: its data, its visible text, every sign-off's
    /// signature and key, the go-live verdict and the file's signature, against
    /// the registered signers. Exit 0: verified against a register; 1: a check
    /// failed, or no register was given (integrity only); 2: unreadable.
    Verify {
        report: PathBuf,
        /// The workspace whose signers.toml is the trust anchor.
        #[arg(long, conflicts_with = "signers")]
        workspace: Option<PathBuf>,
        /// A signers.toml kept apart from the report (the trust anchor).
        #[arg(long)]
        signers: Option<PathBuf>,
    },
    /// Replay a message log (any number of files: CR/LF/CRLF, MLLP dumps,
    /// FHS/BHS batches) through a handoff and count every field's outcome.
    /// Exit 0: nothing rejected; 1: rejections or unreadable messages; 2: the
    /// log or workspace could not be read.
    Replay {
        workspace: PathBuf,
        #[arg(required = true)]
        logs: Vec<PathBuf>,
        /// Handoff id (needed when the workspace has more than one).
        #[arg(long)]
        handoff: Option<String>,
        /// Write the aggregate as JSON to FILE, or `-` for standard output.
        #[arg(long, value_name = "FILE")]
        json: Option<String>,
        /// Write a self-contained HTML page with a stacked bar per field.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Write one error scenario per distinct finding into DIR.
        #[arg(long, value_name = "DIR")]
        save_scenarios: Option<PathBuf>,
        /// Worker threads (default: every core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Do not mask patient data in the HTML page and saved scenarios.
        #[arg(long)]
        unmasked: bool,
    },
    /// Learn a profile from traffic: types, segments, fields and components
    /// with their usage, lengths, repetitions, value sets and offsets, each
    /// with its evidence. Exit 0: learned; 2: the logs could not be read.
    Learn {
        #[arg(required = true)]
        logs: Vec<PathBuf>,
        /// Write the profile (TOML) here; without it, it is printed.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = SideArg::Sender)]
        side: SideArg,
        /// The profile's name.
        #[arg(long)]
        name: Option<String>,
        /// Print what was learned as JSON.
        #[arg(long)]
        json: bool,
        /// A declared profile (TOML or XML): list where the traffic breaks it.
        #[arg(long, value_name = "PROFILE")]
        against: Option<PathBuf>,
        /// Code tables for the declared profile's `table` references.
        #[arg(long)]
        tables: Option<PathBuf>,
        /// Worker threads (default: every core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
    },
    /// Print the granular receipt (ACK) the receiver would send for a message.
    Ack {
        message: PathBuf,
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Handoff id (default: the one whose message types include the message's MSH-9).
        #[arg(long)]
        handoff: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Clone)]
pub struct NetArgs {
    /// Read and ACK timeout, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Connection retries.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Delay before the first retry (grows linearly), milliseconds.
    #[arg(long, default_value_t = 200)]
    backoff_ms: u64,
    /// Largest message accepted, bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_bytes: usize,
    /// Capture every exchange into this session of the workspace.
    #[arg(long)]
    session: Option<String>,
    /// listen, relay: serve at most this many connections at once; more are
    /// refused and recorded.
    #[arg(long, default_value_t = baton::mllp::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// listen, relay: write every exchange to this file as it happens, one
    /// JSON object a line (the output keeps the newest 1,000).
    #[arg(long)]
    transcript: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
pub struct StopArgs {
    /// Stop after this many messages.
    #[arg(long)]
    max_messages: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long)]
    duration_s: Option<u64>,
}

impl NetArgs {
    fn send_options(&self, mapped: bool) -> baton::mllp::SendOptions {
        baton::mllp::SendOptions {
            timeout: std::time::Duration::from_millis(self.timeout_ms),
            retries: self.retries,
            backoff: std::time::Duration::from_millis(self.backoff_ms),
            mapped,
        }
    }

    fn limits(&self) -> baton::mllp::Limits {
        baton::mllp::Limits {
            max_bytes: self.max_bytes,
            read_timeout: std::time::Duration::from_millis(self.timeout_ms),
        }
    }
}

#[derive(clap::Args)]
pub struct Who {
    /// Your name, as recorded and signed.
    #[arg(long)]
    pub(crate) name: String,
    /// Your role (for example "Interface lead").
    #[arg(long, default_value = "")]
    pub(crate) role: String,
    #[arg(long, value_enum)]
    side: SideArg,
}

#[derive(clap::Args)]
pub struct OptWho {
    /// Who ran it (with --session).
    #[arg(long = "name")]
    name: Option<String>,
    #[arg(long = "role", default_value = "")]
    role: String,
    #[arg(long = "side", value_enum)]
    side: Option<SideArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SideArg {
    Sender,
    Receiver,
}

impl From<SideArg> for baton::Side {
    fn from(s: SideArg) -> baton::Side {
        match s {
            SideArg::Sender => baton::Side::Sender,
            SideArg::Receiver => baton::Side::Receiver,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DecisionArg {
    Approve,
    Reject,
}

impl Who {
    pub(crate) fn person(&self) -> baton::session::Person {
        baton::session::Person {
            name: self.name.clone(),
            role: self.role.clone(),
            side: self.side.into(),
        }
    }
}

/// The bundled default workspace: in the current folder when run from the
/// project, else where the binary was built from.
pub fn default_workspace() -> PathBuf {
    let rel = Path::new("test-scenarios").join("lab-orders-results");
    if rel.join("baton.toml").exists() {
        return rel;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The workspace a command uses when none is named: the nearest folder at
/// or above the current one with a `baton.toml` (as cargo and git look for
/// theirs), else the bundled default, said on stderr.
pub fn find_workspace(named: Option<PathBuf>) -> PathBuf {
    if let Some(w) = named {
        return w;
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join(baton::workspace::MANIFEST).is_file() {
                return dir.to_path_buf();
            }
        }
    }
    let w = default_workspace();
    eprintln!(
        "note: no {} in this folder or above; using the bundled workspace {}",
        baton::workspace::MANIFEST,
        w.display()
    );
    w
}

pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Run {
            workspace,
            json,
            junit,
            scenarios,
            verbose,
            session,
            who,
        } => cmd_run(
            &find_workspace(workspace),
            json.as_deref(),
            junit.as_deref(),
            &scenarios,
            verbose,
            session.as_deref(),
            &who,
        ),
        Command::Sign {
            workspace,
            session,
            who,
            decision,
            comment,
            register_key,
        } => signoff::cmd_sign(&workspace, &session, &who, decision, &comment, register_key),
        Command::Comment {
            workspace,
            session,
            who,
            scenario,
            path,
            text,
        } => cmd_event(
            &workspace,
            &session,
            baton::session::Event::Comment {
                by: who.person(),
                scenario,
                path,
                text,
            },
        ),
        Command::Waive {
            workspace,
            session,
            who,
            scenario,
            path,
            code,
            reason,
            owner,
            expires,
        } => cmd_event(
            &workspace,
            &session,
            baton::session::Event::Waiver {
                by: who.person(),
                scenario,
                path,
                code,
                reason,
                owner,
                expires,
            },
        ),
        Command::Report {
            workspace,
            session,
            out,
            no_mask,
            signer,
        } => signoff::cmd_report(&workspace, session.as_deref(), &out, !no_mask, &signer),
        Command::Verify {
            report,
            workspace,
            signers,
        } => signoff::cmd_verify(&report, workspace.as_deref(), signers.as_deref()),
        Command::Signers { action } => signoff::cmd_signers(action),
        Command::Send {
            workspace,
            to,
            mapped,
            scenarios,
            net,
            json,
        } => cmd_send(&workspace, &to, mapped, &scenarios, &net, json),
        Command::Listen {
            workspace,
            port,
            host,
            enhanced,
            receiver_only,
            stop,
            net,
            json,
        } => cmd_listen(
            &workspace,
            &host,
            port,
            None,
            (enhanced, receiver_only),
            &stop,
            &net,
            json,
        ),
        Command::Relay {
            workspace,
            port,
            host,
            to,
            stop,
            net,
            json,
        } => cmd_listen(
            &workspace,
            &host,
            port,
            Some(to),
            (false, false),
            &stop,
            &net,
            json,
        ),
        Command::Generate {
            workspace,
            handoff,
            save,
        } => cmd_generate(&workspace, &handoff, save),
        Command::Disposition {
            workspace,
            session,
            who,
            handoff,
            path,
            disposition,
            note,
            owner,
        } => cmd_disposition(
            &workspace,
            &session,
            &who,
            handoff,
            path,
            disposition,
            note,
            owner,
        ),
        Command::Gap {
            sender,
            receiver,
            rules,
            tables,
            json,
            all,
        } => cmd_gap(
            &sender,
            &receiver,
            rules.as_deref(),
            tables.as_deref(),
            json,
            all,
        ),
        Command::Validate {
            profile,
            tables,
            messages,
            json,
            show_unmapped,
            redact,
        } => cmd_validate(
            &profile,
            tables.as_deref(),
            &messages,
            &redact,
            json,
            show_unmapped,
        ),
        Command::Replay {
            workspace,
            logs,
            handoff,
            json,
            html,
            save_scenarios,
            jobs,
            unmasked,
        } => traffic::cmd_replay(traffic::ReplayArgs {
            workspace: &workspace,
            handoff: handoff.as_deref(),
            logs: &logs,
            json: json.as_deref(),
            html: html.as_deref(),
            save_scenarios: save_scenarios.as_deref(),
            jobs,
            unmasked,
        }),
        Command::Learn {
            logs,
            out,
            side,
            name,
            json,
            against,
            tables,
            jobs,
        } => traffic::cmd_learn(traffic::LearnArgs {
            logs: &logs,
            out: out.as_deref(),
            side: side.into(),
            name: name.as_deref(),
            json,
            against: against.as_deref(),
            tables: tables.as_deref(),
            jobs,
        }),
        Command::Inspect { files, json } => cmd_inspect(&files, json),
        Command::Diff { a, b, json } => cmd_diff(&a, &b, json),
        Command::Ack {
            message,
            workspace,
            handoff,
            json,
        } => cmd_ack(
            &message,
            &find_workspace(workspace),
            handoff.as_deref(),
            json,
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`baton inspect big.hl7 | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn load_workspace(path: &Path) -> Result<Workspace, u8> {
    Workspace::load(path).map_err(|errors| {
        eprintln!(
            "baton: the workspace {} could not be loaded:",
            path.display()
        );
        for e in &errors.0 {
            eprintln!("  - {e}");
        }
        2
    })
}

fn write_out(target: &str, text: &str) -> Result<()> {
    if target == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(())
    } else {
        std::fs::write(target, text).with_context(|| format!("cannot write {target}"))
    }
}

fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { '⏎' } else { c })
        .collect();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

fn print_result(out: &mut impl Write, r: &ScenarioResult, verbose: bool) -> std::io::Result<()> {
    let c = r.replay.counts;
    let verdict = match r.verdict {
        Verdict::Met => "MET  ",
        Verdict::Unmet => "UNMET",
    };
    writeln!(
        out,
        "{verdict} {:<5} {:<8} {:<28} {}  [{}]  accepted {}, transformed {}, rejected {}, dropped {}, warnings {}",
        r.kind.as_str(),
        r.handoff,
        r.scenario,
        r.name,
        r.replay.ack_code,
        c.accepted,
        c.transformed,
        c.rejected,
        c.dropped,
        c.warnings
    )?;
    for p in &r.replay.parse_problems {
        writeln!(
            out,
            "        unreadable: line {}, column {}: {}",
            p.line, p.column, p.message
        )?;
    }
    let mut accepted = Vec::new();
    for f in &r.replay.fields {
        let label = format!("{:<10} {:<28}", f.path.to_string(), one_line(&f.name));
        let warnings: Vec<&baton::Finding> = f
            .findings
            .iter()
            .filter(|x| x.severity != baton::Severity::Error)
            .collect();
        match &f.outcome {
            Outcome::Accepted => {
                if verbose || !warnings.is_empty() {
                    writeln!(
                        out,
                        "        {label} accepted  `{}`",
                        one_line(f.source.as_deref().unwrap_or(""))
                    )?;
                } else {
                    accepted.push(f.path.to_string());
                }
            }
            Outcome::Transformed {
                rules,
                from,
                to,
                target,
                ..
            } => {
                let moved = if target.same_field(&f.path) {
                    String::new()
                } else {
                    format!(" into {target}")
                };
                writeln!(
                    out,
                    "        {label} transformed by {}{moved}: `{}` → `{}`",
                    rules.join(", "),
                    one_line(from),
                    one_line(to)
                )?;
            }
            Outcome::Rejected {
                code,
                severity,
                reason,
                location,
                side,
                rule,
                ..
            } => {
                let by_rule = rule
                    .as_ref()
                    .map(|r| format!(" (rule {r})"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "        {label} rejected {code} {} by {} at {location}{by_rule}: {reason}",
                    severity.as_str(),
                    side.as_str()
                )?;
            }
            Outcome::Dropped { rule, reason } => {
                let by = rule
                    .as_ref()
                    .map(|r| format!(" by {r}"))
                    .unwrap_or_default();
                writeln!(out, "        {label} dropped{by}: {reason}")?;
            }
        }
        if !matches!(f.outcome, Outcome::Rejected { .. }) {
            for w in warnings {
                writeln!(
                    out,
                    "        {:<10} {:<28}   {} {} by {} at {}: {}",
                    "",
                    "",
                    w.severity.as_str(),
                    w.code,
                    w.side.as_str(),
                    w.location_text(),
                    w.reason
                )?;
            }
        }
    }
    for f in r.replay.findings.iter().filter(|f| f.segment_only) {
        writeln!(
            out,
            "        {:<10} {:<28} rejected {} {} by {}: {}",
            f.location_text(),
            "(segment)",
            f.code,
            f.severity.as_str(),
            f.side.as_str(),
            f.reason
        )?;
    }
    if !accepted.is_empty() {
        writeln!(out, "        accepted unchanged: {}", accepted.join(" "))?;
    }
    for check in r.checks.iter().filter(|c| !c.met) {
        writeln!(
            out,
            "        ✗ expected {}; got {}",
            check.expectation, check.actual
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn cmd_run(
    path: &Path,
    json: Option<&str>,
    junit: Option<&Path>,
    only: &[String],
    verbose: bool,
    session: Option<&str>,
    who: &OptWho,
) -> Result<u8> {
    let ws = workspace_or_return!(path);
    for id in only {
        if ws.scenario(id).is_none() {
            eprintln!("baton: no scenario `{id}` in {}", path.display());
            return Ok(2);
        }
    }
    let results: Vec<ScenarioResult> = ws
        .scenarios
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.id))
        .map(|s| replay::replay_scenario(&ws, s))
        .collect();
    let met = results.iter().filter(|r| r.verdict == Verdict::Met).count();
    let unmet = results.len() - met;
    if let Some(name) = session {
        let (Some(by), Some(side)) = (&who.name, who.side) else {
            eprintln!("baton: --session needs --name and --side to record who ran it");
            return Ok(2);
        };
        if !only.is_empty() {
            eprintln!("baton: a session records runs of every scenario; drop --scenario");
            return Ok(2);
        }
        let person = Who {
            name: by.clone(),
            role: who.role.clone(),
            side,
        }
        .person();
        let rec = baton::session::record_run(&ws, name, person, &results)?;
        eprintln!("recorded run {} in session {name}", rec.id);
    }
    let to_stdout = json == Some("-");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !to_stdout {
        writeln!(out, "Workspace {} ({})", ws.name, ws.root.display())?;
        for h in &ws.handoffs {
            writeln!(
                out,
                "  handoff {}: {} → {} ({}), {} rules",
                h.id,
                h.source,
                h.target,
                h.message_types.join(", "),
                h.rules.rules.len()
            )?;
        }
        writeln!(out)?;
        for r in &results {
            print_result(&mut out, r, verbose)?;
        }
        writeln!(out)?;
        writeln!(out, "{} scenarios: {met} met, {unmet} unmet", results.len())?;
    }
    out.flush()?;
    drop(out);
    if let Some(target) = json {
        let doc = serde_json::json!({
            "workspace": ws.name,
            "root": ws.root.display().to_string(),
            "baton_version": baton::VERSION,
            "summary": { "total": results.len(), "met": met, "unmet": unmet },
            "scenarios": results,
        });
        write_out(target, &serde_json::to_string_pretty(&doc)?)?;
    }
    if let Some(file) = junit {
        std::fs::write(file, junit_xml(&ws, &results)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(if unmet == 0 { 0 } else { 1 })
}

fn junit_xml(ws: &Workspace, results: &[ScenarioResult]) -> Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new(format!("baton: {}", ws.name));
    for h in &ws.handoffs {
        let mut suite = TestSuite::new(format!("{}: {} → {}", h.id, h.source, h.target));
        for r in results.iter().filter(|r| r.handoff == h.id) {
            let status = match r.verdict {
                Verdict::Met => TestCaseStatus::success(),
                Verdict::Unmet => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let unmet: Vec<String> = r
                        .checks
                        .iter()
                        .filter(|c| !c.met)
                        .map(|c| format!("expected {}; got {}", c.expectation, c.actual))
                        .collect();
                    s.set_message(unmet.join("; "));
                    s
                }
            };
            let mut case = TestCase::new(format!("{} ({})", r.scenario, r.name), status);
            case.set_classname(format!("{}.{}", h.id, r.kind.as_str()));
            case.set_assertions(r.checks.len());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    Ok(report.to_string()?)
}

fn cmd_ack(message: &Path, workspace: &Path, handoff: Option<&str>, json: bool) -> Result<u8> {
    let ws = workspace_or_return!(workspace);
    let bytes =
        std::fs::read(message).with_context(|| format!("cannot read {}", message.display()))?;
    let (text, _) = baton::hl7::decode_bytes(&bytes);
    let parsed = baton::hl7::parse_one(&text);
    let h = match handoff {
        Some(id) => ws.handoff(id),
        None => match &parsed {
            Ok(m) => ws
                .handoff_for_type(&m.message_type())
                .or(ws.handoffs.first()),
            Err(_) => ws.handoffs.first(),
        },
    };
    let Some(h) = h else {
        eprintln!(
            "baton: no handoff `{}` in {} (known: {})",
            handoff.unwrap_or(""),
            workspace.display(),
            ws.handoffs
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(2);
    };
    let r = replay::replay_text(h, &ws.tables, &text);
    if json {
        let doc = serde_json::json!({ "handoff": h.id, "ack_code": r.ack_code, "ack": r.ack, "findings": r.findings });
        say!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        say!("{}", r.ack.replace('\r', "\n").trim_end());
    }
    Ok(u8::from(r.ack_code != "AA"))
}

fn cmd_event(path: &Path, session: &str, event: baton::session::Event) -> Result<u8> {
    let ws = workspace_or_return!(path);
    let scenario = match &event {
        baton::session::Event::Comment { scenario, .. }
        | baton::session::Event::Waiver { scenario, .. } => scenario.clone(),
        _ => String::new(),
    };
    if ws.scenario(&scenario).is_none() {
        eprintln!("baton: no scenario `{scenario}` in {}", path.display());
        return Ok(2);
    }
    let rec = baton::session::append(&ws.root, session, event)?;
    say!("recorded {} in session {session}", rec.id);
    Ok(0)
}
