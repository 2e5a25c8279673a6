//! Helpers shared by the integration tests and benches.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[cfg(feature = "gui")]
pub mod gui;

/// Copies a folder tree (a workspace, to change or to sign in private).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for e in std::fs::read_dir(from).expect("read folder").flatten() {
        let target: PathBuf = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy file");
        }
    }
}

/// A one-handoff workspace written to a temporary folder, for tests that
/// need a profile, rules or tables of their own.
pub struct MiniWorkspace {
    pub dir: tempfile::TempDir,
}

pub const MINI_SENDER: &str = "[profile]\nname = \"s\"\nside = \"sender\"\n";
pub const MINI_RECEIVER: &str = "[profile]\nname = \"r\"\nside = \"receiver\"\n";

impl MiniWorkspace {
    /// `sender`, `receiver`, `rules` and `tables` are the files' texts.
    pub fn new(sender: &str, receiver: &str, rules: &str, tables: &str) -> MiniWorkspace {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let manifest = "[workspace]\nname = \"mini\"\ntables = [\"tables.toml\"]\n\n[[handoff]]\nid = \"h\"\nname = \"h\"\nsource = \"A\"\ntarget = \"B\"\nmessage_types = []\nsender_profile = \"sender.toml\"\nreceiver_profile = \"receiver.toml\"\nrules = \"rules.toml\"\n";
        for (name, text) in [
            ("baton.toml", manifest),
            ("sender.toml", sender),
            ("receiver.toml", receiver),
            ("rules.toml", rules),
            ("tables.toml", tables),
        ] {
            std::fs::write(root.join(name), text).expect("write");
        }
        std::fs::create_dir_all(root.join("scenarios")).expect("scenarios");
        MiniWorkspace { dir }
    }

    pub fn load(&self) -> baton::Workspace {
        baton::Workspace::load(self.dir.path()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Replays one message text through the handoff.
    pub fn replay(&self, text: &str) -> baton::replay::MessageReplay {
        let ws = self.load();
        baton::replay::replay_text(&ws.handoffs[0], &ws.tables, text)
    }
}

/// Sends one message to 127.0.0.1:`port` over real MLLP, as a sender would:
/// the ACK received, and what went wrong if anything.
pub fn send_over_mllp(
    port: u16,
    text: &str,
    retries: u32,
    backoff: std::time::Duration,
) -> (String, Option<String>) {
    let opts = baton::mllp::SendOptions {
        timeout: std::time::Duration::from_secs(10),
        retries,
        backoff,
        mapped: false,
    };
    let (ack, _, _, err, _) = baton::mllp::exchange(
        &format!("127.0.0.1:{port}"),
        text,
        &opts,
        &baton::mllp::Limits::default(),
    );
    (ack, err)
}

/// Every file under `dir` (recursively) whose extension is one of `exts`
/// (any file when `exts` is empty), sorted.
pub fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if exts.is_empty()
                || p.extension()
                    .is_some_and(|x| exts.iter().any(|e| x.eq_ignore_ascii_case(e)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
