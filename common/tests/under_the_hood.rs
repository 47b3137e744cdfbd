//! The listings of `docs/under-the-hood.md` (system calls) and
//! `docs/under-the-hood-packets.md` against real runs.
//!
//! The pages show each program's system calls, as `strace` prints
//! them, in blocks such as ```` ```text strace=tcp-client ````, and
//! packets, as `tcpdump` prints them, in blocks such as
//! ```` ```text tcpdump=tcp-client ````. Blocks with the same name
//! are read in page order as one listing, and blank lines in them
//! are ignored, so that the page can line calls up side by side.
//!
//! This test runs every program under `strace` and `tcpdump` on
//! loopback, shortens what they print the way the page explains
//! (socket numbers counted from 3 in the order the sockets were
//! made, ports as `PORT`, long strings cut, one listing per
//! thread), and compares it with the page. To print fresh
//! listings to paste into the page, after changing a program:
//!
//!     cargo build --workspace --bins --examples
//!     UNDER_THE_HOOD_PRINT=1 cargo test -p common \
//!         --test under_the_hood -- --nocapture
//!
//! It prints each pair as a table under its `<!-- strace: ... -->`
//! comment, its rows lined up by call name, and each other listing
//! as a block: replace the page's with them. The test builds the
//! workspace's programs first, so it never traces a stale binary.
//!
//! Where `strace` or `tcpdump` is missing, or may not trace or
//! capture, the test says it skipped; under `CI=true` it fails.
//! The pages are Linux's: on other systems the test says it skipped.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{
    BufRead as _, BufReader, Read as _, Write as _,
};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{DEADLINE, Running, text, workspace_root};

/// The pages with listings; a listing's name is unique across them.
const PAGES: &[&str] = &[
    "docs/under-the-hood.md",
    "docs/under-the-hood-packets.md",
];

/// How failures name the pages.
const PAGE: &str = "docs/under-the-hood*.md";

/// The system calls the page shows: the socket calls, `close`,
/// `poll` (which `connect` with a timeout waits in) and the calls
/// that start a thread.
const TRACED_CALLS: &str =
    "%network,close,poll,clone,clone3";

/// The course's request, in one write or in two.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n";
const REQUEST_FIRST_PART: &[u8] = b"GET / HTTP/1.1\r\n";
const REQUEST_SECOND_PART: &[u8] =
    b"Host: google.com\r\n\r\n";

/// After the trace shows that a server closed a client's socket, the
/// time its thread gets to go back to waiting for the next client.
const SETTLE_TIME: Duration = Duration::from_millis(200);

/// Once a capture holds every packet the page shows, one that has
/// seen no packet more for this long is complete.
const QUIET_TIME: Duration = Duration::from_millis(300);

/// The system calls of each program match the page.
#[test]
fn system_calls_match_the_page() {
    let test_name = "system_calls_match_the_page";
    if !cfg!(target_os = "linux") {
        support::not_on_this_system(
            test_name,
            "the pages show Linux's system calls and packets",
        );
        return;
    }
    if !tool_found("strace", "-V", test_name) {
        return;
    }
    let Some(python) = python_executable(test_name)
    else {
        return;
    };
    let mut listings = BTreeMap::new();

    let server =
        start(&binary("tcp-server"), &["127.0.0.1", "0"]);
    let port =
        Running::address_from(&server.next_line()).port();
    let port = port.to_string();
    let client_arguments = ["127.0.0.1", port.as_str()];
    let script = python_script("tcp_client.py");
    let Some(trace) = strace(
        &python,
        &[&[script.as_str()], &client_arguments[..]]
            .concat(),
        test_name,
    ) else {
        return;
    };
    listings.insert("tcp_client.py", trace);
    let trace = strace(
        &binary("tcp-client"),
        &client_arguments,
        test_name,
    );
    listings.insert(
        "tcp-client",
        trace.expect("strace worked"),
    );
    drop(server);

    let echo_server = start(
        &example("echo-server"),
        &["-w", "20", "127.0.0.1", "0"],
    );
    let port =
        Running::address_from(&echo_server.next_line())
            .port();
    let port = port.to_string();
    let client_arguments = ["127.0.0.1", port.as_str()];
    let script = python_script("udp_client.py");
    let trace = strace(
        &python,
        &[&[script.as_str()], &client_arguments[..]]
            .concat(),
        test_name,
    );
    listings.insert(
        "udp_client.py",
        trace.expect("strace worked"),
    );
    let trace = strace(
        &binary("udp-client"),
        &client_arguments,
        test_name,
    );
    listings.insert(
        "udp-client",
        trace.expect("strace worked"),
    );
    drop(echo_server);

    let script = python_script("tcp_server.py");
    listings.insert(
        "tcp_server.py",
        strace_server(
            &python,
            &["-u", &script, "127.0.0.1", "0"],
        ),
    );
    listings.insert(
        "tcp-server",
        strace_server(
            &binary("tcp-server"),
            &["127.0.0.1", "0"],
        ),
    );

    compare_with_page("strace", &listings);
}

