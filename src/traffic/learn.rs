//! Learns a side's profile from its traffic: message types, segments with
//! the cardinality seen, fields and components with their usage, length,
//! repetitions, type, value sets and timestamp offsets, each with the
//! evidence behind it. The traffic is also checked as the standard defines
//! it, so that the profile states every deviation the traffic needs and
//! accepts the log it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{Log, LogMessage, LogProblem, Options, Sink, Tally};
use crate::finding::{self, Finding, Severity, Side};
use crate::hl7::{self, Message, Path, SegName, names};
use crate::profile::{self, Profile, Usage};
use crate::table::Tables;

/// Distinct values kept per coded field; past this it is not a value set.
pub const VALUE_SET_MAX: usize = 20;

/// What a learn run is told.
pub struct LearnOptions {
    pub side: Side,
    pub name: String,
    /// A declared profile to compare the traffic with (drift).
    pub against: Option<Profile>,
    /// Tables the declared profile's value sets come from.
    pub tables: Tables,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SegmentFacts {
    pub id: String,
    /// Messages that carry it.
    pub messages: usize,
    pub occurrences: usize,
    /// Fewest and most occurrences in a message that carries it.
    pub min: usize,
    pub max: usize,
    #[serde(skip)]
    first_seen: (usize, usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldFacts {
    /// `PID-5` or `PID-5.1`.
    pub path: String,
    pub name: String,
    /// Segment occurrences where it is populated, of `of`.
    pub present: usize,
    pub of: usize,
    /// Longest value in characters (unescaped, per repetition).
    pub longest: usize,
    pub max_repetitions: usize,
    /// The standard's data type (empty when the standard has none).
    pub standard_type: String,
    /// Values that break the standard's type (102, 103), and one reason.
    pub type_breaks: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub type_break_example: String,
    /// Distinct values with counts, when few (coded fields only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, usize>>,
    /// Timestamps with a time, and those without a UTC offset.
    pub timestamps: usize,
    pub without_offset: usize,
}

/// Where the traffic breaks a declared profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub path: String,
    pub code: u16,
    pub severity: Severity,
    pub reason: String,
    /// Messages where it happens, of `of`.
    pub count: usize,
    pub of: usize,
}

/// What a learn run found, and the profile it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Learned {
    pub messages: usize,
    pub unreadable: usize,
    pub message_types: BTreeMap<String, usize>,
    pub versions: BTreeMap<String, usize>,
    pub processing_ids: BTreeMap<String, usize>,
    pub segments: Vec<SegmentFacts>,
    pub fields: Vec<FieldFacts>,
    pub drift: Vec<Drift>,
    pub log_problems: Vec<LogProblem>,
    /// The learned profile, as TOML with its evidence in comments.
    pub profile: String,
}

#[derive(Default, Clone)]
struct FieldAgg {
    present: usize,
    longest: usize,
    reps: usize,
    values: FxHashMap<String, usize>,
    many: bool,
    /// Coded values with no code (text only): a value set would reject them.
    uncoded: usize,
    timestamps: usize,
    without_offset: usize,
    type_breaks: usize,
    type_break_example: String,
    /// 101 under the standard: required there, absent here.
    missing: usize,
}

impl FieldAgg {
    fn merge(&mut self, o: FieldAgg) {
        self.present += o.present;
        self.longest = self.longest.max(o.longest);
        self.reps = self.reps.max(o.reps);
        self.uncoded += o.uncoded;
        self.timestamps += o.timestamps;
        self.without_offset += o.without_offset;
        self.type_breaks += o.type_breaks;
        if self.type_break_example.is_empty() {
            self.type_break_example = o.type_break_example;
        }
        self.missing += o.missing;
        self.many |= o.many;
        if !self.many {
            for (v, n) in o.values {
                *self.values.entry(v).or_default() += n;
            }
            self.cap_values();
        }
    }

