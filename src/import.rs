//! Importers for standard HL7 v2 XML conformance profiles: the Messaging
//! Workbench / HAPI `HL7v2xConformanceProfile` format and the NIST IGAMT
//! `ConformanceProfile` format with its companion value-set files. Both map
//! onto Baton's [`Profile`]; whatever cannot be mapped is listed, not dropped.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use roxmltree::{Document, Node};

use crate::error::LoadError;
use crate::finding::{Severity, Side};
use crate::hl7::Path;
use crate::profile::{FieldSpec, Profile, SegmentSpec, Unlisted, Usage};
use crate::table::{Table, Tables};

/// An imported profile, its value sets, and what could not be mapped.
#[derive(Debug, Clone)]
pub struct Imported {
    pub profile: Profile,
    pub tables: Tables,
    pub unmapped: Vec<String>,
}

fn xml_error(path: &FsPath, e: roxmltree::Error) -> LoadError {
    let pos = e.pos();
    LoadError::Syntax {
        path: path.to_path_buf(),
        line: pos.row as usize,
        column: pos.col as usize,
        message: format!("not well-formed XML: {e}"),
    }
}

fn usage(u: &str) -> Option<Usage> {
    match u {
        "R" => Some(Usage::R),
        "RE" => Some(Usage::RE),
        "O" | "B" | "W" => Some(Usage::O),
        "C" | "CE" => Some(Usage::C),
        "X" => Some(Usage::X),
        _ => None,
    }
}

fn max_of(s: Option<&str>) -> Option<usize> {
    match s {
        None | Some("*") | Some("") => None,
        Some(n) => n.parse().ok(),
    }
}

/// Notes on what was not imported, and the line starts of the file to
/// locate them (found by bisection, never by rescanning from the start).
struct Notes {
    list: Vec<String>,
    lines: Vec<usize>,
}

impl Notes {
    fn of(text: &str) -> Notes {
        Notes {
            list: Vec::new(),
            lines: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        }
    }

    fn push(&mut self, note: String) {
        self.list.push(note);
    }

    /// Where a node stands in its file: `line L`.
    fn at(&self, n: Node) -> String {
        let row = self.lines.partition_point(|&s| s <= n.range().start);
        format!("line {row}")
    }
}

impl std::ops::Deref for Notes {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.list
    }
}

impl std::ops::DerefMut for Notes {
    fn deref_mut(&mut self) -> &mut Vec<String> {
        &mut self.list
    }
}

/// A whole-number attribute; one that is not (`abc`, `-1`) is a located note, not a silent default.
fn number_attr(n: Node, name: &str, unmapped: &mut Notes) -> Option<usize> {
    let v = n.attribute(name)?;
    match v.trim().parse::<usize>() {
        Ok(x) => Some(x),
        Err(_) => {
            unmapped.push(format!(
                "{}: <{} {name}=\"{v}\"> is not a whole number; ignored",
                unmapped.at(n),
                n.tag_name().name()
            ));
            None
        }
    }
}

/// `Max`: a number or `*` (unbounded).
fn max_attr(n: Node, name: &str, unmapped: &mut Notes) -> Option<usize> {
    match n.attribute(name) {
        None | Some("*") | Some("") => None,
        Some(_) => number_attr(n, name, unmapped),
    }
}

/// A field's `Max`: `*` says "repeats without limit" on purpose, which is not
/// silence (silence would mean the standard's repetitions).
fn repetitions_attr(n: Node, unmapped: &mut Notes) -> Option<usize> {
    match n.attribute("Max") {
        Some("*") => Some(usize::MAX),
        _ => max_attr(n, "Max", unmapped).filter(|m| *m > 0),
    }
}

/// `Length`: a positive number, or `NA`.
fn length_attr(n: Node, name: &str, unmapped: &mut Notes) -> Option<usize> {
    match n.attribute(name) {
        None | Some("NA") | Some("") => None,
        Some(_) => number_attr(n, name, unmapped)
            .filter(|x| *x > 0)
            .map(|x| x.min(crate::profile::MAX_LENGTH)),
    }
}

