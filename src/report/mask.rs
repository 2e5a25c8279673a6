//! Masking patient data by the field's meaning (HIPAA Safe Harbor's
//! identifier classes, where HL7 v2 carries them). A field is masked where
//! it stands: its identifying components become consistent pseudonyms
//! (`PSN-1a2b3c4d`), addresses keep the state, the country and the first
//! three digits of the ZIP code, dates keep the year. Other fields are left
//! alone even when they hold the same text (a facility in MSH-4 that is
//! also PID-3's assigning authority stays readable). Free text (finding
//! reasons, comments) is masked by the values learned from masked fields.

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use crate::hl7::{self, Delimiters, Message, Path, SegName, names};
use crate::replay::ScenarioResult;
use crate::workspace::hex;

/// Fields masked in exports unless the workspace says otherwise (`phi`).
pub const DEFAULT_PHI: &[&str] = &[
    // names: the patient, aliases, mother, relatives, guarantor, insured
    "PID-5", "PID-6", "PID-9", "NK1-2", "GT1-3", "IN1-16", "MRG-7", // addresses
    "PID-11", "NK1-4", "GT1-5", "IN1-19", // phone, fax, email
    "PID-13", "PID-14", "NK1-5", "NK1-6", "GT1-6", "GT1-7",
    // SSN, driver's licence, MRN and other patient ids, mother's id
    "PID-2", "PID-3", "PID-4", "PID-19", "PID-20", "PID-21", "MRG-1", "MRG-2", "MRG-3",
    // account and visit numbers
    "PID-18", "PV1-19", "PV1-50", "MRG-5", "MRG-6", // health plan ids
    "IN1-36", "IN1-49", "GT1-2", // device ids
    "OBX-18",
];

/// Dates tied to the patient, reduced to the year unless the workspace says
/// otherwise (`phi_dates`): birth, death, admission, discharge.
pub const DEFAULT_PHI_DATES: &[&str] = &[
    "PID-7", "PID-29", "PV1-44", "PV1-45", "NK1-16", "GT1-8", "IN1-18",
];

/// How a field is masked, by the meaning its data type gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// CX, EI: the identifier (component 1).
    Identifier,
    /// XPN, XCN: family, given, middle names and suffix.
    Name,
    /// XAD: street, other designation, city and county; ZIP to three digits.
    Address,
    /// XTN: every number and the email; the use and equipment codes stay.
    Phone,
    /// TS, DTM, DT: the year only.
    Date,
    /// Anything else: the whole value.
    Whole,
}

fn meaning(segment: &str, field: usize, date: bool) -> Meaning {
    if date {
        return Meaning::Date;
    }
    let t = names::dictionary()
        .field(segment, field)
        .map(|d| d.data_type.as_str())
        .unwrap_or("");
    match t {
        "CX" | "EI" => Meaning::Identifier,
        "XPN" | "XCN" => Meaning::Name,
        "XAD" => Meaning::Address,
        "XTN" => Meaning::Phone,
        "TS" | "DTM" | "DT" => Meaning::Date,
        _ => Meaning::Whole,
    }
}

/// Consistent pseudonyms for patient data: the same value always becomes
/// the same `PSN-xxxxxxxx` within one report.
#[derive(Debug, Clone)]
pub struct Masker {
    salt: String,
    fields: FxHashMap<(SegName, usize), Meaning>,
    /// Original text → replacement, longest first, for free text.
    map: Vec<(String, String)>,
}

impl Masker {
    /// A masker for the fields listed (`phi`) and the patient dates (`phi_dates`).
    pub fn new(phi: &[String], phi_dates: &[String], salt: &str) -> Masker {
        let mut fields = FxHashMap::default();
        for (list, date) in [(phi, false), (phi_dates, true)] {
            for p in list.iter().filter_map(|p| p.parse::<Path>().ok()) {
                fields.insert(
                    (p.segment, p.field_number),
                    meaning(&p.segment, p.field_number, date),
                );
            }
        }
        Masker {
            salt: salt.to_string(),
            fields,
            map: Vec::new(),
        }
    }

