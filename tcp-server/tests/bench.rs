//! The benchmark (`cargo bench -p tcp-server`) explains itself: `--help`
//! prints its usage, and a bad option one line and status 1. It runs no
//! load here. Building it in the bench profile takes a while the first
//! time, hence the long limit on the build.

#[path = "../../common/tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{
    DEADLINE, run_with_limit, text, workspace_root,
};

/// Building the bench in release mode.
const BUILD: Duration = Duration::from_secs(300);

/// The benchmark's program, built by `cargo bench --no-run`, which names
/// it on a line `Executable benches/load.rs (target/…/load-HASH)`.
fn bench_program() -> PathBuf {
    let cargo = std::env::var_os("CARGO")
        .unwrap_or_else(|| "cargo".into());
    let built = run_with_limit(
        Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "bench",
                "--no-run",
                "-p",
                "tcp-server",
                "--bench",
                "load",
            ]),
        BUILD,
    );
    let said = text(&built.stderr);
    assert_eq!(built.status.code(), Some(0), "{said}");
    let path = said
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix(
                    "Executable benches/load.rs (",
                )?
                .strip_suffix(')')
        })
        .unwrap_or_else(|| {
            panic!("no Executable line in: {said}")
        });
    workspace_root().join(path)
}

#[test]
fn the_benchmark_explains_itself() {
    let program = bench_program();
    let help = run_with_limit(
        Command::new(&program).arg("--help"),
        DEADLINE,
    );
    assert_eq!(
        help.status.code(),
        Some(0),
        "{}",
        text(&help.stderr)
    );
    let usage = text(&help.stdout);
    assert!(
        usage.starts_with(
            "usage: load [--clients 1,16,64,256] [--exchanges N] [--servers LIST]\n"
        ),
        "{usage}"
    );
    assert!(
        usage
            .lines()
            .all(|line| line.chars().count() <= 80),
        "{usage}"
    );

    let bad = run_with_limit(
        Command::new(&program).args(["--bogus", "1"]),
        DEADLINE,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        text(&bad.stderr),
        "error: unknown option '--bogus' (try --help)\n"
    );
}