/// The packets of each exchange match the page.
#[test]
fn packets_match_the_page() {
    let test_name = "packets_match_the_page";
    if !cfg!(target_os = "linux") {
        support::not_on_this_system(
            test_name,
            "the pages show Linux's system calls and packets",
        );
        return;
    }
    if !tool_found("tcpdump", "--version", test_name) {
        return;
    }
    let Some(python) = python_executable(test_name)
    else {
        return;
    };
    // One server for each exchange, so that each port carries one.
    let servers = [
        (
            "tcp-client",
            start(
                &binary("tcp-server"),
                &["127.0.0.1", "0"],
            ),
        ),
        (
            "udp-client",
            start(
                &example("echo-server"),
                &["-w", "20", "127.0.0.1", "0"],
            ),
        ),
        (
            "tcp_server.py-two-writes",
            start(
                &python,
                &[
                    "-u",
                    &python_script("tcp_server.py"),
                    "127.0.0.1",
                    "0",
                ],
            ),
        ),
        (
            "tcp-server-two-writes",
            start(
                &binary("tcp-server"),
                &["127.0.0.1", "0"],
            ),
        ),
    ];
    let addresses: Vec<(&str, SocketAddr)> = servers
        .iter()
        .map(|(name, server)| {
            (
                *name,
                Running::address_from(
                    &server.next_line(),
                ),
            )
        })
        .collect();
    let filter = addresses
        .iter()
        .map(|(_, address)| {
            format!("port {}", address.port())
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let Some(capture) =
        Capture::start(&filter, test_name)
    else {
        return;
    };
    for (name, address) in &addresses {
        let port = address.port().to_string();
        match *name {
            "tcp-client" | "udp-client" => {
                let output = support::run_with_limit(
                    Command::new(binary(name))
                        .args(["127.0.0.1", &port]),
                    DEADLINE,
                );
                assert!(
                    output.status.success(),
                    "{name}: {output:?}"
                );
            }
            _ => send_in_two_writes(*address),
        }
    }
    // Each exchange's packets, as many as the page shows for it.
    let expected = page_listings("tcpdump")
        .values()
        .map(|shown| essential_packets(shown).len())
        .sum();
    let lines = capture.finish(expected);
    let mut listings = BTreeMap::new();
    for (name, address) in addresses {
        let packets: Vec<String> = lines
            .iter()
            .filter_map(|line| {
                packet(line, address.port())
            })
            .collect();
        listings.insert(name, packets);
    }
    compare_with_page("tcpdump", &listings);
}

// --- Running the programs ---------------------------------------------

/// Whether `name` runs. Where it does not, the test says it
/// skipped, in the default `cargo test` output, or fails under
/// `CI=true`.
fn tool_found(
    name: &str,
    version_flag: &str,
    test_name: &str,
) -> bool {
    let found = Command::new(name)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    found || skip(test_name, &format!("{name} not found"))
}

/// Says that a test skipped, where the harness does not hide it,
/// and returns `false`; under `CI=true` it fails the test instead.
fn skip(test_name: &str, reason: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test_name}: required under CI=true: {reason}"
        );
    }
    support::skipped(test_name, reason);
    false
}

/// The real `python3` program, not a wrapper script such as
/// pyenv's, whose own system calls would fill the trace. A server
/// needs `-u`, so that each line it prints reaches the test at once.
fn python_executable(test_name: &str) -> Option<PathBuf> {
    let mut python = support::python3(test_name)?;
    let output = support::run_with_limit(
        python.args([
            "-c",
            "import sys; print(sys.executable)",
        ]),
        DEADLINE,
    );
    Some(PathBuf::from(text(&output.stdout).trim()))
}

fn python_script(name: &str) -> String {
    support::python_script(name).display().to_string()
}

