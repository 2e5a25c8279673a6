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

fn usage_of(u: Option<&str>) -> Usage {
    match u {
        Some("R") => Usage::R,
        Some("RE") => Usage::RE,
        Some("X") => Usage::X,
        Some("C") | Some("CE") => Usage::C,
        _ => Usage::O,
    }
}

fn not_present(n: XmlNode) -> Option<bool> {
    match n.attribute("NotPresentBehavior") {
        Some("FAIL") => Some(false),
        Some("INCONCLUSIVE") => None,
        _ => Some(true),
    }
}

fn path_attr(n: XmlNode, name: &str) -> Result<ElemPath, String> {
    n.attribute(name)
        .ok_or_else(|| format!("<{}> without {name}", n.tag_name().name()))?
        .parse()
}

fn mode(n: XmlNode, name: &str) -> Mode {
    match n.attribute(name) {
        Some("All") => Mode::All,
        Some("AtLeastOne") => Mode::AtLeastOne,
        _ => Mode::One,
    }
}

/// How deep assertions may nest (NOT inside AND inside …); deeper ones are
/// listed as not supported, never followed down the stack.
pub const MAX_ASSERTION_DEPTH: usize = 64;

/// Reads one assertion element; `Err` names what is not supported.
fn expr(n: XmlNode) -> Result<Expr, String> {
    expr_at(n, 0)
}

fn expr_at(n: XmlNode, depth: usize) -> Result<Expr, String> {
    if depth > MAX_ASSERTION_DEPTH {
        return Err(format!(
            "an assertion nested more than {MAX_ASSERTION_DEPTH} deep"
        ));
    }
    let expr = |k: XmlNode| expr_at(k, depth + 1);
    let kids: Vec<XmlNode> = n.children().filter(|c| c.is_element()).collect();
    let all = || kids.iter().map(|k| expr(*k)).collect::<Result<Vec<_>, _>>();
    let yes = |a: &str| n.attribute(a) == Some("true");
    Ok(match n.tag_name().name() {
        "Assertion" | "Condition" => match kids.as_slice() {
            [one] => expr(*one)?,
            _ => return Err("an assertion with more than one root".into()),
        },
        "Presence" => Expr::Presence(path_attr(n, "Path")?),
        "PlainText" => Expr::PlainText {
            path: path_attr(n, "Path")?,
            text: n.attribute("Text").unwrap_or("").to_string(),
            ignore_case: yes("IgnoreCase"),
            at_least_once: yes("AtLeastOnce"),
            not_present: not_present(n),
        },
        "StringList" => Expr::StringList {
            path: path_attr(n, "Path")?,
            values: n
                .attribute("CSV")
                .unwrap_or("")
                .split(',')
                .map(|v| v.trim().to_string())
                .collect(),
            ignore_case: yes("IgnoreCase"),
            at_least_once: yes("AtLeastOnce"),
            not_present: not_present(n),
        },
        "Format" => {
            let re = n.attribute("Regex").unwrap_or("");
            // Java's `matches()`: the whole value must match.
            let pattern = fancy_regex::Regex::new(&format!("^(?:{re})$"))
                .map_err(|e| format!("regular expression `{re}`: {e}"))?;
            Expr::Format {
                path: path_attr(n, "Path")?,
                pattern: Pattern(pattern),
                at_least_once: yes("AtLeastOnce"),
                not_present: not_present(n),
            }
        }
        "SetID" => Expr::SetId(path_attr(n, "Path")?),
        "PathValue" => Expr::PathValue {
            left: path_attr(n, "Path1")?,
            left_mode: mode(n, "Path1Mode"),
            operator: n.attribute("Operator").unwrap_or("EQ").to_string(),
            right: path_attr(n, "Path2")?,
            right_mode: mode(n, "Path2Mode"),
            not_present: not_present(n),
        },
        "NOT" => match all()?.pop() {
            Some(e) if kids.len() == 1 => Expr::Not(Box::new(e)),
            _ => return Err("NOT needs one operand".into()),
        },
        "AND" | "FORALL" => Expr::And(all()?),
        "OR" | "EXIST" => Expr::Or(all()?),
        "XOR" => Expr::Xor(all()?),
        "IMPLY" => {
            let mut v = all()?;
            if v.len() != 2 {
                return Err("IMPLY needs two operands".into());
            }
            let b = v.pop().ok_or("IMPLY")?;
            let a = v.pop().ok_or("IMPLY")?;
            Expr::Imply(Box::new(a), Box::new(b))
        }
        other => return Err(format!("assertion `{other}`")),
    })
}