fn length_of(s: Option<&str>) -> Option<usize> {
    s.filter(|v| *v != "NA")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .map(|n: usize| n.min(crate::profile::MAX_LENGTH))
}

/// Usage C with no predicate Baton can evaluate is read as optional.
fn field_usage(u: Option<&str>, what: &str, unmapped: &mut Notes) -> Usage {
    match u.and_then(usage) {
        Some(Usage::C) => {
            unmapped.push(format!(
                "{what}: conditional usage (C) kept as optional; its predicate is not evaluated"
            ));
            Usage::O
        }
        Some(x) => x,
        None => {
            unmapped.push(format!(
                "{what}: unknown usage `{}` read as optional",
                u.unwrap_or("")
            ));
            Usage::O
        }
    }
}

fn field(path: Path, usage: Usage) -> FieldSpec {
    FieldSpec {
        path,
        usage,
        data_type: None,
        max_length: None,
        max_length_severity: None,
        max_repetitions: None,
        table: None,
        values: None,
        when: None,
        require_offset: None,
        note: String::new(),
    }
}

/// Adds a segment reference, merging repeated appearances (groups).
/// Segment positions in a profile being imported, by id (no search per segment).
type SegmentIndex = rustc_hash::FxHashMap<String, usize>;

fn add_segment(
    p: &mut Profile,
    index: &mut SegmentIndex,
    id: &str,
    u: Usage,
    min: usize,
    max: Option<usize>,
) {
    if let Some(s) = index.get(id).and_then(|&i| p.segments.get_mut(i)) {
        // Seen in several places: at most as required as the strictest, with no upper bound.
        s.max = None;
        if u == Usage::R {
            s.usage = Usage::R;
        }
        return;
    }
    index.insert(id.to_string(), p.segments.len());
    p.segments.push(SegmentSpec {
        id: id.to_string(),
        usage: u,
        min: Some(min),
        max,
        unlisted_fields: Unlisted::Accept,
        note: String::new(),
    });
}

/// Reads a file beside a profile (a NIST companion): `Ok(None)` when there
/// is none. The caller decides how: a workspace hashes what it reads.
pub type ReadCompanion<'a> = dyn FnMut(&FsPath) -> Result<Option<String>, LoadError> + 'a;

/// Reads a companion straight from disk; an unreadable one counts as absent.
pub fn read_beside(path: &FsPath) -> Result<Option<String>, LoadError> {
    Ok(std::fs::read_to_string(path).ok())
}

/// Reads a profile file in either XML format (companion NIST files are read
/// from the same folder).
pub fn import(path: &FsPath, text: &str) -> Result<Imported, LoadError> {
    import_with(path, text, &mut read_beside)
}

/// [`import`], reading the NIST companion files through `read`, once each.
pub fn import_with(
    path: &FsPath,
    text: &str,
    read: &mut ReadCompanion,
) -> Result<Imported, LoadError> {
    let doc = Document::parse(text).map_err(|e| xml_error(path, e))?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "HL7v2xConformanceProfile" => Ok(import_mwb(root)),
        "ConformanceProfile" => import_nist(path, root, read),
        other => Err(LoadError::File {
            path: path.to_path_buf(),
            message: format!(
                "root element `{other}` is neither HL7v2xConformanceProfile (Messaging Workbench) nor ConformanceProfile (NIST IGAMT)"
            ),
        }),
    }
}

