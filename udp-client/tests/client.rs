//! udp-client against peers on loopback: an echo socket the test plays with
//! std::net, a Python UDP peer, the shipped echo-server example, and silence.

#[path = "../../common/tests/support/mod.rs"]
mod support;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::{DEADLINE, Running, run_with_limit, text};

fn udp_client() -> Command {
    Command::new(env!("CARGO_BIN_EXE_udp-client"))
}

/// Answers one datagram with `reply` and returns what it received.
fn answer_once(
    bind: &str,
    reply: &'static [u8],
) -> (u16, thread::JoinHandle<Vec<u8>>) {
    let peer = UdpSocket::bind(bind)
        .expect("loopback should bind");
    peer.set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let port = peer.local_addr().expect("bound").port();
    let handle = thread::spawn(move || {
        let mut datagram = [0u8; 1024];
        let (length, sender) = peer
            .recv_from(&mut datagram)
            .expect("a datagram should arrive");
        peer.send_to(reply, sender)
            .expect("the reply should send");
        datagram[..length].to_vec()
    });
    (port, handle)
}

/// Sends exactly `AAABBBCCC` and prints the reply as Python would.
#[test]
fn sends_the_datagram_and_prints_the_reply() {
    let (port, peer) =
        answer_once("127.0.0.1:0", b"reply \"quoted\"\n");
    let output = run_with_limit(
        udp_client()
            .args(["127.0.0.1", &port.to_string()]),
        DEADLINE,
    );
    assert_eq!(
        peer.join().expect("the peer should finish"),
        b"AAABBBCCC"
    );
    assert_eq!(
        text(&output.stdout),
        "b'reply \"quoted\"\\n'\n"
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(output.status.code(), Some(0));
}

/// Works end to end over IPv6 `::1`.
#[test]
fn talks_to_an_ipv6_peer() {
    let (port, peer) =
        answer_once("[::1]:0", b"AAABBBCCC");
    let output = run_with_limit(
        udp_client().args(["::1", &port.to_string()]),
        DEADLINE,
    );
    assert_eq!(
        peer.join().expect("the peer should finish"),
        b"AAABBBCCC"
    );
    assert_eq!(text(&output.stdout), "b'AAABBBCCC'\n");
    assert_eq!(output.status.code(), Some(0));
}

/// A peer written in Python echoes our datagram back.
#[test]
fn works_with_a_python_udp_peer() {
    let Some(mut python) =
        support::python3("works_with_a_python_udp_peer")
    else {
        return;
    };
    let peer = Running::start(python.args([
        "-c",
        "import socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.settimeout(20)\n\
         s.bind(('127.0.0.1', 0))\n\
         print('[*] Listening on %s:%d' % s.getsockname())\n\
         data, addr = s.recvfrom(4096)\n\
         s.sendto(data, addr)\n\
         print(data)\n",
    ]));
    let address =
        Running::address_from(&peer.next_line());
    let output = run_with_limit(
        udp_client().args([
            "127.0.0.1",
            &address.port().to_string(),
        ]),
        DEADLINE,
    );
    assert_eq!(text(&output.stdout), "b'AAABBBCCC'\n");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(peer.next_line(), "b'AAABBBCCC'");
}

/// The echo-server example, as a learner runs it, answers the client.
#[test]
fn works_with_the_shipped_echo_server() {
    // cargo builds a package's examples before its tests, next to them.
    let mut example = std::env::current_exe()
        .expect("the test should know its path");
    example.pop(); // the test binary
    if example.ends_with("deps") {
        example.pop();
    }
    let example: PathBuf =
        example.join("examples").join(format!(
            "echo-server{}",
            std::env::consts::EXE_SUFFIX
        ));
    let server = Running::start(
        Command::new(&example).args(["127.0.0.1", "0"]),
    );
    let listening = server.next_line();
    assert!(
        listening.starts_with(
            "[*] Listening on UDP 127.0.0.1:"
        ),
        "{listening}"
    );
    let address = Running::address_from(&listening);
    let output = run_with_limit(
        udp_client().args([
            "127.0.0.1",
            &address.port().to_string(),
        ]),
        DEADLINE,
    );
    assert_eq!(text(&output.stdout), "b'AAABBBCCC'\n");
    assert_eq!(output.status.code(), Some(0));
    let echoed = server.next_line();
    assert!(
        echoed.starts_with(
            "[*] Echoing b'AAABBBCCC' to 127.0.0.1:"
        ),
        "{echoed}"
    );
}

/// With nobody listening, the client gives up after `-w`, says why, and
/// names the command that starts a peer.
#[test]
fn a_silent_peer_times_out_with_advice() {
    // A bound socket that never answers: nothing can be more silent.
    let silent = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let port = silent.local_addr().expect("bound").port();
    let started = Instant::now();
    let output = run_with_limit(
        udp_client().args([
            "-w",
            "0.3",
            "127.0.0.1",
            &port.to_string(),
        ]),
        Duration::from_secs(10),
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300)
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: no reply from 127.0.0.1:{port} in time\n\
             help: UDP cannot tell whether anyone listens; is the \
             echo server running?\n"
        )
    );
    assert_eq!(text(&output.stdout), "");
}

