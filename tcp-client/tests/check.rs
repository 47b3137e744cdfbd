//! `cargo test -p tcp-client --test check`: what each of tcp-client's
//! exercises still needs, one line for each. See
//! `common/tests/support/exercises.rs`.

#[path = "../../common/tests/support/mod.rs"]
mod support;

mod checks;

fn main() -> std::process::ExitCode {
    support::exercises::check_main(checks::EXERCISES)
}
