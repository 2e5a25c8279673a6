//! Real traffic: replay a whole message log through a handoff and aggregate
//! the account per field path and per distinct finding, streaming, in
//! parallel, in bounded memory. [`learn`] reverse-engineers a profile from
//! the same logs.

pub mod html;
pub mod learn;
pub mod log;
pub mod scenarios;

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::finding::{Severity, Side};
use crate::hl7::{SegName, names};
use crate::replay::{self, MessageReplay};
use crate::scenario::OutcomeKind;
use crate::table::Tables;
use crate::workspace::Handoff;
pub use log::{LogItem, LogMessage, LogProblem, LogReader};

/// Examples kept per distinct finding.
pub const EXAMPLES: usize = 5;
/// Distinct findings kept per field path; the rest are counted together.
pub const FINDINGS_PER_FIELD: usize = 100;
/// Distinct field paths kept; the rest are counted together.
pub const MAX_PATHS: usize = 20_000;
/// Log problems listed; the rest are counted.
pub const MAX_LOG_PROBLEMS: usize = 200;
/// Messages handed to the workers at a time.
const BATCH_MESSAGES: usize = 512;
/// Bytes handed to the workers at a time.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Where one example message is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    /// MSH-10, or empty when the message could not be read.
    pub control_id: String,
    /// 1-based message number across the run's logs.
    pub message: usize,
    /// The log file (as given) and the line of its MSH.
    pub file: String,
    pub line: usize,
}

/// One distinct finding (0357 code, severity, side, reason) and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingStats {
    pub code: u16,
    pub severity: Severity,
    pub side: Side,
    /// The reason with the values it quotes taken out (`…`): the same
    /// problem with different values is one finding.
    pub reason: String,
    pub count: usize,
    pub examples: Vec<Example>,
    /// Up to 5 distinct values the reason quoted, first seen first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Counts for one field path, every occurrence of its segment together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldStats {
    /// `OBX-6`; `(unreadable)` for messages that could not be read.
    pub path: String,
    pub name: String,
    pub accepted: usize,
    pub transformed: usize,
    pub rejected: usize,
    pub dropped: usize,
    pub warnings: usize,
    /// Most frequent first.
    pub findings: Vec<FindingStats>,
    /// Findings past [`FINDINGS_PER_FIELD`] distinct ones, counted only.
    #[serde(skip_serializing_if = "is_zero")]
    pub other_findings: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl FieldStats {
    /// Rows of this path, all outcomes.
    pub fn total(&self) -> usize {
        self.accepted + self.transformed + self.rejected + self.dropped
    }
}

/// MSA-1 counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AckCounts {
    #[serde(rename = "AA")]
    pub aa: usize,
    #[serde(rename = "AE")]
    pub ae: usize,
    #[serde(rename = "AR")]
    pub ar: usize,
}

/// The aggregated account of a log replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficReport {
    pub handoff: String,
    pub files: Vec<String>,
    pub messages: usize,
    pub unreadable: usize,
    pub ack: AckCounts,
    /// Most rejections first, then by path.
    pub fields: Vec<FieldStats>,
    /// Text in the logs that is not a message, oversized messages.
    pub log_problems: Vec<LogProblem>,
    #[serde(skip_serializing_if = "is_zero")]
    pub more_log_problems: usize,
    pub bytes: u64,
    /// True when the run was stopped before the end of the logs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

impl TrafficReport {
    /// Every distinct finding with its field path, most frequent first.
    pub fn problems(&self) -> Vec<(&FieldStats, &FindingStats)> {
        let mut all: Vec<_> = self
            .fields
            .iter()
            .flat_map(|f| f.findings.iter().map(move |x| (f, x)))
            .collect();
        all.sort_by(|a, b| {
            b.1.count
                .cmp(&a.1.count)
                .then_with(|| a.1.severity.cmp(&b.1.severity))
                .then_with(|| a.0.path.cmp(&b.0.path))
        });
        all
    }