fn import_mwb(root: Node) -> Imported {
    let mut unmapped = Notes::of(root.document().input_text());
    let version = root.attribute("HL7Version").map(str::to_string);
    let stat = root
        .descendants()
        .find(|n| n.has_tag_name("HL7v2xStaticDef"));
    let (ty, ev, role) = stat.map_or(("", "", ""), |s| {
        (
            s.attribute("MsgType").unwrap_or(""),
            s.attribute("EventType").unwrap_or(""),
            s.attribute("Role").unwrap_or(""),
        )
    });
    let name = root
        .children()
        .find(|n| n.has_tag_name("MetaData"))
        .and_then(|m| m.attribute("Name"))
        .unwrap_or("imported profile")
        .to_string();
    let side = if role.eq_ignore_ascii_case("receiver") {
        Side::Receiver
    } else {
        Side::Sender
    };
    let mut p = Profile::blank(
        format!("{name} (Messaging Workbench)"),
        side,
        version,
        vec![format!("{ty}^{ev}")],
    );
    // Field paths already imported: no search through the list per field.
    let mut seen: rustc_hash::FxHashSet<Path> = Default::default();
    let mut seg_index = SegmentIndex::default();
    for seg in root.descendants().filter(|n| n.has_tag_name("Segment")) {
        let Some(id) = seg.attribute("Name") else {
            continue;
        };
        let fields: Vec<Node> = seg.children().filter(|n| n.has_tag_name("Field")).collect();
        let valid_id = id.len() == 3
            && id.starts_with(|c: char| c.is_ascii_uppercase())
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !valid_id {
            unmapped.push(format!(
                "{}: segment `{id}` is not a segment id (three upper-case letters or digits): it and its {} field(s) are not imported",
                unmapped.at(seg),
                fields.len()
            ));
            continue;
        }
        let u = field_usage(seg.attribute("Usage"), id, &mut unmapped);
        let min = number_attr(seg, "Min", &mut unmapped).unwrap_or(0);
        let max = max_attr(seg, "Max", &mut unmapped);
        let max = match max {
            Some(m) if m < min => {
                unmapped.push(format!(
                    "{}: segment {id} has Min={min} above Max={m}; read as at least {min}, no maximum",
                    unmapped.at(seg)
                ));
                None
            }
            other => other,
        };
        add_segment(&mut p, &mut seg_index, id, u, min, max);
        let total = fields.len();
        for (i, f) in fields.into_iter().enumerate() {
            let Ok(path) = format!("{id}-{}", i + 1).parse::<Path>() else {
                // One note for the whole run of fields past the limit.
                unmapped.push(format!(
                    "{}: {id} fields {}–{total} are past the limit of {} fields and are not imported",
                    unmapped.at(f),
                    i + 1,
                    crate::hl7::path::MAX_FIELD_NUMBER
                ));
                break;
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            let mut spec = field(
                path.clone(),
                field_usage(f.attribute("Usage"), &path.to_string(), &mut unmapped),
            );
            spec.data_type = f.attribute("Datatype").map(str::to_string);
            spec.max_length = length_attr(f, "Length", &mut unmapped);
            spec.max_repetitions = repetitions_attr(f, &mut unmapped);
            if let Some(t) = f.attribute("Table") {
                unmapped.push(format!(
                    "{path}: table {t} is named but its codes are not in the profile; not checked"
                ));
            }
            if spec.data_type.as_deref() == Some("TS")
                || path.segment == "MSH" && path.field_number <= 2
            {
                spec.max_length = None; // lengths of TS and the delimiters are conventions, not limits
            }
            let required = spec.usage == Usage::R;
            // The field first, then its required components.
            p.fields.push(spec);
            for (ci, c) in f
                .children()
                .filter(|n| n.has_tag_name("Component"))
                .enumerate()
            {
                if c.attribute("Usage") == Some("R") && required {
                    let cp = Path {
                        component_number: Some(ci as u32 + 1),
                        ..path.clone()
                    };
                    if seen.insert(cp.clone()) {
                        p.fields.push(field(cp, Usage::R));
                    }
                }
                if c.children().any(|n| n.has_tag_name("Predicate")) {
                    unmapped.push(format!("{path}.{}: predicate text not evaluated", ci + 1));
                }
            }
        }
    }
    Imported {
        profile: p,
        tables: Tables::default(),
        unmapped: unmapped.list,
    }
}

struct NistDatatype<'a> {
    base: String,
    components: Vec<Node<'a, 'a>>,
}

