//! A side's profile: what a sender emits or a receiver accepts, and the
//! check of a message against it. Format: see README, "Profile files".

use std::path::Path as FsPath;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{LoadError, invalid_at, parse_toml};
use crate::finding::{self, Finding, Severity, Side};
use crate::hl7::datetime::Timestamp;
use crate::hl7::{self, Message, Path, names};
use crate::table::Tables;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Usage {
    /// Required.
    R,
    /// Required but may be empty.
    RE,
    /// Optional.
    O,
    /// Conditional: required when its condition holds.
    C,
    /// Not supported.
    X,
}

/// What happens to something the profile does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unlisted {
    /// Taken as it is.
    #[default]
    Accept,
    /// Silently ignored by the system: Baton reports the fields as dropped.
    Ignore,
    /// Rejected with an error.
    Reject,
}

/// A condition on a value: `when = { path = "OBX-2", equals = "NM" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub path: Path,
    /// Holds when the value equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Holds when the value is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// `true`: holds when the value is populated; `false`: when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

impl Condition {
    /// Evaluates the condition in a message, reading the path's segment at
    /// `occurrence` when it is the segment being checked.
    pub fn holds(&self, msg: &Message, segment: &str, occurrence: usize) -> bool {
        let path = if self.path.segment == segment && self.path.segment_number.is_none() {
            self.path.at_occurrence(occurrence)
        } else {
            self.path.clone()
        };
        let value = hl7::unescape(msg.get_or_empty(&path), &msg.delimiters);
        if let Some(eq) = &self.equals {
            return value == eq.as_str();
        }
        if let Some(list) = &self.one_of {
            return list.iter().any(|v| *v == value);
        }
        match self.present {
            Some(false) => value.is_empty(),
            _ => !value.is_empty(),
        }
    }

