//! Mapping rules between the two sides: written as TOML (`RawRule`),
//! validated into [`Rule`]s with located errors, and applied to a source
//! message to give the mapped message plus a record of every effect.
//! Rules read the source message and write the mapped one.

use std::path::Path as FsPath;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{LoadError, invalid_at, parse_toml};
use crate::finding::{self, Finding, Severity, Side};
use crate::hl7::datetime::{Timestamp, parse_offset};
use crate::hl7::{self, Message, Path};
use crate::profile::{Condition, known};
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
#[serde(rename_all = "lowercase")]
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

/// Parses the paths of a `from` / `to` value, with the error at its line.
fn paths(
    v: Option<Spanned<OneOrMany>>,
    file: &FsPath,
    text: &str,
    rule: &str,
) -> Result<Vec<Path>, LoadError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let span = v.span();
    v.into_inner()
        .into_vec()
        .iter()
        .map(|p| {
            p.parse::<Path>()
                .map_err(|e| invalid_at(file, text, span.clone(), format!("rule `{rule}`: {e}")))
        })
        .collect()
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
    separator: Option<String>,
    #[serde(default)]
    when: Option<Condition>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
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

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: std::sync::Arc<str>,
    pub action: Action,
    pub from: Vec<Path>,
    pub to: Vec<Path>,
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
    pub separator: String,
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
                .map(Path::to_string)
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let mut s = format!("{} {}", self.action.as_str(), list(&self.from));
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

impl Rules {
    /// Reads and validates a rules file. Every error names the file, the
    /// line and the rule.
    pub fn load(path: &FsPath, text: &str, tables: &Tables) -> Result<Rules, LoadError> {
        let raw: RawRules = parse_toml(path, text)?;
        let mut rules: Vec<Rule> = Vec::new();
        for r in raw.rule {
            let span = r.span();
            let r = r.into_inner();
            let fail = |msg: String| {
                invalid_at(path, text, span.clone(), format!("rule `{}`: {msg}", r.id))
            };
            if r.id.trim().is_empty() {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    "a rule needs a non-empty `id`".into(),
                ));
            }
            if rules.iter().any(|x| *x.id == *r.id) {
                return Err(fail(
                    "this id is used by an earlier rule; ids must be unique".into(),
                ));
            }
            let from = paths(r.from, path, text, &r.id)?;
            let to = paths(r.to, path, text, &r.id)?;
            let a = r.action;
            let need = |ok: bool, what: &str| {
                if ok {
                    Ok(())
                } else {
                    Err(fail(format!("action `{}` needs {what}", a.as_str())))
                }
            };
            match a {
                Action::Copy | Action::Move | Action::Translate | Action::Datetime => {
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
                }
                Action::Join => {
                    need(from.len() >= 2, "a list of two or more `from` paths")?;
                    need(to.len() == 1, "exactly one `to` path")?;
                }
                Action::Drop => {
                    need(from.len() == 1, "exactly one `from` path")?;
                    need(
                        r.reason.as_deref().is_some_and(|s| !s.trim().is_empty()),
                        "a `reason` (say why the field is dropped)",
                    )?;
                }
            }
            if a == Action::Translate {
                let Some(m) = &r.map else {
                    return Err(fail(
                        "action `translate` needs a `map` (a map id from the workspace's tables)"
                            .into(),
                    ));
                };
                if tables.map(m).is_none() {
                    return Err(fail(format!(
                        "map `{m}` is not defined (known maps: {})",
                        known(tables.maps.keys())
                    )));
                }
                if r.on_unmapped == Some(Unmapped::Default) && r.default.is_none() {
                    return Err(fail(
                        "`on_unmapped = \"default\"` needs a `default` value".into(),
                    ));
                }
            }
            let offset = |v: &Option<String>, name: &str| -> Result<Option<i32>, LoadError> {
                v.as_deref()
                    .map(parse_offset)
                    .transpose()
                    .map_err(|e| fail(format!("`{name}`: {e}")))
            };
            let assume_offset = offset(&r.assume_offset, "assume_offset")?;
            let to_offset = offset(&r.to_offset, "to_offset")?;
            if a == Action::Datetime && assume_offset.is_none() && to_offset.is_none() {
                return Err(fail(
                    "action `datetime` needs `assume_offset`, `to_offset` or both".into(),
                ));
            }
            for p in from.iter().chain(&to) {
                if p.segment == "MSH" && p.field_number <= 2 {
                    return Err(fail(format!(
                        "{p} holds the delimiters and cannot be mapped"
                    )));
                }
            }
            let to = if to.is_empty()
                && matches!(
                    a,
                    Action::Copy | Action::Move | Action::Translate | Action::Datetime
                ) {
                from.clone()
            } else {
                to
            };
            rules.push(Rule {
                id: r.id.as_str().into(),
                action: a,
                from,
                to,
                value: r.value,
                map: r.map,
                on_unmapped: r.on_unmapped.unwrap_or_default(),
                default: r.default,
                assume_offset,
                to_offset,
                separator: r.separator.unwrap_or_else(|| " ".to_string()),
                when: r.when,
                reason: r.reason,
                note: r.note.unwrap_or_default(),
                line: crate::error::line_column(text, span.start).0,
            });
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

/// One thing a rule did to one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub rule: std::sync::Arc<str>,
    pub action: Action,
    /// Source paths read, with their segment occurrence.
    pub sources: Vec<Path>,
    /// Path written (with occurrence); for `drop`, the path cleared.
    pub target: Path,
    /// Raw value before (source value, or the target's old value for set/default).
    pub from: String,
    /// Raw value written.
    pub to: String,
    /// For `drop`: the rule's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub message: Message,
    pub effects: Vec<Effect>,
    pub findings: Vec<Finding>,
}

