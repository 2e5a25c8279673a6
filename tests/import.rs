//! Standard XML conformance profiles: every one in the corpus imports, and
//! validation finds what the NIST validator found, where it found it.

mod common;

use std::path::Path;
use std::process::Command;

use baton::hl7;
use baton::import;
use baton::profile;

const PROFILES: &str = "../shared/corpus/profiles";
const PHLIP: &str = "../shared/corpus/profiles/nist/cdc_PHLIP-FLU-2.5.1/PROFILE.xml";

fn imported(path: &str) -> import::Imported {
    let text = std::fs::read_to_string(path).unwrap();
    import::import(Path::new(path), &text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn findings(profile_path: &str, message: &str) -> Vec<baton::Finding> {
    let i = imported(profile_path);
    let mut p = i.profile;
    p.inline_tables.tables.extend(i.tables.tables);
    let bytes = std::fs::read(message).unwrap();
    let parsed = hl7::parse_bytes(&bytes);
    profile::check(&p, &baton::table::Tables::default(), &parsed.messages[0]).findings
}

/// `MSH[1]-9[1]` (NIST) → `MSH-9` field-level comparison.
fn nist_location(path: &str) -> (String, u32, usize) {
    let seg = &path[..3];
    let occ: u32 = path[4..].split(']').next().unwrap().parse().unwrap();
    let field: usize = path
        .split('-')
        .nth(1)
        .unwrap()
        .split('[')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (seg.to_string(), occ, field)
}

#[test]
fn every_corpus_profile_imports() {
    for p in [
        "mwb/hapi_ADT_A01_segnotsup.xml",
        "mwb/hapi_ADT_A31.xml",
        "mwb/hapi_VA-ADT_A01.xml",
        "nist/nist_v2-validation_ORU_R01_Profile.xml",
        "nist/cdc_PHLIP-FLU-2.5.1/PROFILE.xml",
    ] {
        let i = imported(&format!("{PROFILES}/{p}"));
        assert!(!i.profile.segments.is_empty(), "{p}: no segments");
        assert!(
            i.profile.fields.len() > 20,
            "{p}: only {} fields",
            i.profile.fields.len()
        );
        assert!(
            i.profile.message_types.iter().all(|t| t.contains('^')),
            "{p}"
        );
    }
    let va = imported(&format!("{PROFILES}/mwb/hapi_VA-ADT_A01.xml"));
    assert_eq!(va.profile.side, baton::Side::Receiver);
    let phlip = imported(PHLIP);
    assert!(phlip.tables.tables.len() > 50, "value sets read");
    assert!(
        phlip
            .unmapped
            .iter()
            .any(|u| u.contains("conformance statements")),
        "unmapped items are listed"
    );
}

#[test]
fn phlip_valid_message_has_no_errors() {
    let f = findings(
        PHLIP,
        "../shared/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt",
    );
    let errors: Vec<_> = f
        .iter()
        .filter(|x| x.severity == baton::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn phlip_negatives_find_the_expected_findings_where_nist_did() {
    for (message, expected) in [("NO_MSH9", "MSH[1]-9[1]"), ("NO_MSH10", "MSH[1]-10[1]")] {
        // The expected file holds the NIST validator's findings for this message.
        let json = std::fs::read_to_string(format!(
            "../shared/corpus/malformed/cdc_PHLIP_FLU_2.5.1_{message}.expected.json"
        ))
        .unwrap();
        assert!(json.contains(expected));
        let got = findings(
            PHLIP,
            &format!("../shared/corpus/malformed/cdc_PHLIP_FLU_2.5.1_{message}.txt"),
        );
        let (seg, occ, field) = nist_location(expected);
        assert!(
            got.iter().any(|f| f.location.segment == seg.as_str()
                && f.location.segment_number.unwrap_or(1) == occ
                && f.location.field_number == field
                && f.code == 101
                && f.severity == baton::Severity::Error),
            "{message}: {got:#?}"
        );
    }
}

#[test]
fn validate_command_reads_xml_profiles() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "validate",
            "--profile",
            PHLIP,
            "../shared/corpus/malformed/cdc_PHLIP_FLU_2.5.1_NO_MSH10.txt",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("MSH-10       101 error"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["validate", "--profile", "Cargo.toml", "x.hl7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_xml_profile_can_be_either_side_of_a_workspace() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(Path::new("test-scenarios/adt-registration"), dir.path());
    std::fs::copy(
        format!("{PROFILES}/mwb/hapi_VA-ADT_A01.xml"),
        dir.path().join("profiles/va.xml"),
    )
    .unwrap();
    let manifest = dir.path().join("baton.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("profiles/rxflow-adt-receiver.toml", "profiles/va.xml");
    std::fs::write(&manifest, text).unwrap();
    let ws = baton::Workspace::load(dir.path()).unwrap();
    let h = &ws.handoffs[0];
    assert!(h.receiver.name.contains("Messaging Workbench"));
    let r = baton::replay::replay_scenario(&ws, ws.scenario("a01-admit").unwrap());
    // The VA profile expects v2.3.1: the 2.5.1 message is refused, with a located finding.
    assert!(
        r.replay
            .findings
            .iter()
            .any(|f| f.code == 203 && f.location.to_string() == "MSH-12"),
        "{:#?}",
        r.replay.findings
    );
}

#[test]
fn phlip_component_length_warnings_match_nist() {
    // NIST reported OBX[1..3]-17[1].1 too long (warning) for this message.
    let got = findings(
        PHLIP,
        "../shared/corpus/malformed/cdc_PHLIP_FLU_2.5.1_PID5_ERROR.txt",
    );
    for occ in 1..=3u32 {
        assert!(
            got.iter().any(|f| f.location.segment == "OBX"
                && f.location.segment_number.unwrap_or(1) == occ
                && f.location.field_number == 17
                && f.location.component_number == Some(1)
                && f.code == 104
                && f.severity == baton::Severity::Warning),
            "OBX[{occ}]-17.1: {got:#?}"
        );
    }
}
