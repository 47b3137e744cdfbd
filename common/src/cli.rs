//! The command line the three programs share:
//! `[-w SECS] [--max-clients N] [HOST] [PORT]`.
//!
//! Like clap, [`Program::parse`] ends the process itself when there is
//! nothing to run: `-h`/`--help` prints the help and `-V`/`--version` the
//! version, and both exit with status 0. A usage error prints three lines,
//! `error: ` and what is wrong, `usage: ` and the usage, then
//! `for more, try --help`, and exits with status 2.

use std::ffi::OsString;
use std::io::{self, Write};
use std::process;
use std::time::Duration;

use crate::options::SHORTEST_WAIT;

/// Exit status for a bad command line, as with most Unix tools.
const USAGE_ERROR_STATUS: i32 = 2;

/// The last line of a usage error.
pub const TRY_HELP: &str = "for more, try --help";

/// What `--version` prints after the name. Every program takes its version
/// from the workspace's `Cargo.toml`, so `common`'s is theirs too.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What one program accepts, and how its `--help` describes it.
pub struct Program {
    /// The program's name, as typed after `cargo run -p`.
    pub name: &'static str,
    /// What the program does, in lines of at most 78 characters.
    pub about: &'static str,
    /// The first argument's name in the usage: `HOST` or `BIND_IP`.
    pub host: &'static str,
    /// The first argument's default.
    pub default_host: &'static str,
    /// The port's default.
    pub default_port: u16,
    /// The default for `-w SECS`, in whole seconds; 0 waits forever.
    pub default_wait: u64,
    /// What `-w SECS` means for this program, in at most 56 characters.
    pub wait_help: &'static str,
    /// Whether the program listens, and so may ask for port 0: any free port.
    pub listens: bool,
    /// `Some(default)` if the program takes `--max-clients N`.
    pub max_clients: Option<usize>,
    /// Commands that run this program with its partner, one per line.
    pub example: &'static str,
}

/// A command line that has been read and checked.
#[derive(Debug, PartialEq)]
pub struct Arguments {
    /// A host name or IP address, without the `[` `]` of `[::1]`.
    pub host: String,
    /// The port, already checked to be in range.
    pub port: u16,
    /// `-w SECS` as a duration, or `None` for `-w 0`: wait forever.
    pub wait: Option<Duration>,
    /// `--max-clients N`, for a program that takes it.
    pub max_clients: Option<usize>,
}

/// What a command line asks for, when it is not a usage error.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Run the program with these arguments.
    Run(Arguments),
    /// Print the help and exit with status 0.
    Help,
    /// Print the name and version and exit with status 0.
    Version,
}

impl Program {
    /// Reads the process's arguments. Returns only when the program should
    /// run; otherwise prints the help or a usage error and exits.
    pub fn parse(&self) -> Arguments {
        match self.read(std::env::args_os().skip(1).collect()) {
            Ok(Outcome::Run(arguments)) => arguments,
            Ok(Outcome::Help) => exit_after(&mut io::stdout(), &self.help(), 0),
            Ok(Outcome::Version) => {
                let version = format!("{} {VERSION}\n", self.name);
                exit_after(&mut io::stdout(), &version, 0)
            }
            Err(message) => {
                let usage = self.usage();
                let text = format!("error: {message}\n{usage}\n{TRY_HELP}\n");
                exit_after(&mut io::stderr(), &text, USAGE_ERROR_STATUS)
            }
        }
    }

