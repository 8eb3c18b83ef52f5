//! The `apisat` binary: parses arguments and runs the command; the exit
//! code is the command's (0 secure, 1 attack, 2 bad input, 3 limit).

use clap::Parser;

use apisat::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    apisat::style::set_choice(cli.color);
    std::process::ExitCode::from(apisat::commands::run(cli.command).0)
}

/// The engine makes many small allocations (terms, bindings, proof facts);
/// mimalloc serves them faster than the system allocator (measured in
/// benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
