//! The account of every populated field after a replay: one row per field
//! populated in the source, one per field a rule filled that was empty in
//! the source, and one per finding on a field in neither message. Each
//! finding belongs to exactly one row; each row cites every rule that
//! shaped it. Linear in the message: every lookup goes through an index
//! built once.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
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
        let mut counts: FxHashMap<SegName, u32> = FxHashMap::default();
        let mut map = FxHashMap::default();
        for (i, s) in m.segments.iter().enumerate() {
            let n = counts.entry(s.name).or_default();
            *n += 1;
            map.insert((s.name, *n), i);
        }
        Places(map)
    }

    /// The raw field at a field key, shared; `None` when absent or empty.
    fn field(&self, m: &Message, k: FieldKey) -> Option<Arc<str>> {
        let i = *self.0.get(&(k.0, k.1))?;
        let f = m.segments[i].fields.get(k.2.checked_sub(1)?)?;
        (!f.raw.is_empty()).then(|| f.raw.clone())
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
        if let Some(list) = self.by_field.remove(&k) {
            out.extend(list.into_iter().cloned());
        }
        if let Some(list) = self.by_segment.get(&(k.0, k.1)) {
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

/// Where a populated source field went.
struct Fate {
    /// Field-level destinations in the mapped message.
    dest: Option<Path>,
    mapped: Option<Arc<str>>,
}

/// The account. See the module comment.
pub(crate) fn account(
    source: &Message,
    mapped: &mapping::Mapped,
    sender: &CheckResult,
    receiver: &CheckResult,
) -> Vec<FieldResult> {
    let target = &mapped.message;
    let source_places = Places::of(source);
    let target_places = Places::of(target);
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

    // Effects by the fields they read and by the field they write.
    let mut by_source: FxHashMap<FieldKey, SmallVec<[usize; 2]>> = FxHashMap::default();
    let mut by_target: FxHashMap<FieldKey, SmallVec<[usize; 2]>> = FxHashMap::default();
    for (i, e) in mapped.effects.iter().enumerate() {
        for k in e.sources.iter().map(field_key) {
            let l = by_source.entry(k).or_default();
            if l.last() != Some(&i) {
                l.push(i);
            }
        }
        by_target.entry(field_key(&e.target)).or_default().push(i);
    }
    let effects_of = |k: FieldKey, map: &FxHashMap<FieldKey, SmallVec<[usize; 2]>>| {
        map.get(&k).map(|l| l.to_vec()).unwrap_or_default()
    };

    let source_fields = source.populated_fields();
    let mut rows = Vec::with_capacity(source_fields.len() + 8);
    // Mapped fields that a source row reports as where its value went.
    let mut claimed: FxHashSet<FieldKey> = FxHashSet::default();
    for sf in &source_fields {
        let k = field_key(&sf.path);
        let read = effects_of(k, &by_source);
        let fate = fate_of(
            source,
            sf.path.clone(),
            mapped,
            &read,
            &target_places,
            &source_places,
        );
        if let Some(d) = &fate.dest {
            claimed.insert(field_key(d));
        }
        rows.push((sf, read, fate));
    }
    let mut out = Vec::with_capacity(rows.len() + 8);
    for (sf, read, fate) in rows {
        let path = sf.path.clone();
        let k = field_key(&path);
        let mut findings = Vec::new();
        source_findings.take(k, &mut findings);
        let mut effect_ids: Vec<usize> = read;
        if let Some(d) = &fate.dest {
            target_findings.take(field_key(d), &mut findings);
            for i in effects_of(field_key(d), &by_target) {
                if !effect_ids.contains(&i) {
                    effect_ids.push(i);
                }
            }
        }
        effect_ids.sort_unstable();
        let effects: Vec<Effect> = effect_ids
            .iter()
            .map(|&i| mapped.effects[i].clone())
            .collect();
        let outcome = source_outcome(sf.raw, &path, &fate, &effects, &findings, &ignored);
        out.push(FieldResult {
            name: names::name_of(&path),
            source: Some(sf.shared.clone()),
            mapped: fate.mapped,
            outcome,
            effects,
            findings,
            source_range: sf.range.clone(),
            path,
        });
    }

    // Fields a rule filled that were empty in the source: a row each.
    for mf in target.populated_fields() {
        let k = field_key(&mf.path);
        if claimed.contains(&k) || source_places.field(source, k).is_some() {
            continue;
        }
        let effects: Vec<Effect> = effects_of(k, &by_target)
            .into_iter()
            .map(|i| mapped.effects[i].clone())
            .collect();
        let mut findings = Vec::new();
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
            name: names::name_of(&mf.path),
            source: None,
            mapped: Some(mf.shared.clone()),
            outcome,
            effects,
            findings,
            source_range: None,
            path: mf.path.clone(),
        });
    }

    // Findings on fields in neither message (a required field missing).
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
    out
}

/// Where a source field's value ended up: in place, or where the rules that
/// read it wrote it (a move, a split, a join or a copy to a field that was
/// empty in the source), or nowhere.
fn fate_of(
    source: &Message,
    path: Path,
    mapped: &mapping::Mapped,
    read: &[usize],
    target_places: &Places,
    source_places: &Places,
) -> Fate {
    let target = &mapped.message;
    let k = field_key(&path);
    if let Some(v) = target_places.field(target, k) {
        return Fate {
            dest: Some(path),
            mapped: Some(v),
        };
    }
    for &i in read {
        let e = &mapped.effects[i];
        if e.action == Action::Drop {
            continue;
        }
        let t = field_key(&e.target);
        if t == k {
            continue;
        }
        // A field that already held a value in the source is its own row.
        if source_places.field(source, t).is_some() {
            continue;
        }
        if let Some(v) = target_places.field(target, t) {
            return Fate {
                dest: Some(e.target.to_field()),
                mapped: Some(v),
            };
        }
    }
    Fate {
        dest: None,
        mapped: None,
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
            .find(|e| e.action == Action::Drop && e.sources.iter().any(|s| s.same_field(path)));
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
