use super::*;
use std::io::{ErrorKind, Write as _};
use std::net::TcpListener;

/// Long enough for any busy machine: tests wait for events, never for
/// this, unless something is broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// A loopback listener, for connected pairs.
struct Pairs {
    listener: TcpListener,
}

impl Pairs {
    fn new() -> Pairs {
        let listener =
            TcpListener::bind("127.0.0.1:0").expect("loopback should bind");
        Pairs { listener }
    }

    /// A client, and the server's end with the client's address.
    fn pair(&self) -> (TcpStream, TcpStream, SocketAddr) {
        let address = self.listener.local_addr().expect("bound");
        let client =
            TcpStream::connect(address).expect("loopback should connect");
        client.set_read_timeout(Some(PATIENCE)).expect("timeout should set");
        let (server, peer) = self.listener.accept().expect("should accept");
        (client, server, peer)
    }
}

/// Reads the client's first byte, sends it back and says "no more from
/// us"; panics when the byte is even, as a handler with a bug (a
/// learner's `.unwrap()`) might.
fn echo_or_panic(mut socket: &TcpStream, _: SocketAddr) -> anyhow::Result<()> {
    let mut request = [0u8; 1];
    let bytes_read = socket.read(&mut request)?;
    if bytes_read == 1 && request[0] % 2 == 0 {
        // A panic that skips the panic hook, so the test's output stays
        // quiet; it unwinds all the same.
        panic::resume_unwind(Box::new("a bug in the handler"));
    }
    socket.write_all(&request[..bytes_read])?;
    socket.shutdown(std::net::Shutdown::Write)?;
    Ok(())
}

/// Everything the server sent, up to its end of stream.
fn answer(client: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).map(|_| answer)
}

/// Waits until the crew has `count` clients in its silence queue, and
/// then until the newest of them has been silent for [`LEAST_SILENCE`].
fn until_silent(crew: &Crew, count: usize) {
    let started = Instant::now();
    while crew.shared.lock().silent.len() < count {
        assert!(started.elapsed() < PATIENCE, "never silent");
        thread::sleep(Duration::from_millis(10));
    }
    // A lower bound, which no scheduler can shorten.
    thread::sleep(LEAST_SILENCE);
}

/// A handler that panics on every other client costs only those
/// clients: the others get their byte back and a clean end of stream,
/// the panicking ones a clean end or a reset (never a timeout), and the
/// crew never grows past its bound to make up for threads lost.
#[test]
fn a_panic_costs_one_client_never_a_thread() {
    const CLIENTS: u8 = 40;
    let pairs = Pairs::new();
    let mut crew = Crew::new(2, Some(PATIENCE)).expect("starts");
    let mut clients = Vec::new();
    for number in 0..CLIENTS {
        let (mut client, server, address) = pairs.pair();
        client.write_all(&[number]).expect("sends");
        crew.start(echo_or_panic, server, address);
        clients.push(client);
    }
    for (number, mut client) in (0..CLIENTS).zip(clients) {
        let answer = answer(&mut client);
        if number % 2 == 1 {
            assert_eq!(
                answer.expect("a clean end"),
                [number],
                "client {number}"
            );
        } else {
            match answer {
                Ok(bytes) => assert_eq!(bytes, [], "client {number}"),
                Err(error) => assert_eq!(
                    error.kind(),
                    ErrorKind::ConnectionReset,
                    "client {number}"
                ),
            }
        }
    }
    assert_eq!(crew.shared.lock().members.len(), 2);
}

/// Give-way is the flag, not the socket: with the wake-up by `shutdown`
/// turned off (Windows has none), the silent client is still dropped
/// within a slice, and a request it sends after being asked is not
/// served; the newcomer is.
#[test]
fn the_flag_alone_gives_way_and_a_late_request_is_not_served() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(1, None).expect("starts");
    crew.shared.lock().wake_by_shutdown = false;
    let (mut silent, server, address) = pairs.pair();
    crew.start(echo_or_panic, server, address);
    until_silent(&crew, 1);

    let (mut newcomer, server, address) = pairs.pair();
    newcomer.write_all(&[3]).expect("sends");
    crew.start(echo_or_panic, server, address);
    // Asked already: this request comes too late to be served.
    silent.write_all(&[1]).expect("sends");
    assert_eq!(answer(&mut newcomer).expect("a clean end"), [3]);
    // The dropped client gets no echo: a bare end, or a reset for
    // the byte it sent that nobody read.
    match answer(&mut silent) {
        Ok(bytes) => assert_eq!(bytes, []),
        Err(error) => assert_eq!(error.kind(), ErrorKind::ConnectionReset),
    }
}