    /// Rows rejected, all paths.
    pub fn rejected(&self) -> usize {
        self.fields.iter().map(|f| f.rejected).sum()
    }
}

/// How a replay goes and how it reports progress.
#[derive(Default)]
pub struct Options<'a> {
    /// Worker threads (0: every core).
    pub jobs: usize,
    /// Set to stop at the next batch.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Called after every batch with the progress so far.
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
}

/// Progress of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub messages: usize,
    pub bytes: u64,
}

/// A log to read: a name to report and its bytes.
pub struct Log {
    pub name: String,
    pub reader: Box<dyn BufRead + Send>,
}

impl Log {
    /// Opens a log file, buffered.
    pub fn open(path: &std::path::Path) -> std::io::Result<Log> {
        let f = std::fs::File::open(path)?;
        Ok(Log {
            name: path.display().to_string(),
            reader: Box::new(std::io::BufReader::with_capacity(256 * 1024, f)),
        })
    }
}

/// What one message contributed, computed in a worker.
struct Summary {
    example: Example,
    ack: u8,
    unreadable: bool,
    /// Per field path: rows by outcome and rows with a warning, counted
    /// in the worker (a message has many rows on few paths).
    rows: Vec<(Key, [usize; 4], usize)>,
    findings: Vec<(Key, FindingKey, Option<String>)>,
}

/// A message's rows counted per field path, in the worker: by segment id
/// (a message has few distinct ones), then by field number.
#[derive(Default)]
struct RowCounts {
    segments: Vec<SegName>,
    fields: Vec<Vec<([usize; 4], usize)>>,
    /// Field numbers past [`RowCounts::NEAR`] (a profile may name any).
    far: Vec<(Key, [usize; 4], usize)>,
    /// The index of the segment id counted last.
    last: Option<usize>,
}

impl RowCounts {
    const NEAR: usize = 1024;

    #[inline]
    fn add(&mut self, (segment, field): Key, kind: OutcomeKind, warning: bool) {
        if field >= Self::NEAR {
            let i = match self.far.iter().position(|(k, _, _)| *k == (segment, field)) {
                Some(i) => i,
                None => {
                    self.far.push(((segment, field), [0; 4], 0));
                    self.far.len() - 1
                }
            };
            self.far[i].1[kind as usize] += 1;
            self.far[i].2 += usize::from(warning);
            return;
        }
        // Rows come segment by segment: the last segment id first.
        let s = match self.last {
            Some(s) if self.segments[s] == segment => s,
            _ => match self.segments.iter().position(|x| *x == segment) {
                Some(s) => s,
                None => {
                    self.segments.push(segment);
                    // Room for a segment's usual fields at once (they come in order).
                    self.fields.push(Vec::with_capacity(32));
                    self.segments.len() - 1
                }
            },
        };
        self.last = Some(s);
        let list = &mut self.fields[s];
        if list.len() <= field {
            list.resize(field + 1, ([0; 4], 0));
        }
        list[field].0[kind as usize] += 1;
        list[field].1 += usize::from(warning);
    }

    fn into_rows(self) -> Vec<(Key, [usize; 4], usize)> {
        let counted = self.fields.iter().map(Vec::len).sum::<usize>() + self.far.len();
        let mut rows = Vec::with_capacity(counted);
        let all = self
            .segments
            .into_iter()
            .zip(self.fields)
            .flat_map(|(segment, list)| {
                list.into_iter()
                    .enumerate()
                    .filter(|(_, (c, _))| c.iter().any(|&n| n > 0))
                    .map(move |(field, (c, w))| ((segment, field), c, w))
            })
            .chain(self.far);
        rows.extend(all);
        rows
    }
}

type Key = (SegName, usize);

#[derive(Clone, PartialEq, Eq, Hash)]
struct FindingKey {
    code: u16,
    severity: Severity,
    side: Side,
    reason: String,
}

