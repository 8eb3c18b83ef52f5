//! `apisat completions SHELL` and `apisat man [COMMAND]`: a shell
//! completion script and man pages, generated from the clap definitions
//! in `cli.rs` (clap_complete, clap_mangen), so they list exactly the
//! commands and flags the binary takes.

use clap::CommandFactory;

use super::ExitCode;
use crate::cli::{emit, Cli};

/// The completion script for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "apisat", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page of apisat (roff), or of one of its commands
/// (`apisat-check(1)`); `None` when there is no such command.
pub fn man_page(command: Option<&str>) -> Option<String> {
    let mut cli = Cli::command();
    cli.build();
    let page = match command {
        None => cli,
        Some(name) => {
            let sub = cli.find_subcommand(name)?.clone();
            // The page's title and NAME: apisat-check. (clap takes names
            // as `&'static str` without its `string` feature; one page is
            // printed per process.)
            let full: &'static str =
                Box::leak(format!("apisat-{}", sub.get_name()).into_boxed_str());
            sub.name(full)
                .bin_name(full)
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Prints the completion script.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    emit(&completion_script(shell));
    ExitCode::default()
}

/// Prints a man page; exit 2 for an unknown command.
pub fn man(command: Option<&str>) -> ExitCode {
    match man_page(command) {
        Some(page) => {
            emit(&page);
            ExitCode::default()
        }
        None => {
            let names: Vec<String> = Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            eprintln!(
                "error: `{}` is not an apisat command\n  = help: the commands are: {}",
                command.unwrap_or_default(),
                names.join(", ")
            );
            ExitCode::BAD_INPUT
        }
    }
}
