//! Conformance statements, predicates and datatype-level value-set bindings
//! of NIST IGAMT profiles (`CONSTRAINTS.xml`, `VALUESETBINDINGS.xml`),
//! evaluated on the message's structure as the profile defines it.
//!
//! A message is first matched against the profile's segment groups
//! (`PATIENT_RESULT`, `ORDER_OBSERVATION`, …), so that each rule runs in its
//! own context: a group instance, a segment of a given definition, or a
//! value of a given datatype flavour (`CWE_LN`, `TS_D8R`). Paths inside a
//! rule are NIST element paths (`2[1].7[1].1[1]`, `9[*].1[1]`), relative to
//! that context. Assertions: Presence, PlainText, StringList, Format
//! (regular expression), SetID, PathValue, and NOT/AND/OR/XOR/IMPLY/
//! FORALL/EXIST. Anything else is listed when the profile is imported.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};

use roxmltree::Node as XmlNode;

use crate::finding::{self, Finding, Severity, Side};
use crate::hl7::{Delimiters, Message, Path, SegName, unescape};
use crate::profile::Usage;
use crate::table::Tables;

/// A compiled regular expression, compared by its source.
#[derive(Debug, Clone)]
pub struct Pattern(fancy_regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}
impl Eq for Pattern {}

/// One step of an element path: child position and which instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub position: usize,
    /// `None` for `[*]`.
    pub instance: Option<usize>,
}

/// `2[1].7[1].1[1]`; empty for `.` (the context itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElemPath(pub Vec<Step>);

impl std::str::FromStr for ElemPath {
    type Err = String;
    fn from_str(s: &str) -> Result<ElemPath, String> {
        let s = s.trim();
        if s == "." || s.is_empty() {
            return Ok(ElemPath(Vec::new()));
        }
        s.split('.')
            .map(|step| {
                let (pos, inst) = match step.split_once('[') {
                    Some((p, rest)) => (p, rest.trim_end_matches(']')),
                    None => (step, "1"),
                };
                let position = pos
                    .parse()
                    .ok()
                    .filter(|&p: &usize| p >= 1)
                    .ok_or_else(|| format!("`{step}` in element path `{s}`"))?;
                let instance = match inst {
                    "*" => None,
                    n => Some(n.parse().map_err(|_| format!("`{step}` in `{s}`"))?),
                };
                Ok(Step { position, instance })
            })
            .collect::<Result<_, _>>()
            .map(ElemPath)
    }
}

/// How quantified paths are read in a PathValue comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The first value only.
    One,
    All,
    AtLeastOne,
}

/// An assertion or condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Presence(ElemPath),
    PlainText {
        path: ElemPath,
        text: String,
        ignore_case: bool,
        at_least_once: bool,
        not_present: Option<bool>,
    },
    StringList {
        path: ElemPath,
        values: Vec<String>,
        ignore_case: bool,
        at_least_once: bool,
        not_present: Option<bool>,
    },
    Format {
        path: ElemPath,
        pattern: Pattern,
        at_least_once: bool,
        not_present: Option<bool>,
    },
    SetId(ElemPath),
    PathValue {
        left: ElemPath,
        left_mode: Mode,
        operator: String,
        right: ElemPath,
        right_mode: Mode,
        not_present: Option<bool>,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Xor(Vec<Expr>),
    Imply(Box<Expr>, Box<Expr>),
}

/// A rule attached to a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Statement {
        id: String,
        description: String,
        severity: Severity,
        assertion: Expr,
    },
    Predicate {
        target: ElemPath,
        true_usage: Usage,
        false_usage: Usage,
        description: String,
        condition: Expr,
    },
    /// A required binding to closed value sets.
    Binding {
        target: ElemPath,
        location: ElemPath,
        value_sets: Vec<String>,
    },
}

/// A field whose datatype another field names: (field, reference field,
/// [(value, datatype flavour)]), e.g. OBX-5 by OBX-2.
pub type DynamicMapping = (usize, usize, Vec<(String, String)>);

/// A conformance statement as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementInfo {
    /// `message`, a group (`ORDER_OBSERVATION`), a segment (`MSH`) or a
    /// datatype flavour (`CWE_LN`).
    pub context: String,
    /// For a datatype flavour: where it is used (`OBX-3`, `TS_D14TZR.1`).
    pub applies_to: Vec<String>,
    pub id: String,
    pub description: String,
    /// SHALL → error, SHOULD → warning.
    pub severity: Severity,
}

