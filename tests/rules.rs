//! Mapping rules that real interfaces need, end to end through a replay:
//! conditions, repetitions chosen by content, named time zones, segment
//! operations and value functions; and rules files that say something
//! meaningless, refused with file, line and column.

mod common;

use baton::replay::{FieldResult, MessageReplay, Outcome};
use baton::scenario::OutcomeKind;
use common::{MINI_RECEIVER, MINI_SENDER, MiniWorkspace};

const MSH: &str = "MSH|^~\\&|EHR|HOSP|LIS|LAB|20240101120000-0500||ORM^O01|C1|P|2.5.1\r";
const TABLES: &str = "[[map]]\nid = \"prio\"\ncodes = { R = \"ROUTINE\", S = \"STAT\" }\n";

fn replay(rules: &str, message: &str) -> MessageReplay {
    MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, rules, TABLES).replay(message)
}

fn mapped(r: &MessageReplay, path: &str) -> String {
    r.mapped
        .as_ref()
        .map(|m| m.get_or_empty(&path.parse().unwrap()).to_string())
        .unwrap_or_default()
}

fn row<'a>(r: &'a MessageReplay, path: &str) -> &'a FieldResult {
    r.fields
        .iter()
        .find(|f| f.path.to_string() == path)
        .unwrap_or_else(|| {
            let all: Vec<String> = r.fields.iter().map(|f| f.path.to_string()).collect();
            panic!("no row {path}; rows: {all:?}")
        })
}

