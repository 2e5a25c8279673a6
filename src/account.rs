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
use crate::hl7::{Message, Path, Positions, SegName, names};
use crate::mapping::{self, Action, Effect};
use crate::profile::CheckResult;
use crate::replay::{FieldResult, Outcome};
use crate::scenario::OutcomeKind;

/// A field of one segment occurrence: segment, occurrence, field number.
type FieldKey = (SegName, u32, usize);

fn field_key(p: &Path) -> FieldKey {
    (p.segment, p.segment_number.unwrap_or(1), p.field_number)
}

/// Where each segment occurrence stands in a message.
struct Places(Positions);

impl Places {
    fn of(m: &Message) -> Places {
        Places(m.positions())
    }

    /// The raw field at a field key, shared, with its segment's index;
    /// `None` when absent or empty.
    fn field<'m>(&self, m: &'m Message, k: FieldKey) -> Option<(usize, &'m Arc<str>)> {
        let i = self.0.get(k.0, k.1)?;
        let f = m.segments[i].fields.get(k.2.checked_sub(1)?)?;
        (!f.raw.is_empty()).then_some((i, &f.raw))
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
    #[inline]
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

/// The index of the most serious error among a row's findings (errors
/// decide; warnings ride along on the row without changing its outcome).
fn worst_error_at(findings: &[Finding]) -> Option<usize> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.severity == Severity::Error)
        .max_by_key(|(_, f)| std::cmp::Reverse(f.side))
        .map(|(i, _)| i)
}

/// Rows for the findings on fields in neither message (a required field
/// missing): one per field, its outcome decided by its worst error.
fn missing_rows<'a>(
    source_findings: Findings<'a>,
    target_findings: Findings<'a>,
    sink: &mut impl FnMut(Row<'_>),
) {
    let mut rest: Vec<(FieldKey, SmallVec<[&Finding; 2]>)> = source_findings
        .by_field
        .into_iter()
        .chain(target_findings.by_field)
        .collect();
    if rest.is_empty() {
        return;
    }
    rest.sort_by_key(|(k, list)| (list.first().map(|f| f.side), *k));
    let mut out: Vec<FieldResult> = Vec::new();
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
        if let Some(i) = worst_error_at(&row.findings) {
            row.outcome = rejected(&row.findings[i], &row.findings, Vec::new());
        }
    }
    for r in out {
        sink(Row::Built(r));
    }
}

/// Where a populated source field went.
struct Fate<'m> {
    /// Field-level destinations in the mapped message.
    dest: Option<Path>,
    /// The index of the destination's segment in the mapped message.
    at: Option<usize>,
    mapped: Option<&'m Arc<str>>,
}

/// What decided a row's outcome, held by reference: the outcome's texts
/// (rule names, old and new values, reasons) are written only when a
/// whole row is asked for ([`Row::into_result`]), not when rows are counted.
enum Decision<'a> {
    Accepted,
    /// The row's worst error: its index among the row's findings.
    Rejected(usize),
    Dropped {
        rule: Option<&'a str>,
        reason: DropReason<'a>,
    },
    Transformed {
        from: &'a str,
        to: &'a str,
        target: Path,
    },
}

/// Why a row was dropped.
enum DropReason<'a> {
    /// The reason given (by the rule, or by the receiver that ignores it).
    Given(&'a str),
    /// A removal with no reason given.
    ByRule,
    /// Moved by a rule, and not in the mapped message.
    MovedAway,
    /// No rule carries the field and it is not in the mapped message.
    NoRule,
}

impl Decision<'_> {
    fn kind(&self) -> OutcomeKind {
        match self {
            Decision::Accepted => OutcomeKind::Accepted,
            Decision::Rejected(_) => OutcomeKind::Rejected,
            Decision::Dropped { .. } => OutcomeKind::Dropped,
            Decision::Transformed { .. } => OutcomeKind::Transformed,
        }
    }

    fn into_outcome(self, findings: &[Finding], effects: &[&Effect]) -> Outcome {
        let rules = || dedup_rules(effects.iter().copied());
        match self {
            Decision::Accepted => Outcome::Accepted,
            Decision::Rejected(i) => rejected(&findings[i], findings, rules()),
            Decision::Dropped { rule, reason } => Outcome::Dropped {
                reason: match reason {
                    DropReason::Given(r) => r.to_string(),
                    DropReason::ByRule => format!("dropped by rule {}", rule.unwrap_or_default()),
                    DropReason::MovedAway => format!(
                        "moved away by rule {} and not present in the mapped message",
                        rule.unwrap_or_default()
                    ),
                    DropReason::NoRule => {
                        "no rule carries this field to the receiver; it is not in the mapped message"
                            .to_string()
                    }
                },
                rule: rule.map(str::to_string),
            },
            Decision::Transformed { from, to, target } => {
                let rules = rules();
                Outcome::Transformed {
                    rule: rules.first().cloned().unwrap_or_default(),
                    rules,
                    from: from.to_string(),
                    to: to.to_string(),
                    target,
                }
            }
        }
    }
}

