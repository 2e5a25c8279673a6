//! Reading a NIST profile's structure, constraints and value-set bindings.

use super::evaluate::known_names;
use super::*;

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
}
