use super::*;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::atomic::Ordering;

/// Test seam: a crew refuses a thread beyond `refuse_threads_beyond`, as
/// a system at its task limit would.
pub fn maybe_refuse_a_thread(
    shared: &Shared,
) -> io::Result<()> {
    let beyond = shared
        .refuse_threads_beyond
        .load(Ordering::Relaxed);
    if shared.lock().threads > beyond {
        return Err(io::Error::new(
            ErrorKind::WouldBlock,
            "Resource temporarily unavailable (refused by the test)",
        ));
    }
    Ok(())
}

const PATIENCE: Duration = Duration::from_secs(5);

/// A loopback listener, for connected pairs.
struct Pairs {
    listener: TcpListener,
}

impl Pairs {
    fn new() -> Pairs {
        let listener = TcpListener::bind("127.0.0.1:0")
            .expect("loopback should bind");
        Pairs { listener }
    }

    /// A client, and the server's end with the client's address.
    fn pair(&self) -> (TcpStream, TcpStream, SocketAddr) {
        let address =
            self.listener.local_addr().expect("bound");
        let client = TcpStream::connect(address)
            .expect("loopback should connect");
        client
            .set_read_timeout(Some(PATIENCE))
            .expect("timeout should set");
        let (server, peer) = self
            .listener
            .accept()
            .expect("should accept");
        (client, server, peer)
    }
}

/// Reads the client's first byte and sends it back, then closes
/// gracefully; panics when the byte is even, as a handler with a bug
/// (a learner's `.unwrap()`) might.
fn echo_or_panic(
    mut socket: TcpStream,
    _: SocketAddr,
) -> anyhow::Result<()> {
    let mut request = [0u8; 1];
    let bytes_read = socket.read(&mut request)?;
    if bytes_read == 1 && request[0] % 2 == 0 {
        // A panic that skips the panic hook, so the test's output stays
        // quiet; it unwinds all the same.
        panic::resume_unwind(Box::new(
            "a bug in the handler",
        ));
    }
    socket.write_all(&request[..bytes_read])?;
    crate::graceful_close::close(socket);
    Ok(())
}

/// Everything the server sent, up to its end of stream.
fn answer(client: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).map(|_| answer)
}

/// Whether the server still holds the connection open: a read would
/// block, rather than see the end of the stream or a reset.
fn still_held(client: &TcpStream) -> bool {
    client.set_nonblocking(true).expect("should set");
    let held = matches!(
        (&*client).read(&mut [0u8; 1]),
        Err(error) if error.kind() == ErrorKind::WouldBlock
    );
    client.set_nonblocking(false).expect("should set");
    held
}

/// Polls `condition` until it holds, for at most `PATIENCE`.
fn eventually(condition: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// A handler that panics on every other client costs only those
/// clients: the others get their byte back and a clean end of stream,
/// the panicking ones a clean end or a reset (never a timeout), and the
/// crew never grows past its bound to make up for threads lost.
#[test]
fn a_panic_costs_one_client_never_a_thread() {
    const CLIENTS: u8 = 40;
    let pairs = Pairs::new();
    let mut crew =
        Crew::new(2, Some(PATIENCE)).expect("starts");
    let mut clients = Vec::new();
    for number in 0..CLIENTS {
        let (mut client, server, address) = pairs.pair();
        client.write_all(&[number]).expect("sends");
        crew.start(echo_or_panic, server, address);
        clients.push(client);
    }
    for (number, mut client) in (0..CLIENTS).zip(clients)
    {
        let answer = answer(&mut client);
        if number % 2 == 1 {
            assert_eq!(
                answer.expect("a clean end"),
                [number],
                "client {number}"
            );
        } else {
            match answer {
                Ok(bytes) => assert_eq!(
                    bytes,
                    [],
                    "client {number}"
                ),
                Err(error) => assert_eq!(
                    error.kind(),
                    ErrorKind::ConnectionReset,
                    "client {number}"
                ),
            }
        }
    }
    assert_eq!(crew.shared.lock().threads, 2);
}

/// With every thread waiting on a silent client, each newcomer drops
/// exactly one of them, the one that has waited longest; the others are
/// still held, and every newcomer is served.
#[test]
fn each_newcomer_drops_one_silent_client_the_oldest() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(3, None).expect("starts");
    let mut silent = Vec::new();
    let mut newcomers = Vec::new();
    for _ in 0..3 {
        let (client, server, address) = pairs.pair();
        crew.start(echo_or_panic, server, address);
        silent.push(client);
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(
        LEAST_SILENCE + Duration::from_millis(50),
    );
    for newcomer in 0..3_u8 {
        let (mut client, server, address) = pairs.pair();
        client
            .write_all(&[2 * newcomer + 1])
            .expect("sends");
        crew.start(echo_or_panic, server, address);
        assert_eq!(
            answer(&mut client).expect("a clean end"),
            [2 * newcomer + 1]
        );
        // Kept open, so that its thread stays busy in the drain.
        newcomers.push(client);
        // The oldest silent clients are gone, the younger ones held.
        for (age, client) in silent.iter().enumerate() {
            let dropped = age <= usize::from(newcomer);
            assert!(
                eventually(
                    || still_held(client) != dropped
                ),
                "newcomer {newcomer}, silent client {age}"
            );
        }
        thread::sleep(
            LEAST_SILENCE + Duration::from_millis(50),
        );
    }
}

/// A client that was answered but never closes gives way to a newcomer
/// long before the drain's 1 s limit.
#[test]
fn a_client_that_never_closes_gives_way_in_the_drain() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(1, None).expect("starts");
    let (mut lingering, server, address) = pairs.pair();
    lingering.write_all(&[1]).expect("sends");
    crew.start(echo_or_panic, server, address);
    let mut ack = [0u8; 1];
    lingering.read_exact(&mut ack).expect("answered");
    assert_eq!(ack, [1]);
    thread::sleep(
        LEAST_SILENCE + Duration::from_millis(50),
    );

    let started = Instant::now();
    let (mut newcomer, server, address) = pairs.pair();
    newcomer.write_all(&[3]).expect("sends");
    crew.start(echo_or_panic, server, address);
    assert_eq!(
        answer(&mut newcomer).expect("a clean end"),
        [3]
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "{took:?}"
    );
}

