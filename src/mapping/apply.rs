//! Applying rules to a source message. Pure: same input, same output.
//!
//! Every segment of the mapped message keeps an identity (the source
//! segment it started as, or a new one for a segment a rule created), so
//! effects are reported at the place they end up even when segments are
//! created or removed later. Reads and writes go through indexes built once
//! (and rebuilt only when segments are created or removed): no step searches
//! the message from the start.

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::{Action, Effect, Mapped, Mode, Pick, Rule, Rules, SplitAt, Unmapped};
use crate::condition::Scope;
use crate::finding::{self, Finding, Severity, Side};
use crate::hl7::datetime::Timestamp;
use crate::hl7::{self, Message, Path, SegName, Segment};
use crate::table::Tables;

/// Positions of each segment occurrence, by name.
type Index = FxHashMap<SegName, Vec<usize>>;

fn index_of(m: &Message) -> Index {
    let mut ix: Index = FxHashMap::default();
    // One lookup per run of a segment id (OBX, OBX, …).
    for (name, run) in m.segment_runs() {
        ix.entry(name).or_default().extend(run);
    }
    ix
}

struct State<'a> {
    source: &'a Message,
    source_index: Index,
    target: Message,
    /// Identity of each target segment (parallel to `target.segments`).
    ids: Vec<usize>,
    next_id: usize,
    /// Target positions by name, and by identity; `None` after a structural change.
    index: Option<(Index, Vec<Option<usize>>)>,
    effects: Vec<Effect>,
    /// For each effect, the identity of the target segment it wrote.
    effect_ids: Vec<Option<usize>>,
    findings: Vec<Finding>,
    /// (rule id, occurrence) pairs that changed something.
    applied: FxHashSet<(&'a str, usize)>,
    /// Where each segment stands in the message structure (first place):
    /// worked out when a rule first creates a segment.
    places: Option<FxHashMap<SegName, usize>>,
    /// Segments created, by (segment, anchor segment, anchor occurrence).
    created: FxHashMap<(SegName, SegName, usize), usize>,
}

