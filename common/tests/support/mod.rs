//! Helpers shared by the integration tests of every package.
//!
//! Each package's tests include this file with
//! `#[path = "../../common/tests/support/mod.rs"] mod support;`, because
//! test code cannot be shared through the `common` library without shipping
//! it in the programs. Every wait here has a deadline.
#![allow(dead_code)] // Each test file uses only some of these helpers.

pub mod exercises;

use std::io::{
    BufRead as _, BufReader, Read as _, Write as _,
};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Long enough for a slow, busy CI machine; no test should come near it.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("a package folder should sit in the workspace")
        .to_path_buf()
}

/// A path under `docs/python/`.
pub fn python_script(name: &str) -> PathBuf {
    workspace_root().join("docs/python").join(name)
}

/// Builds every program and example of the workspace, once per test
/// binary, with the cargo that runs the tests, and returns the target
/// folder that holds them (target/debug). `cargo test -p common` alone
/// would otherwise run whatever binaries an earlier build left there, and
/// a stale one could hide a regression or show a confusing diff.
#[allow(dead_code)] // not every test binary that includes this uses it
pub fn fresh_workspace_binaries() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> =
        std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target_folder = std::env::current_exe()
                .expect("the test should know its path")
                .parent()
                .and_then(std::path::Path::parent)
                .expect("the test should sit in target/*/deps")
                .to_path_buf();
            let cargo = std::env::var_os("CARGO")
                .unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            build
                .current_dir(workspace_root())
                .args([
                    "build",
                    "--quiet",
                    "--workspace",
                    "--bins",
                    "--examples",
                ]);
            if target_folder.ends_with("release") {
                build.arg("--release");
            }
            let built = build
                .status()
                .expect("cargo should run");
            assert!(
                built.success(),
                "cargo build --workspace --bins --examples failed"
            );
            target_folder
        })
        .clone()
}

/// How Python's `print` ends a line on standard output. On Windows,
/// CPython's `sys.stdout` translates `\n` to `\r\n` (`create_stdio` in
/// CPython's `Python/pylifecycle.c`; `newline=None` in `io.TextIOWrapper`'s
/// documentation); elsewhere it writes `\n`.
pub const PYTHON_LINE_END: &str =
    if cfg!(windows) { "\r\n" } else { "\n" };

/// Where the tests look for Python, in order: `python3` (Linux, macOS),
/// `python` and `py -3` (python.org's installer and launcher on Windows,
/// where `python3` may be the Microsoft Store's stand-in).
const PYTHON_CANDIDATES: [(&str, &[&str]); 3] =
    [("python3", &[]), ("python", &[]), ("py", &["-3"])];

/// Python 3.8 or newer, the first of [`PYTHON_CANDIDATES`] that runs and
/// is new enough, as a command to add the script and its arguments to. It
/// runs unbuffered (`-u`), so that the tests see each line when it is
/// printed.
///
/// Where none is found the test prints that it was skipped, except under
/// `CI=true`, where a missing Python fails the test.
pub fn python3(test_name: &str) -> Option<Command> {
    static FOUND: std::sync::OnceLock<
        Option<(&str, &[&str])>,
    > = std::sync::OnceLock::new();
    if let Some((program, prefix)) =
        *FOUND.get_or_init(find_python)
    {
        let mut command = Command::new(program);
        command.args(prefix).arg("-u");
        return Some(command);
    }
    let why = "no Python 3.8 or newer found as python3, python or py -3";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test_name}: required under CI=true: {why}"
        );
    }
    skipped(test_name, why);
    None
}

