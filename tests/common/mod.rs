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
