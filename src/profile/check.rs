//! The check of a message against a profile. What the profile lists is
//! checked as it says; what it does not list is checked as the HL7 v2.5.1
//! standard defines it: a segment the message structure defines is known,
//! a field's type, repetitions and usage R come from the standard, and
//! profile-wide settings (`timestamps_require_offset`) reach every field.
//! One pass over the segments; no step rescans the message.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{FieldSpec, Profile, SegmentSpec, Unlisted, Usage};
use crate::finding::{self, Finding, Severity};
use crate::hl7::datetime::Timestamp;
use crate::hl7::names::{self, ElementDef, Kind, TypeInfo};
use crate::hl7::{self, Message, Path, SegName};
use crate::table::{Table, Tables};

/// A populated field the system does not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub path: Path,
    pub reason: String,
}

/// What a profile check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub findings: Vec<Finding>,
    /// Populated fields the system silently ignores (never silent in Baton).
    pub ignored: Vec<Ignored>,
}

struct Checker<'a> {
    profile: &'a Profile,
    tables: &'a Tables,
    msg: &'a Message,
    out: CheckResult,
    /// Tables already looked up, by id (a rule's table is looked up once
    /// per message, not per value).
    found: Vec<(&'a str, Option<&'a Table>)>,
}

impl<'a> Checker<'a> {
    /// The table a rule names: the profile's own, else the workspace's.
    fn table(&mut self, id: &'a str) -> Option<&'a Table> {
        // A rule's table id is the profile's own text: found by address
        // (the same rule asks again), else by its letters.
        let same = |k: &&str| std::ptr::eq(k.as_ptr(), id.as_ptr()) && k.len() == id.len();
        if let Some((_, t)) = self
            .found
            .iter()
            .find(|(k, _)| same(k))
            .or_else(|| self.found.iter().find(|(k, _)| *k == id))
        {
            return *t;
        }
        let (profile, tables) = (self.profile, self.tables);
        let t = profile.inline_tables.table(id).or_else(|| tables.table(id));
        if self.found.len() < 16 {
            self.found.push((id, t));
        }
        t
    }
}

impl Checker<'_> {
    fn finding(
        &mut self,
        location: Path,
        code: u16,
        severity: Severity,
        reason: String,
        rule: Option<String>,
    ) {
        self.out.findings.push(Finding {
            location,
            segment_only: false,
            code,
            severity,
            reason,
            side: self.profile.side,
            rule,
        });
    }

    fn segment_finding(&mut self, segment: &str, occurrence: usize, code: u16, reason: String) {
        self.out.findings.push(Finding {
            location: Path::field(segment, occurrence, 1),
            segment_only: true,
            code,
            severity: Severity::Error,
            reason,
            side: self.profile.side,
            rule: None,
        });
    }
}

/// Checks a message against a profile. Data problems are findings; this never fails.
pub fn check(profile: &Profile, tables: &Tables, msg: &Message) -> CheckResult {
    let mut c = Checker {
        profile,
        tables,
        msg,
        out: CheckResult::default(),
        found: Vec::new(),
    };
    check_header(&mut c);
    let places = check_segments(&mut c);
    check_fields(&mut c, &places);
    check_context(&mut c, &places);
    if let Some(conf) = &profile.conformance {
        conf.check(
            msg,
            &profile.inline_tables,
            profile.side,
            &mut c.out.findings,
        );
    }
    c.out
}

fn msh(field: usize) -> Path {
    Path::field("MSH", 1, field)
}

fn check_header(c: &mut Checker) {
    let p = c.profile;
    let m = c.msg;
    let mt = m.message_type_text();
    if !p.message_types.is_empty() && !p.message_types.iter().any(|t| t == &mt) {
        let ty = mt.split('^').next().unwrap_or("");
        let code = if p
            .message_types
            .iter()
            .any(|t| t.split('^').next() == Some(ty))
        {
            finding::UNSUPPORTED_EVENT
        } else {
            finding::UNSUPPORTED_TYPE
        };
        let shown = if mt.is_empty() {
            "(empty)".to_string()
        } else {
            format!("`{mt}`")
        };
        c.finding(
            msh(9),
            code,
            Severity::Error,
            format!(
                "message type {shown} is not one of {}",
                p.message_types.join(", ")
            ),
            None,
        );
    }
    if !p.processing_ids.is_empty() {
        let pid = hl7::sub_value(
            m.segments[0].field_raw(11).unwrap_or(""),
            &m.delimiters,
            None,
            Some(1),
            None,
        );
        if !p.processing_ids.iter().any(|x| x == pid) {
            c.finding(
                msh(11),
                finding::UNSUPPORTED_PROCESSING,
                Severity::Error,
                format!(
                    "processing id `{pid}` is not one of {}",
                    p.processing_ids.join(", ")
                ),
                None,
            );
        }
    }
    if let Some(v) = &p.hl7_version
        && m.version() != v
    {
        c.finding(
            msh(12),
            finding::UNSUPPORTED_VERSION,
            Severity::Error,
            format!("HL7 version `{}` where {v} is expected", m.version()),
            None,
        );
    }
}

