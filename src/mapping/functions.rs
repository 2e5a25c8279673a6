//! Value functions for `transform` rules: each step takes the unescaped
//! value and gives a new one; the result is escaped for the target.
//!
//! ```toml
//! steps = [ { trim = true }, { case = "upper" }, { truncate = 20 },
//!           { substring = [1, 3] }, { pad_left = 10, with = "0" },
//!           { replace = "[^0-9]", with = "" }, { after_last = " " },
//!           { before_last = " " }, { prepend = "MRN-" }, { append = "!" },
//!           { lookup = "priority", default = "ROUTINE" } ]
//! ```

use serde::{Deserialize, Serialize};

use crate::condition::Pattern;
use crate::table::Tables;

/// The longest value a step may produce by padding or truncating to.
pub const MAX_STEP_LENGTH: usize = 1_000_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    #[serde(default)]
    trim: Option<bool>,
    #[serde(default)]
    case: Option<String>,
    #[serde(default)]
    truncate: Option<usize>,
    #[serde(default)]
    substring: Option<Vec<usize>>,
    #[serde(default)]
    pad_left: Option<usize>,
    #[serde(default)]
    pad_right: Option<usize>,
    #[serde(default)]
    with: Option<String>,
    #[serde(default)]
    replace: Option<String>,
    #[serde(default)]
    after_last: Option<String>,
    #[serde(default)]
    before_last: Option<String>,
    #[serde(default)]
    prepend: Option<String>,
    #[serde(default)]
    append: Option<String>,
    #[serde(default)]
    lookup: Option<String>,
    #[serde(default)]
    default: Option<String>,
}

/// One validated step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Trim,
    Upper,
    Lower,
    /// Keep at most this many characters.
    Truncate(usize),
    /// 1-based start and length, in characters.
    Substring(usize, usize),
    PadLeft(usize, char),
    PadRight(usize, char),
    Replace(Pattern, String),
    AfterLast(String),
    BeforeLast(String),
    Prepend(String),
    Append(String),
    Lookup {
        map: String,
        default: Option<String>,
    },
}

