//! The exercises' checker, shared by every package.
//!
//! Each package lists its exercises in `tests/checks/mod.rs`: a number and a
//! function that runs the learner's program against peers it plays itself,
//! and says what is still missing. Two test targets use that list:
//!
//! - `tests/check.rs` is `cargo test -p PACKAGE --test check`, the learner's
//!   one command. It is a plain `main` (`harness = false`) that builds each
//!   `examples/exercise-N.rs`, checks it, and prints one line for each
//!   exercise, with the compiler's warnings about that file under it.
//!   `test = false` in `Cargo.toml` keeps it out of `cargo test
//!   --workspace`, where unsolved exercises would fail it.
//! - `tests/exercises.rs` is an ordinary test. The files in `examples/`
//!   belong to the learner, who may have solved them in place, so it never
//!   reads them: it takes the starting points as committed, from git, into
//!   a copy of the workspace under the target folder, applies each step of
//!   the page alone (`tests/steps/*.patch`), and asserts the exact line the
//!   check prints for each. Then it asserts that each answer in `answers/`
//!   is solved.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};

use super::{DEADLINE, run_within, workspace_root};

/// One exercise of a package.
pub struct Exercise {
    /// N in `examples/exercise-N.rs`. Numbers run on across the packages,
    /// so that no two examples share a name in the target folder.
    pub number: u32,
    /// Runs the program as often as it needs to, and returns what is still
    /// missing, in the learner's words.
    pub check:
        fn(program: &Program) -> Result<(), String>,
    /// What to ask when the program is still running after [`DEADLINE`]
    /// (`Program::run`). A server runs until its check stops it, and has
    /// nothing to ask.
    pub still_running: &'static str,
}

/// A learner's program, built, with the source it was built from.
pub struct Program {
    path: PathBuf,
    source: PathBuf,
    still_running: &'static str,
}

impl Program {
    /// The program, ready for arguments.
    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }

    /// Runs the program with `arguments` to the end. A program that is
    /// still running after [`DEADLINE`] is stopped, and the error is the
    /// check's line for it.
    pub fn run(
        &self,
        arguments: &[&str],
    ) -> Result<Output, String> {
        run_within(
            self.command().args(arguments),
            DEADLINE,
        )
        .ok_or_else(|| {
            format!(
                "still running after {} s: {}",
                DEADLINE.as_secs(),
                self.still_running
            )
        })
    }

    /// The source, for the few things a run cannot show.
    pub fn source_text(&self) -> String {
        std::fs::read_to_string(&self.source)
            .unwrap_or_default()
    }
}

/// What the check says about one built program: `exercise N: solved`, or
/// `exercise N: ` and what is missing. A check that panics (it should
/// not) still gives a line, so that the other exercises get theirs.
pub fn verdict(
    exercise: &Exercise,
    path: PathBuf,
    source: PathBuf,
) -> Result<String, String> {
    let program = Program {
        path,
        source,
        still_running: exercise.still_running,
    };
    let number = exercise.number;
    let checked =
        catch_unwind(AssertUnwindSafe(|| (exercise.check)(&program)))
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| {
                        panic.downcast_ref::<&str>().map(|s| s.to_string())
                    })
                    .unwrap_or_default();
                Err(format!("the check itself failed ({why}); please report it"))
            });
    match checked {
        Ok(()) => {
            Ok(format!("exercise {number}: solved"))
        }
        Err(missing) => {
            Err(format!("exercise {number}: {missing}"))
        }
    }
}

/// The check's line for the example `name` of `package`, which `built`
/// built from `source`; `file` is how the compiler names that file
/// (`examples/NAME.rs`). A program that works but makes the compiler warn
/// is not solved yet: a warning often points at what a step left behind.
fn judge(
    exercise: &Exercise,
    built: &Built,
    name: &str,
    source: PathBuf,
    file: &str,
) -> Result<String, String> {
    let number = exercise.number;
    if built.failed.iter().any(|failed| failed == name) {
        return Err(does_not_compile(
            number,
            &built.messages,
            file,
        ));
    }
    let program = target_folder()
        .join("examples")
        .join(binary_name(name));
    let solved = verdict(exercise, program, source)?;
    let warned = messages_about(&built.messages, file)
        .iter()
        .any(|message| {
            message.trim_start().starts_with("warning")
        });
    if warned {
        return Err(format!(
            "exercise {number}: works, but the compiler warns about it \
             (below); clear the warnings to finish"
        ));
    }
    Ok(solved)
}