    /// Decides what a list of arguments (without the program's name) asks
    /// for. An `Err` is a usage error, the message saying what is wrong.
    pub fn read(&self, arguments: Vec<OsString>) -> Result<Outcome, String> {
        let default_wait = Duration::from_secs(self.default_wait);
        let mut wait = Some(default_wait).filter(|wait| !wait.is_zero());
        let mut max_clients = self.max_clients;
        let mut positionals = Vec::new();
        let mut arguments = arguments.into_iter().map(|argument| {
            argument.into_string().map_err(|argument| {
                format!("argument {argument:?} is not valid UTF-8")
            })
        });
        while let Some(argument) = arguments.next() {
            let argument = argument?;
            let mut value = || {
                let missing = || Err(format!("{argument} needs a value"));
                arguments.next().unwrap_or_else(missing)
            };
            match argument.as_str() {
                "-h" | "--help" => return Ok(Outcome::Help),
                "-V" | "--version" => return Ok(Outcome::Version),
                "-w" => wait = parse_wait(&value()?)?,
                "--max-clients" if max_clients.is_some() => {
                    max_clients = Some(parse_count(&value()?)?)
                }
                // After `--`, everything is HOST or PORT, even "-h".
                "--" => positionals.extend(arguments.by_ref()),
                // "-1" is a bad port rather than an unknown flag.
                flag if flag.starts_with('-')
                    && flag.parse::<f64>().is_err() =>
                {
                    return Err(format!("unknown option '{flag}'"));
                }
                _ => positionals.push(Ok(argument)),
            }
        }
        let mut positionals = positionals.into_iter();
        let given_host = positionals.next().transpose()?;
        let host = given_host.as_deref().unwrap_or(self.default_host);
        // Allow the bracketed form of an IPv6 literal, as in URLs: [::1]
        let unbracketed =
            host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let host = unbracketed.unwrap_or(host).to_string();
        if host.is_empty() {
            return Err(format!("{} must not be empty", self.host));
        }
        // A server may ask for port 0, "any free port"; a client may not.
        let lowest_port = u16::from(!self.listens);
        let port = match positionals.next().transpose()? {
            None => self.default_port,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port >= lowest_port => port,
                _ => Err(format!(
                    "invalid port '{text}': expected a number from {lowest_port} to 65535"
                ))?,
            },
        };
        if let Some(extra) = positionals.next().transpose()? {
            return Err(format!("unexpected argument '{extra}'"));
        }
        Ok(Outcome::Run(Arguments { host, port, wait, max_clients }))
    }

    /// The one-line usage, printed after a usage error.
    pub fn usage(&self) -> String {
        let max_clients = self.max_clients.map_or("", |_| " [--max-clients N]");
        let (name, host) = (self.name, self.host);
        format!("usage: {name} [-w SECS]{max_clients} [{host}] [PORT]")
    }

    /// The full help for `-h`/`--help`, within 80 columns.
    pub fn help(&self) -> String {
        let mut help = format!("{}\n\n{}\n\n", self.about, self.usage());
        let mut row = |left: &str, right: &dyn std::fmt::Display| {
            help.push_str(&format!("  {left:<17} {right}\n"));
        };
        row(self.host, &format_args!("default: {}", self.default_host));
        row("PORT", &format_args!("default: {}", self.default_port));
        let wait = (self.wait_help, self.default_wait);
        row("-w SECS", &format_args!("{} (default: {})", wait.0, wait.1));
        row("", &"a SECS below 0.001 counts as 0.001 (1 ms)");
        if let Some(n) = self.max_clients {
            row(
                "--max-clients N",
                &format_args!("at most N at once (default: {n})"),
            );
        }
        row("-h, --help", &"print this help");
        row("-V, --version", &"print the version");
        let example = self.example.replace('\n', "\n  ");
        help + &format!("\nExample, in two terminals:\n  {example}\n")
    }
}

/// Seconds, fractions allowed, up to a day, as a duration; 0 means "wait
/// forever". A wait below 1 ms is raised to 1 ms, the finest a socket
/// timeout keeps on every system (see [`SHORTEST_WAIT`]).
fn parse_wait(text: &str) -> Result<Option<Duration>, String> {
    // Only a written 0 waits forever: 1e-400 reads as 0.0 too.
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let written_as_zero = !mantissa.contains(|c: char| matches!(c, '1'..='9'));
    match text.parse::<f64>() {
        Ok(0.0) if written_as_zero => Ok(None),
        Ok(seconds) if seconds.is_sign_positive() && seconds <= 86_400.0 => {
            Ok(Some(Duration::from_secs_f64(seconds).max(SHORTEST_WAIT)))
        }
        _ => Err(format!(
            "invalid value '{text}' for -w: expected seconds from 0 to 86400"
        )),
    }
}

/// A whole number of at least 1, for `--max-clients`.
fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!(
            "invalid value '{text}' for --max-clients: expected 1 or more"
        )),
    }
}

