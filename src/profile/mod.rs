//! A side's profile: what a sender emits or a receiver accepts, and the
//! check of a message against it. Format: see README, "Profile files".

use std::path::Path as FsPath;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{LoadError, invalid_at, parse_toml};
use crate::finding::{Severity, Side};
use crate::hl7::{Path, names};
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

pub use crate::condition::Condition;

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
    /// Which field rules apply to each segment, built on the first check
    /// (not on every message) and rebuilt when `fields` changes.
    #[serde(skip)]
    pub(crate) rule_index: RuleIndex,
}

/// The rules index with the fields it was made for (address, length).
type Indexed = Option<((usize, usize), std::sync::Arc<check::FieldRules>)>;

/// A profile's field rules by segment, kept between checks.
#[derive(Default)]
pub(crate) struct RuleIndex(std::sync::RwLock<Indexed>);

impl RuleIndex {
    /// The index for `fields`, built when missing or made for other fields.
    pub(crate) fn get(&self, fields: &[FieldSpec]) -> std::sync::Arc<check::FieldRules> {
        let key = (fields.as_ptr() as usize, fields.len());
        if let Ok(guard) = self.0.read()
            && let Some((k, index)) = guard.as_ref()
            && *k == key
        {
            return index.clone();
        }
        let index = std::sync::Arc::new(check::FieldRules::of(fields));
        if let Ok(mut guard) = self.0.write() {
            *guard = Some((key, index.clone()));
        }
        index
    }
}

impl Clone for RuleIndex {
    /// A copy builds its own (its fields live elsewhere).
    fn clone(&self) -> RuleIndex {
        RuleIndex::default()
    }
}

impl PartialEq for RuleIndex {
    /// A cache: it says nothing about the profile.
    fn eq(&self, _: &RuleIndex) -> bool {
        true
    }
}

impl Eq for RuleIndex {}