fn child<'a, 'i>(n: XmlNode<'a, 'i>, tag: &str) -> Option<XmlNode<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(tag))
}

fn description(n: XmlNode) -> String {
    child(n, "Description")
        .and_then(|d| d.text())
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn structure(n: XmlNode, seg_names: &BTreeMap<String, String>) -> Vec<Node> {
    n.children()
        .filter(|c| c.is_element())
        .filter_map(|c| {
            let required = c.attribute("Usage") == Some("R");
            let max = match c.attribute("Max") {
                Some("*") | None => None,
                Some(m) => m.parse().ok(),
            };
            match c.tag_name().name() {
                "Segment" => {
                    let flavour = c.attribute("Ref")?.to_string();
                    let name = seg_names.get(&flavour).map_or(flavour.as_str(), |n| n);
                    Some(Node::Segment {
                        name: SegName::new(name),
                        flavour,
                        required,
                        max,
                    })
                }
                "Group" => Some(Node::Group {
                    id: c.attribute("ID").unwrap_or("").to_string(),
                    name: c.attribute("Name").unwrap_or("").to_string(),
                    required,
                    max,
                    children: structure(c, seg_names),
                }),
                _ => None,
            }
        })
        .collect()
}

impl Conformance {
    /// Reads the structure from a NIST profile's `<Message>`, its segment
    /// definitions (by id) and datatype definitions (components, by id), and
    /// the rules from its CONSTRAINTS.xml / VALUESETBINDINGS.xml documents.
    /// `closed` lists the value sets a required binding is checked against.
    /// What cannot be read is described in `unmapped`.
    pub fn from_nist(
        message: XmlNode,
        segment_defs: &BTreeMap<&str, XmlNode>,
        datatype_components: &BTreeMap<&str, &[XmlNode]>,
        constraints: Option<XmlNode>,
        bindings: Option<XmlNode>,
        closed: &[String],
        unmapped: &mut Vec<String>,
    ) -> Conformance {
        let mut c = Conformance::default();
        let mut seg_names = BTreeMap::new();
        for (id, s) in segment_defs {
            seg_names.insert(
                id.to_string(),
                s.attribute("Name").unwrap_or(id).to_string(),
            );
            let fields = s
                .children()
                .filter(|f| f.has_tag_name("Field"))
                .map(|f| f.attribute("Datatype").unwrap_or("").to_string())
                .collect();
            c.segments.insert(id.to_string(), fields);
            let mappings: Vec<_> = s
                .descendants()
                .filter(|m| m.has_tag_name("Mapping"))
                .filter_map(|m| {
                    let position = m.attribute("Position")?.parse().ok()?;
                    let reference = m.attribute("Reference")?.parse().ok()?;
                    let cases = m
                        .children()
                        .filter(|x| x.has_tag_name("Case"))
                        .filter_map(|x| {
                            Some((
                                x.attribute("Value")?.to_string(),
                                x.attribute("Datatype")?.to_string(),
                            ))
                        })
                        .collect();
                    Some((position, reference, cases))
                })
                .collect();
            if !mappings.is_empty() {
                c.dynamic.insert(id.to_string(), mappings);
            }
        }
        for (id, comps) in datatype_components {
            let comps = comps
                .iter()
                .map(|f| f.attribute("Datatype").unwrap_or("").to_string())
                .collect();
            c.datatypes.insert(id.to_string(), comps);
        }
        c.structure = structure(message, &seg_names);

        let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
        if let Some(root) = constraints {
            for (section, is_predicate) in [("Predicates", true), ("Constraints", false)] {
                let Some(sec) = child(root, section) else {
                    continue;
                };
                for level in sec.children().filter(|n| n.is_element()) {
                    for by in level.children().filter(|n| n.has_tag_name("ByID")) {
                        let id = by.attribute("ID").unwrap_or("").to_string();
                        for r in by.children().filter(|n| n.is_element()) {
                            let rule = if is_predicate {
                                let target = path_attr(r, "Target");
                                let condition = child(r, "Condition")
                                    .ok_or_else(|| "a predicate without condition".to_string())
                                    .and_then(expr);
                                target.and_then(|target| {
                                    Ok(Rule::Predicate {
                                        target,
                                        true_usage: usage_of(r.attribute("TrueUsage")),
                                        false_usage: usage_of(r.attribute("FalseUsage")),
                                        description: description(r),
                                        condition: condition?,
                                    })
                                })
                            } else {
                                child(r, "Assertion")
                                    .ok_or_else(|| "a constraint without assertion".to_string())
                                    .and_then(expr)
                                    .map(|assertion| Rule::Statement {
                                        id: r.attribute("ID").unwrap_or("").to_string(),
                                        description: description(r),
                                        severity: match r.attribute("Strength") {
                                            Some("SHOULD") => Severity::Warning,
                                            _ => Severity::Error,
                                        },
                                        assertion,
                                    })
                            };
                            match rule {
                                Ok(rule) => {
                                    c.add(level.tag_name().name(), &id, rule);
                                }
                                Err(why) => *skipped.entry(why).or_default() += 1,
                            }
                        }
                    }
                }
            }
        }
        if let Some(root) = bindings {
            // Segment-level bindings become table checks on the fields
            // (see import); datatype-level ones are evaluated here.
            for level in root.descendants().filter(|n| n.has_tag_name("Datatype")) {
                for by in level.children().filter(|n| n.has_tag_name("ByID")) {
                    let id = by.attribute("ID").unwrap_or("").to_string();
                    for vb in by.children().filter(|n| n.has_tag_name("ValueSetBinding")) {
                        let sets: Vec<String> = vb
                            .descendants()
                            .filter(|n| n.has_tag_name("Binding"))
                            .filter_map(|n| n.attribute("BindingIdentifier"))
                            .map(str::to_string)
                            .collect();
                        let locations: Vec<XmlNode> = vb
                            .descendants()
                            .filter(|n| n.has_tag_name("SimpleBindingLocation"))
                            .collect();
                        let checked = vb.attribute("BindingStrength") == Some("R")
                            && !sets.is_empty()
                            && sets.iter().all(|s| closed.contains(s));
                        if !checked {
                            continue;
                        }
                        let target = path_attr(vb, "Target");
                        match (target, locations.as_slice()) {
                            (Ok(target), [loc]) => match path_attr(*loc, "CodeLocation") {
                                Ok(location) => {
                                    c.add(
                                        "Datatype",
                                        &id,
                                        Rule::Binding {
                                            target,
                                            location,
                                            value_sets: sets,
                                        },
                                    );
                                }
                                Err(why) => *skipped.entry(why).or_default() += 1,
                            },
                            _ => {
                                *skipped
                                    .entry("a binding with several code locations".into())
                                    .or_default() += 1
                            }
                        }
                    }
                }
            }
        }
        c.find_relevant();
        for (why, n) in skipped {
            unmapped.push(format!(
                "{n} conformance rule(s) not evaluated: {why} is not supported"
            ));
        }
        c
    }

    fn add(&mut self, level: &str, id: &str, rule: Rule) {
        match level {
            "Datatype" => self
                .datatype_rules
                .entry(id.to_string())
                .or_default()
                .push(rule),
            "Segment" => self
                .segment_rules
                .entry(id.to_string())
                .or_default()
                .push(rule),
            "Group" => self
                .group_rules
                .entry(id.to_string())
                .or_default()
                .push(rule),
            _ => self.message_rules.push(rule),
        }
    }

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

    fn find_relevant(&mut self) {
        let mut relevant: FxHashSet<String> = self.datatype_rules.keys().cloned().collect();
        loop {
            let more: Vec<String> = self
                .datatypes
                .iter()
                .filter(|(id, comps)| {
                    !relevant.contains(*id) && comps.iter().any(|c| relevant.contains(c))
                })
                .map(|(id, _)| id.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            relevant.extend(more);
        }
        self.relevant_fields = self
            .segments
            .iter()
            .map(|(id, fields)| {
                let dynamic = self.dynamic.get(id);
                let r = (0..fields.len())
                    .filter(|&i| {
                        relevant.contains(&fields[i])
                            || dynamic.is_some_and(|d| {
                                d.iter().any(|(p, _, cases)| {
                                    *p == i + 1 && cases.iter().any(|(_, dt)| relevant.contains(dt))
                                })
                            })
                    })
                    .collect();
                (id.clone(), r)
            })
            .collect();
        self.relevant = relevant;
        let mut known = Vec::new();
        known_names(&self.structure, &mut known);
        known.sort();
        known.dedup();
        self.known = known;
    }

    /// Evaluates every rule on a message; findings are appended to `out`.
    pub fn check(&self, msg: &Message, tables: &Tables, side: Side, out: &mut Vec<Finding>) {
        let names: Vec<SegName> = msg.segments.iter().map(|s| s.name).collect();
        let mut pos = 0;
        let top = match_children(&self.structure, &names, &self.known, &mut pos, true);
        let occurrence: Vec<usize> = msg.segments_with_occurrence().map(|(_, _, n)| n).collect();
        let mut ev = Eval {
            conf: self,
            msg,
            tables,
            side,
            occurrence,
            out,
        };
        let top = Inst {
            children: top,
            index: 1,
        };
        for rule in &self.message_rules {
            ev.apply(rule, &Elem::Group(&top));
        }
        ev.walk_group(&top);
    }
}

// ---------- the message's structure ----------

#[derive(Debug)]
struct Inst<'c> {
    /// (1-based child position in the definition, item)
    children: Vec<(usize, Item<'c>)>,
    /// 1-based index among the instances at the same position in the parent.
    index: usize,
}

#[derive(Debug)]
enum Item<'c> {
    Segment {
        index: usize,
        nth: usize,
        flavour: &'c str,
    },
    Group {
        id: &'c str,
        inst: Inst<'c>,
    },
}

/// Every segment name the structure has, anywhere.
fn known_names(nodes: &[Node], out: &mut Vec<SegName>) {
    for n in nodes {
        match n {
            Node::Segment { name, .. } => out.push(*name),
            Node::Group { children, .. } => known_names(children, out),
        }
    }
}

/// Matches segments from `pos` against a group's children, greedily, as
/// HL7 parsers do. A segment the structure does not have anywhere (a
/// Z-segment) is passed over where it stands; a known one out of place
/// ends the group, and at the top it is passed over too (the profile's
/// cardinality checks report it).
fn match_children<'c>(
    children: &'c [Node],
    names: &[SegName],
    known: &[SegName],
    pos: &mut usize,
    top: bool,
) -> Vec<(usize, Item<'c>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while *pos < names.len() {
        let name = names[*pos];
        if !known.contains(&name) {
            *pos += 1;
            continue;
        }
        let Some(j) = (from..children.len()).find(|&j| children[j].can_start(name)) else {
            if top {
                *pos += 1;
                continue;
            }
            break;
        };
        let node = &children[j];
        let mut k = 0;
        while *pos < names.len() && node.can_start(names[*pos]) && node.max().is_none_or(|m| k < m)
        {
            let start = *pos;
            let item = match node {
                Node::Segment { flavour, .. } => {
                    *pos += 1;
                    Item::Segment {
                        index: start,
                        nth: k + 1,
                        flavour,
                    }
                }
                Node::Group {
                    id, children: gc, ..
                } => Item::Group {
                    id,
                    inst: Inst {
                        children: match_children(gc, names, known, pos, false),
                        index: k + 1,
                    },
                },
            };
            if *pos == start {
                break;
            }
            out.push((j + 1, item));
            k += 1;
        }
        from = j + 1;
    }
    out
}