    fn cap_values(&mut self) {
        if self.values.len() > VALUE_SET_MAX {
            self.many = true;
            self.values = FxHashMap::default();
        }
    }
}

/// (segment, field, component 0 for the whole field)
type Key = (SegName, usize, u32);

#[derive(Default)]
struct Agg {
    messages: usize,
    unreadable: usize,
    tally: Tally,
    types: BTreeMap<String, usize>,
    versions: BTreeMap<String, usize>,
    processing: BTreeMap<String, usize>,
    segments: FxHashMap<SegName, SegmentFacts>,
    fields: FxHashMap<Key, FieldAgg>,
    /// Segments the standard check found missing or surplus (100).
    segment_breaks: FxHashMap<SegName, usize>,
    /// Timestamps anywhere (inside composites too) the standard check found without an offset.
    offset_findings: usize,
    drift: FxHashMap<(String, u16, Severity, String), usize>,
}

impl Sink for Agg {
    fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }
}

fn add_count(map: &mut BTreeMap<String, usize>, key: &str) {
    if map.len() < 1000 || map.contains_key(key) {
        *map.entry(key.to_string()).or_default() += 1;
    }
}

impl Agg {
    fn merge(&mut self, o: Agg) {
        self.messages += o.messages;
        self.unreadable += o.unreadable;
        for (a, b) in [
            (&mut self.types, o.types),
            (&mut self.versions, o.versions),
            (&mut self.processing, o.processing),
        ] {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
        }
        for (k, s) in o.segments {
            let e = self.segments.entry(k).or_insert_with(|| SegmentFacts {
                id: s.id.clone(),
                min: usize::MAX,
                first_seen: (usize::MAX, 0),
                ..Default::default()
            });
            e.messages += s.messages;
            e.occurrences += s.occurrences;
            e.min = e.min.min(s.min);
            e.max = e.max.max(s.max);
            e.first_seen = e.first_seen.min(s.first_seen);
        }
        for (k, f) in o.fields {
            self.fields.entry(k).or_default().merge(f);
        }
        self.offset_findings += o.offset_findings;
        for (k, n) in o.segment_breaks {
            *self.segment_breaks.entry(k).or_default() += n;
        }
        for (k, n) in o.drift {
            if self.drift.len() < 10_000 || self.drift.contains_key(&k) {
                *self.drift.entry(k).or_default() += n;
            }
        }
    }

    fn add_message(&mut self, m: &LogMessage, standard: &Profile, opts: &LearnOptions) {
        self.messages += 1;
        if m.skipped.is_some() {
            self.unreadable += 1;
            return;
        }
        let Ok((msg, _)) = hl7::parse_one_noting(&m.text) else {
            self.unreadable += 1;
            return;
        };
        add_count(&mut self.types, &msg.message_type());
        add_count(&mut self.versions, msg.version());
        let processing = msg
            .get(&Path::field("MSH", 1, 11))
            .map(|v| hl7::sub_value(v, &msg.delimiters, None, Some(1), None).to_string())
            .unwrap_or_default();
        add_count(&mut self.processing, &processing);
        self.segments_of(&msg, m.number);
        self.fields_of(&msg);
        // Every segment the traffic carries is listed in the learned profile,
        // so it is checked here as listed (a segment outside the message's
        // structure would otherwise go unchecked).
        let mut probe = standard.clone();
        for s in &msg.segments {
            if !probe.segments.iter().any(|x| x.id == s.name.as_str()) {
                probe.segments.push(profile::SegmentSpec {
                    id: s.name.to_string(),
                    usage: Usage::O,
                    min: None,
                    max: None,
                    unlisted_fields: profile::Unlisted::Accept,
                    note: String::new(),
                });
            }
        }
        let check = profile::check(&probe, &Tables::default(), &msg);
        self.standard_findings(&check.findings);
        if let Some(declared) = &opts.against {
            let c = profile::check(declared, &opts.tables, &msg);
            let mut seen = rustc_hash::FxHashSet::default();
            for f in &c.findings {
                let path = field_key_text(&f.location, f.segment_only);
                let key = (
                    path,
                    f.code,
                    f.severity,
                    super::general_reason(&redact(&f.reason)),
                );
                if seen.insert(key.clone())
                    && (self.drift.len() < 10_000 || self.drift.contains_key(&key))
                {
                    *self.drift.entry(key).or_default() += 1;
                }
            }
        }
    }

    fn segments_of(&mut self, msg: &Message, number: usize) {
        let mut counts: FxHashMap<SegName, (usize, usize)> = FxHashMap::default();
        for (i, s) in msg.segments.iter().enumerate() {
            counts.entry(s.name).or_insert((0, i)).0 += 1;
        }
        for (name, (n, first)) in counts {
            let e = self.segments.entry(name).or_insert_with(|| SegmentFacts {
                id: name.to_string(),
                min: usize::MAX,
                first_seen: (usize::MAX, 0),
                ..Default::default()
            });
            e.messages += 1;
            e.occurrences += n;
            e.min = e.min.min(n);
            e.max = e.max.max(n);
            e.first_seen = e.first_seen.min((number, first));
        }
    }

