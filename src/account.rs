//! The account of every populated field after a replay: one row per field
//! populated in the source, one per field a rule filled that was empty in
//! the source, and one per finding on a field in neither message. Each
//! finding belongs to exactly one row; each row cites every rule that
//! shaped it. Linear in the message: every lookup goes through an index
//! built once.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::finding::{Finding, Severity};
use crate::hl7::{Message, Path, SegName, names};
use crate::mapping::{self, Action, Effect};
use crate::profile::CheckResult;
use crate::replay::{FieldResult, Outcome};

/// A field of one segment occurrence: segment, occurrence, field number.
type FieldKey = (SegName, u32, usize);

fn field_key(p: &Path) -> FieldKey {
    (p.segment, p.segment_number.unwrap_or(1), p.field_number)
}

/// Where each segment occurrence stands in a message.
struct Places(FxHashMap<(SegName, u32), usize>);

impl Places {
    fn of(m: &Message) -> Places {
        Places(m.positions())
    }

    /// The raw field at a field key, shared, with its segment's index;
    /// `None` when absent or empty.
    fn field(&self, m: &Message, k: FieldKey) -> Option<(usize, Arc<str>)> {
        let i = *self.0.get(&(k.0, k.1))?;
        let f = m.segments[i].fields.get(k.2.checked_sub(1)?)?;
        (!f.raw.is_empty()).then(|| (i, f.raw.clone()))
    }
}

/// Findings by the field they are about, and whole-segment findings by segment occurrence.
#[derive(Default)]
struct Findings<'a> {
    by_field: FxHashMap<FieldKey, SmallVec<[&'a Finding; 2]>>,
    by_segment: FxHashMap<(SegName, u32), SmallVec<[&'a Finding; 1]>>,
}

impl<'a> Findings<'a> {
    fn add(&mut self, list: &'a [Finding]) {
        for f in list {
            if f.segment_only {
                let k = (f.location.segment, f.location.segment_number.unwrap_or(1));
                self.by_segment.entry(k).or_default().push(f);
            } else {
                self.by_field
                    .entry(field_key(&f.location))
                    .or_default()
                    .push(f);
            }
        }
    }

    /// Takes the findings on a field (each is handed out once), plus the
    /// whole-segment findings of its segment occurrence (shared by its fields).
    fn take(&mut self, k: FieldKey, out: &mut Vec<Finding>) {
        // Most fields of most messages have no finding: no lookup then.
        if !self.by_field.is_empty()
            && let Some(list) = self.by_field.remove(&k)
        {
            out.extend(list.into_iter().cloned());
        }
        if !self.by_segment.is_empty()
            && let Some(list) = self.by_segment.get(&(k.0, k.1))
        {
            out.extend(list.iter().map(|f| (*f).clone()));
        }
    }
}

fn dedup_rules<'e>(effects: impl Iterator<Item = &'e Effect>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in effects {
        if !seen.iter().any(|r| **r == *e.rule) {
            seen.push(e.rule.to_string());
        }
    }
    seen
}

/// The outcome of a row that carries an error: rejected, citing the rule
/// behind the deciding finding or, else, every rule that shaped the row.
fn rejected(f: &Finding, findings: &[Finding], mut rules: Vec<String>) -> Outcome {
    // A mapping rule that raised a finding shaped the row too (a translate
    // that found no code writes nothing).
    for x in findings
        .iter()
        .filter(|x| x.side == crate::finding::Side::Mapping)
    {
        if let Some(r) = &x.rule
            && !rules.contains(r)
        {
            rules.push(r.clone());
        }
    }
    let rule = f.rule.clone().or_else(|| rules.first().cloned());
    Outcome::Rejected {
        code: f.code,
        severity: f.severity,
        location: f.location_text(),
        reason: f.reason.clone(),
        side: f.side,
        rule,
        rules,
    }
}

/// The most serious error among a row's findings (errors decide; warnings
/// ride along on the row without changing its outcome).
fn worst_error(findings: &[Finding]) -> Option<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .max_by_key(|f| std::cmp::Reverse(f.side))
}