fn load_error(rules: &str) -> String {
    let ws = MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, rules, TABLES);
    match baton::Workspace::load(ws.dir.path()) {
        Ok(_) => panic!("rules should be refused:\n{rules}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn keys_that_mean_nothing_for_the_action_are_refused_with_line_and_column() {
    for (rules, says, line) in [
        (
            "[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-5\"\nmap = \"prio\"\n",
            "`map` does nothing for action `copy`",
            1,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"set\"\nfrom = \"PID-5\"\nto = \"PID-6\"\nvalue = \"x\"\n",
            "`from` does nothing for action `set`",
            1,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"datetime\"\nfrom = \"MSH-7\"\nassume_offset = \"-0500\"\ndefault = \"x\"\n",
            "`default` does nothing for action `datetime`",
            1,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"translate\"\nfrom = \"ORC-7.6\"\nmap = \"prio\"\ndefault = \"R\"\n",
            "only with `on_unmapped = \"default\"`",
            1,
        ),
        (
            "\n[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"OBX-31\"\n",
            "OBX has 25 fields",
            5,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-5\"\nwhen = { path = \"PID-8\", equals = \"F\", one_of = [\"M\"] }\n",
            "exactly one of",
            5,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-5\"\nto = \"PID-9[*]\"\n",
            "`[*]` selects repetitions to read",
            1,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"datetime\"\nfrom = \"MSH-7\"\nto_zone = \"Mars/Olympus\"\n",
            "not a time zone name",
            1,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"set\"\nto = \"PID-8\"\nvalue = \"F\"\nwhen = { rule = \"B\", applied = true }\n",
            "not an earlier rule",
            1,
        ),
        (
            "[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-4000000000\"\n",
            "limit",
            4,
        ),
    ] {
        let e = load_error(rules);
        assert!(e.contains(says), "{says}: {e}");
        assert!(e.contains("rules.toml"), "{e}");
        assert!(e.contains(&format!("line {line},")), "line {line}: {e}");
        assert!(e.contains("column"), "{e}");
    }
}

#[test]
fn conditions_read_source_mapped_and_earlier_rules() {
    let rules = r#"
[[rule]]
id = "PRIO"
action = "translate"
from = "ORC-7.6"
map = "prio"
on_unmapped = "pass"

[[rule]]
id = "FLAG"
action = "set"
to = "ORC-8"
value = "translated"
when = { rule = "PRIO", applied = true }

[[rule]]
id = "STAT-NOTE"
action = "set"
to = "ORC-16"
value = "urgent"
when = { all = [ { path = "ORC-7.6", message = "mapped", equals = "STAT" }, { not = { path = "ORC-1", one_of = ["CA", "DC"] } } ] }

[[rule]]
id = "NOT-NW"
action = "set"
to = "ORC-15"
value = "x"
when = { path = "ORC-1", not_equals = "NW" }

[[rule]]
id = "DIGITS"
action = "set"
to = "ORC-17"
value = "numeric"
when = { path = "ORC-2", matches = "[0-9]+" }
"#;
    let r = replay(
        rules,
        &format!("{MSH}PID|1||1^^^H^MR||Doe\rORC|NW|123|||||^^^^^S\r"),
    );
    assert_eq!(mapped(&r, "ORC-7.6"), "STAT");
    assert_eq!(mapped(&r, "ORC-8"), "translated");
    assert_eq!(mapped(&r, "ORC-16"), "urgent");
    assert_eq!(mapped(&r, "ORC-15"), "");
    assert_eq!(mapped(&r, "ORC-17"), "numeric");
    // A code with no translation: the later rules see that PRIO did nothing.
    let r = replay(
        rules,
        &format!("{MSH}PID|1||1^^^H^MR||Doe\rORC|NW|12A|||||^^^^^Q\r"),
    );
    assert_eq!(mapped(&r, "ORC-8"), "");
    assert_eq!(mapped(&r, "ORC-16"), "");
    assert_eq!(mapped(&r, "ORC-17"), "");
}

#[test]
fn repetitions_are_chosen_by_content_and_accounted_one_row_each() {
    let rules = r#"
[[rule]]
id = "MRN-TO-PID2"
action = "copy"
from = "PID-3[*]"
where = { path = ".5", equals = "MR" }
to = "PID-2"

[[rule]]
id = "NO-SSN"
action = "drop"
from = "PID-3[*]"
where = { path = ".4.1", equals = "SSA" }
reason = "no SSN downstream"
"#;
    let r = replay(
        rules,
        &format!("{MSH}PID|1||111-22-3333^^^SSA^SS~12345^^^HOSP^MR||Doe\r"),
    );
    assert_eq!(mapped(&r, "PID-2"), "12345^^^HOSP^MR");
    assert_eq!(mapped(&r, "PID-3"), "12345^^^HOSP^MR");
    let dropped = row(&r, "PID-3[1]");
    match &dropped.outcome {
        Outcome::Dropped { rule, reason } => {
            assert_eq!(rule.as_deref(), Some("NO-SSN"));
            assert_eq!(reason, "no SSN downstream");
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(row(&r, "PID-3[2]").outcome.kind(), OutcomeKind::Accepted);
    let f = row(&r, "PID-2");
    assert_eq!(f.outcome.kind(), OutcomeKind::Transformed);

    // keep: only the MR repetition stays; the others are dropped with the rule.
    let keep = "[[rule]]\nid = \"ONLY-MR\"\naction = \"keep\"\nfrom = \"PID-3[*]\"\nwhere = { path = \".5\", equals = \"MR\" }\nreason = \"the LIS stores one MRN\"\n";
    let r = replay(
        keep,
        &format!("{MSH}PID|1||A1^^^X^PI~12345^^^HOSP^MR~B2^^^Y^AN||Doe\r"),
    );
    assert_eq!(mapped(&r, "PID-3"), "12345^^^HOSP^MR");
    assert_eq!(row(&r, "PID-3[1]").outcome.kind(), OutcomeKind::Dropped);
    assert_eq!(row(&r, "PID-3[2]").outcome.kind(), OutcomeKind::Accepted);
    assert_eq!(row(&r, "PID-3[3]").outcome.kind(), OutcomeKind::Dropped);
    assert_eq!(r.counts.dropped, 2);
}

#[test]
fn named_time_zones_convert_with_daylight_saving() {
    let rules = "[[rule]]\nid = \"UTC\"\naction = \"datetime\"\nfrom = \"ORC-9\"\nassume_zone = \"America/New_York\"\nto_zone = \"UTC\"\n\
                 [[rule]]\nid = \"LOCAL\"\naction = \"datetime\"\nfrom = \"ORC-15\"\nassume_offset = \"+0000\"\nto_zone = \"Europe/Berlin\"\n";
    for (given, want, berlin) in [
        ("202407151030", "202407151430+0000", "202407151230+0200"),
        ("202401151030", "202401151530+0000", "202401151130+0100"),
    ] {
        let r = replay(
            rules,
            &format!("{MSH}PID|1||1^^^H^MR||Doe\rORC|NW|1|||||||{given}||||||{given}\r"),
        );
        assert_eq!(mapped(&r, "ORC-9"), want, "{given}");
        assert_eq!(mapped(&r, "ORC-15"), berlin, "{given}");
    }
}

#[test]
fn segments_are_dropped_and_created_in_their_place() {
    let rules = r#"
[[rule]]
id = "NO-NOTES"
action = "drop_segment"
segment = "NTE"
reason = "the LIS takes no order notes"

[[rule]]
id = "TQ1-START"
action = "copy"
from = "ORC-9"
to = "TQ1-7"
after = "ORC"
"#;
    let msg = format!(
        "{MSH}PID|1||1^^^H^MR||Doe\rORC|NW|1|||||||20240101\rOBR|1|1||GLU\rNTE|1||first note\rORC|NW|2|||||||20240102\rOBR|2|2||LDL\rNTE|1||second note\rZPI|x\r"
    );
    let r = replay(rules, &msg);
    let names: Vec<String> = r
        .mapped
        .as_ref()
        .unwrap()
        .segments
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "MSH", "PID", "ORC", "TQ1", "OBR", "ORC", "TQ1", "OBR", "ZPI"
        ]
    );
    assert_eq!(mapped(&r, "TQ1[2]-7"), "20240102");
    for path in ["NTE-3", "NTE[2]-3", "NTE-1"] {
        match &row(&r, path).outcome {
            Outcome::Dropped { rule, .. } => assert_eq!(rule.as_deref(), Some("NO-NOTES")),
            o => panic!("{path}: {o:?}"),
        }
    }
    let f = row(&r, "TQ1[2]-7");
    assert_eq!(f.outcome.kind(), OutcomeKind::Transformed);
    // Without `after`, a created segment goes where the message structure puts it.
    let oru = "MSH|^~\\&|LAB|L|EHR|H|20240101120000-0500||ORU^R01|C2|P|2.5.1\rPID|1||1^^^H^MR||Doe\rORC|RE|1|||||||20240101\rOBR|1|1||GLU\rOBX|1|NM|GLU||5|||||F\r";
    let r = replay(
        "[[rule]]\nid = \"T\"\naction = \"copy\"\nfrom = \"ORC-9\"\nto = \"TQ1-7\"\n",
        oru,
    );
    let names: Vec<String> = r
        .mapped
        .as_ref()
        .unwrap()
        .segments
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["MSH", "PID", "ORC", "OBR", "TQ1", "OBX"]);
}