/// The line for an exercise that does not compile: the compiler's first
/// error about `file`, such as `does not compile yet: line 105: cannot
/// find value `bytes_read` in this scope [E0425]`. The whole error is
/// shown under it.
fn does_not_compile(
    number: u32,
    messages: &[String],
    file: &str,
) -> String {
    let errors = messages_about(messages, file);
    let Some(error) = errors.iter().find(|message| {
        message.trim_start().starts_with("error")
    }) else {
        return format!(
            "exercise {number}: does not compile yet; see the errors below"
        );
    };
    let mut lines = error.lines().map(str::trim);
    let headline = lines.next().unwrap_or_default();
    // "error[E0425]: cannot find value ..." or "error: expected ..."
    let (kind, what) = headline
        .split_once(": ")
        .unwrap_or((headline, ""));
    let code = kind
        .strip_prefix("error[")
        .and_then(|code| code.strip_suffix(']'))
        .map(|code| format!(" [{code}]"))
        .unwrap_or_default();
    // "   |   ^^^^^ expected `&str`, found `String`": what the compiler
    // says at the spot.
    let label = error
        .lines()
        .filter_map(|line| line.split_once('^'))
        .map(|(_, rest)| {
            rest.trim_start_matches(['^', '-']).trim()
        })
        .find(|label| !label.is_empty())
        // "not found in this scope" only repeats the headline; a label
        // that names something in backquotes adds to it.
        .filter(|label| label.contains('`'))
        .map(|label| format!(": {label}"))
        .unwrap_or_default();
    // "--> tcp-client/examples/exercise-1.rs:105:31"
    let place = lines
        .find_map(|line| line.strip_prefix("--> "))
        .and_then(|place| place.split(':').nth(1))
        .map(|line| format!("line {line}: "))
        .unwrap_or_default();
    format!(
        "exercise {number}: does not compile yet: {place}{what}{label}{code}"
    )
}

/// `cargo test -p PACKAGE --test check`: builds and checks every exercise of
/// the package, prints one line for each with the compiler's warnings and
/// errors about it underneath, and fails unless all are solved. It never
/// panics: a panic's report would hide the lines.
pub fn check_main(exercises: &[Exercise]) -> ExitCode {
    std::panic::set_hook(Box::new(|_| {}));
    let package = env!("CARGO_PKG_NAME");
    let root = workspace_root();
    let mut all_solved = true;
    for exercise in exercises {
        let number = exercise.number;
        let example = format!("exercise-{number}");
        let built =
            build(&root, package, &[example.as_str()]);
        let source = format!("examples/{example}.rs");
        let line = judge(
            exercise,
            &built,
            &example,
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(&source),
            &source,
        );
        all_solved &= line.is_ok();
        println!("{}", line.unwrap_or_else(|line| line));
        for message in
            messages_about(&built.messages, &source)
        {
            println!("{message}");
        }
    }
    if all_solved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What one `cargo build` said.
struct Built {
    /// The examples that did not compile.
    failed: Vec<String>,
    /// The compiler's messages, one block each, as a terminal shows them.
    messages: Vec<String>,
}

/// Builds examples of `package` in the workspace at `root`, with the cargo
/// that runs this test, into the target folder this test runs from. Keeps
/// going past an example that does not compile, so that the others build.
fn build(
    root: &Path,
    package: &str,
    examples: &[&str],
) -> Built {
    let cargo = std::env::var_os("CARGO")
        .unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--keep-going",
            "--color",
            "never",
            "-p",
            package,
        ])
        .arg("--target-dir")
        .arg(
            target_folder()
                .parent()
                .expect("TARGET/PROFILE has a parent"),
        );
    if target_folder().ends_with("release") {
        command.arg("--release");
    }
    for example in examples {
        command.args(["--example", example]);
    }
    let Some(output) =
        run_within(&mut command, DEADLINE * 15)
    else {
        return Built {
            failed: examples
                .iter()
                .map(|name| name.to_string())
                .collect(),
            messages: vec![
                "cargo build ran too long".to_string(),
            ],
        };
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    // "error: could not compile `tcp-client` (example "exercise-1") ..."
    let mut failed: Vec<String> = stderr
        .lines()
        .filter(|line| {
            line.starts_with("error: could not compile")
        })
        .filter_map(|line| {
            line.split("(example \"").nth(1)
        })
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    if failed.is_empty() && !output.status.success() {
        // Something else failed, such as a library they use.
        failed = examples
            .iter()
            .map(|name| name.to_string())
            .collect();
    }
    // Each of the compiler's messages starts with `error` or `warning` at
    // the start of a line; its other lines (the `-->` line, the code,
    // `help:` and `note:`) follow it. A blank line does not always come
    // between two messages: cargo's own "could not compile" line, which
    // goes first, may sit between one example's message and the next's.
    let mut messages: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("error: could not compile")
            || line.starts_with("For more information")
            || line.starts_with("warning: `")
        {
            continue;
        }
        if line.starts_with("error")
            || line.starts_with("warning")
        {
            messages.push(line.to_string());
        } else if let Some(last) = messages.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    for message in &mut messages {
        message.truncate(message.trim_end().len());
    }
    Built { failed, messages }
}