/// Segments that frame messages and batches: always known.
pub const ENVELOPE_SEGMENTS: [&str; 5] = ["MSH", "BHS", "BTS", "FHS", "FTS"];

/// How a profile regards a segment of the message.
#[derive(Clone, Copy)]
pub(crate) enum Status<'a> {
    /// Listed in the profile.
    Listed(&'a SegmentSpec),
    /// Not listed, but the standard defines it for this message: checked as
    /// the standard defines it.
    Standard,
    /// Neither listed nor defined by the standard for this message: the
    /// profile's `unknown_segments` applies.
    Unknown,
}

/// Whether the standard knows a segment for a message: the envelope always;
/// otherwise the message structure's segments, or, when the structure is not
/// known, any segment the standard defines.
pub(crate) fn standard_knows(structure: Option<&[Vec<SegName>]>, name: SegName) -> bool {
    if ENVELOPE_SEGMENTS.contains(&name.as_str()) {
        return true;
    }
    match structure {
        Some(places) => places.iter().flatten().any(|s| *s == name),
        None => names::dictionary().is_standard_segment(&name),
    }
}

/// The structure the message's MSH-9 names, if the standard defines it.
pub(crate) fn structure_of(msg: &Message) -> Option<&'static [Vec<SegName>]> {
    let raw = msg
        .segments
        .first()
        .and_then(|s| s.field_raw(9))
        .unwrap_or("");
    let d = &msg.delimiters;
    let part = |n| hl7::sub_value(raw, d, None, Some(n), None);
    names::dictionary().structure_of(part(1), part(2), part(3))
}

/// One segment of the message as the check sees it.
pub(crate) struct Place<'a> {
    pub occurrence: usize,
    pub status: Status<'a>,
}

/// Segment-level checks, one pass: cardinality of listed segments, and the
/// fate of unknown and unsupported segments. Returns each segment's place.
fn check_segments<'a>(c: &mut Checker<'a>) -> Vec<Place<'a>> {
    let p = c.profile;
    let structure = structure_of(c.msg);
    // Sized once (no segment names beyond the segments).
    let n = c.msg.segments.len();
    let mut counts: FxHashMap<SegName, usize> =
        FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut status_of: FxHashMap<SegName, Status<'a>> =
        FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut places = Vec::with_capacity(c.msg.segments.len());
    for s in &c.msg.segments {
        let n = counts.entry(s.name).or_default();
        *n += 1;
        let status = *status_of.entry(s.name).or_insert_with(|| {
            match p.segments.iter().find(|x| x.id == s.name.as_str()) {
                Some(spec) => Status::Listed(spec),
                None if standard_knows(structure, s.name) => Status::Standard,
                None => Status::Unknown,
            }
        });
        places.push(Place {
            occurrence: *n,
            status,
        });
    }
    for spec in &p.segments {
        let count = counts.get(&SegName::new(&spec.id)).copied().unwrap_or(0);
        let min = spec.min.unwrap_or(usize::from(spec.usage == Usage::R));
        if count < min {
            let name = names::dictionary().segment_name(&spec.id).unwrap_or("");
            c.segment_finding(
                &spec.id,
                1,
                finding::SEGMENT_SEQUENCE,
                format!("required segment {} ({name}) is missing", spec.id),
            );
        }
        if let Some(max) = spec.max
            && count > max
        {
            c.segment_finding(
                &spec.id,
                max + 1,
                finding::SEGMENT_SEQUENCE,
                format!(
                    "segment {} occurs {count} times; at most {max} allowed",
                    spec.id
                ),
            );
        }
    }
    for (index, place) in places.iter().enumerate() {
        let (policy, why) = match place.status {
            Status::Unknown => (p.unknown_segments, "is not in this profile"),
            Status::Listed(spec) if spec.usage == Usage::X => {
                (p.unsupported_fields, "is not supported (usage X)")
            }
            _ => continue,
        };
        unsupported_segment(c, index, place.occurrence, policy, why);
    }
    places
}

