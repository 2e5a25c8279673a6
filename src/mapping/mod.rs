//! Mapping rules between the two sides: written as TOML (`RawRule`),
//! validated into [`Rule`]s with located errors, and applied to a source
//! message to give the mapped message plus a record of every effect.
//! Rules read the source message and write the mapped one, in file order.
//!
//! Read strictly: every key must mean something for the rule's action, every
//! path must exist in the standard's segment, numbers are bounded.

mod apply;
mod functions;

use std::path::Path as FsPath;

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use apply::apply;
pub use functions::Step;

use crate::condition::{Condition, Test};
use crate::error::{LoadError, invalid_at, parse_toml};
use crate::hl7::datetime::parse_offset;
use crate::hl7::{Path, SegName, names};
use crate::profile::known;
use crate::table::Tables;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The mapped message starts as a copy of the source; rules change it.
    #[default]
    Passthrough,
    /// The mapped message starts with MSH only; only rules carry fields.
    Explicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Copy,
    Move,
    Set,
    Default,
    Translate,
    Datetime,
    Split,
    Join,
    Drop,
    /// Keep only the repetitions `where` selects; the others are dropped.
    Keep,
    /// Read a value, run it through `steps`, write it.
    Transform,
    /// Remove whole segments (every populated field accounted as dropped).
    DropSegment,
    /// Carry whole segments: every populated field of each source
    /// occurrence, written into the mapped message (created where missing).
    CopySegment,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Copy => "copy",
            Action::Move => "move",
            Action::Set => "set",
            Action::Default => "default",
            Action::Translate => "translate",
            Action::Datetime => "datetime",
            Action::Split => "split",
            Action::Join => "join",
            Action::Drop => "drop",
            Action::Keep => "keep",
            Action::Transform => "transform",
            Action::DropSegment => "drop_segment",
            Action::CopySegment => "copy_segment",
        }
    }

    /// Whether the action removes what it reads.
    pub fn removes(self) -> bool {
        matches!(self, Action::Drop | Action::Keep | Action::DropSegment)
    }

    /// The keys a rule of this action may have, besides id, action, when and note.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Action::Copy | Action::Move => &["from", "to", "where", "pick", "after"],
            Action::Set | Action::Default => &["to", "value", "after"],
            Action::Translate => &[
                "from",
                "to",
                "map",
                "on_unmapped",
                "default",
                "where",
                "pick",
                "after",
            ],
            Action::Datetime => &[
                "from",
                "to",
                "assume_offset",
                "to_offset",
                "assume_zone",
                "to_zone",
                "after",
            ],
            Action::Split => &["from", "to", "separator", "split_at"],
            Action::Join => &["from", "to", "separator"],
            Action::Drop => &["from", "reason", "where", "pick"],
            Action::Keep => &["from", "reason", "where", "pick"],
            Action::Transform => &["from", "to", "steps", "where", "pick", "after"],
            Action::DropSegment => &["segment", "reason"],
            Action::CopySegment => &["segment", "after"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// The message is rejected (0357 code 103).
    #[default]
    Reject,
    /// The code is passed through unchanged, with a warning.
    Pass,
    /// The rule's `default` is written instead.
    Default,
}

/// Which of the repetitions a `where` selects a rule takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pick {
    #[default]
    First,
    Last,
    All,
}

/// Where `split` cuts: at every separator, or only at the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitAt {
    #[default]
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(p) => vec![p],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A test on each repetition of a field, by a path inside it:
/// `where = { path = ".5", equals = "MR" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Where {
    pub component: Option<u32>,
    pub subcomponent: Option<u32>,
    /// As written: `.5`, `.4.1`.
    pub path: String,
    pub test: Test,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhere {
    path: String,
    #[serde(default)]
    equals: Option<String>,
    #[serde(default)]
    not_equals: Option<String>,
    #[serde(default)]
    one_of: Option<Vec<String>>,
    #[serde(default)]
    not_one_of: Option<Vec<String>>,
    #[serde(default)]
    matches: Option<String>,
    #[serde(default)]
    present: Option<bool>,
    #[serde(default)]
    absent: Option<bool>,
}

