//! The benchmark (`cargo bench -p tcp-server`) explains itself. Its
//! command line lives in `benches/load/options.rs`, which needs only std
//! and anyhow, so this test includes it and checks it directly, without
//! building the bench in release: `--help`, every option, every server,
//! and a bad option's message.

// Formatted with the bench, at its width (benches/rustfmt.toml).
#[rustfmt::skip]
#[path = "../benches/load/options.rs"]
mod options;

use options::{
    BUILT_IN_SERVERS, Invocation, OwnServer, Settings,
    USAGE,
};

/// The arguments as the bench gets them.
fn arguments(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn settings(line: &str) -> Settings {
    match options::parse(&arguments(line)) {
        Ok(Invocation::Measure(settings)) => *settings,
        other => panic!("{line:?} gave {other:?}"),
    }
}

fn error(line: &str) -> String {
    match options::parse(&arguments(line)) {
        Err(error) => format!("{error:#}"),
        other => panic!(
            "{line:?} gave {other:?}, not an error"
        ),
    }
}

/// `--help` and `-h`, wherever they stand, ask for the usage, which
/// starts with the usage line and fits 80 columns.
#[test]
fn help_is_the_usage() {
    for line in [
        "--help",
        "-h",
        "--clients 16 --help",
        "--bench --help",
    ] {
        assert!(
            matches!(
                options::parse(&arguments(line)),
                Ok(Invocation::Help)
            ),
            "{line}"
        );
    }
    assert_eq!(
        USAGE.lines().next(),
        Some(
            "usage: load [--clients 1,16,64,256] [--exchanges N] [--servers LIST]"
        )
    );
    for line in USAGE.lines() {
        assert!(
            line.chars().count() <= 80,
            "too wide: {line:?}"
        );
    }
}

/// The help lists every server by name at the start of a line, and the
/// default servers are among them, `async` included.
#[test]
fn help_lists_every_server() {
    for name in BUILT_IN_SERVERS {
        let line = format!("  {name:<19}");
        assert!(
            USAGE.contains(&line),
            "{name} missing from --help"
        );
        let parsed =
            settings(&format!("--servers {name}"));
        assert_eq!(parsed.servers, [name]);
    }
    assert_eq!(
        settings("").servers,
        [
            "rust",
            "pool",
            "async",
            "python",
            "python-async"
        ]
    );
    assert!(USAGE.contains(
        "rust,pool,async,python,python-async)"
    ));
}

/// Without options: the standard comparison.
#[test]
fn defaults() {
    let parsed = settings("--bench");
    assert_eq!(parsed.client_counts, [1, 16, 64, 256]);
    assert_eq!(parsed.exchanges, 20_000);
    assert!(parsed.commands.is_empty());
    assert_eq!(parsed.rounds, None);
    assert!(parsed.silent_counts.is_empty());
    assert!(parsed.stall_counts.is_empty());
    assert_eq!(parsed.newcomer_crowd, None);
    assert_eq!(parsed.retire_crowd, None);
    assert_eq!(parsed.retire_seconds, 45);
    assert!(parsed.server_arguments.is_empty());
    assert!(parsed.wrap.is_empty());
    assert_eq!(parsed.server_descriptors, None);
}

/// Every option the help names sets what it says.
#[test]
fn every_option_sets_its_value() {
    let line = "--clients 16,64 --exchanges 500 --servers rust,go \
                --command go=./go-server --rounds 2 --silent 50,60 \
                --stall 70 --newcomer 20 --retire 30 --retire-seconds 2 \
                --server-args -w --wrap nice --server-fds 64";
    let parsed = settings(line);
    assert_eq!(parsed.client_counts, [16, 64]);
    assert_eq!(parsed.exchanges, 500);
    assert_eq!(parsed.servers, ["rust", "go"]);
    assert_eq!(
        parsed.commands.get("go").map(String::as_str),
        Some("./go-server")
    );
    assert_eq!(parsed.rounds, Some(2));
    assert_eq!(parsed.silent_counts, [50, 60]);
    assert_eq!(parsed.stall_counts, [70]);
    assert_eq!(parsed.newcomer_crowd, Some(20));
    assert_eq!(parsed.retire_crowd, Some(30));
    assert_eq!(parsed.retire_seconds, 2);
    assert_eq!(parsed.server_arguments, ["-w"]);
    assert_eq!(parsed.wrap, ["nice"]);
    assert_eq!(parsed.server_descriptors, Some(64));
    for flag in line
        .split_whitespace()
        .filter(|word| word.starts_with("--"))
    {
        assert!(
            USAGE.contains(&format!("  {flag} ")),
            "{flag} not in --help"
        );
    }
}

/// Bad options get one clear line each.
#[test]
fn bad_options_say_what_is_wrong() {
    assert_eq!(
        error("--bogus 1"),
        "unknown option '--bogus' (try --help)"
    );
    assert_eq!(
        error("--clients"),
        "--clients needs a value (try --help)"
    );
    assert_eq!(
        error("--exchanges many"),
        "invalid number 'many' for --exchanges: invalid digit found in string"
    );
    assert_eq!(
        error("--clients 16,0"),
        "--clients and --rounds need numbers of at least 1"
    );
    assert_eq!(
        error("--servers rust,nginx"),
        "unknown server 'nginx' in --servers (try --help)"
    );
    assert_eq!(
        error("--command nginx"),
        "--command needs NAME=CMD, not 'nginx'"
    );
}

/// The hidden options that make the bench one of its own servers.
#[test]
fn own_servers() {
    let server = |line: &str| match options::parse(
        &arguments(line),
    ) {
        Ok(Invocation::Serve(server)) => server,
        other => panic!("{line:?} gave {other:?}"),
    };
    assert_eq!(server("--serve-pool"), OwnServer::Pool);
    assert_eq!(
        server("--serve-handoff --bench"),
        OwnServer::Handoff
    );
    assert_eq!(
        server("--serve-inline 5"),
        OwnServer::Inline { backlog: 5, graceful: false }
    );
    assert_eq!(
        server("--serve-inline-graceful 1024"),
        OwnServer::Inline {
            backlog: 1024,
            graceful: true
        }
    );
}