/// The compiler's messages that point into `source` (`examples/NAME.rs`),
/// indented under the check's line. Cargo's own summary lines are left out.
fn messages_about(
    messages: &[String],
    source: &str,
) -> Vec<String> {
    messages
        .iter()
        .filter(|message| {
            // Windows writes the path with backslashes.
            message.lines().any(|line| {
                line.trim_start().starts_with("-->")
                    && line
                        .replace('\\', "/")
                        .contains(source)
            })
        })
        .map(|message| {
            message
                .lines()
                .map(|line| format!("    {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// TARGET/PROFILE, where `cargo test` put this test and the examples. A
/// test runs as TARGET/PROFILE/deps/NAME-HASH.
fn target_folder() -> PathBuf {
    std::env::current_exe()
        .expect("the test should know its path")
        .ancestors()
        .nth(2)
        .expect(
            "the test should sit in TARGET/PROFILE/deps",
        )
        .to_path_buf()
}

fn binary_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// A run's output, as the learner would see it in a terminal.
pub fn transcript(output: &Output) -> String {
    let mut shown =
        String::from_utf8_lossy(&output.stdout)
            .into_owned();
    shown.push_str(&String::from_utf8_lossy(
        &output.stderr,
    ));
    shown
}

/// The first line a program printed on standard error, for "it stopped with
/// `error: ...`".
pub fn first_error_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
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
        grouped.push(digit);
    }
    grouped
}

/// One attempt at an exercise that the both-ways test checks: a patch
/// under `tests/steps/` applied to the committed starting point (or none,
/// for the starting point itself), and the exact line the check prints.
pub struct Attempt {
    pub exercise: u32,
    /// `tests/steps/NAME.patch`, or `None` for the untouched starting point.
    pub patch: Option<&'static str>,
    pub line: &'static str,
}

/// Both ways: each attempt (the starting point as committed, and each step
/// of the page applied alone to it) is reported with its exact line, and
/// each answer (`answer-N`) as solved. For each package's
/// `tests/exercises.rs`.
///
/// A step's patch is what `git diff` shows after doing that step alone in
/// `examples/`. To make one again, say after the starting point changed:
///
/// ```text
/// # edit PACKAGE/examples/exercise-N.rs as the page's step says, then
/// git diff PACKAGE/examples/exercise-N.rs > PACKAGE/tests/steps/NAME.patch
/// git restore PACKAGE/examples/exercise-N.rs
/// git commit    # the test reads the starting points as committed
/// ```
///
/// then run `cargo test -p PACKAGE --test exercises`: where a line differs,
/// the failure lists what the check printed for each attempt, to read and
/// paste into the package's `ATTEMPTS`.
pub fn assert_attempts_and_answers(
    exercises: &[Exercise],
    attempts: &[Attempt],
) {
    let package = env!("CARGO_PKG_NAME");
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let find = |number: u32| {
        exercises
            .iter()
            .find(|exercise| exercise.number == number)
            .expect("each attempt should name an exercise of the package")
    };
    // The answers, built here so that `--test exercises` alone never
    // checks a stale one.
    let answers: Vec<String> = exercises
        .iter()
        .map(|exercise| {
            format!("answer-{}", exercise.number)
        })
        .collect();
    let answer_list: Vec<&str> =
        answers.iter().map(String::as_str).collect();
    let built =
        build(&workspace_root(), package, &answer_list);
    assert!(
        built.failed.is_empty(),
        "{}",
        built.messages.join("\n\n")
    );
    for exercise in exercises {
        let number = exercise.number;
        assert!(
            attempts
                .iter()
                .any(|attempt| attempt.exercise
                    == number
                    && attempt.patch.is_none()),
            "exercise {number} needs an attempt for its starting point"
        );
        let source =
            format!("answers/exercise-{number}.rs");
        assert_eq!(
            judge(
                exercise,
                &built,
                &format!("answer-{number}"),
                manifest.join(&source),
                &source,
            ),
            Ok(format!("exercise {number}: solved"))
        );
    }
    let Some(committed) = committed_workspace() else {
        let _ = writeln!(
            std::io::stderr(),
            "note: {package}: the starting points and steps were not \
             checked: this folder is not a git checkout, or git is missing"
        );
        return;
    };
    // Each attempt becomes an example of its own in the committed copy:
    // examples/attempt-N-NAME.rs.
    let mut names = Vec::new();
    for attempt in attempts {
        let number = attempt.exercise;
        let start = std::fs::read_to_string(
            committed.join(package).join(format!(
                "examples/exercise-{number}.rs"
            )),
        )
        .expect(
            "the committed starting point should read",
        );
        let (name, text) = match attempt.patch {
            None => {
                (format!("attempt-{number}-start"), start)
            }
            Some(patch) => {
                let path = manifest.join(format!(
                    "tests/steps/{patch}.patch"
                ));
                let diff = std::fs::read_to_string(&path)
                    .expect(
                        "the step's patch should read",
                    );
                let text = apply_patch(&start, &diff).unwrap_or_else(|why| {
                    panic!(
                        "{} no longer applies to the committed starting \
                         point ({why}); make it again as \
                         assert_attempts_and_answers says",
                        path.display()
                    )
                });
                (format!("attempt-{patch}"), text)
            }
        };
        write_if_changed(
            &committed
                .join(package)
                .join(format!("examples/{name}.rs")),
            text.as_bytes(),
        );
        names.push(name);
    }
    let name_list: Vec<&str> =
        names.iter().map(String::as_str).collect();
    let built = build(&committed, package, &name_list);
    // The attempts run side by side: some of them wait for a deadline.
    let lines: Vec<String> =
        std::thread::scope(|scope| {
            let runs: Vec<_> = attempts
                .iter()
                .zip(&names)
                .map(|(attempt, name)| {
                    let built = &built;
                    let committed = &committed;
                    scope.spawn(move || {
                        let file =
                            format!("examples/{name}.rs");
                        judge(
                            find(attempt.exercise),
                            built,
                            name,
                            committed
                                .join(package)
                                .join(&file),
                            &file,
                        )
                        .unwrap_or_else(|line| line)
                    })
                })
                .collect();
            runs.into_iter()
                .map(|run| {
                    run.join().expect(
                        "a check should not panic",
                    )
                })
                .collect()
        });
    let mut mismatches = String::new();
    for ((attempt, name), line) in
        attempts.iter().zip(&names).zip(&lines)
    {
        if line != attempt.line {
            mismatches.push_str(&format!(
                "\n{name}:\n  expected: {}\n  printed:  {line}",
                attempt.line
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "the check's lines differ:{mismatches}"
    );
}

/// Applies a unified diff (as `git diff` writes it) to `text`. Each hunk's
/// old lines must appear in order, word for word; line numbers are not
/// trusted, so that a patch survives edits elsewhere in the file.
pub fn apply_patch(
    text: &str,
    diff: &str,
) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut result: Vec<&str> = Vec::new();
    let mut position = 0;
    let mut hunks: Vec<(Vec<&str>, Vec<&str>)> =
        Vec::new();
    for line in diff.lines() {
        if line.starts_with("@@") {
            hunks.push((Vec::new(), Vec::new()));
            continue;
        }
        let Some((old, new)) = hunks.last_mut() else {
            continue;
        };
        if let Some(rest) = line.strip_prefix(' ') {
            old.push(rest);
            new.push(rest);
        } else if line.is_empty() {
            old.push("");
            new.push("");
        } else if let Some(rest) = line.strip_prefix('-')
        {
            old.push(rest);
        } else if let Some(rest) = line.strip_prefix('+')
        {
            new.push(rest);
        }
    }
    if hunks.is_empty() {
        return Err("it has no hunks".to_string());
    }
    for (old, new) in &hunks {
        let found = (position
            ..=lines.len().saturating_sub(old.len()))
            .find(|&start| {
                lines[start..].starts_with(old)
            })
            .ok_or_else(|| {
                format!(
                    "cannot find {:?}",
                    old.first().unwrap_or(&"")
                )
            })?;
        result.extend_from_slice(&lines[position..found]);
        result.extend_from_slice(new);
        position = found + old.len();
    }
    result.extend_from_slice(&lines[position..]);
    let mut patched = result.join("\n");
    patched.push('\n');
    Ok(patched)
}

/// The workspace as committed at HEAD, written to TARGET/committed: every
/// file git tracks, from `git ls-tree` and `git cat-file`. Files whose
/// content has not changed are left alone, so that cargo reuses its last
/// build. `None` where git or the repository is missing (a downloaded
/// archive).
fn committed_workspace() -> Option<PathBuf> {
    let root = workspace_root();
    let git = |arguments: &[&str]| {
        let mut command = Command::new("git");
        command.current_dir(&root).args(arguments);
        command
    };
    // Is there git, and a commit? (`run_within` expects its program.)
    let checkout =
        git(&["rev-parse", "--verify", "HEAD"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    if !checkout {
        return None;
    }
    // The files under the workspace's folder, named from there.
    let listing = run_within(
        &mut git(&["ls-tree", "-r", "-z", "HEAD"]),
        DEADLINE,
    )
    .filter(|output| output.status.success())?;
    // Each entry: "MODE TYPE HASH\tPATH\0". Files with the same content
    // share a hash.
    let mut files: BTreeMap<String, Vec<String>> =
        BTreeMap::new();
    for entry in listing.stdout.split(|byte| *byte == 0) {
        let entry = String::from_utf8_lossy(entry);
        let Some((header, path)) = entry.split_once('\t')
        else {
            continue;
        };
        let fields: Vec<&str> =
            header.split(' ').collect();
        if let [_, "blob", hash] = fields.as_slice() {
            files
                .entry(hash.to_string())
                .or_default()
                .push(path.to_string());
        }
    }
    // A workspace unpacked inside some other repository has no
    // files of its own there.
    if !files
        .values()
        .flatten()
        .any(|path| path == "Cargo.toml")
    {
        return None;
    }
    let mut cat = git(&["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut input = cat.stdin.take()?;
    let hashes: String = files
        .keys()
        .map(|hash| format!("{hash}\n"))
        .collect();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(hashes.as_bytes());
    }); // `input` closes when the thread ends: git then finishes.
    let mut contents = Vec::new();
    cat.stdout.take()?.read_to_end(&mut contents).ok()?;
    let _ = writer.join();
    let _ = cat.wait();
    // Each object: "HASH blob SIZE\n", SIZE bytes, "\n".
    let folder =
        target_folder().parent()?.join("committed");
    let mut rest = contents.as_slice();
    while let Some(end) =
        rest.iter().position(|byte| *byte == b'\n')
    {
        let header =
            String::from_utf8_lossy(&rest[..end])
                .into_owned();
        let fields: Vec<&str> =
            header.split(' ').collect();
        let [hash, "blob", size] = fields.as_slice()
        else {
            return None;
        };
        let size: usize = size.parse().ok()?;
        let body = rest.get(end + 1..end + 1 + size)?;
        for path in files.get(*hash).into_iter().flatten()
        {
            write_if_changed(&folder.join(path), body);
        }
        rest = rest
            .get(end + 2 + size..)
            .unwrap_or_default();
    }
    Some(folder)
}

/// Writes `bytes` to `path` unless it holds them already.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() == Some(bytes)
    {
        return;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .expect("the folder should create");
    }
    std::fs::write(path, bytes)
        .expect("the file should write");
}

/// The page (`docs/NAME`) shows each of these lines word for word.
pub fn assert_page_shows(page: &str, lines: &[&str]) {
    let text = std::fs::read_to_string(
        workspace_root().join("docs").join(page),
    )
    .expect("the page should read");
    for line in lines {
        assert!(
            text.contains(line),
            "docs/{page} should show: {line}"
        );
    }
}
