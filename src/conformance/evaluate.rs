//! Evaluating the rules on a message: its structure matched against the
//! profile's groups, then every rule in its own context.

use super::*;

impl Conformance {
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
pub(super) struct Inst<'c> {
    /// (1-based child position in the definition, item)
    pub(super) children: Vec<(usize, Item<'c>)>,
    /// 1-based index among the instances at the same position in the parent.
    pub(super) index: usize,
}

#[derive(Debug)]
pub(super) enum Item<'c> {
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
pub(super) fn known_names(nodes: &[Node], out: &mut Vec<SegName>) {
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
pub(super) fn match_children<'c>(
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
                same_text(v, text, *ignore_case)
            }),
            Expr::StringList {
                path,
                values,
                ignore_case,
                at_least_once,
                not_present,
            } => each(path, *at_least_once, *not_present, &|v| {
                values.iter().any(|c| same_text(v, c, *ignore_case))
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
pub(super) fn compare(a: &str, b: &str, op: &str) -> bool {
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

/// Whether a value is the given text, ignoring ASCII case when asked.
fn same_text(v: &str, text: &str, ignore_case: bool) -> bool {
    if ignore_case {
        v.eq_ignore_ascii_case(text)
    } else {
        v == text
    }
}