/// The key of the pseudo-path for unreadable messages.
const UNREADABLE: Key = (SegName::BLANK, 0);

/// Replays every message of the logs through a handoff.
pub fn replay_logs(
    handoff: &Handoff,
    tables: &Tables,
    logs: Vec<Log>,
    mut options: Options,
) -> std::io::Result<TrafficReport> {
    let files: Vec<String> = logs.iter().map(|l| l.name.clone()).collect();
    let mut agg = Aggregate::default();
    let pool = pool(options.jobs)?;
    // The previous batch's summaries are added (in order, on one worker)
    // while the other workers replay this batch: no worker waits for the
    // aggregate.
    let mut pending: Vec<Summary> = Vec::new();
    let run = |batch: &mut Vec<LogMessage>, agg: &mut Aggregate| {
        let previous = std::mem::take(&mut pending);
        let (_, summaries) = pool.install(|| {
            use rayon::prelude::*;
            rayon::join(
                || previous.into_iter().for_each(|s| agg.add(s)),
                || {
                    batch
                        .par_iter()
                        .map(|m| summarize(handoff, tables, m, &files))
                        .collect::<Vec<Summary>>()
                },
            )
        });
        pending = summaries;
        batch.clear();
    };
    let cancelled = for_each_batch(logs, &mut options, &mut agg, run)?;
    for s in pending {
        agg.add(s);
    }
    Ok(agg.finish(&handoff.id, files, cancelled))
}

/// A thread pool of `jobs` workers (0: every core).
pub(crate) fn pool(jobs: usize) -> std::io::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(std::io::Error::other)
}

/// What every log pass keeps besides its own counts: the problems in
/// the logs (the first [`MAX_LOG_PROBLEMS`], then a count) and the bytes read.
#[derive(Default)]
pub(crate) struct Tally {
    pub problems: Vec<LogProblem>,
    pub more_problems: usize,
    pub bytes: u64,
}

impl Tally {
    fn problem(&mut self, p: LogProblem) {
        if self.problems.len() < MAX_LOG_PROBLEMS {
            self.problems.push(p);
        } else {
            self.more_problems += 1;
        }
    }
}

/// A log pass's aggregate, as [`for_each_batch`] sees it.
pub(crate) trait Sink {
    fn tally(&mut self) -> &mut Tally;
}

/// What the reading thread hands over.
enum Chunk {
    Batch(Vec<LogMessage>, u64),
    Problem(LogProblem),
    Failed(std::io::Error),
}

/// Reads the logs into batches of messages (problems in between), handing
/// each over as it is full: runs on its own thread, so that the next batch
/// is read while the workers replay this one.
fn read_batches(logs: Vec<Log>, tx: std::sync::mpsc::SyncSender<Chunk>) {
    let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH_MESSAGES);
    let mut batch_bytes = 0usize;
    let mut next = 1usize;
    for (i, log) in logs.into_iter().enumerate() {
        let mut reader = LogReader::new(log.reader, i, next);
        for item in reader.by_ref() {
            let chunk = match item {
                Err(e) => {
                    let _ = tx.send(Chunk::Failed(e));
                    return;
                }
                Ok(LogItem::Problem(p)) => Chunk::Problem(p),
                Ok(LogItem::Message(m)) => {
                    batch_bytes += m.text.len();
                    batch.push(m);
                    if batch.len() < BATCH_MESSAGES && batch_bytes < BATCH_BYTES {
                        continue;
                    }
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_MESSAGES));
                    Chunk::Batch(full, std::mem::take(&mut batch_bytes) as u64)
                }
            };
            // The receiver hung up (cancelled): stop reading.
            if tx.send(chunk).is_err() {
                return;
            }
        }
        next = reader.next_number();
    }
    if !batch.is_empty() {
        let _ = tx.send(Chunk::Batch(batch, batch_bytes as u64));
    }
}

