//! The servers the bench compares: how to start each one as a process of
//! its own, finding Python and building the example programs first, and
//! what /proc says about a running server (Linux only).

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::options::Settings;

/// The backlog of the bench's own servers, the same as tcp-server's.
pub const BACKLOG: i32 = 1024;
/// How long a server may take to print its address.
const START_TIME_LIMIT: Duration = Duration::from_secs(10);
/// How long Python may take to say its version.
const PYTHON_CHECK_TIME_LIMIT: Duration = Duration::from_secs(10);
/// How long `cargo build --release` of an example may take: tokio's first
/// release build is slow on a small machine.
const BUILD_TIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// A program and its arguments: how to start one server.
#[derive(Clone)]
pub struct Launch {
    program: OsString,
    arguments: Vec<OsString>,
}

impl Launch {
    fn new<I, A>(program: impl Into<OsString>, arguments: I) -> Launch
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        Launch {
            program: program.into(),
            arguments: arguments.into_iter().map(Into::into).collect(),
        }
    }
}

/// tcp-server itself, with `extra` arguments before its address.
pub fn rust(extra: &[String]) -> Launch {
    let mut arguments = extra.to_vec();
    arguments.extend(["127.0.0.1".into(), "0".into()]);
    Launch::new(env!("CARGO_BIN_EXE_tcp-server"), arguments)
}

/// How to start each of `names`, in order. A server that cannot run here
/// (no Python, a file not in this checkout) is left out, with a line that
/// says why.
pub fn prepare(
    names: &[String],
    settings: &Settings,
) -> anyhow::Result<Vec<(String, Launch)>> {
    let here = std::env::current_exe()
        .context("could not find this program's path")?;
    let mut python = None;
    let mut lineup = Vec::new();
    for name in names {
        let launch = match name.as_str() {
            _ if settings.commands.contains_key(name) => {
                Some(from_command_line(name, &settings.commands[name])?)
            }
            "rust" => Some(rust(&settings.server_arguments)),
            "pool" => Some(Launch::new(&here, ["--serve-pool"])),
            "handoff" => Some(Launch::new(&here, ["--serve-handoff"])),
            "inline" | "inline-graceful" => Some(Launch::new(
                &here,
                [format!("--serve-{name}"), BACKLOG.to_string()],
            )),
            // The inline server with the script's `listen(5)`, to show
            // what a short backlog costs.
            "inline-backlog-5" => {
                Some(Launch::new(&here, ["--serve-inline", "5"]))
            }
            // Exercise 5's answer: a new thread per client.
            "thread-per-client" => example(
                &here,
                name,
                "answer-5",
                "tcp-server/answers/exercise-5.rs",
            )?,
            "async" => example(
                &here,
                name,
                "async-server",
                "tcp-server/examples/async-server/main.rs",
            )?,
            "python" => python_script(name, "tcp_server.py", &mut python),
            "python-async" => {
                python_script(name, "tcp_server_async.py", &mut python)
            }
            other => bail!("unknown server '{other}'"),
        };
        if let Some(launch) = launch {
            lineup.push((name.clone(), launch));
        }
    }
    Ok(lineup)
}

/// `docs/python/SCRIPT` run by Python, which `python` caches once found;
/// `None`, with a line that says server `name` is skipped, without Python
/// or the script.
fn python_script(
    name: &str,
    script: &str,
    python: &mut Option<Option<Launch>>,
) -> Option<Launch> {
    let script = format!("docs/python/{script}");
    if !workspace_root().join(&script).exists() {
        println!("note: {name} skipped: {script} is not in this checkout");
        return None;
    }
    let Some(python) = python.get_or_insert_with(find_python) else {
        println!(
            "note: {name} skipped: no Python 3.8 or newer as python3, python or py -3"
        );
        return None;
    };
    let mut launch = python.clone();
    // Unbuffered: Python writes to a file in blocks, and the bench waits
    // for the first line.
    launch.arguments.push("-u".into());
    launch.arguments.push(workspace_root().join(script).into());
    launch.arguments.extend(["127.0.0.1".into(), "0".into()]);
    Some(launch)
}