/// Rows for the findings on fields in neither message (a required field
/// missing): one per field, its outcome decided by its worst error.
fn missing_rows<'a>(
    source_findings: Findings<'a>,
    target_findings: Findings<'a>,
    out: &mut Vec<FieldResult>,
) {
    let mut rest: Vec<(FieldKey, SmallVec<[&Finding; 2]>)> = source_findings
        .by_field
        .into_iter()
        .chain(target_findings.by_field)
        .collect();
    rest.sort_by_key(|(k, list)| (list.first().map(|f| f.side), *k));
    let mut missing: FxHashMap<FieldKey, usize> = FxHashMap::default();
    for (k, list) in rest {
        let index = *missing.entry(k).or_insert_with(|| {
            let p = Path::field_of(k.0, k.1 as usize, k.2);
            out.push(FieldResult {
                name: names::name_of(&p),
                source: None,
                mapped: None,
                outcome: Outcome::Accepted,
                effects: Vec::new(),
                findings: Vec::new(),
                source_range: None,
                expected: None,
                differs_from_expected: false,
                path: p,
            });
            out.len() - 1
        });
        let row = &mut out[index];
        row.findings.extend(list.into_iter().cloned());
        if let Some(f) = worst_error(&row.findings) {
            row.outcome = rejected(f, &row.findings, Vec::new());
        }
    }
}

/// Where a populated source field went.
struct Fate {
    /// Field-level destinations in the mapped message.
    dest: Option<Path>,
    /// The index of the destination's segment in the mapped message.
    at: Option<usize>,
    mapped: Option<Arc<str>>,
}

/// Field names, the standard's fields of the last segment id kept: rows
/// come segment by segment, and most are plain fields.
#[derive(Default)]
struct Names {
    last: Option<(SegName, &'static [Option<names::ElementDef>])>,
}

impl Names {
    fn of(&mut self, path: &Path) -> std::borrow::Cow<'static, str> {
        if path.component_number.is_some() {
            return names::name_of(path);
        }
        let fields = match self.last {
            Some((seg, fields)) if seg == path.segment => fields,
            _ => {
                let fields = names::dictionary().segment_fields(path.segment);
                self.last = Some((path.segment, fields));
                fields
            }
        };
        match path.field_number.checked_sub(1).and_then(|i| fields.get(i)) {
            Some(Some(def)) => std::borrow::Cow::Borrowed(def.name.as_str()),
            _ => names::name_of(path),
        }
    }
}

/// Effect indexes by segment (its index in the message) and field number.
struct EffectIndex(Vec<SmallVec<[(usize, usize); 1]>>);

impl EffectIndex {
    /// Effects by the fields they read (per source segment) and by the
    /// field they write (per mapped segment): most segments have none, and
    /// those rows cost no lookup.
    fn of(source: &Message, mapped: &mapping::Mapped, view: &View) -> (EffectIndex, EffectIndex) {
        let source_places = source.positions();
        let mut by_source = EffectIndex::new(source.segments.len());
        let mut by_target = EffectIndex::new(mapped.message.segments.len());
        for (i, e) in mapped.effects.iter().enumerate() {
            for p in &e.sources {
                let at = (p.segment, p.segment_number.unwrap_or(1));
                if let Some(&si) = source_places.get(&at) {
                    by_source.add(si, p.field_number, i);
                }
            }
            // A removal's target is the source field it removed: looked up
            // only where the mapped message has the same segment occurrence.
            let t = &e.target;
            let at = (t.segment, t.segment_number.unwrap_or(1));
            if let Some(&ti) = view.target_places.0.get(&at) {
                by_target.add(ti, t.field_number, i);
            }
        }
        (by_source, by_target)
    }

    fn new(segments: usize) -> EffectIndex {
        EffectIndex(vec![SmallVec::new(); segments])
    }