impl RawStep {
    pub(super) fn validate(self, tables: &Tables) -> Result<Step, String> {
        let ops = [
            self.trim.is_some(),
            self.case.is_some(),
            self.truncate.is_some(),
            self.substring.is_some(),
            self.pad_left.is_some(),
            self.pad_right.is_some(),
            self.replace.is_some(),
            self.after_last.is_some(),
            self.before_last.is_some(),
            self.prepend.is_some(),
            self.append.is_some(),
            self.lookup.is_some(),
        ]
        .into_iter()
        .filter(|x| *x)
        .count();
        if ops != 1 {
            return Err(format!(
                "each step does one thing (trim, case, truncate, substring, pad_left, pad_right, replace, after_last, before_last, prepend, append, lookup); this one gives {ops}"
            ));
        }
        let takes_with =
            self.pad_left.is_some() || self.pad_right.is_some() || self.replace.is_some();
        if self.with.is_some() && !takes_with {
            return Err("`with` goes with pad_left, pad_right or replace".into());
        }
        if self.default.is_some() && self.lookup.is_none() {
            return Err("`default` goes with lookup".into());
        }
        let limit = |n: usize, what: &str| {
            if n > MAX_STEP_LENGTH {
                Err(format!(
                    "{what} {n} is more than the limit of {MAX_STEP_LENGTH}"
                ))
            } else {
                Ok(n)
            }
        };
        if let Some(t) = self.trim {
            if !t {
                return Err("`trim = false` does nothing; leave the step out".into());
            }
            return Ok(Step::Trim);
        }
        if let Some(c) = self.case {
            return match c.as_str() {
                "upper" => Ok(Step::Upper),
                "lower" => Ok(Step::Lower),
                _ => Err(format!("`case` `{c}` must be \"upper\" or \"lower\"")),
            };
        }
        if let Some(n) = self.truncate {
            return Ok(Step::Truncate(limit(n, "truncate")?));
        }
        if let Some(v) = self.substring {
            return match v.as_slice() {
                [start, len] if *start >= 1 => Ok(Step::Substring(
                    limit(*start, "substring start")?,
                    limit(*len, "substring length")?,
                )),
                _ => Err("`substring` is [start, length], start counting from 1".into()),
            };
        }
        let pad_char = || -> Result<char, String> {
            let w = self.with.clone().unwrap_or_else(|| " ".into());
            let mut chars = w.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(format!("pad `with` `{w}` must be one character")),
            }
        };
        if let Some(n) = self.pad_left {
            return Ok(Step::PadLeft(limit(n, "pad_left")?, pad_char()?));
        }
        if let Some(n) = self.pad_right {
            return Ok(Step::PadRight(limit(n, "pad_right")?, pad_char()?));
        }
        if let Some(p) = self.replace {
            let re =
                fancy_regex::Regex::new(&p).map_err(|e| format!("`replace` pattern `{p}`: {e}"))?;
            let Some(w) = self.with else {
                return Err("`replace` needs `with` (the replacement text)".into());
            };
            return Ok(Step::Replace(Pattern(re), w));
        }
        let non_empty = |s: String, what: &str| {
            if s.is_empty() {
                Err(format!("`{what}` needs a non-empty separator"))
            } else {
                Ok(s)
            }
        };
        if let Some(s) = self.after_last {
            return Ok(Step::AfterLast(non_empty(s, "after_last")?));
        }
        if let Some(s) = self.before_last {
            return Ok(Step::BeforeLast(non_empty(s, "before_last")?));
        }
        if let Some(s) = self.prepend {
            return Ok(Step::Prepend(s));
        }
        if let Some(s) = self.append {
            return Ok(Step::Append(s));
        }
        if let Some(m) = self.lookup {
            if tables.map(&m).is_none() {
                return Err(format!(
                    "lookup map `{m}` is not defined (known maps: {})",
                    crate::profile::known(tables.maps.keys())
                ));
            }
            return Ok(Step::Lookup {
                map: m,
                default: self.default,
            });
        }
        Err("a step needs an operation".into())
    }
}

impl Step {
    pub fn describe(&self) -> String {
        match self {
            Step::Trim => "trim".into(),
            Step::Upper => "upper case".into(),
            Step::Lower => "lower case".into(),
            Step::Truncate(n) => format!("first {n} characters"),
            Step::Substring(s, n) => format!("{n} characters from {s}"),
            Step::PadLeft(n, c) => format!("pad left to {n} with `{c}`"),
            Step::PadRight(n, c) => format!("pad right to {n} with `{c}`"),
            Step::Replace(p, w) => format!("replace /{}/ with `{w}`", p.0.as_str()),
            Step::AfterLast(s) => format!("after the last `{s}`"),
            Step::BeforeLast(s) => format!("before the last `{s}`"),
            Step::Prepend(s) => format!("prepend `{s}`"),
            Step::Append(s) => format!("append `{s}`"),
            Step::Lookup { map, .. } => format!("look up in {map}"),
        }
    }

