//! Standard XML conformance profiles: every one in the corpus imports, and
//! validation finds what the NIST validator found, where it found it.

mod common;

use std::path::Path;
use std::process::Command;

use baton::hl7;
use baton::import;
use baton::profile;

const PROFILES: &str = "tests/data/corpus/profiles";
const PHLIP: &str = "tests/data/corpus/profiles/nist/cdc_PHLIP-FLU-2.5.1/PROFILE.xml";

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
    // CONSTRAINTS.xml: every statement and predicate is read; required
    // datatype-level bindings to closed value sets come from VALUESETBINDINGS.xml.
    let conf = phlip
        .profile
        .conformance
        .as_ref()
        .expect("conformance rules read");
    assert_eq!(conf.counts(), (57, 18, 30));
    assert!(
        !phlip.unmapped.iter().any(|u| u.contains("not evaluated: ")),
        "{:#?}",
        phlip.unmapped
    );
}

#[test]
fn phlip_valid_message_has_no_errors() {
    let f = findings(
        PHLIP,
        "tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt",
    );
    let errors: Vec<_> = f
        .iter()
        .filter(|x| x.severity == baton::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn phlip_negatives_find_the_expected_findings_where_nist_did() {
    let v = baton::validate::Validator::load(Path::new(PHLIP), None).unwrap();
    for message in ["NO_MSH9", "NO_MSH10"] {
        // The expected file holds the NIST validator's finding for this message.
        let e: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_{message}.expected.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let bytes = std::fs::read(format!(
            "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_{message}.txt"
        ))
        .unwrap();
        let r = v.validate_bytes(&bytes);
        assert!(
            r.messages[0]
                .findings
                .iter()
                .any(|f| nist_path(&f.finding) == e["path"]
                    && f.line == e["line"].as_u64().map(|n| n as usize)
                    && f.column == e["column"].as_u64().map(|n| n as usize)
                    && f.finding.code == 101
                    && e["classification"] == "Error"
                    && f.finding.severity == baton::Severity::Error),
            "{message}: {e:#} not in {:#?}",
            r.messages[0].findings
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
            "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_NO_MSH10.txt",
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

/// A finding's location in the NIST validator's notation: `OBX[1]-17[1].1`.
fn nist_path(f: &baton::Finding) -> String {
    let l = &f.location;
    let mut out = format!(
        "{}[{}]-{}[{}]",
        l.segment,
        l.segment_number.unwrap_or(1),
        l.field_number,
        l.repetition_number.unwrap_or(1)
    );
    if let Some(c) = l.component_number {
        out.push_str(&format!(".{c}"));
    }
    out
}

fn process<'a>(expected: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    expected["metadata"]["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["process_name"] == name)
        .unwrap_or_else(|| panic!("no {name} process"))
}

#[test]
fn phlip_pid5_error_matches_nist_on_the_text_the_pipeline_validated() {
    use base64::Engine;
    let corpus = "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_PID5_ERROR.txt";
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_PID5_ERROR.expected.json",
        )
        .unwrap(),
    )
    .unwrap();
    // CDC's pipeline ran a redactor before the NIST structure validator;
    // its report lists what it cleared.
    let redactions: Vec<String> = process(&expected, "REDACTOR")["report"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(redactions, ["PID-5[1].1", "PID-6"]);
    let mut nist: Vec<(String, usize, usize, String)> =
        process(&expected, "STRUCTURE-VALIDATOR")["report"]["entries"]["structure"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_string(),
                    e["line"].as_f64().unwrap() as usize,
                    e["column"].as_f64().unwrap() as usize,
                    e["classification"].as_str().unwrap().to_lowercase(),
                )
            })
            .collect();
    nist.sort();
    assert_eq!(nist.len(), 4);

    let mut v = baton::validate::Validator::load(Path::new(PHLIP), None).unwrap();
    let ours = |v: &baton::validate::Validator, bytes: &[u8]| {
        let r = v.validate_bytes(bytes);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let mut got: Vec<_> = r.messages[0]
            .findings
            .iter()
            .map(|f| {
                (
                    nist_path(&f.finding),
                    f.line.unwrap(),
                    f.column.unwrap(),
                    f.finding.severity.as_str().to_string(),
                )
            })
            .collect();
        got.sort();
        got
    };
    let bytes = std::fs::read(corpus).unwrap();
    // As stored, PID-5 holds `Pid5`: no PID-5 finding, the three warnings only.
    let unredacted = ours(&v, &bytes);
    assert_eq!(unredacted.len(), 3, "{unredacted:?}");
    assert!(unredacted.iter().all(|f| !f.0.starts_with("PID")));

    // With the pipeline's redactions, exactly NIST's findings, at NIST's lines and columns.
    v.redact = redactions.iter().map(|r| r.parse().unwrap()).collect();
    assert_eq!(ours(&v, &bytes), nist);

    // The redacted text is the text the pipeline validated (carried base64 in `content`),
    // and that text, checked as it is, gives the same findings.
    let validated = base64::engine::general_purpose::STANDARD
        .decode(expected["content"].as_str().unwrap())
        .unwrap();
    let message = hl7::parse_bytes(&bytes).messages.remove(0);
    let (redacted, changed) = baton::validate::redact(&message, &v.redact);
    assert_eq!(changed, ["PID-5[1].1", "PID-6"]);
    assert_eq!(
        redacted.unwrap().encode().trim_end(),
        String::from_utf8(validated.clone()).unwrap().trim_end()
    );
    v.redact.clear();
    assert_eq!(ours(&v, &validated), nist);
}

#[test]
fn validate_command_locates_findings_and_redacts() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "validate",
            "--profile",
            PHLIP,
            "--redact",
            "PID-5.1,PID-6",
            "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_PID5_ERROR.txt",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("redacted before the check: PID-5[1].1, PID-6"),
        "{text}"
    );
    assert!(text.contains("3:1      PID-5        101 error"), "{text}");
    assert!(text.contains("6:163    OBX-17.1     104 warning"), "{text}");
    assert!(
        !text.contains("Pid5"),
        "a redacted value is never printed: {text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "validate",
            "--profile",
            PHLIP,
            "--redact",
            "PID-5.1",
            "--json",
            "tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_PID5_ERROR.txt",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &json["files"][0]["messages"][0]["findings"];
    assert!(
        f.as_array().unwrap().iter().any(|f| f["code"] == 101
            && f["line"] == 3
            && f["column"] == 1
            && f["location"] == "PID-5"),
        "{f:#}"
    );
    // A bad path is refused with the reason, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["validate", "--profile", PHLIP, "--redact", "PID-x", "a.hl7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--redact"));
}

