//! Gap analysis on real profiles, and generated scenarios whose
//! expectations hold when replayed.

mod common;
use common::copy_dir;

use std::path::Path;
use std::process::Command;

use baton::{Workspace, gap, generate, import, replay};

fn imported(path: &str) -> baton::profile::Profile {
    let text = std::fs::read_to_string(path).unwrap();
    let i = import::import(Path::new(path), &text).unwrap();
    let mut p = i.profile;
    p.inline_tables.tables.extend(i.tables.tables);
    p
}

#[test]
fn gap_analysis_of_two_real_profiles() {
    // A generic ADT^A01 v2.5 sender against the VA's ADT^A01 v2.3.1 receiver.
    let sender = imported("tests/data/corpus/profiles/mwb/hapi_ADT_A01_segnotsup.xml");
    let receiver = imported("tests/data/corpus/profiles/mwb/hapi_VA-ADT_A01.xml");
    let rows = gap::analyse(&sender, &receiver, None, &baton::table::Tables::default());
    let row = |p: &str| {
        rows.iter()
            .find(|r| r.path == p)
            .unwrap_or_else(|| panic!("no row {p}"))
    };
    let kinds = |p: &str| {
        row(p)
            .gaps
            .iter()
            .map(|g| g.kind.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        kinds("MSH-17").contains(&"sender longer than receiver".to_string()),
        "{:?}",
        row("MSH-17")
    );
    assert!(
        row("MSH-17").gaps[0]
            .detail
            .contains("3 characters; the receiver 2")
    );
    assert!(kinds("PID-19").contains(&"sender optional, receiver required".to_string()));
    assert!(kinds("MSH-12").contains(&"data types differ".to_string()));
    assert!(
        rows.iter()
            .all(|r| r.status == "open" || r.status == "no gap"),
        "no rules given: nothing covered"
    );
    assert!(rows.len() > 100);
}

#[test]
fn generated_scenarios_hold_when_replayed() {
    // Every bundled workspace and every handoff it has.
    let mut names: Vec<String> = std::fs::read_dir("test-scenarios")
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("baton.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let handoffs: Vec<String> = Workspace::load(&Path::new("test-scenarios").join(&name))
            .unwrap()
            .handoffs
            .iter()
            .map(|h| h.id.clone())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&Path::new("test-scenarios").join(&name), dir.path());
        let ws = Workspace::load(dir.path()).unwrap();
        let before = ws.scenarios.len();
        let mut total = 0;
        for h in &handoffs {
            let g = generate::generate(&ws, ws.handoff(h).unwrap()).unwrap();
            assert!(!g.is_empty());
            // Previewed before saving: replayed as it will be, nothing written.
            for x in &g {
                let r = generate::preview(&ws, x).unwrap();
                assert_eq!(r.scenario, x.id);
                assert_eq!(
                    r.verdict,
                    replay::Verdict::Met,
                    "{name}/{}: {:#?}",
                    x.id,
                    r.checks
                );
            }
            assert_eq!(
                Workspace::load(dir.path()).unwrap().scenarios.len(),
                before + total
            );
            total += generate::save(&ws, &g).unwrap().len();
        }
        let ws = Workspace::load(dir.path()).unwrap();
        assert_eq!(ws.scenarios.len(), before + total);
        for r in replay::replay_all(&ws) {
            let unmet: Vec<_> = r.checks.iter().filter(|c| !c.met).collect();
            assert!(unmet.is_empty(), "{name}/{}: {unmet:#?}", r.scenario);
        }
        // Saving again writes nothing: files are never overwritten.
        let g = generate::generate(&ws, &ws.handoffs[0]).unwrap();
        assert_eq!(generate::save(&ws, &g).unwrap().len(), 0);
    }
}

