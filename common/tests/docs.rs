//! The docs cannot drift from the code.
//!
//! For every page in `docs/`:
//!
//! - each ```` ```rust ```` or ```` ```python ```` block names its source file
//!   after the language (```` ```rust tcp-client/src/main.rs ````) and must
//!   appear there verbatim, line for line, allowing for indentation;
//! - every line of the page's Python reference script appears in it;
//! - each ```` ```console session=NAME ```` block is a transcript: the test
//!   runs its commands against each other on loopback and compares what they
//!   print with the page, with every port number (any run of four or more
//!   digits) read as `PORT`;
//! - every relative link leads to a file, and to a heading in it.
//!
//! Transcripts run the programs' binaries from the target folder, after a
//! `cargo build --workspace --bins --examples`, so that they are never
//! older than their source.

mod support;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{
    DEADLINE, Running, run_with_limit, text,
    workspace_root,
};

/// Every page, with the Python reference script it teaches, if any. A page
/// missing from this list fails the test, so that no page goes unread.
const PAGES: &[(&str, Option<&str>)] = &[
    ("README.md", None),
    ("tcp-client.md", Some("tcp_client.py")),
    ("udp-client.md", Some("udp_client.py")),
    ("tcp-server.md", Some("tcp_server.py")),
    ("tcp-server-design.md", None),
    ("tcp-server-async.md", Some("tcp_server_async.py")),
    ("rust-for-python.md", None),
    ("under-the-hood.md", None),
    ("under-the-hood-packets.md", None),
];

/// Languages a block may use. Code blocks must name a source file; the rest
/// are shell commands, transcripts and diagrams.
const CODE_LANGUAGES: &[&str] = &["rust", "python"];
const OTHER_LANGUAGES: &[&str] =
    &["console", "sh", "mermaid", "text"];

/// A fenced block of a page.
struct Block {
    info: Vec<String>,
    lines: Vec<String>,
    line_number: usize,
}

fn read_page(name: &str) -> (PathBuf, Vec<Block>) {
    let path = workspace_root().join("docs").join(name);
    let page = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| {
            panic!("{name}: {error}")
        });
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in page.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None if trimmed.starts_with("```") => {
                open = Some(Block {
                    info: trimmed[3..]
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                    lines: Vec::new(),
                    line_number: index + 1,
                });
            }
            None => {}
            Some(block) if trimmed.starts_with("```") => {
                blocks.push(block)
            }
            Some(mut block) => {
                block.lines.push(line.to_string());
                open = Some(block);
            }
        }
    }
    if let Some(block) = open {
        panic!(
            "{name}:{}: a code block is never closed",
            block.line_number
        );
    }
    (path, blocks)
}

/// Lines without indentation, skipping blank ones.
fn significant_lines(
    lines: impl IntoIterator<Item = impl AsRef<str>>,
) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| line.as_ref().trim().to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