/// The profile's message structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Segment {
        flavour: String,
        name: SegName,
        required: bool,
        max: Option<usize>,
    },
    Group {
        id: String,
        name: String,
        required: bool,
        max: Option<usize>,
        children: Vec<Node>,
    },
}

impl Node {
    fn required(&self) -> bool {
        match self {
            Node::Segment { required, .. } | Node::Group { required, .. } => *required,
        }
    }

    fn max(&self) -> Option<usize> {
        match self {
            Node::Segment { max, .. } | Node::Group { max, .. } => *max,
        }
    }

    /// Can an instance of this node begin with a segment named `name`?
    fn can_start(&self, name: SegName) -> bool {
        match self {
            Node::Segment { name: n, .. } => *n == name,
            Node::Group { children, .. } => {
                for c in children {
                    if c.can_start(name) {
                        return true;
                    }
                    if c.required() {
                        return false;
                    }
                }
                false
            }
        }
    }
}

/// Conformance rules of one profile, by context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conformance {
    pub structure: Vec<Node>,
    /// Segment definition id → datatype flavour of each field.
    pub segments: FxHashMap<String, Vec<String>>,
    /// Datatype flavour id → datatype flavour of each component.
    pub datatypes: FxHashMap<String, Vec<String>>,
    /// Segment definition id → fields whose datatype another field names
    /// (OBX-5 by OBX-2): (field, reference field, [(value, datatype flavour)]).
    pub dynamic: FxHashMap<String, Vec<DynamicMapping>>,
    pub message_rules: Vec<Rule>,
    pub group_rules: FxHashMap<String, Vec<Rule>>,
    pub segment_rules: FxHashMap<String, Vec<Rule>>,
    pub datatype_rules: FxHashMap<String, Vec<Rule>>,
    /// Datatype flavours with rules of their own or in their components.
    relevant: FxHashSet<String>,
    /// Per segment definition, the fields (0-based) whose datatype is relevant.
    relevant_fields: FxHashMap<String, Vec<usize>>,
    /// Every segment name the structure has.
    known: Vec<SegName>,
}

// ---------- reading NIST XML ----------

mod evaluate;
mod parse;

