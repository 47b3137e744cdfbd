//! Load generator for tcp-server: how fast is it next to other designs
//! doing the same work, and what do silent or stalling clients cost?
//!
//! `cargo bench -p tcp-server` runs the standard comparison: 1, 16, 64 and
//! 256 concurrent clients, 3 rounds each, taking turns between:
//!
//! - `rust`: the real `tcp-server`, with its default settings;
//! - `pool`: the fastest blocking design we know for the same work, in
//!   this file: 16 threads that each call `accept` and serve the client
//!   themselves, with tcp-server's graceful close;
//! - `tokio`: `../shared/tools/peers/tokio-ack`, a task per client on
//!   tokio, if it is built in `target/peers/` (its README says how);
//! - `python`: the reference `docs/python/tcp_server.py` (at 16 and 64
//!   clients only: its `listen(5)` makes larger crowds wait for seconds).
//!
//! Each exchange is one connection: connect, send the script's 36-byte
//! request, read `ACK!` up to the end of the stream, close. Every server
//! prints its three lines per client into a log file. For each server the
//! bench prints exchanges per second, p50 and p99, and failures by kind
//! (a reset counts as a failure); then, for each pair, the ratio of their
//! rates in each round, as the median and the range over the rounds.
//!
//! Options (after `--`, as in `cargo bench -p tcp-server -- --rounds 5`):
//!
//!     --clients 1,16,64,256  concurrent clients, one run for each
//!     --exchanges N          exchanges per run (default 20000)
//!     --servers LIST         from rust, pool, tokio, python, inline,
//!                            inline-graceful, inline-backlog-5,
//!                            thread-per-client (exercise 5's answer,
//!                            `tcp-server/answers/exercise-5.rs`), and
//!                            names given with --command
//!                            (default rust,pool,tokio,python)
//!     --command NAME=CMD     a server to run as a command line, which
//!                            must print `[*] Listening on IP:PORT` first
//!     --rounds R             runs per server, taking turns (default 3)
//!     --silent 300,2000      slow-client mode: for each count, a fresh
//!                            server serves the first --clients count alone,
//!                            then while that many silent connections are
//!                            held open
//!     --stall 1200           attack mode: the same, but against clients
//!                            that send a few bytes, never read until the
//!                            server's FIN, wait 1.1 s, close and come back
//!     --retire 1000          a fresh `rust` server takes that many silent
//!                            clients, which then leave; prints its threads
//!                            and memory every 5 s for 45 s, as idle
//!                            threads retire
//!     --newcomer 100         for each try (see --rounds, default 10 here):
//!                            a fresh `rust` server with `-w 30
//!                            --max-clients 100`, 100 silent clients, then
//!                            one normal client; counts the clients the
//!                            server dropped to make room for it
//!     --server-args ARGS     extra arguments for `rust`, e.g. "-w 30"
//!     --wrap CMD             start each server under a command prefix,
//!                            e.g. "prlimit --nproc=3 --" (Unix)
//!     --server-fds N         start each server under `ulimit -n N` (Unix)
//!     -h, --help             print this
//!
//! Everything stays on 127.0.0.1, and every run, wait and connection has a
//! time limit.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{
    self, BufRead as _, BufReader, LineWriter, Read as _,
    Write as _,
};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{
    AtomicBool, AtomicUsize, Ordering,
};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::{PythonBytes, say};

/// The course script's request, byte for byte: 36 bytes.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n";
const REPLY: &[u8] = b"ACK!";
/// Each step of one exchange gives up after this long.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole run stops after this long, finished or not.
const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);
/// How long to wait for an idle connection to be accepted by the kernel.
const IDLE_CONNECT_TIMEOUT: Duration =
    Duration::from_secs(3);
/// The backlog of the servers in this file, the same as tcp-server's.
const BACKLOG: i32 = 1024;
/// The accepting threads of the `pool` server.
const POOL_THREADS: usize = 16;
/// The Python server is measured only up to this many clients.
const PYTHON_MOST_CLIENTS: usize = 64;
/// How long a stalling attacker waits after the server's FIN before it
/// closes: a little longer than tcp-server's drain waits.
const STALL_HOLD: Duration = Duration::from_millis(1100);

fn main() -> ExitCode {
    common::exit_status(run())
}

struct Settings {
    client_counts: Vec<usize>,
    exchanges: usize,
    servers: Vec<String>,
    commands: BTreeMap<String, String>,
    silent_counts: Vec<usize>,
    stall_counts: Vec<usize>,
    newcomer_crowd: Option<usize>,
    retire_crowd: Option<usize>,
    server_arguments: Vec<String>,
    wrap: Vec<String>,
    server_descriptors: Option<usize>,
    rounds: usize,
}

