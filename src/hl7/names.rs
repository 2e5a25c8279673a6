//! Human names, data types and lengths for segments, fields and components,
//! from the HL7 v2.5.1 definitions shipped in `assets/` (see its header for
//! the source and licence).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Path;

const DICTIONARY: &str = include_str!("../../assets/hl7-dictionary-2.5.1.tsv");

/// HL7 v2.5.1 primitive data types (they have no components).
pub const PRIMITIVES: [&str; 13] = [
    "ST", "TX", "FT", "NM", "SI", "ID", "IS", "DT", "DTM", "TM", "GTS", "VARIES", "TN",
];

/// The standard's definition of one field or component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementDef {
    pub name: String,
    pub data_type: String,
    pub max_length: Option<usize>,
    pub required: bool,
    /// `None`: repeats without limit; `Some(1)`: does not repeat.
    pub max_repetitions: Option<usize>,
    /// HL7 table number, as `HL70296`.
    pub table: Option<String>,
    /// What checking a value of its (composite) type needs; `None` for a
    /// primitive type.
    pub info: Option<TypeInfo>,
    /// How a value of its type is checked.
    pub kind: Kind,
}

/// How a value of a data type is checked, decided once from the type's
/// name (a check then matches no type names per value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// NM
    Number,
    /// SI
    SequenceId,
    /// TS: a DTM in its first component.
    Ts,
    Dtm,
    Dt,
    Ce,
    Cwe,
    Cne,
    /// ID, IS: a code, looked up when a table is named.
    Code,
    Cx,
    Hd,
    Ei,
    /// Any other type: a table, when named, is looked up with the whole value.
    #[default]
    Other,
}

impl Kind {
    pub fn of(data_type: &str) -> Kind {
        match data_type {
            "NM" => Kind::Number,
            "SI" => Kind::SequenceId,
            "TS" => Kind::Ts,
            "DTM" => Kind::Dtm,
            "DT" => Kind::Dt,
            "CE" => Kind::Ce,
            "CWE" => Kind::Cwe,
            "CNE" => Kind::Cne,
            "ID" | "IS" => Kind::Code,
            "CX" => Kind::Cx,
            "HD" => Kind::Hd,
            "EI" => Kind::Ei,
            _ => Kind::Other,
        }
    }
}

/// Element definitions by number (index 0 is number 1), per segment or
/// data type, keyed by the name packed into a number (every segment id
/// and data type of the standard fits in 8 bytes): a lookup hashes one
/// word and compares no string.
type Table = rustc_hash::FxHashMap<u64, Vec<Option<ElementDef>>>;

/// `name` packed into a word; `None` when it is longer than 8 bytes
/// (no standard segment or data type is).
fn key(name: &str) -> Option<u64> {
    let b = name.as_bytes();
    if b.len() > 8 {
        return None;
    }
    let mut k = [0u8; 8];
    k[..b.len()].copy_from_slice(b);
    Some(u64::from_le_bytes(k))
}

/// What checking a value of one composite data type needs, worked out once:
/// how many components it has and which of them are dates or times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeInfo {
    pub components: usize,
    /// The numbers of its components typed `TS`, `DTM` or `DT`.
    pub times: Vec<u32>,
}

#[derive(Default)]
pub struct Dictionary {
    segments: HashMap<String, String>,
    /// Per segment, its fields.
    fields: Table,
    /// Per data type, its components.
    components: Table,
    /// Per data type, composite or primitive, how its values are checked
    /// and (for a composite) what that needs: one lookup per value typed
    /// by another field (OBX-5 by OBX-2).
    kinds: rustc_hash::FxHashMap<u64, (Kind, Option<TypeInfo>)>,
    /// Per message structure (`ORU_R01`), the segments it defines, groups
    /// flattened, in order; a choice (`OBR,RQD`) stands at one place.
    structures: rustc_hash::FxHashMap<String, Vec<Vec<super::SegName>>>,
}

fn put(table: &mut Table, name: &str, number: usize, def: ElementDef) {
    let Some(k) = key(name) else {
        return;
    };
    let list = table.entry(k).or_default();
    if list.len() < number {
        list.resize(number, None);
    }
    list[number - 1] = Some(def);
}

fn lookup<'a>(table: &'a Table, name: &str, number: usize) -> Option<&'a ElementDef> {
    table
        .get(&key(name)?)?
        .get(number.checked_sub(1)?)?
        .as_ref()
}

