//! The command line the three programs share: `[options] [HOST] [PORT]`.
//!
//! Like clap, [`CommandLine::parse`] ends the process itself when there is
//! nothing left to run: `-h`/`--help` and `-V`/`--version` print and exit
//! with status 0, and a usage error prints one line saying what is wrong,
//! then the usage, and exits with status 2.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::process;
use std::time::Duration;

/// Exit status for a bad command line, as with most Unix tools.
const USAGE_ERROR_STATUS: i32 = 2;

/// The longest timeout a flag accepts: one day.
const MAX_SECONDS: f64 = 86_400.0;

/// Everything one program accepts on its command line.
pub struct CommandLine {
    /// The program's name, as typed after `cargo run -p`.
    pub program: &'static str,
    /// The program's version, `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
    /// One sentence that says what the program does.
    pub about: &'static str,
    /// The first positional's name in the usage: `HOST` or `BIND_IP`.
    pub host_name: &'static str,
    /// What the first positional means.
    pub host_help: &'static str,
    /// The first positional's default.
    pub default_host: &'static str,
    /// The port's default.
    pub default_port: u16,
    /// Whether port 0 ("any free port") is allowed, as it is for a server.
    pub port_zero_means_any: bool,
    /// The flags that take a value.
    pub flags: &'static [Flag],
    /// Commands that run this program with its partner, one per line.
    pub example: &'static str,
}

/// A flag that takes a value, such as `-w SECS`.
pub struct Flag {
    /// The flag as typed: `-w` or `--max-clients`.
    pub name: &'static str,
    /// What the value is.
    pub kind: FlagKind,
    /// What the flag does.
    pub help: &'static str,
}

/// The kinds of value a [`Flag`] takes, each with its default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FlagKind {
    /// A number of seconds, fractions allowed; `0` means "wait forever".
    Seconds {
        /// The default number of seconds.
        default: f64,
    },
    /// A whole number of at least 1.
    Count {
        /// The default count.
        default: usize,
    },
}

/// A command line that has been read and checked.
#[derive(Debug)]
pub struct Arguments {
    /// The host name or IP address, with any `[` `]` around an IPv6 literal removed.
    pub host: String,
    /// The port, already checked to be in range.
    pub port: u16,
    values: Vec<(&'static str, Value)>,
}

/// A flag's value once read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    Seconds(f64),
    Count(usize),
}

impl Value {
    fn default_of(kind: FlagKind) -> Value {
        match kind {
            FlagKind::Seconds { default } => Value::Seconds(default),
            FlagKind::Count { default } => Value::Count(default),
        }
    }
}

impl Arguments {
    /// The timeout given with a [`FlagKind::Seconds`] flag, or `None` for `0`,
    /// which means "wait forever".
    pub fn timeout(&self, flag_name: &str) -> Option<Duration> {
        match self.value(flag_name) {
            Value::Seconds(seconds) if seconds > 0.0 => {
                Some(Duration::from_secs_f64(seconds))
            }
            Value::Seconds(_) => None,
            Value::Count(_) => panic!("{flag_name} should be a Seconds flag"),
        }
    }

    /// The number given with a [`FlagKind::Count`] flag.
    pub fn count(&self, flag_name: &str) -> usize {
        match self.value(flag_name) {
            Value::Count(count) => count,
            Value::Seconds(_) => panic!("{flag_name} should be a Count flag"),
        }
    }

    fn value(&self, flag_name: &str) -> Value {
        self.values
            .iter()
            .find(|(name, _)| *name == flag_name)
            .map(|(_, value)| *value)
            .unwrap_or_else(|| {
                panic!("{flag_name} should be declared in the CommandLine")
            })
    }
}

/// What reading the command line decided, before anything is printed.
#[derive(Debug)]
pub enum Outcome {
    /// Run the program with these arguments.
    Run(Arguments),
    /// Print the help and exit with status 0.
    Help,
    /// Print the version and exit with status 0.
    Version,
    /// Print this message and the usage, and exit with status 2.
    UsageError(String),
}

impl CommandLine {
    /// Reads `std::env::args()`. Returns only when the program should run;
    /// otherwise prints the help, the version or a usage error and exits.
    pub fn parse(&self) -> Arguments {
        match self.read(std::env::args().skip(1)) {
            Outcome::Run(arguments) => arguments,
            Outcome::Help => exit_after(&mut io::stdout(), &self.help(), 0),
            Outcome::Version => {
                let version = format!("{} {}\n", self.program, self.version);
                exit_after(&mut io::stdout(), &version, 0)
            }
            Outcome::UsageError(message) => {
                let text = format!("error: {message}\n{}\n", self.usage());
                exit_after(&mut io::stderr(), &text, USAGE_ERROR_STATUS)
            }
        }
    }

