//! Ctrl-C in a long command (`check`, `sweep`): the first one asks the command to stop — no new
//! run starts, the runs under way finish, and the command says what finished before it exits with
//! [`EXIT_INTERRUPTED`]; a second Ctrl-C exits at once. Without [`install`], Ctrl-C keeps its
//! default meaning (end the process), which a single `run` can afford: its files are written as
//! one set ([`crate::output::FileSet`]), so a kill leaves the previous set or the new one.

use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Turns Ctrl-C into a request to stop (see the module documentation). Fails only if another
/// handler is installed already.
pub fn install() -> Result<(), String> {
    ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!("\ninterrupted: finishing the runs under way (Ctrl-C again to stop at once)");
    })
    .map_err(|error| format!("cannot catch Ctrl-C: {error}"))
}

/// Has Ctrl-C asked the command to stop?
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