    /// A masker that knows every patient value in `results`, for free text.
    pub fn for_results<'a>(
        results: impl IntoIterator<Item = &'a ScenarioResult>,
        phi: &[String],
        phi_dates: &[String],
        salt: &str,
    ) -> Masker {
        let mut m = Masker::new(phi, phi_dates, salt);
        let mut seen: FxHashMap<String, String> = FxHashMap::default();
        for r in results {
            for msg in [&r.replay.source, &r.replay.mapped].into_iter().flatten() {
                m.learn_message(msg, &mut seen);
            }
        }
        let mut map: Vec<(String, String)> = seen.into_iter().collect();
        map.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        m.map = map;
        m
    }

    fn pseudonym(&self, value: &str) -> String {
        let d = Sha256::digest(format!("{}\0{value}", self.salt).as_bytes());
        format!("PSN-{}", &hex(&d)[..8])
    }

    /// Whether a path is patient data.
    pub fn is_phi(&self, path: &Path) -> bool {
        self.fields.contains_key(&(path.segment, path.field_number))
    }

    fn learn_message(&self, msg: &Message, seen: &mut FxHashMap<String, String>) {
        let d = msg.delimiters;
        for f in msg.populated_fields() {
            let Some(&how) = self.fields.get(&(f.path.segment, f.path.field_number)) else {
                continue;
            };
            for rep in f.raw.split(d.repetition) {
                let masked = self.mask_repetition(rep, how, &d);
                if masked != rep {
                    for (orig, new) in rep.split(d.component).zip(masked.split(d.component)) {
                        let value = hl7::unescape(orig, &d).into_owned();
                        // Short values (codes, initials) would corrupt other text.
                        if value.trim().chars().count() >= 3 && orig != new {
                            seen.entry(value)
                                .or_insert_with(|| hl7::unescape(new, &d).into_owned());
                        }
                    }
                    let whole = hl7::unescape(rep, &d).into_owned();
                    if whole.chars().count() >= 3 {
                        seen.entry(whole)
                            .or_insert_with(|| hl7::unescape(&masked, &d).into_owned());
                    }
                    if rep.chars().count() >= 3 {
                        seen.entry(rep.to_string()).or_insert(masked);
                    }
                }
            }
        }
    }

    /// One repetition of a field, masked by its meaning (raw text in, raw out).
    fn mask_repetition(&self, rep: &str, how: Meaning, d: &Delimiters) -> String {
        if rep.is_empty() || rep == "\"\"" {
            return rep.to_string();
        }
        let c = d.component.to_string();
        let mask_comps = |keep: &dyn Fn(usize, &str) -> Option<String>| {
            rep.split(d.component)
                .enumerate()
                .map(|(i, comp)| {
                    if comp.is_empty() {
                        return String::new();
                    }
                    keep(i + 1, comp).unwrap_or_else(|| self.pseudonym(&hl7::unescape(comp, d)))
                })
                .collect::<Vec<_>>()
                .join(&c)
        };
        match how {
            Meaning::Whole => self.pseudonym(&hl7::unescape(rep, d)),
            Meaning::Identifier => mask_comps(&|i, comp| (i != 1).then(|| comp.to_string())),
            Meaning::Name => mask_comps(&|i, comp| (i > 4).then(|| comp.to_string())),
            Meaning::Phone => mask_comps(&|i, comp| matches!(i, 2 | 3).then(|| comp.to_string())),
            Meaning::Address => mask_comps(&|i, comp| match i {
                4 | 6 | 7 => Some(comp.to_string()),
                5 => Some(zip3(comp)),
                _ => None,
            }),
            Meaning::Date => {
                // TS: the time is component 1; DT/DTM: the whole value.
                let first = rep.split(d.component).next().unwrap_or("");
                let year: String = first.chars().take(4).collect();
                if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
                    year
                } else {
                    self.pseudonym(rep)
                }
            }
        }
    }

    /// A raw field value at `path`, masked when the path is patient data.
    pub fn mask_field(&self, path: &Path, raw: &str, d: &Delimiters) -> String {
        let Some(&how) = self.fields.get(&(path.segment, path.field_number)) else {
            return raw.to_string();
        };
        if path.component_number.is_some() {
            // A component alone: mask it whole (it was chosen as identifying).
            return if raw.is_empty() {
                String::new()
            } else {
                self.mask_repetition(raw, how, d)
            };
        }
        raw.split(d.repetition)
            .map(|rep| self.mask_repetition(rep, how, d))
            .collect::<Vec<_>>()
            .join(&d.repetition.to_string())
    }

    /// A message with every patient field masked where it stands.
    pub fn mask_message(&self, msg: &Message) -> Message {
        let mut m = msg.clone();
        let d = m.delimiters;
        for s in &mut m.segments {
            for (i, f) in s.fields.iter_mut().enumerate() {
                if f.raw.is_empty() || (s.name == "MSH" && i < 2) {
                    continue;
                }
                let path = Path::field_of(s.name, 1, i + 1);
                if self.is_phi(&path) {
                    f.raw = self.mask_field(&path, &f.raw, &d).into();
                    f.range = None;
                }
            }
        }
        m.text = String::new();
        m
    }

    /// A message text masked where it stands; an acknowledgement's ERR-8
    /// (the reason) masked as free text when ERR-2 points at patient data.
    /// Text that is not a message is masked as free text.
    pub fn mask_message_text(&self, text: &str) -> String {
        let Ok(msg) = hl7::parse_one(text) else {
            return self.apply(text);
        };
        let mut m = self.mask_message(&msg);
        let d = m.delimiters;
        for s in m.segments.iter_mut().filter(|s| s.name == "ERR") {
            let at = s.field_raw(2).unwrap_or("");
            let seg = hl7::sub_value(at, &d, None, Some(1), None);
            let field: usize = hl7::sub_value(at, &d, None, Some(3), None)
                .parse()
                .unwrap_or(0);
            let phi = seg.len() == 3
                && field > 0
                && self.fields.contains_key(&(SegName::new(seg), field));
            if phi && let Some(f) = s.fields.get_mut(7) {
                let value = hl7::unescape(&f.raw, &d);
                f.raw = hl7::escape(&self.apply(&value), &d).into();
            }
        }
        m.encode()
    }

    /// Replaces every patient value learned from masked fields in free text.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (orig, p) in &self.map {
            if out.contains(orig.as_str()) {
                out = out.replace(orig.as_str(), p);
            }
        }
        out
    }
}

