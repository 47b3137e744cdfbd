//! `cargo test -p tcp-server --test check`: what each of tcp-server's
//! exercises still needs, one line for each. See
//! `common/tests/support/exercises.rs`.

#[path = "../../common/tests/support/mod.rs"]
mod support;

mod checks;

fn main() -> std::process::ExitCode {
    support::exercises::check_main(checks::EXERCISES)
}
