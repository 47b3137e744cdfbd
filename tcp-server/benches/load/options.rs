//! The bench's command line: what `--help` prints and what each option
//! sets. It needs nothing but std and anyhow, so that
//! `tcp-server/tests/bench.rs` can include it with `#[path]` and check it
//! without building the bench in release.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};

/// Every server the bench knows by name; `--command` adds more.
pub const BUILT_IN_SERVERS: [&str; 10] = [
    "rust",
    "pool",
    "handoff",
    "async",
    "python",
    "python-async",
    "inline",
    "inline-graceful",
    "inline-backlog-5",
    "thread-per-client",
];

/// The servers of `cargo bench -p tcp-server` without `--servers`.
pub const DEFAULT_SERVERS: [&str; 5] =
    ["rust", "pool", "async", "python", "python-async"];

/// What `--help` prints. Each option is explained at more length at the
/// top of `main.rs`.
pub const USAGE: &str = "\
usage: load [--clients 1,16,64,256] [--exchanges N] [--servers LIST]
            [--command NAME=CMD] [--rounds R] [--silent 300,2000]
            [--stall 1200] [--newcomer 100] [--retire 1000]
            [--retire-seconds S] [--server-args ARGS] [--wrap CMD]
            [--server-fds N]

Runs tcp-server and other servers doing the same work under the same load
on 127.0.0.1. Prints exchanges/s, latencies, failures, the server's CPU
time and context switches per exchange, and the first server's rate over
each other's. Run it with: cargo bench -p tcp-server -- [OPTIONS]

Servers:
  rust               tcp-server, built by cargo bench
  pool               16 threads that each accept and serve
  handoff            one accept loop hands clients to 16 threads
  async              tcp-server/examples/async-server/ (tokio)
  python             docs/python/tcp_server.py
  python-async       docs/python/tcp_server_async.py (asyncio)
  inline             serves each client inside its accept loop
  inline-graceful    inline, with tcp-server's graceful close
  inline-backlog-5   inline, with the script's listen(5)
  thread-per-client  exercise 5's answer: a new thread per client
The bench builds async and thread-per-client with cargo, and runs Python
as python3, python or py -3, whichever it finds first.

Options:
  --clients 1,16,64,256  concurrent clients, one run for each
  --exchanges N          exchanges per run (default 20000)
  --servers LIST         servers to compare (default
                         rust,pool,async,python,python-async)
  --command NAME=CMD     a server NAME, run as a command line that
                         must print `[*] Listening on IP:PORT` first
  --rounds R             runs per server, taking turns (default 3)
  --silent 300,2000      the first --clients count alone, then while
                         that many silent connections are held; the
                         server's memory per silent connection
  --stall 1200           the same with clients that send a few bytes,
                         stall, close 1.1 s after the server's FIN
                         and come back
  --newcomer 100         R tries (default 10): 100 silent clients fill
                         rust --max-clients 100, one newcomer comes;
                         how many were dropped to make room
  --retire 1000          that many silent clients come and go; rust's
                         threads and memory every 5 s after they left
  --retire-seconds S     how long --retire watches (default 45)
  --server-args ARGS     extra arguments for rust, e.g. \"-w 30\"
  --wrap CMD             start servers under a command prefix, e.g.
                         \"prlimit --nproc=3 --\" (Unix)
  --server-fds N         start each server under `ulimit -n N` (Unix)
  -h, --help             print this
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    Help,
    /// Measure, with these settings.
    Measure(Box<Settings>),
    /// Be one of the bench's own servers: the bench starts itself again
    /// with a hidden `--serve-…` option, so that each server under test
    /// is a process of its own, like tcp-server.
    Serve(OwnServer),
}

/// The servers written in the bench itself (`baseline_servers.rs`).
#[derive(Debug, PartialEq, Eq)]
pub enum OwnServer {
    Pool,
    Handoff,
    Inline { backlog: i32, graceful: bool },
}