/// Streams the logs in batches to `run`, reading the next batch while
/// `run` works on this one. Returns whether it was cancelled.
pub(crate) fn for_each_batch<S: Sink>(
    logs: Vec<Log>,
    options: &mut Options,
    sink: &mut S,
    mut run: impl FnMut(&mut Vec<LogMessage>, &mut S),
) -> std::io::Result<bool> {
    let stop = |o: &Options| o.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
    // One batch waiting while one is worked: memory stays two batches.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || read_batches(logs, tx));
        // Messages handed to `run` (it may add them to the sink later).
        let mut done = 0;
        // Moved in: dropped when this returns, which ends a cancelled reader.
        for chunk in rx {
            match chunk {
                Chunk::Failed(e) => return Err(e),
                Chunk::Problem(p) => sink.tally().problem(p),
                Chunk::Batch(mut batch, bytes) => {
                    done += batch.len();
                    run(&mut batch, sink);
                    sink.tally().bytes += bytes;
                    if let Some(p) = options.progress.as_mut() {
                        p(Progress {
                            messages: done,
                            bytes: sink.tally().bytes,
                        });
                    }
                    if stop(options) {
                        return Ok(true);
                    }
                }
            }
        }
        if let Some(p) = options.progress.as_mut() {
            p(Progress {
                messages: done,
                bytes: sink.tally().bytes,
            });
        }
        Ok(false)
    })
}

/// The handoff for a log: the one whose message types include the type
/// (MSH-9 type^event) of the first readable message in its first 1 MiB.
pub fn handoff_for_log<'a>(ws: &'a crate::Workspace, log: &std::path::Path) -> Option<&'a Handoff> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(log)
        .ok()?
        .take(1024 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    LogReader::new(head.as_slice(), 0, 1)
        .filter_map(|i| match i {
            Ok(LogItem::Message(m)) => crate::hl7::parse_one(&m.text).ok(),
            _ => None,
        })
        .find_map(|m| ws.handoff_for_type(&m.message_type()))
}

/// The replay of one log message, as a scenario replays it.
pub fn replay_one(handoff: &Handoff, tables: &Tables, m: &LogMessage) -> MessageReplay {
    if let Some(why) = &m.skipped {
        let problem = crate::hl7::ParseProblem {
            line: 1,
            column: 1,
            severity: Severity::Error,
            message: why.clone(),
        };
        return replay::unreadable(handoff, "", vec![problem]);
    }
    let mut r = replay::replay_text(handoff, tables, &m.text);
    if m.latin1 {
        r.parse_problems.insert(
            0,
            crate::hl7::ParseProblem {
                line: 1,
                column: 1,
                severity: Severity::Warning,
                message: "not valid UTF-8; read as Latin-1 (ISO 8859-1)".into(),
            },
        );
    }
    r
}

fn summarize(handoff: &Handoff, tables: &Tables, m: &LogMessage, files: &[String]) -> Summary {
    let example = |control_id: &str| Example {
        control_id: control_id.to_string(),
        message: m.number,
        file: files.get(m.file).cloned().unwrap_or_default(),
        line: m.line,
    };
    // Replayed exactly as a scenario is (`replay_one`), without what only a
    // scenario shows: the receipt's text, the mapped message's encoding.
    let parsed = match &m.skipped {
        Some(_) => None,
        None => crate::hl7::parse_one(&m.text).ok(),
    };
    let Some(source) = parsed else {
        let r = replay_one(handoff, tables, m);
        return unreadable_summary(example(""), &r);
    };
    let mut rows = RowCounts::default();
    let mut findings = Vec::new();
    let code = replay::replay_rows(handoff, tables, &source, |row| {
        let key = (row.path().segment, row.path().field_number);
        let kind = row.kind();
        let row_findings = row.findings();
        let warning = kind != OutcomeKind::Rejected
            && row_findings.iter().any(|x| x.severity == Severity::Warning);
        rows.add(key, kind, warning);
        for x in row_findings {
            findings.push((
                key,
                FindingKey {
                    code: x.code,
                    severity: x.severity,
                    side: x.side,
                    reason: general_reason(&learn::redact(&x.reason)),
                },
                first_quoted(&x.reason),
            ));
        }
    });
    let ack = match code {
        "AA" => 0,
        "AE" => 1,
        _ => 2,
    };
    Summary {
        example: example(source.control_id()),
        ack,
        unreadable: false,
        rows: rows.into_rows(),
        findings,
    }
}