/// What `--help` prints: the options at the top of this file.
const USAGE: &str = "usage: load [--clients 1,16,64,256] [--exchanges N] [--servers LIST]
            [--command NAME=CMD] [--rounds R] [--silent 300,2000]
            [--stall 1200] [--server-args ARGS] [--wrap CMD]
            [--server-fds N]

Runs tcp-server and other servers doing the same work under the same load
on 127.0.0.1 and prints exchanges/s, latencies, failures and the ratios
between them. Run it with: cargo bench -p tcp-server -- [OPTIONS]

  --clients 1,16,64,256  concurrent clients, one run for each
  --exchanges N          exchanges per run (default 20000)
  --servers LIST         from rust, pool, tokio, python, inline,
                         inline-graceful, inline-backlog-5,
                         thread-per-client and --command names
                         (default rust,pool,tokio,python)
  --command NAME=CMD     a server run as a command line; it must print
                         `[*] Listening on IP:PORT` first
  --rounds R             runs per server, taking turns (default 3)
  --silent 300,2000      the first --clients count alone, then while
                         that many silent connections are held
  --stall 1200           the same with clients that send a few bytes,
                         stall, close 1.1 s after the server's FIN
                         and come back
  --retire 1000          that many silent clients come and go; the
                         server's threads and memory, every 5 s for 45 s
  --newcomer 100         tries of: 100 silent clients fill a server
                         with --max-clients 100, one newcomer comes;
                         how many were dropped to make room
  --server-args ARGS     extra arguments for rust, e.g. \"-w 30\"
  --wrap CMD             start servers under a command prefix, e.g.
                         \"prlimit --nproc=3 --\" (Unix)
  --server-fds N         start each server under `ulimit -n N` (Unix)
  -h, --help             print this
";

fn run() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; it means nothing here.
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| argument != "--bench")
        .collect();
    if let [flag, backlog] = arguments.as_slice() {
        if flag == "--serve-inline"
            || flag == "--serve-inline-graceful"
        {
            let backlog = backlog.parse().context(
                "the backlog should be a number",
            )?;
            return serve_inline(
                backlog,
                flag == "--serve-inline-graceful",
            );
        }
    }
    if arguments.first().map(String::as_str)
        == Some("--serve-pool")
    {
        return serve_pool();
    }
    if arguments.first().map(String::as_str)
        == Some("--serve-handoff")
    {
        return serve_handoff();
    }
    if arguments.iter().any(|argument| {
        argument == "-h" || argument == "--help"
    }) {
        let _ = io::stdout().write_all(USAGE.as_bytes());
        return Ok(());
    }
    let mut settings = parse_settings(&arguments)?;
    if settings.servers.iter().any(|name| name == "tokio")
        && !settings.commands.contains_key("tokio")
    {
        let tokio = workspace_root()
            .join("target/peers/release/tokio-ack");
        if tokio.exists() {
            settings.commands.insert(
                "tokio".into(),
                format!("{} --port 0", tokio.display()),
            );
        } else {
            println!(
                "note: tokio skipped: build it first (../shared/tools/peers/README.md)"
            );
            settings
                .servers
                .retain(|name| name != "tokio");
        }
    }
    let log_folder = std::env::temp_dir().join(format!(
        "tcp-server-load-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&log_folder).with_context(
        || {
            format!(
                "could not create {}",
                log_folder.display()
            )
        },
    )?;
    println!(
        "load: {} exchanges per run, 36-byte request, loopback; server logs in {}",
        settings.exchanges,
        log_folder.display()
    );

    if let Some(crowd) = settings.retire_crowd {
        return run_retirement(
            &settings,
            &log_folder,
            crowd,
        );
    }
    if let Some(crowd) = settings.newcomer_crowd {
        return run_newcomer_tries(
            &settings,
            &log_folder,
            crowd,
        );
    }
    if !settings.silent_counts.is_empty()
        || !settings.stall_counts.is_empty()
    {
        return run_slow_client_mode(
            &settings,
            &log_folder,
        );
    }

    for &clients in &settings.client_counts {
        println!("\n== {clients} concurrent clients");
        // Rounds take turns between the servers, so that a burst of noise on
        // this shared machine hits them all alike.
        let mut rounds: BTreeMap<String, Vec<Report>> =
            BTreeMap::new();
        for round in 1..=settings.rounds {
            for server_name in &settings.servers {
                if server_name == "python"
                    && clients > PYTHON_MOST_CLIENTS
                {
                    continue;
                }
                let server = Server::start(
                    server_name,
                    &log_folder,
                    &settings,
                )?;
                let report = drive_load(
                    server.address,
                    clients,
                    settings.exchanges,
                );
                let exchanges =
                    report.latencies.len().max(1) as f64;
                let cpu = server.cpu_seconds().map_or_else(
                    String::new,
                    |seconds| {
                        format!(
                            ", server CPU {:.0} us/exchange",
                            seconds * 1e6 / exchanges
                        )
                    },
                );
                let switches = server
                    .context_switches()
                    .map_or_else(String::new, |switches| {
                        format!(
                            ", {:.1} context switches/exchange",
                            switches as f64 / exchanges
                        )
                    });
                let peak = format!(
                    "{}{cpu}{switches}",
                    server.peak_memory_and_threads()
                );
                report.print(
                    &format!("{server_name} #{round}"),
                    &peak,
                );
                rounds
                    .entry(server_name.clone())
                    .or_default()
                    .push(report);
            }
        }
        print_summary(&settings.servers, &rounds);
    }
    Ok(())
}