fn unsupported_segment(
    c: &mut Checker,
    index: usize,
    occurrence: usize,
    policy: Unlisted,
    why: &str,
) {
    let who = c.profile.side.as_str();
    let seg = &c.msg.segments[index];
    let name = seg.name;
    match policy {
        Unlisted::Accept => {}
        Unlisted::Reject => c.segment_finding(
            &name,
            occurrence,
            finding::SEGMENT_SEQUENCE,
            format!("segment {name} {why}; the {who} rejects it"),
        ),
        Unlisted::Ignore => {
            let reason: std::sync::Arc<str> =
                format!("segment {name} {why}; the {who} ignores it").into();
            for (i, f) in seg.fields.iter().enumerate() {
                if !f.raw.is_empty() {
                    c.out.ignored.push(Ignored {
                        path: Path::field_of(name, occurrence, i + 1),
                        reason: reason.to_string(),
                    });
                }
            }
        }
    }
}

/// A field or component rule as the check applies it: the profile's, or
/// the standard's definition for a field the profile does not list.
/// Worked out once per profile (once for the standard), not per value.
struct Spec {
    /// Without a segment occurrence.
    path: Path,
    usage: Usage,
    /// The profile's rule (its index in the profile's fields); `None`:
    /// the standard's. The rule's table, condition and type name are read
    /// from it.
    rule: Option<usize>,
    /// How its values are typed, worked out with the plan.
    typing: Typing,
    max_length: Option<usize>,
    max_length_severity: Option<Severity>,
    max_repetitions: Option<usize>,
    require_offset: Option<bool>,
}