/// A row of the account as it is decided, its values and effects held by
/// reference: counted as it is, or written out as a [`FieldResult`].
pub struct Draft<'a> {
    path: Path,
    source: Option<(&'a Arc<str>, Option<std::ops::Range<usize>>)>,
    mapped: Option<&'a Arc<str>>,
    /// Indexes into `all_effects`, in the order the row lists them.
    effects: Vec<usize>,
    all_effects: &'a [Effect],
    findings: Vec<Finding>,
    decision: Decision<'a>,
}

/// A row of the account: a draft, or (for the rare rows built whole: a
/// repetition's, a field in neither message) the finished row.
pub enum Row<'a> {
    Draft(Draft<'a>),
    Built(FieldResult),
}

impl Row<'_> {
    /// The row's field-level path.
    pub fn path(&self) -> &Path {
        match self {
            Row::Draft(d) => &d.path,
            Row::Built(r) => &r.path,
        }
    }

    pub fn kind(&self) -> OutcomeKind {
        match self {
            Row::Draft(d) => d.decision.kind(),
            Row::Built(r) => r.outcome.kind(),
        }
    }

    /// Every finding on the row, from any side.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Row::Draft(d) => &d.findings,
            Row::Built(r) => &r.findings,
        }
    }

    /// The row written out.
    fn into_result(self, names: &mut Names) -> FieldResult {
        let d = match self {
            Row::Built(r) => return r,
            Row::Draft(d) => d,
        };
        let effects: SmallVec<[&Effect; 2]> =
            d.effects.iter().map(|&i| &d.all_effects[i]).collect();
        let outcome = d.decision.into_outcome(&d.findings, &effects);
        let (source, source_range) = match d.source {
            Some((s, r)) => (Some(s.clone()), r),
            None => (None, None),
        };
        FieldResult {
            name: names.of(&d.path),
            source,
            mapped: d.mapped.cloned(),
            outcome,
            effects: effects.into_iter().cloned().collect(),
            findings: d.findings,
            source_range,
            expected: None,
            differs_from_expected: false,
            path: d.path,
        }
    }
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
                if let Some(si) = source_places.get(at.0, at.1) {
                    by_source.add(si, p.field_number, i);
                }
            }
            // A removal's target is the source field it removed: looked up
            // only where the mapped message has the same segment occurrence.
            let t = &e.target;
            let at = (t.segment, t.segment_number.unwrap_or(1));
            if let Some(ti) = view.target_places.0.get(at.0, at.1) {
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

    /// The effects on a field, in effect order. A plain list: most fields
    /// have none, and an empty one is made for nothing.
    fn get(&self, segment: usize, field: usize) -> Vec<usize> {
        match self.0.get(segment) {
            Some(l) if l.iter().any(|&(f, _)| f == field) => self.each(segment, field).collect(),
            _ => Vec::new(),
        }
    }

    /// [`EffectIndex::get`] without making a list (most callers only look).
    fn each(&self, segment: usize, field: usize) -> impl Iterator<Item = usize> + '_ {
        self.0
            .get(segment)
            .map_or(&[][..], |l| l.as_slice())
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(|&(_, i)| i)
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
    // A row per populated source field, and a few more: sized once (a
    // list of rows grown by copying costs more than the rows).
    let fields: usize = source.segments.iter().map(|s| s.fields.len()).sum();
    let mut out = Vec::with_capacity(fields + 8);
    let mut names = Names::default();
    account_rows(source, mapped, sender, receiver, |row| {
        out.push(row.into_result(&mut names))
    });
    out
}

