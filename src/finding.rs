//! A located problem in a message: where, which HL7 table 0357 code, how
//! serious, and in words. Data problems are findings, never errors.

use serde::{Deserialize, Serialize};

use crate::hl7::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Information,
    Warning,
    Error,
}

impl Severity {
    /// ERR-4 code (HL7 table 0516).
    pub fn hl7_code(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// Which side's profile raised a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Sender,
    /// The mapping between the two (the interface engine).
    Mapping,
    Receiver,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Sender => "sender",
            Side::Mapping => "mapping",
            Side::Receiver => "receiver",
        }
    }
}

/// HL7 table 0357, message error condition codes (v2.5, with 104 from v2.7).
pub fn code_text(code: u16) -> &'static str {
    match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        104 => "Value too long",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        202 => "Unsupported processing id",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        206 => "Application record locked",
        207 => "Application internal error",
        _ => "Unknown condition",
    }
}

pub const SEGMENT_SEQUENCE: u16 = 100;
pub const REQUIRED_MISSING: u16 = 101;
pub const DATA_TYPE: u16 = 102;
pub const TABLE_VALUE: u16 = 103;
pub const VALUE_TOO_LONG: u16 = 104;
pub const UNSUPPORTED_TYPE: u16 = 200;
pub const UNSUPPORTED_EVENT: u16 = 201;
pub const UNSUPPORTED_PROCESSING: u16 = 202;
pub const UNSUPPORTED_VERSION: u16 = 203;
pub const INTERNAL: u16 = 207;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Where: a segment-level finding names field 0 through `segment_only`.
    pub location: Path,
    /// True when the finding is about the whole segment (ERR-2 without a field).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub segment_only: bool,
    pub code: u16,
    pub severity: Severity,
    pub reason: String,
    pub side: Side,
    /// Id of the profile rule or context requirement that raised it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Finding {
    pub fn location_text(&self) -> String {
        if self.segment_only {
            match self.location.segment_number {
                Some(n) if n > 1 => format!("{}[{n}]", self.location.segment),
                _ => self.location.segment.to_string(),
            }
        } else {
            self.location.to_string()
        }
    }
}
