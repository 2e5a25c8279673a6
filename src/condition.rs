//! Conditions, as profiles (`when` on a usage-C field, a context rule) and
//! mapping rules (`when` on a rule) write them:
//!
//! ```toml
//! when = { path = "OBX-2", equals = "NM" }
//! when = { path = "PID-15", not_one_of = ["eng", "spa"] }
//! when = { path = "OBX-5", matches = "^[0-9.]+$" }
//! when = { path = "PV1-19", absent = true }
//! when = { path = "OBR-4.3", message = "mapped", equals = "LN" }
//! when = { all = [ { path = "ORC-1", equals = "NW" }, { not = { path = "ORC-5", present = true } } ] }
//! when = { rule = "LOINC", applied = true }
//! ```
//!
//! Read strictly: a leaf names a `path` and exactly one test; `all`, `any`
//! and `not` combine; `rule` asks whether a mapping rule changed something
//! for this occurrence. Anything else is an error at its line and column.

use serde::{Deserialize, Serialize};

use crate::hl7::{self, Message, Path};

/// How deep conditions may nest.
pub const MAX_DEPTH: usize = 32;

/// Which message a path is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    /// The message as the sender sent it.
    #[default]
    Source,
    /// The message as the rules so far have made it.
    Mapped,
}

/// A compiled regular expression, compared and written by its pattern.
#[derive(Debug, Clone)]
pub struct Pattern(pub fancy_regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}
impl Eq for Pattern {}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// One test of a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    Equals(String),
    NotEquals(String),
    OneOf(Vec<String>),
    NotOneOf(Vec<String>),
    /// The whole value must match.
    Matches(Pattern),
    Present,
    Absent,
}

