//! The answers to udp-client's exercises, `examples/connected.rs` and
//! `examples/three-datagrams.rs`, against peers on loopback that the test
//! plays with std::net.

#[path = "../../common/tests/support/mod.rs"]
mod support;

use std::net::UdpSocket;
use std::thread;
#[cfg(unix)]
use std::time::{Duration, Instant};

use support::{DEADLINE, example, run_with_limit, text};

/// A peer on 127.0.0.1 that echoes each datagram to its sender, until it
/// has echoed `count` or none has come for [`DEADLINE`]. Returns its port,
/// and a thread that gives back the datagrams it received.
fn echo_peer(
    count: usize,
) -> (String, thread::JoinHandle<Vec<Vec<u8>>>) {
    let peer = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    peer.set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let port = peer
        .local_addr()
        .expect("bound")
        .port()
        .to_string();
    let echoes = thread::spawn(move || {
        let mut received = Vec::new();
        let mut datagram = [0u8; 4096];
        while received.len() < count {
            let Ok((length, sender)) =
                peer.recv_from(&mut datagram)
            else {
                break;
            };
            peer.send_to(&datagram[..length], sender)
                .expect("the echo should send");
            received.push(datagram[..length].to_vec());
        }
        received
    });
    (port, echoes)
}

/// A port on 127.0.0.1 where nothing listens: bound, read back, then freed.
#[cfg(unix)]
fn closed_port() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    socket.local_addr().expect("bound").port().to_string()
} // The socket closes here, and the port with it.

/// With nothing listening, the connected client hears the ICMP "port
/// unreachable" as a refusal and says so at once, long before its 3 s wait.
#[cfg(target_os = "linux")]
#[test]
fn connected_says_at_once_that_nothing_listens() {
    let port = closed_port();
    let started = Instant::now();
    let output = run_with_limit(
        example("connected").args(["127.0.0.1", &port]),
        DEADLINE,
    );
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: nothing is listening at 127.0.0.1:{port}\n\
             help: start one with \
             `cargo run -p udp-client --example echo-server`\n"
        )
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "took {elapsed:?}"
    );
}

/// With an echo peer, the connected client sends `AAABBBCCC` and prints the
/// echo.
#[test]
fn connected_prints_the_echo() {
    let (port, echoes) = echo_peer(1);
    let output = run_with_limit(
        example("connected").args(["127.0.0.1", &port]),
        DEADLINE,
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(text(&output.stdout), "b'AAABBBCCC'\n");
    assert!(output.status.success());
    let received =
        echoes.join().expect("the peer should finish");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0], b"AAABBBCCC");
}

/// A connected socket takes datagrams from its peer only: one from a
/// stranger, sent first, never reaches the client.
#[test]
fn connected_hears_only_its_peer() {
    let peer = UdpSocket::bind("127.0.0.1:0")
        .expect("loopback should bind");
    peer.set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let port = peer
        .local_addr()
        .expect("bound")
        .port()
        .to_string();
    let answer = thread::spawn(move || {
        let mut datagram = [0u8; 64];
        let (length, client) = peer
            .recv_from(&mut datagram)
            .expect("a datagram should come");
        let stranger = UdpSocket::bind("127.0.0.1:0")
            .expect("loopback should bind");
        stranger
            .send_to(b"stranger", client)
            .expect("should send");
        peer.send_to(b"peer", client)
            .expect("should send");
        datagram[..length].to_vec()
    });
    let output = run_with_limit(
        example("connected").args(["127.0.0.1", &port]),
        DEADLINE,
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(text(&output.stdout), "b'peer'\n");
    assert!(output.status.success());
    assert_eq!(
        answer.join().expect("the peer should finish"),
        b"AAABBBCCC"
    );
}

/// Each `recv_from` returns one whole datagram: the three echoes print on
/// three lines, then the count.
#[test]
fn three_datagrams_come_back_as_three() {
    let (port, echoes) = echo_peer(3);
    let output = run_with_limit(
        example("three-datagrams").args([
            "-w",
            "0.5",
            "127.0.0.1",
            &port,
        ]),
        DEADLINE,
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(
        text(&output.stdout),
        "b'one'\nb'two'\nb'three'\n3 datagrams came back\n"
    );
    assert!(output.status.success());
    let received =
        echoes.join().expect("the peer should finish");
    assert_eq!(received, [&b"one"[..], b"two", b"three"]);
}

/// With nobody answering, three-datagrams stops after `-w` of quiet and
/// says that none came back.
#[cfg(unix)]
#[test]
fn three_datagrams_stops_when_nothing_comes() {
    let port = closed_port();
    let started = Instant::now();
    let output = run_with_limit(
        example("three-datagrams").args([
            "-w",
            "0.3",
            "127.0.0.1",
            &port,
        ]),
        DEADLINE,
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(
        text(&output.stdout),
        "0 datagrams came back\n"
    );
    assert!(output.status.success());
    assert!(
        started.elapsed() >= Duration::from_millis(300)
    );
}