    /// Records that effect `i` touches a field, once per field.
    fn add(&mut self, segment: usize, field: usize, i: usize) {
        let l = &mut self.0[segment];
        if !l.contains(&(field, i)) {
            l.push((field, i));
        }
    }

    /// The effects on a field, in effect order.
    fn get(&self, segment: usize, field: usize) -> SmallVec<[usize; 2]> {
        match self.0.get(segment) {
            Some(l) if !l.is_empty() => l
                .iter()
                .filter(|(f, _)| *f == field)
                .map(|(_, i)| *i)
                .collect(),
            _ => SmallVec::new(),
        }
    }
}

/// Fields of the mapped message, by segment index and field number, that a
/// source row reports as where its value went.
struct Claimed {
    /// Where each segment's fields start in `bits`.
    start: Vec<usize>,
    bits: Vec<bool>,
}

impl Claimed {
    fn new(m: &Message) -> Claimed {
        let mut start = Vec::with_capacity(m.segments.len());
        let mut n = 0;
        for s in &m.segments {
            start.push(n);
            n += s.fields.len();
        }
        Claimed {
            start,
            bits: vec![false; n],
        }
    }

    fn slot(&self, segment: usize, field: usize) -> Option<usize> {
        let at = self.start.get(segment)? + field.checked_sub(1)?;
        let end = self
            .start
            .get(segment + 1)
            .copied()
            .unwrap_or(self.bits.len());
        (at < end).then_some(at)
    }

    fn set(&mut self, segment: usize, field: usize) {
        if let Some(i) = self.slot(segment, field) {
            self.bits[i] = true;
        }
    }

    fn get(&self, segment: usize, field: usize) -> bool {
        self.slot(segment, field).is_some_and(|i| self.bits[i])
    }
}