/// How a rule's values are typed.
#[derive(Clone, Copy)]
enum Typing {
    /// The profile's type, resolved (its name is read from the rule).
    Listed(Resolved),
    /// OBX-5 or a component of it: the type OBX-2 names, else this one.
    ByObx2(Type<'static>),
    /// The standard's type for the path.
    Fixed(Type<'static>),
}

impl Typing {
    /// The standard's typing of a path (`def`: its field's definition,
    /// when the path is a whole field).
    fn standard(path: &Path, def: Option<&'static ElementDef>) -> Typing {
        let dict = names::dictionary();
        let fixed = match def {
            Some(def) => Type::of_def(def),
            None => {
                let name = standard_type(path).unwrap_or_default();
                let (kind, info) = dict.data_type(name).unwrap_or((Kind::of(name), None));
                Type { name, kind, info }
            }
        };
        if path.segment == "OBX" && path.field_number == 5 {
            Typing::ByObx2(fixed)
        } else {
            Typing::Fixed(fixed)
        }
    }
}

impl Spec {
    fn listed(i: usize, f: &FieldSpec, def: Option<&'static ElementDef>) -> Spec {
        let whole = f.path.component_number.is_none() && f.path.repetition_number.is_none();
        let def = def.filter(|_| whole);
        let dict = names::dictionary();
        Spec {
            path: f.path.clone(),
            usage: f.usage,
            rule: Some(i),
            typing: match f.data_type.as_deref() {
                Some(name) => {
                    Typing::Listed(dict.data_type(name).unwrap_or((Kind::of(name), None)))
                }
                None => Typing::standard(&f.path, def),
            },
            max_length: f.max_length,
            max_length_severity: f.max_length_severity,
            // Silent on repetitions: the standard's.
            max_repetitions: f
                .max_repetitions
                .or_else(|| def.and_then(|d| d.max_repetitions)),
            require_offset: f.require_offset,
        }
    }

    fn standard(segment: SegName, number: usize, def: &'static ElementDef) -> Spec {
        let path = Path {
            segment_number: None,
            ..Path::field_of(segment, 1, number)
        };
        Spec {
            typing: Typing::standard(&path, Some(def)),
            path,
            usage: if def.required { Usage::R } else { Usage::O },
            rule: None,
            max_length: None,
            max_length_severity: None,
            max_repetitions: def.max_repetitions,
            require_offset: None,
        }
    }

    /// Whether the rule is the standard's, not the profile's.
    fn is_standard(&self) -> bool {
        self.rule.is_none()
    }
}

/// One field number of a segment, as the check walks it.
struct Step {
    /// The field-level rule: the profile's, else the standard's; `None`
    /// when neither has one.
    field: Option<Spec>,
    /// Where the profile's component- and repetition-level rules under the
    /// field stand in [`Plan::parts`].
    parts: std::ops::Range<usize>,
    /// Whether the field-level rule may require the field (usage R or C).
    may_be_required: bool,
}

/// A segment's field checks in field order, worked out when the profile is
/// indexed (or, for a segment the profile has no rules for, once from the
/// standard): a check walks it with no lookup per field.
pub(crate) struct Plan {
    steps: Vec<Step>,
    parts: Vec<Spec>,
    /// Past this field number an empty field has nothing to check.
    last_needed: usize,
}

impl Plan {
    /// The plan of one segment from its field-level rules (by field number)
    /// and the rules under each field (both indexes into `specs`).
    fn of(
        segment: SegName,
        fields: &[Option<usize>],
        parts: &[Vec<usize>],
        specs: &[FieldSpec],
    ) -> Plan {
        let standard = names::dictionary().segment_fields(segment);
        let n = standard.len().max(fields.len()).max(parts.len());
        let mut plan = Plan {
            steps: Vec::with_capacity(n),
            parts: Vec::new(),
            last_needed: 0,
        };
        for number in 1..=n {
            let def = standard.get(number - 1).and_then(Option::as_ref);
            let field = match fields.get(number - 1).copied().flatten() {
                Some(i) => Some(Spec::listed(i, &specs[i], def)),
                None => def.map(|d| Spec::standard(segment, number, d)),
            };
            let start = plan.parts.len();
            for &i in parts.get(number - 1).map_or(&[][..], Vec::as_slice) {
                plan.parts.push(Spec::listed(i, &specs[i], None));
            }
            let may_be_required = field
                .as_ref()
                .is_some_and(|s| matches!(s.usage, Usage::R | Usage::C));
            if may_be_required || start < plan.parts.len() {
                plan.last_needed = number;
            }
            plan.steps.push(Step {
                field,
                parts: start..plan.parts.len(),
                may_be_required,
            });
        }
        plan
    }

    /// The plan of every segment the standard defines, for a segment the
    /// profile has no field rules for: built once.
    fn standard(segment: SegName) -> &'static Plan {
        static PLANS: std::sync::OnceLock<FxHashMap<SegName, Plan>> = std::sync::OnceLock::new();
        static EMPTY: Plan = Plan {
            steps: Vec::new(),
            parts: Vec::new(),
            last_needed: 0,
        };
        PLANS
            .get_or_init(|| {
                names::dictionary()
                    .segments()
                    .map(|s| (s, Plan::of(s, &[], &[], &[])))
                    .collect()
            })
            .get(&segment)
            .unwrap_or(&EMPTY)
    }
}

/// Field checks, one pass over the segments: every field of every segment
/// the profile lists or the standard defines, as listed or as the standard says.
fn check_fields(c: &mut Checker, places: &[Place]) {
    let p = c.profile;
    let m = c.msg;
    let rules = p.rule_index.get(&p.fields);
    for (at, (seg, place)) in m.segments.iter().zip(places).enumerate() {
        let unlisted = match place.status {
            Status::Listed(s) if s.usage == Usage::X => continue,
            Status::Listed(s) => s.unlisted_fields,
            Status::Standard => Unlisted::Accept,
            Status::Unknown => continue,
        };
        let plan = rules.plan(seg.name);
        let count = seg.fields.len().max(plan.last_needed);
        // MSH-1 and MSH-2 are the delimiters: read, not checked.
        let first = if seg.name == "MSH" { 3 } else { 1 };
        let occ = place.occurrence;
        for number in first..=count {
            let populated = seg.field_raw(number).is_some_and(|r| !r.is_empty());
            let Some(step) = plan.steps.get(number - 1) else {
                // Neither the profile nor the standard has a rule for it.
                if populated && unlisted != Unlisted::Accept {
                    unlisted_field(c, seg.name, occ, number, unlisted);
                }
                continue;
            };
            let parts = plan.parts.get(step.parts.clone()).unwrap_or(&[]);
            // An empty field nothing can require has nothing to check.
            if !populated && parts.is_empty() && !step.may_be_required {
                continue;
            }
            match &step.field {
                Some(spec) if !spec.is_standard() => check_field(c, spec, occ, at),
                field => {
                    if populated && unlisted != Unlisted::Accept && parts.is_empty() {
                        unlisted_field(c, seg.name, occ, number, unlisted);
                        continue;
                    }
                    if let Some(spec) = field {
                        check_field(c, spec, occ, at);
                    }
                }
            }
            for spec in parts {
                check_field(c, spec, occ, at);
            }
        }
    }
}

/// A profile's field checks: the plan of each segment it has field rules
/// for (the standard's rules merged in).
pub(crate) struct FieldRules(FxHashMap<SegName, Plan>);

/// A profile rule's data type as the check reads it: how its values are
/// checked and, for a composite, what that needs.
type Resolved = (Kind, Option<&'static TypeInfo>);

impl FieldRules {
    pub(crate) fn of(specs: &[FieldSpec]) -> FieldRules {
        // Per segment: the field-level rule of each field number and the
        // rules under each field.
        type Listed = (Vec<Option<usize>>, Vec<Vec<usize>>);
        let mut by_segment: FxHashMap<SegName, Listed> = FxHashMap::default();
        for (i, f) in specs.iter().enumerate() {
            let (fields, parts) = by_segment.entry(f.path.segment).or_default();
            let n = f.path.field_number;
            if n == 0 {
                continue;
            }
            if fields.len() < n {
                fields.resize(n, None);
                parts.resize(n, Vec::new());
            }
            if f.path.component_number.is_none() && f.path.repetition_number.is_none() {
                fields[n - 1] = Some(i);
            } else {
                parts[n - 1].push(i);
            }
        }
        FieldRules(
            by_segment
                .into_iter()
                .map(|(s, (fields, parts))| (s, Plan::of(s, &fields, &parts, specs)))
                .collect(),
        )
    }

    fn plan(&self, segment: SegName) -> &Plan {
        self.0
            .get(&segment)
            .unwrap_or_else(|| Plan::standard(segment))
    }
}

fn unlisted_field(c: &mut Checker, segment: SegName, occ: usize, number: usize, policy: Unlisted) {
    let path = Path::field_of(segment, occ, number);
    let name = names::dictionary().path_name(&path);
    let who = c.profile.side.as_str();
    match policy {
        Unlisted::Ignore => c.out.ignored.push(Ignored {
            reason: format!(
                "{} ({name}) is not in the {who}'s profile; the {who} ignores it",
                path.display_canonical()
            ),
            path,
        }),
        Unlisted::Reject => {
            let reason = format!(
                "{} ({name}) is not in the {who}'s profile",
                path.display_canonical()
            );
            c.finding(
                path,
                finding::SEGMENT_SEQUENCE,
                Severity::Error,
                reason,
                None,
            )
        }
        Unlisted::Accept => {}
    }
}

/// `PID-5 (Patient Name)`, written only when a finding is.
struct Label<'a> {
    spec: &'a Path,
    at: &'a Path,
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = names::dictionary().path_name(self.spec);
        if name.is_empty() {
            write!(f, "{}", self.at.display_canonical())
        } else {
            write!(f, "{} ({name})", self.at.display_canonical())
        }
    }
}