/// Every `docs/*.md` is in [`PAGES`], and every page in it exists.
#[test]
fn every_page_is_read_by_this_test() {
    let docs = workspace_root().join("docs");
    let mut found: Vec<String> = std::fs::read_dir(&docs)
        .expect("docs/ should exist")
        .map(|entry| {
            entry
                .expect("a readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".md"))
        .collect();
    found.sort();
    let mut known: Vec<String> = PAGES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    known.sort();
    assert_eq!(
        found, known,
        "add new pages to PAGES in common/tests/docs.rs"
    );
}

/// Every Rust and Python block is found verbatim in the file it names.
#[test]
fn code_blocks_match_their_source_files() {
    for (page, _) in PAGES {
        let (_, blocks) = read_page(page);
        for block in blocks {
            let language = block
                .info
                .first()
                .map(String::as_str)
                .unwrap_or("");
            let place = format!(
                "docs/{page}:{}",
                block.line_number
            );
            if OTHER_LANGUAGES.contains(&language) {
                continue;
            }
            assert!(
                CODE_LANGUAGES.contains(&language),
                "{place}: a block needs a language from {CODE_LANGUAGES:?} or {OTHER_LANGUAGES:?}"
            );
            let source = block.info.get(1).unwrap_or_else(|| {
                panic!("{place}: name the source file after the language")
            });
            let source_text =
                std::fs::read_to_string(workspace_root().join(source))
                    .unwrap_or_else(|error| {
                        panic!("{place}: cannot read {source}: {error}")
                    });
            let wanted = significant_lines(&block.lines);
            let have =
                significant_lines(source_text.lines());
            assert!(
                !wanted.is_empty(),
                "{place}: empty code block"
            );
            assert!(
                have.windows(wanted.len())
                    .any(|window| window
                        == wanted.as_slice()),
                "{place}: this block is not in {source} as written:\n{}",
                wanted.join("\n")
            );
        }
    }
}

/// Every line of each Python reference script appears on its page.
#[test]
fn every_python_line_is_on_its_page() {
    for (page, script) in PAGES {
        let Some(script) = script else { continue };
        let source = format!("docs/python/{script}");
        let (_, blocks) = read_page(page);
        let shown: Vec<String> = blocks
            .iter()
            .filter(|block| {
                block.info.first().map(String::as_str)
                    == Some("python")
            })
            .filter(|block| {
                block.info.get(1) == Some(&source)
            })
            .flat_map(|block| {
                significant_lines(&block.lines)
            })
            .collect();
        let script_text = std::fs::read_to_string(
            workspace_root().join(&source),
        )
        .expect("script");
        for line in significant_lines(script_text.lines())
        {
            assert!(
                shown.contains(&line),
                "docs/{page} does not show this line of {source}: {line}"
            );
        }
    }
}

/// Every transcript matches what the programs print today.
#[test]
fn transcripts_match_real_runs() {
    for (page, _) in PAGES {
        let (_, blocks) = read_page(page);
        let mut sessions: BTreeMap<String, Vec<Block>> =
            BTreeMap::new();
        for block in blocks {
            if block.info.first().map(String::as_str)
                != Some("console")
            {
                continue;
            }
            let session = block
                .info
                .iter()
                .find_map(|word| word.strip_prefix("session="))
                .unwrap_or_else(|| {
                    panic!(
                        "docs/{page}:{}: a console block needs session=NAME",
                        block.line_number
                    )
                })
                .to_string();
            sessions
                .entry(session)
                .or_default()
                .push(block);
        }
        for (session, blocks) in sessions {
            check_session(page, &session, &blocks);
        }
    }
}

/// Every relative link on a page, and in the top-level README, leads to a
/// file that exists and, after `#`, to a heading in it.
#[test]
fn links_lead_somewhere() {
    let root = workspace_root();
    let mut pages: Vec<PathBuf> = PAGES
        .iter()
        .map(|(name, _)| root.join("docs").join(name))
        .collect();
    pages.push(root.join("README.md"));
    for page in pages {
        let text = std::fs::read_to_string(&page)
            .expect("the page should read");
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            // From the top-level README, `../../actions/...` leaves the
            // files for the repository's own GitHub pages: the CI badge.
            let github_page = page
                == root.join("README.md")
                && target.starts_with(
                    "../../actions/workflows/",
                );
            if target.starts_with("http") || github_page {
                continue;
            }
            let (file, anchor) = target
                .split_once('#')
                .unwrap_or((target, ""));
            let file = if file.is_empty() {
                page.clone()
            } else {
                page.parent()
                    .expect("a page sits in a folder")
                    .join(file)
            };
            let place = format!(
                "{}: link ({target})",
                page.display()
            );
            assert!(
                file.exists(),
                "{place}: {} does not exist",
                file.display()
            );
            if anchor.is_empty() {
                continue;
            }
            let headings = std::fs::read_to_string(&file)
                .expect("the target should read");
            let anchors: Vec<String> = headings
                .lines()
                .filter(|line| line.starts_with('#'))
                .map(|line| {
                    github_anchor(
                        line.trim_start_matches('#'),
                    )
                })
                .collect();
            assert!(
                anchors
                    .iter()
                    .any(|known| known == anchor),
                "{place}: no such heading"
            );
        }
    }
}

/// The anchor GitHub gives a heading: lowercase, spaces as hyphens, and
/// only letters, digits, hyphens and underscores kept.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|character| match character {
            ' ' => Some('-'),
            'a'..='z' | '0'..='9' | '-' | '_' => {
                Some(character)
            }
            _ => None,
        })
        .collect()
}

