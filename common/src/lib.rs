//! Plumbing shared by the three teaching programs.
//!
//! Nothing here is the lesson. Each program's `main.rs` makes the socket
//! calls of its Python script itself, in the script's order; this crate
//! holds only what at least two of them need around those calls:
//!
//! - [`cli`]: the `[-w SECS] [HOST] [PORT]` command line, with `--help`.
//! - [`lookup`]: a name's addresses, IPv4 first, as the scripts use them.
//! - [`Deadline`]: `-w SECS` as one deadline for a whole run.
//! - [`options`]: socket options set with socket2.
//! - [`PythonBytes`]: bytes printed exactly as Python's `print(some_bytes)`.
//! - [`say!`], [`exit_status`], [`hint`]: lines for the user, and an error
//!   report that fits on one line, with advice on a `help:` line.

pub mod cli;
mod deadline;
mod lookup;
pub mod options;
mod python_bytes;
#[doc(hidden)]
pub mod report;

pub use deadline::Deadline;
pub use lookup::lookup;
pub use python_bytes::PythonBytes;
pub use report::{exit_status, hint, is_timeout};
