//! udp-client's exercises, and the peers that check them: an echo peer
//! that records what it receives, and a port where nothing listens. Used
//! by `tests/check.rs` and `tests/exercises.rs`.

use std::net::UdpSocket;
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::support::exercises::{
    Exercise, first_error_line, transcript,
};
use crate::support::{DEADLINE, run_with_limit, text};

pub const EXERCISES: &[Exercise] = &[
    Exercise { number: 3, check: hears_port_unreachable },
    Exercise { number: 4, check: three_datagrams },
];

/// A peer on 127.0.0.1 that echoes each datagram to its sender until none
/// has come for a second. Returns its port, and a thread that gives back
/// the datagrams it received.
fn echo_peer()
-> (String, thread::JoinHandle<Vec<Vec<u8>>>) {
    let peer = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let port = peer
        .local_addr()
        .expect("bound")
        .port()
        .to_string();
    let echoes = thread::spawn(move || {
        let mut received = Vec::new();
        let mut datagram = [0u8; 4096];
        // Until the first datagram, wait as long as a program may take to
        // start; after it, a second of quiet means the program is done.
        let _ = peer.set_read_timeout(Some(DEADLINE));
        while let Ok((length, sender)) =
            peer.recv_from(&mut datagram)
        {
            let _ =
                peer.send_to(&datagram[..length], sender);
            received.push(datagram[..length].to_vec());
            let _ = peer.set_read_timeout(Some(
                Duration::from_secs(1),
            ));
        }
        received
    });
    (port, echoes)
}

/// A port on 127.0.0.1 where nothing listens: bound, read back, then freed.
fn closed_port() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    socket.local_addr().expect("bound").port().to_string()
} // The socket closes here, and the port with it.

/// Exercise 3: with nothing listening, the program says so at once; with
/// an echo peer, it still prints the echo.
fn hears_port_unreachable(
    program: &dyn Fn() -> Command,
) -> Result<(), String> {
    let port = closed_port();
    let output = run_with_limit(
        program().args(["-w", "1", "127.0.0.1", &port]),
        DEADLINE,
    );
    let expected = format!(
        "error: nothing is listening at 127.0.0.1:{port}\n\
         help: start one with `cargo run -p udp-client --example echo-server`\n"
    );
    if text(&output.stderr) != expected {
        let stopped = first_error_line(&output);
        return Err(
            if stopped.starts_with("error: no reply from")
            {
                "waited for a reply; connect first to hear \"port unreachable\""
                .to_string()
            } else {
                format!(
                    "with nothing listening, printed {:?}",
                    transcript(&output)
                )
            },
        );
    }
    let (port, echoes) = echo_peer();
    let output = run_with_limit(
        program().args(["127.0.0.1", &port]),
        DEADLINE,
    );
    let _ = echoes.join();
    if transcript(&output) != "b'AAABBBCCC'\n" {
        return Err(format!(
            "with an echo server, printed {:?} rather than b'AAABBBCCC'",
            transcript(&output)
        ));
    }
    Ok(())
}

/// Exercise 4: three datagrams out, three back, one per line, and a count.
fn three_datagrams(
    program: &dyn Fn() -> Command,
) -> Result<(), String> {
    let (port, echoes) = echo_peer();
    let output = run_with_limit(
        program().args(["-w", "0.5", "127.0.0.1", &port]),
        DEADLINE,
    );
    let received = echoes.join().unwrap_or_default();
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
