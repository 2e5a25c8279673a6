//! Code tables: value sets that profiles check coded fields against, and
//! translation maps that mapping rules look codes up in.
//!
//! ```toml
//! [[table]]
//! id = "HL70296"
//! name = "Primary language (ISO 639-2)"
//! codes = { eng = "English", spa = "Spanish" }
//!
//! [[map]]
//! id = "priority"
//! name = "EHR order priority to LIS priority"
//! codes = { S = "STAT", R = "ROUTINE" }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{LoadError, invalid_at, parse_toml};

/// A value set: code → description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub codes: Codes,
}

/// A translation map: source code → target code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMap {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub codes: Codes,
}

/// A table's or map's codes, read in code order (a `BTreeMap` through
/// `Deref`), looked up by hash: every coded value of every message is
/// looked up, and a tree search compares the code with a string per level.
/// Built whole and never changed, so the two can't disagree.
#[derive(Clone, Default)]
pub struct Codes {
    sorted: BTreeMap<String, String>,
    hashed: FxHashMap<String, String>,
}

impl Codes {
    pub fn contains_key(&self, code: &str) -> bool {
        self.hashed.contains_key(code)
    }

    pub fn get(&self, code: &str) -> Option<&String> {
        self.hashed.get(code)
    }
}

impl std::ops::Deref for Codes {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.sorted
    }
}

impl From<BTreeMap<String, String>> for Codes {
    fn from(sorted: BTreeMap<String, String>) -> Codes {
        let hashed = sorted.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Codes { sorted, hashed }
    }
}

impl FromIterator<(String, String)> for Codes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Codes {
        Codes::from(iter.into_iter().collect::<BTreeMap<_, _>>())
    }
}

impl PartialEq for Codes {
    fn eq(&self, other: &Codes) -> bool {
        self.sorted == other.sorted
    }
}

impl Eq for Codes {}

impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sorted.fmt(f)
    }
}

impl Serialize for Codes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.sorted.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Codes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Codes, D::Error> {
        BTreeMap::deserialize(d).map(Codes::from)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tables {
    pub tables: BTreeMap<String, Table>,
    pub maps: BTreeMap<String, CodeMap>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTableFile {
    #[serde(default)]
    table: Vec<toml::Spanned<Table>>,
    #[serde(default)]
    map: Vec<toml::Spanned<CodeMap>>,
}

impl Tables {
    /// Adds the tables and maps of one file; a duplicate id is an error.
    pub fn load_into(&mut self, path: &Path, text: &str) -> Result<(), LoadError> {
        let raw: RawTableFile = parse_toml(path, text)?;
        for t in raw.table {
            let span = t.span();
            let t = t.into_inner();
            if self.tables.contains_key(&t.id) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("table `{}` is defined twice", t.id),
                ));
            }
            self.tables.insert(t.id.clone(), t);
        }
        for m in raw.map {
            let span = m.span();
            let m = m.into_inner();
            if self.maps.contains_key(&m.id) {
                return Err(invalid_at(
                    path,
                    text,
                    span,
                    format!("map `{}` is defined twice", m.id),
                ));
            }
            self.maps.insert(m.id.clone(), m);
        }
        Ok(())
    }

    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.get(id)
    }

    pub fn map(&self, id: &str) -> Option<&CodeMap> {
        self.maps.get(id)
    }
}