/// The account. See the module comment.
pub fn account(
    source: &Message,
    mapped: &mapping::Mapped,
    sender: &CheckResult,
    receiver: &CheckResult,
) -> Vec<FieldResult> {
    let target = &mapped.message;
    let view = View::of(source, mapped);
    let mut source_findings = Findings::default();
    source_findings.add(&sender.findings);
    source_findings.add(&mapped.findings);
    let mut target_findings = Findings::default();
    target_findings.add(&receiver.findings);
    let ignored: FxHashMap<FieldKey, &str> = receiver
        .ignored
        .iter()
        .map(|i| (field_key(&i.path), i.reason.as_str()))
        .collect();

    let (by_source, by_target) = EffectIndex::of(source, mapped, &view);

    let source_fields = source.populated_fields();
    let mut names = Names::default();
    let mut out = Vec::with_capacity(source_fields.len() + 8);
    // Mapped fields that a source row reports as where its value went.
    let mut claimed = Claimed::new(target);
    for sf in &source_fields {
        let read = by_source.get(sf.segment_index, sf.path.field_number);
        let fate = fate_of(&view, sf, mapped, &read, &by_target);
        if let (Some(ti), Some(d)) = (fate.at, &fate.dest) {
            claimed.set(ti, d.field_number);
        }
        let path = sf.path.clone();
        let k = field_key(&path);
        let mut findings = Vec::new();
        source_findings.take(k, &mut findings);
        let mut effect_ids: Vec<usize> = read.to_vec();
        if let Some(d) = &fate.dest {
            target_findings.take(field_key(d), &mut findings);
            if let Some(ti) = fate.at {
                for i in by_target.get(ti, d.field_number) {
                    if !effect_ids.contains(&i) {
                        effect_ids.push(i);
                    }
                }
            }
        }
        effect_ids.sort_unstable();
        let effects: Vec<Effect> = effect_ids
            .iter()
            .map(|&i| mapped.effects[i].clone())
            .collect();
        if effects
            .iter()
            .any(|e| e.action.removes() && e.target.repetition_number.is_some())
        {
            let d = source.delimiters.repetition;
            out.extend(repetition_rows(sf, &fate, effects, findings, &ignored, d));
            continue;
        }
        let outcome = source_outcome(sf.raw, &path, &fate, &effects, &findings, &ignored);
        out.push(FieldResult {
            name: names.of(&path),
            source: Some(sf.shared.clone()),
            mapped: fate.mapped,
            outcome,
            effects,
            findings,
            source_range: sf.range.clone(),
            expected: None,
            differs_from_expected: false,
            path,
        });
    }

    // Fields a rule filled that were empty in the source: a row each. Most
    // mapped fields are a source row's: skipped before a path is made.
    let populated = target.segments.iter().enumerate().flat_map(|(ti, seg)| {
        seg.fields
            .iter()
            .zip(1..)
            .filter(|(f, _)| !f.raw.is_empty())
            .map(move |(f, n)| (ti, n, f))
    });
    for (ti, n, field) in populated {
        if claimed.get(ti, n) || view.held_in_source_at(ti, n) {
            continue;
        }
        let mf = crate::hl7::FieldRef {
            path: Path::field_of(
                target.segments[ti].name,
                view.target_occurrence[ti] as usize,
                n,
            ),
            raw: &field.raw,
            shared: &field.raw,
            range: field.range.clone(),
            segment_index: ti,
        };
        let k = field_key(&mf.path);
        let effects: Vec<Effect> = by_target
            .get(ti, n)
            .into_iter()
            .map(|i| mapped.effects[i].clone())
            .collect();
        let mut findings = Vec::new();
        // The sender's findings on the same (empty) source field belong here
        // too: a rule filled what the sender left out.
        if !view.source_moved_at(ti, k.1) {
            source_findings.take(k, &mut findings);
        }
        target_findings.take(k, &mut findings);
        let rules = dedup_rules(effects.iter());
        let outcome = if let Some(f) = worst_error(&findings) {
            rejected(f, &findings, rules)
        } else if let Some(reason) = ignored.get(&k) {
            Outcome::Dropped {
                rule: None,
                reason: reason.to_string(),
            }
        } else if rules.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::Transformed {
                rule: rules[0].clone(),
                rules,
                from: String::new(),
                to: mf.raw.to_string(),
                target: mf.path.clone(),
            }
        };
        out.push(FieldResult {
            name: names.of(&mf.path),
            source: None,
            mapped: Some(mf.shared.clone()),
            outcome,
            effects,
            findings,
            source_range: None,
            expected: None,
            differs_from_expected: false,
            path: mf.path.clone(),
        });
    }

    missing_rows(source_findings, target_findings, &mut out);
    out
}

/// Where a source field's value ended up: in place (in the segment that
/// started as its source segment), or where the rules that read it wrote it
/// (a move, a split, a join, or a copy to a field that was empty in the
/// source), or nowhere.
fn fate_of(
    view: &View,
    sf: &crate::hl7::FieldRef,
    mapped: &mapping::Mapped,
    read: &[usize],
    by_target: &EffectIndex,
) -> Fate {
    let target = &mapped.message;
    let n = sf.path.field_number;
    if let Some(ti) = view.source_to_target[sf.segment_index]
        && let Some(f) = target.segments[ti].fields.get(n - 1)
        && !f.raw.is_empty()
    {
        return Fate {
            dest: Some(Path::field_of(
                target.segments[ti].name,
                view.target_occurrence[ti] as usize,
                n,
            )),
            at: Some(ti),
            mapped: Some(f.raw.clone()),
        };
    }
    for &i in read {
        let e = &mapped.effects[i];
        if e.action.removes() {
            continue;
        }
        let t = field_key(&e.target);
        // A field that already held a value in the source is its own row.
        if view.held_in_source(t) {
            continue;
        }
        if let Some((ti, v)) = view.target_places.field(target, t) {
            return Fate {
                dest: Some(e.target.to_field()),
                at: Some(ti),
                mapped: Some(v),
            };
        }
    }
    // A segment a rule created at the same place (explicit mode, a set into
    // a segment the rules rebuilt): the value there is this field's fate.
    // Not when another source field's value was carried there.
    let k = field_key(&sf.path);
    if let Some(&ti) = view.target_places.0.get(&(k.0, k.1))
        && view.origin.get(ti).is_some_and(Option::is_none)
    {
        let carried_from_elsewhere = by_target.get(ti, k.2).iter().any(|&i| {
            let e = &mapped.effects[i];
            !e.sources.is_empty() && !e.sources.iter().any(|s| s.same_field(&sf.path))
        });
        if !carried_from_elsewhere && let Some((ti, v)) = view.target_places.field(target, k) {
            return Fate {
                dest: Some(sf.path.clone()),
                at: Some(ti),
                mapped: Some(v),
            };
        }
    }
    Fate {
        dest: None,
        at: None,
        mapped: None,
    }
}