#[test]
fn value_functions_run_escape_aware() {
    let rules = r#"
[[rule]]
id = "NAME"
action = "transform"
from = "PID-5.1"
to = "PID-5.1"
steps = [ { case = "upper" }, { truncate = 6 } ]

[[rule]]
id = "LAST"
action = "transform"
from = "NK1-2.1"
to = "NK1-2.2"
steps = [ { after_last = " " } ]

[[rule]]
id = "PAD"
action = "transform"
from = "PID-3.1"
steps = [ { replace = "[^0-9]", with = "" }, { pad_left = 8, with = "0" }, { prepend = "M" } ]

[[rule]]
id = "LOOK"
action = "transform"
from = "ORC-7.6"
steps = [ { lookup = "prio", default = "ROUTINE" } ]

[[rule]]
id = "SPLIT"
action = "split"
from = "PID-6"
to = ["PID-6.1", "PID-6.2"]
separator = " "
split_at = "last"
"#;
    let r = replay(
        rules,
        &format!(
            "{MSH}PID|1||12-34^^^H^MR||Mül\\T\\ler^Hans|Mary Ann Smith\rNK1|1|Van Der Berg\rORC|NW||||||^^^^^Q\r"
        ),
    );
    // `Mül&ler` upper-cased and cut to six characters, escaped again.
    assert_eq!(mapped(&r, "PID-5.1"), "MÜL\\T\\LE");
    assert_eq!(mapped(&r, "NK1-2.2"), "Berg");
    assert_eq!(mapped(&r, "PID-3.1"), "M00001234");
    assert_eq!(mapped(&r, "ORC-7.6"), "ROUTINE");
    assert_eq!(mapped(&r, "PID-6"), "Mary Ann^Smith");
    assert_eq!(row(&r, "PID-5").outcome.kind(), OutcomeKind::Transformed);
}

#[test]
fn whole_segments_are_carried_in_explicit_mode() {
    let rules = r#"
mode = "explicit"

[[rule]]
id = "PID"
action = "copy_segment"
segment = "PID"

[[rule]]
id = "ALLERGIES"
action = "copy_segment"
segment = "AL1"
when = { path = "AL1-2", not_equals = "FA" }

[[rule]]
id = "CLASS"
action = "set"
to = "PV1-2"
value = "I"
"#;
    let msg = format!(
        "{MSH}PID|1||1^^^H^MR||Doe^Jo\rPV1|1|O|4W\rAL1|1|DA|PCN^Penicillin\rAL1|2|FA|PNT^Peanut\rAL1|3|DA|SUL^Sulfa\r"
    );
    let r = replay(rules, &msg);
    let names: Vec<String> = r
        .mapped
        .as_ref()
        .unwrap()
        .segments
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["MSH", "PID", "PV1", "AL1", "AL1"]);
    assert_eq!(mapped(&r, "AL1[2]-3"), "SUL^Sulfa");
    let f = row(&r, "AL1-3");
    assert_eq!(f.outcome.kind(), OutcomeKind::Accepted);
    assert!(f.effects.iter().any(|e| &*e.rule == "ALLERGIES"));
    // The food allergy no rule carries, and PV1-3, are dropped; AL1[3] arrived as AL1[2].
    assert_eq!(row(&r, "AL1[2]-3").outcome.kind(), OutcomeKind::Dropped);
    assert_eq!(row(&r, "PV1-3").outcome.kind(), OutcomeKind::Dropped);
    match &row(&r, "AL1[3]-3").outcome {
        Outcome::Transformed { target, .. } => assert_eq!(target.to_string(), "AL1[2]-3"),
        o => panic!("{o:?}"),
    }
    assert_eq!(row(&r, "PV1-2").outcome.kind(), OutcomeKind::Transformed);
}