/// The data type a value is checked as: the profile's, else for OBX-5 the
/// type OBX-2 names (HL7 v2 "varies"), else the standard's; with what
/// checking that type needs. Borrowed: no string is made per field.
fn effective_type<'a>(
    spec: &Spec,
    rule: Option<&'a FieldSpec>,
    seg: &'a hl7::Segment,
    d: &hl7::Delimiters,
) -> Type<'a> {
    match spec.typing {
        Typing::Listed((kind, info)) => Type {
            name: rule
                .and_then(|r| r.data_type.as_deref())
                .unwrap_or_default(),
            kind,
            info,
        },
        Typing::ByObx2(standard) => dynamic_type(&spec.path, seg, d).unwrap_or(standard),
        Typing::Fixed(standard) => standard,
    }
}

/// OBX-5 (and its components) typed by OBX-2 of the same segment.
fn dynamic_type<'a>(path: &Path, seg: &'a hl7::Segment, d: &hl7::Delimiters) -> Option<Type<'a>> {
    if path.segment != "OBX" || path.field_number != 5 || seg.name != "OBX" {
        return None;
    }
    let named = hl7::sub_value(seg.field_raw(2).unwrap_or(""), d, None, Some(1), None);
    let dict = names::dictionary();
    let (kind, info) = dict.data_type(named)?;
    match path.component_number {
        None => Some(Type {
            name: named,
            kind,
            info,
        }),
        Some(c) => dict.component(named, c).map(Type::of_def),
    }
}