/// A row per repetition of a field whose repetitions rules treated
/// differently (one dropped, another kept): the removed ones are dropped
/// with their rule and reason; the kept ones are matched, in order, with
/// the repetitions left in the mapped field.
fn repetition_rows(
    sf: &crate::hl7::FieldRef,
    fate: &Fate,
    effects: Vec<Effect>,
    mut findings: Vec<Finding>,
    ignored: &FxHashMap<FieldKey, &str>,
    sep: char,
) -> Vec<FieldResult> {
    let removed = |i: usize| {
        effects
            .iter()
            .find(|e| e.action.removes() && e.target.repetition_number == Some(i as u32))
    };
    let mapped_reps: Vec<&str> = fate
        .mapped
        .as_deref()
        .map(|m| m.split(sep).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut kept = 0;
    for (n, rep) in sf.raw.split(sep).enumerate() {
        let i = n + 1;
        if rep.is_empty() {
            continue;
        }
        let path = Path {
            repetition_number: Some(i as u32),
            ..sf.path.clone()
        };
        if let Some(e) = removed(i) {
            rows.push(FieldResult {
                name: names::name_of(&sf.path),
                source: Some(rep.into()),
                mapped: None,
                outcome: Outcome::Dropped {
                    rule: Some(e.rule.to_string()),
                    reason: e
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("dropped by rule {}", e.rule)),
                },
                effects: vec![e.clone()],
                findings: Vec::new(),
                source_range: None,
                expected: None,
                differs_from_expected: false,
                path,
            });
            continue;
        }
        kept += 1;
        // Findings about this repetition of the mapped field, or (on the first
        // kept one) about the whole field.
        let mine: Vec<Finding> = {
            let (a, b): (Vec<Finding>, Vec<Finding>) =
                std::mem::take(&mut findings).into_iter().partition(|f| {
                    f.location.repetition_number == Some(kept as u32)
                        || (kept == 1 && f.location.repetition_number.is_none())
                });
            findings = b;
            a
        };
        let rep_mapped = mapped_reps.get(kept - 1).copied();
        let rep_fate = Fate {
            dest: fate.dest.clone(),
            at: fate.at,
            mapped: rep_mapped.map(Arc::from),
        };
        let others: Vec<Effect> = effects
            .iter()
            .filter(|e| !e.action.removes())
            .cloned()
            .collect();
        let outcome = source_outcome(rep, &sf.path, &rep_fate, &others, &mine, ignored);
        rows.push(FieldResult {
            name: names::name_of(&sf.path),
            source: Some(rep.into()),
            mapped: rep_fate.mapped,
            outcome,
            effects: others,
            findings: mine,
            source_range: None,
            expected: None,
            differs_from_expected: false,
            path,
        });
    }
    // Findings left (about repetitions no longer there) stay visible on the first row.
    if let Some(first) = rows.first_mut() {
        first.findings.extend(findings);
    }
    rows
}

/// How the mapped message's segments relate to the source's.
struct View<'a> {
    source: &'a Message,
    target_places: Places,
    /// For each source segment, where it stands in the mapped message.
    source_to_target: Vec<Option<usize>>,
    /// For each mapped segment, its occurrence among segments of its name.
    target_occurrence: Vec<u32>,
    /// The same for each source segment.
    source_occurrence: Vec<u32>,
    /// Each mapped segment's name.
    target_names: Vec<SegName>,
    origin: &'a [Option<usize>],
}