fn import_nist(path: &FsPath, root: Node, read: &mut ReadCompanion) -> Result<Imported, LoadError> {
    let mut unmapped = Notes::of(root.document().input_text());
    let name = root
        .children()
        .find(|n| n.has_tag_name("MetaData"))
        .and_then(|m| m.attribute("Name"))
        .unwrap_or("imported profile")
        .to_string();
    let message = root
        .descendants()
        .find(|n| n.has_tag_name("Message"))
        .ok_or_else(|| LoadError::File {
            path: path.to_path_buf(),
            message: "no <Message> in the profile".into(),
        })?;
    let ty = format!(
        "{}^{}",
        message.attribute("Type").unwrap_or(""),
        message.attribute("Event").unwrap_or("")
    );
    let version = root
        .descendants()
        .find(|n| n.has_tag_name("Segment") && n.attribute("Version").is_some())
        .and_then(|n| n.attribute("Version"))
        .map(str::to_string);
    let mut p = Profile::blank(
        format!("{name} (NIST IGAMT)"),
        Side::Sender,
        version,
        vec![ty],
    );

    // Segment and datatype definitions by id.
    let seg_defs: BTreeMap<&str, Node> = root
        .descendants()
        .filter(|n| {
            n.has_tag_name("Segment")
                && n.attribute("ID").is_some()
                && n.parent().is_some_and(|x| x.has_tag_name("Segments"))
        })
        .filter_map(|n| Some((n.attribute("ID")?, n)))
        .collect();
    let datatypes: BTreeMap<&str, NistDatatype> = root
        .descendants()
        .filter(|n| {
            n.has_tag_name("Datatype") && n.parent().is_some_and(|x| x.has_tag_name("Datatypes"))
        })
        .filter_map(|n| {
            Some((
                n.attribute("ID")?,
                NistDatatype {
                    base: n.attribute("Name").unwrap_or("").to_string(),
                    components: n
                        .children()
                        .filter(|c| c.has_tag_name("Component"))
                        .collect(),
                },
            ))
        })
        .collect();

    // Segment references in the message structure, with their definitions.
    let mut seg_index = SegmentIndex::default();
    let mut seg_flavour: BTreeMap<String, &str> = BTreeMap::new();
    for r in message.descendants().filter(|n| n.has_tag_name("Segment")) {
        let Some(re) = r.attribute("Ref") else {
            continue;
        };
        let Some(def) = seg_defs.get(re) else {
            unmapped.push(format!("segment reference {re} has no definition"));
            continue;
        };
        let id = def.attribute("Name").unwrap_or(re);
        let u = field_usage(r.attribute("Usage"), id, &mut unmapped);
        // A segment inside an optional group is not required on its own.
        let in_optional_group = r
            .ancestors()
            .skip(1)
            .take_while(|a| !a.has_tag_name("Message"))
            .any(|g| g.has_tag_name("Group") && g.attribute("Usage") != Some("R"));
        let u = if in_optional_group && u == Usage::R {
            Usage::RE
        } else {
            u
        };
        let min = if u == Usage::R {
            r.attribute("Min").and_then(|m| m.parse().ok()).unwrap_or(0)
        } else {
            0
        };
        // Inside a repeating group (ORDER_OBSERVATION*), "at most one ORC" holds
        // per group instance, not per message.
        let in_repeating_group = r
            .ancestors()
            .skip(1)
            .take_while(|a| !a.has_tag_name("Message"))
            .any(|g| g.has_tag_name("Group") && g.attribute("Max") != Some("1"));
        let max = if in_repeating_group {
            None
        } else {
            max_of(r.attribute("Max"))
        };
        add_segment(&mut p, &mut seg_index, id, u, min, max);
        if let Some(prev) = seg_flavour.insert(id.to_string(), re)
            && prev != re
        {
            unmapped.push(format!(
                "segment {id} is used with two definitions ({prev}, {re}); the first is checked"
            ));
            seg_flavour.insert(id.to_string(), prev);
        }
    }
    for (id, re) in &seg_flavour {
        let def = seg_defs[re];
        for (i, f) in def
            .children()
            .filter(|n| n.has_tag_name("Field"))
            .enumerate()
        {
            let Ok(fp) = format!("{id}-{}", i + 1).parse::<Path>() else {
                continue;
            };
            let u = field_usage(f.attribute("Usage"), &fp.to_string(), &mut unmapped);
            let flavour = f.attribute("Datatype").unwrap_or("");
            let dt = datatypes.get(flavour);
            let mut spec = field(fp.clone(), u);
            spec.data_type = dt
                .map(|d| d.base.clone())
                .filter(|b| !b.is_empty())
                .or_else(|| Some(flavour.to_string()));
            spec.max_length = length_of(f.attribute("MaxLength"));
            spec.max_length_severity = Some(Severity::Warning);
            spec.max_repetitions = repetitions_attr(f, &mut unmapped);
            if f.attribute("Max") == Some("0") {
                spec.usage = Usage::X;
            }
            let mut comps = Vec::new();
            if let Some(dt) = dt {
                for (ci, c) in dt.components.iter().enumerate() {
                    let cu = c.attribute("Usage");
                    let len = length_of(c.attribute("MaxLength"));
                    if cu == Some("R") && u == Usage::R || len.is_some() {
                        let cp = Path {
                            component_number: Some(ci as u32 + 1),
                            ..fp.clone()
                        };
                        let mut cs = field(
                            cp,
                            if cu == Some("R") && u == Usage::R {
                                Usage::R
                            } else {
                                Usage::O
                            },
                        );
                        cs.data_type = c
                            .attribute("Datatype")
                            .and_then(|d| datatypes.get(d))
                            .map(|d| d.base.clone())
                            .or_else(|| c.attribute("Datatype").map(str::to_string));
                        cs.max_length = len;
                        cs.max_length_severity = Some(Severity::Warning);
                        comps.push(cs);
                    }
                }
            }
            p.fields.push(spec);
            p.fields.extend(comps);
        }
    }
    // The companion files, each read and parsed once.
    let dir = path.parent().unwrap_or(FsPath::new("."));
    let mut texts = Vec::new();
    for name in ["VALUESETS.xml", "VALUESETBINDINGS.xml", "CONSTRAINTS.xml"] {
        let file = dir.join(name);
        let text = read(&file)?;
        texts.push((file, text));
    }
    let mut docs = Vec::new();
    for (file, text) in &texts {
        docs.push(match text {
            Some(t) => Some(Document::parse(t).map_err(|e| xml_error(file, e))?),
            None => None,
        });
    }
    let [value_sets, bindings, constraints] = [0, 1, 2].map(|i| docs[i].as_ref());
    let (tables, closed) =
        load_value_sets(value_sets, bindings, &mut p, &seg_flavour, &mut unmapped);
    // Conformance statements, predicates and datatype-level bindings.
    let components: BTreeMap<&str, &[Node]> = datatypes
        .iter()
        .map(|(id, d)| (*id, d.components.as_slice()))
        .collect();
    let conf = crate::conformance::Conformance::from_nist(
        message,
        &seg_defs,
        &components,
        constraints.map(|d| d.root_element()),
        bindings.map(|d| d.root_element()),
        &closed,
        &mut unmapped,
    );
    let (statements, predicates, datatype_bindings) = conf.counts();
    if statements + predicates + datatype_bindings > 0 {
        p.conformance = Some(std::sync::Arc::new(conf));
    }
    Ok(Imported {
        profile: p,
        tables,
        unmapped: unmapped.list,
    })
}

