use super::*;
use crate::error::LoadError;
use crate::hl7;
use crate::table::Tables;
use std::path::Path as FsPath;

fn load(text: &str) -> Result<Rules, LoadError> {
    let mut t = Tables::default();
    t.load_into(
        FsPath::new("t.toml"),
        "[[map]]\nid = \"prio\"\ncodes = { S = \"STAT\" }\n",
    )
    .unwrap();
    Rules::load(FsPath::new("rules.toml"), text, &t)
}

#[test]
fn errors_name_file_line_and_rule() {
    let e = load("[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-5\"\n\n[[rule]]\nid = \"B\"\naction = \"translate\"\nfrom = \"ORC-7\"\nmap = \"nope\"\n").unwrap_err().to_string();
    assert!(
        e.contains("rule `B`")
            && e.contains("map `nope`")
            && e.contains("rules.toml")
            && e.contains("line 6"),
        "{e}"
    );
    let e = load("[[rule]]\nid = \"A\"\naction = \"copyy\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("copyy") && e.contains("line 3"), "{e}");
    let e = load("[[rule]]\nid = \"A\"\naction = \"copy\"\nfrom = \"PID-x\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("PID-x") && e.contains("line 4"), "{e}");
    let e = load("[[rule]]\nid = \"A\"\naction = \"drop\"\nfrom = \"PID-5\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("reason"), "{e}");
}

#[test]
fn applies_rules_per_occurrence() {
    let mut t = Tables::default();
    t.load_into(
        FsPath::new("t.toml"),
        "[[map]]\nid = \"prio\"\ncodes = { S = \"STAT\" }\n",
    )
    .unwrap();
    let rules = Rules::load(
        FsPath::new("r.toml"),
        r#"
[[rule]]
id = "T1"
action = "translate"
from = "OBR-5"
map = "prio"
[[rule]]
id = "D1"
action = "datetime"
from = "OBR-7"
assume_offset = "-0500"
to_offset = "+0000"
[[rule]]
id = "X1"
action = "drop"
from = "ZPI-1"
reason = "site data"
[[rule]]
id = "S1"
action = "set"
to = "MSH-5"
value = "LIS"
"#,
        &t,
    )
    .unwrap();
    let src = hl7::parse_one("MSH|^~\\&|A|B|C|D|20240101||ORM^O01|1|P|2.5.1\rOBR|1||||S||202401012300\rOBR|2||||S||20240102\rZPI|x\r").unwrap();
    let out = apply(&rules, &t, &src);
    let m = &out.message;
    assert_eq!(m.get(&"OBR-5".parse().unwrap()), Some("STAT"));
    assert_eq!(m.get(&"OBR[2]-5".parse().unwrap()), Some("STAT"));
    assert_eq!(m.get(&"OBR-7".parse().unwrap()), Some("202401020400+0000"));
    assert_eq!(m.get(&"OBR[2]-7".parse().unwrap()), Some("20240102"));
    assert_eq!(m.segment_count("ZPI"), 0);
    assert_eq!(m.get(&"MSH-5".parse().unwrap()), Some("LIS"));
    assert_eq!(out.effects.iter().filter(|e| &*e.rule == "T1").count(), 2);
}
