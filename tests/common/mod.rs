//! Helpers shared by the integration tests and benches.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