    pub fn describe(&self) -> String {
        if let Some(eq) = &self.equals {
            format!("{} = {eq}", self.path)
        } else if let Some(list) = &self.one_of {
            format!("{} in [{}]", self.path, list.join(", "))
        } else if self.present == Some(false) {
            format!("{} is empty", self.path)
        } else {
            format!("{} is populated", self.path)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    pub id: String,
    pub usage: Usage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    /// Most occurrences; absent: unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
    /// What happens to populated fields this profile does not list for the segment.
    #[serde(default)]
    pub unlisted_fields: Unlisted,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub path: Path,
    pub usage: Usage,
    /// HL7 data type; absent: the standard's type for the field.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Longest value in characters (unescaped, per repetition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// How serious a value over `max_length` is (default: error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length_severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repetitions: Option<usize>,
    /// Value set (a table id) the code must come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// An inline value set, instead of `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// For usage C: when the field is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Overrides the profile's `timestamps_require_offset` for this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_offset: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A context requirement: when a condition holds, other fields must be populated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    pub require: Vec<Path>,
    #[serde(default = "default_error")]
    pub severity: Severity,
    pub reason: String,
}

fn default_error() -> Severity {
    Severity::Error
}

/// The validated profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub name: String,
    pub side: Side,
    pub system: String,
    pub hl7_version: Option<String>,
    pub message_types: Vec<String>,
    pub processing_ids: Vec<String>,
    pub unknown_segments: Unlisted,
    pub unsupported_fields: Unlisted,
    pub timestamps_require_offset: bool,
    pub offset_severity: Severity,
    pub segments: Vec<SegmentSpec>,
    pub fields: Vec<FieldSpec>,
    pub context: Vec<ContextRule>,
    /// Value sets written inline in field specs (`values = [...]`).
    pub inline_tables: Tables,
    /// Conformance statements, predicates and datatype-level bindings of an
    /// imported NIST profile, evaluated on the message's group structure.
    #[serde(skip)]
    pub conformance: Option<std::sync::Arc<crate::conformance::Conformance>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    side: Side,
    #[serde(default)]
    system: String,
    #[serde(default)]
    hl7_version: Option<String>,
    #[serde(default)]
    message_types: Vec<String>,
    #[serde(default)]
    processing_ids: Vec<String>,
    #[serde(default)]
    unknown_segments: Unlisted,
    /// What happens to a populated field whose usage is X.
    #[serde(default = "default_ignore")]
    unsupported_fields: Unlisted,
    #[serde(default)]
    timestamps_require_offset: bool,
    #[serde(default = "default_error")]
    offset_severity: Severity,
}

fn default_ignore() -> Unlisted {
    Unlisted::Ignore
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    profile: RawHeader,
    #[serde(default)]
    segment: Vec<Spanned<SegmentSpec>>,
    #[serde(default)]
    field: Vec<Spanned<FieldSpec>>,
    #[serde(default)]
    context: Vec<Spanned<ContextRule>>,
}

impl Profile {
    /// Reads and validates a profile file; table ids must exist in `tables`.
    pub fn load(path: &FsPath, text: &str, tables: &Tables) -> Result<Profile, LoadError> {
        let raw: RawProfile = parse_toml(path, text)?;
        let mut segments = Vec::new();
        for s in raw.segment {
            let span = s.span();
            let s = s.into_inner();
            if s.id.len() != 3
                || !s
                    .id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "segment id `{}` must be three upper-case letters or digits",
                        s.id
                    ),
                ));
            }
            if segments.iter().any(|x: &SegmentSpec| x.id == s.id) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("segment {} is listed twice", s.id),
                ));
            }
            if let (Some(min), Some(max)) = (s.min, s.max)
                && min > max
            {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("segment {}: min {min} is more than max {max}", s.id),
                ));
            }
            segments.push(s);
        }
        let mut fields = Vec::new();
        let mut inline_tables = Tables::default();
        for f in raw.field {
            let span = f.span();
            let mut f = f.into_inner();
            if let Some(values) = f.values.take() {
                if f.table.is_some() {
                    return Err(invalid_at(
                        path,
                        text,
                        span,
                        format!(
                            "field {}: give either `table` or `values`, not both",
                            f.path
                        ),
                    ));
                }
                let id = format!("{} values", f.path);
                inline_tables.tables.insert(
                    id.clone(),
                    crate::table::Table {
                        id: id.clone(),
                        name: String::new(),
                        codes: values.into_iter().map(|v| (v, String::new())).collect(),
                    },
                );
                f.table = Some(id);
                fields.push(f);
                continue;
            }
            if let Some(t) = &f.table
                && tables.table(t).is_none()
            {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "field {}: table `{t}` is not defined in the workspace's tables (known: {})",
                        f.path,
                        known(tables.tables.keys())
                    ),
                ));
            }
            if f.usage == Usage::C && f.when.is_none() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("field {}: usage C needs a `when` condition", f.path),
                ));
            }
            if f.path.segment_number.is_some() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "field {}: a profile names fields without a segment occurrence; it applies to every occurrence",
                        f.path
                    ),
                ));
            }
            fields.push(f);
        }
        let mut context = Vec::new();
        for c in raw.context {
            let span = c.span();
            let c = c.into_inner();
            if c.require.is_empty() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "context `{}` requires nothing: list paths in `require`",
                        c.id
                    ),
                ));
            }
            context.push(c);
        }
        let h = raw.profile;
        Ok(Profile {
            name: h.name,
            side: h.side,
            system: h.system,
            hl7_version: h.hl7_version,
            message_types: h.message_types,
            processing_ids: h.processing_ids,
            unknown_segments: h.unknown_segments,
            unsupported_fields: h.unsupported_fields,
            timestamps_require_offset: h.timestamps_require_offset,
            offset_severity: h.offset_severity,
            segments,
            fields,
            context,
            inline_tables,
            conformance: None,
        })
    }

    pub fn segment(&self, id: &str) -> Option<&SegmentSpec> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// The field-level spec for a field, if listed.
    pub fn field(&self, segment: &str, number: usize) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| {
            f.path.segment == segment
                && f.path.field_number == number
                && f.path.component_number.is_none()
        })
    }
}