impl State<'_> {
    fn index(&mut self) -> &(Index, Vec<Option<usize>>) {
        if self.index.is_none() {
            let by_name = index_of(&self.target);
            let by_id = per_identity(&self.ids, self.next_id, 0..);
            self.index = Some((by_name, by_id));
        }
        self.index.get_or_insert_with(Default::default)
    }

    fn target_count(&mut self, name: SegName) -> usize {
        self.index().0.get(&name).map_or(0, Vec::len)
    }

    /// Position of the k-th target segment named `name`.
    fn target_position(&mut self, name: SegName, k: usize) -> Option<usize> {
        self.index().0.get(&name)?.get(k.checked_sub(1)?).copied()
    }

    /// Position of the target segment that started as source segment `i`.
    fn position_of_source(&mut self, i: usize) -> Option<usize> {
        self.index().1.get(i).copied().flatten()
    }

    fn source_position(&self, name: SegName, k: usize) -> Option<usize> {
        self.source_index
            .get(&name)?
            .get(k.checked_sub(1)?)
            .copied()
    }

    /// The raw source value at a path (with its occurrence).
    fn source_raw(&self, p: &Path) -> &str {
        match self.source_position(p.segment, p.segment_number.unwrap_or(1) as usize) {
            Some(i) => self.source.get_in(i, p),
            None => "",
        }
    }

    fn insert_segment(&mut self, at: usize, name: SegName) -> usize {
        let at = at.min(self.target.segments.len());
        self.target.segments.insert(at, Segment::new(&name));
        self.ids.insert(at, self.next_id);
        self.next_id += 1;
        self.index = None;
        at
    }

    fn remove_segment(&mut self, at: usize) {
        self.target.segments.remove(at);
        self.ids.remove(at);
        self.index = None;
    }

    /// The target segment a write to `path` goes to, created when missing
    /// (placed after `after`, else where the message structure puts it,
    /// within the anchor's group). `None` when missing and `create` is false.
    fn segment_for(
        &mut self,
        path: &Path,
        rule: &Rule,
        anchor: (SegName, usize),
        create: bool,
    ) -> Option<usize> {
        let k = path.segment_number.unwrap_or(1) as usize;
        if let Some(i) = self.target_position(path.segment, k) {
            return Some(i);
        }
        // A segment already created for this anchor occurrence takes the
        // later writes too (its occurrence number may differ from k).
        let key = (path.segment, anchor.0, anchor.1);
        if let Some(&id) = self.created.get(&key)
            && let Some(i) = self.index().1.get(id).copied().flatten()
        {
            return Some(i);
        }
        if !create {
            return None;
        }
        let at = self.placement(path.segment, rule.after, anchor);
        let i = self.insert_segment(at, path.segment);
        self.created.insert(key, self.ids[i]);
        Some(i)
    }

    /// Where a new segment named `name` goes.
    fn placement(
        &mut self,
        name: SegName,
        after: Option<SegName>,
        anchor: (SegName, usize),
    ) -> usize {
        let len = self.target.segments.len();
        let skip_same = |st: &Self, mut j: usize| {
            while j < len && st.target.segments[j].name == name {
                j += 1;
            }
            j
        };
        if let Some(a) = after {
            let k = if anchor.0 == a { anchor.1 } else { 1 };
            let count = self.target_count(a);
            if count > 0
                && let Some(p) = self.target_position(a, k.min(count))
            {
                return skip_same(self, p + 1);
            }
        }
        let anchor_at = if anchor.0 != name {
            self.target_position(anchor.0, anchor.1)
        } else {
            None
        };
        let places = self
            .places
            .get_or_insert_with(|| structure_places(self.source));
        let Some(&p_new) = places.get(&name) else {
            // Not in the structure (a Z-segment): after its anchor, else at the end.
            return match anchor_at {
                Some(p) => skip_same(self, p + 1),
                None => len,
            };
        };
        let start = anchor_at.map_or(1, |p| p + 1);
        let mut j = start.min(len);
        while j < len {
            let s = self.target.segments[j].name;
            if anchor_at.is_some() && s == anchor.0 {
                break; // the anchor's next group instance
            }
            if places.get(&s).is_some_and(|&p| p > p_new) {
                break;
            }
            j += 1;
        }
        j
    }

    fn effect(&mut self, e: Effect, target_id: Option<usize>) {
        self.effects.push(e);
        self.effect_ids.push(target_id);
    }
}

/// A value per target segment, by the segment's identity (`ids[i]` gets
/// the `i`-th value). Identities are numbered from 0 up to `next_id`: a
/// list, not a map.
fn per_identity<T: Copy>(
    ids: &[usize],
    next_id: usize,
    values: impl IntoIterator<Item = T>,
) -> Vec<Option<T>> {
    let mut by_id = vec![None; next_id];
    for (&id, v) in ids.iter().zip(values) {
        if let Some(slot) = by_id.get_mut(id) {
            *slot = Some(v);
        }
    }
    by_id
}

/// Where each segment stands in the structure the message's MSH-9 names
/// (its first place); empty when the standard does not define the structure.
fn structure_places(source: &Message) -> FxHashMap<SegName, usize> {
    let mut places = FxHashMap::default();
    if let Some(structure) = crate::profile::structure_of(source) {
        for (i, place) in structure.iter().enumerate() {
            for s in place {
                places.entry(*s).or_insert(i);
            }
        }
    }
    places
}