/// The account's rows, in the account's order, handed to `sink` as they are
/// decided: a caller that counts them writes none out.
pub fn account_rows(
    source: &Message,
    mapped: &mapping::Mapped,
    sender: &CheckResult,
    receiver: &CheckResult,
    mut sink: impl FnMut(Row<'_>),
) {
    let mut a = Accounting::new(source, mapped, sender, receiver);
    a.source_rows(&mut sink);
    a.filled_rows(&mut sink);
    missing_rows(a.source_findings, a.target_findings, &mut sink);
}

/// What the account reads, indexed once per message.
struct Accounting<'a> {
    source: &'a Message,
    mapped: &'a mapping::Mapped,
    view: View<'a>,
    /// The sender's and the mapping's findings, then the receiver's: each
    /// handed to exactly one row.
    source_findings: Findings<'a>,
    target_findings: Findings<'a>,
    /// Fields the receiver ignores, with why.
    ignored: FxHashMap<FieldKey, &'a str>,
    by_source: EffectIndex,
    by_target: EffectIndex,
    /// Mapped fields that a source row reports as where its value went.
    claimed: Claimed,
}

impl<'a> Accounting<'a> {
    fn new(
        source: &'a Message,
        mapped: &'a mapping::Mapped,
        sender: &'a CheckResult,
        receiver: &'a CheckResult,
    ) -> Accounting<'a> {
        let view = View::of(source, mapped);
        let mut source_findings = Findings::default();
        source_findings.add(&sender.findings);
        source_findings.add(&mapped.findings);
        let mut target_findings = Findings::default();
        target_findings.add(&receiver.findings);
        let ignored = receiver
            .ignored
            .iter()
            .map(|i| (field_key(&i.path), i.reason.as_str()))
            .collect();
        let (by_source, by_target) = EffectIndex::of(source, mapped, &view);
        Accounting {
            source,
            mapped,
            view,
            source_findings,
            target_findings,
            ignored,
            by_source,
            by_target,
            claimed: Claimed::new(&mapped.message),
        }
    }

    /// A row per field populated in the source.
    fn source_rows(&mut self, sink: &mut impl FnMut(Row<'_>)) {
        let (source, mapped) = (self.source, self.mapped);
        let occurrences = &self.view.source_occurrence;
        let populated = source.segments.iter().enumerate().flat_map(|(si, seg)| {
            let occ = occurrences[si] as usize;
            seg.fields
                .iter()
                .zip(1..)
                .filter(|(f, _)| !f.raw.is_empty())
                .map(move |(f, n)| crate::hl7::FieldRef {
                    path: Path::field_of(seg.name, occ, n),
                    raw: &f.raw,
                    shared: &f.raw,
                    range: f.range.clone(),
                    segment_index: si,
                })
        });
        for sf in populated {
            let sf = &sf;
            let mut effect_ids = self.by_source.get(sf.segment_index, sf.path.field_number);
            let fate = fate_of(&self.view, sf, mapped, &effect_ids, &self.by_target);
            let mut findings = Vec::new();
            self.source_findings
                .take(field_key(&sf.path), &mut findings);
            if let Some(d) = &fate.dest {
                self.target_findings.take(field_key(d), &mut findings);
                if let Some(ti) = fate.at {
                    self.claimed.set(ti, d.field_number);
                    for i in self.by_target.each(ti, d.field_number) {
                        if !effect_ids.contains(&i) {
                            effect_ids.push(i);
                        }
                    }
                }
            }
            // Most fields no rule touched: no list of effects is made for them.
            let effects: SmallVec<[&Effect; 2]> = if effect_ids.is_empty() {
                SmallVec::new()
            } else {
                effect_ids.sort_unstable();
                effect_ids.iter().map(|&i| &mapped.effects[i]).collect()
            };
            if effects
                .iter()
                .any(|e| e.action.removes() && e.target.repetition_number.is_some())
            {
                let effects = effects.into_iter().cloned().collect();
                let d = source.delimiters.repetition;
                for r in repetition_rows(sf, &fate, effects, findings, &self.ignored, d) {
                    sink(Row::Built(r));
                }
                continue;
            }
            let mapped_raw = fate.mapped.map(|m| &**m);
            let decision = source_decision(
                sf.raw,
                &sf.path,
                (fate.dest, mapped_raw),
                &effects,
                &findings,
                &self.ignored,
            );
            sink(Row::Draft(Draft {
                path: sf.path.clone(),
                source: Some((sf.shared, sf.range.clone())),
                mapped: fate.mapped,
                effects: effect_ids,
                all_effects: &mapped.effects,
                findings,
                decision,
            }));
        }
    }

    /// A row per field a rule filled that was empty in the source. Most
    /// mapped fields are a source row's: skipped before a path is made.
    fn filled_rows(&mut self, sink: &mut impl FnMut(Row<'_>)) {
        let mapped = self.mapped;
        let target = &mapped.message;
        let populated = target.segments.iter().enumerate().flat_map(|(ti, seg)| {
            seg.fields
                .iter()
                .zip(1..)
                .filter(|(f, _)| !f.raw.is_empty())
                .map(move |(f, n)| (ti, n, f))
        });
        for (ti, n, field) in populated {
            if self.claimed.get(ti, n) || self.view.held_in_source_at(ti, n) {
                continue;
            }
            let path = Path::field_of(
                target.segments[ti].name,
                self.view.target_occurrence[ti] as usize,
                n,
            );
            let k = field_key(&path);
            let effect_ids = self.by_target.get(ti, n);
            let mut findings = Vec::new();
            // The sender's findings on the same (empty) source field belong
            // here too: a rule filled what the sender left out.
            if !self.view.source_moved_at(ti, k.1) {
                self.source_findings.take(k, &mut findings);
            }
            self.target_findings.take(k, &mut findings);
            let decision = if let Some(i) = worst_error_at(&findings) {
                Decision::Rejected(i)
            } else if let Some(reason) = self.ignored.get(&k) {
                Decision::Dropped {
                    rule: None,
                    reason: DropReason::Given(reason),
                }
            } else if effect_ids.is_empty() {
                Decision::Accepted
            } else {
                Decision::Transformed {
                    from: "",
                    to: &field.raw,
                    target: path.clone(),
                }
            };
            sink(Row::Draft(Draft {
                path,
                source: None,
                mapped: Some(&field.raw),
                effects: effect_ids,
                all_effects: &mapped.effects,
                findings,
                decision,
            }));
        }
    }
}

/// Where a source field's value ended up: in place (in the segment that
/// started as its source segment), or where the rules that read it wrote it
/// (a move, a split, a join, or a copy to a field that was empty in the
/// source), or nowhere.
fn fate_of<'m>(
    view: &View,
    sf: &crate::hl7::FieldRef,
    mapped: &'m mapping::Mapped,
    read: &[usize],
    by_target: &EffectIndex,
) -> Fate<'m> {
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
            mapped: Some(&f.raw),
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
    if let Some(ti) = view.target_places.0.get(k.0, k.1)
        && view.origin.get(ti).is_some_and(Option::is_none)
    {
        let carried_from_elsewhere = by_target.each(ti, k.2).any(|i| {
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
        let others: Vec<&Effect> = effects.iter().filter(|e| !e.action.removes()).collect();
        let outcome = source_decision(
            rep,
            &sf.path,
            (fate.dest.clone(), rep_mapped),
            &others,
            &mine,
            ignored,
        )
        .into_outcome(&mine, &others);
        let others = others.into_iter().cloned().collect();
        rows.push(FieldResult {
            name: names::name_of(&sf.path),
            source: Some(rep.into()),
            mapped: rep_mapped.map(Arc::from),
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
            .get(k.0, k.1)
            .is_some_and(|ti| self.held_in_source_at(ti, k.2))
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

/// How a populated source field's row is decided, from where its value
/// went (`dest`, field level, and the value there).
fn source_decision<'a>(
    raw: &'a str,
    path: &Path,
    (dest, to): (Option<Path>, Option<&'a str>),
    effects: &[&'a Effect],
    findings: &[Finding],
    ignored: &FxHashMap<FieldKey, &'a str>,
) -> Decision<'a> {
    if let Some(i) = worst_error_at(findings) {
        return Decision::Rejected(i);
    }
    let Some(dest) = dest else {
        let drop = effects
            .iter()
            .find(|e| e.action.removes() && e.sources.iter().any(|s| s.same_field(path)));
        if let Some(d) = drop {
            return Decision::Dropped {
                rule: Some(&d.rule),
                reason: match &d.reason {
                    Some(r) => DropReason::Given(r),
                    None => DropReason::ByRule,
                },
            };
        }
        let moved = effects.iter().find(|e| {
            e.sources.iter().any(|s| s.same_field(path))
                && matches!(e.action, Action::Move | Action::Split | Action::Join)
        });
        return match moved {
            Some(e) => Decision::Dropped {
                rule: Some(&e.rule),
                reason: DropReason::MovedAway,
            },
            None => Decision::Dropped {
                rule: None,
                reason: DropReason::NoRule,
            },
        };
    };
    if !ignored.is_empty()
        && let Some(reason) = ignored.get(&field_key(&dest))
    {
        return Decision::Dropped {
            rule: None,
            reason: DropReason::Given(reason),
        };
    }
    let to = to.unwrap_or_default();
    // A value the mapping carried untouched is the source's own text.
    let same_text = std::ptr::eq(to, raw) || to == raw;
    if !same_text || !dest.same_field(path) {
        return Decision::Transformed {
            from: raw,
            to,
            target: dest,
        };
    }
    Decision::Accepted
}
