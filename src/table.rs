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

use serde::{Deserialize, Serialize};

use crate::error::{LoadError, invalid_at, parse_toml};

/// A value set: code → description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub codes: BTreeMap<String, String>,
}

/// A translation map: source code → target code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMap {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub codes: BTreeMap<String, String>,
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
