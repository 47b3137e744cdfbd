//! Plumbing shared by the three teaching programs.
//!
//! Nothing here is the lesson. Each program's `main.rs` still shows the
//! socket calls of its Python script in the script's order; this crate only
//! holds what at least two of them need around those calls:
//!
//! - [`cli`]: the `[HOST] [PORT]` command line with `-h`, `-V` and a few flags.
//! - [`net`]: name lookup and socket set-up with socket2, handing back std types.
//! - [`PythonBytes`]: received bytes printed exactly as Python's `print(some_bytes)`.
//! - [`exit_status`]: an error report that fits on one line, and the exit status.

pub mod cli;
pub mod net;
mod python_bytes;

use std::io::{self, Write as _};
use std::process::ExitCode;

pub use python_bytes::PythonBytes;

/// Turns the result of a program's `run` into its exit status, printing
/// any error as one line on standard error: `error: what failed: why`.
///
/// A `main` that returns `anyhow::Result<()>` makes std print the error with
/// `{:?}`. anyhow's `Debug` spreads the causes over several lines, and adds a
/// stack backtrace whenever `RUST_BACKTRACE` is set. A learner should see one
/// clear line instead, so each `main` ends with this function, the way
/// ripgrep's does. Status 1 means a runtime failure; usage errors exit with 2
/// earlier, in [`cli::CommandLine::parse`].
pub fn exit_status(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` joins the error and its causes with ": ". If standard
            // error is closed there is nobody to tell, so a failed write is
            // ignored rather than turned into a panic.
            let _ = writeln!(io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
