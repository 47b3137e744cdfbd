//! The exercises' checker, shared by every package.
//!
//! Each package lists its exercises in `tests/checks/mod.rs`: a number and a
//! function that runs the learner's program against peers it plays itself,
//! and says what is still missing. Two test targets use that list:
//!
//! - `tests/check.rs` is `cargo test -p PACKAGE --test check`, the learner's
//!   one command. It is a plain `main` (`harness = false`) that builds each
//!   `examples/exercise-N.rs`, checks it, and prints one line for each
//!   exercise. `test = false` in `Cargo.toml` keeps it out of
//!   `cargo test --workspace`, where unsolved exercises would fail it.
//! - `tests/exercises.rs` is an ordinary test. It checks the untouched
//!   starting points and asserts that each is reported unsolved, with the
//!   exact line the page shows, then checks the answers in `answers/` and
//!   asserts that each is solved.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Output};

use super::{
    DEADLINE, run_with_limit, text, workspace_root,
};

/// One exercise of a package.
pub struct Exercise {
    /// N in `examples/exercise-N.rs`. Numbers run on across the packages,
    /// so that no two examples share a name in the target folder.
    pub number: u32,
    /// Runs the program that `program()` makes, as often as it needs to,
    /// and returns what is still missing, in the learner's words.
    pub check: fn(
        program: &dyn Fn() -> Command,
    ) -> Result<(), String>,
}

/// What the check says about one program: `exercise N: solved`, or
/// `exercise N: ` and what is missing.
pub fn verdict(
    exercise: &Exercise,
    example: &str,
) -> Result<String, String> {
    let program = || super::example(example);
    let number = exercise.number;
    match (exercise.check)(&program) {
        Ok(()) => {
            Ok(format!("exercise {number}: solved"))
        }
        Err(missing) => {
            Err(format!("exercise {number}: {missing}"))
        }
    }
}

/// `cargo test -p PACKAGE --test check`: builds and checks every exercise of
/// the package, prints one line for each, and fails unless all are solved.
pub fn check_main(exercises: &[Exercise]) -> ExitCode {
    let package = env!("CARGO_PKG_NAME");
    let mut all_solved = true;
    for exercise in exercises {
        let example =
            format!("exercise-{}", exercise.number);
        let line = if build(package, &example) {
            verdict(exercise, &example)
        } else {
            Err(format!(
                "exercise {}: does not compile yet; \
                 `cargo run -p {package} --example {example}` shows why",
                exercise.number
            ))
        };
        all_solved &= line.is_ok();
        println!("{}", line.unwrap_or_else(|line| line));
    }
    if all_solved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Builds one example with the cargo that runs this check, into the target
/// folder this check runs from. Whether it compiled.
fn build(package: &str, example: &str) -> bool {
    let cargo = std::env::var_os("CARGO")
        .unwrap_or_else(|| "cargo".into());
    // This check runs as TARGET/debug/deps/check-HASH.
    let target_folder: PathBuf = std::env::current_exe()
        .expect("the check should know its path")
        .ancestors()
        .nth(3)
        .expect(
            "the check should sit in TARGET/debug/deps",
        )
        .to_path_buf();
    let output = run_with_limit(
        Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--quiet",
                "-p",
                package,
                "--example",
                example,
            ])
            .arg("--target-dir")
            .arg(target_folder),
        DEADLINE * 6,
    );
    output.status.success()
}

/// A run's output, as the learner would see it in a terminal.
pub fn transcript(output: &Output) -> String {
    let mut shown = text(&output.stdout);
    shown.push_str(&text(&output.stderr));
    shown
}

/// The first line a program printed on standard error, for "it stopped with
/// `error: ...`".
pub fn first_error_line(output: &Output) -> String {
    text(&output.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The bytes that Python's `print(some_bytes)` printed as `line`: the inverse
/// of `common::PythonBytes`. `None` if the line is not a bytes literal.
pub fn python_bytes_value(line: &str) -> Option<Vec<u8>> {
    let inner = line.strip_prefix('b')?;
    let quote = inner
        .chars()
        .next()
        .filter(|q| *q == '\'' || *q == '"')?;
    let inner =
        inner.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut bytes = Vec::new();
    let mut characters = inner.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            let mut buffer = [0u8; 4];
            bytes.extend_from_slice(
                character
                    .encode_utf8(&mut buffer)
                    .as_bytes(),
            );
            continue;
        }
        let byte = match characters.next()? {
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            '\\' => b'\\',
            '\'' => b'\'',
            '"' => b'"',
            'x' => {
                let hex: String =
                    characters.by_ref().take(2).collect();
                u8::from_str_radix(&hex, 16).ok()?
            }
            _ => return None,
        };
        bytes.push(byte);
    }
    Some(bytes)
}

/// A count as a learner reads it: 6210 as `6,210`.
pub fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        let _ = write!(grouped, "{digit}");
    }
    grouped
}

/// Both ways: each untouched starting point (`examples/exercise-N.rs`) is
/// reported with its line in `unsolved`, and each answer
/// (`answer-N`) as solved. For each package's `tests/exercises.rs`.
pub fn assert_starting_points_and_answers(
    exercises: &[Exercise],
    unsolved: &[&str],
) {
    assert_eq!(exercises.len(), unsolved.len());
    for (exercise, unsolved) in
        exercises.iter().zip(unsolved)
    {
        let number = exercise.number;
        assert_eq!(
            verdict(
                exercise,
                &format!("exercise-{number}")
            ),
            Err(unsolved.to_string())
        );
        assert_eq!(
            verdict(
                exercise,
                &format!("answer-{number}")
            ),
            Ok(format!("exercise {number}: solved"))
        );
    }
}

/// The page (`docs/NAME`) shows each of these lines word for word.
pub fn assert_page_shows(page: &str, lines: &[&str]) {
    let text = std::fs::read_to_string(
        super::workspace_root().join("docs").join(page),
    )
    .expect("the page should read");
    for line in lines {
        assert!(
            text.contains(line),
            "docs/{page} should show: {line}"
        );
    }
}