/// Applies the rules to a source message. Pure: same input, same output.
pub fn apply<'a>(rules: &'a Rules, tables: &Tables, source: &'a Message) -> Mapped {
    let (target, ids) = match rules.mode {
        Mode::Passthrough => (
            Message {
                delimiters: source.delimiters,
                segments: source.segments.clone(),
                text: String::new(),
                offset: 0,
                line_number: source.line_number,
            },
            (0..source.segments.len()).collect(),
        ),
        Mode::Explicit => {
            let mut m = Message::with_delimiters(source.delimiters);
            if let Some(msh) = source.segments.first() {
                m.segments[0] = msh.clone();
            }
            (m, vec![0])
        }
    };
    let mut st = State {
        source,
        source_index: index_of(source),
        target,
        ids,
        next_id: source.segments.len(),
        index: None,
        effects: Vec::new(),
        effect_ids: Vec::new(),
        findings: Vec::new(),
        applied: FxHashSet::default(),
        places: None,
        created: FxHashMap::default(),
    };
    for rule in &rules.rules {
        if rule.action == Action::DropSegment {
            drop_segments(&mut st, rule);
            continue;
        }
        if rule.action == Action::CopySegment {
            copy_segments(&mut st, rule);
            continue;
        }
        let Some(anchor_path) = rule.from.first().or(rule.to.first()) else {
            continue;
        };
        // With `after`, a rule that creates segments follows that segment's occurrences.
        let anchor = match (rule.after, rule.from.is_empty()) {
            (Some(a), true) => a,
            _ => anchor_path.segment,
        };
        let occurrences: Vec<usize> = match anchor_path.segment_number {
            Some(n) if anchor == anchor_path.segment => vec![n as usize],
            _ => {
                let count = if rule.from.is_empty() {
                    st.target_count(anchor)
                } else {
                    st.source_index.get(&anchor).map_or(0, Vec::len)
                };
                if rule.from.is_empty() {
                    (1..=count.max(1)).collect()
                } else {
                    (1..=count).collect()
                }
            }
        };
        for occ in occurrences {
            if let Some(w) = &rule.when {
                let applied = &st.applied;
                let holds = w.eval(&Scope {
                    source,
                    mapped: &st.target,
                    segment: &anchor,
                    occurrence: occ,
                    source_index: st.source_position(anchor, occ),
                    applied: &|r: &str| applied.contains(&(r, occ)),
                });
                if !holds {
                    continue;
                }
            }
            let before = st.effects.len();
            apply_one(rule, tables, &mut st, (anchor, occ));
            // Applied: changed something (a code passed through unchanged did not).
            if st.effects[before..]
                .iter()
                .any(|e| e.from != e.to || e.action.removes())
            {
                st.applied.insert((&rule.id, occ));
            }
        }
    }
    // Segments left with no populated field (explicit mode, or everything dropped) are removed.
    let mut i = 0;
    while i < st.target.segments.len() {
        let s = &st.target.segments[i];
        if s.name != "MSH" && s.fields.iter().all(|f| f.raw.is_empty()) {
            st.remove_segment(i);
        } else {
            i += 1;
        }
    }
    // Effects name the place they end up at.
    let occurrence_of_id = per_identity(&st.ids, st.next_id, st.target.occurrences());
    for (e, id) in st.effects.iter_mut().zip(&st.effect_ids) {
        if let Some(n) = id.and_then(|id| occurrence_of_id.get(id).copied().flatten()) {
            e.target.segment_number = Some(n);
        }
    }
    let n_source = source.segments.len();
    Mapped {
        origin: st
            .ids
            .iter()
            .map(|&id| (id < n_source).then_some(id))
            .collect(),
        message: st.target,
        effects: st.effects,
        findings: st.findings,
    }
}

fn resolve(path: &Path, occ: usize) -> Path {
    if path.segment_number.is_some() {
        path.clone()
    } else {
        // k-th occurrence of one segment maps to the k-th of another.
        path.at_occurrence(occ)
    }
}

fn drop_segments<'a>(st: &mut State<'a>, rule: &'a Rule) {
    let Some(name) = rule.segment else {
        return;
    };
    let total = st.target_count(name);
    // Walk occurrences from the last, so positions before stay valid.
    for k in (1..=total).rev() {
        let Some(at) = st.target_position(name, k) else {
            continue;
        };
        if let Some(w) = &rule.when {
            let applied = &st.applied;
            let holds = w.eval(&Scope {
                source: st.source,
                mapped: &st.target,
                segment: &name,
                occurrence: k,
                source_index: None,
                applied: &|r: &str| applied.contains(&(r, k)),
            });
            if !holds {
                continue;
            }
        }
        let id = st.ids[at];
        // The source occurrence of a segment that came from the source.
        let source_occ = st
            .source_index
            .get(&name)
            .and_then(|v| v.binary_search(&id).ok())
            .map(|k| k + 1);
        let fields: Vec<(usize, String)> = st.target.segments[at]
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.raw.is_empty())
            .map(|(i, f)| (i + 1, f.raw.to_string()))
            .collect();
        st.remove_segment(at);
        st.applied.insert((&rule.id, k));
        let Some(occ) = source_occ else {
            continue;
        };
        for (n, raw) in fields {
            if name == "MSH" && n <= 2 {
                continue;
            }
            let p = Path::field_of(name, occ, n);
            st.effect(
                Effect {
                    rule: rule.id.clone(),
                    action: Action::DropSegment,
                    sources: vec![p.clone()],
                    target: p,
                    from: raw,
                    to: String::new(),
                    reason: rule.reason.clone(),
                },
                None,
            );
        }
    }
}

