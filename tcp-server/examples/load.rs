//! Load generator for tcp-server: how fast is it, and what do slow clients cost?
//!
//! Build the server, then run the benchmark, both in release mode:
//!
//!     cargo build --release -p tcp-server
//!     cargo run --release -p tcp-server --example load
//!
//! In one run it starts, each on an ephemeral loopback port:
//!
//! - `rust`: the real `tcp-server`, with its default settings;
//! - `python`: the reference `docs/python/tcp_server.py`;
//! - `inline`: a minimal Rust server that answers each client inside its
//!   accept loop, with no hand-off to another thread. This is the practical
//!   ceiling, though one idle client blocks it for everyone.
//!
//! and, if you ask for it with `--servers`:
//!
//! - `thread-per-client`: the exercise answer
//!   `examples/thread-per-client.rs`, a new thread for each client, as the
//!   script does. Build it first: `cargo build --release -p tcp-server
//!   --examples`.
//!
//! It sends each server the same load: a number of exchanges, each one
//! connect, send the script's 36-byte GET request, read `ACK!` up to the
//! end of the stream, close. Every server prints its usual lines into a
//! file. It prints exchanges per second, p50 and p99 latency, errors by kind
//! and the ratios between the servers.
//!
//! Options:
//!
//!     --clients 16,64     concurrent clients, one run for each (default 16,64)
//!     --exchanges N       exchanges per run (default 20000)
//!     --servers LIST      which servers, from rust, python, inline,
//!                         inline-graceful (the inline server with
//!                         tcp-server's graceful close) and inline-backlog-5
//!                         (with the script's listen(5)), and
//!                         thread-per-client (examples/thread-per-client.rs)
//!                         (default rust,python,inline)
//!     --rounds R          runs per server, taking turns; the summary shows
//!                         the median round of each (default 3)
//!     --silent 300,2000   slow-client mode: for each count, a fresh server
//!                         serves the first of --clients alone, then again
//!                         while that many silent connections (connected,
//!                         sending nothing) are held open
//!     --server-fds N      start each server under `ulimit -n N`
//!     -h, --help          print this
//!
//! Everything stays on 127.0.0.1, and every run, wait and connection has a
//! time limit.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{
    self, BufRead as _, BufReader, LineWriter, Read as _,
    Write as _,
};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::PythonBytes;

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
/// The inline server's listen backlog, the same as tcp-server's.
const INLINE_BACKLOG: i32 = 1024;

fn main() -> ExitCode {
    common::exit_status(run())
}

struct Settings {
    client_counts: Vec<usize>,
    exchanges: usize,
    servers: Vec<String>,
    silent_counts: Vec<usize>,
    server_descriptors: Option<usize>,
    rounds: usize,
}

/// What `--help` prints: the options at the top of this file.
const USAGE: &str =
    "usage: load [--clients 16,64] [--exchanges N] [--servers LIST]
            [--rounds R] [--silent 300,2000] [--server-fds N]

Runs tcp-server, the Python reference server and an inline ceiling server
under the same load on 127.0.0.1 and prints exchanges/s, latencies, errors
and ratios. Build first: cargo build --release -p tcp-server

  --clients 16,64     concurrent clients, one run for each
  --exchanges N       exchanges per run (default 20000)
  --servers LIST      from rust, python, inline, inline-graceful,
                      inline-backlog-5 and thread-per-client (build it:
                      cargo build --release -p tcp-server --examples)
                      (default rust,python,inline)
  --rounds R          runs per server, taking turns (default 3)
  --silent 300,2000   slow-client mode: the first --clients count alone,
                      then while that many silent connections are held
  --server-fds N      start each server under `ulimit -n N` (Unix)
  -h, --help          print this
";