    /// Decides what a list of arguments (without the program name) asks for.
    pub fn read(&self, arguments: impl IntoIterator<Item = String>) -> Outcome {
        let mut values: Vec<(&'static str, Value)> = self
            .flags
            .iter()
            .map(|flag| (flag.name, Value::default_of(flag.kind)))
            .collect();
        let mut positionals = Vec::new();
        let mut only_positionals_follow = false;
        let mut arguments = arguments.into_iter();

        while let Some(argument) = arguments.next() {
            // "-1" is a bad port rather than an unknown flag.
            let looks_like_flag = argument.starts_with('-')
                && argument.len() > 1
                && !argument[1..].starts_with(|c: char| c.is_ascii_digit());
            if only_positionals_follow || !looks_like_flag {
                positionals.push(argument);
                continue;
            }
            match argument.as_str() {
                "--" => only_positionals_follow = true,
                "-h" | "--help" => return Outcome::Help,
                "-V" | "--version" => return Outcome::Version,
                _ => {
                    // Accept both `--max-clients 8` and `--max-clients=8`.
                    let (name, inline_value) = match argument.split_once('=') {
                        Some((name, value)) => (name, Some(value.to_string())),
                        None => (argument.as_str(), None),
                    };
                    let Some(flag) =
                        self.flags.iter().find(|flag| flag.name == name)
                    else {
                        return Outcome::UsageError(format!(
                            "unknown option '{argument}'"
                        ));
                    };
                    let Some(text) = inline_value.or_else(|| arguments.next())
                    else {
                        return Outcome::UsageError(format!(
                            "{name} needs a value"
                        ));
                    };
                    match parse_flag_value(flag, &text) {
                        Ok(value) => {
                            for slot in values
                                .iter_mut()
                                .filter(|(known, _)| *known == name)
                            {
                                slot.1 = value;
                            }
                        }
                        Err(message) => return Outcome::UsageError(message),
                    }
                }
            }
        }

        if positionals.len() > 2 {
            return Outcome::UsageError(format!(
                "too many arguments: '{}' (expected at most {} and PORT)",
                positionals[2], self.host_name
            ));
        }
        let mut positionals = positionals.into_iter();
        let host = positionals
            .next()
            .unwrap_or_else(|| self.default_host.to_string());
        // Allow the bracketed form of an IPv6 literal, as in URLs: [::1]
        let host =
            match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(inner) => inner.to_string(),
                None => host,
            };
        if host.is_empty() {
            return Outcome::UsageError(format!(
                "{} must not be empty",
                self.host_name
            ));
        }
        let port = match positionals.next() {
            None => self.default_port,
            Some(text) => match self.parse_port(&text) {
                Ok(port) => port,
                Err(message) => return Outcome::UsageError(message),
            },
        };
        Outcome::Run(Arguments { host, port, values })
    }

    fn parse_port(&self, text: &str) -> Result<u16, String> {
        let lowest = if self.port_zero_means_any { 0 } else { 1 };
        match text.parse::<u16>() {
            Ok(port) if port >= lowest => Ok(port),
            _ if self.port_zero_means_any => Err(format!(
                "invalid port '{text}': expected a number from 0 to 65535 (0 picks any free port)"
            )),
            _ => Err(format!(
                "invalid port '{text}': expected a number from 1 to 65535"
            )),
        }
    }

    /// The one-line usage, printed after a usage error.
    pub fn usage(&self) -> String {
        let mut usage = format!("usage: {}", self.program);
        for flag in self.flags {
            write!(usage, " [{} {}]", flag.name, value_name(flag.kind))
                .expect("writing to a String should not fail");
        }
        write!(
            usage,
            " [{}] [PORT]   (try --help for more)",
            self.host_name
        )
        .expect("writing to a String should not fail");
        usage
    }

    /// The full help for `-h`/`--help`, with the defaults and an example.
    pub fn help(&self) -> String {
        let mut rows = vec![
            (
                self.host_name.to_string(),
                format!("{} (default: {})", self.host_help, self.default_host),
            ),
            (
                "PORT".to_string(),
                if self.port_zero_means_any {
                    format!(
                        "port to listen on, 0 for any free port (default: {})",
                        self.default_port
                    )
                } else {
                    format!("port, 1 to 65535 (default: {})", self.default_port)
                },
            ),
        ];
        for flag in self.flags {
            let default = match flag.kind {
                FlagKind::Seconds { default } => format!("{default}"),
                FlagKind::Count { default } => format!("{default}"),
            };
            rows.push((
                format!("{} {}", flag.name, value_name(flag.kind)),
                format!("{} (default: {default})", flag.help),
            ));
        }
        rows.push(("-h, --help".to_string(), "print this help".to_string()));
        rows.push((
            "-V, --version".to_string(),
            "print the version".to_string(),
        ));

        let width = rows.iter().map(|(left, _)| left.len()).max().unwrap_or(0);
        let mut help = format!("{}\n\n{}\n\n", self.about, self.usage());
        for (left, right) in rows {
            writeln!(help, "  {left:width$}  {right}")
                .expect("writing to a String should not fail");
        }
        help.push_str("\nExample, in two terminals:\n");
        for line in self.example.lines() {
            writeln!(help, "  {line}")
                .expect("writing to a String should not fail");
        }
        help
    }
}