/// Writes `text` and exits. `print!` would panic if the reader has gone
/// (`tcp-client --help | head -1`); nobody is left to tell, so a failed
/// write is ignored.
fn exit_after(stream: &mut dyn Write, text: &str, status: i32) -> ! {
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
    process::exit(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: Program = Program {
        name: "server",
        about: "A server.",
        host: "BIND_IP",
        default_host: "0.0.0.0",
        default_port: 9999,
        default_wait: 5,
        wait_help: "drop a silent client",
        listens: true,
        max_clients: Some(8),
        example: "run it\nthen this",
    };

    const CLIENT: Program = Program {
        name: "client",
        host: "HOST",
        listens: false,
        max_clients: None,
        ..SERVER
    };

    fn read(program: &Program, arguments: &[&str]) -> Result<Outcome, String> {
        program.read(arguments.iter().map(OsString::from).collect())
    }

    fn run(program: &Program, arguments: &[&str]) -> Arguments {
        match read(program, arguments) {
            Ok(Outcome::Run(arguments)) => arguments,
            other => panic!("{arguments:?} should run, not {other:?}"),
        }
    }

    /// No arguments give the defaults; flags, `[::1]` and `--` work.
    #[test]
    fn defaults_flags_and_positionals() {
        assert_eq!(
            run(&SERVER, &[]),
            Arguments {
                host: "0.0.0.0".to_string(),
                port: 9999,
                wait: Some(Duration::from_secs(5)),
                max_clients: Some(8),
            }
        );
        let given =
            run(&SERVER, &["-w", "0", "--max-clients", "3", "[::1]", "0"]);
        assert_eq!((given.host.as_str(), given.port), ("::1", 0));
        assert_eq!((given.wait, given.max_clients), (None, Some(3)));
        let wait = run(&CLIENT, &["-w", "0.25"]).wait;
        assert_eq!(wait, Some(Duration::from_millis(250)));
        // Below 1 ms, even where it reads as 0.0, is 1 ms; only 0 is forever.
        for tiny in ["0.0005", "1e-9", "1e-400", "0.001e-999"] {
            let wait = run(&CLIENT, &["-w", tiny]).wait;
            assert_eq!(wait, Some(SHORTEST_WAIT), "{tiny}");
        }
        for zero in ["0", "0.000", "-0", "0.00e-400"] {
            assert_eq!(run(&CLIENT, &["-w", zero]).wait, None, "{zero}");
        }
        let after_dashes = run(&CLIENT, &["--", "-h"]);
        assert_eq!(after_dashes.host, "-h");
        assert_eq!(read(&CLIENT, &["x", "--help"]), Ok(Outcome::Help));
        assert_eq!(read(&CLIENT, &["-V"]), Ok(Outcome::Version));
        assert_eq!(read(&SERVER, &["--version", "x"]), Ok(Outcome::Version));
    }

    /// Bad values name themselves; a client has no port 0 and no
    /// `--max-clients`.
    #[test]
    fn usage_errors_name_the_bad_value() {
        let error = |program, arguments: &[&str]| match read(program, arguments)
        {
            Err(message) => message,
            other => panic!("{arguments:?} should fail, not {other:?}"),
        };
        assert_eq!(
            error(&CLIENT, &["-w", "-1e-400"]),
            "invalid value '-1e-400' for -w: expected seconds from 0 to 86400"
        );
        assert_eq!(
            error(&CLIENT, &["-w", "NaN"]),
            "invalid value 'NaN' for -w: expected seconds from 0 to 86400"
        );
        assert_eq!(
            error(&CLIENT, &["-w", "86401"]),
            "invalid value '86401' for -w: expected seconds from 0 to 86400"
        );
        assert_eq!(
            error(&SERVER, &["--max-clients"]),
            "--max-clients needs a value"
        );
        assert_eq!(
            error(&CLIENT, &["--max-clients", "3"]),
            "unknown option '--max-clients'"
        );
        assert_eq!(
            error(&CLIENT, &["h", "0"]),
            "invalid port '0': expected a number from 1 to 65535"
        );
        assert_eq!(error(&SERVER, &["[]"]), "BIND_IP must not be empty");
    }

    /// An argument that is not UTF-8 is a usage error, not a panic.
    #[cfg(unix)]
    #[test]
    fn a_non_utf8_argument_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt as _;
        let bad = OsString::from_vec(b"caf\xe9".to_vec());
        assert_eq!(
            CLIENT.read(vec![bad]),
            Err(r#"argument "caf\xE9" is not valid UTF-8"#.to_string())
        );
    }

    /// Windows passes a command line as UTF-16: the test above is Unix's.
    #[cfg(not(unix))]
    #[test]
    fn a_non_utf8_argument_is_a_usage_error() {
        let _ = writeln!(
            io::stderr(),
            "note: a_non_utf8_argument_is_a_usage_error: skipped on this \
             system: it builds an argument from bytes, which only Unix allows"
        );
    }

    /// The help lists every option, and no line is wider than 80.
    #[test]
    fn help_fits_in_80_columns() {
        let help = SERVER.help();
        assert!(
            help.contains(
                "  --max-clients N   at most N at once (default: 8)\n"
            )
        );
        assert!(
            help.ends_with(
                "Example, in two terminals:\n  run it\n  then this\n"
            )
        );
        assert!(help.lines().all(|line| line.chars().count() <= 80));
    }
}