/// The options of a measuring run.
#[derive(Debug)]
pub struct Settings {
    pub client_counts: Vec<usize>,
    pub exchanges: usize,
    pub servers: Vec<String>,
    /// `--command NAME=CMD`: each name's command line.
    pub commands: BTreeMap<String, String>,
    /// `--rounds`, if given: the modes differ in their default.
    pub rounds: Option<usize>,
    pub silent_counts: Vec<usize>,
    pub stall_counts: Vec<usize>,
    pub newcomer_crowd: Option<usize>,
    pub retire_crowd: Option<usize>,
    pub retire_seconds: u64,
    pub server_arguments: Vec<String>,
    pub wrap: Vec<String>,
    pub server_descriptors: Option<usize>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            client_counts: vec![1, 16, 64, 256],
            exchanges: 20_000,
            servers: DEFAULT_SERVERS.map(str::to_string).to_vec(),
            commands: BTreeMap::new(),
            rounds: None,
            silent_counts: Vec::new(),
            stall_counts: Vec::new(),
            newcomer_crowd: None,
            retire_crowd: None,
            retire_seconds: 45,
            server_arguments: Vec::new(),
            wrap: Vec::new(),
            server_descriptors: None,
        }
    }
}

/// Reads the arguments that follow the program's name.
pub fn parse(arguments: &[String]) -> anyhow::Result<Invocation> {
    // `cargo bench` adds `--bench`; it means nothing here.
    let arguments: Vec<&str> = arguments
        .iter()
        .map(String::as_str)
        .filter(|argument| *argument != "--bench")
        .collect();
    if let Some(server) = own_server(&arguments)? {
        return Ok(Invocation::Serve(server));
    }
    if arguments
        .iter()
        .any(|argument| *argument == "-h" || *argument == "--help")
    {
        return Ok(Invocation::Help);
    }
    let mut settings = Settings::default();
    let mut arguments = arguments.into_iter();
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .with_context(|| format!("{flag} needs a value (try --help)"))?;
        set(&mut settings, flag, value)?;
    }
    if settings.client_counts.contains(&0) || settings.rounds == Some(0) {
        bail!("--clients and --rounds need numbers of at least 1");
    }
    for name in &settings.servers {
        if !BUILT_IN_SERVERS.contains(&name.as_str())
            && !settings.commands.contains_key(name)
        {
            bail!("unknown server '{name}' in --servers (try --help)");
        }
    }
    Ok(Invocation::Measure(Box::new(settings)))
}

/// The hidden options that make the bench one of its own servers.
fn own_server(arguments: &[&str]) -> anyhow::Result<Option<OwnServer>> {
    let server = match arguments {
        ["--serve-pool"] => OwnServer::Pool,
        ["--serve-handoff"] => OwnServer::Handoff,
        [flag @ ("--serve-inline" | "--serve-inline-graceful"), backlog] => {
            OwnServer::Inline {
                backlog: backlog.parse().with_context(|| {
                    format!("invalid backlog '{backlog}' for {flag}")
                })?,
                graceful: *flag == "--serve-inline-graceful",
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(server))
}

/// Applies one option and its value.
fn set(settings: &mut Settings, flag: &str, value: &str) -> anyhow::Result<()> {
    let number = |text: &str| {
        text.parse::<usize>()
            .with_context(|| format!("invalid number '{text}' for {flag}"))
    };
    let numbers = |text: &str| {
        text.split(',').map(number).collect::<anyhow::Result<Vec<_>>>()
    };
    let words = |text: &str| {
        text.split_whitespace().map(str::to_string).collect::<Vec<_>>()
    };
    match flag {
        "--clients" => settings.client_counts = numbers(value)?,
        "--exchanges" => settings.exchanges = number(value)?,
        "--servers" => {
            settings.servers = value.split(',').map(str::to_string).collect()
        }
        "--command" => {
            let (name, command) = value.split_once('=').with_context(|| {
                format!("--command needs NAME=CMD, not '{value}'")
            })?;
            settings.commands.insert(name.into(), command.into());
        }
        "--rounds" => settings.rounds = Some(number(value)?),
        "--silent" => settings.silent_counts = numbers(value)?,
        "--stall" => settings.stall_counts = numbers(value)?,
        "--newcomer" => settings.newcomer_crowd = Some(number(value)?),
        "--retire" => settings.retire_crowd = Some(number(value)?),
        "--retire-seconds" => {
            settings.retire_seconds = value.parse().with_context(|| {
                format!("invalid number '{value}' for {flag}")
            })?
        }
        "--server-args" => settings.server_arguments = words(value),
        "--wrap" => settings.wrap = words(value),
        "--server-fds" => settings.server_descriptors = Some(number(value)?),
        _ => {
            bail!("unknown option '{flag}' (try --help)")
        }
    }
    Ok(())
}
