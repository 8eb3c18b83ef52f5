//! The `apisat` binary: parses arguments and runs the command; the exit
//! code is the command's (0 secure, 1 attack, 2 bad input, 3 limit).

use clap::Parser;

use apisat::cli::Cli;

use std::alloc::{GlobalAlloc, Layout};

use apisat::memory;

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
static ALLOCATOR: Counting = Counting(mimalloc::MiMalloc);

/// mimalloc, counting each thread's live bytes for `--max-memory`
/// (`apisat::memory`).
struct Counting(mimalloc::MiMalloc);

// SAFETY: every call is forwarded unchanged to mimalloc; the wrapper only
// updates a const-initialised thread-local counter, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc(layout);
        if !p.is_null() {
            memory::record(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc_zeroed(layout);
        if !p.is_null() {
            memory::record(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.dealloc(ptr, layout);
        memory::record(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = self.0.realloc(ptr, layout, new_size);
        if !p.is_null() {
            memory::record(new_size as isize - layout.size() as isize);
        }
        p
    }
}