/// What a message that could not be read contributes: its parse errors.
fn unreadable_summary(example: Example, r: &MessageReplay) -> Summary {
    let findings = r
        .parse_problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| {
            (
                UNREADABLE,
                FindingKey {
                    code: crate::finding::SEGMENT_SEQUENCE,
                    severity: Severity::Error,
                    side: Side::Receiver,
                    reason: general_reason(&learn::redact(&p.message)),
                },
                first_quoted(&p.message),
            )
        })
        .collect();
    let mut rejected = [0; 4];
    rejected[OutcomeKind::Rejected as usize] = 1;
    Summary {
        example,
        ack: 2,
        unreadable: true,
        rows: vec![(UNREADABLE, rejected, 0)],
        findings,
    }
}

/// The first value a reason quotes between backticks.
fn first_quoted(reason: &str) -> Option<String> {
    let start = reason.find('`')? + 1;
    let len = reason[start..].find('`')?;
    Some(reason[start..start + len].chars().take(200).collect())
}

/// A reason with segment occurrences and line numbers taken out, so that
/// the same finding on OBX[2] and OBX[7] counts as one.
pub fn general_reason(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let b = reason.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 && b.get(i + 1 + digits) == Some(&b']') {
                i += digits + 2;
                continue;
            }
        }
        // "line 12, column 4: " from a parse problem
        if i == 0
            && reason.starts_with("line ")
            && let Some(colon) = reason.find(": ")
            && reason[..colon]
                .bytes()
                .all(|c| c.is_ascii_digit() || b"line, colum".contains(&c))
        {
            i = colon + 2;
            continue;
        }
        let ch = reason[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

struct FindingAgg {
    count: usize,
    examples: Vec<Example>,
    values: Vec<String>,
    order: usize,
}

#[derive(Default)]
struct PathAgg {
    counts: [usize; 4],
    warnings: usize,
    findings: FxHashMap<FindingKey, FindingAgg>,
    other: usize,
}

#[derive(Default)]
struct Aggregate {
    messages: usize,
    unreadable: usize,
    ack: AckCounts,
    paths: FxHashMap<Key, PathAgg>,
    overflow: PathAgg,
    tally: Tally,
    /// Order in which distinct findings were first seen (for stable ties).
    seen: usize,
}

impl Sink for Aggregate {
    fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }
}

impl Aggregate {
    fn path(&mut self, key: Key) -> &mut PathAgg {
        if self.paths.len() >= MAX_PATHS && !self.paths.contains_key(&key) {
            return &mut self.overflow;
        }
        self.paths.entry(key).or_default()
    }

    fn add(&mut self, s: Summary) {
        self.messages += 1;
        if s.unreadable {
            self.unreadable += 1;
        }
        match s.ack {
            0 => self.ack.aa += 1,
            1 => self.ack.ae += 1,
            _ => self.ack.ar += 1,
        }
        for (key, counts, warnings) in s.rows {
            let p = self.path(key);
            for (total, n) in p.counts.iter_mut().zip(counts) {
                *total += n;
            }
            p.warnings += warnings;
        }
        for (key, f, value) in s.findings {
            let order = self.seen;
            let example = &s.example;
            let p = self.path(key);
            let full = p.findings.len() >= FINDINGS_PER_FIELD;
            match p.findings.get_mut(&f) {
                Some(a) => {
                    a.count += 1;
                    if a.examples.len() < EXAMPLES
                        && a.examples
                            .last()
                            .is_none_or(|e| e.message != example.message)
                    {
                        a.examples.push(example.clone());
                    }
                    if let Some(v) = value
                        && a.values.len() < EXAMPLES
                        && !a.values.contains(&v)
                    {
                        a.values.push(v);
                    }
                }
                None if full => p.other += 1,
                None => {
                    p.findings.insert(
                        f,
                        FindingAgg {
                            count: 1,
                            examples: vec![example.clone()],
                            values: value.into_iter().collect(),
                            order,
                        },
                    );
                    self.seen += 1;
                }
            }
        }
    }