/// The first three digits of a ZIP code (`62701` → `627`; `62701-1234` → `627`).
fn zip3(zip: &str) -> String {
    zip.chars().filter(|c| c.is_ascii_digit()).take(3).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker() -> Masker {
        let phi: Vec<String> = DEFAULT_PHI.iter().map(|s| s.to_string()).collect();
        let dates: Vec<String> = DEFAULT_PHI_DATES.iter().map(|s| s.to_string()).collect();
        Masker::new(&phi, &dates, "salt")
    }

    #[test]
    fn masks_by_meaning_and_leaves_other_fields_alone() {
        let m = masker();
        let msg = hl7::parse_one(
            "MSH|^~\\&|EHR|NORTHGATE|LIS|LAB|20240101||ADT^A01|1|P|2.5.1\rPID|1||448812^^^NORTHGATE^MR||Okafor^Grace^A||19470302|F|||12 Elm St^^Springfield^IL^62701-1234^USA||^PRN^PH^grace@example.org^1^217^5550143|||||ACC-99|123-45-6789\rPV1|1|I|4W^412^1^NORTHGATE||||||||||||||||V2026\r",
        )
        .unwrap();
        let out = m.mask_message(&msg).encode_wire();
        for leaked in [
            "448812",
            "Okafor",
            "Grace",
            "19470302",
            "12 Elm St",
            "Springfield",
            "62701",
            "5550143",
            "grace@example.org",
            "ACC-99",
            "123-45-6789",
            "V2026",
        ] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        // The facility stays readable in MSH-4, PV1-3 and as the assigning authority.
        assert!(out.contains("|NORTHGATE|LIS"), "{out}");
        assert!(out.contains("^^^NORTHGATE^MR"), "{out}");
        assert!(out.contains("4W^412^1^NORTHGATE"), "{out}");
        // The year, the state, the ZIP's first three digits and the country stay.
        assert!(out.contains("|1947|F|"), "{out}");
        assert!(out.contains("^IL^627^USA"), "{out}");
        // The same value is the same pseudonym.
        let again = m.mask_message(&msg).encode_wire();
        assert_eq!(out, again);
    }
}