    /// Runs the step on an unescaped value. `Err` says why the value could
    /// not be produced (a code with no translation and no default).
    pub fn run(&self, v: &str, tables: &Tables) -> Result<String, String> {
        let chars = || v.chars();
        Ok(match self {
            Step::Trim => v.trim().to_string(),
            Step::Upper => v.to_uppercase(),
            Step::Lower => v.to_lowercase(),
            Step::Truncate(n) => chars().take(*n).collect(),
            Step::Substring(s, n) => chars().skip(s - 1).take(*n).collect(),
            Step::PadLeft(n, c) => {
                let len = chars().count();
                let mut out: String = std::iter::repeat_n(*c, n.saturating_sub(len)).collect();
                out.push_str(v);
                out
            }
            Step::PadRight(n, c) => {
                let len = chars().count();
                let mut out = v.to_string();
                out.extend(std::iter::repeat_n(*c, n.saturating_sub(len)));
                out
            }
            // A pattern that backtracks past the engine's limit on this value
            // is a located mapping finding, never a panic.
            Step::Replace(p, w) => {
                p.0.try_replacen(v, 0, w.as_str())
                    .map_err(|e| {
                        format!(
                            "`replace` pattern `{}` could not run on this value: {e}",
                            p.0.as_str()
                        )
                    })?
                    .into_owned()
            }
            Step::AfterLast(s) => v.rsplit_once(s.as_str()).map_or(v, |(_, b)| b).to_string(),
            Step::BeforeLast(s) => v.rsplit_once(s.as_str()).map_or(v, |(a, _)| a).to_string(),
            Step::Prepend(s) => format!("{s}{v}"),
            Step::Append(s) => format!("{v}{s}"),
            Step::Lookup { map, default } => match tables.map(map).and_then(|m| m.codes.get(v)) {
                Some(code) => code.clone(),
                None => match default {
                    Some(d) => d.clone(),
                    None => {
                        return Err(format!("`{v}` has no translation in map `{map}`"));
                    }
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(text: &str) -> Result<Step, String> {
        #[derive(Deserialize)]
        struct W {
            s: RawStep,
        }
        let w: W = toml::from_str(&format!("s = {text}")).map_err(|e| e.to_string())?;
        let mut t = Tables::default();
        t.load_into(
            std::path::Path::new("t.toml"),
            "[[map]]\nid = \"p\"\ncodes = { S = \"STAT\" }\n",
        )
        .map_err(|e| e.to_string())?;
        w.s.validate(&t)
    }

    #[test]
    fn every_step_runs_on_characters() {
        let t = Tables::default();
        let run = |s: &str, v: &str| step(s).unwrap().run(v, &t).unwrap();
        assert_eq!(run("{ trim = true }", "  a b "), "a b");
        assert_eq!(run("{ case = \"upper\" }", "müller"), "MÜLLER");
        assert_eq!(run("{ truncate = 3 }", "Müller"), "Mül");
        assert_eq!(run("{ substring = [2, 3] }", "Müller"), "üll");
        assert_eq!(run("{ pad_left = 5, with = \"0\" }", "42"), "00042");
        assert_eq!(run("{ pad_right = 4 }", "ab"), "ab  ");
        assert_eq!(
            run("{ replace = \"[^0-9]\", with = \"\" }", "555-12 34"),
            "5551234"
        );
        assert_eq!(run("{ after_last = \" \" }", "Mary Ann Smith"), "Smith");
        assert_eq!(run("{ before_last = \" \" }", "Mary Ann Smith"), "Mary Ann");
        assert_eq!(run("{ prepend = \"MRN-\" }", "1"), "MRN-1");
    }

    #[test]
    fn says_no_to_steps_that_mean_nothing() {
        for bad in [
            "{ trim = true, case = \"upper\" }",
            "{ case = \"title\" }",
            "{ truncate = 5, with = \"x\" }",
            "{ substring = [0, 2] }",
            "{ pad_left = 9999999999 }",
            "{ replace = \"(\", with = \"\" }",
            "{ lookup = \"nope\" }",
            "{ lookup = \"p\", with = \"x\" }",
            "{ frobnicate = 1 }",
            "{}",
        ] {
            assert!(step(bad).is_err(), "{bad} should fail");
        }
        assert!(step("{ lookup = \"p\", default = \"X\" }").is_ok());
    }

    #[test]
    fn a_pattern_that_backtracks_without_end_is_an_error_not_a_panic() {
        let t = Tables::default();
        // Lookarounds inside a repetition: the backtracking engine gives up past its limit.
        let s = step("{ replace = '((?=a)a+)+(?=b)', with = \"\" }").unwrap();
        let e = s.run(&"a".repeat(40), &t).unwrap_err();
        assert!(e.contains("could not run on this value"), "{e}");
    }
}
