//! The `baton` binary: with no arguments it opens the workbench GUI on the
//! bundled default workspace; with a subcommand it runs headless.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
        Some(command) => cli::run(command),
        None => open_gui(args.window),
    }
}

#[cfg(feature = "gui")]
fn open_gui(w: cli::WindowArgs) -> ExitCode {
    let options = baton::gui::RunOptions {
        replay: w.replay,
        select: w.select,
        tab: w.tab,
    };
    match baton::gui::run(w.workspace, cli::default_workspace(), options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: the window could not be opened: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(feature = "gui"))]
fn open_gui(_w: cli::WindowArgs) -> ExitCode {
    eprintln!(
        "baton was built without the GUI (feature `gui`); run `baton --help` for the commands"
    );
    ExitCode::from(2)
}