/// The median round of each server, and each server's rate against the
/// others', round by round: the median and the range.
fn print_summary(
    order: &[String],
    rounds: &BTreeMap<String, Vec<Report>>,
) {
    println!("  median round of each:");
    for name in order {
        let Some(reports) = rounds.get(name) else {
            continue;
        };
        let mut sorted: Vec<&Report> =
            reports.iter().collect();
        sorted.sort_by(|a, b| {
            a.exchanges_per_second()
                .total_cmp(&b.exchanges_per_second())
        });
        sorted[sorted.len() / 2].print(name, "median");
    }
    let Some(rust) = rounds.get("rust") else {
        return;
    };
    for other in order {
        let Some(reports) = rounds.get(other) else {
            continue;
        };
        if other == "rust" {
            continue;
        }
        let mut ratios: Vec<f64> = rust
            .iter()
            .zip(reports)
            .map(|(rust, other)| {
                rust.exchanges_per_second()
                    / other.exchanges_per_second()
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "  rust / {other}: {:.2}x exchanges/s (median of {} rounds; range {:.2}x-{:.2}x)",
            ratios[ratios.len() / 2],
            ratios.len(),
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
}

fn parse_settings(
    arguments: &[String],
) -> anyhow::Result<Settings> {
    let mut settings = Settings {
        client_counts: vec![1, 16, 64, 256],
        exchanges: 20_000,
        servers: ["rust", "pool", "tokio", "python"]
            .map(str::to_string)
            .to_vec(),
        commands: BTreeMap::new(),
        silent_counts: Vec::new(),
        stall_counts: Vec::new(),
        newcomer_crowd: None,
        retire_crowd: None,
        server_arguments: Vec::new(),
        wrap: Vec::new(),
        server_descriptors: None,
        rounds: 3,
    };
    let mut arguments = arguments.iter();
    while let Some(flag) = arguments.next() {
        let value =
            arguments.next().with_context(|| {
                format!(
                    "{flag} needs a value (try --help)"
                )
            })?;
        let number = |text: &str| {
            text.parse::<usize>().with_context(|| {
                format!(
                    "invalid number '{text}' for {flag}"
                )
            })
        };
        let numbers = |text: &str| {
            text.split(',')
                .map(number)
                .collect::<Result<Vec<_>, _>>()
        };
        match flag.as_str() {
            "--clients" => {
                settings.client_counts = numbers(value)?
            }
            "--exchanges" => {
                settings.exchanges = number(value)?
            }
            "--silent" => {
                settings.silent_counts = numbers(value)?
            }
            "--stall" => {
                settings.stall_counts = numbers(value)?
            }
            "--retire" => {
                settings.retire_crowd =
                    Some(number(value)?)
            }
            "--newcomer" => {
                settings.newcomer_crowd =
                    Some(number(value)?)
            }
            "--server-fds" => {
                settings.server_descriptors =
                    Some(number(value)?)
            }
            "--rounds" => {
                settings.rounds = number(value)?
            }
            "--servers" => {
                settings.servers = value
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--command" => {
                let (name, command) =
                    value.split_once('=').with_context(
                        || format!("--command needs NAME=CMD, not '{value}'"),
                    )?;
                settings.commands.insert(
                    name.to_string(),
                    command.to_string(),
                );
            }
            "--server-args" => {
                settings.server_arguments = value
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            }
            "--wrap" => {
                settings.wrap = value
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            }
            _ => {
                bail!(
                    "unknown option '{flag}' (try --help)"
                )
            }
        }
    }
    if settings.client_counts.contains(&0)
        || settings.rounds == 0
    {
        bail!(
            "--clients and --rounds need numbers of at least 1"
        );
    }
    Ok(settings)
}

/// The folder that holds the workspace's `Cargo.toml`.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A server under test, running as a child process with its output in a file.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(
        name: &str,
        log_folder: &Path,
        settings: &Settings,
    ) -> anyhow::Result<Server> {
        let here = std::env::current_exe().context(
            "could not find this program's path",
        )?;
        let mut command = match name {
            "rust" => {
                let mut command = Command::new(env!(
                    "CARGO_BIN_EXE_tcp-server"
                ));
                command
                    .args(&settings.server_arguments)
                    .args(["127.0.0.1", "0"]);
                command
            }
            // Exercise 5's answer, a new thread per client:
            // `cargo build --release -p tcp-server --example answer-5`.
            "thread-per-client" => {
                // target/release/deps/load-… -> target/release/examples/
                let binary = here
                    .parent()
                    .and_then(Path::parent)
                    .context("this program should sit in target/*/deps")?
                    .join("examples")
                    .join(format!(
                        "answer-5{}",
                        std::env::consts::EXE_SUFFIX
                    ));
                if !binary.exists() {
                    bail!(
                        "{} is missing; build it first: cargo build --release -p tcp-server --example answer-5",
                        binary.display()
                    );
                }
                let mut command = Command::new(binary);
                command.args(["127.0.0.1", "0"]);
                command
            }
            "python" => {
                let script = workspace_root()
                    .join("docs/python/tcp_server.py");
                let mut command = Command::new("python3");
                command
                    .arg(script)
                    .args(["127.0.0.1", "0"]);
                command
            }
            "pool" => {
                let mut command = Command::new(&here);
                command.arg("--serve-pool");
                command
            }
            "handoff" => {
                let mut command = Command::new(&here);
                command.arg("--serve-handoff");
                command
            }
            "inline" | "inline-graceful" => {
                let mut command = Command::new(&here);
                command.args([
                    &format!("--serve-{name}"),
                    &BACKLOG.to_string(),
                ]);
                command
            }
            // The inline server with the script's `listen(5)`, to show what
            // a short backlog costs.
            "inline-backlog-5" => {
                let mut command = Command::new(&here);
                command.args(["--serve-inline", "5"]);
                command
            }
            other => {
                let Some(line) =
                    settings.commands.get(other)
                else {
                    bail!(
                        "unknown server '{other}': expected rust, pool, tokio, python, inline, inline-graceful, inline-backlog-5, thread-per-client or a --command name"
                    );
                };
                let mut words = line.split_whitespace();
                let program =
                    words.next().with_context(|| {
                        format!(
                            "--command {other}= is empty"
                        )
                    })?;
                let mut command = Command::new(program);
                command.args(words);
                command
            }
        };
        let log_path =
            log_folder.join(format!("{name}.log"));
        let log = File::create(&log_path).with_context(
            || {
                format!(
                    "could not create {}",
                    log_path.display()
                )
            },
        )?;
        // Under `ulimit -n N`: the shell lowers its limit, then becomes the
        // server with `exec`.
        if let Some(descriptors) =
            settings.server_descriptors
        {
            let mut limited = Command::new("sh");
            limited
                .arg("-c")
                .arg(format!("ulimit -n {descriptors} && exec \"$0\" \"$@\""))
                .arg(command.get_program())
                .args(command.get_args());
            command = limited;
        }
        if let Some((program, prefix)) =
            settings.wrap.split_first()
        {
            let mut wrapped = Command::new(program);
            wrapped
                .args(prefix)
                .arg(command.get_program())
                .args(command.get_args());
            command = wrapped;
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "could not start the {name} server"
                )
            })?;
        let mut server = Server {
            child,
            address: SocketAddr::from((
                [127, 0, 0, 1],
                0,
            )),
        };
        server.address =
            wait_for_listening_line(&log_path)?;
        Ok(server)
    }

    /// Peak resident memory (VmHWM) and thread count, from /proc on Linux.
    /// Threads and resident memory now, from /proc on Linux.
    fn memory_now(&self) -> String {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.child.id()
        ))
        .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map_or("?", str::trim)
                .to_string()
        };
        format!(
            "{} threads, {} resident",
            field("Threads:"),
            field("VmRSS:")
        )
    }

    fn peak_memory_and_threads(&self) -> String {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.child.id()
        ));
        let Ok(status) = status else {
            return "peak RSS n/a".to_string();
        };
        let field = |name: &str| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| {
                    line.split_whitespace().nth(1)
                })
                .unwrap_or("?")
                .to_string()
        };
        let peak_kib: f64 =
            field("VmHWM:").parse().unwrap_or(f64::NAN);
        format!(
            "peak RSS {:.1} MiB, threads now {}",
            peak_kib / 1024.0,
            field("Threads:")
        )
    }
}