/// From VALUESETS.xml and VALUESETBINDINGS.xml, when present: the value
/// sets, and required bindings of closed value sets on segment fields as
/// table checks; the rest is listed as unmapped. Also returns the closed,
/// validated value sets.
fn load_value_sets(
    vs: Option<&Document>,
    bindings: Option<&Document>,
    p: &mut Profile,
    seg_flavour: &BTreeMap<String, &str>,
    unmapped: &mut Vec<String>,
) -> (Tables, Vec<String>) {
    let mut tables = Tables::default();
    let Some(vs) = vs else {
        return (tables, Vec::new());
    };
    let no_validation: Vec<String> = vs
        .descendants()
        .filter(|n| n.has_tag_name("NoValidation"))
        .flat_map(|n| {
            n.descendants()
                .filter_map(|b| b.text().map(|t| t.trim().to_string()))
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut closed = Vec::new();
    for d in vs
        .descendants()
        .filter(|n| n.has_tag_name("ValueSetDefinition"))
    {
        let Some(id) = d.attribute("BindingIdentifier") else {
            continue;
        };
        let codes: BTreeMap<String, String> = d
            .children()
            .filter(|e| e.has_tag_name("ValueElement"))
            .filter_map(|e| {
                Some((
                    e.attribute("Value")?.to_string(),
                    e.attribute("DisplayName").unwrap_or("").to_string(),
                ))
            })
            .collect();
        if d.attribute("Extensibility") == Some("Closed")
            && !codes.is_empty()
            && !no_validation.iter().any(|n| n == id)
        {
            closed.push(id.to_string());
        }
        tables.tables.insert(
            id.to_string(),
            Table {
                id: id.to_string(),
                name: d.attribute("Name").unwrap_or("").to_string(),
                codes: codes.into(),
            },
        );
    }
    let Some(b) = bindings else {
        return (tables, closed);
    };
    let mut bound = 0;
    let mut skipped = 0;
    for seg in b.descendants().filter(|n| n.has_tag_name("Segment")) {
        for by in seg.children().filter(|n| n.has_tag_name("ByID")) {
            let Some(flavour) = by.attribute("ID") else {
                continue;
            };
            let Some((seg_id, _)) = seg_flavour.iter().find(|(_, f)| **f == flavour) else {
                continue;
            };
            for vb in by.children().filter(|n| n.has_tag_name("ValueSetBinding")) {
                let target = vb.attribute("Target").unwrap_or("");
                let field_no: Option<usize> = target.split('[').next().and_then(|n| n.parse().ok());
                let simple = vb
                    .descendants()
                    .find(|n| n.has_tag_name("SimpleBindingLocation"))
                    .and_then(|l| l.attribute("CodeLocation"));
                let id = vb
                    .descendants()
                    .find(|n| n.has_tag_name("Binding"))
                    .and_then(|n| n.attribute("BindingIdentifier"));
                match (field_no, simple, id, vb.attribute("BindingStrength")) {
                    (Some(f), Some(loc), Some(id), Some("R"))
                        if closed.iter().any(|c| c == id) && !target.contains('.') =>
                    {
                        let component = match loc {
                            "." => None,
                            l => l.split('[').next().and_then(|c| c.parse::<u32>().ok()),
                        };
                        let Ok(fp) = format!("{seg_id}-{f}").parse::<Path>() else {
                            continue;
                        };
                        let cp = Path {
                            component_number: component,
                            ..fp
                        };
                        match p.fields.iter_mut().find(|x| x.path == cp) {
                            Some(spec) => spec.table = Some(id.to_string()),
                            None => {
                                let mut spec = field(cp, Usage::O);
                                spec.table = Some(id.to_string());
                                p.fields.push(spec);
                            }
                        }
                        bound += 1;
                    }
                    _ => skipped += 1,
                }
            }
        }
    }
    if skipped > 0 {
        unmapped.push(format!("{skipped} segment-level value-set bindings not checked (suggested strength, open or unvalidated value sets, or complex locations); {bound} checked"));
    }
    (tables, closed)
}
