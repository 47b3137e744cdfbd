//! Rude clients, and what they cost a server:
//!
//! - silent: connect and send nothing (`--silent`);
//! - stalling: send a few bytes, never read until the server's FIN, wait,
//!   close and come back (`--stall`);
//! - a newcomer against a crew full of silent clients (`--newcomer`);
//! - a burst of silent clients that leaves, and how long its threads and
//!   memory stay (`--retire`).

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::options::Settings;
use crate::report::{self, Report, mebibytes, milliseconds};
use crate::servers::{self, Launch, Server};
use crate::speed::{EXCHANGE_TIMEOUT, drive_load, one_exchange};

/// How long to wait for an idle connection to be accepted by the kernel.
const IDLE_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a stalling attacker waits after the server's FIN before it
/// closes: a little longer than tcp-server's drain waits.
const STALL_HOLD: Duration = Duration::from_millis(1100);
/// How long the stalling clients attack before the load begins: about one
/// round of each (connect, `ACK!`, the hold after the server's FIN).
const STALL_WARM_UP: Duration = Duration::from_secs(2);
/// How long to wait for a server to accept a crowd before measuring it.
const CROWD_ACCEPT_LIMIT: Duration = Duration::from_secs(10);
/// How often `--retire` looks at the server.
const RETIRE_STEP: Duration = Duration::from_secs(5);
/// Tries of `--newcomer` unless `--rounds` says otherwise.
const NEWCOMER_TRIES: usize = 10;
/// How long a silent client must have waited before tcp-server's crew
/// drops it for a newcomer (its `LEAST_SILENCE`), with a margin.
const OLDER_THAN_LEAST_SILENCE: Duration = Duration::from_millis(500);
/// How long after the newcomer's exchange to look at the silent clients.
const NEWCOMER_SETTLE: Duration = Duration::from_millis(200);
/// The line tcp-server logs for each client it drops for a newcomer.
const DROPPED: &str = "dropped to make room";

/// For each count of silent (or stalling) clients, a fresh server serves
/// the first `--clients` count alone, then again while they are there.
pub fn slow_clients(
    lineup: &[(String, Launch)],
    settings: &Settings,
    log_folder: &Path,
) -> anyhow::Result<()> {
    let clients = settings.client_counts[0];
    let modes = settings
        .silent_counts
        .iter()
        .map(|&count| (count, false))
        .chain(settings.stall_counts.iter().map(|&count| (count, true)));
    for (count, stalling) in modes {
        for (name, launch) in lineup {
            if name.starts_with("inline") {
                println!(
                    "\n  {name}: skipped: one silent client blocks it for everyone"
                );
                continue;
            }
            let kind = if stalling { "stalling" } else { "silent" };
            let server = Server::start(name, launch, log_folder, settings)?;
            println!(
                "\n== {name}: {clients} clients, alone and with {count} {kind} clients"
            );
            let alone = drive_load(server.address, clients, settings.exchanges);
            alone.print("alone", &report::peak_memory(&server));
            let (during, held) = if stalling {
                (stalled_load(&server, count, clients, settings), String::new())
            } else {
                silent_load(&server, count, clients, settings)
            };
            during.print(
                &format!("{count} {kind}"),
                &report::peak_memory(&server),
            );
            let dropped = server.log_lines_ending_with(DROPPED);
            let about_threads =
                server.log_lines_where(|line| line.contains("thread"));
            println!(
                "  with {count} {kind}: {:.2}x the rate alone, p99 {:.2} ms, {} over 1 s, slowest {:.0} ms, {} failed; \
                 log: {dropped} dropped to make room, {about_threads} lines about threads{held}",
                during.exchanges_per_second() / alone.exchanges_per_second(),
                milliseconds(during.percentile(0.99)),
                during.over_one_second(),
                milliseconds(during.slowest()),
                during.failures(),
            );
        }
    }
    Ok(())
}

/// The load while `count` stalling clients attack.
fn stalled_load(
    server: &Server,
    count: usize,
    clients: usize,
    settings: &Settings,
) -> Report {
    let attack = Stalling::start(server.address, count);
    // The attack's steady state, not its first wave, is what we measure.
    thread::sleep(STALL_WARM_UP);
    let during = drive_load(server.address, clients, settings.exchanges);
    let connections = attack.stop();
    println!("  stalling clients made {connections} connections");
    during
}

/// The load while `count` silent connections are held, and what became
/// of them. The server's memory is read before they come and when the
/// load ends, both times just after a load run, so that the difference
/// is what the silent connections still held cost.
fn silent_load(
    server: &Server,
    count: usize,
    clients: usize,
    settings: &Settings,
) -> (Report, String) {
    let memory_before = server.status_field("VmRSS:");
    let silent = open_idle_connections(server.address, count);
    let held_before = still_open(&silent);
    let during = drive_load(server.address, clients, settings.exchanges);
    let held_after = still_open(&silent);
    print_memory_per_connection(server, memory_before, held_after);
    let held = format!(
        "; silent connections: {} of {count} connected, {held_before} held when the load began, {held_after} when it ended",
        silent.len()
    );
    (during, held)
}