/// Copies every populated field of each source occurrence of a segment
/// into the mapped message's same occurrence, creating it where missing.
fn copy_segments<'a>(st: &mut State<'a>, rule: &'a Rule) {
    let Some(name) = rule.segment else {
        return;
    };
    let positions: Vec<usize> = st.source_index.get(&name).cloned().unwrap_or_default();
    let sd = st.source.delimiters;
    let td = st.target.delimiters;
    for (k0, si) in positions.into_iter().enumerate() {
        let k = k0 + 1;
        if let Some(w) = &rule.when {
            let applied = &st.applied;
            let holds = w.eval(&Scope {
                source: st.source,
                mapped: &st.target,
                segment: &name,
                occurrence: k,
                source_index: Some(si),
                applied: &|r: &str| applied.contains(&(r, k)),
            });
            if !holds {
                continue;
            }
        }
        let fields: Vec<(usize, String)> = st.source.segments[si]
            .fields
            .iter()
            .enumerate()
            .filter(|(i, f)| !(f.raw.is_empty() || (name == "MSH" && *i < 2)))
            .map(|(i, f)| (i + 1, f.raw.to_string()))
            .collect();
        let mut changed = false;
        for (n, raw) in fields {
            let p = Path::field_of(name, k, n);
            let new = if sd == td {
                raw.clone()
            } else {
                hl7::escape(&hl7::unescape(&raw, &sd), &td)
            };
            let Some(at) = st.segment_for(&p, rule, (name, k), true) else {
                continue;
            };
            let old = st.target.get_in(at, &p).to_string();
            st.target.set_in(at, &p, &new);
            let id = st.ids[at];
            changed |= old != new;
            st.effect(
                Effect {
                    rule: rule.id.clone(),
                    action: Action::CopySegment,
                    sources: vec![p.clone()],
                    target: p,
                    from: raw,
                    to: new,
                    reason: None,
                },
                Some(id),
            );
        }
        if changed {
            st.applied.insert((&rule.id, k));
        }
    }
}

/// The repetitions of a raw field a rule selects, 1-based.
fn selected(rule: &Rule, raw: &str, d: &hl7::Delimiters) -> Vec<usize> {
    if raw.is_empty() {
        return Vec::new();
    }
    let all: Vec<usize> = raw
        .split(d.repetition)
        .enumerate()
        .filter(|(_, rep)| !rep.is_empty())
        .filter(|(_, rep)| match &rule.where_ {
            None => true,
            Some(w) => {
                let part = hl7::sub_value(rep, d, None, w.component, w.subcomponent);
                w.test.holds(&hl7::unescape(part, d))
            }
        })
        .map(|(i, _)| i + 1)
        .collect();
    match rule.pick {
        Pick::All => all,
        Pick::First => all.into_iter().take(1).collect(),
        Pick::Last => all.last().copied().into_iter().collect(),
    }
}