/// [`key`] of a segment id at hand.
fn seg_key(s: super::SegName) -> u64 {
    let [a, b, c] = s.bytes();
    u64::from_le_bytes([a, b, c, 0, 0, 0, 0, 0])
}

fn entries<'a>(table: &'a Table, name: &str) -> Option<&'a Vec<Option<ElementDef>>> {
    table.get(&key(name)?)
}

fn element(cols: &[&str]) -> ElementDef {
    let get = |i: usize| cols.get(i).copied().unwrap_or("");
    ElementDef {
        name: get(3).to_string(),
        data_type: get(4).to_string(),
        max_length: get(5).parse().ok(),
        required: get(6) == "2",
        max_repetitions: match get(7).parse::<usize>() {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(_) => Some(1),
        },
        table: get(8).parse::<u32>().ok().map(|n| format!("HL7{n:04}")),
        info: None,
        kind: Kind::of(get(4)),
    }
}

impl Dictionary {
    fn load() -> Dictionary {
        let mut d = Dictionary::default();
        for line in DICTIONARY.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let number = cols.get(2).and_then(|n| n.parse::<usize>().ok());
            match (cols.first().copied(), cols.get(1), number) {
                (Some("S"), Some(seg), _) => {
                    d.segments.insert(
                        seg.to_string(),
                        cols.get(2).copied().unwrap_or("").to_string(),
                    );
                }
                (Some("F"), Some(seg), Some(n)) if n > 0 => {
                    put(&mut d.fields, seg, n, element(&cols))
                }
                (Some("C"), Some(dt), Some(n)) if n > 0 => {
                    put(&mut d.components, dt, n, element(&cols))
                }
                (Some("M"), Some(name), _) => {
                    let places = cols
                        .get(2)
                        .copied()
                        .unwrap_or("")
                        .split(' ')
                        .filter(|p| !p.is_empty())
                        .map(|p| p.split(',').map(super::SegName::new).collect())
                        .collect();
                    d.structures.insert(name.to_string(), places);
                }
                _ => {}
            }
        }
        // Per composite data type, what its check needs.
        let mut types: rustc_hash::FxHashMap<u64, TypeInfo> = d
            .components
            .iter()
            .map(|(k, parts)| {
                let times = parts
                    .iter()
                    .zip(1..)
                    .filter(|(d, _)| {
                        d.as_ref()
                            .is_some_and(|d| matches!(d.data_type.as_str(), "TS" | "DTM" | "DT"))
                    })
                    .map(|(_, n)| n)
                    .collect();
                let info = TypeInfo {
                    components: parts.len(),
                    times,
                };
                (*k, info)
            })
            .collect();
        // Each element carries its type's info: a check needs no lookup.
        for list in d.fields.values_mut().chain(d.components.values_mut()) {
            for def in list.iter_mut().flatten() {
                def.info = key(&def.data_type).and_then(|k| types.get(&k)).cloned();
            }
        }
        // Primitives first: a name the standard also lists components for
        // is read as that composite (as `type_info` reads it).
        d.kinds = PRIMITIVES
            .iter()
            .filter_map(|p| Some((key(p)?, (Kind::of(p), None))))
            .collect();
        for &k in d.components.keys() {
            let name = k.to_le_bytes();
            let len = name.iter().position(|&b| b == 0).unwrap_or(8);
            if let Ok(name) = std::str::from_utf8(&name[..len]) {
                d.kinds.insert(k, (Kind::of(name), types.remove(&k)));
            }
        }
        d
    }

    /// The segments a message structure defines, in order (groups
    /// flattened; each place lists the segments that may stand there).
    pub fn structure(&self, name: &str) -> Option<&[Vec<super::SegName>]> {
        self.structures.get(name).map(Vec::as_slice)
    }

    /// The structure of a message: MSH-9.3 when given, else `TYPE_EVENT`.
    pub fn structure_of(
        &self,
        message_type: &str,
        event: &str,
        structure: &str,
    ) -> Option<&[Vec<super::SegName>]> {
        if !structure.is_empty()
            && let Some(s) = self.structure(structure)
        {
            return Some(s);
        }
        self.structure(&format!("{message_type}_{event}"))
    }

    /// Whether the standard defines this segment at all.
    pub fn is_standard_segment(&self, segment: &str) -> bool {
        self.segments.contains_key(segment)
    }

    pub fn segment_name(&self, segment: &str) -> Option<&str> {
        self.segments.get(segment).map(String::as_str)
    }

    pub fn field(&self, segment: &str, number: usize) -> Option<&ElementDef> {
        lookup(&self.fields, segment, number)
    }

    /// [`Dictionary::field`] for a segment id at hand.
    pub fn field_of(&self, segment: super::SegName, number: usize) -> Option<&ElementDef> {
        self.segment_fields(segment)
            .get(number.checked_sub(1)?)?
            .as_ref()
    }

    /// [`Dictionary::fields_of`] for a segment id at hand.
    pub fn segment_fields(&self, segment: super::SegName) -> &[Option<ElementDef>] {
        self.fields
            .get(&seg_key(segment))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every segment the standard defines fields for.
    pub fn segments(&self) -> impl Iterator<Item = super::SegName> + '_ {
        self.fields.keys().map(|k| {
            let [a, b, c, ..] = k.to_le_bytes();
            super::SegName::new(std::str::from_utf8(&[a, b, c]).unwrap_or(""))
        })
    }

    /// The standard's fields of a segment (index 0 is field 1); empty when unknown.
    pub fn fields_of(&self, segment: &str) -> &[Option<ElementDef>] {
        entries(&self.fields, segment)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// How many components the standard defines for a data type (0 for a primitive).
    pub fn component_count(&self, data_type: &str) -> usize {
        entries(&self.components, data_type).map_or(0, Vec::len)
    }

    /// A composite data type's component count and date/time components;
    /// `None` for a primitive or unknown type.
    pub fn type_info(&self, data_type: &str) -> Option<&TypeInfo> {
        self.kinds.get(&key(data_type)?)?.1.as_ref()
    }

    /// Whether the standard's segment has the field, component and
    /// subcomponent a path names (a segment the standard does not define,
    /// such as a Z-segment, may have any). The error says what exists.
    pub fn check_path(&self, path: &Path) -> Result<(), String> {
        let Some(fields) = entries(&self.fields, path.segment.as_str()) else {
            return Ok(());
        };
        let Some(field) = fields.get(path.field_number - 1).and_then(Option::as_ref) else {
            return Err(format!(
                "{} has {} fields in HL7 v2.5.1; there is no {}-{}",
                path.segment,
                fields.len(),
                path.segment,
                path.field_number
            ));
        };
        if field.max_repetitions == Some(1) && path.repetition_number.is_some_and(|r| r > 1) {
            return Err(format!(
                "{}-{} ({}) does not repeat in HL7 v2.5.1",
                path.segment, path.field_number, field.name
            ));
        }
        let Some(c) = path.component_number else {
            return Ok(());
        };
        let Some(comp_type) = self.part_type(&field.data_type, c, path, "component")? else {
            return Ok(());
        };
        match path.subcomponent_number {
            Some(sub) => self
                .part_type(&comp_type, sub, path, "subcomponent")
                .map(|_| ()),
            None => Ok(()),
        }
    }

    /// The type of part `n` of a value of `data_type`, `None` when the type
    /// says nothing (varies); an error when it has no such part.
    fn part_type(
        &self,
        data_type: &str,
        n: u32,
        path: &Path,
        what: &str,
    ) -> Result<Option<String>, String> {
        if data_type.eq_ignore_ascii_case("varies") || data_type.is_empty() {
            return Ok(None);
        }
        let count = self.component_count(data_type);
        if count == 0 {
            return if n == 1 {
                Ok(None)
            } else {
                Err(format!(
                    "{path}: {data_type} is a primitive type with no {what} {n}"
                ))
            };
        }
        match self.component(data_type, n) {
            Some(def) => Ok(Some(def.data_type.clone())),
            None => Err(format!(
                "{path}: {data_type} has {count} components in HL7 v2.5.1; there is no {what} {n}"
            )),
        }
    }

    /// A data type by name, with how its values are checked and, for a
    /// composite, what that check needs; `None` when the standard has no
    /// such type. One word hashed, no string compared.
    pub fn data_type(&self, name: &str) -> Option<(Kind, Option<&TypeInfo>)> {
        let k = key(name)?;
        let (kind, info) = self.kinds.get(&k)?;
        Some((*kind, info.as_ref()))
    }

    /// Whether a name is an HL7 v2.5.1 data type (composite or primitive).
    pub fn is_data_type(&self, name: &str) -> bool {
        entries(&self.components, name).is_some() || PRIMITIVES.contains(&name)
    }

    pub fn component(&self, data_type: &str, number: u32) -> Option<&ElementDef> {
        lookup(&self.components, data_type, number as usize)
    }

    /// A readable name for any path: `Patient Name`, `Patient Name / Family Name`.
    pub fn path_name(&self, path: &Path) -> String {
        let Some(field) = self.field_of(path.segment, path.field_number) else {
            if path.segment.starts_with('Z') {
                return format!("{} (site-defined segment)", path.segment);
            }
            return String::new();
        };
        let mut name = field.name.clone();
        if let Some(c) = path.component_number
            && let Some(comp) = self.component(&field.data_type, c)
        {
            name.push_str(" / ");
            name.push_str(&comp.name);
            if let Some(s) = path.subcomponent_number
                && let Some(sub) = self.component(&comp.data_type, s)
            {
                name.push_str(" / ");
                name.push_str(&sub.name);
            }
        }
        name
    }
}