/// Each request for room drops one silent client, the one silent longest;
/// the other is still held.
#[test]
fn make_room_drops_the_longest_silent_client() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(2, None).expect("starts");
    let (mut oldest, server, address) = pairs.pair();
    crew.start(echo_or_panic, server, address);
    until_silent(&crew, 1);
    let (younger, server, address) = pairs.pair();
    crew.start(echo_or_panic, server, address);
    until_silent(&crew, 2);
    assert!(crew.make_room(Duration::ZERO));
    assert_eq!(answer(&mut oldest).expect("a clean end"), []);
    assert!(still_held(&younger));
}

/// Out of descriptors, one client gives way at a time: a second request
/// for room while the first client is on its way out drops nobody else
/// (asked under one lock here, so that it cannot have left yet). With no
/// wake-up by `shutdown` (Windows has none) and nothing sent, the client
/// leaves at the end of a slice, on the flag alone; then the next request
/// drops the other.
#[test]
fn make_room_asks_one_client_at_a_time() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(2, None).expect("starts");
    crew.shared.lock().wake_by_shutdown = false;
    let (mut oldest, server, address) = pairs.pair();
    crew.start(echo_or_panic, server, address);
    until_silent(&crew, 1);
    let (mut younger, server, address) = pairs.pair();
    crew.start(echo_or_panic, server, address);
    until_silent(&crew, 2);
    let mut state = crew.shared.lock();
    assert!(state.ask_one_for_room());
    assert!(state.ask_one_for_room());
    assert_eq!(state.silent.len(), 1, "the younger should still be held");
    drop(state);
    assert_eq!(answer(&mut oldest).expect("a clean end"), []);
    let started = Instant::now();
    while crew.shared.lock().making_room > 0 {
        assert!(started.elapsed() < PATIENCE, "never left");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(still_held(&younger));
    assert!(crew.make_room(Duration::ZERO));
    assert_eq!(answer(&mut younger).expect("a clean end"), []);
}

/// The handler's reads wait as `-w` says (here: for ever), not as the
/// crew's last slice of waiting did: a second part of a request that
/// comes later than a slice still reaches the handler.
#[test]
fn the_handler_reads_with_the_wait_not_the_slice() {
    fn read_twice(mut socket: &TcpStream, _: SocketAddr) -> anyhow::Result<()> {
        let mut request = [0u8; 2];
        socket.read_exact(&mut request)?;
        socket.write_all(&request)?;
        socket.shutdown(std::net::Shutdown::Write)?;
        Ok(())
    }
    let pairs = Pairs::new();
    let mut crew = Crew::new(1, None).expect("starts");
    let (mut client, server, address) = pairs.pair();
    client.write_all(b"a").expect("sends");
    crew.start(read_twice, server, address);
    // Longer than any slice: a leaked slice timeout fails the read.
    thread::sleep(WAIT_SLICE + LEAST_SILENCE);
    client.write_all(b"b").expect("sends");
    assert_eq!(answer(&mut client).expect("a clean end"), b"ab");
}

/// Whether the server still holds the connection open: a read waits,
/// rather than see the end of the stream or a reset.
fn still_held(mut client: &TcpStream) -> bool {
    client.set_read_timeout(Some(LEAST_SILENCE)).expect("sets");
    let held = matches!(
        client.read(&mut [0u8; 1]),
        Err(error) if common::is_timeout(&error)
    );
    client.set_read_timeout(Some(PATIENCE)).expect("sets");
    held
}