impl<'a> View<'a> {
    fn of(source: &'a Message, mapped: &'a mapping::Mapped) -> View<'a> {
        let target = &mapped.message;
        let mut source_to_target = vec![None; source.segments.len()];
        for (ti, o) in mapped.origin.iter().enumerate() {
            if let Some(si) = o
                && let Some(slot) = source_to_target.get_mut(*si)
            {
                *slot = Some(ti);
            }
        }
        View {
            source,
            source_occurrence: source.occurrences(),
            target_places: Places::of(target),
            source_to_target,
            target_occurrence: target.occurrences(),
            target_names: target.segments.iter().map(|s| s.name).collect(),
            origin: &mapped.origin,
        }
    }

    /// Whether the mapped segment at index `ti` (occurrence `occ` of its
    /// name) is not the source's segment of the same occurrence (created,
    /// or shifted by created or removed ones).
    fn source_moved_at(&self, ti: usize, occ: u32) -> bool {
        let Some(Some(si)) = self.origin.get(ti) else {
            return true;
        };
        let name = self.target_names.get(ti).copied();
        self.source_occurrence[*si] != occ || Some(self.source.segments[*si].name) != name
    }

    /// Whether the mapped field at a key stands in a segment that came from
    /// the source, where the same field was populated.
    fn held_in_source(&self, k: FieldKey) -> bool {
        self.target_places
            .0
            .get(&(k.0, k.1))
            .is_some_and(|&ti| self.held_in_source_at(ti, k.2))
    }

    /// [`View::held_in_source`] for field `n` of the mapped segment at index `ti`.
    fn held_in_source_at(&self, ti: usize, n: usize) -> bool {
        let Some(Some(si)) = self.origin.get(ti) else {
            return false;
        };
        self.source.segments[*si]
            .fields
            .get(n.wrapping_sub(1))
            .is_some_and(|f| !f.raw.is_empty())
    }
}

fn source_outcome(
    raw: &str,
    path: &Path,
    fate: &Fate,
    effects: &[Effect],
    findings: &[Finding],
    ignored: &FxHashMap<FieldKey, &str>,
) -> Outcome {
    let rules = dedup_rules(effects.iter());
    if let Some(f) = worst_error(findings) {
        return rejected(f, findings, rules);
    }
    let Some(dest) = &fate.dest else {
        let drop = effects
            .iter()
            .find(|e| e.action.removes() && e.sources.iter().any(|s| s.same_field(path)));
        if let Some(d) = drop {
            return Outcome::Dropped {
                rule: Some(d.rule.to_string()),
                reason: d
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("dropped by rule {}", d.rule)),
            };
        }
        let moved = effects.iter().find(|e| {
            e.sources.iter().any(|s| s.same_field(path))
                && matches!(e.action, Action::Move | Action::Split | Action::Join)
        });
        return match moved {
            Some(e) => Outcome::Dropped {
                rule: Some(e.rule.to_string()),
                reason: format!(
                    "moved away by rule {} and not present in the mapped message",
                    e.rule
                ),
            },
            None => Outcome::Dropped {
                rule: None,
                reason:
                    "no rule carries this field to the receiver; it is not in the mapped message"
                        .to_string(),
            },
        };
    };
    if let Some(reason) = ignored.get(&field_key(dest)) {
        return Outcome::Dropped {
            rule: None,
            reason: reason.to_string(),
        };
    }
    let to = fate.mapped.as_deref().unwrap_or_default();
    if to != raw || !dest.same_field(path) {
        return Outcome::Transformed {
            rule: rules.first().cloned().unwrap_or_default(),
            rules,
            from: raw.to_string(),
            to: to.to_string(),
            target: dest.clone(),
        };
    }
    Outcome::Accepted
}
