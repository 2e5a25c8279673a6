//! Human names, data types and lengths for segments, fields and components,
//! from the HL7 v2.5.1 definitions shipped in `assets/` (see its header for
//! the source and licence).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Path;

const DICTIONARY: &str = include_str!("../../assets/hl7-dictionary-2.5.1.tsv");

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
}

/// Element definitions by number (index 0 is number 1), per segment or data type.
type Table = rustc_hash::FxHashMap<String, Vec<Option<ElementDef>>>;

#[derive(Default)]
pub struct Dictionary {
    segments: HashMap<String, String>,
    /// Per segment, its fields.
    fields: Table,
    /// Per data type, its components.
    components: Table,
}

fn put(table: &mut Table, key: &str, number: usize, def: ElementDef) {
    let list = table.entry(key.to_string()).or_default();
    if list.len() < number {
        list.resize(number, None);
    }
    list[number - 1] = Some(def);
}

fn lookup<'a>(table: &'a Table, key: &str, number: usize) -> Option<&'a ElementDef> {
    table.get(key)?.get(number.checked_sub(1)?)?.as_ref()
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
                _ => {}
            }
        }
        d
    }

    pub fn segment_name(&self, segment: &str) -> Option<&str> {
        self.segments.get(segment).map(String::as_str)
    }

    pub fn field(&self, segment: &str, number: usize) -> Option<&ElementDef> {
        lookup(&self.fields, segment, number)
    }

    pub fn component(&self, data_type: &str, number: u32) -> Option<&ElementDef> {
        lookup(&self.components, data_type, number as usize)
    }

    /// A readable name for any path: `Patient Name`, `Patient Name / Family Name`.
    pub fn path_name(&self, path: &Path) -> String {
        let Some(field) = self.field(&path.segment, path.field_number) else {
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
        && let Some(f) = d.field(&path.segment, path.field_number)
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
}