impl Conformance {
    /// Every conformance statement with a readable context: `MSH`,
    /// `ORDER_OBSERVATION` (a group), or `CWE_LN` (a datatype flavour, with
    /// the fields that use it).
    pub fn statements(&self) -> Vec<StatementInfo> {
        let mut seg_names: BTreeMap<&str, SegName> = BTreeMap::new();
        let mut group_names: BTreeMap<&str, &str> = BTreeMap::new();
        fn names<'n>(
            nodes: &'n [Node],
            segs: &mut BTreeMap<&'n str, SegName>,
            groups: &mut BTreeMap<&'n str, &'n str>,
        ) {
            for n in nodes {
                match n {
                    Node::Segment { flavour, name, .. } => {
                        segs.insert(flavour, *name);
                    }
                    Node::Group {
                        id, name, children, ..
                    } => {
                        groups.insert(id, name);
                        names(children, segs, groups);
                    }
                }
            }
        }
        names(&self.structure, &mut seg_names, &mut group_names);
        let used_by = |flavour: &str| -> Vec<String> {
            let mut out: Vec<String> = self
                .segments
                .iter()
                .filter_map(|(seg, fields)| Some((seg_names.get(seg.as_str())?, fields)))
                .flat_map(|(name, fields)| {
                    fields
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.as_str() == flavour)
                        .map(move |(i, _)| format!("{name}-{}", i + 1))
                })
                .collect();
            out.sort();
            out.dedup();
            // Named by another field: `OBX-5 (OBX-2 = CWE)`.
            for (seg, maps) in &self.dynamic {
                let Some(name) = seg_names.get(seg.as_str()) else {
                    continue;
                };
                for (p, r, cases) in maps {
                    for (v, dt) in cases {
                        if dt == flavour {
                            out.push(format!("{name}-{p} ({name}-{r} = {v})"));
                        }
                    }
                }
            }
            // Used as a component of another datatype: `TS_D14TZR.1`.
            for (dt, comps) in &self.datatypes {
                for (i, c) in comps.iter().enumerate() {
                    if c == flavour {
                        out.push(format!("{dt}.{}", i + 1));
                    }
                }
            }
            out
        };
        let mut out: Vec<(u8, StatementInfo)> = Vec::new();
        let mut push = |level: u8, context: String, applies_to: Vec<String>, rules: &[Rule]| {
            for r in rules {
                if let Rule::Statement {
                    id,
                    description,
                    severity,
                    ..
                } = r
                {
                    out.push((
                        level,
                        StatementInfo {
                            context: context.clone(),
                            applies_to: applies_to.clone(),
                            id: id.clone(),
                            description: description.clone(),
                            severity: *severity,
                        },
                    ));
                }
            }
        };
        push(0, "message".into(), Vec::new(), &self.message_rules);
        for (id, rules) in &self.group_rules {
            push(
                1,
                group_names
                    .get(id.as_str())
                    .map_or(id.clone(), |n| n.to_string()),
                Vec::new(),
                rules,
            );
        }
        for (id, rules) in &self.segment_rules {
            push(
                2,
                seg_names
                    .get(id.as_str())
                    .map_or(id.clone(), |n| n.to_string()),
                Vec::new(),
                rules,
            );
        }
        for (id, rules) in &self.datatype_rules {
            push(3, id.clone(), used_by(id), rules);
        }
        // Message, then groups, segments and datatypes, each by name.
        out.sort_by(|(la, a), (lb, b)| (la, &a.context, &a.id).cmp(&(lb, &b.context, &b.id)));
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// Counts of rules read: (statements, predicates, bindings).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for r in self
            .message_rules
            .iter()
            .chain(self.group_rules.values().flatten())
            .chain(self.segment_rules.values().flatten())
            .chain(self.datatype_rules.values().flatten())
        {
            match r {
                Rule::Statement { .. } => n.0 += 1,
                Rule::Predicate { .. } => n.1 += 1,
                Rule::Binding { .. } => n.2 += 1,
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::evaluate::*;
    use super::*;

    fn seg(name: &str, required: bool, max: Option<usize>) -> Node {
        Node::Segment {
            flavour: format!("{name}_M"),
            name: SegName::new(name),
            required,
            max,
        }
    }

    fn group(id: &str, required: bool, children: Vec<Node>) -> Node {
        Node::Group {
            id: id.into(),
            name: id.into(),
            required,
            max: None,
            children,
        }
    }

    fn shape(items: &[(usize, Item)]) -> String {
        items
            .iter()
            .map(|(p, i)| match i {
                Item::Segment { nth, .. } => format!("{p}#{nth}"),
                Item::Group { id, inst } => {
                    format!("{id}#{}({})", inst.index, shape(&inst.children))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn matches_segments_to_repeating_groups_and_skips_unknown_ones() {
        // MSH, ORDER*( ORC?, OBR, OBSERVATION*( OBX, NTE* ) )
        let structure = vec![
            seg("MSH", true, Some(1)),
            group(
                "ORDER",
                true,
                vec![
                    seg("ORC", false, Some(1)),
                    seg("OBR", true, Some(1)),
                    group(
                        "OBS",
                        false,
                        vec![seg("OBX", true, Some(1)), seg("NTE", false, None)],
                    ),
                ],
            ),
        ];
        let names: Vec<SegName> = [
            "MSH", "ORC", "OBR", "OBX", "NTE", "NTE", "OBX", "ZXY", "OBR", "OBX",
        ]
        .iter()
        .map(|n| SegName::new(n))
        .collect();
        let mut known = Vec::new();
        known_names(&structure, &mut known);
        let mut pos = 0;
        let got = match_children(&structure, &names, &known, &mut pos, true);
        assert_eq!(
            shape(&got),
            "1#1 ORDER#1(1#1 2#1 OBS#1(1#1 2#1 2#2) OBS#2(1#1)) ORDER#2(2#1 OBS#1(1#1))"
        );
        assert_eq!(pos, names.len());
    }

    #[test]
    fn reads_element_paths_and_compares_values() {
        let p: ElemPath = "9[*].1[1].17".parse().unwrap();
        assert_eq!(
            p.0,
            [
                Step {
                    position: 9,
                    instance: None
                },
                Step {
                    position: 1,
                    instance: Some(1)
                },
                Step {
                    position: 17,
                    instance: Some(1)
                }
            ]
        );
        assert!(".".parse::<ElemPath>().unwrap().0.is_empty());
        assert!("x[1]".parse::<ElemPath>().is_err());
        assert!(
            "0[1]".parse::<ElemPath>().is_err(),
            "positions count from 1"
        );
        assert!(compare("10", "9", "GT"));
        assert!(compare("2.0", "2", "EQ"));
        assert!(compare("abc", "abd", "LT"));
        assert!(compare("a", "b", "NE"));
        assert!(!compare("a", "a", "XX"));
    }
}