fn apply_one(rule: &Rule, tables: &Tables, st: &mut State, anchor: (SegName, usize)) {
    let occ = anchor.1;
    let sd = st.source.delimiters;
    let td = st.target.delimiters;
    let sources: SmallVec<[Path; 2]> = rule.from.iter().map(|p| resolve(p, occ)).collect();
    let targets: SmallVec<[Path; 2]> = rule.to.iter().map(|p| resolve(p, occ)).collect();
    // With `[*]`, the rule reads the repetitions it selects.
    let picked: Vec<usize> = match (rule.each_repetition, sources.first()) {
        (true, Some(p)) => selected(rule, st.source_raw(p), &sd),
        _ => Vec::new(),
    };
    let src_raw: String = match sources.first() {
        None => String::new(),
        Some(p) if rule.each_repetition => {
            let raw = st.source_raw(p);
            let reps: Vec<&str> = raw.split(sd.repetition).collect();
            picked
                .iter()
                .filter_map(|i| reps.get(i - 1).copied())
                .collect::<Vec<_>>()
                .join(&sd.repetition.to_string())
        }
        Some(p) => st.source_raw(p).to_string(),
    };
    // Borrowed unless the value holds escapes.
    let src_value = hl7::unescape(&src_raw, &sd);
    // Re-encode a raw source value for the target's delimiters (usually the same).
    let carry = |raw: String| {
        if sd == td {
            raw
        } else {
            hl7::escape(&hl7::unescape(&raw, &sd), &td)
        }
    };
    let mapping_finding =
        |st: &mut State, path: &Path, code: u16, severity: Severity, reason: String| {
            st.findings.push(Finding {
                location: path.clone(),
                segment_only: false,
                code,
                severity,
                reason,
                side: Side::Mapping,
                rule: Some(rule.id.to_string()),
            });
        };
    let write = |st: &mut State, path: &Path, raw: String, from: String| {
        let Some(at) = st.segment_for(path, rule, anchor, !raw.is_empty()) else {
            return;
        };
        st.target.set_in(at, path, &raw);
        let id = st.ids[at];
        st.effect(
            Effect {
                rule: rule.id.clone(),
                action: rule.action,
                sources: sources.to_vec(),
                target: path.clone(),
                from,
                to: raw,
                reason: None,
            },
            Some(id),
        );
    };
    match rule.action {
        Action::Copy | Action::Move => {
            if src_raw.is_empty() {
                return;
            }
            let to = &targets[0];
            if rule.action == Action::Move && (to != &sources[0] || rule.each_repetition) {
                remove_source(st, rule, &sources[0], &picked, &sd, false);
            }
            write(st, to, carry(src_raw.clone()), src_raw.clone());
        }
        Action::Set => {
            let to = &targets[0];
            let old = match st.target_position(to.segment, to.segment_number.unwrap_or(1) as usize)
            {
                Some(i) => st.target.get_in(i, to).to_string(),
                None => String::new(),
            };
            let new = hl7::escape(rule.value.as_deref().unwrap_or(""), &td);
            write(st, to, new, old);
        }
        Action::Default => {
            let to = &targets[0];
            let empty =
                match st.target_position(to.segment, to.segment_number.unwrap_or(1) as usize) {
                    Some(i) => st.target.get_in(i, to).is_empty(),
                    None => true,
                };
            if empty {
                let new = hl7::escape(rule.value.as_deref().unwrap_or(""), &td);
                write(st, to, new, String::new());
            }
        }
        Action::Translate => {
            if src_value.is_empty() {
                return;
            }
            let to = &targets[0];
            let map = rule.map.as_deref().and_then(|m| tables.map(m));
            match map.and_then(|m| m.codes.get(&src_value)) {
                Some(code) => write(st, to, hl7::escape(code, &td), src_raw.clone()),
                None => {
                    let map_name = rule.map.clone().unwrap_or_default();
                    match rule.on_unmapped {
                        Unmapped::Reject => mapping_finding(
                            st,
                            &sources[0],
                            finding::TABLE_VALUE,
                            Severity::Error,
                            format!("`{src_value}` has no translation in map `{map_name}`"),
                        ),
                        Unmapped::Pass => {
                            mapping_finding(
                                st,
                                &sources[0],
                                finding::TABLE_VALUE,
                                Severity::Warning,
                                format!(
                                    "`{src_value}` has no translation in map `{map_name}`; passed through unchanged"
                                ),
                            );
                            write(st, to, carry(src_raw.clone()), src_raw.clone());
                        }
                        Unmapped::Default => {
                            let d = rule.default.clone().unwrap_or_default();
                            write(st, to, hl7::escape(&d, &td), src_raw.clone());
                        }
                    }
                }
            }
        }
        Action::Transform => {
            if src_value.is_empty() {
                return;
            }
            let mut v = src_value.to_string();
            for step in &rule.steps {
                match step.run(&v, tables) {
                    Ok(next) => v = next,
                    Err(e) => {
                        mapping_finding(st, &sources[0], finding::TABLE_VALUE, Severity::Error, e);
                        return;
                    }
                }
            }
            write(st, &targets[0], hl7::escape(&v, &td), src_raw.clone());
        }
        Action::Datetime => {
            if src_value.is_empty() {
                return;
            }
            match normalise_time(rule, &src_raw, &sources[0], &sd) {
                Err((severity, reason)) => {
                    mapping_finding(st, &sources[0], finding::DATA_TYPE, severity, reason);
                    if severity != Severity::Error {
                        // Left unchanged, and the row cites the rule.
                        write(st, &targets[0], carry(src_raw.clone()), src_raw.clone());
                    }
                }
                Ok(new_raw) => write(st, &targets[0], carry(new_raw), src_raw.clone()),
            }
        }
        Action::Split => {
            if src_value.is_empty() {
                return;
            }
            let parts: Vec<&str> = match rule.split_at {
                SplitAt::First => src_value
                    .splitn(targets.len(), rule.separator.as_str())
                    .collect(),
                SplitAt::Last => match src_value.rsplit_once(rule.separator.as_str()) {
                    Some((a, b)) => vec![a, b],
                    None => vec![&*src_value],
                },
            };
            let keep_source = targets.iter().any(|t| t.same_field(&sources[0]));
            if !keep_source {
                remove_source(st, rule, &sources[0], &[], &sd, true);
            }
            for (i, to) in targets.iter().enumerate() {
                let part = parts.get(i).copied().unwrap_or("").trim();
                write(st, to, hl7::escape(part, &td), src_raw.clone());
            }
        }
        Action::Join => {
            let values: Vec<String> = sources
                .iter()
                .map(|p| hl7::unescape(st.source_raw(p), &sd).into_owned())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return;
            }
            let joined = values.join(&rule.separator);
            let from = sources
                .iter()
                .map(|p| st.source_raw(p).to_string())
                .collect::<Vec<_>>()
                .join(" + ");
            for s in &sources {
                if !targets[0].same_field(s) {
                    remove_source(st, rule, s, &[], &sd, true);
                }
            }
            write(st, &targets[0], hl7::escape(&joined, &td), from);
        }
        Action::Drop | Action::Keep => {
            let p = &sources[0];
            if rule.each_repetition {
                let raw = st.source_raw(p).to_string();
                let count = raw.split(sd.repetition).count();
                let gone: Vec<usize> = if rule.action == Action::Drop {
                    picked.clone()
                } else {
                    (1..=count)
                        .filter(|i| !picked.contains(i))
                        .filter(|i| {
                            raw.split(sd.repetition)
                                .nth(i - 1)
                                .is_some_and(|r| !r.is_empty())
                        })
                        .collect()
                };
                if gone.is_empty() {
                    return;
                }
                remove_source(st, rule, p, &gone, &sd, false);
                let reps: Vec<&str> = raw.split(sd.repetition).collect();
                for i in gone {
                    let at = Path {
                        repetition_number: Some(i as u32),
                        ..p.clone()
                    };
                    st.effect(
                        Effect {
                            rule: rule.id.clone(),
                            action: rule.action,
                            sources: vec![at.clone()],
                            target: at,
                            from: reps.get(i - 1).copied().unwrap_or("").to_string(),
                            to: String::new(),
                            reason: rule.reason.clone(),
                        },
                        None,
                    );
                }
                return;
            }
            if src_raw.is_empty() {
                return;
            }
            remove_source(st, rule, p, &[], &sd, true);
            st.effect(
                Effect {
                    rule: rule.id.clone(),
                    action: Action::Drop,
                    sources: sources.to_vec(),
                    target: p.clone(),
                    from: src_raw.clone(),
                    to: String::new(),
                    reason: rule.reason.clone(),
                },
                None,
            );
        }
        Action::DropSegment | Action::CopySegment => {}
    }
}

