//! tcp-server's engineering, not its lesson: what a server needs beyond the
//! script's socket calls, which `src/main.rs` makes itself. The crew of
//! client threads ([`client_crew`]), the close without a reset
//! ([`graceful_close`]) and the sorting of failed `accept`s
//! ([`accept_errors`]). `docs/tcp-server-design.md` explains each choice,
//! with what we measured.
//!
//! It is a library so that the server, its exercises and its bench share
//! one copy, and so that it reads at the workspace's width of 80 columns
//! (this folder's `rustfmt.toml`) while the lesson keeps the pages' 58.

pub mod accept_errors;
pub mod client_crew;
pub mod graceful_close;