/// The first candidate that answers, within [`DEADLINE`], that it is
/// Python 3.8 or newer.
fn find_python()
-> Option<(&'static str, &'static [&'static str])> {
    PYTHON_CANDIDATES.into_iter().find(|(program, prefix)| {
        let started = Command::new(program)
            .args(*prefix)
            .args(["-c", "import sys; print(sys.version_info >= (3, 8))"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        // A missing program does not start; a Store stand-in fails.
        started.is_ok_and(|child| {
            let output = wait_with_limit(child, DEADLINE);
            output.status.success() && output.stdout.starts_with(b"True")
        })
    })
}

/// Says that a test does not run on this system, and why: for a test that
/// checks what only some systems do or allow.
pub fn not_on_this_system(test_name: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "note: {test_name}: skipped on this system: {why}"
    );
}

/// Says, where the test harness does not hide it, that a test did not run
/// here and why. The harness hides what a passing test prints with
/// `eprintln!`; a direct write to stderr is not captured, so the default
/// `cargo test` output shows the note.
pub fn skipped(test_name: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "note: {test_name}: skipped, {why}"
    );
}

/// Runs a command to the end with nothing on stdin, killing it if it takes
/// longer than `limit`.
pub fn run_with_limit(
    command: &mut Command,
    limit: Duration,
) -> Output {
    run_within(command, limit).unwrap_or_else(|| {
        panic!("the program ran longer than {limit:?}")
    })
}

/// Waits for a started child to finish, killing it after [`DEADLINE`].
pub fn wait_for_output(child: Child) -> Output {
    wait_with_limit(child, DEADLINE)
}

fn wait_with_limit(
    child: Child,
    limit: Duration,
) -> Output {
    wait_within(child, limit).unwrap_or_else(|| {
        panic!("the program ran longer than {limit:?}")
    })
}

/// Runs a command to the end with nothing on stdin, or kills it after
/// `limit` and returns `None`: for the exercises' check, which must say
/// that a program runs too long rather than panic.
pub fn run_within(
    command: &mut Command,
    limit: Duration,
) -> Option<Output> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program should start");
    wait_within(child, limit)
}