/// Removes a source value from where it stands in the mapped message: the
/// repetitions listed (by their number in the source), or the whole path.
fn remove_source(
    st: &mut State,
    _rule: &Rule,
    p: &Path,
    reps: &[usize],
    d: &hl7::Delimiters,
    whole: bool,
) {
    let Some(si) = st.source_position(p.segment, p.segment_number.unwrap_or(1) as usize) else {
        return;
    };
    let Some(at) = st.position_of_source(si) else {
        return;
    };
    if whole || reps.is_empty() {
        st.target.set_in(at, p, "");
        return;
    }
    let field = p.to_field();
    let source_reps: Vec<&str> = st.source.get_in(si, &field).split(d.repetition).collect();
    let current = st.target.get_in(at, &field).to_string();
    let mut now: Vec<&str> = current.split(d.repetition).collect();
    if now.len() == source_reps.len() {
        let mut i = 0;
        now.retain(|_| {
            i += 1;
            !reps.contains(&i)
        });
    } else {
        for r in reps {
            if let Some(text) = source_reps.get(r - 1)
                && let Some(pos) = now.iter().position(|x| x == text)
            {
                now.remove(pos);
            }
        }
    }
    let joined = now.join(&d.repetition.to_string());
    let joined = joined.trim_matches(d.repetition).to_string();
    st.target.set_in(at, &field, &joined);
}