impl Server {
    /// Context switches so far, summed over the server's threads, from
    /// /proc on Linux (threads that have exited are not counted).
    fn context_switches(&self) -> Option<u64> {
        let tasks = std::fs::read_dir(format!(
            "/proc/{}/task",
            self.child.id()
        ))
        .ok()?;
        let mut switches = 0;
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(
                task.path().join("status"),
            )
            .unwrap_or_default();
            for line in status.lines() {
                if line.contains("ctxt_switches:") {
                    switches += line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|count| {
                            count.parse::<u64>().ok()
                        })
                        .unwrap_or(0);
                }
            }
        }
        Some(switches)
    }

    /// The server's CPU time so far (user and system), from /proc on
    /// Linux, in seconds; Linux counts it in ticks of 10 ms.
    fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!(
            "/proc/{}/stat",
            self.child.id()
        ))
        .ok()?;
        // After the command name in parentheses: fields 3 onwards.
        let fields: Vec<&str> = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()?
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

/// Waits (bounded) for the `[*] Listening on IP:PORT` line in a server's log.
fn wait_for_listening_line(
    log_path: &std::path::Path,
) -> anyhow::Result<SocketAddr> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok(file) = File::open(log_path) {
            if let Some(Ok(line)) =
                BufReader::new(file).lines().next()
            {
                if let Some(address) =
                    line.strip_prefix("[*] Listening on ")
                {
                    return address.parse().with_context(|| {
                        format!("could not read the address in {line:?}")
                    });
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "the server did not print its address within 10 s (see {})",
        log_path.display()
    )
}

/// What one load run measured.
struct Report {
    clients: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: BTreeMap<&'static str, usize>,
}

impl Report {
    fn exchanges_per_second(&self) -> f64 {
        self.latencies.len() as f64
            / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, fraction: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0)
            * fraction)
            .round() as usize;
        self.latencies[index]
    }

    /// A handshake the kernel dropped for want of backlog is sent again
    /// after one second, so exchanges over a second show a full backlog.
    fn over_one_second(&self) -> usize {
        self.latencies
            .iter()
            .filter(|latency| {
                **latency >= Duration::from_secs(1)
            })
            .count()
    }

    fn print(&self, name: &str, peak: &str) {
        let errors = if self.errors.is_empty() {
            "no errors".to_string()
        } else {
            self.errors
                .iter()
                .map(|(kind, count)| {
                    format!("{kind} {count}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let over_one_second = self.over_one_second();
        println!(
            "{name:>18}: {:>6.0} exchanges/s  p50 {:>5.2} ms  p99 {:>6.2} ms  max {:>7.1} ms  \
             over 1 s {over_one_second:>4}  ok {:>5}  {errors}  ({} clients, {:.2} s; {peak})",
            self.exchanges_per_second(),
            milliseconds(self.percentile(0.50)),
            milliseconds(self.percentile(0.99)),
            milliseconds(
                self.latencies
                    .last()
                    .copied()
                    .unwrap_or_default()
            ),
            self.latencies.len(),
            self.clients,
            self.elapsed.as_secs_f64(),
        );
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Runs `exchanges` exchanges from `clients` threads and measures them.
fn drive_load(
    address: SocketAddr,
    clients: usize,
    exchanges: usize,
) -> Report {
    let tickets = Arc::new(AtomicUsize::new(exchanges));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let tickets = Arc::clone(&tickets);
            thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors: BTreeMap<
                    &'static str,
                    usize,
                > = BTreeMap::new();
                while started.elapsed() < RUN_TIME_LIMIT
                    && tickets
                        .fetch_update(
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                            |left| left.checked_sub(1),
                        )
                        .is_ok()
                {
                    let exchange_started = Instant::now();
                    match one_exchange(address) {
                        Ok(()) => latencies.push(
                            exchange_started.elapsed(),
                        ),
                        Err(kind) => {
                            *errors
                                .entry(kind)
                                .or_default() += 1
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut report = Report {
        clients,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(exchanges),
        errors: BTreeMap::new(),
    };
    for thread in threads {
        let (latencies, errors) =
            thread.join().unwrap_or_default();
        report.latencies.extend(latencies);
        for (kind, count) in errors {
            *report.errors.entry(kind).or_default() +=
                count;
        }
    }
    report.elapsed = started.elapsed();
    let unfinished = tickets.load(Ordering::Relaxed);
    if unfinished > 0 {
        report
            .errors
            .insert("not run (time limit)", unfinished);
    }
    report.latencies.sort();
    report
}

/// One exchange. The error names what went wrong, for the counts.
fn one_exchange(
    address: SocketAddr,
) -> Result<(), &'static str> {
    let mut stream = TcpStream::connect_timeout(
        &address,
        EXCHANGE_TIMEOUT,
    )
    .map_err(|error| match error.kind() {
        io::ErrorKind::TimedOut => "connect timeout",
        io::ErrorKind::ConnectionRefused => {
            "connect refused"
        }
        _ => "connect error",
    })?;
    stream
        .set_read_timeout(Some(EXCHANGE_TIMEOUT))
        .and_then(|()| {
            stream
                .set_write_timeout(Some(EXCHANGE_TIMEOUT))
        })
        .map_err(|_| "socket option")?;
    stream
        .write_all(REQUEST)
        .map_err(|_| "send error")?;
    let mut reply = Vec::with_capacity(8);
    stream.read_to_end(&mut reply).map_err(|error| {
        match error.kind() {
            io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut => "read timeout",
            io::ErrorKind::ConnectionReset => "reset",
            _ => "read error",
        }
    })?;
    if reply != REPLY {
        return Err("wrong reply");
    }
    Ok(())
}

/// Slow-client mode: for each count of silent (or stalling) clients, a
/// fresh server serves the load alone, then again while they are there.
fn run_slow_client_mode(
    settings: &Settings,
    log_folder: &Path,
) -> anyhow::Result<()> {
    let clients = settings.client_counts[0];
    let modes = settings
        .silent_counts
        .iter()
        .map(|&count| (count, false))
        .chain(
            settings
                .stall_counts
                .iter()
                .map(|&count| (count, true)),
        );
    for (count, stalling) in modes {
        for server_name in &settings.servers {
            if server_name.starts_with("inline") {
                println!(
                    "\n  {server_name}: skipped: one silent client blocks it for everyone"
                );
                continue;
            }
            let kind = if stalling {
                "stalling"
            } else {
                "silent"
            };
            let server = Server::start(
                server_name,
                log_folder,
                settings,
            )?;
            println!(
                "\n== {server_name}: {clients} clients, alone and with {count} {kind} clients"
            );
            let alone = drive_load(
                server.address,
                clients,
                settings.exchanges,
            );
            alone.print(
                "alone",
                &server.peak_memory_and_threads(),
            );
            let (during, held) = if stalling {
                let attack = Stalling::start(
                    server.address,
                    count,
                );
                // Let the attackers fill the server first.
                thread::sleep(Duration::from_secs(2));
                let during = drive_load(
                    server.address,
                    clients,
                    settings.exchanges,
                );
                let connections = attack.stop();
                println!(
                    "  stalling clients made {connections} connections"
                );
                (during, String::new())
            } else {
                let silent = open_idle_connections(
                    server.address,
                    count,
                );
                let held_before = still_open(&silent);
                let during = drive_load(
                    server.address,
                    clients,
                    settings.exchanges,
                );
                let held_after = still_open(&silent);
                let held = format!(
                    "; silent connections: {} of {count} connected, {held_before} held when the load began, {held_after} when it ended",
                    silent.len()
                );
                (during, held)
            };
            during.print(
                &format!("{count} {kind}"),
                &server.peak_memory_and_threads(),
            );
            drop(server);
            let log = std::fs::read_to_string(
                log_folder
                    .join(format!("{server_name}.log")),
            )
            .unwrap_or_default();
            let dropped = log
                .lines()
                .filter(|line| {
                    line.ends_with("dropped to make room")
                })
                .count();
            let about_threads = log
                .lines()
                .filter(|line| line.contains("thread"))
                .count();
            println!(
                "  with {count} {kind}: {:.2}x the rate alone, p99 {:.2} ms, {} over 1 s, slowest {:.0} ms, {} failed; \
                 log: {dropped} dropped to make room, {about_threads} lines about threads{held}",
                during.exchanges_per_second()
                    / alone.exchanges_per_second(),
                milliseconds(during.percentile(0.99)),
                during.over_one_second(),
                milliseconds(
                    during
                        .latencies
                        .last()
                        .copied()
                        .unwrap_or_default()
                ),
                during.errors.values().sum::<usize>(),
            );
        }
    }
    Ok(())
}

/// Retirement mode: what a burst of silent clients leaves behind, and for
/// how long.
fn run_retirement(
    settings: &Settings,
    log_folder: &Path,
    crowd: usize,
) -> anyhow::Result<()> {
    let server =
        Server::start("rust", log_folder, settings)?;
    println!("before: {}", server.memory_now());
    let silent =
        open_idle_connections(server.address, crowd);
    thread::sleep(Duration::from_secs(1));
    println!(
        "with {} silent clients: {}",
        silent.len(),
        server.memory_now()
    );
    drop(silent);
    let left = Instant::now();
    while left.elapsed() < Duration::from_secs(45) {
        thread::sleep(Duration::from_secs(5));
        println!(
            "{:>3.0} s after they left: {}",
            left.elapsed().as_secs_f64(),
            server.memory_now()
        );
    }
    Ok(())
}

/// Newcomer mode: how many silent clients one newcomer costs when they
/// hold every thread.
fn run_newcomer_tries(
    settings: &Settings,
    log_folder: &Path,
    crowd: usize,
) -> anyhow::Result<()> {
    let tries = if settings.rounds == 3 {
        10
    } else {
        settings.rounds
    };
    let mut rust_settings = Settings {
        server_arguments: vec![
            "-w".into(),
            "30".into(),
            "--max-clients".into(),
            crowd.to_string(),
        ],
        ..parse_settings(&[])?
    };
    rust_settings.wrap.clone_from(&settings.wrap);
    let mut counts = Vec::new();
    for _ in 0..tries {
        let server = Server::start(
            "rust",
            log_folder,
            &rust_settings,
        )?;
        let silent =
            open_idle_connections(server.address, crowd);
        // Every silent client is older than LEAST_SILENCE.
        thread::sleep(Duration::from_millis(500));
        let outcome = one_exchange(server.address);
        thread::sleep(Duration::from_millis(200));
        let held = still_open(&silent);
        drop(server);
        let log = std::fs::read_to_string(
            log_folder.join("rust.log"),
        )
        .unwrap_or_default();
        let dropped = log
            .lines()
            .filter(|line| {
                line.ends_with("dropped to make room")
            })
            .count();
        println!(
            "  {} silent connected, newcomer {}, {dropped} dropped in the log, {held} still held",
            silent.len(),
            if outcome.is_ok() {
                "served"
            } else {
                "failed"
            },
        );
        counts.push(dropped);
    }
    println!(
        "newcomer against {crowd} silent clients: dropped {counts:?} in {tries} tries"
    );
    Ok(())
}

/// Clients that send a few bytes and never read until the server closes
/// its side, then wait [`STALL_HOLD`] before they close, and come back.
struct Stalling {
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Stalling {
    fn start(
        address: SocketAddr,
        count: usize,
    ) -> Stalling {
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let threads = (0..count)
            .map(|_| {
                let stop = Arc::clone(&stop);
                let connections = Arc::clone(&connections);
                thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            let Ok(mut stream) =
                                TcpStream::connect_timeout(
                                    &address,
                                    IDLE_CONNECT_TIMEOUT,
                                )
                            else {
                                thread::sleep(
                                    Duration::from_millis(100),
                                );
                                continue;
                            };
                            connections
                                .fetch_add(1, Ordering::Relaxed);
                            let _ = stream.set_read_timeout(
                                Some(EXCHANGE_TIMEOUT),
                            );
                            let _ = stream.write_all(b"GET");
                            let mut reply = Vec::new();
                            let _ = stream.read_to_end(&mut reply);
                            thread::sleep(STALL_HOLD);
                        }
                    })
                    .expect("a small attacker thread should start")
            })
            .collect();
        Stalling { stop, connections, threads }
    }

    /// Stops the attack (within about 6 s) and says how many connections
    /// it made.
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.connections.load(Ordering::Relaxed)
    }
}

/// How many of these connections the server has not closed yet.
fn still_open(connections: &[TcpStream]) -> usize {
    let mut scratch = [0u8; 16];
    connections
        .iter()
        .filter(|stream| {
            let mut stream: &TcpStream = stream;
            if stream.set_nonblocking(true).is_err() {
                return false;
            }
            // End of stream, a reset, or data: the server is done with it.
            // Only WouldBlock means it is still held.
            let held = matches!(stream.read(&mut scratch), Err(error) if error.kind() == io::ErrorKind::WouldBlock);
            let _ = stream.set_nonblocking(false);
            held
        })
        .count()
}

/// Opens up to `count` connections that send nothing, from several threads
/// at once, since a connect past the server's backlog waits for a timeout.
fn open_idle_connections(
    address: SocketAddr,
    count: usize,
) -> Vec<TcpStream> {
    const OPENERS: usize = 16;
    let openers: Vec<_> = (0..OPENERS)
        .map(|opener| {
            let share = count / OPENERS
                + usize::from(opener < count % OPENERS);
            thread::spawn(move || {
                (0..share)
                    .filter_map(|_| {
                        TcpStream::connect_timeout(
                            &address,
                            IDLE_CONNECT_TIMEOUT,
                        )
                        .ok()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    openers
        .into_iter()
        .flat_map(|opener| {
            opener.join().unwrap_or_default()
        })
        .collect()
}

/// The `pool` server: [`POOL_THREADS`] threads that each call `accept` on
/// the same listener and serve the client themselves, with tcp-server's
/// lines, `-w` and graceful close. No hand-off between threads: the
/// fastest blocking design we know for this work, though a few silent
/// clients block it.
fn serve_pool() -> anyhow::Result<()> {
    let listener = listen_on_loopback(BACKLOG)?;
    say!("[*] Listening on {}", listener.local_addr()?);
    let listener = Arc::new(listener);
    let threads: Vec<_> = (0..POOL_THREADS)
        .map(|_| {
            let listener = Arc::clone(&listener);
            thread::spawn(move || loop {
                let Ok((client, address)) = listener.accept()
                else {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                say!("[*] Accepted connection from: {address}");
                serve_like_tcp_server(client, address);
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// The `handoff` server: the script's shape at its plainest, as the Rust
/// Book's chapter 21 builds it: one accept loop that sends each client
/// down a channel to [`POOL_THREADS`] threads, which serve it as `pool`
/// does. What the shape costs, without tcp-server's crew.
fn serve_handoff() -> anyhow::Result<()> {
    let listener = listen_on_loopback(BACKLOG)?;
    say!("[*] Listening on {}", listener.local_addr()?);
    let (sender, receiver) = std::sync::mpsc::channel::<(
        TcpStream,
        SocketAddr,
    )>();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..POOL_THREADS {
        let receiver = Arc::clone(&receiver);
        thread::spawn(move || {
            loop {
                let next = receiver
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .recv();
                let Ok((client, address)) = next else {
                    return;
                };
                serve_like_tcp_server(client, address);
            }
        });
    }
    loop {
        let Ok((client, address)) = listener.accept()
        else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        say!("[*] Accepted connection from: {address}");
        sender
            .send((client, address))
            .context("the threads have gone")?;
    }
}

/// tcp-server's work for one client, without its crew: `-w` 5 s, read
/// once, the two lines, `ACK!`, the graceful close.
fn serve_like_tcp_server(
    mut client: TcpStream,
    address: SocketAddr,
) {
    let mut request = [0u8; 1024];
    let _ =
        client.set_read_timeout(Some(EXCHANGE_TIMEOUT));
    let _ =
        client.set_write_timeout(Some(EXCHANGE_TIMEOUT));
    let Ok(bytes_read) = client.read(&mut request) else {
        return;
    };
    say!(
        "[*] Received: {}",
        PythonBytes(&request[..bytes_read])
    );
    if client.write_all(REPLY).is_err() {
        return;
    }
    say!("{address}");
    graceful_close(client, &mut request);
}

/// tcp-server's close: FIN after ACK!, then read until the client closes
/// too, within 64 KiB and 1 s (see tcp-server/src/graceful_close.rs).
fn graceful_close(
    mut client: TcpStream,
    scratch: &mut [u8],
) {
    if client.shutdown(std::net::Shutdown::Write).is_err()
    {
        return;
    }
    let deadline =
        Instant::now() + Duration::from_secs(1);
    let mut discarded = 0;
    while discarded <= 64 * 1024 {
        let left = deadline
            .saturating_duration_since(Instant::now());
        if left.is_zero()
            || client
                .set_read_timeout(Some(left))
                .is_err()
        {
            break;
        }
        match client.read(scratch) {
            Ok(0) | Err(_) => break,
            Ok(count) => discarded += count,
        }
    }
}

/// A listener on an ephemeral port of 127.0.0.1.
fn listen_on_loopback(
    backlog: i32,
) -> anyhow::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        None,
    )?;
    common::options::allow_quick_rebind(&socket)?;
    socket.bind(
        &SocketAddr::from(([127, 0, 0, 1], 0)).into(),
    )?;
    socket
        .listen(backlog)
        .context("could not listen on 127.0.0.1")?;
    Ok(TcpListener::from(socket))
}

/// The inline ceiling server: the script's work for each client, with the
/// same lines printed, but done inside the accept loop with no hand-off to
/// another thread, and closing at once without tcp-server's graceful drain.
/// Little can be faster with blocking sockets; nothing is more fragile.
fn serve_inline(
    backlog: i32,
    graceful: bool,
) -> anyhow::Result<()> {
    let listener = listen_on_loopback(backlog)?;
    let mut out = LineWriter::new(io::stdout());
    writeln!(
        out,
        "[*] Listening on {}",
        listener.local_addr()?
    )?;
    let mut request = [0u8; 1024];
    loop {
        let Ok((mut client, address)) = listener.accept()
        else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let _ = writeln!(
            out,
            "[*] Accepted connection from: {address}"
        );
        let _ = client
            .set_read_timeout(Some(EXCHANGE_TIMEOUT));
        let _ = client
            .set_write_timeout(Some(EXCHANGE_TIMEOUT));
        let Ok(bytes_read) = client.read(&mut request)
        else {
            continue;
        };
        let _ = writeln!(
            out,
            "[*] Received: {}",
            PythonBytes(&request[..bytes_read])
        );
        if client.write_all(REPLY).is_err() {
            continue;
        }
        if let Ok(peer) = client.peer_addr() {
            let _ = writeln!(out, "{peer}");
        }
        if graceful {
            graceful_close(client, &mut request);
            continue;
        }
        // Close at once, as the script does: the least work per client.
        drop(client);
    }
}