fn wait_within(
    mut child: Child,
    limit: Duration,
) -> Option<Output> {
    // Read both pipes while waiting, so a child with a lot to say never
    // blocks on a full pipe.
    let stdout =
        child.stdout.take().map(read_in_background);
    let stderr =
        child.stderr.take().map(read_in_background);
    let started = Instant::now();
    let status = loop {
        if let Some(status) =
            child.try_wait().expect("waiting should work")
        {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let collect =
        |reader: Option<thread::JoinHandle<Vec<u8>>>| {
            reader.map_or_else(Vec::new, |reader| {
                reader
                    .join()
                    .expect("the reader should finish")
            })
        };
    Some(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn read_in_background(
    mut pipe: impl std::io::Read + Send + 'static,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Output as text, for comparing lines.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec())
        .expect("the output should be UTF-8")
}

/// A long-running program (a server) whose stdout is read line by line.
/// Dropping it kills the process.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    pub fn start(command: &mut Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the program should start");
        let stdout = child
            .stdout
            .take()
            .expect("stdout should be piped");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The next line printed, waiting at most [`DEADLINE`].
    pub fn next_line(&self) -> String {
        self.lines.recv_timeout(DEADLINE).unwrap_or_else(
            |error| {
                panic!(
                    "no line within {DEADLINE:?}: {error}"
                )
            },
        )
    }

    /// The next `count` lines.
    pub fn next_lines(
        &self,
        count: usize,
    ) -> Vec<String> {
        (0..count).map(|_| self.next_line()).collect()
    }

    /// Whether a line arrives within `wait`; for checking that nothing more was printed.
    pub fn line_within(
        &self,
        wait: Duration,
    ) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Reads the `IP:PORT` at the end of a line such as
    /// `[*] Listening on 127.0.0.1:40000`.
    pub fn address_from(line: &str) -> SocketAddr {
        let address = line
            .rsplit(' ')
            .next()
            .expect("the line should have words");
        address.parse().unwrap_or_else(|_| {
            panic!("{line:?} should end with an address")
        })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("waiting should work")
            .is_none()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process that is killed when dropped, even when a test panics.
pub struct Killed(pub Child);

impl Killed {
    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.0
            .try_wait()
            .expect("waiting should work")
            .is_none()
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One exchange with a server: connect, send `request`, read until the
/// server closes, and return what it sent.
pub fn exchange(
    address: SocketAddr,
    request: &[u8],
) -> Vec<u8> {
    let (_, reply) = exchange_from(address, request);
    reply.expect("the reply should end cleanly")
}

/// Like [`exchange`], but returns the client's own address too, which the
/// server prints, and the reply as a `Result`, so that a test can say which
/// request failed and how.
pub fn exchange_from(
    address: SocketAddr,
    request: &[u8],
) -> (SocketAddr, std::io::Result<Vec<u8>>) {
    let mut stream =
        TcpStream::connect_timeout(&address, DEADLINE)
            .expect("the server should accept");
    let local_address = stream
        .local_addr()
        .expect("a connected socket has an address");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    stream
        .write_all(request)
        .expect("the request should send");
    let mut reply = Vec::new();
    let result =
        stream.read_to_end(&mut reply).map(|_| reply);
    (local_address, result)
}

/// One exchange whose request is written in two parts, `pause` apart.
pub fn split_exchange(
    address: SocketAddr,
    first: &[u8],
    second: &[u8],
    pause: Duration,
) -> std::io::Result<Vec<u8>> {
    let mut stream =
        TcpStream::connect_timeout(&address, DEADLINE)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    stream.set_nodelay(true)?; // two writes, two segments
    stream.write_all(first)?;
    if !pause.is_zero() {
        thread::sleep(pause);
    }
    stream.write_all(second)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
}

/// Runs `program` with each list of arguments and checks that it exits with
/// status 2, prints nothing on stdout, and prints exactly the error line,
/// then `usage`, then where to find more, on stderr.
pub fn assert_usage_errors(
    program: &str,
    usage: &str,
    cases: &[(Vec<&str>, String)],
) {
    for (arguments, error_line) in cases {
        let output = run_with_limit(
            Command::new(program).args(arguments),
            DEADLINE,
        );
        assert_eq!(
            output.status.code(),
            Some(2),
            "{arguments:?}"
        );
        assert_eq!(
            text(&output.stdout),
            "",
            "{arguments:?}"
        );
        assert_eq!(
            text(&output.stderr),
            format!(
                "error: {error_line}\n{usage}\nfor more, try --help\n"
            ),
            "{arguments:?}"
        );
    }
}

/// The usage error for a bad port: clients accept 1 to 65535, servers 0 too.
pub fn bad_port_cases(
    host: &'static str,
    allow_zero: bool,
) -> Vec<(Vec<&'static str>, String)> {
    let expected = if allow_zero {
        "expected a number from 0 to 65535"
    } else {
        "expected a number from 1 to 65535"
    };
    let bad_ports: &[&'static str] = if allow_zero {
        &["65536", "-1", "abc"]
    } else {
        &["0", "65536", "-1", "abc"]
    };
    bad_ports
        .iter()
        .map(|&port| {
            (
                vec![host, port],
                format!(
                    "invalid port '{port}': {expected}"
                ),
            )
        })
        .collect()
}

/// Runs `program` and checks that it fails with status 1, prints nothing on
/// stdout, and on stderr one error line that starts with `error_start`,
/// followed by exactly `help` on a line of its own if it is given.
pub fn assert_fails_with(
    program: &str,
    arguments: &[&str],
    error_start: &str,
    help: Option<&str>,
) {
    let output = run_with_limit(
        Command::new(program).args(arguments),
        DEADLINE,
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{arguments:?}"
    );
    assert_eq!(text(&output.stdout), "", "{arguments:?}");
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(error_start),
        "{stderr}"
    );
    let help_line =
        help.map(|help| format!("help: {help}"));
    assert_eq!(
        lines.get(1).copied(),
        help_line.as_deref(),
        "{stderr}"
    );
    assert_eq!(
        lines.len(),
        1 + usize::from(help.is_some()),
        "{stderr}"
    );
}

/// Checks every line of a `--help` against `expected`, and that none is
/// wider than 80 columns.
pub fn assert_help(program: &str, expected: &str) {
    let output = run_with_limit(
        Command::new(program).arg("--help"),
        DEADLINE,
    );
    assert_eq!(output.status.code(), Some(0));
    let help = text(&output.stdout);
    assert_eq!(help, expected);
    for line in help.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line}"
        );
    }
}

/// `-V` and `--version` print the program's name and the workspace's version
/// on one line, and exit with status 0.
pub fn assert_version(program: &str, name: &str) {
    for flag in ["-V", "--version"] {
        let output = run_with_limit(
            Command::new(program).arg(flag),
            DEADLINE,
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{flag}"
        );
        assert_eq!(
            text(&output.stdout),
            format!(
                "{name} {}\n",
                env!("CARGO_PKG_VERSION")
            ),
            "{flag}"
        );
        assert_eq!(text(&output.stderr), "", "{flag}");
    }
}