/// The name of a path, borrowed from the dictionary when it is a plain field.
pub fn name_of(path: &Path) -> std::borrow::Cow<'static, str> {
    let d = dictionary();
    if path.component_number.is_none()
        && let Some(f) = d.field_of(path.segment, path.field_number)
    {
        return std::borrow::Cow::Borrowed(f.name.as_str());
    }
    std::borrow::Cow::Owned(d.path_name(path))
}

/// The shipped HL7 v2.5.1 dictionary, loaded on first use.
pub fn dictionary() -> &'static Dictionary {
    static D: OnceLock<Dictionary> = OnceLock::new();
    D.get_or_init(Dictionary::load)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A type read by name says what `type_info` and `is_data_type` say.
    #[test]
    fn data_types_by_name_agree_with_the_definitions() {
        let d = dictionary();
        for name in PRIMITIVES
            .iter()
            .copied()
            .chain(["CE", "CWE", "XPN", "TS", "HD", "ZZZ", ""])
        {
            match d.data_type(name) {
                Some((kind, info)) => {
                    assert!(d.is_data_type(name), "{name}");
                    assert_eq!(kind, Kind::of(name), "{name}");
                    assert_eq!(info, d.type_info(name), "{name}");
                }
                None => assert!(!d.is_data_type(name), "{name}"),
            }
        }
    }

    #[test]
    fn names_the_required_segments() {
        let d = dictionary();
        for seg in [
            "MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2", "AL1", "DG1", "ORC", "OBR", "OBX",
            "NTE", "SPM", "TQ1", "RF1", "PRD", "SCH", "TXA", "MRG",
        ] {
            assert!(d.segment_name(seg).is_some(), "{seg}");
        }
        assert_eq!(d.path_name(&"PID-5".parse().unwrap()), "Patient Name");
        assert_eq!(
            d.path_name(&"PID-5.1".parse().unwrap()),
            "Patient Name / Family Name"
        );
        let f = d.field("PID", 15).unwrap();
        assert_eq!(f.table.as_deref(), Some("HL70296"));
        assert_eq!(d.field("OBX", 5).unwrap().max_repetitions, None);
    }

    #[test]
    fn checks_paths_against_the_standard() {
        let d = dictionary();
        let ok = |s: &str| d.check_path(&s.parse().unwrap());
        for good in [
            "PID-5.1",
            "OBX-5.7",
            "PID-3[2].4.1",
            "ZPI-40",
            "MSH-9.3",
            "PID-7.1",
        ] {
            assert_eq!(ok(good), Ok(()), "{good}");
        }
        for bad in ["OBX-31", "PID-5.99", "PID-7.3", "MSH-10[2]", "PID-8.2"] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn knows_message_structures() {
        let d = dictionary();
        let oru = d.structure_of("ORU", "R01", "").unwrap();
        let has = |s: &[Vec<crate::hl7::SegName>], n: &str| s.iter().flatten().any(|x| *x == n);
        assert!(has(oru, "MSH") && has(oru, "OBX") && has(oru, "SPM"));
        assert!(!has(oru, "RXA"));
        // MSH-9.3 names the structure an event shares.
        let a08 = d.structure_of("ADT", "A08", "ADT_A01").unwrap();
        assert!(has(a08, "PV1") && has(a08, "IN1"));
        let orm = d.structure("ORM_O01").unwrap();
        assert!(orm.iter().any(|p| p.len() > 1), "OBR or RQD… is one place");
    }
}