    fn finish(self, handoff: &str, files: Vec<String>, cancelled: bool) -> TrafficReport {
        let dict = names::dictionary();
        let mut fields: Vec<FieldStats> = self
            .paths
            .into_iter()
            .map(|(key, p)| {
                let (path, name) = if key == UNREADABLE {
                    (
                        "(unreadable)".to_string(),
                        "message could not be read".into(),
                    )
                } else {
                    (
                        format!("{}-{}", key.0.as_str(), key.1),
                        dict.field(key.0.as_str(), key.1)
                            .map(|d| d.name.clone())
                            .unwrap_or_default(),
                    )
                };
                stats(path, name, p)
            })
            .collect();
        if self.overflow.counts.iter().sum::<usize>() > 0 {
            fields.push(stats(
                "(other paths)".into(),
                format!("paths past the first {MAX_PATHS}"),
                self.overflow,
            ));
        }
        fields.sort_by(|a, b| {
            b.rejected
                .cmp(&a.rejected)
                .then_with(|| b.warnings.cmp(&a.warnings))
                .then_with(|| path_order(&a.path).cmp(&path_order(&b.path)))
        });
        TrafficReport {
            handoff: handoff.to_string(),
            files,
            messages: self.messages,
            unreadable: self.unreadable,
            ack: self.ack,
            fields,
            log_problems: self.tally.problems,
            more_log_problems: self.tally.more_problems,
            bytes: self.tally.bytes,
            cancelled,
        }
    }
}

/// Sorts `PID-3` before `PID-11` and MSH first.
fn path_order(p: &str) -> (u8, String, usize) {
    let (seg, n) = p.split_once('-').unwrap_or((p, "0"));
    (
        u8::from(seg != "MSH"),
        seg.to_string(),
        n.parse().unwrap_or(0),
    )
}

fn stats(path: String, name: String, p: PathAgg) -> FieldStats {
    let mut findings: Vec<(FindingStats, usize)> = p
        .findings
        .into_iter()
        .map(|(k, a)| {
            (
                FindingStats {
                    code: k.code,
                    severity: k.severity,
                    side: k.side,
                    reason: k.reason,
                    count: a.count,
                    examples: a.examples,
                    values: a.values,
                },
                a.order,
            )
        })
        .collect();
    findings.sort_by(|a, b| b.0.count.cmp(&a.0.count).then(a.1.cmp(&b.1)));
    FieldStats {
        path,
        name,
        accepted: p.counts[OutcomeKind::Accepted as usize],
        transformed: p.counts[OutcomeKind::Transformed as usize],
        rejected: p.counts[OutcomeKind::Rejected as usize],
        dropped: p.counts[OutcomeKind::Dropped as usize],
        warnings: p.warnings,
        findings: findings.into_iter().map(|(f, _)| f).collect(),
        other_findings: p.other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_reasons_lose_occurrences_and_parse_locations() {
        assert_eq!(
            general_reason("OBX[3]-6 (Units): `mg` not in table"),
            "OBX-6 (Units): `mg` not in table"
        );
        assert_eq!(
            general_reason("line 4, column 1: segment `X` unknown"),
            "segment `X` unknown"
        );
        assert_eq!(general_reason("a [x] b [12"), "a [x] b [12");
    }
}