/// Any run of four or more digits is a port here; it reads as `PORT`.
fn normalize(line: &str) -> String {
    let mut normalized = String::new();
    let mut digits = String::new();
    for character in
        line.chars().chain(std::iter::once('\n'))
    {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        if digits.len() >= 4 {
            normalized.push_str("PORT");
        } else {
            normalized.push_str(&digits);
        }
        digits.clear();
        if character != '\n' {
            normalized.push(character);
        }
    }
    normalized
}

/// One `$ command` of a transcript and the lines shown after it.
struct Step {
    command: String,
    shown: Vec<String>,
}

fn steps(block: &Block, place: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in &block.lines {
        match line.strip_prefix("$ ") {
            Some(command) => steps
                .push(Step { command: command.to_string(), shown: Vec::new() }),
            None => steps
                .last_mut()
                .unwrap_or_else(|| {
                    panic!("{place}: a transcript starts with a `$ ` command")
                })
                .shown
                .push(line.clone()),
        }
    }
    steps
}

/// Turns a documented command into one we can run: the binary from the
/// target folder or `python3 -u`, with the documented port 9999 swapped for
/// a real one.
fn runnable(
    command: &str,
    port: &str,
    place: &str,
) -> (Command, bool) {
    let words: Vec<&str> =
        command.split_whitespace().collect();
    let (program, arguments, is_server): (
        PathBuf,
        Vec<&str>,
        bool,
    ) = match words.as_slice() {
        [
            "cargo",
            "run",
            "-p",
            package,
            "--example",
            example,
            rest @ ..,
        ] => (
            target_folder()
                .join("examples")
                .join(binary_name(example)),
            rest.strip_prefix(&["--"])
                .unwrap_or(rest)
                .to_vec(),
            (package, example)
                == (&"udp-client", &"echo-server")
                || example == &"async-server",
        ),
        ["cargo", "run", "-p", package, rest @ ..] => (
            target_folder().join(binary_name(package)),
            rest.strip_prefix(&["--"])
                .unwrap_or(rest)
                .to_vec(),
            package == &"tcp-server",
        ),
        ["python3", script, rest @ ..] => {
            // python3, python or py -3, with -u; check_session has
            // checked that there is one.
            let mut python = support::python3(
                "transcripts_match_real_runs",
            )
            .expect("check_session found Python");
            python.arg(workspace_root().join(script));
            let is_server = script.contains("_server");
            let arguments: Vec<String> = rest
                .iter()
                .map(|word| {
                    swap_port(word, port, is_server)
                })
                .collect();
            python.args(arguments);
            return (python, is_server);
        }
        _ => panic!(
            "{place}: the test cannot run `{command}`"
        ),
    };
    assert!(
        program.exists(),
        "{place}: {} is missing; run cargo test --workspace",
        program.display()
    );
    let mut runnable = Command::new(program);
    runnable.args(
        arguments
            .iter()
            .map(|word| swap_port(word, port, is_server)),
    );
    (runnable, is_server)
}

fn swap_port(
    word: &str,
    port: &str,
    is_server: bool,
) -> String {
    // The pages use 9999, and 9998 where a server must not meet the
    // last one's TIME_WAIT; the test swaps in an ephemeral port.
    match (word, is_server) {
        ("9999" | "9998", true) => "0".to_string(),
        ("9999" | "9998", false) => port.to_string(),
        _ => word.to_string(),
    }
}