// ---------- evaluation ----------

#[derive(Clone)]
enum Elem<'a> {
    Group(&'a Inst<'a>),
    Segment {
        index: usize,
        /// 1-based index among siblings at the same position.
        nth: usize,
        flavour: &'a str,
    },
    Value {
        raw: &'a str,
        /// 0: a field repetition, 1: a component, 2: a subcomponent.
        level: u8,
        flavour: &'a str,
        at: Path,
    },
}

struct Eval<'a, 'o> {
    conf: &'a Conformance,
    msg: &'a Message,
    tables: &'a Tables,
    side: Side,
    occurrence: Vec<usize>,
    out: &'o mut Vec<Finding>,
}

fn split_at(raw: &str, sep: char, n: usize) -> &str {
    raw.split(sep).nth(n.saturating_sub(1)).unwrap_or("")
}

impl<'a> Eval<'a, '_> {
    fn d(&self) -> &Delimiters {
        &self.msg.delimiters
    }

    fn walk_group(&mut self, inst: &'a Inst<'a>) {
        for (_, item) in &inst.children {
            match item {
                Item::Group { id, inst: g } => {
                    if let Some(rules) = self.conf.group_rules.get(*id) {
                        for r in rules {
                            self.apply(r, &Elem::Group(g));
                        }
                    }
                    self.walk_group(g);
                }
                Item::Segment {
                    index,
                    nth,
                    flavour,
                } => {
                    let elem = Elem::Segment {
                        index: *index,
                        nth: *nth,
                        flavour,
                    };
                    if let Some(rules) = self.conf.segment_rules.get(*flavour) {
                        for r in rules {
                            self.apply(r, &elem);
                        }
                    }
                    self.walk_segment(*index, flavour);
                }
            }
        }
    }

    fn segment_path(&self, index: usize, field: usize) -> Path {
        Path::field_of(
            self.msg.segments[index].name,
            self.occurrence.get(index).copied().unwrap_or(1),
            field,
        )
    }

    fn walk_segment(&mut self, index: usize, flavour: &'a str) {
        let (Some(fields), Some(relevant)) = (
            self.conf.segments.get(flavour),
            self.conf.relevant_fields.get(flavour),
        ) else {
            return;
        };
        let seg = &self.msg.segments[index];
        for &i in relevant {
            let n = i + 1;
            let dt = self.field_flavour(index, flavour, n).unwrap_or(&fields[i]);
            let Some(raw) = seg.field_raw(n) else {
                continue;
            };
            for (r, rep) in self.repetitions(index, n, raw).into_iter().enumerate() {
                let mut at = self.segment_path(index, n);
                at.repetition_number = Some(r as u32 + 1);
                self.walk_value(rep, 0, dt, at);
            }
        }
    }

    /// The datatype of a field another field names (OBX-5 by OBX-2), if any.
    fn field_flavour(&self, index: usize, flavour: &str, field: usize) -> Option<&'a str> {
        let (_, reference, cases) = self
            .conf
            .dynamic
            .get(flavour)?
            .iter()
            .find(|(p, _, _)| *p == field)?;
        let named = self.msg.segments[index].field_raw(*reference)?;
        let named = split_at(named, self.d().component, 1);
        cases
            .iter()
            .find(|(v, _)| v == named)
            .map(|(_, dt)| dt.as_str())
    }

    fn repetitions(&self, index: usize, field: usize, raw: &'a str) -> Vec<&'a str> {
        if self.msg.segments[index].name == "MSH" && field <= 2 {
            vec![raw]
        } else {
            raw.split(self.d().repetition).collect()
        }
    }

    fn walk_value(&mut self, raw: &'a str, level: u8, flavour: &'a str, at: Path) {
        if raw.is_empty() || !self.conf.relevant.contains(flavour) {
            return;
        }
        let elem = Elem::Value {
            raw,
            level,
            flavour,
            at: at.clone(),
        };
        if let Some(rules) = self.conf.datatype_rules.get(flavour) {
            for r in rules {
                self.apply(r, &elem);
            }
        }
        if level >= 2 {
            return;
        }
        let Some(comps) = self.conf.datatypes.get(flavour) else {
            return;
        };
        let sep = if level == 0 {
            self.d().component
        } else {
            self.d().subcomponent
        };
        // One pass over the value: a component past its last is empty, and
        // an empty value has nothing to walk.
        for (i, (part, cdt)) in raw.split(sep).zip(comps.iter()).enumerate() {
            if part.is_empty() {
                continue;
            }
            let mut p = at.clone();
            if level == 0 {
                p.component_number = Some(i as u32 + 1);
            } else {
                p.subcomponent_number = Some(i as u32 + 1);
            }
            self.walk_value(part, level + 1, cdt, p);
        }
    }

    /// The elements a path reaches from `from` (empty ones included).
    fn resolve(&self, from: &Elem<'a>, path: &ElemPath) -> Vec<Elem<'a>> {
        let mut cur = vec![from.clone()];
        for step in &path.0 {
            let mut next = Vec::new();
            for e in &cur {
                self.step(e, step, &mut next);
            }
            cur = next;
        }
        cur
    }

    fn step(&self, e: &Elem<'a>, step: &Step, out: &mut Vec<Elem<'a>>) {
        let pick = |i: usize| step.instance.is_none_or(|n| n == i + 1);
        match e {
            Elem::Group(inst) => {
                let matching = inst.children.iter().filter(|(p, _)| *p == step.position);
                for (i, (_, item)) in matching.enumerate() {
                    if !pick(i) {
                        continue;
                    }
                    match item {
                        Item::Group { inst: g, .. } => out.push(Elem::Group(g)),
                        Item::Segment {
                            index,
                            nth,
                            flavour,
                        } => out.push(Elem::Segment {
                            index: *index,
                            nth: *nth,
                            flavour,
                        }),
                    }
                }
            }
            Elem::Segment { index, flavour, .. } => {
                let Some(raw) = self.msg.segments[*index].field_raw(step.position) else {
                    return;
                };
                let dt = self
                    .field_flavour(*index, flavour, step.position)
                    .or_else(|| {
                        self.conf
                            .segments
                            .get(*flavour)
                            .and_then(|f| f.get(step.position - 1))
                            .map(|s| s.as_str())
                    })
                    .unwrap_or("");
                for (i, rep) in self
                    .repetitions(*index, step.position, raw)
                    .into_iter()
                    .enumerate()
                {
                    if pick(i) {
                        let mut at = self.segment_path(*index, step.position);
                        at.repetition_number = Some(i as u32 + 1);
                        out.push(Elem::Value {
                            raw: rep,
                            level: 0,
                            flavour: dt,
                            at,
                        });
                    }
                }
            }
            Elem::Value {
                raw,
                level,
                flavour,
                at,
            } => {
                if *level >= 2 || !pick(0) {
                    return;
                }
                let sep = if *level == 0 {
                    self.d().component
                } else {
                    self.d().subcomponent
                };
                let dt = self
                    .conf
                    .datatypes
                    .get(*flavour)
                    .and_then(|c| c.get(step.position - 1))
                    .map_or("", |s| s.as_str());
                let mut p = at.clone();
                if *level == 0 {
                    p.component_number = Some(step.position as u32);
                } else {
                    p.subcomponent_number = Some(step.position as u32);
                }
                out.push(Elem::Value {
                    raw: split_at(raw, sep, step.position),
                    level: level + 1,
                    flavour: dt,
                    at: p,
                });
            }
        }
    }

    /// Where a finding about an element is reported.
    fn location(&self, e: &Elem) -> (Path, bool) {
        match e {
            Elem::Value { at, .. } => (at.clone(), false),
            Elem::Segment { index, .. } => (self.segment_path(*index, 1), true),
            Elem::Group(inst) => match first_segment(inst) {
                Some(i) => (self.segment_path(i, 1), true),
                None => (Path::field("MSH", 1, 1), true),
            },
        }
    }

    fn present(e: &Elem) -> bool {
        match e {
            Elem::Value { raw, .. } => !raw.is_empty(),
            _ => true,
        }
    }

    /// The unescaped texts of the valued elements a path reaches.
    fn texts(&self, from: &Elem<'a>, path: &ElemPath) -> Vec<String> {
        self.resolve(from, path)
            .iter()
            .filter_map(|e| match e {
                Elem::Value { raw, at, .. } if !raw.is_empty() => {
                    if at.segment == "MSH" && at.field_number <= 2 {
                        Some(raw.to_string())
                    } else {
                        Some(unescape(raw, self.d()).into_owned())
                    }
                }
                _ => None,
            })
            .collect()
    }

    /// Three-valued: `None` when inconclusive.
    fn eval(&self, x: &Expr, ctx: &Elem<'a>) -> Option<bool> {
        let each = |path: &ElemPath,
                    at_least_once: bool,
                    not_present: Option<bool>,
                    test: &dyn Fn(&str) -> bool| {
            let values = self.texts(ctx, path);
            if values.is_empty() {
                return not_present;
            }
            Some(if at_least_once {
                values.iter().any(|v| test(v))
            } else {
                values.iter().all(|v| test(v))
            })
        };
        match x {
            Expr::Presence(p) => Some(self.resolve(ctx, p).iter().any(Self::present)),
            Expr::PlainText {
                path,
                text,
                ignore_case,
                at_least_once,
                not_present,
            } => each(path, *at_least_once, *not_present, &|v| {
                if *ignore_case {
                    v.eq_ignore_ascii_case(text)
                } else {
                    v == text
                }
            }),
            Expr::StringList {
                path,
                values,
                ignore_case,
                at_least_once,
                not_present,
            } => each(path, *at_least_once, *not_present, &|v| {
                values.iter().any(|c| {
                    if *ignore_case {
                        v.eq_ignore_ascii_case(c)
                    } else {
                        v == c
                    }
                })
            }),
            Expr::Format {
                path,
                pattern,
                at_least_once,
                not_present,
            } => each(path, *at_least_once, *not_present, &|v| {
                pattern.0.is_match(v).unwrap_or(false)
            }),
            Expr::SetId(path) => {
                let index = match ctx {
                    Elem::Group(inst) => inst.index,
                    Elem::Segment { nth, .. } => *nth,
                    Elem::Value { .. } => return None,
                };
                let values = self.texts(ctx, path);
                Some(values.len() == 1 && values[0].trim() == index.to_string())
            }
            Expr::PathValue {
                left,
                left_mode,
                operator,
                right,
                right_mode,
                not_present,
            } => {
                let a = self.texts(ctx, left);
                let b = self.texts(ctx, right);
                if a.is_empty() || b.is_empty() {
                    return *not_present;
                }
                let cmp = |x: &str, y: &str| compare(x, y, operator);
                let over = |mode: Mode, vals: &[String], f: &dyn Fn(&str) -> bool| match mode {
                    Mode::One => f(&vals[0]),
                    Mode::All => vals.iter().all(|v| f(v)),
                    Mode::AtLeastOne => vals.iter().any(|v| f(v)),
                };
                Some(over(*left_mode, &a, &|x| {
                    over(*right_mode, &b, &|y| cmp(x, y))
                }))
            }
            Expr::Not(e) => self.eval(e, ctx).map(|b| !b),
            // AND: one false decides; OR: one true decides; else unknown if any is.
            Expr::And(v) => self.decided_by(v, ctx, false),
            Expr::Or(v) => self.decided_by(v, ctx, true),
            Expr::Xor(v) => {
                let mut n = 0;
                for e in v {
                    n += usize::from(self.eval(e, ctx)?);
                }
                Some(n == 1)
            }
            Expr::Imply(a, b) => match self.eval(a, ctx) {
                Some(false) => Some(true),
                Some(true) => self.eval(b, ctx),
                None => match self.eval(b, ctx) {
                    Some(true) => Some(true),
                    _ => None,
                },
            },
        }
    }

    /// `Some(decisive)` when any operand is `decisive`; `None` when none is
    /// and some are inconclusive; else `Some(!decisive)`.
    fn decided_by(&self, v: &[Expr], ctx: &Elem<'a>, decisive: bool) -> Option<bool> {
        let mut unknown = false;
        for e in v {
            match self.eval(e, ctx) {
                Some(b) if b == decisive => return Some(decisive),
                None => unknown = true,
                Some(_) => {}
            }
        }
        (!unknown).then_some(!decisive)
    }

    fn push(
        &mut self,
        location: (Path, bool),
        code: u16,
        severity: Severity,
        reason: String,
        rule: Option<String>,
    ) {
        self.out.push(Finding {
            location: location.0,
            segment_only: location.1,
            code,
            severity,
            reason,
            side: self.side,
            rule,
        });
    }

    fn apply(&mut self, rule: &Rule, ctx: &Elem<'a>) {
        match rule {
            Rule::Statement {
                id,
                description,
                severity,
                assertion,
            } => {
                if self.eval(assertion, ctx) == Some(false) {
                    let loc = self.focus_location(ctx, assertion);
                    let what = if id.is_empty() {
                        "conformance statement".to_string()
                    } else {
                        format!("conformance statement {id}")
                    };
                    self.push(
                        loc,
                        finding::DATA_TYPE,
                        *severity,
                        format!("{what} not met: {description}"),
                        (!id.is_empty()).then(|| id.clone()),
                    );
                }
            }
            Rule::Predicate {
                target,
                true_usage,
                false_usage,
                description,
                condition,
            } => {
                let holds = match self.eval(condition, ctx) {
                    Some(h) => h,
                    None => return,
                };
                let usage = if holds { *true_usage } else { *false_usage };
                let targets = self.resolve(ctx, target);
                let present: Vec<&Elem> = targets.iter().filter(|e| Self::present(e)).collect();
                let why = format!(
                    " (predicate: {}: {})",
                    if description.is_empty() {
                        "condition"
                    } else {
                        description.trim()
                    },
                    if holds { "true here" } else { "false here" }
                );
                match usage {
                    Usage::R if present.is_empty() => {
                        let loc = match targets.first() {
                            Some(t) => self.location(t),
                            None => self.target_location(ctx, target),
                        };
                        let name = loc.0.to_string();
                        self.push(
                            loc,
                            finding::REQUIRED_MISSING,
                            Severity::Error,
                            format!("{name} is required but missing{why}"),
                            None,
                        );
                    }
                    Usage::X => {
                        for t in present {
                            let loc = self.location(t);
                            let name = loc.0.to_string();
                            self.push(
                                loc,
                                finding::DATA_TYPE,
                                Severity::Error,
                                format!("{name} must not be valued{why}"),
                                None,
                            );
                        }
                    }
                    _ => {}
                }
            }
            Rule::Binding {
                target,
                location,
                value_sets,
            } => {
                for t in self.resolve(ctx, target) {
                    for code in self.resolve(&t, location) {
                        let Elem::Value { raw, at, .. } = &code else {
                            continue;
                        };
                        if raw.is_empty() {
                            continue;
                        }
                        let v = unescape(raw, self.d());
                        let known = value_sets.iter().any(|s| {
                            self.tables
                                .tables
                                .get(s)
                                .is_some_and(|t| t.codes.contains_key(v.as_ref()))
                        });
                        if !known {
                            self.push(
                                (at.clone(), false),
                                finding::TABLE_VALUE,
                                Severity::Error,
                                format!(
                                    "{at} `{v}` is not in value set {}",
                                    value_sets.join(" or ")
                                ),
                                None,
                            );
                        }
                    }
                }
            }
        }
    }

    /// Where a failed statement is reported: the value its assertion is
    /// about (the consequent of an IMPLY, the first path of the rest), so
    /// that the field account marks that field and not the whole segment;
    /// the context when the path reaches nothing.
    fn focus_location(&self, ctx: &Elem<'a>, assertion: &Expr) -> (Path, bool) {
        fn focus(x: &Expr) -> Option<&ElemPath> {
            match x {
                Expr::Imply(_, b) => focus(b),
                Expr::Not(e) => focus(e),
                Expr::And(v) | Expr::Or(v) | Expr::Xor(v) => v.iter().find_map(focus),
                Expr::Presence(p) | Expr::SetId(p) => Some(p),
                Expr::PlainText { path, .. }
                | Expr::StringList { path, .. }
                | Expr::Format { path, .. } => Some(path),
                Expr::PathValue { left, .. } => Some(left),
            }
        }
        let Some(path) = focus(assertion) else {
            return self.location(ctx);
        };
        let reached = self.resolve(ctx, path);
        // The first valued element, else the first reached.
        match reached
            .iter()
            .find(|e| Self::present(e))
            .or(reached.first())
        {
            Some(e) => self.location(e),
            None => self.target_location(ctx, path),
        }
    }

    /// The location of a path that reached nothing: as far as it got.
    fn target_location(&self, ctx: &Elem<'a>, target: &ElemPath) -> (Path, bool) {
        let mut loc = self.location(ctx);
        match ctx {
            Elem::Segment { .. } => {
                if let Some(s) = target.0.first() {
                    loc.0.field_number = s.position;
                    loc.1 = false;
                }
                if let Some(s) = target.0.get(1) {
                    loc.0.component_number = Some(s.position as u32);
                }
            }
            Elem::Value { level, .. } => {
                if let Some(s) = target.0.first() {
                    if *level == 0 {
                        loc.0.component_number = Some(s.position as u32);
                    } else {
                        loc.0.subcomponent_number = Some(s.position as u32);
                    }
                }
            }
            Elem::Group(_) => {}
        }
        loc
    }
}

fn first_segment(inst: &Inst) -> Option<usize> {
    inst.children.iter().find_map(|(_, item)| match item {
        Item::Segment { index, .. } => Some(*index),
        Item::Group { inst, .. } => first_segment(inst),
    })
}

/// EQ/NE/LT/GT/LE/GE: numerically when both are numbers, else as text.
fn compare(a: &str, b: &str, op: &str) -> bool {
    let ord = match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(b)),
    };
    use std::cmp::Ordering::*;
    match (op, ord) {
        ("EQ", Some(Equal)) => true,
        ("NE", Some(o)) => o != Equal,
        ("LT", Some(Less)) => true,
        ("GT", Some(Greater)) => true,
        ("LE", Some(o)) => o != Greater,
        ("GE", Some(o)) => o != Less,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
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