/// The server's resident memory before and with `held` silent
/// connections, and the difference per connection, in KiB (Linux only).
fn print_memory_per_connection(
    server: &Server,
    memory_before: Option<u64>,
    held: usize,
) {
    let memory_with = server.status_field("VmRSS:");
    let (Some(before), Some(with)) = (memory_before, memory_with) else {
        println!("  memory per silent connection: n/a (no /proc here)");
        return;
    };
    let per_connection = (with as f64 - before as f64) / held.max(1) as f64;
    println!(
        "  memory: {} resident before the silent connections, {} with {held} of them held \
         ({} threads): {per_connection:.1} KiB per silent connection held",
        mebibytes(before),
        mebibytes(with),
        server.threads_text(),
    );
}

/// Retirement: what a burst of silent clients leaves behind in `rust`,
/// and for how long.
pub fn retire(
    settings: &Settings,
    log_folder: &Path,
    crowd: usize,
) -> anyhow::Result<()> {
    let launch = servers::rust(&settings.server_arguments);
    let server = Server::start("rust", &launch, log_folder, settings)?;
    println!("before: {}", report::memory_now(&server));
    let silent = open_idle_connections(server.address, crowd);
    let accepted = server.wait_for_accepted(silent.len(), CROWD_ACCEPT_LIMIT);
    println!(
        "with {} silent clients ({accepted} accepted): {}",
        silent.len(),
        report::memory_now(&server)
    );
    drop(silent);
    let watch = Duration::from_secs(settings.retire_seconds);
    let left = Instant::now();
    while left.elapsed() < watch {
        thread::sleep(RETIRE_STEP.min(watch.saturating_sub(left.elapsed())));
        println!(
            "{:>3.0} s after they left: {}",
            left.elapsed().as_secs_f64(),
            report::memory_now(&server)
        );
    }
    Ok(())
}

/// Newcomer: how many silent clients one newcomer costs `rust` when they
/// hold every thread.
pub fn newcomer(
    settings: &Settings,
    log_folder: &Path,
    crowd: usize,
) -> anyhow::Result<()> {
    let tries = settings.rounds.unwrap_or(NEWCOMER_TRIES);
    let launch = servers::rust(&[
        "-w".into(),
        "30".into(),
        "--max-clients".into(),
        crowd.to_string(),
    ]);
    let mut counts = Vec::new();
    for _ in 0..tries {
        let server = Server::start("rust", &launch, log_folder, settings)?;
        let silent = open_idle_connections(server.address, crowd);
        server.wait_for_accepted(silent.len(), CROWD_ACCEPT_LIMIT);
        // Only a client silent for long enough may give way.
        thread::sleep(OLDER_THAN_LEAST_SILENCE);
        let outcome = one_exchange(server.address);
        thread::sleep(NEWCOMER_SETTLE);
        let held = still_open(&silent);
        let dropped = server.log_lines_ending_with(DROPPED);
        println!(
            "  {} silent connected, newcomer {}, {dropped} dropped in the log, {held} still held",
            silent.len(),
            if outcome.is_ok() { "served" } else { "failed" },
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
    fn start(address: SocketAddr, count: usize) -> Stalling {
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let threads = (0..count)
            .filter_map(|_| {
                let stop = Arc::clone(&stop);
                let connections = Arc::clone(&connections);
                thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || stall(address, &stop, &connections))
                    .ok()
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

/// One stalling attacker, until `stop`.
fn stall(address: SocketAddr, stop: &AtomicBool, connections: &AtomicUsize) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) =
            TcpStream::connect_timeout(&address, IDLE_CONNECT_TIMEOUT)
        else {
            thread::sleep(Duration::from_millis(100));
            continue;
        };
        connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_read_timeout(Some(EXCHANGE_TIMEOUT));
        let _ = stream.write_all(b"GET");
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        thread::sleep(STALL_HOLD);
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
            // End of stream, a reset, or data: the server is done with
            // it. Only WouldBlock means it is still held.
            let held = matches!(
                stream.read(&mut scratch),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock
            );
            let _ = stream.set_nonblocking(false);
            held
        })
        .count()
}

/// Opens up to `count` connections that send nothing, from several
/// threads at once, since a connect past the server's backlog waits for a
/// timeout.
fn open_idle_connections(address: SocketAddr, count: usize) -> Vec<TcpStream> {
    const OPENERS: usize = 16;
    let openers: Vec<_> = (0..OPENERS)
        .map(|opener| {
            let share = count / OPENERS + usize::from(opener < count % OPENERS);
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
        .flat_map(|opener| opener.join().unwrap_or_default())
        .collect()
}