/// A validated condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "RawCondition")]
pub enum Condition {
    Leaf {
        path: Path,
        message: Which,
        test: Test,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// Whether a mapping rule changed something at this occurrence.
    Rule {
        rule: String,
        applied: bool,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<Path>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<Which>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    one_of: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_one_of: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    matches: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    absent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all: Option<Vec<RawCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    any: Option<Vec<RawCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not: Option<Box<RawCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied: Option<bool>,
}

/// The tests a leaf condition or a `where` may give, as written.
#[derive(Debug, Clone, Default)]
pub struct RawTest {
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    pub one_of: Option<Vec<String>>,
    pub not_one_of: Option<Vec<String>>,
    pub matches: Option<String>,
    pub present: Option<bool>,
    pub absent: Option<bool>,
}

impl RawTest {
    fn count(&self) -> usize {
        [
            self.equals.is_some(),
            self.not_equals.is_some(),
            self.one_of.is_some(),
            self.not_one_of.is_some(),
            self.matches.is_some(),
            self.present.is_some(),
            self.absent.is_some(),
        ]
        .into_iter()
        .filter(|x| *x)
        .count()
    }

    /// The one test given (`None` when none is); an error when several are
    /// or a pattern does not compile. `what` names the place in messages.
    pub fn build(self, what: &str) -> Result<Option<Test>, String> {
        let n = self.count();
        if n > 1 {
            return Err(format!(
                "condition on {what}: give exactly one of equals, not_equals, one_of, not_one_of, matches, present, absent ({n} given)"
            ));
        }
        Ok(Some(if let Some(v) = self.equals {
            Test::Equals(v)
        } else if let Some(v) = self.not_equals {
            Test::NotEquals(v)
        } else if let Some(v) = self.one_of {
            Test::OneOf(v)
        } else if let Some(v) = self.not_one_of {
            Test::NotOneOf(v)
        } else if let Some(p) = self.matches {
            let anchored = format!("^(?:{p})$");
            let re = fancy_regex::Regex::new(&anchored)
                .map_err(|e| format!("condition on {what}: `matches` pattern `{p}`: {e}"))?;
            Test::Matches(Pattern(re))
        } else if let Some(v) = self.present {
            if v { Test::Present } else { Test::Absent }
        } else if let Some(v) = self.absent {
            if v { Test::Absent } else { Test::Present }
        } else {
            return Ok(None);
        }))
    }
}

impl RawCondition {
    fn test(&self) -> RawTest {
        RawTest {
            equals: self.equals.clone(),
            not_equals: self.not_equals.clone(),
            one_of: self.one_of.clone(),
            not_one_of: self.not_one_of.clone(),
            matches: self.matches.clone(),
            present: self.present,
            absent: self.absent,
        }
    }

    fn validate(self, depth: usize) -> Result<Condition, String> {
        if depth > MAX_DEPTH {
            return Err(format!("conditions nest more than {MAX_DEPTH} deep"));
        }
        let raw_test = self.test();
        let tests = raw_test.count();
        let combinators = [self.all.is_some(), self.any.is_some(), self.not.is_some()]
            .into_iter()
            .filter(|x| *x)
            .count();
        let is_rule = self.rule.is_some() || self.applied.is_some();
        let kinds =
            usize::from(self.path.is_some() || tests > 0) + combinators + usize::from(is_rule);
        if kinds != 1 {
            return Err("a condition is one of: a `path` with one test, `all`, `any`, `not`, or `rule` with `applied`".into());
        }
        if is_rule {
            let (Some(rule), Some(applied)) = (self.rule, self.applied) else {
                return Err(
                    "a `rule` condition needs both `rule` (a rule id) and `applied = true|false`"
                        .into(),
                );
            };
            if self.message.is_some() {
                return Err("`message` goes with a `path`, not with `rule`".into());
            }
            return Ok(Condition::Rule { rule, applied });
        }
        let list = |v: Vec<RawCondition>, what: &str| -> Result<Vec<Condition>, String> {
            if v.is_empty() {
                return Err(format!("`{what}` needs at least one condition"));
            }
            v.into_iter().map(|c| c.validate(depth + 1)).collect()
        };
        if self.message.is_some() && self.path.is_none() {
            return Err("`message` goes with a `path`".into());
        }
        if let Some(v) = self.all {
            return Ok(Condition::All(list(v, "all")?));
        }
        if let Some(v) = self.any {
            return Ok(Condition::Any(list(v, "any")?));
        }
        if let Some(c) = self.not {
            return Ok(Condition::Not(Box::new(c.validate(depth + 1)?)));
        }
        let Some(path) = self.path else {
            return Err("a test needs the `path` it reads".into());
        };
        crate::hl7::names::dictionary().check_path(&path)?;
        let Some(test) = raw_test.build(&path.to_string())? else {
            return Err(format!(
                "condition on {path}: give one test (equals, not_equals, one_of, not_one_of, matches, present, absent)"
            ));
        };
        Ok(Condition::Leaf {
            path,
            message: self.message.unwrap_or_default(),
            test,
        })
    }
}

impl From<Condition> for RawCondition {
    fn from(c: Condition) -> RawCondition {
        let mut r = RawCondition::default();
        match c {
            Condition::Leaf {
                path,
                message,
                test,
            } => {
                r.path = Some(path);
                r.message = (message == Which::Mapped).then_some(message);
                match test {
                    Test::Equals(v) => r.equals = Some(v),
                    Test::NotEquals(v) => r.not_equals = Some(v),
                    Test::OneOf(v) => r.one_of = Some(v),
                    Test::NotOneOf(v) => r.not_one_of = Some(v),
                    Test::Matches(p) => {
                        let s = p.0.as_str();
                        r.matches = Some(
                            s.strip_prefix("^(?:")
                                .and_then(|s| s.strip_suffix(")$"))
                                .unwrap_or(s)
                                .to_string(),
                        )
                    }
                    Test::Present => r.present = Some(true),
                    Test::Absent => r.absent = Some(true),
                }
            }
            Condition::All(v) => r.all = Some(v.into_iter().map(Into::into).collect()),
            Condition::Any(v) => r.any = Some(v.into_iter().map(Into::into).collect()),
            Condition::Not(c) => r.not = Some(Box::new((*c).into())),
            Condition::Rule { rule, applied } => {
                r.rule = Some(rule);
                r.applied = Some(applied);
            }
        }
        r
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawCondition::deserialize(d)?
            .validate(0)
            .map_err(serde::de::Error::custom)
    }
}

/// What a condition reads: the message(s) and, for rules, which rules
/// changed something at the occurrence being mapped.
pub struct Scope<'a> {
    pub source: &'a Message,
    /// The mapped message so far; the source itself when checking a profile.
    pub mapped: &'a Message,
    /// The segment being checked or mapped, and its occurrence.
    pub segment: &'a str,
    pub occurrence: usize,
    /// When the segment is in `source` at a known index: read there with no search.
    pub source_index: Option<usize>,
    /// Rules that changed something at this occurrence so far.
    pub applied: &'a dyn Fn(&str) -> bool,
}

fn no_rules(_: &str) -> bool {
    false
}

impl Condition {
    /// Evaluates the condition in one message (a profile's view), reading
    /// the path's segment at `occurrence` when it is the segment being checked.
    pub fn holds(&self, msg: &Message, segment: &str, occurrence: usize) -> bool {
        self.eval(&Scope {
            source: msg,
            mapped: msg,
            segment,
            occurrence,
            source_index: None,
            applied: &no_rules,
        })
    }