fn resolve(path: &Path, anchor: &str, occ: usize) -> Path {
    if path.segment_number.is_some() {
        path.clone()
    } else if path.segment == anchor {
        path.at_occurrence(occ)
    } else {
        // k-th occurrence of one segment maps to the k-th of another.
        path.at_occurrence(occ)
    }
}

/// Applies the rules to a source message. Pure: same input, same output.
pub fn apply(rules: &Rules, tables: &Tables, source: &Message) -> Mapped {
    let mut target = match rules.mode {
        Mode::Passthrough => Message {
            delimiters: source.delimiters,
            segments: source.segments.clone(),
            text: String::new(),
            offset: 0,
            line_number: source.line_number,
        },
        Mode::Explicit => {
            let mut m = Message::with_delimiters(source.delimiters);
            if let Some(msh) = source.segments.first() {
                m.segments[0] = msh.clone();
            }
            m
        }
    };
    let mut effects = Vec::new();
    let mut findings = Vec::new();
    for rule in &rules.rules {
        let anchor_path = rule.from.first().or(rule.to.first());
        let Some(anchor_path) = anchor_path else {
            continue;
        };
        let anchor = anchor_path.segment.as_str();
        let occurrences: Vec<usize> = match anchor_path.segment_number {
            Some(n) => vec![n as usize],
            None => {
                let count = if rule.from.is_empty() {
                    target.segment_count(anchor)
                } else {
                    source.segment_count(anchor)
                };
                if rule.from.is_empty() {
                    (1..=count.max(1)).collect()
                } else {
                    (1..=count).collect()
                }
            }
        };
        for occ in occurrences {
            if let Some(w) = &rule.when
                && !w.holds(source, anchor, occ)
            {
                continue;
            }
            apply_one(
                rule,
                tables,
                source,
                &mut target,
                anchor,
                occ,
                &mut effects,
                &mut findings,
            );
        }
    }
    // Segments left with no populated field (explicit mode, or everything dropped) are removed.
    target
        .segments
        .retain(|s| s.name == "MSH" || s.fields.iter().any(|f| !f.raw.is_empty()));
    Mapped {
        message: target,
        effects,
        findings,
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_one(
    rule: &Rule,
    tables: &Tables,
    source: &Message,
    target: &mut Message,
    anchor: &str,
    occ: usize,
    effects: &mut Vec<Effect>,
    findings: &mut Vec<Finding>,
) {
    let sd = source.delimiters;
    let td = target.delimiters;
    let sources: smallvec::SmallVec<[Path; 2]> =
        rule.from.iter().map(|p| resolve(p, anchor, occ)).collect();
    let targets: smallvec::SmallVec<[Path; 2]> =
        rule.to.iter().map(|p| resolve(p, anchor, occ)).collect();
    let src_raw: &str = sources
        .first()
        .map(|p| source.get_or_empty(p))
        .unwrap_or("");
    let src_value = hl7::unescape(src_raw, &sd);
    // Re-encode a raw source value for the target's delimiters (usually the same).
    let carry = |raw: &str| {
        if sd == td {
            raw.to_string()
        } else {
            hl7::escape(&hl7::unescape(raw, &sd), &td)
        }
    };
    let mut write = |target: &mut Message, path: &Path, raw: String, from: String| {
        target.set(path, &raw);
        effects.push(Effect {
            rule: rule.id.clone(),
            action: rule.action,
            sources: sources.to_vec(),
            target: path.clone(),
            from,
            to: raw,
            reason: None,
        });
    };
    let mut reject = |path: &Path, code: u16, severity: Severity, reason: String| {
        findings.push(Finding {
            location: path.clone(),
            segment_only: false,
            code,
            severity,
            reason,
            side: Side::Mapping,
            rule: Some(rule.id.to_string()),
        });
    };
    match rule.action {
        Action::Copy | Action::Move => {
            if src_raw.is_empty() {
                return;
            }
            let to = &targets[0];
            if rule.action == Action::Move && to != &sources[0] {
                target.delete(&sources[0]);
            }
            write(target, to, carry(src_raw), src_raw.to_string());
        }
        Action::Set => {
            let to = &targets[0];
            let old = target.get_or_empty(to).to_string();
            let new = hl7::escape(rule.value.as_deref().unwrap_or(""), &td);
            write(target, to, new, old);
        }
        Action::Default => {
            let to = &targets[0];
            if target.get_or_empty(to).is_empty() {
                let new = hl7::escape(rule.value.as_deref().unwrap_or(""), &td);
                write(target, to, new, String::new());
            }
        }
        Action::Translate => {
            if src_value.is_empty() {
                return;
            }
            let to = &targets[0];
            let map = rule.map.as_deref().and_then(|m| tables.map(m));
            match map.and_then(|m| m.codes.get(src_value.as_ref())) {
                Some(code) => write(target, to, hl7::escape(code, &td), src_raw.to_string()),
                None => {
                    let map_name = rule.map.clone().unwrap_or_default();
                    match rule.on_unmapped {
                        Unmapped::Reject => reject(
                            &sources[0],
                            finding::TABLE_VALUE,
                            Severity::Error,
                            format!("`{src_value}` has no translation in map `{map_name}`"),
                        ),
                        Unmapped::Pass => {
                            reject(
                                &sources[0],
                                finding::TABLE_VALUE,
                                Severity::Warning,
                                format!(
                                    "`{src_value}` has no translation in map `{map_name}`; passed through unchanged"
                                ),
                            );
                            write(target, to, carry(src_raw), src_raw.to_string());
                        }
                        Unmapped::Default => {
                            let d = rule.default.clone().unwrap_or_default();
                            write(target, to, hl7::escape(&d, &td), src_raw.to_string());
                        }
                    }
                }
            }
        }
        Action::Datetime => {
            if src_value.is_empty() {
                return;
            }
            let to = &targets[0];
            // For a TS field the time is component 1; keep the rest.
            let ts_text = hl7::sub_value(
                src_raw,
                &sd,
                None,
                if sources[0].component_number.is_none() {
                    Some(1)
                } else {
                    None
                },
                None,
            )
            .to_string();
            match Timestamp::parse(&ts_text) {
                Err(e) => reject(
                    &sources[0],
                    finding::DATA_TYPE,
                    Severity::Error,
                    format!("cannot normalise the time: {e}"),
                ),
                Ok(ts) => {
                    let normalised = match (ts.offset_minutes, rule.assume_offset, rule.to_offset) {
                        (None, None, Some(_)) => {
                            reject(
                                &sources[0],
                                finding::DATA_TYPE,
                                Severity::Warning,
                                format!(
                                    "`{ts_text}` has no UTC offset and the rule assumes none; left unchanged"
                                ),
                            );
                            ts.clone()
                        }
                        (_, assume, Some(target_offset)) => ts.to_offset(target_offset, assume),
                        (Some(_), _, None) => ts.clone(),
                        (None, Some(assume), None) if ts.has_time() => Timestamp {
                            offset_minutes: Some(assume),
                            ..ts.clone()
                        },
                        (None, _, None) => ts.clone(),
                    };
                    let new_ts = normalised.to_string();
                    let new_raw = if ts_text == src_raw {
                        new_ts
                    } else {
                        hl7::with_sub_value(src_raw, &sd, None, Some(1), None, &new_ts)
                    };
                    write(target, to, carry(&new_raw), src_raw.to_string());
                }
            }
        }
        Action::Split => {
            if src_value.is_empty() {
                return;
            }
            let parts: Vec<&str> = src_value
                .splitn(targets.len(), rule.separator.as_str())
                .collect();
            for (i, to) in targets.iter().enumerate() {
                let part = parts.get(i).copied().unwrap_or("").trim();
                write(target, to, hl7::escape(part, &td), src_raw.to_string());
            }
            if !targets.iter().any(|t| t.same_field(&sources[0])) {
                target.delete(&sources[0]);
            }
        }
        Action::Join => {
            let values: Vec<String> = sources
                .iter()
                .map(|p| source.value(p))
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return;
            }
            let joined = values.join(&rule.separator);
            let from = sources
                .iter()
                .map(|p| source.get_or_empty(p))
                .collect::<Vec<_>>()
                .join(" + ");
            for s in &sources {
                if !targets[0].same_field(s) {
                    target.delete(s);
                }
            }
            write(target, &targets[0], hl7::escape(&joined, &td), from);
        }
        Action::Drop => {
            if src_raw.is_empty() {
                return;
            }
            target.delete(&sources[0]);
            effects.push(Effect {
                rule: rule.id.clone(),
                action: Action::Drop,
                sources: sources.to_vec(),
                target: sources[0].clone(),
                from: src_raw.to_string(),
                to: String::new(),
                reason: rule.reason.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Rules, LoadError> {
        let mut t = Tables::default();
        t.load_into(
            FsPath::new("t.toml"),
            "[[map]]\nid = \"prio\"\ncodes = { S = \"STAT\" }\n",
        )
        .unwrap();
        Rules::load(FsPath::new("rules.toml"), text, &t)
    }

    #[test]
    fn errors_name_file_line_and_rule() {
        let e = load("[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-5\"\n\n[[rule]]\nid = \"B\"\naction = \"translate\"\nfrom = \"ORC-7\"\nmap = \"nope\"\n").unwrap_err().to_string();
        assert!(
            e.contains("rule `B`")
                && e.contains("map `nope`")
                && e.contains("rules.toml")
                && e.contains("line 6"),
            "{e}"
        );
        let e = load("[[rule]]\nid = \"A\"\naction = \"copyy\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("copyy") && e.contains("line 3"), "{e}");
        let e = load("[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("PID-x") && e.contains("line 4"), "{e}");
        let e = load("[[rule]]\nid = \"A\"\naction = \"drop\"\nfrom = \"PID-5\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("reason"), "{e}");
    }

    #[test]
    fn applies_rules_per_occurrence() {
        let mut t = Tables::default();
        t.load_into(
            FsPath::new("t.toml"),
            "[[map]]\nid = \"prio\"\ncodes = { S = \"STAT\" }\n",
        )
        .unwrap();
        let rules = Rules::load(
            FsPath::new("r.toml"),
            r#"
[[rule]]
id = "T1"
action = "translate"
from = "OBR-5"
map = "prio"
[[rule]]
id = "D1"
action = "datetime"
from = "OBR-7"
assume_offset = "-0500"
to_offset = "+0000"
[[rule]]
id = "X1"
action = "drop"
from = "ZPI-1"
reason = "site data"
[[rule]]
id = "S1"
action = "set"
to = "MSH-5"
value = "LIS"
"#,
            &t,
        )
        .unwrap();
        let src = hl7::parse_one("MSH|^~\\&|A|B|C|D|20240101||ORM^O01|1|P|2.5.1\rOBR|1||||S||202401012300\rOBR|2||||S||20240102\rZPI|x\r").unwrap();
        let out = apply(&rules, &t, &src);
        let m = &out.message;
        assert_eq!(m.get(&"OBR-5".parse().unwrap()), Some("STAT"));
        assert_eq!(m.get(&"OBR[2]-5".parse().unwrap()), Some("STAT"));
        assert_eq!(m.get(&"OBR-7".parse().unwrap()), Some("202401020400+0000"));
        assert_eq!(m.get(&"OBR[2]-7".parse().unwrap()), Some("20240102"));
        assert_eq!(m.segment_count("ZPI"), 0);
        assert_eq!(m.get(&"MSH-5".parse().unwrap()), Some("LIS"));
        assert_eq!(out.effects.iter().filter(|e| &*e.rule == "T1").count(), 2);
    }
}
