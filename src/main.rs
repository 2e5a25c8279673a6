//! The `baton` binary: with no arguments it opens the workbench GUI on the
//! bundled default workspace; with a subcommand it runs headless.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
        Some(command) => cli::run(command),
        None => open_gui(args.workspace),
    }
}

#[cfg(feature = "gui")]
fn open_gui(workspace: Option<std::path::PathBuf>) -> ExitCode {
    match baton::gui::run(workspace.unwrap_or_else(cli::default_workspace)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: the window could not be opened: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(feature = "gui"))]
fn open_gui(_workspace: Option<std::path::PathBuf>) -> ExitCode {
    eprintln!(
        "baton was built without the GUI (feature `gui`); run `baton --help` for the commands"
    );
    ExitCode::from(2)
}