/// A `-w` below the 1 ms that every system's socket timer keeps, even one
/// that reads as 0.0, waits 1 ms, not for ever: the client gives up at once
/// against a silent peer. (On Windows socket2 would round 1e-9 s down to
/// 0 ms, and on Unix to 0 µs, and both mean "never time out".)
#[test]
fn a_tiny_wait_gives_up_instead_of_waiting_for_ever() {
    let silent = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let port = silent.local_addr().expect("bound").port();
    for tiny in ["1e-9", "1e-400"] {
        // run_with_limit fails the test if the client is still waiting
        // after DEADLINE.
        let output = run_with_limit(
            udp_client().args([
                "-w",
                tiny,
                "127.0.0.1",
                &port.to_string(),
            ]),
            DEADLINE,
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{tiny}"
        );
        assert_eq!(
            text(&output.stderr),
            format!(
                "error: no reply from 127.0.0.1:{port} in time\n\
                 help: UDP cannot tell whether anyone listens; is the \
                 echo server running?\n"
            ),
            "{tiny}"
        );
    }
}

/// Each bad command line gives exit status 2, one error line and the usage.
#[test]
fn rejects_bad_command_lines_with_status_2() {
    let mut cases =
        support::bad_port_cases("127.0.0.1", false);
    cases.extend([
        (vec!["-x"], "unknown option '-x'".to_string()),
        (vec!["a", "1", "2"], "unexpected argument '2'".to_string()),
        (
            vec!["-w", "-1e-400"],
            "invalid value '-1e-400' for -w: expected seconds from 0 to 86400"
                .to_string(),
        ),
    ]);
    support::assert_usage_errors(
        env!("CARGO_BIN_EXE_udp-client"),
        "usage: udp-client [-w SECS] [HOST] [PORT]",
        &cases,
    );
}

/// `--version` names the program and its version.
#[test]
fn version_names_the_program() {
    support::assert_version(
        env!("CARGO_BIN_EXE_udp-client"),
        "udp-client",
    );
}

/// `--help` shows the defaults and the partner, within 80 columns.
#[test]
fn help_shows_defaults_and_the_partner() {
    support::assert_help(
        env!("CARGO_BIN_EXE_udp-client"),
        "Sends the datagram AAABBBCCC to HOST:PORT over UDP and prints the
first datagram that comes back, as Python's print(bytes) would.
The Rust twin of docs/python/udp_client.py.

usage: udp-client [-w SECS] [HOST] [PORT]

  HOST              default: 127.0.0.1
  PORT              default: 80
  -w SECS           wait SECS for a reply; 0 waits forever (default: 3)
                    a SECS below 0.001 counts as 0.001 (1 ms)
  -h, --help        print this help
  -V, --version     print the version

Example, in two terminals:
  cargo run -p udp-client --example echo-server
  cargo run -p udp-client -- 127.0.0.1 9999
",
    );
}

/// A reserved `.invalid` name fails with one line and status 1.
#[test]
fn a_name_that_does_not_resolve_fails_cleanly() {
    support::assert_fails_with(
        env!("CARGO_BIN_EXE_udp-client"),
        &["no-such-host.invalid", "9999"],
        "error: could not look up 'no-such-host.invalid': ",
        None,
    );
}

/// A reply from another address than the one we sent to is printed, as
/// Python would, with a note on stderr that names who sent it.
#[test]
fn a_reply_from_elsewhere_is_named() {
    let peer = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    peer.set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let elsewhere = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let port = peer.local_addr().expect("bound").port();
    let elsewhere_address =
        elsewhere.local_addr().expect("bound");
    let answerer = thread::spawn(move || {
        let mut datagram = [0u8; 64];
        let (length, sender) = peer
            .recv_from(&mut datagram)
            .expect("a datagram should arrive");
        elsewhere
            .send_to(b"not me", sender)
            .expect("the reply should send");
        datagram[..length].to_vec()
    });
    let output = run_with_limit(
        udp_client()
            .args(["127.0.0.1", &port.to_string()]),
        DEADLINE,
    );
    assert_eq!(
        answerer.join().expect("the peer should finish"),
        b"AAABBBCCC"
    );
    assert_eq!(text(&output.stdout), "b'not me'\n");
    assert_eq!(
        text(&output.stderr),
        format!(
            "note: this reply came from {elsewhere_address}, \
             not from 127.0.0.1:{port}\n"
        )
    );
    assert_eq!(output.status.code(), Some(0));
}

/// `localhost` sends to 127.0.0.1 first, as the script's AF_INET socket
/// does, even where the system lists `::1` first.
#[test]
fn localhost_sends_to_ipv4_loopback() {
    let (port, peer) =
        answer_once("127.0.0.1:0", b"found");
    let output = run_with_limit(
        udp_client()
            .args(["localhost", &port.to_string()]),
        DEADLINE,
    );
    assert_eq!(
        peer.join().expect("the peer should finish"),
        b"AAABBBCCC"
    );
    assert_eq!(text(&output.stdout), "b'found'\n");
    assert_eq!(text(&output.stderr), "");
}