    /// [`Condition::holds`] when the segment being checked is at `index`.
    pub fn holds_in(&self, msg: &Message, index: usize, segment: &str, occurrence: usize) -> bool {
        self.eval(&Scope {
            source: msg,
            mapped: msg,
            segment,
            occurrence,
            source_index: Some(index),
            applied: &no_rules,
        })
    }

    /// Evaluates the condition, iteratively bounded by [`MAX_DEPTH`] at load.
    pub fn eval(&self, s: &Scope) -> bool {
        match self {
            Condition::All(v) => v.iter().all(|c| c.eval(s)),
            Condition::Any(v) => v.iter().any(|c| c.eval(s)),
            Condition::Not(c) => !c.eval(s),
            Condition::Rule { rule, applied } => (s.applied)(rule) == *applied,
            Condition::Leaf {
                path,
                message,
                test,
            } => {
                let msg = match message {
                    Which::Source => s.source,
                    Which::Mapped => s.mapped,
                };
                let same = path.segment == s.segment && path.segment_number.is_none();
                let raw = match (same, message, s.source_index) {
                    (true, Which::Source, Some(i)) => msg.get_in(i, path),
                    (true, _, _) => msg.get_or_empty(&path.at_occurrence(s.occurrence)),
                    (false, _, _) => msg.get_or_empty(path),
                };
                let value = hl7::unescape(raw, &msg.delimiters);
                test.holds(&value)
            }
        }
    }

    /// Whether any leaf reads the mapped message or a rule's outcome
    /// (which a profile cannot do).
    pub fn reads_mapping(&self) -> bool {
        match self {
            Condition::All(v) | Condition::Any(v) => v.iter().any(Condition::reads_mapping),
            Condition::Not(c) => c.reads_mapping(),
            Condition::Rule { .. } => true,
            Condition::Leaf { message, .. } => *message == Which::Mapped,
        }
    }

    /// The rule ids a condition asks about.
    pub fn rules(&self, out: &mut Vec<String>) {
        match self {
            Condition::All(v) | Condition::Any(v) => v.iter().for_each(|c| c.rules(out)),
            Condition::Not(c) => c.rules(out),
            Condition::Rule { rule, .. } => out.push(rule.clone()),
            Condition::Leaf { .. } => {}
        }
    }

    /// The path of the first leaf (for messages that name one place).
    pub fn first_path(&self) -> Option<&Path> {
        match self {
            Condition::All(v) | Condition::Any(v) => v.iter().find_map(Condition::first_path),
            Condition::Not(c) => c.first_path(),
            Condition::Rule { .. } => None,
            Condition::Leaf { path, .. } => Some(path),
        }
    }