impl std::fmt::Debug for RuleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RuleIndex")
    }
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
    /// A profile that lists nothing: every message is checked as the standard defines it.
    pub fn blank(name: String, side: Side, version: Option<String>, types: Vec<String>) -> Profile {
        Profile {
            name,
            side,
            system: String::new(),
            hl7_version: version,
            message_types: types,
            processing_ids: Vec::new(),
            unknown_segments: Unlisted::Accept,
            unsupported_fields: Unlisted::Ignore,
            timestamps_require_offset: false,
            offset_severity: Severity::Error,
            segments: Vec::new(),
            fields: Vec::new(),
            context: Vec::new(),
            inline_tables: Tables::default(),
            conformance: None,
            rule_index: RuleIndex::default(),
        }
    }

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
            if s.max == Some(0) && matches!(s.usage, Usage::R | Usage::RE) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "segment {}: max 0 on a segment of usage {:?}; use usage X for a segment that must not occur",
                        s.id, s.usage
                    ),
                ));
            }
            let limit = crate::hl7::path::MAX_SEGMENT_NUMBER as usize;
            if s.min.is_some_and(|n| n > limit) || s.max.is_some_and(|n| n > limit) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("segment {}: min and max are limited to {limit}", s.id),
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
        let mut fields: Vec<FieldSpec> = Vec::new();
        let mut inline_tables = Tables::default();
        for f in raw.field {
            let span = f.span();
            let mut f = f.into_inner();
            check_field_spec(&f, &fields).map_err(|m| invalid_at(path, text, span.clone(), m))?;
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
        let mut context: Vec<ContextRule> = Vec::new();
        for c in raw.context {
            let span = c.span();
            let c = c.into_inner();
            let problem = if context.iter().any(|x| x.id == c.id) {
                Some(format!("context id `{}` is used twice", c.id))
            } else if c.when.as_ref().is_some_and(Condition::reads_mapping) {
                Some(format!(
                    "context `{}`: a profile's condition reads the message it checks; `message = \"mapped\"` and `rule` belong to mapping rules",
                    c.id
                ))
            } else {
                c.require
                    .iter()
                    .find_map(|p| names::dictionary().check_path(p).err())
                    .map(|e| format!("context `{}`: {e}", c.id))
            };
            if let Some(m) = problem {
                return Err(invalid_at(path, text, span, m));
            }
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
        if let Some(v) = &h.hl7_version
            && !HL7_VERSIONS.contains(&v.as_str())
        {
            return Err(LoadError::Invalid {
                path: path.to_path_buf(),
                line: key_line(text, "hl7_version"),
                column: 1,
                message: format!(
                    "hl7_version `{v}` is not an HL7 v2 version (one of {})",
                    HL7_VERSIONS.join(", ")
                ),
            });
        }
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
            rule_index: RuleIndex::default(),
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

/// The longest `max_length` a profile may state.
pub const MAX_LENGTH: usize = 1_000_000;

/// The HL7 v2 versions MSH-12 may name.
pub const HL7_VERSIONS: [&str; 15] = [
    "2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1",
    "2.8.2", "2.9", "2.9.1",
];

/// The 1-based line of the first `key = …` in a TOML text (1 when absent).
pub fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// What a `[[field]]` entry may not say: a path the standard's segment
/// does not have, a second entry for the same path, an unknown data type, a
/// `when` that does nothing for its usage, a condition a profile cannot read.
fn check_field_spec(f: &FieldSpec, before: &[FieldSpec]) -> Result<(), String> {
    let dict = names::dictionary();
    dict.check_path(&f.path)?;
    if before.iter().any(|x| x.path == f.path) {
        return Err(format!(
            "field {} is listed twice; give one entry per path",
            f.path
        ));
    }
    if let Some(t) = &f.data_type
        && !dict.is_data_type(t)
    {
        return Err(format!(
            "field {}: `{t}` is not an HL7 v2.5.1 data type",
            f.path
        ));
    }
    if f.when.is_some() && f.usage != Usage::C {
        return Err(format!(
            "field {}: `when` applies only to usage C (this field is {:?})",
            f.path, f.usage
        ));
    }
    if f.when.as_ref().is_some_and(Condition::reads_mapping) {
        return Err(format!(
            "field {}: a profile's condition reads the message it checks; `message = \"mapped\"` and `rule` belong to mapping rules",
            f.path
        ));
    }
    if f.max_length.is_some_and(|n| n > MAX_LENGTH) {
        return Err(format!(
            "field {}: max_length is more than the limit of {MAX_LENGTH}",
            f.path
        ));
    }
    if f.max_repetitions
        .is_some_and(|n| n > crate::hl7::path::MAX_REPETITION_NUMBER as usize)
    {
        return Err(format!(
            "field {}: max_repetitions is more than the limit of {}",
            f.path,
            crate::hl7::path::MAX_REPETITION_NUMBER
        ));
    }
    if f.max_length == Some(0) || f.max_repetitions == Some(0) {
        return Err(format!(
            "field {}: a maximum of 0 allows nothing; use usage X",
            f.path
        ));
    }
    Ok(())
}

pub(crate) fn known<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = keys.map(String::as_str).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

mod check;
pub(crate) use check::NO_OFFSET;
pub use check::{CheckResult, Ignored, check};
pub(crate) use check::{standard_knows, structure_of};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7;

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
    fn the_kept_rules_index_follows_a_change_of_fields() {
        let (mut p, t) = profile("[[field]]\npath = \"PID-5\"\nusage = \"R\"\n");
        let msg = format!("{MSH}PID|1||123\r");
        assert!(codes(&p, &t, &msg).contains(&("PID-5".into(), 101)));
        // A rule added after a check is used by the next one.
        let mut pid19 = p.fields[0].clone();
        pid19.path = "PID-19".parse().unwrap();
        p.fields.push(pid19);
        assert!(codes(&p, &t, &msg).contains(&("PID-19".into(), 101)));
        // A copy checks the same way.
        let q = p.clone();
        assert_eq!(codes(&q, &t, &msg), codes(&p, &t, &msg));
    }

    #[test]
    fn component_rules_of_fields_the_standard_does_not_define_are_checked() {
        // A Z-segment's fields have no standard definition: a rule for a
        // component of one is still the profile's rule, checked as written.
        let (p, t) = profile(
            "[[segment]]\nid = \"ZXY\"\nusage = \"O\"\n\
             [[field]]\npath = \"ZXY-3.1\"\nusage = \"R\"\n\
             [[field]]\npath = \"ZXY-4.2\"\nusage = \"O\"\ntype = \"NM\"\n",
        );
        // A component of an absent field is not required (the field is
        // optional); of a present one, it is.
        let absent = format!("{MSH}ZXY|1|a||x^5\r");
        assert_eq!(codes(&p, &t, &absent), vec![]);
        let missing = format!("{MSH}ZXY|1|a|^d|x^y\r");
        let found = codes(&p, &t, &missing);
        assert!(found.contains(&("ZXY-3.1".into(), 101)), "{found:?}");
        assert!(found.contains(&("ZXY-4.2".into(), 102)), "{found:?}");
        let good = format!("{MSH}ZXY|1|a|c^d|x^5\r");
        assert_eq!(codes(&p, &t, &good), vec![]);
    }

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
        let msg =
            format!("{MSH}OBX|1|NM|X||1|mg|||||F\rOBX|2|ST|X||a||||||F\rOBX|3|NM|X||2||||||F\r");
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
    fn the_envelope_and_standard_segments_are_never_unknown() {
        // The profile lists no segment at all and rejects unknown ones.
        let (p, t) = profile("unknown_segments = \"reject\"\n");
        let msg = format!(
            "{MSH}PID|1||123^^^H^MR||Doe^Jo\rOBR|1|||GLU\rOBX|1|ST|X||a||||||F\rZPI|1\rRXA|0\r"
        );
        let got = codes(&p, &t, &msg);
        // ZPI is no standard segment and RXA is not part of ORU^R01.
        assert_eq!(got, [("ZPI".into(), 100), ("RXA".into(), 100)], "{got:?}");
        let m = hl7::parse_one(&msg).unwrap();
        let (p, t) = profile("unknown_segments = \"ignore\"\n");
        let ignored: Vec<String> = check(&p, &t, &m)
            .ignored
            .iter()
            .map(|i| i.path.to_string())
            .collect();
        assert_eq!(ignored, ["ZPI-1", "RXA-1"]);
    }

    #[test]
    fn unlisted_fields_are_checked_as_the_standard_defines_them() {
        let (p, t) = profile("timestamps_require_offset = true\n");
        // PID-7 is a date that does not exist; OBR-7 and OBR-27.4 have no
        // offset; OBX-5 is typed NM by OBX-2 and is not a number; OBX-11 (R) is missing.
        let msg = format!(
            "{MSH}PID|1||123^^^H^MR||Doe^Jo||19581332\rOBR|1|||GLU|||202401011200||||||||||||||||||||^^^202401011300\rOBX|1|NM|X||abc\r"
        );
        let got = codes(&p, &t, &msg);
        for want in ["PID-7", "OBR-7", "OBR-27.4", "OBX-5"] {
            assert!(got.contains(&(want.into(), 102)), "{want}: {got:?}");
        }
        assert!(got.contains(&("OBX-11".into(), 101)), "{got:?}");
        // Standard-required MSH fields are checked with no profile entry.
        let got = codes(&p, &t, &MSH.replace("|1|P|", "||P|"));
        assert_eq!(got, [("MSH-10".into(), 101)]);
    }

    #[test]
    fn coded_observations_are_typed_by_obx_2() {
        let (p, t) = profile("[[field]]\npath = \"OBX-5\"\nusage = \"O\"\ntable = \"HL70296\"\n");
        let obx = |t2: &str, v: &str| format!("{MSH}OBX|1|{t2}|X||{v}||||||F\r");
        // A coded value is looked up by its code, not compared whole.
        assert_eq!(codes(&p, &t, &obx("CE", "spa^Spanish^HL70296")), []);
        assert_eq!(
            codes(&p, &t, &obx("CWE", "xx^Other^HL70296")),
            [("OBX-5.1".to_string(), 103)]
        );
    }

    #[test]
    fn too_many_repetitions_point_at_the_first_one_too_many() {
        let (p, t) = profile("[[field]]\npath = \"PID-3\"\nusage = \"R\"\nmax_repetitions = 2\n");
        let msg = format!("{MSH}PID|1||1^^^A^MR~2^^^B^MR~3^^^C^MR||Doe\r");
        assert_eq!(codes(&p, &t, &msg), [("PID-3[3]".to_string(), 102)]);
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