/// A `--command` line, split at spaces.
fn from_command_line(name: &str, line: &str) -> anyhow::Result<Launch> {
    let mut words = line.split_whitespace();
    let program =
        words.next().with_context(|| format!("--command {name}= is empty"))?;
    Ok(Launch::new(program, words))
}

/// The folder that holds the workspace's `Cargo.toml`.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first of `python3`, `python` and `py -3` (Windows' launcher) that
/// runs Python 3.8 or newer. Says which it found.
fn find_python() -> Option<Launch> {
    const CHECK: &str = "import sys; print(sys.version.split()[0]); \
                         sys.exit(sys.version_info < (3, 8))";
    for candidate in [&["python3"][..], &["python"], &["py", "-3"]] {
        let mut command = Command::new(candidate[0]);
        command.args(&candidate[1..]).args(["-c", CHECK]);
        let Some(version) = run_briefly(command) else {
            continue;
        };
        let spelled = candidate.join(" ");
        println!("python: {spelled} (Python {version})");
        return Some(Launch::new(candidate[0], &candidate[1..]));
    }
    None
}

/// Runs a short command with a time limit; what it printed if it
/// succeeded.
fn run_briefly(mut command: Command) -> Option<String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let status = wait_with_limit(&mut child, PYTHON_CHECK_TIME_LIMIT)?;
    let mut printed = String::new();
    let mut stdout = child.stdout.take()?;
    std::io::Read::read_to_string(&mut stdout, &mut printed).ok()?;
    status.then(|| printed.trim().to_string())
}