/// The time a `datetime` rule writes, or why it cannot.
fn normalise_time(
    rule: &Rule,
    src_raw: &str,
    source: &Path,
    sd: &hl7::Delimiters,
) -> Result<String, (Severity, String)> {
    // For a TS field the time is component 1; keep the rest.
    let ts_text = hl7::sub_value(
        src_raw,
        sd,
        None,
        if source.component_number.is_none() {
            Some(1)
        } else {
            None
        },
        None,
    );
    let ts = Timestamp::parse(ts_text)
        .map_err(|e| (Severity::Error, format!("cannot normalise the time: {e}")))?;
    // The offset the value is at: written, assumed, or the zone's on that day.
    let from = ts.offset_minutes.or(rule.assume_offset).or_else(|| {
        rule.assume_zone
            .as_ref()
            .and_then(|z| zone_offset_at_civil(&z.tz, &ts))
    });
    let wants_target = rule.to_offset.is_some() || rule.to_zone.is_some();
    let normalised = match (from, wants_target) {
        (None, true) if ts.has_time() => {
            return Err((
                Severity::Warning,
                format!("`{ts_text}` has no UTC offset and the rule assumes none; left unchanged"),
            ));
        }
        (Some(from), true) if ts.has_time() => {
            let target = match (&rule.to_zone, rule.to_offset) {
                (Some(z), _) => zone_offset_at_instant(&z.tz, &ts, from).unwrap_or(from),
                (None, Some(o)) => o,
                (None, None) => from,
            };
            ts.to_offset(target, Some(from))
        }
        (Some(from), false) if ts.has_time() && ts.offset_minutes.is_none() => Timestamp {
            offset_minutes: Some(from),
            ..ts.clone()
        },
        _ => ts.clone(),
    };
    let new_ts = normalised.to_hl7();
    Ok(if ts_text == src_raw {
        new_ts
    } else {
        hl7::with_sub_value(src_raw, sd, None, Some(1), None, &new_ts)
    })
}

/// A timestamp as a civil date and time (hour, minute, second 0 when not given).
fn civil(ts: &Timestamp) -> Option<jiff::civil::DateTime> {
    jiff::civil::DateTime::new(
        i16::try_from(ts.year).ok()?,
        i8::try_from(ts.month?).ok()?,
        i8::try_from(ts.day?).ok()?,
        i8::try_from(ts.hour.unwrap_or(0)).ok()?,
        i8::try_from(ts.minute.unwrap_or(0)).ok()?,
        i8::try_from(ts.second.unwrap_or(0)).ok()?,
        0,
    )
    .ok()
}

/// The UTC offset (minutes) a local date and time is read at in a zone.
fn zone_offset_at_civil(tz: &jiff::tz::TimeZone, ts: &Timestamp) -> Option<i32> {
    let dt = civil(ts)?;
    // RFC 5545's "compatible" choice: a time in a gap is read with the
    // offset before the gap, a time in an overlap with the earlier offset.
    let instant = tz.to_ambiguous_zoned(dt).compatible().ok()?.timestamp();
    let as_utc = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(((as_utc.as_second() - instant.as_second()) / 60) as i32)
}

/// The UTC offset (minutes) a zone has at the instant `ts` (at `from`) names.
fn zone_offset_at_instant(tz: &jiff::tz::TimeZone, ts: &Timestamp, from: i32) -> Option<i32> {
    let utc = ts.to_offset(0, Some(from));
    let instant = civil(&utc)?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    Some(tz.to_offset(instant).seconds() / 60)
}