impl Where {
    fn parse(raw: RawWhere) -> Result<Where, String> {
        let bad = || {
            format!(
                "`where` path `{}` must name a part of each repetition, as `.5` or `.4.1`",
                raw.path
            )
        };
        let rest = raw.path.strip_prefix('.').ok_or_else(bad)?;
        let mut parts = rest.split('.');
        let number = |p: Option<&str>| -> Result<Option<u32>, String> {
            match p {
                None => Ok(None),
                Some(t) => match t.parse::<u32>() {
                    Ok(n) if (1..=crate::hl7::path::MAX_COMPONENT_NUMBER).contains(&n) => {
                        Ok(Some(n))
                    }
                    _ => Err(bad()),
                },
            }
        };
        let component = number(parts.next())?;
        let subcomponent = number(parts.next())?;
        if component.is_none() || parts.next().is_some() {
            return Err(bad());
        }
        let test = crate::condition::RawTest {
            equals: raw.equals,
            not_equals: raw.not_equals,
            one_of: raw.one_of,
            not_one_of: raw.not_one_of,
            matches: raw.matches,
            present: raw.present,
            absent: raw.absent,
        }
        .build(&raw.path)?
        .ok_or_else(|| format!("`where` on `{}` needs a test (equals, one_of, …)", raw.path))?;
        Ok(Where {
            component,
            subcomponent,
            path: raw.path,
            test,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    action: Action,
    #[serde(default)]
    from: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    to: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    map: Option<String>,
    #[serde(default)]
    on_unmapped: Option<Unmapped>,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    assume_offset: Option<String>,
    #[serde(default)]
    to_offset: Option<String>,
    #[serde(default)]
    assume_zone: Option<String>,
    #[serde(default)]
    to_zone: Option<String>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    split_at: Option<SplitAt>,
    #[serde(default, rename = "where")]
    where_: Option<RawWhere>,
    #[serde(default)]
    pick: Option<Pick>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    segment: Option<String>,
    #[serde(default)]
    steps: Option<Vec<functions::RawStep>>,
    #[serde(default)]
    when: Option<Condition>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl RawRule {
    /// The optional keys this rule gives (id, action, when and note aside).
    fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |present: bool, key: &'static str| {
            if present {
                v.push(key);
            }
        };
        add(self.from.is_some(), "from");
        add(self.to.is_some(), "to");
        add(self.value.is_some(), "value");
        add(self.map.is_some(), "map");
        add(self.on_unmapped.is_some(), "on_unmapped");
        add(self.default.is_some(), "default");
        add(self.assume_offset.is_some(), "assume_offset");
        add(self.to_offset.is_some(), "to_offset");
        add(self.assume_zone.is_some(), "assume_zone");
        add(self.to_zone.is_some(), "to_zone");
        add(self.separator.is_some(), "separator");
        add(self.split_at.is_some(), "split_at");
        add(self.where_.is_some(), "where");
        add(self.pick.is_some(), "pick");
        add(self.after.is_some(), "after");
        add(self.segment.is_some(), "segment");
        add(self.steps.is_some(), "steps");
        add(self.reason.is_some(), "reason");
        v
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

/// A time zone by IANA name (`America/New_York`), with daylight saving.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    pub tz: jiff::tz::TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Zone {}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: std::sync::Arc<str>,
    pub action: Action,
    pub from: Vec<Path>,
    pub to: Vec<Path>,
    /// `from = "PID-3[*]"`: the rule looks at each repetition.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub each_repetition: bool,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<Where>,
    pub pick: Pick,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    pub on_unmapped: Unmapped,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assume_offset: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_offset: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assume_zone: Option<Zone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_zone: Option<Zone>,
    pub separator: String,
    pub split_at: SplitAt,
    /// Segment a created segment is placed after (and whose occurrences the rule follows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<SegName>,
    /// For `drop_segment`: the segment removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// 1-based line of the rule in its file.
    pub line: usize,
}

impl Rule {
    /// A one-line description: `translate ORC-7.6 → ORC-7.6 via priority`.
    pub fn summary(&self) -> String {
        let list = |v: &[Path]| {
            v.iter()
                .map(Path::display_exact)
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let mut s = format!("{} {}", self.action.as_str(), list(&self.from));
        if self.each_repetition {
            s.push_str("[*]");
        }
        if let Some(seg) = &self.segment {
            s.push_str(seg);
        }
        if let Some(w) = &self.where_ {
            s.push_str(&format!(" where {}", w.path));
        }
        if !self.to.is_empty() {
            if !self.from.is_empty() {
                s.push_str(" →");
            }
            s.push(' ');
            s.push_str(&list(&self.to));
        }
        if let Some(v) = &self.value {
            s.push_str(&format!(" = \"{v}\""));
        }
        if let Some(m) = &self.map {
            s.push_str(&format!(" via {m}"));
        }
        if !self.steps.is_empty() {
            let steps: Vec<String> = self.steps.iter().map(Step::describe).collect();
            s.push_str(&format!(" ({})", steps.join(", ")));
        }
        if let Some(a) = &self.after {
            s.push_str(&format!(" after {a}"));
        }
        if let Some(w) = &self.when {
            s.push_str(&format!(" when {}", w.describe()));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    pub mode: Mode,
    pub description: String,
    pub rules: Vec<Rule>,
}

/// Parses the paths of a `from` / `to` value, with the error at its line.
/// `[*]` after the field (`PID-3[*]`) asks for each repetition.
fn paths(v: OneOrMany) -> Result<(Vec<Path>, bool), String> {
    let mut each = false;
    let mut out = Vec::new();
    for p in v.into_vec() {
        let text = if p.contains("[*]") {
            each = true;
            p.replacen("[*]", "", 1)
        } else {
            p.clone()
        };
        let path: Path = text.parse().map_err(|e: crate::hl7::PathError| {
            if each {
                format!("`{p}`: {}", e.reason)
            } else {
                e.to_string()
            }
        })?;
        names::dictionary().check_path(&path)?;
        if path.segment == "MSH" && path.field_number <= 2 {
            return Err(format!("{path} holds the delimiters and cannot be mapped"));
        }
        out.push(path);
    }
    Ok((out, each))
}

fn segment_id(text: &str, key: &str) -> Result<SegName, String> {
    let ok = text.len() == 3
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !ok {
        return Err(format!(
            "`{key}` `{text}` must be a segment id: three upper-case letters or digits"
        ));
    }
    Ok(SegName::new(text))
}

fn zone(name: &Option<String>, key: &str) -> Result<Option<Zone>, String> {
    name.as_ref()
        .map(|n| {
            jiff::tz::TimeZone::get(n)
                .map(|tz| Zone {
                    name: n.clone(),
                    tz,
                })
                .map_err(|_| {
                    format!(
                        "`{key}` `{n}` is not a time zone name (IANA, e.g. America/New_York or UTC)"
                    )
                })
        })
        .transpose()
}

/// Turns byte offsets into line numbers for offsets that only increase: no
/// rescan from the start for every rule.
struct Lines<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += self.text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

impl Rules {
    /// Reads and validates a rules file. Every error names the file, the
    /// line and the rule.
    pub fn load(path: &FsPath, text: &str, tables: &Tables) -> Result<Rules, LoadError> {
        let raw: RawRules = parse_toml(path, text)?;
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.rule.len());
        let mut ids: rustc_hash::FxHashSet<std::sync::Arc<str>> = Default::default();
        let mut lines = Lines {
            text,
            offset: 0,
            line: 1,
        };
        for r in raw.rule {
            let span = r.span();
            let r = r.into_inner();
            if r.id.trim().is_empty() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    "a rule needs a non-empty `id`".into(),
                ));
            }
            let id: std::sync::Arc<str> = r.id.as_str().into();
            if ids.contains(&id) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!(
                        "rule `{}`: this id is used by an earlier rule; ids must be unique",
                        r.id
                    ),
                ));
            }
            let line = lines.at(span.start);
            let mut r = r;
            let located = |v: Option<Spanned<OneOrMany>>, key: &str| match v {
                None => Ok((None, Vec::new(), false)),
                Some(v) => {
                    let vspan = v.span();
                    let inner = v.into_inner();
                    paths(inner.clone())
                        .map(|(p, each)| (Some(inner), p, each))
                        .map_err(|m| {
                            invalid_at(path, text, vspan, format!("rule `{}`: `{key}`: {m}", r.id))
                        })
                }
            };
            let (from_raw, from, each) = located(r.from.take(), "from")?;
            let (to_raw, to, each_to) = located(r.to.take(), "to")?;
            let given_paths = (from_raw.is_some(), to_raw.is_some());
            let rule = validate(
                r,
                given_paths,
                (from, each),
                (to, each_to),
                id.clone(),
                tables,
                &ids,
                line,
            )
            .map_err(|(rule, msg)| invalid_at(path, text, span, format!("rule `{rule}`: {msg}")))?;
            ids.insert(id);
            rules.push(rule);
        }
        Ok(Rules {
            mode: raw.mode,
            description: raw.description.unwrap_or_default(),
            rules,
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.id == id)
    }
}