/// Checks one field rule at one occurrence of its segment (at `index` in the message).
fn check_field<'a>(c: &mut Checker<'a>, spec: &Spec, occ: usize, index: usize) {
    let m = c.msg;
    // The profile's rule, for what the plan does not copy (table,
    // condition, type name).
    let rule = spec.rule.and_then(|i| c.profile.fields.get(i));
    let when = rule.and_then(|r| r.when.as_ref());
    let d = m.delimiters;
    let seg = &m.segments[index];
    let path = spec.path.at_occurrence(occ);
    let field_raw = seg.field_raw(path.field_number).unwrap_or("");
    let raw = hl7::sub_value(
        field_raw,
        &d,
        path.repetition_number,
        path.component_number,
        path.subcomponent_number,
    );
    let label = Label {
        spec: &spec.path,
        at: &path,
    };
    // Evaluated only for an empty value (a condition may read other fields).
    let required = || match spec.usage {
        Usage::R => true,
        Usage::C => when.is_some_and(|w| w.holds_in(m, index, &path.segment, occ)),
        _ => false,
    };
    // A component of a missing field: the field's own rule reports it.
    let field_missing = path.component_number.is_some() && field_raw.is_empty();
    if raw.is_empty() {
        if !field_missing && required() {
            let why = match (&spec.usage, when) {
                (Usage::C, Some(w)) => format!(" when {}", w.describe()),
                _ if spec.is_standard() => " (required by the HL7 standard)".to_string(),
                _ => String::new(),
            };
            c.finding(
                path.clone(),
                finding::REQUIRED_MISSING,
                Severity::Error,
                format!("required field {label} is missing{why}"),
                None,
            );
        }
        return;
    }
    if spec.usage == Usage::X {
        let who = c.profile.side.as_str();
        match c.profile.unsupported_fields {
            Unlisted::Ignore => c.out.ignored.push(Ignored {
                path: path.clone(),
                reason: format!(
                    "{label} is not supported by the {who} (usage X); the {who} ignores it"
                ),
            }),
            Unlisted::Reject => c.finding(
                path.clone(),
                finding::SEGMENT_SEQUENCE,
                Severity::Error,
                format!("{label} is not supported by the {who} (usage X)"),
                None,
            ),
            Unlisted::Accept => {}
        }
        return;
    }
    if raw == "\"\"" {
        return; // explicit null
    }
    let whole_field = spec.path.component_number.is_none() && spec.path.repetition_number.is_none();
    // Repetitions counted, then walked: no list is made per field. Most
    // fields do not repeat: one search tells, and the value is walked whole.
    let repeats = whole_field && hl7::holds(raw, d.repetition);
    let rep_count = if repeats {
        hl7::count_parts(raw, d.repetition)
    } else {
        1
    };
    let reps = || hl7::split_parts(raw, repeats.then_some(d.repetition));
    if let Some(max) = spec.max_repetitions
        && rep_count > max
    {
        let by = if spec.is_standard() {
            "the HL7 standard"
        } else {
            c.profile.side.as_str()
        };
        c.finding(
            Path {
                repetition_number: Some(max as u32 + 1),
                ..path.clone()
            },
            finding::DATA_TYPE,
            Severity::Error,
            format!("{label} repeats {rep_count} times; the {by} allows at most {max}"),
            None,
        );
    }
    let ty = effective_type(spec, rule, seg, &d);
    let value = Value {
        label: &label,
        ty: &ty,
        table: rule.and_then(|r| r.table.as_deref()),
        require_offset: spec
            .require_offset
            .unwrap_or(c.profile.timestamps_require_offset),
    };
    if !repeats {
        // One value, neither empty nor null (both returned above).
        check_value(c, spec, &path, raw, &value);
        return;
    }
    for (i, rep) in reps().enumerate() {
        if rep.is_empty() || rep == "\"\"" {
            continue;
        }
        let loc = Path {
            repetition_number: Some(i as u32 + 1),
            ..path.clone()
        };
        check_value(c, spec, &loc, rep, &value);
    }
}

/// What every repetition of a field is checked as.
struct Value<'l, 'a> {
    label: &'l Label<'l>,
    ty: &'l Type<'a>,
    /// The value set the profile's rule names.
    table: Option<&'a str>,
    require_offset: bool,
}

/// Checks one repetition (or the one value) of a field: its length, then its type.
fn check_value<'a>(c: &mut Checker<'a>, spec: &Spec, loc: &Path, rep: &str, v: &Value<'_, 'a>) {
    let label = v.label;
    if let Some(max) = spec.max_length {
        let len = hl7::unescape(rep, &c.msg.delimiters).chars().count();
        if len > max {
            c.finding(
                loc.clone(),
                finding::VALUE_TOO_LONG,
                spec.max_length_severity.unwrap_or(Severity::Error),
                format!(
                    "{label} is {len} characters long; the {} allows {max}",
                    c.profile.side.as_str()
                ),
                None,
            );
        }
    }
    check_type(c, loc, rep, v);
}

/// The standard's data type for a path (of the component, when one is named).
pub(crate) fn standard_type(path: &Path) -> Option<&'static str> {
    let dict = names::dictionary();
    let field = dict.field_of(path.segment, path.field_number)?;
    match path.component_number {
        None => Some(field.data_type.as_str()),
        Some(c) => dict
            .component(&field.data_type, c)
            .map(|x| x.data_type.as_str()),
    }
}

fn is_number(v: &str) -> bool {
    let v = v.strip_prefix(['+', '-']).unwrap_or(v);
    let mut parts = v.splitn(2, '.');
    let a = parts.next().unwrap_or("");
    let b = parts.next();
    let digits = |s: &str| s.bytes().all(|x| x.is_ascii_digit());
    (!a.is_empty() || b.is_some_and(|b| !b.is_empty())) && digits(a) && b.is_none_or(digits)
}

/// Checks a date/time value: a real calendar date, DT without a time, and
/// the UTC offset when the profile requires one.
/// What every finding about a missing UTC offset says.
pub(crate) const NO_OFFSET: &str = "has no UTC offset";