    fn fields_of(&mut self, msg: &Message) {
        let d = msg.delimiters;
        let dict = names::dictionary();
        for s in &msg.segments {
            for (i, f) in s.fields.iter().enumerate() {
                let number = i + 1;
                if f.raw.is_empty() || (s.name == "MSH" && number <= 2) {
                    continue;
                }
                let def = dict.field(&s.name, number);
                let ty = def.map(|d| d.data_type.as_str()).unwrap_or("");
                let agg = self.fields.entry((s.name, number, 0)).or_default();
                agg.present += 1;
                let reps: Vec<&str> = f.raw.split(d.repetition).collect();
                agg.reps = agg.reps.max(reps.len());
                for rep in &reps {
                    let len = hl7::unescape(rep, &d).chars().count();
                    agg.longest = agg.longest.max(len);
                }
                let coded = matches!(ty, "ID" | "IS" | "CE" | "CWE" | "CNE")
                    && !(s.name == "OBX" && number == 5);
                if coded && !agg.many {
                    for rep in &reps {
                        let code = hl7::sub_value(rep, &d, None, Some(1), None);
                        if code.is_empty() {
                            agg.uncoded += 1;
                            continue;
                        }
                        let code = hl7::unescape(code, &d);
                        if let Some(n) = agg.values.get_mut(code.as_ref()) {
                            *n += 1;
                        } else {
                            agg.values.insert(code.into_owned(), 1);
                            agg.cap_values();
                        }
                    }
                } else if coded {
                    agg.uncoded += reps
                        .iter()
                        .filter(|r| hl7::sub_value(r, &d, None, Some(1), None).is_empty())
                        .count();
                }
                if matches!(ty, "TS" | "DTM") {
                    for rep in &reps {
                        let t = hl7::sub_value(rep, &d, None, Some(1), None);
                        if let Ok(ts) = hl7::datetime::Timestamp::parse(&hl7::unescape(t, &d))
                            && ts.has_time()
                        {
                            agg.timestamps += 1;
                            if ts.offset_minutes.is_none() {
                                agg.without_offset += 1;
                            }
                        }
                    }
                }
                // Components of composite values: presence and length.
                if dict.component_count(ty) > 1 && !(s.name == "OBX" && number == 5) {
                    let mut longest: FxHashMap<u32, usize> = FxHashMap::default();
                    for rep in &reps {
                        for (c, comp) in rep.split(d.component).enumerate() {
                            if comp.is_empty() || c >= hl7::path::MAX_COMPONENT_NUMBER as usize {
                                continue;
                            }
                            let len = hl7::unescape(comp, &d).chars().count();
                            let e = longest.entry(c as u32 + 1).or_default();
                            *e = (*e).max(len);
                        }
                    }
                    for (c, len) in longest {
                        let agg = self.fields.entry((s.name, number, c)).or_default();
                        agg.present += 1;
                        agg.longest = agg.longest.max(len);
                    }
                }
            }
        }
    }

    fn standard_findings(&mut self, findings: &[Finding]) {
        for f in findings {
            if f.severity != Severity::Error {
                continue;
            }
            let l = &f.location;
            if f.segment_only || f.code == finding::SEGMENT_SEQUENCE {
                *self.segment_breaks.entry(l.segment).or_default() += 1;
                continue;
            }
            if l.field_number == 0 {
                continue;
            }
            let agg = self
                .fields
                .entry((l.segment, l.field_number, 0))
                .or_default();
            if f.code == finding::REQUIRED_MISSING {
                agg.missing += 1;
            } else if f.reason.contains(profile::NO_OFFSET) {
                self.offset_findings += 1;
            } else {
                agg.type_breaks += 1;
                if agg.type_break_example.is_empty() {
                    agg.type_break_example = redact(&f.reason);
                }
            }
        }
    }
}