/// Writes `text` and exits. `print!` would panic if the reader has gone
/// (`tcp-client --help | head -1`); there is nobody left to tell, so a
/// failed write is ignored.
fn exit_after(stream: &mut dyn Write, text: &str, status: i32) -> ! {
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
    process::exit(status)
}

fn value_name(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Seconds { .. } => "SECS",
        FlagKind::Count { .. } => "N",
    }
}

fn parse_flag_value(flag: &Flag, text: &str) -> Result<Value, String> {
    let name = flag.name;
    match flag.kind {
        FlagKind::Seconds { .. } => match text.parse::<f64>() {
            Ok(seconds) if (0.0..=MAX_SECONDS).contains(&seconds) => {
                Ok(Value::Seconds(seconds))
            }
            _ => Err(format!(
                "invalid value '{text}' for {name}: expected seconds from 0 to {MAX_SECONDS}"
            )),
        },
        FlagKind::Count { .. } => match text.parse::<usize>() {
            Ok(count) if count >= 1 => Ok(Value::Count(count)),
            _ => Err(format!(
                "invalid value '{text}' for {name}: expected a whole number of at least 1"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: CommandLine = CommandLine {
        program: "server",
        version: "1",
        about: "A server.",
        host_name: "BIND_IP",
        host_help: "address",
        default_host: "0.0.0.0",
        default_port: 9999,
        port_zero_means_any: true,
        flags: &[
            Flag {
                name: "-w",
                kind: FlagKind::Seconds { default: 5.0 },
                help: "timeout",
            },
            Flag {
                name: "--max-clients",
                kind: FlagKind::Count { default: 8 },
                help: "bound",
            },
        ],
        example: "run it",
    };

    fn read(arguments: &[&str]) -> Outcome {
        SERVER.read(arguments.iter().map(|argument| argument.to_string()))
    }

    fn run(arguments: &[&str]) -> Arguments {
        match read(arguments) {
            Outcome::Run(arguments) => arguments,
            other => panic!("{arguments:?} should run, not {other:?}"),
        }
    }

    /// No arguments give the defaults, and 0 seconds means no timeout.
    #[test]
    fn defaults_and_flags() {
        let defaults = run(&[]);
        assert_eq!((defaults.host.as_str(), defaults.port), ("0.0.0.0", 9999));
        assert_eq!(defaults.timeout("-w"), Some(Duration::from_secs(5)));
        assert_eq!(defaults.count("--max-clients"), 8);

        let given = run(&["-w", "0", "--max-clients=3", "[::1]", "0"]);
        assert_eq!((given.host.as_str(), given.port), ("::1", 0));
        assert_eq!(given.timeout("-w"), None);
        assert_eq!(given.count("--max-clients"), 3);
        assert_eq!(
            run(&["-w", "0.25"]).timeout("-w"),
            Some(Duration::from_millis(250))
        );
    }

    /// Help and version win wherever they appear; `--` ends the flags.
    #[test]
    fn help_version_and_double_dash() {
        assert!(matches!(read(&["x", "--help"]), Outcome::Help));
        assert!(matches!(read(&["-V"]), Outcome::Version));
        assert!(matches!(
            read(&["--", "-h"]),
            Outcome::Run(Arguments { ref host, .. }) if host == "-h"
        ));
    }

    /// Bad values name themselves.
    #[test]
    fn usage_errors_name_the_bad_value() {
        let error = |arguments: &[&str]| match read(arguments) {
            Outcome::UsageError(message) => message,
            other => {
                panic!("{arguments:?} should be a usage error, not {other:?}")
            }
        };
        assert_eq!(
            error(&["-w", "-3"]),
            "invalid value '-3' for -w: expected seconds from 0 to 86400"
        );
        assert_eq!(
            error(&["-w", "NaN"]),
            "invalid value 'NaN' for -w: expected seconds from 0 to 86400"
        );
        assert_eq!(error(&["--max-clients"]), "--max-clients needs a value");
        assert_eq!(error(&["[]"]), "BIND_IP must not be empty");
        assert_eq!(
            error(&["h", "99999"]),
            "invalid port '99999': expected a number from 0 to 65535 (0 picks any free port)"
        );
    }
}