fn check_time(
    c: &mut Checker,
    loc: &Path,
    label: &dyn std::fmt::Display,
    text: &str,
    date_only: bool,
    require_offset: bool,
) {
    match Timestamp::parse(text) {
        Err(e) => c.finding(
            loc.clone(),
            finding::DATA_TYPE,
            Severity::Error,
            format!("{label}: {e}"),
            None,
        ),
        Ok(ts) => {
            if date_only && ts.has_time() {
                c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: `{text}` has a time; DT is a date only"),
                    None,
                );
            } else if require_offset && ts.has_time() && ts.offset_minutes.is_none() {
                let sev = c.profile.offset_severity;
                c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    sev,
                    format!(
                        "{label}: timestamp `{text}` {NO_OFFSET} (+/-ZZZZ); the {} requires one",
                        c.profile.side.as_str()
                    ),
                    None,
                );
            }
        }
    }
}

/// A data type as a value is checked: its name and, for a composite, what
/// its check needs.
#[derive(Clone, Copy)]
struct Type<'a> {
    name: &'a str,
    kind: Kind,
    info: Option<&'a TypeInfo>,
}

impl<'a> Type<'a> {
    fn of_def(def: &'a ElementDef) -> Type<'a> {
        Type {
            name: def.data_type.as_str(),
            kind: def.kind,
            info: def.info.as_ref(),
        }
    }
}

fn check_type<'a>(c: &mut Checker<'a>, loc: &Path, raw: &str, v: &Value<'_, 'a>) {
    let (label, ty, table, require_offset) = (v.label, v.ty, v.table, v.require_offset);
    let d = c.msg.delimiters;
    // `raw` is one repetition (check_field splits them). A component is
    // read up to its separator when asked for: most checks read the first
    // one or two, and counting a composite's separators is one scan.
    let info = ty.info;
    let defined = info.map_or(0, |i| i.components);
    let part = |n: u32| -> &str { hl7::part(raw, d.component, n) };
    let comp = |n: u32| hl7::unescape(part(n), &d);
    let at = |n: u32| Path {
        component_number: Some(n),
        ..loc.clone()
    };
    let value = || hl7::unescape(raw, &d);
    // A composite value may not have more components than its type defines
    // (counted only for a composite, the only types it is checked for).
    let given = if defined > 1 {
        hl7::count_parts(raw, d.component)
    } else {
        0
    };
    if defined > 1 && given > defined {
        c.finding(
            loc.clone(),
            finding::DATA_TYPE,
            Severity::Error,
            format!(
                "{label}: {given} components where {} has {defined}",
                ty.name
            ),
            None,
        );
    }
    match ty.kind {
        Kind::Number => {
            let value = value();
            if !is_number(&value) {
                c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: `{value}` is not a number (NM)"),
                    None,
                );
            }
        }
        Kind::SequenceId => {
            let value = value();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: `{value}` is not a sequence number (SI)"),
                    None,
                );
            }
        }
        Kind::Ts | Kind::Dtm | Kind::Dt => {
            let text = if ty.kind == Kind::Ts {
                comp(1)
            } else {
                value()
            };
            check_time(c, loc, label, &text, ty.kind == Kind::Dt, require_offset);
        }
        Kind::Ce | Kind::Cwe | Kind::Cne => {
            let cne = ty.kind == Kind::Cne;
            let code = comp(1);
            if code.is_empty() {
                // The text may be the alternate's, or (CWE/CNE) the original text in .9.
                let text = [2, 5, 9]
                    .into_iter()
                    .filter(|&i| i != 9 || ty.kind != Kind::Ce)
                    .map(&comp)
                    .find(|t| !t.trim().is_empty())
                    .unwrap_or_default();
                let alternate_code = comp(4);
                if alternate_code.is_empty() && text.is_empty() {
                    c.finding(
                        loc.clone(),
                        finding::DATA_TYPE,
                        Severity::Error,
                        format!("{label}: neither a code nor a text is given"),
                        None,
                    );
                } else if !alternate_code.is_empty() {
                    // Coded in the alternate coding system only: nothing to look up in the table.
                } else if table.is_some() || cne {
                    c.finding(
                        at(1),
                        finding::TABLE_VALUE,
                        Severity::Error,
                        format!(
                            "{label}: free text `{text}` where a code{} is expected",
                            table.map(|t| format!(" from {t}")).unwrap_or_default()
                        ),
                        None,
                    );
                }
            } else if cne && comp(3).is_empty() {
                c.finding(at(3), finding::DATA_TYPE, Severity::Error, format!("{label}: `{code}` has no coding system (CNE.3); free text where a coded value is expected"), None);
            } else if let Some(t) = table {
                check_code(c, &at(1), label, &code, t);
            }
        }
        Kind::Code => {
            if let Some(t) = table {
                let code = comp(1);
                check_code(c, loc, label, &code, t);
            }
        }
        Kind::Cx => {
            if comp(1).is_empty() {
                c.finding(
                    at(1),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: the identifier (CX.1) is empty"),
                    None,
                );
            }
        }
        Kind::Hd => {
            if comp(1).is_empty() && comp(2).is_empty() {
                c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: neither a namespace nor a universal id (HD)"),
                    None,
                );
            }
        }
        Kind::Ei => {
            if comp(1).is_empty() {
                c.finding(
                    at(1),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: the entity identifier (EI.1) is empty"),
                    None,
                );
            }
        }
        Kind::Other => {
            if let Some(t) = table {
                check_code(c, loc, label, &value(), t);
            }
        }
    }
    // Dates and times inside composite values (XCN-? TS, DR, TQ start…).
    if let Some(info) = info
        && defined > 1
        && ty.kind != Kind::Ts
        && loc.component_number.is_none()
    {
        for &n in info.times.iter().filter(|&&n| n as usize <= given) {
            let Some(def) = names::dictionary().component(ty.name, n) else {
                continue;
            };
            let part = part(n);
            let text = if def.kind == Kind::Ts {
                hl7::unescape(hl7::sub_value(part, &d, None, Some(1), Some(1)), &d).into_owned()
            } else {
                hl7::unescape(part, &d).into_owned()
            };
            if text.is_empty() || text == "\"\"" {
                continue;
            }
            let sub_label = format!("{label}.{n} ({})", def.name);
            check_time(
                c,
                &at(n),
                &sub_label,
                &text,
                def.kind == Kind::Dt,
                require_offset,
            );
        }
    }
}