/// Waits for `child` to end, killing it after `limit`: whether it
/// succeeded, or `None` if it had to be killed.
fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<bool> {
    let started = Instant::now();
    while started.elapsed() < limit {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Some(status.success());
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// tcp-server's example `example` on 127.0.0.1, built in release with
/// cargo, as `cargo bench` built tcp-server; `None`, with a line that says
/// server `name` is skipped, if its `source` file is not in this checkout.
fn example(
    here: &Path,
    name: &str,
    example: &str,
    source: &str,
) -> anyhow::Result<Option<Launch>> {
    let manifest = workspace_root().join("tcp-server/Cargo.toml");
    if !workspace_root().join(source).exists() {
        println!("note: {name} skipped: {source} is not in this checkout");
        return Ok(None);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!(
        "building {name}: cargo build --release -p tcp-server --example {example}"
    );
    let mut build = Command::new(cargo)
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .args(["--example", example])
        .stdin(Stdio::null())
        .spawn()
        .context("could not run cargo")?;
    match wait_with_limit(&mut build, BUILD_TIME_LIMIT) {
        Some(true) => {}
        Some(false) => {
            bail!("could not build {example} (cargo says why above)")
        }
        None => bail!(
            "cargo took over {} s to build {example}",
            BUILD_TIME_LIMIT.as_secs()
        ),
    }
    // This program is target/release/deps/load-…; examples are built
    // into target/release/examples/.
    let program = here
        .parent()
        .and_then(Path::parent)
        .context("this program should sit in target/*/deps")?
        .join("examples")
        .join(format!("{example}{}", std::env::consts::EXE_SUFFIX));
    Ok(Some(Launch::new(program, ["127.0.0.1", "0"])))
}

/// A server under test, running as a child process with its output in a
/// file. Dropping it kills the process.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
    log_path: PathBuf,
    /// Where its standard error goes.
    errors_path: PathBuf,
}

impl Server {
    /// Starts `launch` (under `--server-fds` and `--wrap` if given) with
    /// its output in `NAME.log` and its errors in `NAME.stderr`, and waits
    /// for its address.
    pub fn start(
        name: &str,
        launch: &Launch,
        log_folder: &Path,
        settings: &Settings,
    ) -> anyhow::Result<Server> {
        let mut launch = launch.clone();
        // Under `ulimit -n N`: the shell lowers its limit, then becomes
        // the server with `exec`.
        if let Some(descriptors) = settings.server_descriptors {
            let script =
                format!("ulimit -n {descriptors} && exec \"$0\" \"$@\"");
            let mut arguments =
                vec!["-c".into(), script.into(), launch.program];
            arguments.append(&mut launch.arguments);
            launch = Launch::new("sh", arguments);
        }
        if let Some((program, prefix)) = settings.wrap.split_first() {
            let mut arguments: Vec<OsString> =
                prefix.iter().map(Into::into).collect();
            arguments.push(launch.program);
            arguments.append(&mut launch.arguments);
            launch = Launch::new(program, arguments);
        }
        let log_path = log_folder.join(format!("{name}.log"));
        let log = File::create(&log_path).with_context(|| {
            format!("could not create {}", log_path.display())
        })?;
        let errors_path = log_folder.join(format!("{name}.stderr"));
        let errors = File::create(&errors_path).with_context(|| {
            format!("could not create {}", errors_path.display())
        })?;
        // From the workspace's root, where `--command` lines are typed.
        let child = Command::new(&launch.program)
            .args(&launch.arguments)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(errors)
            .spawn()
            .with_context(|| format!("could not start the {name} server"))?;
        let mut server = Server {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_path,
            errors_path,
        };
        server.address = server
            .wait_for_listening_line()
            .with_context(|| format!("could not start the {name} server"))?;
        Ok(server)
    }

    /// Waits (bounded) for `[*] Listening on IP:PORT`, the first line.
    fn wait_for_listening_line(&mut self) -> anyhow::Result<SocketAddr> {
        let started = Instant::now();
        while started.elapsed() < START_TIME_LIMIT {
            let first_line = File::open(&self.log_path)
                .ok()
                .and_then(|file| BufReader::new(file).lines().next()?.ok());
            if let Some(line) = first_line {
                let address = line
                    .strip_prefix("[*] Listening on ")
                    .with_context(|| {
                        format!(
                            "expected `[*] Listening on IP:PORT` first, not {line:?}"
                        )
                    })?;
                return address.parse().with_context(|| {
                    format!("could not read the address in {line:?}")
                });
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let said = std::fs::read_to_string(&self.errors_path)
                    .unwrap_or_default();
                bail!(
                    "it ended before it printed its address ({status}): {}",
                    said.trim()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "it did not print its address within {} s (see {})",
            START_TIME_LIMIT.as_secs(),
            self.log_path.display()
        )
    }

    /// The lines of the server's log so far that end with `ending`.
    pub fn log_lines_ending_with(&self, ending: &str) -> usize {
        self.log_lines_where(|line| line.ends_with(ending))
    }

    /// The lines of the server's log so far that `wanted`.
    pub fn log_lines_where(&self, wanted: impl Fn(&str) -> bool) -> usize {
        std::fs::read_to_string(&self.log_path)
            .unwrap_or_default()
            .lines()
            .filter(|line| wanted(line))
            .count()
    }

    /// `[*] Accepted connection from` lines so far.
    pub fn accepted(&self) -> usize {
        self.log_lines_where(|line| {
            line.starts_with("[*] Accepted connection from")
        })
    }

    /// Waits until the server has printed at least `count` accepted
    /// lines, or `limit` has passed; returns how many it printed.
    pub fn wait_for_accepted(&self, count: usize, limit: Duration) -> usize {
        let started = Instant::now();
        loop {
            let accepted = self.accepted();
            if accepted >= count || started.elapsed() >= limit {
                return accepted;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// A number field of /proc/PID/status in kB (KiB in fact), such as
    /// `VmRSS:`.
    pub fn status_field(&self, name: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.child.id()
        ))
        .ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// The server's threads now, or `?` off Linux.
    pub fn threads_text(&self) -> String {
        self.status_field("Threads:")
            .map_or_else(|| "?".to_string(), |threads| threads.to_string())
    }

    /// Context switches so far, summed over the server's threads (threads
    /// that have exited are not counted).
    pub fn context_switches(&self) -> Option<u64> {
        let tasks =
            std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
                .ok()?;
        let mut switches = 0;
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status"))
                .unwrap_or_default();
            switches += status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| {
                    line.split_whitespace().nth(1)?.parse::<u64>().ok()
                })
                .sum::<u64>();
        }
        Some(switches)
    }

    /// The server's CPU time so far (user and system) in seconds; Linux
    /// counts it in ticks of 10 ms.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
                .ok()?;
        // After the command name in parentheses: fields 3 onwards.
        let fields: Vec<&str> =
            stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()?
            + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