/// When the system refuses a thread, the crew's bound becomes the threads
/// it has, and silent clients make room as if `--max-clients` said so.
#[test]
fn a_refused_thread_lowers_the_bound() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(10, None).expect("starts");
    crew.shared
        .refuse_threads_beyond
        .store(2, Ordering::Relaxed);
    // Two silent clients, the first older by 30 ms.
    let mut silent = Vec::new();
    for _ in 0..2 {
        let (client, server, address) = pairs.pair();
        crew.start(echo_or_panic, server, address);
        silent.push(client);
        thread::sleep(Duration::from_millis(30));
    }
    thread::sleep(
        LEAST_SILENCE + Duration::from_millis(50),
    );
    // The third client finds no thread, and the system refuses one.
    let (mut newcomer, server, address) = pairs.pair();
    newcomer.write_all(&[5]).expect("sends");
    crew.start(echo_or_panic, server, address);
    assert_eq!(
        answer(&mut newcomer).expect("a clean end"),
        [5]
    );
    let crew_state = crew.shared.lock();
    assert_eq!(crew_state.threads, 2);
    assert_eq!(crew_state.max_threads, 2);
    drop(crew_state);
    assert!(eventually(|| !still_held(&silent[0])));
    assert!(still_held(&silent[1]));
}

/// Threads idle for the retirement time exit, down to the floor.
#[test]
fn idle_threads_retire_down_to_the_floor() {
    const CLIENTS: usize = 3 * FLOOR_THREADS;
    let pairs = Pairs::new();
    let mut crew = Crew::with_retirement(
        100,
        None,
        Duration::from_millis(200),
    )
    .expect("starts");
    assert!(eventually(
        || crew.shared.lock().idle.len() == 1
    ));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, server, address) = pairs.pair();
        crew.start(echo_or_panic, server, address);
        clients.push(client);
    }
    assert_eq!(crew.shared.lock().threads, CLIENTS);
    for (number, mut client) in
        clients.into_iter().enumerate()
    {
        client.write_all(&[1]).expect("sends");
        assert_eq!(
            answer(&mut client).expect("ends"),
            [1],
            "{number}"
        );
    }
    assert!(eventually(
        || crew.shared.lock().threads == FLOOR_THREADS
    ));
    // The crew still serves, with the threads it kept.
    let (mut client, server, address) = pairs.pair();
    client.write_all(&[7]).expect("sends");
    crew.start(echo_or_panic, server, address);
    assert_eq!(answer(&mut client).expect("ends"), [7]);
}

/// Whatever `-w` is, a request that is already there is served.
#[test]
fn a_tiny_wait_still_serves_a_request_already_there() {
    let pairs = Pairs::new();
    let mut crew =
        Crew::new(4, Some(Duration::from_nanos(1)))
            .expect("starts");
    let mut clients = Vec::new();
    for number in 0..20_u8 {
        let (mut client, server, address) = pairs.pair();
        client
            .write_all(&[2 * number + 1])
            .expect("sends");
        // Make sure the byte has arrived before the crew looks.
        assert!(eventually(|| server
            .peek(&mut [0u8; 1])
            .is_ok_and(|count| count == 1)));
        crew.start(echo_or_panic, server, address);
        clients.push((number, client));
    }
    for (number, mut client) in clients {
        assert_eq!(
            answer(&mut client).expect("a clean end"),
            [2 * number + 1]
        );
    }
}

/// A client that still sends after `ACK!` is not silent: it keeps its
/// thread while it sends, and gives way only once it has been quiet for
/// `LEAST_SILENCE`.
#[test]
fn a_client_still_sending_after_ack_keeps_its_thread() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(1, None).expect("starts");
    let (mut talker, server, address) = pairs.pair();
    talker.write_all(&[1]).expect("sends");
    crew.start(echo_or_panic, server, address);
    let mut echoed = [0u8; 1];
    talker.read_exact(&mut echoed).expect("answered");
    assert_eq!(echoed, [1]);

    // A newcomer comes while the talker keeps sending for 400 ms.
    let (mut newcomer, server, address) = pairs.pair();
    newcomer.write_all(&[3]).expect("sends");
    let started = Instant::now();
    let accept_loop = thread::spawn(move || {
        crew.start(echo_or_panic, server, address);
        crew
    });
    let mut last_sent = started.elapsed();
    while started.elapsed() < Duration::from_millis(400) {
        talker
            .write_all(b"more")
            .expect("the talker is not cut off");
        last_sent = started.elapsed();
        thread::sleep(Duration::from_millis(20));
    }
    // Quiet now: after LEAST_SILENCE it gives way.
    assert_eq!(
        answer(&mut newcomer).expect("a clean end"),
        [3]
    );
    let took = started.elapsed();
    assert!(
        took >= last_sent + LEAST_SILENCE,
        "{took:?}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "{took:?}"
    );
    drop(accept_loop.join().expect("hands off"));
}
