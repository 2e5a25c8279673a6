//! Configuration that says no: profiles, scenarios and manifests that say
//! something meaningless are refused with the file, line and column.

mod common;

use common::{MINI_RECEIVER, MINI_SENDER, MiniWorkspace};

fn refused(sender: &str, receiver: &str, scenario: Option<&str>) -> String {
    let ws = MiniWorkspace::new(sender, receiver, "", "");
    if let Some(s) = scenario {
        std::fs::write(ws.dir.path().join("scenarios/s.toml"), s).unwrap();
    }
    match baton::Workspace::load(ws.dir.path()) {
        Ok(_) => panic!("should be refused: {receiver} {scenario:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn profiles_that_mean_nothing_are_refused() {
    for (body, says) in [
        ("hl7_version = \"2.51\"\n", "hl7_version `2.51`"),
        (
            "[[field]]\npath = \"PID-5\"\nusage = \"R\"\n[[field]]\npath = \"PID-5\"\nusage = \"O\"\n",
            "listed twice",
        ),
        (
            "[[field]]\npath = \"PID-5\"\nusage = \"R\"\ntype = \"XYZ\"\n",
            "`XYZ` is not an HL7 v2.5.1 data type",
        ),
        (
            "[[field]]\npath = \"OBX-31\"\nusage = \"O\"\n",
            "OBX has 25 fields",
        ),
        (
            "[[field]]\npath = \"PID-5\"\nusage = \"R\"\nwhen = { path = \"PID-8\", equals = \"F\" }\n",
            "only to usage C",
        ),
        (
            "[[field]]\npath = \"PID-5\"\nusage = \"C\"\nwhen = { path = \"PID-8\", equals = \"F\", one_of = [\"M\"] }\n",
            "exactly one of",
        ),
        (
            "[[segment]]\nid = \"PID\"\nusage = \"R\"\nmax = 0\n",
            "max 0",
        ),
        (
            "[[field]]\npath = \"PID-5\"\nusage = \"R\"\nmax_length = 9223372036854775807\n",
            "limit",
        ),
        (
            "[[field]]\npath = \"PID-3\"\nusage = \"R\"\nmax_repetitions = 4294967296\n",
            "limit",
        ),
    ] {
        let e = refused(MINI_SENDER, &format!("{MINI_RECEIVER}{body}"), None);
        assert!(e.contains(says), "{says}: {e}");
        assert!(e.contains("receiver.toml") && e.contains("line "), "{e}");
    }
}

#[test]
fn a_sender_profile_named_as_the_receiver_is_refused() {
    let e = refused(MINI_SENDER, MINI_SENDER, None);
    assert!(
        e.contains("side = \"sender\"") && e.contains("receiver profile"),
        "{e}"
    );
    assert!(e.contains("receiver.toml") && e.contains("line 3"), "{e}");
}

#[test]
fn scenarios_that_mean_nothing_are_refused() {
    let head = "name = \"s\"\nkind = \"edge\"\nhandoff = \"h\"\nmessage = \"MSH|^~\\\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\\r\"\n";
    for (body, says) in [
        (
            "[[mutate]]\nset = \"OBX-31\"\nvalue = \"x\"\n",
            "OBX has 25 fields",
        ),
        (
            "[[mutate]]\nset = \"PID-4000000000\"\nvalue = \"x\"\n",
            "limit",
        ),
        (
            "[[mutate]]\nset_raw = \"MSH-2\"\nvalue = \"^~\\\\&#\"\n",
            "holds the delimiters",
        ),
        ("[[mutate]]\ndelete = \"MSH-1\"\n", "holds the delimiters"),
        (
            "[[mutate]]\nreplace = \"\"\nwith = \"ab\"\n",
            "non-empty text to find",
        ),
        (
            "[[mutate]]\ndelete = \"PID-5\"\nvalue = \"x\"\n",
            "`value` goes with `set`",
        ),
        (
            "[expect]\nack = \"AA\"\n[[expect.field]]\npath = \"PID-99\"\n",
            "PID has 39 fields",
        ),
    ] {
        let e = refused(MINI_SENDER, MINI_RECEIVER, Some(&format!("{head}{body}")));
        assert!(e.contains(says), "{says}: {e}");
        assert!(e.contains("s.toml") && e.contains("line "), "{e}");
    }
}

#[test]
fn a_mutation_that_would_grow_the_message_without_bound_stops_with_a_finding() {
    let ws = MiniWorkspace::new(MINI_SENDER, MINI_RECEIVER, "", "");
    let mut s = String::from(
        "name = \"s\"\nkind = \"error\"\nhandoff = \"h\"\nmessage = \"MSH|^~\\\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\\r\"\n[expect]\nack = \"AR\"\n",
    );
    for _ in 0..40 {
        s.push_str("[[mutate]]\nreplace = \"A\"\nwith = \"AA\"\n");
    }
    std::fs::write(ws.dir.path().join("scenarios/s.toml"), s).unwrap();
    let w = ws.load();
    let r = baton::replay::replay_scenario(&w, &w.scenarios[0]);
    assert_eq!(r.replay.ack_code, "AR");
    assert!(
        r.replay.parse_problems[0].message.contains("limit"),
        "{:?}",
        r.replay.parse_problems
    );
}
