//! udp-client's exercises, and the peers that check them: an echo peer
//! that records what it receives, a peer whose answer comes from a
//! stranger, and a port where nothing listens. Used
//! by `tests/check.rs` and `tests/exercises.rs`.

use std::net::UdpSocket;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::support::exercises::{
    Exercise, Program, first_error_line,
    python_bytes_value, transcript,
};
use crate::support::text;

pub const EXERCISES: &[Exercise] = &[
    Exercise {
        number: 3,
        check: hears_only_its_server,
        still_running: "does it wait for a reply without a time limit?",
    },
    Exercise {
        number: 4,
        check: three_datagrams,
        still_running: "does your loop stop when `recv_from` times out?",
    },
];

/// Who answers a datagram that reaches a [`Peer`].
#[derive(Clone, Copy)]
enum Answer {
    /// The peer echoes it to its sender.
    Echo,
    /// A stranger, another socket on another port, sends
    /// [`STRANGER_DATAGRAM`] to its sender.
    FromAStranger,
}

/// What the stranger of [`Answer::FromAStranger`] sends.
const STRANGER_DATAGRAM: &[u8] = b"not from the server";

/// A peer on 127.0.0.1 that answers each datagram, until the check has
/// seen the program end: it waits for that event, not for a quiet spell
/// that a busy machine could make.
struct Peer {
    port: String,
    done: mpsc::Sender<()>,
    thread: thread::JoinHandle<Vec<Vec<u8>>>,
}

impl Peer {
    fn start(answer: Answer) -> Peer {
        let bind = || {
            UdpSocket::bind("127.0.0.1:0")
                .expect("loopback should bind")
        };
        let (peer, stranger) = (bind(), bind());
        let port = peer
            .local_addr()
            .expect("bound")
            .port()
            .to_string();
        let (done, program_ended) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut received = Vec::new();
            let mut datagram = [0u8; 4096];
            // Look up now and then to see whether the program has ended.
            let _ = peer.set_read_timeout(Some(
                Duration::from_millis(50),
            ));
            loop {
                let Ok((length, sender)) =
                    peer.recv_from(&mut datagram)
                else {
                    if matches!(
                        program_ended.try_recv(),
                        Err(mpsc::TryRecvError::Empty)
                    ) {
                        continue;
                    }
                    break;
                };
                let _ = match answer {
                    Answer::Echo => peer.send_to(
                        &datagram[..length],
                        sender,
                    ),
                    Answer::FromAStranger => stranger
                        .send_to(
                            STRANGER_DATAGRAM,
                            sender,
                        ),
                };
                received
                    .push(datagram[..length].to_vec());
            }
            received
        });
        Peer { port, done, thread }
    }

    /// The datagrams received, once the program has ended.
    fn received(self) -> Vec<Vec<u8>> {
        let _ = self.done.send(());
        self.thread.join().unwrap_or_default()
    }
}

/// A port on 127.0.0.1 where nothing listens: bound, read back, then freed.
fn closed_port() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    socket.local_addr().expect("bound").port().to_string()
} // The socket closes here, and the port with it.

/// Exercise 3: a stranger's datagram never reaches the program, which
/// sends with `send`; the server's echo does; and with nothing listening
/// it says so at once. A connected UDP socket takes datagrams from its
/// peer only, and hears the peer's "port unreachable", on Linux, macOS
/// and Windows alike (`man 2 connect`; Microsoft's `connect` page:
/// <https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-connect>).
fn hears_only_its_server(
    program: &Program,
) -> Result<(), String> {
    let peer = Peer::start(Answer::FromAStranger);
    let output = program.run(&[
        "-w",
        "1",
        "127.0.0.1",
        &peer.port,
    ]);
    peer.received();
    let output = output?;
    let stopped = first_error_line(&output);
    if text(&output.stdout).lines().any(|line| {
        python_bytes_value(line).as_deref()
            == Some(STRANGER_DATAGRAM)
    }) {
        return Err("printed a stranger's datagram; connect, to hear only \
                    the server"
            .to_string());
    }
    // A run cannot tell `send_to` from `send` on Linux or Windows, but
    // macOS refuses `send_to` on a connected socket, with EISCONN.
    let sends_to =
        program.source_text().contains(".send_to(");
    let still_sends_to = "connected, but still sends with `send_to`; send \
                          with `send`: macOS refuses `send_to` on a \
                          connected socket";
    if stopped.starts_with("error: could not send") {
        return Err(if sends_to {
            still_sends_to.to_string()
        } else {
            "`send` failed, as the socket has no peer yet; call \
             `connect` before it"
                .to_string()
        });
    }
    if !stopped.starts_with("error: no reply from") {
        return Err(format!(
            "with a stranger sending, printed {:?}",
            transcript(&output)
        ));
    }
    if sends_to {
        return Err(still_sends_to.to_string());
    }
    let peer = Peer::start(Answer::Echo);
    let output = program.run(&["127.0.0.1", &peer.port]);
    peer.received();
    let output = output?;
    if transcript(&output) != "b'AAABBBCCC'\n" {
        return Err(format!(
            "with an echo server, printed {:?} rather than b'AAABBBCCC'",
            transcript(&output)
        ));
    }
    // The closed port's "port unreachable" reaches a connected socket
    // as ECONNREFUSED on Linux and macOS, and as WSAECONNRESET on
    // Windows (Microsoft's `recvfrom` page:
    // <https://learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-recvfrom>);
    // udp-client's help.rs reads both as "nothing is listening".
    let port = closed_port();
    let output =
        program.run(&["-w", "5", "127.0.0.1", &port])?;
    let expected = format!(
        "error: nothing is listening at 127.0.0.1:{port}\n\
         help: start one with `cargo run -p udp-client --example echo-server`\n"
    );
    if text(&output.stderr) != expected {
        return Err(format!(
            "with nothing listening, printed {:?}",
            transcript(&output)
        ));
    }
    Ok(())
}

/// Exercise 4: three datagrams out, three back, one per line, and a count.
fn three_datagrams(
    program: &Program,
) -> Result<(), String> {
    // -w 2: after the last echo, two seconds of quiet end the program,
    // long enough that a busy machine's delays do not end it sooner.
    let peer = Peer::start(Answer::Echo);
    let output = program.run(&[
        "-w",
        "2",
        "127.0.0.1",
        &peer.port,
    ]);
    let received = peer.received();
    let output = output?;
    let sent: Vec<String> = received
        .iter()
        .map(|datagram| {
            format!(
                "b'{}'",
                String::from_utf8_lossy(datagram)
            )
        })
        .collect();
    if sent != ["b'one'", "b'two'", "b'three'"] {
        return Err(format!(
            "sent {}; send b'one', b'two' and b'three', a datagram each",
            sent.join(", ")
        ));
    }
    let stopped = first_error_line(&output);
    if stopped.starts_with("error: no reply from") {
        return Err("stopped with `error: no reply ... in time`; after the \
                    last datagram, a timeout means the peer is done: leave \
                    the loop instead"
            .to_string());
    }
    let stdout = text(&output.stdout);
    let printed = stdout
        .lines()
        .filter(|line| line.starts_with("b'"))
        .count();
    if printed < 3 {
        return Err(format!(
            "printed {printed} of the 3 datagrams that came back; keep \
             calling `recv_from` until it times out"
        ));
    }
    let expected = "b'one'\nb'two'\nb'three'\ndatagrams received: 3\n";
    if transcript(&output) != expected {
        return Err(format!(
            "printed {:?}; after the datagrams, print `datagrams received: 3`",
            transcript(&output)
        ));
    }
    Ok(())
}