    /// In words: `OBX-2 = NM`, `all of (…)`.
    pub fn describe(&self) -> String {
        let list = |v: &[Condition], sep: &str| {
            v.iter()
                .map(Condition::describe)
                .collect::<Vec<_>>()
                .join(sep)
        };
        match self {
            Condition::All(v) => format!("({})", list(v, " and ")),
            Condition::Any(v) => format!("({})", list(v, " or ")),
            Condition::Not(c) => format!("not {}", c.describe()),
            Condition::Rule { rule, applied } => {
                if *applied {
                    format!("rule {rule} applied")
                } else {
                    format!("rule {rule} did not apply")
                }
            }
            Condition::Leaf {
                path,
                message,
                test,
            } => {
                let p = match message {
                    Which::Source => path.display_exact(),
                    Which::Mapped => format!("mapped {}", path.display_exact()),
                };
                match test {
                    Test::Equals(v) => format!("{p} = {v}"),
                    Test::NotEquals(v) => format!("{p} ≠ {v}"),
                    Test::OneOf(v) => format!("{p} in [{}]", v.join(", ")),
                    Test::NotOneOf(v) => format!("{p} not in [{}]", v.join(", ")),
                    Test::Matches(r) => format!("{p} matches {}", r.0.as_str()),
                    Test::Present => format!("{p} is populated"),
                    Test::Absent => format!("{p} is empty"),
                }
            }
        }
    }
}

impl Test {
    pub fn holds(&self, value: &str) -> bool {
        match self {
            Test::Equals(v) => value == v,
            Test::NotEquals(v) => value != v,
            Test::OneOf(v) => v.iter().any(|x| x == value),
            Test::NotOneOf(v) => !v.iter().any(|x| x == value),
            Test::Matches(p) => p.0.is_match(value).unwrap_or(false),
            Test::Present => !value.is_empty(),
            Test::Absent => value.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Condition, String> {
        #[derive(Deserialize)]
        struct W {
            #[allow(dead_code)]
            when: Condition,
        }
        toml::from_str::<W>(text)
            .map(|w| w.when)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_and_evaluates_every_form() {
        let m = hl7::parse_one(
            "MSH|^~\\&|A|B|C|D|20240101||ORM^O01|1|P|2.5.1\rORC|NW|X\rOBX|1|NM|G||12.5\r",
        )
        .unwrap();
        let t = |c: &str| parse(c).unwrap().holds(&m, "OBX", 1);
        assert!(t(r#"when = { path = "OBX-2", equals = "NM" }"#));
        assert!(t(r#"when = { path = "OBX-2", not_equals = "ST" }"#));
        assert!(t(r#"when = { path = "ORC-1", one_of = ["NW", "XO"] }"#));
        assert!(!t(r#"when = { path = "ORC-1", not_one_of = ["NW"] }"#));
        assert!(t(r#"when = { path = "OBX-5", matches = "[0-9.]+" }"#));
        assert!(
            !t(r#"when = { path = "OBX-5", matches = "[0-9]+" }"#),
            "whole value"
        );
        assert!(t(r#"when = { path = "OBX-6", absent = true }"#));
        assert!(t(
            r#"when = { all = [ { path = "ORC-1", equals = "NW" }, { not = { path = "OBX-6", present = true } } ] }"#
        ));
        assert!(t(
            r#"when = { any = [ { path = "ORC-1", equals = "CA" }, { path = "ORC-2", equals = "X" } ] }"#
        ));
    }

    #[test]
    fn says_no_to_conditions_that_mean_nothing() {
        for bad in [
            r#"when = { path = "OBX-2", equals = "NM", one_of = ["NM"] }"#,
            r#"when = { path = "OBX-2" }"#,
            r#"when = { equals = "NM" }"#,
            r#"when = { path = "OBX-2", equals = "NM", all = [] }"#,
            r#"when = { all = [] }"#,
            r#"when = { path = "OBX-31", present = true }"#,
            r#"when = { path = "OBX-2", matches = "(" }"#,
            r#"when = { rule = "X" }"#,
            r#"when = { path = "OBX-2", equal = "NM" }"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} should fail");
        }
        // Nesting is bounded.
        let deep = format!(
            "when = {}{}{}",
            "{ not = ".repeat(40),
            r#"{ path = "OBX-2", present = true }"#,
            " }".repeat(40)
        );
        let e = parse(&deep).unwrap_err();
        assert!(e.contains("nest"), "{e}");
    }
}