/// A reason with every quoted value replaced by `…`: evidence without values.
pub fn redact(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut inside = false;
    for c in reason.chars() {
        if c == '`' {
            if inside {
                out.push_str("…`");
            } else {
                out.push('`');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

fn field_key_text(p: &Path, segment_only: bool) -> String {
    if segment_only || p.field_number == 0 {
        p.segment.to_string()
    } else {
        match p.component_number {
            Some(c) => format!("{}-{}.{c}", p.segment.as_str(), p.field_number),
            None => format!("{}-{}", p.segment.as_str(), p.field_number),
        }
    }
}

/// Learns a profile from logs.
pub fn learn_logs(
    logs: Vec<Log>,
    opts: &LearnOptions,
    mut options: Options,
) -> std::io::Result<Learned> {
    let mut standard = Profile::blank("the standard".into(), opts.side, None, Vec::new());
    standard.timestamps_require_offset = true;
    let pool = super::pool(options.jobs)?;
    let mut total = Agg::default();
    let run = |batch: &mut Vec<LogMessage>, total: &mut Agg| {
        let part = pool.install(|| {
            use rayon::prelude::*;
            batch
                .par_iter()
                .fold(Agg::default, |mut a, m| {
                    a.add_message(m, &standard, opts);
                    a
                })
                .reduce(Agg::default, |mut a, b| {
                    a.merge(b);
                    a
                })
        });
        total.merge(part);
        batch.clear();
    };
    super::for_each_batch(logs, &mut options, &mut total, run)?;
    Ok(total.finish(opts))
}

/// `12,345`
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Agg {
    fn finish(self, opts: &LearnOptions) -> Learned {
        let dict = names::dictionary();
        let readable = self.messages - self.unreadable;
        let mut segments: Vec<SegmentFacts> = self.segments.values().cloned().collect();
        segments.sort_by_key(|s| s.first_seen);
        let seg_order: FxHashMap<SegName, usize> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (SegName::new(&s.id), i))
            .collect();
        let mut keys: Vec<&Key> = self.fields.keys().collect();
        keys.sort_by_key(|k| {
            (
                seg_order.get(&k.0).copied().unwrap_or(usize::MAX),
                k.0,
                k.1,
                k.2,
            )
        });
        let mut fields = Vec::new();
        for k in keys {
            let a = &self.fields[k];
            let of = self.segments.get(&k.0).map_or(0, |s| s.occurrences);
            let def = if k.2 == 0 {
                dict.field(&k.0, k.1)
            } else {
                dict.field(&k.0, k.1)
                    .and_then(|f| dict.component(&f.data_type, k.2))
            };
            let path = if k.2 == 0 {
                format!("{}-{}", k.0.as_str(), k.1)
            } else {
                format!("{}-{}.{}", k.0.as_str(), k.1, k.2)
            };
            let coded_set = !a.many && a.uncoded == 0 && !a.values.is_empty();
            fields.push(FieldFacts {
                path,
                name: def.map(|d| d.name.clone()).unwrap_or_default(),
                present: a.present,
                of,
                longest: a.longest,
                max_repetitions: a.reps,
                standard_type: def.map(|d| d.data_type.clone()).unwrap_or_default(),
                type_breaks: a.type_breaks,
                type_break_example: a.type_break_example.clone(),
                values: coded_set.then(|| a.values.iter().map(|(k, v)| (k.clone(), *v)).collect()),
                timestamps: a.timestamps,
                without_offset: a.without_offset,
            });
        }
        let mut drift: Vec<Drift> = self
            .drift
            .iter()
            .map(|((path, code, severity, reason), n)| Drift {
                path: path.clone(),
                code: *code,
                severity: *severity,
                reason: reason.clone(),
                count: *n,
                of: readable,
            })
            .collect();
        if let Some(declared) = &opts.against {
            drift.extend(usage_drift(declared, &fields, readable));
        }
        drift.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        let mut learned = Learned {
            messages: self.messages,
            unreadable: self.unreadable,
            message_types: self.types.clone(),
            versions: self.versions.clone(),
            processing_ids: self.processing.clone(),
            segments,
            fields,
            drift,
            log_problems: self.tally.problems.clone(),
            profile: String::new(),
        };
        learned.profile = write_profile(&learned, &self, opts);
        learned
    }
}

/// Fields a declared profile calls optional that the traffic nearly always sends.
fn usage_drift(declared: &Profile, fields: &[FieldFacts], messages: usize) -> Vec<Drift> {
    let mut out = Vec::new();
    for spec in &declared.fields {
        if !matches!(spec.usage, Usage::O | Usage::RE | Usage::X) {
            continue;
        }
        let path = field_key_text(&spec.path, false);
        let Some(f) = fields.iter().find(|f| f.path == path) else {
            continue;
        };
        if f.of == 0 {
            continue;
        }
        let share = f.present * 100 / f.of;
        let typed = if f.type_breaks > 0 {
            format!(
                "; {} of them break its type ({})",
                thousands(f.type_breaks),
                f.type_break_example
            )
        } else {
            String::new()
        };
        if spec.usage == Usage::X || share >= 95 {
            out.push(Drift {
                path: path.clone(),
                code: if spec.usage == Usage::X {
                    finding::SEGMENT_SEQUENCE
                } else {
                    0
                },
                severity: Severity::Warning,
                reason: format!(
                    "{path} declared {:?} but sent in {share}% of {} ({} of {}){typed}",
                    spec.usage,
                    spec.path.segment.as_str(),
                    thousands(f.present),
                    thousands(f.of)
                ),
                count: f.present,
                of: messages,
            });
        }
    }
    out
}

fn write_profile(l: &Learned, agg: &Agg, opts: &LearnOptions) -> String {
    let segment_breaks = &agg.segment_breaks;
    let aggs = &agg.fields;
    let readable = l.messages - l.unreadable;
    let n = thousands;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Learned by Baton {} from {} messages ({} unreadable).\n# Every fact carries its evidence; values of patient fields are not shown.\n# Components carry usage and length (type ST): their values are checked through their field's type.\n",
        crate::VERSION,
        n(l.messages),
        n(l.unreadable)
    );
    let _ = writeln!(o, "[profile]");
    let _ = writeln!(o, "name = {}", quote(&opts.name));
    let _ = writeln!(o, "side = \"{}\"", opts.side.as_str());
    let versions: Vec<_> = l.versions.iter().filter(|(v, _)| !v.is_empty()).collect();
    let counts = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {}", n(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let version_ok = versions.len() == 1
        && versions[0].1 == &readable
        && crate::profile::HL7_VERSIONS.contains(&versions[0].0.as_str());
    if version_ok {
        let _ = writeln!(
            o,
            "hl7_version = {}   # MSH-12: {}",
            quote(versions[0].0),
            counts(&l.versions)
        );
    } else {
        let _ = writeln!(
            o,
            "# hl7_version not set: MSH-12 varies ({})",
            counts(&l.versions)
        );
    }
    let types: Vec<String> = l
        .message_types
        .keys()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    let all_typed = !l.message_types.contains_key("");
    if all_typed && !types.is_empty() {
        let _ = writeln!(
            o,
            "message_types = [{}]   # MSH-9: {}",
            types
                .iter()
                .map(|t| quote(t))
                .collect::<Vec<_>>()
                .join(", "),
            counts(&l.message_types)
        );
    }
    let pids: Vec<String> = l
        .processing_ids
        .keys()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    if !pids.is_empty() && !l.processing_ids.contains_key("") {
        let _ = writeln!(
            o,
            "processing_ids = [{}]   # MSH-11: {}",
            pids.iter().map(|t| quote(t)).collect::<Vec<_>>().join(", "),
            counts(&l.processing_ids)
        );
    }
    let _ = writeln!(
        o,
        "unknown_segments = \"reject\"   # every segment the traffic carried is listed below"
    );
    let ts_total: usize = l.fields.iter().map(|f| f.timestamps).sum();
    let ts_missing: usize = l.fields.iter().map(|f| f.without_offset).sum();
    let offsets_always = ts_total > 0 && ts_missing == 0 && agg.offset_findings == 0;
    let _ = writeln!(
        o,
        "timestamps_require_offset = {offsets_always}   # {} of {} timestamps with a time carry a UTC offset",
        n(ts_total - ts_missing),
        n(ts_total)
    );
    o.push('\n');
    for s in &l.segments {
        let name = SegName::new(&s.id);
        let always = s.messages == readable;
        let broken = segment_breaks.get(&name).copied().unwrap_or(0);
        let _ = writeln!(
            o,
            "[[segment]]   # in {} of {} messages; {}–{} per message{}",
            n(s.messages),
            n(readable),
            s.min,
            s.max,
            if broken > 0 {
                format!("; the standard's structure disagrees {} times", n(broken))
            } else {
                String::new()
            }
        );
        let _ = writeln!(o, "id = \"{}\"", s.id);
        let _ = writeln!(o, "usage = \"{}\"", if always { "R" } else { "O" });
        if always {
            let _ = writeln!(o, "min = {}", s.min.max(1));
        } else {
            let _ = writeln!(o, "min = 0");
        }
        let _ = writeln!(o, "max = {}\n", s.max.max(1));
    }
    let masker = crate::report::Masker::new(
        &crate::report::DEFAULT_PHI
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        &[],
        "",
    );
    for f in &l.fields {
        let Ok(path) = f.path.parse::<Path>() else {
            continue;
        };
        let component = path.component_number.is_some();
        let seg_occ = f.of;
        let always = f.present == seg_occ && seg_occ > 0;
        let agg = aggs.get(&(
            path.segment,
            path.field_number,
            path.component_number.unwrap_or(0),
        ));
        let missing = agg.map_or(0, |a| a.missing);
        if f.present == 0 && missing == 0 {
            continue;
        }
        if let Err(e) = names::dictionary().check_path(&path) {
            let _ = writeln!(
                o,
                "# {} not listed ({e}); present in {} of {} {}\n",
                f.path,
                n(f.present),
                n(seg_occ),
                path.segment.as_str()
            );
            continue;
        }
        if component
            && names::dictionary()
                .field(&path.segment, path.field_number)
                .is_none()
        {
            // Components of a field the standard does not define (Z-segments): the field says enough.
            continue;
        }
        let mut evidence = vec![format!(
            "present in {} of {} {}",
            n(f.present),
            n(seg_occ),
            path.segment.as_str()
        )];
        let _ = writeln!(o, "[[field]]   # {}", f.name);
        let _ = writeln!(o, "path = \"{}\"", f.path);
        // A component of a repeating field may be absent from one repetition.
        let required = always && !(component && agg_reps(aggs, &path) > 1);
        let _ = writeln!(o, "usage = \"{}\"", if required { "R" } else { "RE" });
        if missing > 0 {
            evidence.push(format!(
                "the standard requires it; absent {} times",
                n(missing)
            ));
        }
        if f.present > 0 {
            let _ = writeln!(o, "max_length = {}", f.longest.max(1));
            evidence.push(format!("longest {}", n(f.longest)));
        }
        let repeatable = !component;
        if repeatable && f.present > 0 {
            let _ = writeln!(o, "max_repetitions = {}", f.max_repetitions.max(1));
            evidence.push(format!("up to {} repetitions", f.max_repetitions.max(1)));
        }
        if component {
            // Usage and length only: the value is checked through its field's type.
            let _ = writeln!(o, "type = \"ST\"");
        } else if f.type_breaks > 0 {
            let _ = writeln!(o, "type = \"ST\"");
            evidence.push(format!(
                "{} values break the standard's {} ({}): read as ST",
                n(f.type_breaks),
                if f.standard_type.is_empty() {
                    "type"
                } else {
                    &f.standard_type
                },
                f.type_break_example
            ));
        }
        if let Some(values) = &f.values
            && f.type_breaks == 0
            && !masker.is_phi(&path)
            && !component
        {
            let list: Vec<String> = values.keys().map(|v| quote(v)).collect();
            let _ = writeln!(o, "values = [{}]", list.join(", "));
            evidence.push(format!(
                "{} distinct values: {}",
                values.len(),
                values
                    .iter()
                    .map(|(k, v)| format!("{k} {}", n(*v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if f.timestamps > 0 {
            evidence.push(format!(
                "{} of {} timestamps carry an offset",
                n(f.timestamps - f.without_offset),
                n(f.timestamps)
            ));
            if !offsets_always && f.without_offset == 0 && !component {
                let _ = writeln!(o, "require_offset = true");
            }
        }
        let note = evidence.join("; ");
        let _ = writeln!(o, "note = {}\n", quote(&note));
    }
    o
}

fn agg_reps(aggs: &FxHashMap<Key, FieldAgg>, path: &Path) -> usize {
    aggs.get(&(path.segment, path.field_number, 0))
        .map_or(1, |a| a.reps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_quoted_values() {
        assert_eq!(
            redact("PID-8: `X` not in `HL70001`"),
            "PID-8: `…` not in `…`"
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(20000), "20,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