/// A program's binary, from target/debug, built by
/// `cargo test --workspace`.
fn binary(name: &str) -> PathBuf {
    let program = target_folder().join(format!(
        "{name}{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        program.exists(),
        "{} is missing; run cargo test --workspace",
        program.display()
    );
    program
}

fn example(name: &str) -> PathBuf {
    binary(&format!("examples/{name}"))
}

/// target/debug, with every program freshly built.
fn target_folder() -> PathBuf {
    support::fresh_workspace_binaries()
}

fn start(program: &Path, arguments: &[&str]) -> Running {
    Running::start(Command::new(program).args(arguments))
}

/// A new file in the test's scratch folder.
fn scratch_file(name: &str) -> PathBuf {
    let folder =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    folder.join(format!(
        "{name}-{}.txt",
        std::process::id()
    ))
}

/// The `strace` command the page gives, writing to `output`.
fn strace_command(output: &Path) -> Command {
    let mut command = Command::new("strace");
    command
        .args(["-f", "-yy", "-e"])
        .arg(format!("trace={TRACED_CALLS}"))
        .arg("-o")
        .arg(output);
    command
}

/// Runs a client under `strace` and returns its listing, or
/// `None` (after saying so) where tracing is not permitted.
fn strace(
    program: &Path,
    arguments: &[&str],
    test_name: &str,
) -> Option<Vec<String>> {
    let trace_file = scratch_file(&format!(
        "strace-{}",
        program
            .file_name()
            .expect("a file name")
            .to_string_lossy()
    ));
    let output = support::run_with_limit(
        strace_command(&trace_file)
            .arg(program)
            .args(arguments),
        DEADLINE,
    );
    let stderr = text(&output.stderr);
    if !output.status.success()
        && stderr.starts_with("strace:")
    {
        skip(
            test_name,
            &format!("strace failed: {}", stderr.trim()),
        );
        return None;
    }
    assert!(
        output.status.success(),
        "{program:?}: {stderr}"
    );
    let raw = std::fs::read_to_string(&trace_file)
        .expect("a trace");
    let _ = std::fs::remove_file(&trace_file);
    Some(listing(&raw))
}

/// Runs a server under `strace`, sends it two clients one after
/// the other, stops it, and returns its listing.
fn strace_server(
    program: &Path,
    arguments: &[&str],
) -> Vec<String> {
    let trace_file = scratch_file(&format!(
        "strace-server-{}",
        program
            .file_name()
            .expect("a file name")
            .to_string_lossy()
    ));
    let strace = Running::start(
        strace_command(&trace_file)
            .arg(program)
            .args(arguments),
    );
    let address =
        Running::address_from(&strace.next_line());
    for _ in 0..2 {
        let (client, reply) =
            support::exchange_from(address, REQUEST);
        reply.expect("the reply should end cleanly");
        let _ = strace.next_lines(2); // "Accepted ..." and "Received ..."
        // Wait until the server's thread has closed this client's
        // socket, as the trace shows (strace writes each call as it
        // happens), so that a crew can give the next client the same
        // thread; then a moment for the thread to wait again.
        let started = Instant::now();
        while !closed_in_trace(
            &std::fs::read_to_string(&trace_file)
                .unwrap_or_default(),
            client,
        ) {
            assert!(
                started.elapsed() < DEADLINE,
                "the server never closed {client}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        thread::sleep(SETTLE_TIME);
    }
    listing(&stop_traced_server(strace, &trace_file))
}

/// Whether `trace` (strace -f's lines, each after its thread's id) shows
/// a finished `close` of the server's socket to `client`. On a busy
/// machine strace may split the call in two lines, `close(...
/// <unfinished ...>` and later `<... close resumed>) = 0`, when another
/// thread's call comes between.
fn closed_in_trace(
    trace: &str,
    client: SocketAddr,
) -> bool {
    let to_client = format!("->{client}]>");
    let lines: Vec<&str> = trace.lines().collect();
    lines.iter().enumerate().any(|(index, line)| {
        if !(line.contains("close(")
            && line.contains(&to_client))
        {
            return false;
        }
        if line.ends_with(") = 0") {
            return true;
        }
        let thread = line
            .split_whitespace()
            .next()
            .unwrap_or_default();
        line.contains("<unfinished ...>")
            && lines[index + 1..].iter().any(|later| {
                later.starts_with(thread)
                    && later
                        .contains("<... close resumed>")
                    && later.ends_with(") = 0")
            })
    })
}

/// Sends the request in two writes, the second after the reply
/// came, and reads until the server closes or resets the
/// connection.
fn send_in_two_writes(address: SocketAddr) {
    let mut stream =
        TcpStream::connect_timeout(&address, DEADLINE)
            .expect("the server should accept");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    stream
        .write_all(REQUEST_FIRST_PART)
        .expect("the first part");
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).expect("ACK!");
    // Wait for the server's FIN, the end of what it sends: then the
    // Python server has closed its socket, and answers the rest with
    // a reset, while tcp-server has only shut down its sending side,
    // and takes the rest.
    let mut end = [0u8; 1];
    assert_eq!(
        stream.read(&mut end).ok(),
        Some(0),
        "the server should end its side after ACK!"
    );
    let _ = stream.write_all(REQUEST_SECOND_PART);
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    drop(stream);
}

/// `tcpdump` capturing on loopback, printing one line a packet.
struct Capture {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Capture {
    /// Starts capturing, and waits until `tcpdump` says it listens.
    fn start(
        filter: &str,
        test_name: &str,
    ) -> Option<Capture> {
        let mut child = Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-t", "-l", filter])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump should start");
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let stdout_sender = sender.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if stdout_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = BufReader::new(
            child.stderr.take().expect("piped"),
        );
        let mut said = String::new();
        loop {
            let mut line = String::new();
            let read =
                stderr.read_line(&mut line).unwrap_or(0);
            said.push_str(&line);
            if read == 0 {
                let _ = child.kill();
                let _ = child.wait();
                skip(
                    test_name,
                    &format!(
                        "tcpdump cannot capture: {}",
                        said.trim()
                    ),
                );
                return None;
            }
            if line.starts_with("listening on") {
                break;
            }
        }
        Some(Capture { child, lines })
    }

    /// The packets seen: at least `expected` that are more than a
    /// bare acknowledgement, if they come within [`DEADLINE`], then
    /// any more until none has come for [`QUIET_TIME`]. Stops
    /// `tcpdump`.
    fn finish(self, expected: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let mut essential = 0;
        while essential < expected {
            let Ok(line) =
                self.lines.recv_timeout(DEADLINE)
            else {
                break;
            };
            // A bare acknowledgement comes and goes with timing.
            if !(line.contains("Flags [.],")
                && line.ends_with("length 0"))
            {
                essential += 1;
            }
            lines.push(line);
        }
        let started = Instant::now();
        while let Ok(line) =
            self.lines.recv_timeout(QUIET_TIME)
        {
            lines.push(line);
            assert!(
                started.elapsed() < DEADLINE,
                "packets never stop"
            );
        }
        lines
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- Comparing with the page ------------------------------------------

/// The page's listings of one kind (`strace` or `tcpdump`), by name.
///
/// A listing is shown in fenced blocks, ```` ```text strace=NAME ````,
/// or in the two columns of a table that follows a comment
/// `<!-- strace: LEFT | RIGHT -->`, one call a row, each in
/// backticks (a `|` in a call is written `\|`). Blank lines and
/// empty cells are skipped: they line the two sides up.
fn page_listings(
    kind: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut listings = BTreeMap::new();
    for page in PAGES {
        read_listings(page, kind, &mut listings);
    }
    listings
}

/// Adds the listings of one page to `listings`.
fn read_listings(
    page_name: &str,
    kind: &str,
    listings: &mut BTreeMap<String, Vec<String>>,
) {
    let page = std::fs::read_to_string(
        workspace_root().join(page_name),
    )
    .unwrap_or_else(|error| {
        panic!("{page_name}: {error}")
    });
    let block_prefix = format!("{kind}=");
    let table_prefix = format!("<!-- {kind}: ");
    let mut block: Option<String> = None;
    let mut table: Option<(String, String)> = None;
    for line in page.lines() {
        let trimmed = line.trim();
        if let Some(name) = &block {
            if trimmed.starts_with("```") {
                block = None;
            } else if !name.is_empty()
                && !trimmed.is_empty()
            {
                listings
                    .entry(name.clone())
                    .or_default()
                    .push(trimmed.to_string());
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let name = info
                .split_whitespace()
                .find_map(|word| {
                    word.strip_prefix(&block_prefix)
                })
                .unwrap_or("");
            if !name.is_empty() {
                listings
                    .entry(name.to_string())
                    .or_default();
            }
            // Every block is followed to its end, so that a
            // closing fence is never taken for an opening one.
            block = Some(name.to_string());
            continue;
        }
        if let Some(names) = trimmed
            .strip_prefix(&table_prefix)
            .and_then(|rest| rest.strip_suffix("-->"))
        {
            let (left, right) = names
                .split_once('|')
                .unwrap_or_else(|| {
                    panic!(
                        "{page_name}: {trimmed}: LEFT | RIGHT"
                    )
                });
            let (left, right) =
                (left.trim(), right.trim());
            listings.entry(left.to_string()).or_default();
            listings
                .entry(right.to_string())
                .or_default();
            table = Some((
                left.to_string(),
                right.to_string(),
            ));
            continue;
        }
        let Some((left, right)) = &table else {
            continue;
        };
        if !trimmed.starts_with('|') {
            if !trimmed.is_empty() {
                table = None; // The table has ended.
            }
            continue;
        }
        let cells = table_cells(trimmed);
        if cells.len() != 2 {
            panic!(
                "{page_name}: a row of the {left} | {right} table: {trimmed}"
            );
        }
        if cells
            .iter()
            .all(|cell| cell.starts_with("---"))
        {
            continue; // The line under the heading.
        }
        for (name, cell) in
            [(left, &cells[0]), (right, &cells[1])]
        {
            if let Some(call) = cell
                .strip_prefix('`')
                .and_then(|cell| cell.strip_suffix('`'))
            {
                listings
                    .entry(name.clone())
                    .or_default()
                    .push(call.to_string());
            }
        }
    }
}

/// The cells of a Markdown table row, with `\|` read as `|`.
fn table_cells(row: &str) -> Vec<String> {
    let row = row
        .trim()
        .trim_start_matches('|')
        .trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut characters = row.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' if characters.peek() == Some(&'|') => {
                cells
                    .last_mut()
                    .expect("a cell")
                    .push('|');
                characters.next();
            }
            '|' => cells.push(String::new()),
            _ => cells
                .last_mut()
                .expect("a cell")
                .push(character),
        }
    }
    cells
        .iter()
        .map(|cell| cell.trim().to_string())
        .collect()
}

/// Pairs of listings that the page shows side by side, in tables.
const PAIRS: &[(&str, &str)] = &[
    ("tcp_client.py", "tcp-client"),
    ("udp_client.py", "udp-client"),
    ("tcp_server.py", "tcp-server"),
    ("tcp_server.py-two-writes", "tcp-server-two-writes"),
];

fn compare_with_page(
    kind: &str,
    listings: &BTreeMap<&str, Vec<String>>,
) {
    if std::env::var_os("UNDER_THE_HOOD_PRINT").is_some()
    {
        print_listings(kind, listings);
    }
    let page = page_listings(kind);
    let names: Vec<&str> =
        page.keys().map(String::as_str).collect();
    let wanted: Vec<&str> =
        listings.keys().copied().collect();
    assert_eq!(
        names, wanted,
        "{PAGE}: the page's {kind} listings should be these"
    );
    for (name, lines) in listings {
        let shown = &page[*name];
        let (shown, lines) = if kind == "tcpdump" {
            (
                essential_packets(shown),
                essential_packets(lines),
            )
        } else {
            (shown.clone(), lines.clone())
        };
        assert!(
            shown == lines,
            "{PAGE}: the {kind} listing {name} differs from a real run \
             (UNDER_THE_HOOD_PRINT=1 prints fresh listings; see \
             common/tests/under_the_hood.rs).\npage:\n{}\n\nreal run:\n{}",
            shown.join("\n"),
            lines.join("\n")
        );
    }
}

/// Prints the listings as the page shows them: a pair as a table,
/// its rows lined up where the two sides make the same call, and
/// any other listing as a block.
fn print_listings(
    kind: &str,
    listings: &BTreeMap<&str, Vec<String>>,
) {
    let mut printed = Vec::new();
    for (left, right) in PAIRS {
        let (Some(left_lines), Some(right_lines)) =
            (listings.get(left), listings.get(right))
        else {
            continue;
        };
        println!("<!-- {kind}: {left} | {right} -->\n");
        let heading = |name: &str| match name
            .strip_suffix("-two-writes")
        {
            Some(server) => format!("to {server}"),
            None => name.to_string(),
        };
        println!(
            "| {} | {} |\n|---|---|",
            heading(left),
            heading(right)
        );
        let cell = |line: Option<&String>| {
            line.map_or(String::new(), |line| {
                format!("`{}`", line.replace('|', "\\|"))
            })
        };
        for (left_line, right_line) in
            line_up(left_lines, right_lines)
        {
            println!(
                "| {} | {} |",
                cell(left_line),
                cell(right_line)
            );
        }
        println!();
        printed.extend([*left, *right]);
    }
    for (name, lines) in listings {
        if !printed.contains(name) {
            println!(
                "```text {kind}={name}\n{}\n```\n",
                lines.join("\n")
            );
        }
    }
}

/// Two listings side by side, with the calls of the same name (the
/// longest run of them in order) on the same row.
fn line_up<'a>(
    left: &'a [String],
    right: &'a [String],
) -> Vec<(Option<&'a String>, Option<&'a String>)> {
    let key = |line: &String| {
        line.split('(').next().unwrap_or("").to_string()
    };
    // common[i][j]: the longest common run of left[i..] and right[j..].
    let mut common = vec![
        vec![0usize; right.len() + 1];
        left.len() + 1
    ];
    for i in (0..left.len()).rev() {
        for j in (0..right.len()).rev() {
            common[i][j] =
                if key(&left[i]) == key(&right[j]) {
                    common[i + 1][j + 1] + 1
                } else {
                    common[i + 1][j].max(common[i][j + 1])
                };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut rows = Vec::new();
    while i < left.len() || j < right.len() {
        if i < left.len()
            && j < right.len()
            && key(&left[i]) == key(&right[j])
        {
            rows.push((Some(&left[i]), Some(&right[j])));
            (i, j) = (i + 1, j + 1);
        } else if j == right.len()
            || (i < left.len()
                && common[i + 1][j] >= common[i][j + 1])
        {
            rows.push((Some(&left[i]), None));
            i += 1;
        } else {
            rows.push((None, Some(&right[j])));
            j += 1;
        }
    }
    rows
}

/// Packets without the bare acknowledgements (`Flags [.]` with no
/// data), which come and go with timing, and with the closing
/// FINs in a fixed order: which side closes first is a race.
fn essential_packets(packets: &[String]) -> Vec<String> {
    let mut essential: Vec<String> = packets
        .iter()
        .filter(|packet| {
            !packet.ends_with("Flags [.], length 0")
        })
        .cloned()
        .collect();
    let fins = essential
        .iter()
        .rposition(|packet| !packet.contains("[F.]"))
        .map_or(0, |last| last + 1);
    essential[fins..].sort();
    essential
}

// --- Shortening what strace prints ------------------------------------

/// One system call: the thread that made it, and its line.
struct Call {
    thread: String,
    line: String,
}

/// The calls of a `strace -f` log in the order they finished, with
/// each call that another thread interrupted put back together.
fn finished_calls(raw: &str) -> Vec<Call> {
    let mut unfinished: HashMap<String, String> =
        HashMap::new();
    let mut calls = Vec::new();
    for raw_line in raw.lines() {
        let (thread, line) = raw_line
            .split_once(' ')
            .map(|(thread, line)| {
                (thread.to_string(), line.trim())
            })
            .unwrap_or_else(|| {
                panic!("an strace -f line: {raw_line}")
            });
        if line.starts_with("+++")
            || line.starts_with("---")
        {
            continue;
        }
        if let Some(start) =
            line.strip_suffix("<unfinished ...>")
        {
            unfinished.insert(
                thread,
                start.trim_end().to_string(),
            );
            continue;
        }
        let line = match line.strip_prefix("<... ") {
            Some(resumed) => {
                let rest = resumed
                    .split_once("resumed>")
                    .map_or(resumed, |(_, rest)| rest);
                let start = unfinished
                    .remove(&thread)
                    .unwrap_or_default();
                format!("{start} {}", rest.trim_start())
            }
            None => line.to_string(),
        };
        calls.push(Call { thread, line });
    }
    calls
}

/// A trace as the page shows it: the first thread's calls, then
/// each further thread's, under `# thread N`, in the order the
/// threads were started. Only calls on sockets and the calls that
/// start threads are kept.
fn listing(raw: &str) -> Vec<String> {
    let calls = finished_calls(raw);
    let main_thread = calls
        .first()
        .map(|call| call.thread.clone())
        .unwrap_or_default();
    let mut sockets = Sockets::default();
    let mut threads: Vec<String> = Vec::new();
    let mut by_thread: HashMap<String, Vec<String>> =
        HashMap::new();
    for call in &calls {
        let is_thread_start =
            call.line.starts_with("clone");
        if call.line.ends_with("= ?") {
            continue; // The process was killed during this call.
        }
        if is_thread_start {
            let started = call
                .line
                .rsplit("= ")
                .next()
                .unwrap_or("");
            threads.push(started.to_string());
            by_thread
                .entry(call.thread.clone())
                .or_default()
                .push(shorten_thread_start(&call.line));
            continue;
        }
        if !call.line.contains("<TCP")
            && !call.line.contains("<UDP")
        {
            continue;
        }
        let line = shorten(&sockets.renumber(&call.line));
        by_thread
            .entry(call.thread.clone())
            .or_default()
            .push(line);
    }
    let mut listing = by_thread
        .remove(&main_thread)
        .unwrap_or_default();
    let mut number = 0;
    for thread in threads {
        if let Some(lines) = by_thread.remove(&thread) {
            number += 1;
            listing.push(format!("# thread {number}"));
            listing.extend(lines);
        }
    }
    assert!(
        by_thread.is_empty(),
        "a thread that nothing started"
    );
    listing
}

/// Numbers sockets from 3 in the order they were made, whatever
/// numbers the kernel gave them, and drops strace's `-yy` notes
/// (`3<TCP:[127.0.0.1:40000->127.0.0.1:9999]>` becomes `3`).
#[derive(Default)]
struct Sockets {
    numbers: HashMap<String, usize>,
    made: usize,
}

impl Sockets {
    fn renumber(&mut self, line: &str) -> String {
        let name = line.split('(').next().unwrap_or("");
        let makes_socket = matches!(
            name,
            "socket" | "accept" | "accept4"
        );
        let result_at =
            line.rfind(" = ").unwrap_or(line.len());
        let mut out = String::new();
        let mut rest = line;
        while let Some(note) = rest.find('<') {
            let (before, after) = rest.split_at(note);
            let kind_ok =
                ["<TCP", "<UDP", "<UNIX", "<NETLINK"]
                    .iter()
                    .any(|kind| after.starts_with(kind));
            let Some(end) =
                after.find("]>").filter(|_| kind_ok)
            else {
                out.push_str(before);
                out.push('<');
                rest = &after[1..];
                continue;
            };
            let digits = before.len()
                - before
                    .trim_end_matches(|c: char| {
                        c.is_ascii_digit()
                    })
                    .len();
            let (before, fd) =
                before.split_at(before.len() - digits);
            let position = line.len() - rest.len() + note;
            let is_result = position > result_at;
            let known = self.numbers.get(fd).copied();
            let number = match known {
                Some(number)
                    if !(is_result && makes_socket) =>
                {
                    number
                }
                _ => {
                    self.made += 1;
                    self.numbers.insert(
                        fd.to_string(),
                        self.made + 2,
                    );
                    self.made + 2
                }
            };
            out.push_str(before);
            out.push_str(&number.to_string());
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        if name == "close" {
            let fd = line["close(".len()..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("");
            self.numbers.remove(fd);
        }
        out
    }
}

/// `clone3({flags=..., child_tid=0x7f..., ...}, 88) = 6022` as
/// `clone3(...) = TID`: the new thread's id changes every run.
fn shorten_thread_start(line: &str) -> String {
    let name = line.split('(').next().unwrap_or("clone");
    format!("{name}(...) = TID")
}

/// Shortens one call so that it fits half a page: socket
/// addresses as `{127.0.0.1:PORT}`, timeouts in seconds, long
/// strings cut to their start, and no explanation after the result.
fn shorten(line: &str) -> String {
    let mut line = line
        .replace("IPPROTO_IP", "0")
        .replace("SO_RCVTIMEO_OLD", "SO_RCVTIMEO")
        .replace("SO_SNDTIMEO_OLD", "SO_SNDTIMEO");
    // "= -1 EINPROGRESS (Operation now in progress)" and
    // "= 1 ([{fd=3, revents=POLLOUT}])" end at the result.
    if let Some(result_at) = line.rfind(" = ") {
        if let Some(note) = line[result_at..].find(" (") {
            line.truncate(result_at + note);
        }
    }
    // strace pads short calls: "close(3)     = 0".
    if let Some(result_at) = line.rfind(" = ") {
        let (call, result) = line.split_at(result_at);
        line = format!("{}{result}", call.trim_end());
    }
    if line.starts_with("poll(") {
        line = round_poll_timeout(&line);
    }
    let line = drop_sizes(&shorten_addresses(&line));
    let is_timeout = line.starts_with("setsockopt")
        && line.contains("TIMEO");
    shorten_strings(&line, is_timeout)
}

/// Leaves out the sizes that follow an address or an option's
/// value, which say how many bytes the kernel may read or write
/// there: `connect(3, {...}, 16)` becomes `connect(3, {...})`.
fn drop_sizes(line: &str) -> String {
    let Some((call, result)) = line.rsplit_once(") = ")
    else {
        return line.to_string();
    };
    let Some((name, arguments)) = call.split_once('(')
    else {
        return line.to_string();
    };
    let mut arguments = split_arguments(arguments);
    let size_at = match name {
        "bind" | "connect" | "sendto" | "recvfrom"
        | "getsockname" | "getpeername"
        | "setsockopt" | "getsockopt" => {
            arguments.len().checked_sub(1)
        }
        "accept" | "accept4" => Some(2),
        _ => None,
    };
    match size_at {
        Some(index) if index < arguments.len() => {
            arguments.remove(index);
            format!(
                "{name}({}) = {result}",
                arguments.join(", ")
            )
        }
        _ => line.to_string(),
    }
}

/// The arguments of a call, split at the commas that are not inside
/// brackets, braces or a string.
fn split_arguments(arguments: &str) -> Vec<String> {
    let mut split = vec![String::new()];
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for character in arguments.chars() {
        let current =
            split.last_mut().expect("an argument");
        match character {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' | '[' | '(' if !in_string => depth += 1,
            '}' | ']' | ')' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                split.push(String::new());
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    split
        .iter()
        .map(|argument| argument.trim().to_string())
        .collect()
}

/// `poll(..., 4937)`: the time left before `-w`'s deadline, in
/// milliseconds. How much of it went before `poll` depends on the
/// machine (and on strace), never a whole second: so it is rounded up to
/// the second, the `-w` it came from.
fn round_poll_timeout(line: &str) -> String {
    let Some((call, result)) = line.rsplit_once(") = ")
    else {
        return line.to_string();
    };
    let Some((arguments, timeout)) =
        call.rsplit_once(", ")
    else {
        return line.to_string();
    };
    match timeout.parse::<u64>() {
        Ok(milliseconds) => {
            let rounded =
                milliseconds.div_ceil(1000) * 1000;
            format!("{arguments}, {rounded}) = {result}")
        }
        Err(_) => line.to_string(),
    }
}

/// `{sa_family=AF_INET, sin_port=htons(40000),
/// sin_addr=inet_addr("127.0.0.1")}` as `{127.0.0.1:PORT}`.
fn shorten_addresses(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) =
        rest.find("{sa_family=AF_INET")
    {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after
            .find('}')
            .map_or(after.len(), |end| end + 1);
        let address =
            after[..end].split('"').nth(1).unwrap_or("?");
        if after.starts_with("{sa_family=AF_INET6") {
            out.push_str(&format!(
                "{{[{address}]:PORT}}"
            ));
        } else {
            out.push_str(&format!("{{{address}:PORT}}"));
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Strings longer than [`STRING_START`] characters are cut, and a
/// timeout (a `struct timeval`: seconds, then microseconds) is
/// shown in seconds, or as `{...}` when it is time left over,
/// which changes from run to run.
fn shorten_strings(
    line: &str,
    is_timeout: bool,
) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let mut bytes = Vec::new();
        let mut shown = String::new();
        let mut characters =
            after.char_indices().peekable();
        let mut end = after.len();
        while let Some((index, character)) =
            characters.next()
        {
            if character == '"' {
                end = index + 1;
                break;
            }
            let mut escape = String::from(character);
            let byte = if character == '\\' {
                let mut octal = String::new();
                while let Some(&(_, digit)) =
                    characters.peek()
                {
                    if octal.len() == 3
                        || !digit.is_digit(8)
                    {
                        break;
                    }
                    octal.push(digit);
                    characters.next();
                }
                if octal.is_empty() {
                    let (_, letter) = characters
                        .next()
                        .expect("an escaped character");
                    escape.push(letter);
                    match letter {
                        'n' => b'\n',
                        'r' => b'\r',
                        't' => b'\t',
                        other => other as u8,
                    }
                } else {
                    escape.push_str(&octal);
                    u8::from_str_radix(&octal, 8)
                        .unwrap_or(0)
                }
            } else {
                character as u8
            };
            bytes.push(byte);
            if bytes.len() <= STRING_START {
                shown.push_str(&escape);
            }
        }
        let mut rest_after = &after[end..];
        let cut_by_strace = rest_after.starts_with("...");
        if cut_by_strace {
            rest_after = &rest_after[3..];
        }
        if is_timeout && bytes.len() == 16 {
            out.push_str(&timeval(&bytes));
        } else if bytes.len() > STRING_START
            || cut_by_strace
        {
            out.push_str(&format!("\"{shown}\"..."));
        } else {
            out.push_str(&format!("\"{shown}\""));
        }
        rest = rest_after;
    }
    out.push_str(rest);
    out
}

/// How many characters of a string the listings keep.
const STRING_START: usize = 10;

fn timeval(bytes: &[u8]) -> String {
    let number = |range: std::ops::Range<usize>| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[range]);
        u64::from_le_bytes(word)
    };
    let (seconds, microseconds) =
        (number(0..8), number(8..16));
    match (seconds, microseconds) {
        (0, 0) => "{0 s: none}".to_string(),
        (seconds, 0) => format!("{{{seconds} s}}"),
        (seconds, microseconds)
            if microseconds % 100_000 == 0 =>
        {
            format!(
                "{{{seconds}.{} s}}",
                microseconds / 100_000
            )
        }
        _ => "{...}".to_string(),
    }
}

/// One line of `tcpdump -n -t` as the page shows it: `client >
/// server:`, then the flags and length, or `UDP` and the length.
/// `None` for packets of another exchange.
fn packet(
    line: &str,
    server_port: u16,
) -> Option<String> {
    let rest = line.strip_prefix("IP ")?;
    let (source, rest) = rest.split_once(" > ")?;
    let (destination, rest) = rest.split_once(": ")?;
    let port = |address: &str| -> Option<u16> {
        address.rsplit('.').next()?.parse().ok()
    };
    let (source_port, destination_port) =
        (port(source)?, port(destination)?);
    let direction = if destination_port == server_port {
        "client > server"
    } else if source_port == server_port {
        "server > client"
    } else {
        return None;
    };
    let length = rest.rsplit("length ").next()?;
    let length: String = length
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let what = if let Some(flags) =
        rest.strip_prefix("Flags [")
    {
        let flags = flags.split(']').next()?;
        format!("Flags [{flags}]")
    } else {
        rest.split(',').next()?.to_string()
    };
    Some(format!("{direction}: {what}, length {length}"))
}

// --- Threads or epoll: the async twins ----------------------------------

/// The calls that tell a thread per client from one event loop for all.
const THREAD_OR_EPOLL_CALLS: &str =
    "accept4,clone,clone3,epoll_ctl,epoll_wait";

/// How many clients the comparison holds open at once.
const CONCURRENT_CLIENTS: usize = 3;

/// The threaded and the asynchronous servers, each under `strace` with
/// three clients connected at once, add up as the page's "Threads or
/// epoll" tables say: a thread per client (`clone3`) against none, and
/// each client's socket handed to `epoll`.
#[test]
fn threads_or_epoll_match_the_page() {
    let test_name = "threads_or_epoll_match_the_page";
    if !tool_found("strace", "-V", test_name) {
        return;
    }
    let Some(python) = python_executable(test_name)
    else {
        return;
    };
    let mut listings = BTreeMap::new();
    for (name, program, arguments) in [
        (
            "tcp_server.py",
            python.clone(),
            vec!["-u", "tcp_server.py"],
        ),
        (
            "tcp_server_async.py",
            python,
            vec!["-u", "tcp_server_async.py"],
        ),
        ("tcp-server", binary("tcp-server"), vec![]),
        ("async-server", example("async-server"), vec![]),
    ] {
        let mut arguments: Vec<String> = arguments
            .into_iter()
            .map(|word| match word.ends_with(".py") {
                true => python_script(word),
                false => word.to_string(),
            })
            .collect();
        arguments.extend([
            "127.0.0.1".to_string(),
            "0".to_string(),
        ]);
        let Some(raw) = strace_concurrent_clients(
            &program, &arguments, test_name,
        ) else {
            return;
        };
        listings.insert(name, threads_or_epoll(&raw));
    }
    compare_with_page("threads", &listings);
}

/// Runs a server under `strace`, holds [`CONCURRENT_CLIENTS`] clients
/// connected at once, silent until the server has printed that it
/// accepted each, then lets each send the request and read `ACK!`. Stops
/// the server and returns the raw trace.
fn strace_concurrent_clients(
    program: &Path,
    arguments: &[String],
    test_name: &str,
) -> Option<String> {
    let trace_file = scratch_file(&format!(
        "threads-{}",
        program
            .file_name()
            .expect("a file name")
            .to_string_lossy()
    ));
    let mut strace = Command::new("strace");
    strace
        .args(["-f", "-yy", "-e"])
        .arg(format!("trace={THREAD_OR_EPOLL_CALLS}"))
        .arg("-o")
        .arg(&trace_file)
        .arg(program)
        .args(arguments);
    let strace = Running::start(&mut strace);
    let Some(first_line) = strace.line_within(DEADLINE)
    else {
        skip(test_name, "strace started no server");
        return None;
    };
    let address = Running::address_from(&first_line);
    let mut clients: Vec<TcpStream> = (0
        ..CONCURRENT_CLIENTS)
        .map(|_| {
            TcpStream::connect_timeout(&address, DEADLINE)
                .expect("the server should accept")
        })
        .collect();
    // Every client is accepted, and waits, before any is served.
    let accepted = (0..CONCURRENT_CLIENTS)
        .filter(|_| {
            strace.next_line().starts_with("[*] Accepted")
        })
        .count();
    assert_eq!(
        accepted,
        CONCURRENT_CLIENTS,
        "{}",
        program.display()
    );
    for client in &mut clients {
        client
            .set_read_timeout(Some(DEADLINE))
            .expect("timeout should set");
        client
            .write_all(REQUEST)
            .expect("the request should send");
        let mut reply = Vec::new();
        let _ = client.read_to_end(&mut reply);
        assert_eq!(
            reply,
            b"ACK!",
            "{}",
            program.display()
        );
    }
    drop(clients);
    thread::sleep(SETTLE_TIME);
    Some(stop_traced_server(strace, &trace_file))
}

/// What a trace of [`strace_concurrent_clients`] adds up to, one line
/// for each row of the page's table.
fn threads_or_epoll(raw: &str) -> Vec<String> {
    let calls = finished_calls(raw);
    let is_client_accept = |line: &str| {
        // Not a failure, nor the accept the kill interrupted (`= ?`).
        line.starts_with("accept4(")
            && !line.contains("= -1")
            && !line.ends_with("= ?")
    };
    let first_accept = calls
        .iter()
        .position(|call| is_client_accept(&call.line))
        .unwrap_or(calls.len());
    let accepted = calls
        .iter()
        .filter(|call| is_client_accept(&call.line))
        .count();
    let threads_started = calls[first_accept..]
        .iter()
        .filter(|call| call.line.starts_with("clone"))
        .filter(|call| !call.line.ends_with("= ?"))
        .count();
    // A connected socket reads `5<TCP:[127.0.0.1:PORT->127.0.0.1:PORT]>`
    // under -yy; the listening one has no `->`, and asyncio's wake-up
    // pipe is a UNIX socket.
    let mut watched: Vec<&str> = calls
        .iter()
        .filter(|call| {
            call.line.starts_with("epoll_ctl(")
        })
        .filter(|call| {
            call.line.contains("EPOLL_CTL_ADD")
        })
        .filter_map(|call| call.line.split(", ").nth(2))
        .filter(|socket| {
            socket.contains("<TCP:[")
                && socket.contains("->")
        })
        .collect();
    watched.sort();
    watched.dedup();
    let waits = calls
        .iter()
        .any(|call| call.line.starts_with("epoll_wait("));
    vec![
        format!("clients accepted: {accepted}"),
        format!(
            "threads started for them: {threads_started}"
        ),
        format!(
            "client sockets added to epoll: {}",
            watched.len()
        ),
        format!(
            "waits in epoll_wait: {}",
            if waits { "yes" } else { "no" }
        ),
    ]
}

/// Stops a server that runs under `strace`, and returns the trace.
/// Killing strace would let the server run on, so this kills the server,
/// strace's child, and lets strace finish on its own.
fn stop_traced_server(
    strace: Running,
    trace_file: &Path,
) -> String {
    let children = format!(
        "/proc/{0}/task/{0}/children",
        strace.id()
    );
    let server_id = std::fs::read_to_string(&children)
        .unwrap_or_else(|error| {
            panic!("{children}: {error}")
        });
    let server_id = server_id.trim();
    let killed = Command::new("kill")
        .args(["-KILL", server_id])
        .status()
        .expect("kill should run");
    assert!(
        killed.success(),
        "could not stop the server {server_id}"
    );
    let started = Instant::now();
    let mut strace = strace;
    while strace.is_running() {
        assert!(
            started.elapsed() < DEADLINE,
            "strace did not stop"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let raw = std::fs::read_to_string(trace_file)
        .expect("a trace");
    let _ = std::fs::remove_file(trace_file);
    raw
}