fn run() -> anyhow::Result<()> {
    let arguments: Vec<String> =
        std::env::args().skip(1).collect();
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
    if arguments.iter().any(|argument| {
        argument == "-h" || argument == "--help"
    }) {
        let _ = io::stdout().write_all(USAGE.as_bytes());
        return Ok(());
    }
    let settings = parse_settings(&arguments)?;
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

    if !settings.silent_counts.is_empty() {
        return run_slow_client_mode(
            &settings,
            &log_folder,
        );
    }

    for &clients in &settings.client_counts {
        println!("\n== {clients} concurrent clients");
        // Rounds take turns between the servers, so that a burst of noise on
        // this shared machine hits them all alike; the summary takes the
        // median round of each.
        let mut rounds: BTreeMap<String, Vec<Report>> =
            BTreeMap::new();
        for round in 1..=settings.rounds {
            for server_name in &settings.servers {
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
                let peak =
                    server.peak_memory_and_threads();
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
        let medians: BTreeMap<String, Report> = rounds
            .into_iter()
            .map(|(name, mut reports)| {
                reports.sort_by(|a, b| {
                    a.exchanges_per_second().total_cmp(
                        &b.exchanges_per_second(),
                    )
                });
                let median = reports
                    .swap_remove(reports.len() / 2);
                (name, median)
            })
            .collect();
        println!(
            "  median of {} rounds:",
            settings.rounds
        );
        for (name, report) in &medians {
            report.print(name, "median round");
        }
        print_ratios(&medians);
    }
    Ok(())
}

fn parse_settings(
    arguments: &[String],
) -> anyhow::Result<Settings> {
    let mut settings = Settings {
        client_counts: vec![16, 64],
        exchanges: 20_000,
        servers: vec![
            "rust".into(),
            "python".into(),
            "inline".into(),
        ],
        silent_counts: Vec::new(),
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
        match flag.as_str() {
            "--clients" => {
                settings.client_counts = value
                    .split(',')
                    .map(number)
                    .collect::<Result<_, _>>()?
            }
            "--exchanges" => {
                settings.exchanges = number(value)?
            }
            "--silent" => {
                settings.silent_counts = value
                    .split(',')
                    .map(number)
                    .collect::<Result<_, _>>()?
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

/// A server under test, running as a child process with its output in a file.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(
        name: &str,
        log_folder: &std::path::Path,
        settings: &Settings,
    ) -> anyhow::Result<Server> {
        let here = std::env::current_exe().context(
            "could not find this program's path",
        )?;
        // target/release/examples/load -> target/release/
        let target_folder = here
            .parent()
            .and_then(|examples| examples.parent())
            .context("this program should sit in target/*/examples")?;
        let mut command = match name {
            "rust" => {
                let binary = target_folder.join(format!(
                    "tcp-server{}",
                    std::env::consts::EXE_SUFFIX
                ));
                if !binary.exists() {
                    bail!(
                        "{} is missing; build it first: cargo build --release -p tcp-server",
                        binary.display()
                    );
                }
                let mut command = Command::new(binary);
                command.args(["127.0.0.1", "0"]);
                command
            }
            // The exercise answer with a new thread per client.
            "thread-per-client" => {
                let binary = target_folder
                    .join("examples")
                    .join(format!(
                        "thread-per-client{}",
                        std::env::consts::EXE_SUFFIX
                    ));
                if !binary.exists() {
                    bail!(
                        "{} is missing; build it first: cargo build --release -p tcp-server --examples",
                        binary.display()
                    );
                }
                let mut command = Command::new(binary);
                command.args(["127.0.0.1", "0"]);
                command
            }
            "python" => {
                let script = PathBuf::from(env!(
                    "CARGO_MANIFEST_DIR"
                ))
                .join("../docs/python/tcp_server.py");
                let mut command = Command::new("python3");
                command
                    .arg(script)
                    .args(["127.0.0.1", "0"]);
                command
            }
            "inline" => {
                let mut command = Command::new(&here);
                command.args([
                    "--serve-inline",
                    &INLINE_BACKLOG.to_string(),
                ]);
                command
            }
            // The inline server with tcp-server's graceful close, to show
            // what closing without a reset costs.
            "inline-graceful" => {
                let mut command = Command::new(&here);
                command.args([
                    "--serve-inline-graceful",
                    &INLINE_BACKLOG.to_string(),
                ]);
                command
            }
            // The same inline server with the script's `listen(5)`, to show
            // what a short backlog costs.
            "inline-backlog-5" => {
                let mut command = Command::new(&here);
                command.args(["--serve-inline", "5"]);
                command
            }
            other => {
                bail!(
                    "unknown server '{other}': expected rust, python, inline, inline-graceful, inline-backlog-5 or thread-per-client"
                )
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

fn print_ratios(results: &BTreeMap<String, Report>) {
    if let (Some(graceful), Some(inline)) = (
        results.get("inline-graceful"),
        results.get("inline"),
    ) {
        println!(
            "  what closing without a reset costs: inline-graceful / inline: {:.2}x exchanges/s",
            graceful.exchanges_per_second()
                / inline.exchanges_per_second()
        );
    }
    let Some(rust) = results.get("rust") else {
        return;
    };
    for other in [
        "python",
        "inline",
        "inline-graceful",
        "thread-per-client",
    ] {
        if let Some(report) = results.get(other) {
            println!(
                "  rust / {other}: {:.2}x exchanges/s, p99 {:.2} ms vs {:.2} ms",
                rust.exchanges_per_second()
                    / report.exchanges_per_second(),
                milliseconds(rust.percentile(0.99)),
                milliseconds(report.percentile(0.99)),
            );
        }
    }
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

/// Slow-client mode: for each count of silent connections, a fresh server
/// serves the load alone, then again while the silent ones are held open.
fn run_slow_client_mode(
    settings: &Settings,
    log_folder: &std::path::Path,
) -> anyhow::Result<()> {
    let clients = settings.client_counts[0];
    for server_name in &settings.servers {
        if server_name.starts_with("inline") {
            println!(
                "\n  {server_name}: skipped in slow-client mode: one silent client blocks it for everyone"
            );
            continue;
        }
        for &silent_count in &settings.silent_counts {
            let server = Server::start(
                server_name,
                log_folder,
                settings,
            )?;
            println!(
                "\n== {server_name}: {clients} clients, alone and with {silent_count} silent connections held"
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
            let silent = open_idle_connections(
                server.address,
                silent_count,
            );
            let held_before = still_open(&silent);
            let during = drive_load(
                server.address,
                clients,
                settings.exchanges,
            );
            let held_after = still_open(&silent);
            during.print(
                &format!("{silent_count} silent"),
                &server.peak_memory_and_threads(),
            );
            println!(
                "  silent connections: {} of {silent_count} connected, {held_before} still held when the load began, {held_after} when it ended",
                silent.len(),
            );
            println!(
                "  with {silent_count} silent: {:.2}x the rate alone, p99 {:.2} ms, {} over 1 s, {} failed",
                during.exchanges_per_second()
                    / alone.exchanges_per_second(),
                milliseconds(during.percentile(0.99)),
                during.over_one_second(),
                during.errors.values().sum::<usize>(),
            );
        }
    }
    Ok(())
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

/// The inline ceiling server: the script's work for each client, with the
/// same lines printed, but done inside the accept loop with no hand-off to
/// another thread, and closing at once without tcp-server's graceful drain.
/// Little can be faster with blocking sockets; nothing is more fragile.
fn serve_inline(
    backlog: i32,
    graceful: bool,
) -> anyhow::Result<()> {
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
    let listener = std::net::TcpListener::from(socket);
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
            // tcp-server's close: FIN after ACK!, then read until the
            // client closes too (see tcp-server/src/graceful_close.rs).
            if client
                .shutdown(std::net::Shutdown::Write)
                .is_ok()
            {
                let _ = client.set_read_timeout(Some(
                    Duration::from_secs(1),
                ));
                while matches!(client.read(&mut request), Ok(count) if count > 0)
                {
                }
            }
        }
        // Close at once, as the script does: the least work per client.
        drop(client);
    }
}
