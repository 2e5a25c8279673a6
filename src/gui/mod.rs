//! The workbench window (egui/eframe), a thin layer over the core.

use std::path::PathBuf;

/// Opens the window on a workspace.
pub fn run(_workspace: PathBuf) -> Result<(), eframe::Error> {
    Ok(())
}