fn mutated(subs: &[(&str, &str)]) -> Vec<u8> {
    let mut t = std::fs::read_to_string(
        "tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt",
    )
    .unwrap();
    for (a, b) in subs {
        assert!(t.contains(a), "{a}");
        t = t.replacen(a, b, 1);
    }
    t.into_bytes()
}

/// (rule id or "", location, 0357 code, severity) of every finding that is
/// not one of the three OBX-17.1 length warnings every PHLIP sample carries.
fn conformance_findings(
    v: &baton::validate::Validator,
    bytes: &[u8],
) -> Vec<(String, String, u16, String, usize)> {
    let r = v.validate_bytes(bytes);
    r.messages[0]
        .findings
        .iter()
        .filter(|f| f.finding.code != 104)
        .map(|f| {
            (
                f.finding.rule.clone().unwrap_or_default(),
                f.finding.location_text(),
                f.finding.code,
                f.finding.severity.as_str().to_string(),
                f.column.unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn phlip_conformance_statements_predicates_and_datatype_bindings_are_evaluated() {
    let v = baton::validate::Validator::load(Path::new(PHLIP), None).unwrap();
    // The valid message satisfies every statement, predicate and binding.
    assert_eq!(conformance_findings(&v, &mutated(&[])), []);
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        (&'a str, &'a str, u16, &'a str),
    );
    let cases: &[Case] = &[
        // Segment context (MSH_M): acknowledgment type must follow MSH-21.
        (
            "MSH-15 AL without PHLabReport-Ack",
            &[("|NE|NE|USA|", "|AL|NE|USA|")],
            ("NoACKType", "MSH-15[1]", 102, "error"),
        ),
        // Datatype context (CX_PID3), regular expression in a NOT.
        (
            "an SSN as patient identifier",
            &[("PID|1||19348^", "PID|1||123-45-6789^")],
            ("ID-No-SSN", "PID-3[1].1", 102, "error"),
        ),
        // Datatype context (CWE_LN): IMPLY(PlainText, Format).
        (
            "LN with a code that is not LOINC",
            &[("94533-7^SARS", "ABC^SARS")],
            ("CWE-1-LOINC", "OBX-3[1].1", 102, "error"),
        ),
        // Nested datatype (TS_D14TZR → DTM_L14TZ) with path ".".
        (
            "message time without zone",
            &[("|20221205134200.000-0500||ORU", "|20221205134200||ORU")],
            ("DTM_L14TZ_DateTimeConstraint", "MSH-7[1].1", 102, "error"),
        ),
        // Group context (ORDER_OBSERVATION): PathValue OBR-7 = all OBX-14.
        (
            "one OBX-14 differs from OBR-7",
            &[(
                "F|||20221116010000.000-0500|||Influenza SARS-CoV-2 (Flu SC2)^^99ELR^00^PCR^L||20221117113900.000-0500||||US Virgin Islands Department of Health^D^^^^CLIA&2.16.840.1.113883.19.4.6&ISO^XX^^^48D2179122|3500 Richmond Estate^^Christiansted^VI^00820-4370\nOBX|3",
                "F|||20221116020000.000-0500|||Influenza SARS-CoV-2 (Flu SC2)^^99ELR^00^PCR^L||20221117113900.000-0500||||US Virgin Islands Department of Health^D^^^^CLIA&2.16.840.1.113883.19.4.6&ISO^XX^^^48D2179122|3500 Richmond Estate^^Christiansted^VI^00820-4370\nOBX|3",
            )],
            ("OBR-7 and OBX-14", "OBR-7[1].1", 102, "error"),
        ),
        // Datatype predicate (CWE_C.9 is X when a code is given).
        (
            "original text beside a code",
            &[("^LN^SC2^SARS-CoV-2^L|", "^LN^SC2^SARS-CoV-2^L^^^free text|")],
            ("", "OBX-3[1].9", 102, "error"),
        ),
        // OBX-5's datatype named by OBX-2 (dynamic mapping: CWE → CWE_OBX5).
        (
            "alternate code without its coding system in OBX-5",
            &[("260415000^Not Detected^L||", "260415000^Not Detected||")],
            ("CWE-6-Usage", "OBX-5[1].6", 102, "error"),
        ),
        // Datatype-level binding (PT_M.1 to HL70103).
        (
            "processing id outside HL70103",
            &[("|6479|P|2.5.1|", "|6479|Q|2.5.1|")],
            ("", "MSH-11[1].1", 103, "error"),
        ),
    ];
    for (what, subs, (rule, location, code, severity)) in cases {
        let got = conformance_findings(&v, &mutated(subs));
        assert_eq!(got.len(), 1, "{what}: {got:#?}");
        let g = &got[0];
        assert_eq!(
            (g.0.as_str(), g.1.as_str(), g.2, g.3.as_str()),
            (*rule, *location, *code, *severity),
            "{what}"
        );
    }
    // Real corpus files: four OBX-1 = 1 break the SHOULD statement OBX-Sequential
    // (warnings at OBX 2..4); the NO_MSH12 sample gives CWE.9 beside codes.
    let dup = conformance_findings(
        &v,
        &std::fs::read("tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_DUPLICATE_OBX1.txt")
            .unwrap(),
    );
    let seq: Vec<_> = dup.iter().filter(|f| f.0 == "OBX-Sequential").collect();
    assert_eq!(
        seq.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
        ["OBX[2]-1[1]", "OBX[3]-1[1]", "OBX[4]-1[1]"],
        "{dup:#?}"
    );
    assert!(seq.iter().all(|f| f.3 == "warning" && f.4 == 5));
    let no12 = conformance_findings(
        &v,
        &std::fs::read("tests/data/corpus/malformed/cdc_PHLIP_FLU_2.5.1_NO_MSH12.txt").unwrap(),
    );
    assert!(
        no12.iter().any(|f| f.1 == "MSH-12" && f.2 == 101),
        "{no12:#?}"
    );
    assert!(
        no12.iter().any(|f| f.1 == "OBX-3[1].9" && f.2 == 102),
        "{no12:#?}"
    );
    // Two ORDER_OBSERVATION groups, each with its ORC and OBR: "at most one"
    // holds per group instance, so no segment-count error.
    assert!(!no12.iter().any(|f| f.2 == 100), "{no12:#?}");
}

#[test]
fn broken_or_unsupported_constraints_are_named_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(PHLIP).parent().unwrap();
    for f in ["PROFILE.xml", "VALUESETS.xml", "VALUESETBINDINGS.xml"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let profile = dir.path().join("PROFILE.xml");
    let original = std::fs::read_to_string(src.join("CONSTRAINTS.xml")).unwrap();

    // Not well-formed: the error names CONSTRAINTS.xml, line and column.
    std::fs::write(
        dir.path().join("CONSTRAINTS.xml"),
        "<ConformanceContext>\n<Constraints>\n</Oops>",
    )
    .unwrap();
    let e = baton::validate::Validator::load(&profile, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("CONSTRAINTS.xml") && e.contains("line 3"), "{e}");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["validate", "--profile"])
        .arg(&profile)
        .arg("tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONSTRAINTS.xml"));

    // An assertion kind Baton does not evaluate, and a regex it cannot compile:
    // both listed with counts; every other rule still runs.
    let edited = original
        .replacen("<StringList ", "<NumberList ", 1)
        .replacen(r#"Regex="^\d{3,8}-\d$""#, r#"Regex="^(\d{3,8}-\d$""#, 1);
    std::fs::write(dir.path().join("CONSTRAINTS.xml"), edited).unwrap();
    let v = baton::validate::Validator::load(&profile, None).unwrap();
    let listed: Vec<&String> = v
        .unmapped
        .iter()
        .filter(|u| u.contains("not evaluated"))
        .collect();
    assert!(
        listed.iter().any(|u| u.contains("assertion `NumberList`")),
        "{listed:#?}"
    );
    assert!(
        listed.iter().any(|u| u.contains("regular expression")),
        "{listed:#?}"
    );
    let (statements, predicates, _) = v.profile.conformance.as_ref().unwrap().counts();
    assert_eq!((statements, predicates), (55, 18));
}

#[test]
fn gap_lists_receiver_conformance_statements_the_sender_does_not_state() {
    let sender = imported(&format!(
        "{PROFILES}/nist/nist_v2-validation_ORU_R01_Profile.xml"
    ));
    let receiver = imported(PHLIP);
    let tables = baton::table::Tables::default();
    let rows = baton::gap::analyse(&sender.profile, &receiver.profile, None, &tables);
    let statements: Vec<&baton::gap::GapRow> = rows
        .iter()
        .filter(|r| {
            r.gaps
                .iter()
                .any(|g| g.kind == "receiver conformance statement")
        })
        .collect();
    assert_eq!(statements.len(), 57, "one row per statement");
    let row = |p: &str| {
        statements
            .iter()
            .find(|r| r.path == p)
            .unwrap_or_else(|| panic!("{p}"))
    };
    let ack = row("MSH: NoACKType");
    assert_eq!(ack.status, "open");
    assert_eq!(ack.gaps[0].severity, baton::Severity::Warning);
    assert!(ack.gaps[0].detail.contains("MSH-15"));
    // A datatype flavour's row names where it is used, dynamic OBX-5 included.
    assert!(row("CWE_LN: CWE-1-LN").name.contains("OBX-6"));
    assert!(
        row("CWE_OBX5: CWE-1-LN")
            .name
            .contains("OBX-5 (OBX-2 = CWE)")
    );
    // SHOULD statements are information.
    assert_eq!(
        row("OBSERVATION: OBX-Sequential").gaps[0].severity,
        baton::Severity::Information
    );
    // The same profile on both sides states everything the receiver checks.
    let same = baton::gap::analyse(&receiver.profile, &receiver.profile, None, &tables);
    assert!(!same.iter().any(|r| {
        r.gaps
            .iter()
            .any(|g| g.kind == "receiver conformance statement")
    }));
}

#[test]
fn an_assertion_nested_thousands_deep_is_listed_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new("test-scenarios/phlip-flu-elr/profiles/cdc-phlip-flu");
    for f in std::fs::read_dir(src).unwrap().flatten() {
        std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    let c = dir.path().join("CONSTRAINTS.xml");
    let text = std::fs::read_to_string(&c).unwrap();
    let start = text.find("<Assertion>").unwrap() + "<Assertion>".len();
    let end = start + text[start..].find("</Assertion>").unwrap();
    let deep = format!(
        "{}{}{}",
        "<NOT>".repeat(5000),
        &text[start..end],
        "</NOT>".repeat(5000)
    );
    std::fs::write(&c, format!("{}{deep}{}", &text[..start], &text[end..])).unwrap();
    let v = baton::validate::Validator::load(&dir.path().join("PROFILE.xml"), None).unwrap();
    assert!(
        v.unmapped
            .iter()
            .any(|u| u.contains("nested more than 64 deep")),
        "{:?}",
        v.unmapped
    );
}

fn mwb(segments: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<HL7v2xConformanceProfile HL7Version=\"2.5\">\n<MetaData Name=\"T\"/>\n<HL7v2xStaticDef MsgType=\"ADT\" EventType=\"A01\" Role=\"Sender\">\n{segments}</HL7v2xStaticDef>\n</HL7v2xConformanceProfile>\n"
    )
}

#[test]
fn a_messaging_workbench_profile_that_says_nothing_sensible_is_noted_with_its_line() {
    let text = mwb(
        "<Segment Name=\"pid\" Usage=\"R\" Min=\"1\" Max=\"1\">\n<Field Usage=\"R\" Datatype=\"ST\"/>\n</Segment>\n\
         <Segment Name=\"PIDX\" Usage=\"R\" Min=\"1\" Max=\"1\">\n<Field Usage=\"R\" Datatype=\"ST\"/>\n</Segment>\n\
         <Segment Name=\"PV1\" Usage=\"R\" Min=\"5\" Max=\"1\">\n<Field Usage=\"R\" Datatype=\"SI\" Length=\"-5\" Max=\"-1\"/>\n</Segment>\n\
         <Segment Name=\"NK1\" Usage=\"O\" Min=\"abc\" Max=\"*\">\n</Segment>\n",
    );
    let i = import::import(Path::new("p.xml"), &text).unwrap();
    let notes = i.unmapped.join("\n");
    for want in [
        "line 5: segment `pid` is not a segment id",
        "line 8: segment `PIDX` is not a segment id",
        "line 11: segment PV1 has Min=5 above Max=1",
        "line 12: <Field Length=\"-5\"> is not a whole number",
        "line 12: <Field Max=\"-1\"> is not a whole number",
        "line 14: <Segment Min=\"abc\"> is not a whole number",
    ] {
        assert!(notes.contains(want), "missing `{want}` in:\n{notes}");
    }
    assert!(
        i.profile
            .segments
            .iter()
            .all(|s| s.id != "pid" && s.id != "PIDX")
    );
}

#[test]
fn fields_past_the_limit_are_one_located_note() {
    // 32,000 fields in one segment: one note for the run, on the first one's line.
    let fields: String = (0..32_000)
        .map(|i| format!("<Field Name=\"F{i}\" Usage=\"O\" Datatype=\"ST\"/>\n"))
        .collect();
    let text = mwb(&format!(
        "<Segment Name=\"ZZZ\" Usage=\"O\" Min=\"0\" Max=\"1\">\n{fields}</Segment>\n"
    ));
    let i = import::import(Path::new("p.xml"), &text).unwrap();
    let past: Vec<&String> = i
        .unmapped
        .iter()
        .filter(|u| u.contains("past the limit"))
        .collect();
    assert_eq!(past.len(), 1, "{past:?}");
    assert!(
        past[0].starts_with("line 1005: ZZZ fields 1000–32000 are past the limit of 999 fields"),
        "{}",
        past[0]
    );
    assert_eq!(i.profile.fields.len(), 999);
}
