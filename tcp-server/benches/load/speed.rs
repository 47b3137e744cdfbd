//! Normal clients: one exchange, a run of many from several threads at
//! once, and the standard comparison of the servers' rates.

use std::collections::BTreeMap;
use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::options::Settings;
use crate::report::{self, Report};
use crate::servers::{Launch, Server};

/// The course script's request, byte for byte: 36 bytes.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n";
const REPLY: &[u8] = b"ACK!";
/// Each step of one exchange gives up after this long.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole run stops after this long, finished or not.
const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);
/// The Python servers are measured only up to this many clients: the
/// script's `listen(5)`, and asyncio's default backlog of 100, make larger
/// crowds wait for seconds.
const PYTHON_MOST_CLIENTS: usize = 64;
/// Rounds per server unless `--rounds` says otherwise.
const ROUNDS: usize = 3;

/// For each client count, rounds that take turns between the servers, so
/// that a burst of noise on a shared machine hits them all alike; then a
/// summary.
pub fn compare(
    lineup: &[(String, Launch)],
    settings: &Settings,
    log_folder: &Path,
) -> anyhow::Result<()> {
    let order: Vec<String> =
        lineup.iter().map(|(name, _)| name.clone()).collect();
    for &clients in &settings.client_counts {
        println!("\n== {clients} concurrent clients");
        let too_many_for = |name: &str| {
            matches!(name, "python" | "python-async")
                && clients > PYTHON_MOST_CLIENTS
        };
        for (name, _) in lineup.iter().filter(|(name, _)| too_many_for(name)) {
            println!(
                "  {name}: not run at over {PYTHON_MOST_CLIENTS} clients (its backlog)"
            );
        }
        let mut rounds: BTreeMap<String, Vec<Report>> = BTreeMap::new();
        for round in 1..=settings.rounds.unwrap_or(ROUNDS) {
            for (name, launch) in lineup {
                if too_many_for(name) {
                    continue;
                }
                let server = Server::start(name, launch, log_folder, settings)?;
                let report =
                    drive_load(server.address, clients, settings.exchanges);
                report.print(
                    &format!("{name} #{round}"),
                    &report::server_cost(&server, &report),
                );
                rounds.entry(name.clone()).or_default().push(report);
            }
        }
        report::print_summary(&order, &rounds);
    }
    Ok(())
}

/// Runs `exchanges` exchanges from `clients` threads and measures them.
pub fn drive_load(
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
                let mut errors = BTreeMap::<&'static str, usize>::new();
                while started.elapsed() < RUN_TIME_LIMIT
                    && take_ticket(&tickets)
                {
                    let exchange_started = Instant::now();
                    match one_exchange(address) {
                        Ok(()) => latencies.push(exchange_started.elapsed()),
                        Err(kind) => *errors.entry(kind).or_default() += 1,
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
        let (latencies, errors) = thread.join().unwrap_or_default();
        report.latencies.extend(latencies);
        for (kind, count) in errors {
            *report.errors.entry(kind).or_default() += count;
        }
    }
    report.elapsed = started.elapsed();
    let unfinished = tickets.load(Ordering::Relaxed);
    if unfinished > 0 {
        report.errors.insert("not run (time limit)", unfinished);
    }
    report.latencies.sort();
    report
}

/// Takes one of the exchanges left to do, if any are.
fn take_ticket(tickets: &AtomicUsize) -> bool {
    tickets
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

/// One exchange: connect, send the request, read `ACK!` up to the end of
/// the stream, close. The error names what went wrong, for the counts; a
/// reset is a failure.
pub fn one_exchange(address: SocketAddr) -> Result<(), &'static str> {
    let mut stream = TcpStream::connect_timeout(&address, EXCHANGE_TIMEOUT)
        .map_err(|error| match error.kind() {
            io::ErrorKind::TimedOut => "connect timeout",
            io::ErrorKind::ConnectionRefused => "connect refused",
            _ => "connect error",
        })?;
    stream
        .set_read_timeout(Some(EXCHANGE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(EXCHANGE_TIMEOUT)))
        .map_err(|_| "socket option")?;
    stream.write_all(REQUEST).map_err(|_| "send error")?;
    let mut reply = Vec::with_capacity(8);
    stream.read_to_end(&mut reply).map_err(|error| match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "read timeout",
        io::ErrorKind::ConnectionReset => "reset",
        _ => "read error",
    })?;
    if reply != REPLY {
        return Err("wrong reply");
    }
    Ok(())
}