fn check_code<'a>(c: &mut Checker<'a>, loc: &Path, label: &Label, code: &str, table: &'a str) {
    let Some(t) = c.table(table) else {
        return;
    };
    if !t.codes.contains_key(code) {
        let name = if t.name.is_empty() {
            table.to_string()
        } else {
            format!("{table} {}", t.name)
        };
        c.finding(
            loc.clone(),
            finding::TABLE_VALUE,
            Severity::Error,
            format!("{label}: `{code}` is not in {name}"),
            None,
        );
    }
}

fn check_context(c: &mut Checker, places: &[Place]) {
    let m = c.msg;
    if c.profile.context.is_empty() {
        return;
    }
    let mut first: FxHashMap<SegName, usize> =
        FxHashMap::with_capacity_and_hasher(m.segments.len(), Default::default());
    for (i, s) in m.segments.iter().enumerate() {
        first.entry(s.name).or_insert(i);
    }
    for rule in &c.profile.context {
        // Evaluate once per occurrence of the segment of the first required path.
        let seg = rule.require[0].segment;
        let indexes: Vec<Option<usize>> = places
            .iter()
            .enumerate()
            .filter(|(i, _)| m.segments[*i].name == seg)
            .map(|(i, _)| Some(i))
            .collect();
        let indexes = if indexes.is_empty() {
            if rule.when.is_some() {
                continue;
            }
            vec![None]
        } else {
            indexes
        };
        for index in indexes {
            let occ = index.map_or(1, |i| places[i].occurrence);
            if let Some(w) = &rule.when
                && !index.is_some_and(|i| w.holds_in(m, i, &seg, occ))
            {
                continue;
            }
            for req in &rule.require {
                let same = req.segment == seg && req.segment_number.is_none();
                let path = if same {
                    req.at_occurrence(occ)
                } else {
                    req.clone()
                };
                let value = match (same, index) {
                    (true, Some(i)) => m.get_in(i, &path),
                    (false, _) if req.segment_number.is_none() => {
                        first.get(&req.segment).map_or("", |&i| m.get_in(i, &path))
                    }
                    _ => m.get_or_empty(&path),
                };
                if value.is_empty() {
                    let cond = rule.when.as_ref().map(|w| {
                        format!(
                            " (when {})",
                            match w.first_path() {
                                Some(p) => w.describe().replace(
                                    &p.to_string(),
                                    &p.at_occurrence(occ).display_canonical()
                                ),
                                None => w.describe(),
                            }
                        )
                    });
                    c.finding(
                        path.clone(),
                        finding::REQUIRED_MISSING,
                        rule.severity,
                        format!(
                            "{} is missing: {}{}",
                            path.display_canonical(),
                            rule.reason,
                            cond.unwrap_or_default()
                        ),
                        Some(rule.id.clone()),
                    );
                }
            }
        }
    }
}
