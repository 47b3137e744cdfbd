//! Lines for the user: the log's `say!`, and the one-line error report with
//! an optional `help:` line under it.

use std::fmt;
use std::io::{self, Write as _};
use std::process::ExitCode;

/// Prints one line on standard output, as Python's `print` does.
///
/// Unlike `println!`, it does not panic when nobody reads standard output
/// any more (`tcp-server | head -1`, after `head` has exited): there is
/// nobody left to tell, so the failed write is ignored and the program
/// carries on.
#[macro_export]
macro_rules! say {
    ($($line:tt)*) => {
        $crate::report::say_line(format_args!($($line)*))
    };
}

#[doc(hidden)]
pub fn say_line(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stdout().lock(), "{line}");
}

/// An error with advice for the user, printed on its own `help:` line the
/// way cargo and rustc print theirs.
#[derive(Debug)]
struct Hinted {
    error: anyhow::Error,
    hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:#}", self.error)
    }
}

impl std::error::Error for Hinted {}

/// Attaches advice to an error. [`exit_status`] prints it on a line of its
/// own, under the error.
pub fn hint(error: impl Into<anyhow::Error>, hint: &str) -> anyhow::Error {
    anyhow::Error::new(Hinted { error: error.into(), hint: hint.to_string() })
}

/// Whether an error is a receive or send timeout: `WouldBlock` on Unix and
/// `TimedOut` on Windows.
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Turns the result of a program's `run` into its exit status, printing
/// any error as one line on standard error, `error: what failed: why`, and
/// any advice on a `help:` line under it.
///
/// A `main` that returns `anyhow::Result<()>` makes std print the error with
/// `{:?}`. anyhow's `Debug` spreads the causes over several lines, and adds a
/// stack backtrace whenever `RUST_BACKTRACE` is set. A learner should see one
/// clear line instead, so each `main` ends with this function, the way
/// ripgrep's does. Status 1 means a failure at run time; usage errors exit
/// with 2 earlier, in [`crate::cli::Program::parse`].
pub fn exit_status(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    let hint = error.chain().find_map(|cause| cause.downcast_ref::<Hinted>());
    // `{:#}` joins the error and its causes with ": ". If standard error is
    // closed there is nobody to tell, so a failed write is ignored.
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "error: {error:#}");
    if let Some(Hinted { hint, .. }) = hint {
        let _ = writeln!(stderr, "help: {hint}");
    }
    ExitCode::FAILURE
}