pub(crate) fn known<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = keys.map(String::as_str).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

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
    };
    check_header(&mut c);
    check_segments(&mut c);
    check_fields(&mut c);
    check_context(&mut c);
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
    let mt = m.message_type();
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

fn check_segments(c: &mut Checker) {
    let p = c.profile;
    for spec in &p.segments {
        let count = c.msg.segment_count(&spec.id);
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
        if spec.usage == Usage::X && count > 0 {
            handle_unsupported_segment(
                c,
                &spec.id,
                p.unsupported_fields,
                "is not supported (usage X)",
            );
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for s in &c.msg.segments {
        if p.segment(&s.name).is_none() && !seen.contains(&s.name.as_str()) {
            seen.push(&s.name);
            handle_unsupported_segment(c, &s.name, p.unknown_segments, "is not in this profile");
        }
    }
}

fn handle_unsupported_segment(c: &mut Checker, name: &str, policy: Unlisted, why: &str) {
    let who = c.profile.side.as_str();
    match policy {
        Unlisted::Accept => {}
        Unlisted::Reject => {
            for n in 1..=c.msg.segment_count(name) {
                c.segment_finding(
                    name,
                    n,
                    finding::SEGMENT_SEQUENCE,
                    format!("segment {name} {why}; the {who} rejects it"),
                );
            }
        }
        Unlisted::Ignore => {
            let ignored: Vec<Path> = c
                .msg
                .populated_fields()
                .into_iter()
                .filter(|f| f.path.segment == name)
                .map(|f| f.path)
                .collect();
            for path in ignored {
                c.out.ignored.push(Ignored {
                    path,
                    reason: format!("segment {name} {why}; the {who} ignores it"),
                });
            }
        }
    }
}

fn check_fields(c: &mut Checker) {
    let p = c.profile;
    let m = c.msg;
    // Fields the profile does not list, in segments that say what to do with them.
    let closed = p
        .segments
        .iter()
        .any(|s| s.unlisted_fields != Unlisted::Accept);
    for f in m.populated_fields().into_iter().filter(|_| closed) {
        let Some(seg) = p.segment(&f.path.segment) else {
            continue;
        };
        if seg.unlisted_fields == Unlisted::Accept
            || p.fields
                .iter()
                .any(|s| s.path.segment == seg.id && s.path.field_number == f.path.field_number)
        {
            continue;
        }
        if f.path.segment == "MSH" && f.path.field_number <= 2 {
            continue;
        }
        let name = names::dictionary().path_name(&f.path);
        let who = p.side.as_str();
        match seg.unlisted_fields {
            Unlisted::Ignore => c.out.ignored.push(Ignored {
                path: f.path.clone(),
                reason: format!(
                    "{} ({name}) is not in the {who}'s profile; the {who} ignores it",
                    f.path.display_canonical()
                ),
            }),
            Unlisted::Reject => c.finding(
                f.path.clone(),
                finding::SEGMENT_SEQUENCE,
                Severity::Error,
                format!(
                    "{} ({name}) is not in the {who}'s profile",
                    f.path.display_canonical()
                ),
                None,
            ),
            Unlisted::Accept => {}
        }
    }
    for spec in &p.fields {
        let mut occ = 0;
        for (index, seg) in m.segments.iter().enumerate() {
            if seg.name == spec.path.segment {
                occ += 1;
                check_field(c, spec, occ, index);
            }
        }
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

/// Checks one field spec at one occurrence of its segment (at `index` in the message).
fn check_field(c: &mut Checker, spec: &FieldSpec, occ: usize, index: usize) {
    let m = c.msg;
    let d = m.delimiters;
    let path = spec.path.at_occurrence(occ);
    let field_raw = m.segments[index].field_raw(path.field_number).unwrap_or("");
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
    let required = match spec.usage {
        Usage::R => true,
        Usage::C => spec
            .when
            .as_ref()
            .is_some_and(|w| w.holds(m, &path.segment, occ)),
        _ => false,
    };
    // A component of a missing field: the field's own spec reports it.
    let field_missing = path.component_number.is_some() && field_raw.is_empty();
    if raw.is_empty() {
        if required && !field_missing {
            let why = match (&spec.usage, &spec.when) {
                (Usage::C, Some(w)) => format!(" when {}", w.describe()),
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
    if raw == "\"\"" || (path.segment == "MSH" && path.field_number <= 2) {
        return; // explicit null; the delimiters are checked when the message is read
    }
    let data_type = spec
        .data_type
        .clone()
        .or_else(|| standard_type(&spec.path))
        .unwrap_or_default();
    let whole_field = spec.path.component_number.is_none() && spec.path.repetition_number.is_none();
    let reps: smallvec::SmallVec<[&str; 4]> = if whole_field {
        raw.split(d.repetition).collect()
    } else {
        smallvec::smallvec![raw]
    };
    if let Some(max) = spec.max_repetitions
        && reps.len() > max
    {
        c.finding(
            path.clone(),
            finding::DATA_TYPE,
            Severity::Error,
            format!(
                "{label} repeats {} times; at most {max} allowed",
                reps.len()
            ),
            None,
        );
    }
    for (i, rep) in reps.iter().enumerate() {
        if rep.is_empty() {
            continue;
        }
        let loc = if reps.len() > 1 {
            Path {
                repetition_number: Some(i as u32 + 1),
                ..path.clone()
            }
        } else {
            path.clone()
        };
        if let Some(max) = spec.max_length {
            let len = hl7::unescape(rep, &d).chars().count();
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
        let require_offset = spec
            .require_offset
            .unwrap_or(c.profile.timestamps_require_offset);
        check_type(
            c,
            &loc,
            &label,
            rep,
            &data_type,
            spec.table.as_deref(),
            require_offset,
        );
    }
}

/// The standard's data type for a path (of the component, when one is named).
fn standard_type(path: &Path) -> Option<String> {
    let dict = names::dictionary();
    let field = dict.field(&path.segment, path.field_number)?;
    match path.component_number {
        None => Some(field.data_type.clone()),
        Some(c) => dict
            .component(&field.data_type, c)
            .map(|x| x.data_type.clone()),
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

fn check_type(
    c: &mut Checker,
    loc: &Path,
    label: &Label,
    raw: &str,
    data_type: &str,
    table: Option<&str>,
    require_offset: bool,
) {
    let d = c.msg.delimiters;
    let comp = |n: u32| hl7::unescape(hl7::sub_value(raw, &d, Some(1), Some(n), None), &d);
    let at = |n: u32| Path {
        component_number: Some(n),
        ..loc.clone()
    };
    let value = || hl7::unescape(raw, &d);
    // A composite value may not have more components than its type defines.
    let defined = (1..=30u32)
        .take_while(|n| names::dictionary().component(data_type, *n).is_some())
        .count();
    let given = raw.split(d.component).count();
    if defined > 1 && given > defined {
        c.finding(
            loc.clone(),
            finding::DATA_TYPE,
            Severity::Error,
            format!("{label}: {given} components where {data_type} has {defined}"),
            None,
        );
    }
    match data_type {
        "NM" => {
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
        "SI" => {
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
        "TS" | "DTM" | "DT" => {
            let text = if data_type == "TS" { comp(1) } else { value() };
            match Timestamp::parse(&text) {
                Err(e) => c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: {e}"),
                    None,
                ),
                Ok(ts) => {
                    if data_type == "DT" && ts.has_time() {
                        c.finding(
                            loc.clone(),
                            finding::DATA_TYPE,
                            Severity::Error,
                            format!("{label}: `{text}` has a time; DT is a date only"),
                            None,
                        );
                    } else if require_offset && ts.has_time() && ts.offset_minutes.is_none() {
                        let sev = c.profile.offset_severity;
                        c.finding(loc.clone(), finding::DATA_TYPE, sev, format!("{label}: timestamp `{text}` has no UTC offset (+/-ZZZZ); the {} requires one", c.profile.side.as_str()), None);
                    }
                }
            }
        }
        "CE" | "CWE" | "CNE" => {
            let code = comp(1);
            // The text may be the alternate's, or (CWE/CNE) the original text in .9.
            let text = [2, 5, 9]
                .into_iter()
                .filter(|&i| i != 9 || data_type != "CE")
                .map(&comp)
                .find(|t| !t.trim().is_empty())
                .unwrap_or_default();
            let alternate_code = comp(4);
            if code.is_empty() && alternate_code.is_empty() && text.is_empty() {
                c.finding(
                    loc.clone(),
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("{label}: neither a code nor a text is given"),
                    None,
                );
            } else if code.is_empty() && !alternate_code.is_empty() {
                // Coded in the alternate coding system only: nothing to look up in the table.
            } else if code.is_empty() && (table.is_some() || data_type == "CNE") {
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
            } else if data_type == "CNE" && comp(3).is_empty() {
                c.finding(at(3), finding::DATA_TYPE, Severity::Error, format!("{label}: `{code}` has no coding system (CNE.3); free text where a coded value is expected"), None);
            } else if let Some(t) = table {
                check_code(c, &at(1), label, &code, t);
            }
        }
        "ID" | "IS" => {
            if let Some(t) = table {
                let code = comp(1);
                check_code(c, loc, label, &code, t);
            }
        }
        "CX" => {
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
        "HD" => {
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
        "EI" => {
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
        _ => {
            if let Some(t) = table {
                check_code(c, loc, label, &value(), t);
            }
        }
    }
}

fn check_code(c: &mut Checker, loc: &Path, label: &Label, code: &str, table: &str) {
    let Some(t) = c
        .profile
        .inline_tables
        .table(table)
        .or_else(|| c.tables.table(table))
    else {
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

fn check_context(c: &mut Checker) {
    let m = c.msg;
    for rule in &c.profile.context {
        // Evaluate once per occurrence of the segment of the first required path.
        let seg = rule.require[0].segment;
        let count = m.segment_count(&seg).max(1);
        for occ in 1..=count {
            if m.segment_count(&seg) == 0 && rule.when.is_some() {
                break;
            }
            if let Some(w) = &rule.when
                && !w.holds(m, &seg, occ)
            {
                continue;
            }
            for req in &rule.require {
                let path = if req.segment == seg && req.segment_number.is_none() {
                    req.at_occurrence(occ)
                } else {
                    req.clone()
                };
                if m.get_or_empty(&path).is_empty() {
                    let cond = rule.when.as_ref().map(|w| {
                        format!(
                            " (when {})",
                            w.describe().replace(
                                &w.path.to_string(),
                                &w.path.at_occurrence(occ).display_canonical()
                            )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(body: &str) -> (Profile, Tables) {
        let mut t = Tables::default();
        t.load_into(
            FsPath::new("t.toml"),
            "[[table]]\nid = \"HL70296\"\ncodes = { spa = \"Spanish\" }\n",
        )
        .unwrap();
        let text = format!("[profile]\nname = \"p\"\nside = \"receiver\"\n{body}");
        (Profile::load(FsPath::new("p.toml"), &text, &t).unwrap(), t)
    }

    fn codes(p: &Profile, t: &Tables, msg: &str) -> Vec<(String, u16)> {
        let m = hl7::parse_one(msg).unwrap();
        check(p, t, &m)
            .findings
            .iter()
            .map(|f| (f.location_text(), f.code))
            .collect()
    }

    const MSH: &str = "MSH|^~\\&|A|B|C|D|20240101120000-0500||ORU^R01|1|P|2.5.1\r";

    #[test]
    fn coded_values_may_carry_only_original_or_alternate_text() {
        let (p, t) = profile("[[field]]\npath = \"OBX-17\"\nusage = \"O\"\ntype = \"CWE\"\n");
        let obx = |v: &str| format!("{MSH}OBX|1|ST|X||y||||||F||||||{v}\r");
        // CWE.9 original text, or an alternate code and text, is enough.
        assert_eq!(codes(&p, &t, &obx("^^^^^^^^PCR")), []);
        assert_eq!(codes(&p, &t, &obx("^^^ALT^Alt text^L")), []);
        // Nothing, or only blanks in CWE.9, is not.
        assert_eq!(
            codes(&p, &t, &obx("^^^^^^^^  ")),
            [("OBX-17".to_string(), 102)]
        );
    }

    #[test]
    fn checks_data_types() {
        let (p, t) = profile(
            "timestamps_require_offset = true\n\
             [[field]]\npath = \"OBX-5\"\nusage = \"O\"\ntype = \"NM\"\n\
             [[field]]\npath = \"OBX-14\"\nusage = \"O\"\ntype = \"TS\"\n\
             [[field]]\npath = \"PID-15\"\nusage = \"O\"\ntype = \"CWE\"\ntable = \"HL70296\"\n\
             [[field]]\npath = \"PID-11\"\nusage = \"O\"\ntype = \"XAD\"\n\
             [[field]]\npath = \"OBX-11\"\nusage = \"R\"\nvalues = [\"F\", \"P\"]\n",
        );
        let msg = format!(
            "{MSH}PID|1||||||||||^^^^^USA{}||||^Spanish\rOBX|1|NM|X||12.5||||||F|||20240101\rOBX|2|NM|X||abc||||||Z|||202401011200\r",
            "^".repeat(20)
        );
        let got = codes(&p, &t, &msg);
        assert!(got.contains(&("PID-15.1".into(), 103)), "{got:?}");
        assert!(
            got.contains(&("PID-11".into(), 102)),
            "too many components: {got:?}"
        );
        assert!(!got.iter().any(|(l, _)| l == "PID-15"), "{got:?}");
        assert!(got.contains(&("OBX[2]-5".into(), 102)), "{got:?}");
        assert!(
            got.contains(&("OBX[2]-14".into(), 102)),
            "date/time without offset: {got:?}"
        );
        assert!(got.contains(&("OBX[2]-11".into(), 103)), "{got:?}");
        assert!(
            !got.iter().any(|(l, _)| l.starts_with("OBX-")),
            "first OBX is clean: {got:?}"
        );
    }

    #[test]
    fn context_rules_apply_per_occurrence() {
        let (p, t) = profile(
            "[[context]]\nid = \"U\"\nwhen = { path = \"OBX-2\", equals = \"NM\" }\nrequire = [\"OBX-6\"]\nreason = \"units\"\n",
        );
        let msg = format!("{MSH}OBX|1|NM|X||1|mg\rOBX|2|ST|X||a\rOBX|3|NM|X||2\r");
        assert_eq!(codes(&p, &t, &msg), vec![("OBX[3]-6".to_string(), 101)]);
    }

    #[test]
    fn header_and_structure() {
        let (p, t) = profile(
            "hl7_version = \"2.5.1\"\nmessage_types = [\"ORU^R01\"]\nunknown_segments = \"reject\"\n\
             [[segment]]\nid = \"MSH\"\nusage = \"R\"\n[[segment]]\nid = \"PID\"\nusage = \"R\"\nmax = 1\n",
        );
        let msg = MSH.replace("ORU^R01", "ORU^R30").replace("2.5.1", "2.3") + "ZZZ|1\r";
        let got = codes(&p, &t, &msg);
        assert!(got.contains(&("MSH-9".into(), 201)), "{got:?}");
        assert!(got.contains(&("MSH-12".into(), 203)), "{got:?}");
        assert!(got.contains(&("PID".into(), 100)), "{got:?}");
        assert!(got.contains(&("ZZZ".into(), 100)), "{got:?}");
    }

    #[test]
    fn bad_profiles_are_located() {
        let t = Tables::default();
        let e = Profile::load(FsPath::new("p.toml"), "[profile]\nname = \"p\"\nside = \"receiver\"\n\n[[field]]\npath = \"PID-15\"\nusage = \"R\"\ntable = \"NOPE\"\n", &t).unwrap_err().to_string();
        assert!(e.contains("table `NOPE`") && e.contains("line 5"), "{e}");
        let e = Profile::load(
            FsPath::new("p.toml"),
            "[profile]\nname = \"p\"\nside = \"middle\"\n",
            &t,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("middle") && e.contains("line 3"), "{e}");
    }
}
