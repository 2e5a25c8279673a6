//! The granular receipt: the ACK a receiver would send for a replayed
//! message, with MSA-1 AA/AE/AR and one ERR segment per finding
//! (ERR-2 location, ERR-3 HL7 table 0357 code, ERR-4 severity, ERR-8 text).

use crate::finding::{self, Finding, Severity};
use crate::hl7::{self, Delimiters, Message};
use crate::profile::Profile;
use crate::workspace::Handoff;

/// MSA-1 for a set of findings: AR when the message cannot be processed at
/// all (unsupported type, event, processing id or version), AE for any other
/// error, AA otherwise.
pub fn ack_code<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> &'static str {
    let mut any = false;
    for f in findings
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
    {
        if (200..=203).contains(&f.code) {
            return "AR";
        }
        any = true;
    }
    if any { "AE" } else { "AA" }
}

fn erl(f: &Finding, d: &Delimiters) -> String {
    let c = d.component;
    let p = &f.location;
    let seq = p.segment_number.unwrap_or(1);
    if f.segment_only {
        return format!("{}{c}{seq}", p.segment);
    }
    let mut s = format!("{}{c}{seq}{c}{}", p.segment, p.field_number);
    let rep = p.repetition_number.unwrap_or(1);
    s.push_str(&format!("{c}{rep}"));
    if let Some(comp) = p.component_number {
        s.push_str(&format!("{c}{comp}"));
        if let Some(sub) = p.subcomponent_number {
            s.push_str(&format!("{c}{sub}"));
        }
    }
    s
}

fn err_segment(f: &Finding, d: &Delimiters) -> String {
    let fs = d.field;
    let c = d.component;
    format!(
        "ERR{fs}{fs}{}{fs}{}{c}{}{c}HL70357{fs}{}{fs}{fs}{fs}{fs}{}",
        erl(f, d),
        f.code,
        hl7::escape(finding::code_text(f.code), d),
        f.severity.hl7_code(),
        hl7::escape(&format!("{} ({} side)", f.reason, f.side.as_str()), d),
    )
}

/// Builds the receipt for a parsed message: `(MSA-1, text)`.
pub fn build(source: &Message, receiver: &Profile, findings: &[Finding]) -> (String, String) {
    let d = Delimiters {
        truncation: None,
        ..source.delimiters
    };
    let fs = d.field;
    let msh = |n: usize| {
        source
            .segments
            .first()
            .and_then(|s| s.field_raw(n))
            .unwrap_or("")
    };
    let event = hl7::sub_value(msh(9), &source.delimiters, None, Some(2), None);
    let version = receiver
        .hl7_version
        .clone()
        .unwrap_or_else(|| source.version().to_string());
    let code = ack_code(findings);
    let mut segs = vec![format!(
        "MSH{fs}{}{fs}{}{fs}{}{fs}{}{fs}{}{fs}{}{fs}{fs}ACK{}{event}{}ACK{fs}ACK{}{fs}{}{fs}{}",
        d.encoding_characters(),
        msh(5),
        msh(6),
        msh(3),
        msh(4),
        msh(7),
        d.component,
        d.component,
        source.control_id(),
        hl7::sub_value(msh(11), &source.delimiters, None, Some(1), None),
        version,
    )];
    segs.push(format!("MSA{fs}{code}{fs}{}", source.control_id()));
    for f in receipt_order(findings) {
        segs.push(err_segment(f, &d));
    }
    (code.to_string(), segs.join("\r") + "\r")
}

/// The receipt for text that could not be read as a message.
pub fn build_for_unreadable(_text: &str, handoff: &Handoff, findings: &[Finding]) -> String {
    let d = Delimiters::default();
    let version = handoff
        .receiver
        .hl7_version
        .clone()
        .unwrap_or_else(|| "2.5.1".into());
    let mut segs = vec![
        format!("MSH|^~\\&|||||||ACK^^ACK|ACK|P|{version}"),
        "MSA|AR|".to_string(),
    ];
    for f in findings {
        segs.push(err_segment(f, &d));
    }
    segs.join("\r") + "\r"
}

/// The order of the ERR segments in a receipt: errors first, then warnings,
/// then information, each in the order found.
pub fn receipt_order<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<&'a Finding> {
    let mut sorted: Vec<&Finding> = findings.into_iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    sorted
}