/// Validates one rule: keys per action, paths, maps, zones, steps.
#[allow(clippy::too_many_arguments)]
fn validate(
    r: RawRule,
    given_paths: (bool, bool),
    (from, each): (Vec<Path>, bool),
    (to, each_to): (Vec<Path>, bool),
    id: std::sync::Arc<str>,
    tables: &Tables,
    earlier: &rustc_hash::FxHashSet<std::sync::Arc<str>>,
    line: usize,
) -> Result<Rule, (String, String)> {
    let name = r.id.clone();
    let fail = |msg: String| (name.clone(), msg);
    let a = r.action;
    let allowed = a.keys();
    let mut given = r.given();
    if given_paths.0 {
        given.push("from");
    }
    if given_paths.1 {
        given.push("to");
    }
    for key in given {
        if !allowed.contains(&key) {
            return Err(fail(format!(
                "`{key}` does nothing for action `{}` (it takes: {})",
                a.as_str(),
                allowed.join(", ")
            )));
        }
    }
    if each_to {
        return Err(fail(
            "`[*]` selects repetitions to read; write `to` as a plain path".into(),
        ));
    }
    let need = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(fail(format!("action `{}` needs {what}", a.as_str())))
        }
    };
    match a {
        Action::Copy | Action::Move | Action::Translate | Action::Datetime | Action::Transform => {
            need(from.len() == 1, "exactly one `from` path")?;
            need(to.len() <= 1, "at most one `to` path")?;
        }
        Action::Set | Action::Default => {
            need(to.len() == 1, "exactly one `to` path")?;
            need(r.value.is_some(), "a `value`")?;
        }
        Action::Split => {
            need(from.len() == 1, "exactly one `from` path")?;
            need(to.len() >= 2, "a list of two or more `to` paths")?;
            need(
                r.separator.as_deref().is_some_and(|s| !s.is_empty()),
                "a non-empty `separator`",
            )?;
            if r.split_at == Some(SplitAt::Last) {
                need(
                    to.len() == 2,
                    "exactly two `to` paths with `split_at = \"last\"`",
                )?;
            }
        }
        Action::Join => {
            need(from.len() >= 2, "a list of two or more `from` paths")?;
            need(to.len() == 1, "exactly one `to` path")?;
        }
        Action::Drop | Action::Keep => {
            need(from.len() == 1, "exactly one `from` path")?;
            need(
                r.reason.as_deref().is_some_and(|s| !s.trim().is_empty()),
                "a `reason` (say why the value is dropped)",
            )?;
        }
        Action::CopySegment => {
            need(r.segment.is_some(), "a `segment`")?;
        }
        Action::DropSegment => {
            need(r.segment.is_some(), "a `segment`")?;
            need(
                r.reason.as_deref().is_some_and(|s| !s.trim().is_empty()),
                "a `reason` (say why the segment is dropped)",
            )?;
        }
    }
    if a == Action::Keep {
        need(
            each && r.where_.is_some(),
            "`from = \"SEG-n[*]\"` and a `where` (which repetitions to keep)",
        )?;
    }
    if r.where_.is_some() && !each {
        return Err(fail(
            "`where` tests each repetition: write `from` with `[*]`, as `PID-3[*]`".into(),
        ));
    }
    if r.pick.is_some() && r.where_.is_none() && !each {
        return Err(fail(
            "`pick` chooses among the repetitions `from = \"SEG-n[*]\"` reads".into(),
        ));
    }
    if each
        && from
            .iter()
            .any(|p| p.repetition_number.is_some() || p.component_number.is_some())
    {
        return Err(fail(
            "`[*]` goes right after the field number, as `PID-3[*]`; a `where` path names the component".into(),
        ));
    }
    let where_ = r.where_.map(Where::parse).transpose().map_err(&fail)?;
    if a == Action::Translate {
        let Some(m) = &r.map else {
            return Err(fail(
                "action `translate` needs a `map` (a map id from the workspace's tables)".into(),
            ));
        };
        if tables.map(m).is_none() {
            return Err(fail(format!(
                "map `{m}` is not defined (known maps: {})",
                known(tables.maps.keys())
            )));
        }
        match (r.on_unmapped, &r.default) {
            (Some(Unmapped::Default), None) => {
                return Err(fail(
                    "`on_unmapped = \"default\"` needs a `default` value".into(),
                ));
            }
            (Some(Unmapped::Default), Some(_)) => {}
            (_, Some(_)) => {
                return Err(fail(
                    "`default` is used only with `on_unmapped = \"default\"`".into(),
                ));
            }
            _ => {}
        }
    }
    let offset = |v: &Option<String>, key: &str| -> Result<Option<i32>, (String, String)> {
        v.as_deref()
            .map(parse_offset)
            .transpose()
            .map_err(|e| fail(format!("`{key}`: {e}")))
    };
    let assume_offset = offset(&r.assume_offset, "assume_offset")?;
    let to_offset = offset(&r.to_offset, "to_offset")?;
    let assume_zone = zone(&r.assume_zone, "assume_zone").map_err(&fail)?;
    let to_zone = zone(&r.to_zone, "to_zone").map_err(&fail)?;
    if a == Action::Datetime {
        if assume_offset.is_none()
            && to_offset.is_none()
            && assume_zone.is_none()
            && to_zone.is_none()
        {
            return Err(fail(
                "action `datetime` needs `assume_offset` / `assume_zone`, `to_offset` / `to_zone`, or both".into(),
            ));
        }
        if assume_offset.is_some() && assume_zone.is_some() {
            return Err(fail(
                "give either `assume_offset` or `assume_zone`, not both".into(),
            ));
        }
        if to_offset.is_some() && to_zone.is_some() {
            return Err(fail(
                "give either `to_offset` or `to_zone`, not both".into(),
            ));
        }
    }
    let steps = match r.steps {
        Some(list) => {
            if list.is_empty() {
                return Err(fail("`steps` needs at least one step".into()));
            }
            list.into_iter()
                .map(|s| s.validate(tables))
                .collect::<Result<Vec<_>, _>>()
                .map_err(&fail)?
        }
        None if a == Action::Transform => {
            return Err(fail(
                "action `transform` needs `steps`, e.g. steps = [{ trim = true }, { case = \"upper\" }]".into(),
            ));
        }
        None => Vec::new(),
    };
    let after = r
        .after
        .as_deref()
        .map(|s| segment_id(s, "after"))
        .transpose()
        .map_err(&fail)?;
    let segment = r
        .segment
        .as_deref()
        .map(|s| segment_id(s, "segment"))
        .transpose()
        .map_err(&fail)?;
    if segment.is_some_and(|s| s == "MSH") {
        return Err(fail(
            "MSH is always carried (explicit mode starts from it) and cannot be dropped".into(),
        ));
    }
    if let Some(w) = &r.when {
        let mut asked = Vec::new();
        w.rules(&mut asked);
        if let Some(unknown) = asked.iter().find(|x| !earlier.contains(x.as_str())) {
            return Err(fail(format!(
                "`when` asks about rule `{unknown}`, which is not an earlier rule in this file (rules apply in file order)"
            )));
        }
    }
    let to = if to.is_empty()
        && matches!(
            a,
            Action::Copy | Action::Move | Action::Translate | Action::Datetime | Action::Transform
        ) {
        from.clone()
    } else {
        to
    };
    Ok(Rule {
        id,
        action: a,
        from,
        to,
        each_repetition: each,
        where_,
        // copy, move, translate, transform read one repetition unless told;
        // drop and keep act on every repetition `where` selects unless told.
        pick: r
            .pick
            .unwrap_or(if a.removes() { Pick::All } else { Pick::First }),
        value: r.value,
        map: r.map,
        on_unmapped: r.on_unmapped.unwrap_or_default(),
        default: r.default,
        assume_offset,
        to_offset,
        assume_zone,
        to_zone,
        separator: r.separator.unwrap_or_else(|| " ".to_string()),
        split_at: r.split_at.unwrap_or_default(),
        after,
        segment,
        steps,
        when: r.when,
        reason: r.reason,
        note: r.note.unwrap_or_default(),
        line,
    })
}

/// One thing a rule did to one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub rule: std::sync::Arc<str>,
    pub action: Action,
    /// Source paths read, with their segment occurrence.
    pub sources: Vec<Path>,
    /// Path written (with occurrence, in the mapped message as it ends);
    /// for `drop`, `keep` and `drop_segment`, the source path removed.
    pub target: Path,
    /// Raw value before (source value, or the target's old value for set/default).
    pub from: String,
    /// Raw value written.
    pub to: String,
    /// For a removal: the rule's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub message: Message,
    pub effects: Vec<Effect>,
    pub findings: Vec<crate::finding::Finding>,
    /// For each segment of the mapped message, the index of the source
    /// segment it started as (`None`: created by a rule).
    pub origin: Vec<Option<usize>>,
}

use crate::hl7::Message;

#[cfg(test)]
mod tests;