fn binary_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// target/debug, with every program freshly built.
fn target_folder() -> PathBuf {
    support::fresh_workspace_binaries()
}

/// Runs one session: its server block first, in the background, then every
/// client command in page order, and compares each block with the page.
fn check_session(
    page: &str,
    session: &str,
    blocks: &[Block],
) {
    let place = |block: &Block| {
        format!(
            "docs/{page}:{} (session={session})",
            block.line_number
        )
    };
    if blocks.iter().any(|block| {
        block
            .lines
            .iter()
            .any(|line| line.starts_with("$ python3"))
    }) && support::python3(
        "transcripts_match_real_runs",
    )
    .is_none()
    {
        return;
    }

    // With no server in the session, 9999 stands for a port where nobody
    // answers: a UDP socket kept bound and never read, while TCP finds
    // nothing listening there. A closed UDP port would do on Linux and
    // macOS, but Windows reports its "port unreachable" even to an
    // unconnected socket (docs/udp-client.md, "Run it"): a silent socket
    // gives the page's transcript on every system.
    let silent_socket = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let unused_port = silent_socket
        .local_addr()
        .expect("bound")
        .port()
        .to_string();
    let mut server: Option<(Running, &Block)> = None;
    let mut server_lines = Vec::new();
    let mut port = unused_port;
    for block in blocks {
        let steps = steps(block, &place(block));
        let (mut command, is_server) = runnable(
            &steps[0].command,
            &port,
            &place(block),
        );
        if is_server {
            assert_eq!(
                steps.len(),
                1,
                "{}: a server's block holds only its own command",
                place(block)
            );
            let running = Running::start(&mut command);
            let listening = running.next_line();
            port = Running::address_from(&listening)
                .port()
                .to_string();
            server_lines
                .push(format!("$ {}", steps[0].command));
            server_lines.push(listening);
            server = Some((running, block));
            continue;
        }
        let mut actual = Vec::new();
        for step in &steps {
            let (mut command, _) = runnable(
                &step.command,
                &port,
                &place(block),
            );
            let output =
                run_with_limit(&mut command, DEADLINE);
            actual.push(format!("$ {}", step.command));
            actual.extend(
                text(&output.stdout)
                    .lines()
                    .map(str::to_string),
            );
            actual.extend(
                text(&output.stderr)
                    .lines()
                    .map(str::to_string),
            );
            // Let the server finish its lines for this client before the
            // next one connects, so that the order of lines is fixed.
            if let Some((running, _)) = &server {
                while let Some(line) =
                    running.line_within(QUIET_TIME)
                {
                    server_lines.push(line);
                }
            }
        }
        compare(&place(block), &block.lines, &actual);
    }
    if let Some((running, block)) = server {
        // Every line the page shows, however slowly a busy machine
        // prints it; then any line more, which the comparison reports.
        while server_lines.len() < block.lines.len() {
            let Some(line) =
                running.line_within(DEADLINE)
            else {
                break;
            };
            server_lines.push(line);
        }
        while let Some(line) =
            running.line_within(QUIET_TIME)
        {
            server_lines.push(line);
        }
        compare(
            &place(block),
            &block.lines,
            &server_lines,
        );
    }
    drop(silent_socket);
}

/// A server that has printed nothing for this long has finished a client,
/// most likely. Each client's server lines then come before the next
/// client's; at the end of a session the test waits for as many lines as
/// the page shows, so a slow print is only ever late, never lost.
const QUIET_TIME: Duration = Duration::from_millis(300);

fn compare(
    place: &str,
    shown: &[String],
    actual: &[String],
) {
    let shown: Vec<String> = shown
        .iter()
        .map(|line| normalize(line))
        .collect();
    let actual: Vec<String> = actual
        .iter()
        .map(|line| normalize(line))
        .collect();
    assert!(
        shown == actual,
        "{place}: the transcript on the page differs from a real run.\npage:\n{}\n\nreal run:\n{}",
        shown.join("\n"),
        actual.join("\n")
    );
}