#[test]
fn gap_and_generate_commands() {
    let w = "test-scenarios/lab-orders-results";
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "gap",
            &format!("{w}/profiles/careehr-orders-sender.toml"),
            &format!("{w}/profiles/labcore-orders-receiver.toml"),
            "--rules",
            &format!("{w}/rules/orders.toml"),
            "--tables",
            &format!("{w}/tables/codes.toml"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        // P has no LabCore code: the translate rule acts, but does not resolve the gap.
        text.contains("open     ORC-7.6")
            && text.contains("[rules ORD-PRIO-ORC]")
            && text.contains("no rule translates P"),
        "{text}"
    );
    assert!(
        text.contains("open     PID-5")
            && text.contains("the sender's profile allows 100 characters; the receiver 48"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "open error gaps");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["generate", w, "--handoff", "orders"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gen-orders-missing-pid-7") && text.contains("--save writes them"),
        "{text}"
    );
}

#[test]
fn generated_expectations_follow_what_the_rules_do() {
    let receiver = "[profile]\nname = \"r\"\nside = \"receiver\"\n\
        [[field]]\npath = \"PID-3\"\nusage = \"R\"\nmax_repetitions = 1\n\
        [[field]]\npath = \"PID-8\"\nusage = \"R\"\n\
        [[field]]\npath = \"PID-5.1\"\nusage = \"R\"\nmax_length = 10\n";
    let rules = "[[rule]]\nid = \"ONE-ID\"\naction = \"keep\"\nfrom = \"PID-3[*]\"\nwhere = { path = \".5\", equals = \"MR\" }\npick = \"first\"\nreason = \"one MRN\"\n\
        [[rule]]\nid = \"SEX\"\naction = \"default\"\nto = \"PID-8\"\nvalue = \"U\"\n\
        [[rule]]\nid = \"CUT\"\naction = \"transform\"\nfrom = \"PID-5.1\"\nsteps = [{ truncate = 10 }]\n";
    let ws = common::MiniWorkspace::new(common::MINI_SENDER, receiver, rules, "");
    let root = ws.dir.path();
    std::fs::write(
        root.join("base.hl7"),
        "MSH|^~\\&|A|B|C|D|20240101120000+0000||ADT^A08|1|P|2.5.1\rEVN||20240101\rPID|1||123^^^H^MR||Doe^Jo||19800101|F\rPV1|1|O\r",
    )
    .unwrap();
    std::fs::write(
        root.join("scenarios/happy.toml"),
        "name = \"h\"\nkind = \"happy\"\nhandoff = \"h\"\ninput = \"../base.hl7\"\n[expect]\nack = \"AA\"\n",
    )
    .unwrap();
    let w = ws.load();
    let g = generate::generate(&w, &w.handoffs[0]).unwrap();
    let by = |id: &str| {
        g.iter()
            .find(|x| x.id == id)
            .unwrap_or_else(|| panic!("no {id}: {:?}", g.iter().map(|x| &x.id).collect::<Vec<_>>()))
    };
    // The keep rule leaves one repetition: extra repetitions are no error.
    let reps = by("gen-h-extra-reps-pid-3");
    assert!(
        reps.toml.contains("expect.no_finding") && reps.toml.contains("code = 102"),
        "{}",
        reps.toml
    );
    // The default fills PID-8: missing is no 101.
    let sex = by("gen-h-missing-filled-pid-8");
    assert!(
        sex.toml.contains("code = 101") && sex.toml.contains("no_finding"),
        "{}",
        sex.toml
    );
    // The truncate rule keeps the name within 10: over the maximum still passes.
    let long = by("gen-h-len-over-max-pid-5-1");
    assert!(long.toml.contains("no_finding"), "{}", long.toml);
    generate::save(&w, &g).unwrap();
    let w = ws.load();
    for r in replay::replay_all(&w) {
        let unmet: Vec<_> = r.checks.iter().filter(|c| !c.met).collect();
        assert!(unmet.is_empty(), "{}: {unmet:#?}", r.scenario);
    }
}

#[test]
fn generate_never_allocates_on_a_number_an_imported_profile_states() {
    let ws = common::MiniWorkspace::new(common::MINI_SENDER, common::MINI_RECEIVER, "", "");
    let root = ws.dir.path();
    // A Messaging Workbench receiver: PID-3 repeats without limit (`*`) and
    // PID-5 states an absurd length.
    std::fs::write(
        root.join("receiver.xml"),
        "<?xml version=\"1.0\"?><HL7v2xConformanceProfile HL7Version=\"2.5.1\"><MetaData Name=\"R\"/>\
         <HL7v2xStaticDef MsgType=\"ADT\" EventType=\"A08\" Role=\"Receiver\">\
         <Segment Name=\"PID\" Usage=\"R\" Min=\"1\" Max=\"1\">\
         <Field Usage=\"O\" Datatype=\"SI\"/><Field Usage=\"O\" Datatype=\"CX\"/>\
         <Field Usage=\"R\" Datatype=\"CX\" Max=\"*\"/><Field Usage=\"O\" Datatype=\"CX\"/>\
         <Field Usage=\"R\" Datatype=\"XPN\" Length=\"9223372036854775807\"/></Segment>\
         </HL7v2xStaticDef></HL7v2xConformanceProfile>",
    )
    .unwrap();
    let manifest = std::fs::read_to_string(root.join("baton.toml"))
        .unwrap()
        .replace("receiver.toml", "receiver.xml");
    std::fs::write(root.join("baton.toml"), manifest).unwrap();
    std::fs::write(
        root.join("base.hl7"),
        "MSH|^~\\&|A|B|C|D|20240101120000+0000||ADT^A08|1|P|2.5.1\rEVN||20240101\rPID|1||123^^^H^MR||Doe^Jo\rPV1|1|O\r",
    )
    .unwrap();
    std::fs::write(
        root.join("scenarios/happy.toml"),
        "name = \"h\"\nkind = \"happy\"\nhandoff = \"h\"\ninput = \"../base.hl7\"\n[expect]\nack = \"AA\"\n",
    )
    .unwrap();
    let w = ws.load();
    let pid3 = w.handoffs[0]
        .receiver
        .fields
        .iter()
        .find(|f| f.path.to_string() == "PID-3")
        .unwrap();
    assert_eq!(pid3.max_repetitions, Some(usize::MAX), "`*` is no silence");
    let g = generate::generate(&w, &w.handoffs[0]).unwrap();
    assert!(!g.iter().any(|x| x.id.contains("extra-reps-pid-3")));
    let long = g
        .iter()
        .find(|x| x.id.contains("len-over-max-pid-5"))
        .unwrap();
    assert!(long.toml.len() < 3_000_000, "bounded by the length limit");
}