/// When the system refuses a thread (here: no memory mappings left), the
/// crew's bound becomes the threads it has, and the silent client makes room as if `--max-clients` said so.
#[test]
fn a_refused_thread_lowers_the_bound() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(10, None).expect("starts");
    crew.shared.lock().mapped_room = 2;
    let mut silent = Vec::new();
    for _ in 0..2 {
        let (client, server, address) = pairs.pair();
        crew.start(echo_or_panic, server, address);
        silent.push(client);
    }
    until_silent(&crew, 2);
    // The third client finds no thread, and the system refuses one.
    let (mut newcomer, server, address) = pairs.pair();
    newcomer.write_all(&[5]).expect("sends");
    crew.start(echo_or_panic, server, address);
    assert_eq!(answer(&mut newcomer).expect("a clean end"), [5]);
    let state = crew.shared.lock();
    assert_eq!(state.members.len(), 2);
    assert_eq!(state.max_threads, 2);
    drop(state);
    // One of the two was dropped for it, the other is still held.
    let held = silent.iter().filter(|client| still_held(client));
    assert_eq!(held.count(), 1);
}

/// Threads idle for the retirement time exit, down to the floor, and the
/// crew still serves with those it kept.
#[test]
fn idle_threads_retire_down_to_the_floor() {
    const CLIENTS: usize = 3 * FLOOR_THREADS;
    let pairs = Pairs::new();
    let mut crew = Crew::new(100, None).expect("starts");
    // Every thread below serves a client, so each sees this.
    crew.shared.lock().idle_retirement = Duration::from_millis(200);
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, server, address) = pairs.pair();
        crew.start(echo_or_panic, server, address);
        clients.push(client);
    }
    assert_eq!(crew.shared.lock().members.len(), CLIENTS);
    for (number, mut client) in clients.into_iter().enumerate() {
        client.write_all(&[1]).expect("sends");
        assert_eq!(answer(&mut client).expect("ends"), [1], "{number}");
    }
    let started = Instant::now();
    while crew.shared.lock().members.len() > FLOOR_THREADS {
        assert!(started.elapsed() < PATIENCE, "no retirement");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(crew.shared.lock().members.len(), FLOOR_THREADS);
    let (mut client, server, address) = pairs.pair();
    client.write_all(&[7]).expect("sends");
    crew.start(echo_or_panic, server, address);
    assert_eq!(answer(&mut client).expect("ends"), [7]);
}

/// A client that still sends after its answer is not silent: each byte
/// starts its silence again, so a newcomer is served no sooner than
/// `LEAST_SILENCE` after the talker's last byte.
#[test]
fn a_client_still_sending_after_the_answer_keeps_its_thread() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(1, None).expect("starts");
    let (mut talker, server, address) = pairs.pair();
    talker.write_all(&[1]).expect("sends");
    crew.start(echo_or_panic, server, address);
    let mut echoed = [0u8; 1];
    talker.read_exact(&mut echoed).expect("answered");
    assert_eq!(echoed, [1]);

    let (mut newcomer, server, address) = pairs.pair();
    newcomer.write_all(&[3]).expect("sends");
    let started = Instant::now();
    let accept_loop = thread::spawn(move || {
        crew.start(echo_or_panic, server, address);
        crew
    });
    let mut last_sent = Duration::ZERO;
    let mut paused = false;
    while started.elapsed() < Duration::from_millis(400) {
        // Before the write: the server's silence cannot start sooner.
        let sending = started.elapsed();
        // A pause of LEAST_SILENCE (a busy machine) made the talker silent
        // for long enough: from then on, giving way is right.
        paused = sending - last_sent >= LEAST_SILENCE;
        if paused || talker.write_all(b"more").is_err() {
            break; // Dropped: only after a long enough silence.
        }
        last_sent = sending;
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(answer(&mut newcomer).expect("a clean end"), [3]);
    let took = started.elapsed();
    assert!(paused || took >= last_sent + LEAST_SILENCE, "{took:?}");
    drop(accept_loop.join().expect("hands off"));
}

/// Dropping the crew drops the clients it waits on and joins every
/// thread: none is left holding the crew.
#[test]
fn dropping_the_crew_joins_its_threads() {
    let pairs = Pairs::new();
    let mut crew = Crew::new(4, None).expect("starts");
    let (mut silent, server, address) = pairs.pair();
    crew.start(echo_or_panic, server, address);
    let shared = Arc::clone(&crew.shared);
    drop(crew);
    assert_eq!(Arc::strong_count(&shared), 1);
    assert_eq!(answer(&mut silent).expect("a clean end"), []);
}
