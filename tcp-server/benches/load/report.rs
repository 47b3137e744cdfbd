//! What a load run measured, and how the bench prints it: exchanges per
//! second, latencies, failures by kind, the server's CPU time, context
//! switches and memory, and the ratios between servers' rates.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::servers::Server;

/// What one load run measured.
pub struct Report {
    pub clients: usize,
    pub elapsed: Duration,
    /// The time each successful exchange took, sorted.
    pub latencies: Vec<Duration>,
    /// Failed exchanges, by what went wrong.
    pub errors: BTreeMap<&'static str, usize>,
}

impl Report {
    pub fn exchanges_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, fraction: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index =
            ((self.latencies.len() as f64 - 1.0) * fraction).round() as usize;
        self.latencies[index]
    }

    pub fn slowest(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }

    pub fn failures(&self) -> usize {
        self.errors.values().sum()
    }

    /// A handshake the kernel dropped for want of backlog is sent again
    /// after one second, so exchanges over a second show a full backlog.
    pub fn over_one_second(&self) -> usize {
        self.latencies
            .iter()
            .filter(|latency| **latency >= Duration::from_secs(1))
            .count()
    }

    /// One line: the rates, latencies and failures, then `about_server`.
    pub fn print(&self, name: &str, about_server: &str) {
        let errors = if self.errors.is_empty() {
            "no errors".to_string()
        } else {
            self.errors
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{name:>20}: {:>6.0} exchanges/s  p50 {:>5.2} ms  p99 {:>6.2} ms  max {:>7.1} ms  \
             over 1 s {:>4}  ok {:>5}  {errors}  ({} clients, {:.2} s; {about_server})",
            self.exchanges_per_second(),
            milliseconds(self.percentile(0.50)),
            milliseconds(self.percentile(0.99)),
            milliseconds(self.slowest()),
            self.over_one_second(),
            self.latencies.len(),
            self.clients,
            self.elapsed.as_secs_f64(),
        );
    }
}

pub fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// KiB (what /proc calls kB) in MiB, with one decimal.
pub fn mebibytes(kibibytes: u64) -> String {
    format!("{:.1} MiB", kibibytes as f64 / 1024.0)
}

/// The server's cost so far, per exchange of `report`: CPU time and
/// context switches, then its peak memory and threads (Linux only).
pub fn server_cost(server: &Server, report: &Report) -> String {
    let exchanges = report.latencies.len().max(1) as f64;
    let mut parts = Vec::new();
    if let Some(seconds) = server.cpu_seconds() {
        parts.push(format!(
            "server CPU {:.0} us/exchange",
            seconds * 1e6 / exchanges
        ));
    }
    if let Some(switches) = server.context_switches() {
        parts.push(format!(
            "{:.1} context switches/exchange",
            switches as f64 / exchanges
        ));
    }
    parts.push(peak_memory(server));
    parts.join(", ")
}

/// Peak resident memory (VmHWM) and threads now.
pub fn peak_memory(server: &Server) -> String {
    match server.status_field("VmHWM:") {
        Some(peak) => format!(
            "peak RSS {}, threads now {}",
            mebibytes(peak),
            server.threads_text()
        ),
        None => "peak RSS n/a".to_string(),
    }
}

/// Threads and resident memory now.
pub fn memory_now(server: &Server) -> String {
    format!(
        "{} threads, {} resident",
        server.threads_text(),
        server
            .status_field("VmRSS:")
            .map_or_else(|| "?".to_string(), mebibytes)
    )
}

/// The median round of each server, then the first server's rate over
/// each other's, round by round: the median and the range.
pub fn print_summary(order: &[String], rounds: &BTreeMap<String, Vec<Report>>) {
    println!("  median round of each:");
    for name in order {
        if let Some(reports) = rounds.get(name) {
            median_round(reports).print(name, "median");
        }
    }
    let mut measured =
        order.iter().filter_map(|name| Some((name, rounds.get(name)?)));
    let Some((first, first_rounds)) = measured.next() else {
        return;
    };
    for (other, other_rounds) in measured {
        let mut ratios: Vec<f64> = first_rounds
            .iter()
            .zip(other_rounds)
            .map(|(first, other)| {
                first.exchanges_per_second() / other.exchanges_per_second()
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "  {first} / {other}: {:.2}x exchanges/s (median of {} rounds; range {:.2}x-{:.2}x)",
            ratios[ratios.len() / 2],
            ratios.len(),
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
}

fn median_round(reports: &[Report]) -> &Report {
    let mut sorted: Vec<&Report> = reports.iter().collect();
    sorted.sort_by(|a, b| {
        a.exchanges_per_second().total_cmp(&b.exchanges_per_second())
    });
    sorted[sorted.len() / 2]
}
