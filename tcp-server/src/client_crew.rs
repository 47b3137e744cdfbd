//! A crew of client threads: reused from client to client, at most
//! `--max-clients` of them (fewer if the system refuses more), and room for
//! newcomers when silent clients hold every thread.
//!
//! The script starts a new thread for every client, without limit, and its
//! `recv` waits for ever. Starting a thread costs more than serving a
//! client does, and a few hundred connections that send nothing would hold
//! a few hundred threads for good. Here the accept loop calls
//! [`Crew::start`] with the handler and the client, and:
//!
//! - the thread that came free most recently takes the client, if one is
//!   idle;
//! - otherwise a new thread joins the crew, up to the bound;
//! - otherwise the client that has waited longest for nothing (its first
//!   byte, or its close after `ACK!`) is dropped, and its thread takes the
//!   newcomer: one client dropped for each newcomer, never more.
//!
//! Before the handler runs, its thread waits (up to `-w`) for the client's
//! first byte with `peek`, which reads nothing, so the handler's own `read`
//! is the script's `recv`. The handler's graceful close
//! ([`crate::graceful_close`]) waits for the client's end in the same way.
//! While a thread waits like this, the accept loop may ask it to give way:
//! it shuts down the reading side of that client's socket, which wakes the
//! thread at once.
//!
//! A handler that panics loses its client, never its thread. Threads left
//! idle for [`IDLE_RETIREMENT`] exit, down to [`FLOOR_THREADS`].

use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError,
};
use std::thread;
use std::time::{Duration, Instant};

use common::say;

use crate::address_space;

/// A client must have waited at least this long for nothing before it can
/// be dropped to make room, so that a request on its way is not cut off.
pub const LEAST_SILENCE: Duration =
    Duration::from_millis(100);

/// An idle thread exits after this long without a client...
pub const IDLE_RETIREMENT: Duration =
    Duration::from_secs(30);
/// ...unless the crew is down to this many threads.
pub const FLOOR_THREADS: usize = 4;

/// Each client thread's stack: 8 MiB, what Linux gives a program's main
/// thread, so a change that runs in `main` runs in a client thread too
/// (`[0u8; 262144]`, Python's `recv(262144)`, is fine). It costs address
/// space, not memory: a page is used only once it is touched.
pub const THREAD_STACK_SIZE: usize = 8 * 1024 * 1024;

/// What a thread of the crew runs for each client, like the `target` of
/// Python's `threading.Thread`. An error becomes one line of the log that
/// names the client.
pub type Handler =
    fn(TcpStream, SocketAddr) -> anyhow::Result<()>;

/// The crew, as the accept loop sees it.
pub struct Crew {
    shared: Arc<Shared>,
}

/// Where a waiting thread stands, for the log line when it gives way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// Waiting for a client.
    Idle,
    /// Waiting for the client's first byte.
    FirstByte,
    /// Running the handler on data the client sent.
    Serving,
    /// After `ACK!`: waiting for the client to close its side.
    Closing,
}

struct Shared {
    crew: Mutex<CrewState>,
    /// Signalled, while the accept loop waits, when a thread comes free.
    room_made: Condvar,
    /// `-w`: how long a client may stay silent; `None`: no limit.
    wait: Option<Duration>,
    idle_retirement: Duration,
    /// For tests: the system refuses threads beyond this many.
    #[cfg(test)]
    refuse_threads_beyond: std::sync::atomic::AtomicUsize,
}

/// What the accept loop and the threads share. Locked before a seat, never
/// after one.
struct CrewState {
    /// Every thread's seat, living or retired; a retired thread's seat is
    /// reused by the next thread started.
    seats: Vec<Arc<Seat>>,
    /// Seats of idle threads, the most recently idle last.
    idle: Vec<Arc<Seat>>,
    retired: Vec<Arc<Seat>>,
    threads: usize,
    /// `--max-clients`, or fewer once the system has refused a thread.
    max_threads: usize,
    /// The seat asked to give way for an accept loop out of file
    /// descriptors, until its thread is free.
    victim: Option<usize>,
    accept_loop_waits: bool,
}

/// One thread's place in the crew. Its thread locks it for each step of
/// serving a client; the accept loop only to hand over a client or to ask
/// it to give way.
struct Seat {
    number: usize,
    state: Mutex<SeatState>,
    /// The thread waits on this while idle.
    wake: Condvar,
}

struct SeatState {
    /// The client it is to serve next.
    next: Option<Job>,
    stage: Stage,
    since: Instant,
    address: Option<SocketAddr>,
    /// The client's socket, while the thread waits on it in a way the
    /// accept loop may cut short.
    waiting_on: Option<Arc<TcpStream>>,
    asked_to_give_way: bool,
    /// The thread sleeps on `wake`: handing it a client must wake it.
    asleep: bool,
}

struct Job {
    handler: Handler,
    client: TcpStream,
    address: SocketAddr,
    /// When `accept` gave us the client: its wait for a thread counts as
    /// silence too, so that the client that came first gives way first.
    accepted_at: Instant,
}

thread_local! {
    /// The seat of the current thread, if it is a client thread.
    static MY_SEAT: RefCell<Option<Arc<Seat>>> =
        const { RefCell::new(None) };
}

impl Crew {
    /// A crew of at most `max_threads` threads; clients may stay silent
    /// for `wait`. One thread starts now, so that a system that refuses
    /// every thread is found at start-up; the others start when needed.
    pub fn new(
        max_threads: usize,
        wait: Option<Duration>,
    ) -> io::Result<Crew> {
        Crew::with_retirement(
            max_threads,
            wait,
            IDLE_RETIREMENT,
        )
    }

    fn with_retirement(
        max_threads: usize,
        wait: Option<Duration>,
        idle_retirement: Duration,
    ) -> io::Result<Crew> {
        let shared = Arc::new(Shared {
            crew: Mutex::new(CrewState {
                seats: Vec::new(),
                idle: Vec::new(),
                retired: Vec::new(),
                threads: 0,
                max_threads: max_threads.max(1),
                victim: None,
                accept_loop_waits: false,
            }),
            room_made: Condvar::new(),
            wait,
            idle_retirement,
            #[cfg(test)]
            refuse_threads_beyond: usize::MAX.into(),
        });
        let crew = Crew { shared };
        let seat = crew.shared.lock().take_a_seat();
        crew.start_thread(seat).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "could not start a client thread: {error}"
                ),
            )
        })?;
        // Ready before the first client, so that it does not start a
        // second thread while the first is still on its way.
        let mut state = crew.shared.lock();
        while state.idle.is_empty() {
            state.accept_loop_waits = true;
            state = crew
                .shared
                .room_made
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.accept_loop_waits = false;
        drop(state);
        Ok(crew)
    }

    /// Python: `threading.Thread(target=handler, args=(client,)).start()`.
    /// A thread of the crew runs `handler(client, address)` once the
    /// client has sent something, or closed.
    pub fn start(
        &mut self,
        handler: Handler,
        client: TcpStream,
        address: SocketAddr,
    ) {
        let mut job = Job {
            handler,
            client,
            address,
            accepted_at: Instant::now(),
        };
        let shared = &self.shared;
        let mut crew = shared.lock();
        loop {
            // The thread that came free last takes the client.
            if let Some(seat) = crew.idle.pop() {
                drop(crew);
                let mut idle = seat.lock();
                idle.next = Some(job);
                let asleep = idle.asleep;
                drop(idle);
                if asleep {
                    seat.wake.notify_one();
                }
                return;
            }
            // A new thread, if the bound allows.
            if crew.threads < crew.max_threads {
                let seat = crew.take_a_seat();
                drop(crew);
                seat.lock().next = Some(job);
                if self
                    .start_thread(Arc::clone(&seat))
                    .is_ok()
                {
                    return;
                }
                job = seat.lock().next.take().expect(
                    "a thread that never started should leave its client",
                );
                crew = shared.lock();
                continue;
            }
            // Every thread is busy: the client that has waited longest for
            // nothing gives way, and its thread takes this one.
            let now = Instant::now();
            if let Some(seat) = crew.longest_silent(now) {
                let mut victim = seat.lock();
                victim.next = Some(job);
                victim.ask_to_give_way();
                return;
            }
            crew = shared.wait_for_room(crew, now);
        }
    }

    /// For an accept loop that has run out of file descriptors: asks the
    /// client that has waited longest for nothing to give way, and waits
    /// until some client has left, or for at most `limit`.
    pub fn wait_for_a_departure(&self, limit: Duration) {
        let shared = &self.shared;
        let mut crew = shared.lock();
        if crew.victim.is_none() {
            if let Some(seat) = crew
                .longest_silent(Instant::now())
                .map(Arc::clone)
            {
                crew.victim = Some(seat.number);
                seat.lock().ask_to_give_way();
            }
        }
        crew.accept_loop_waits = true;
        let (mut crew, _) = shared
            .room_made
            .wait_timeout(crew, limit)
            .unwrap_or_else(PoisonError::into_inner);
        crew.accept_loop_waits = false;
    }

    /// Starts a thread for `seat`; on failure, the bound becomes the
    /// threads the crew has, and the log says so once.
    fn start_thread(
        &self,
        seat: Arc<Seat>,
    ) -> io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let seat_if_refused = Arc::clone(&seat);
        let started = address_space::room_for_a_thread(
            THREAD_STACK_SIZE,
        )
        .and_then(|()| {
            #[cfg(test)]
            tests::maybe_refuse_a_thread(&shared)?;
            thread::Builder::new()
                .name("client".to_string())
                .stack_size(THREAD_STACK_SIZE)
                .spawn(move || {
                    serve_clients(shared, seat)
                })
        });
        let Err(error) = started else {
            return Ok(());
        };
        let mut crew = self.shared.lock();
        crew.threads -= 1;
        crew.retired.push(seat_if_refused);
        let threads = crew.threads;
        if threads > 0 && crew.max_threads > threads {
            crew.max_threads = threads;
            drop(crew);
            let clients = if threads == 1 {
                "client"
            } else {
                "clients"
            };
            say!(
                "[!] could not start a client thread: {error}; \
                 serving at most {threads} {clients} at once from now on"
            );
        }
        Err(error)
    }
}

/// One thread's life: serve the client it was given, then wait for the
/// next, until it retires.
fn serve_clients(shared: Arc<Shared>, seat: Arc<Seat>) {
    MY_SEAT.with(|mine| {
        *mine.borrow_mut() = Some(Arc::clone(&seat))
    });
    while let Some(job) = shared.next_client(&seat) {
        let Job { handler, client, address, .. } = job;
        let Some(client) = shared
            .wait_for_first_byte(&seat, client, address)
        else {
            continue;
        };
        // A panic in the handler ends this client, not this thread; its
        // message still reaches stderr. The socket is closed by now.
        let served =
            panic::catch_unwind(AssertUnwindSafe(|| {
                handler(client, address)
            }));
        if let Ok(Err(error)) = served {
            say!("[!] {address}: {error:#}");
        }
    }
}

/// Locks ignoring poison. The state changes only in short steps under a
/// lock, never while a handler runs, so a panic cannot leave it
/// half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, CrewState> {
        lock(&self.crew)
    }

    /// Waits until something may have made room: a thread came free, or a
    /// client will soon have been silent long enough to give way.
    fn wait_for_room<'a>(
        &self,
        mut crew: MutexGuard<'a, CrewState>,
        now: Instant,
    ) -> MutexGuard<'a, CrewState> {
        let soonest = crew
            .seats
            .iter()
            .filter_map(|seat| {
                let seat = seat.lock();
                seat.may_give_way().then(|| {
                    (seat.since + LEAST_SILENCE)
                        .saturating_duration_since(now)
                })
            })
            .min()
            .unwrap_or(LEAST_SILENCE);
        let timeout = soonest.clamp(
            Duration::from_millis(1),
            LEAST_SILENCE,
        );
        crew.accept_loop_waits = true;
        let (mut crew, _) = self
            .room_made
            .wait_timeout(crew, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        crew.accept_loop_waits = false;
        crew
    }

    /// Marks the seat idle and waits for its next client. Returns `None`
    /// when the thread should retire.
    fn next_client(
        &self,
        seat: &Arc<Seat>,
    ) -> Option<Job> {
        {
            let mut mine = seat.lock();
            mine.stage = Stage::Idle;
            mine.address = None;
            mine.waiting_on = None;
            mine.asked_to_give_way = false;
            // A newcomer handed over while this thread gave way.
            if let Some(job) = mine.next.take() {
                mine.begin(&job);
                drop(mine);
                self.clear_victim(seat);
                return Some(job);
            }
        }
        {
            let mut crew = self.lock();
            if crew.victim == Some(seat.number) {
                crew.victim = None;
            }
            crew.idle.push(Arc::clone(seat));
            if crew.accept_loop_waits {
                self.room_made.notify_one();
            }
        }
        let mut idle_since = Instant::now();
        let mut mine = seat.lock();
        loop {
            if let Some(job) = mine.next.take() {
                mine.asleep = false;
                mine.begin(&job);
                return Some(job);
            }
            let left = self
                .idle_retirement
                .saturating_sub(idle_since.elapsed());
            if left.is_zero() {
                drop(mine);
                let mut crew = self.lock();
                let position =
                    crew.idle.iter().position(|idle| {
                        Arc::ptr_eq(idle, seat)
                    });
                // Still idle: nobody is handing it a client.
                if let Some(position) = position {
                    if crew.threads > FLOOR_THREADS {
                        crew.idle.remove(position);
                        crew.threads -= 1;
                        crew.retired
                            .push(Arc::clone(seat));
                        return None;
                    }
                    idle_since = Instant::now();
                }
                drop(crew);
                mine = seat.lock();
                continue;
            }
            mine.asleep = true;
            mine = seat
                .wake
                .wait_timeout(mine, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn clear_victim(&self, seat: &Seat) {
        let mut crew = self.lock();
        if crew.victim == Some(seat.number) {
            crew.victim = None;
        }
    }

    /// Waits up to `-w` for the client's first byte, and gives way if
    /// asked to. Returns the client when there is something to read (or
    /// the client has closed); otherwise says why it was dropped.
    fn wait_for_first_byte(
        &self,
        seat: &Seat,
        client: TcpStream,
        address: SocketAddr,
    ) -> Option<TcpStream> {
        let wait = self.wait;
        let set_up =
            client.set_read_timeout(wait).and_then(
                |()| client.set_write_timeout(wait),
            );
        if let Err(error) = set_up {
            say!("[!] {address}: {error}");
            return None;
        }
        let (client, peeked, gave_way) = give_way_while(
            seat,
            client,
            peek_through_signals,
        );
        match (peeked, gave_way) {
            (Ok(0) | Err(_), Some(waited)) => {
                say_gave_way(seat, waited);
                None
            }
            // Data (or the client's close) is there: serve it, even if it
            // arrived just as we were asked to give way.
            (Ok(_), asked) => {
                let mut mine = seat.lock();
                mine.stage = Stage::Serving;
                mine.asked_to_give_way = false;
                drop(mine);
                if asked.is_some() {
                    self.refuse_to_give_way(seat);
                }
                Some(client)
            }
            (Err(error), None)
                if common::is_timeout(&error) =>
            {
                let seconds = wait
                    .unwrap_or_default()
                    .as_secs_f64();
                say!(
                    "[!] {address}: sent nothing for {seconds} s: timed out"
                );
                None
            }
            (Err(error), None) => {
                say!(
                    "[!] {address}: could not read the request: {error}"
                );
                None
            }
        }
    }

    /// The client sent data just as it was asked to give way: it is served
    /// all the same, and the accept loop picks another.
    fn refuse_to_give_way(&self, seat: &Seat) {
        let mut crew = self.lock();
        if crew.victim == Some(seat.number) {
            crew.victim = None;
        }
        if crew.accept_loop_waits {
            self.room_made.notify_one();
        }
    }
}

/// Runs `wait` on the client's socket as a stretch during which the accept
/// loop may ask this thread to give way. Returns the socket, what `wait`
/// returned, and, if it was asked to give way, how long the client had
/// waited by then.
fn give_way_while<T>(
    seat: &Seat,
    client: TcpStream,
    wait: impl FnOnce(&TcpStream) -> T,
) -> (TcpStream, T, Option<Duration>) {
    let client = Arc::new(client);
    {
        let mut mine = seat.lock();
        mine.waiting_on = Some(Arc::clone(&client));
        if mine.stage == Stage::Closing {
            mine.since = Instant::now();
        }
    }
    let result = wait(&client);
    let (asked, since) = {
        let mut mine = seat.lock();
        mine.waiting_on = None;
        (mine.asked_to_give_way, mine.since)
    };
    let client = Arc::into_inner(client).expect(
        "the crew should hold no copy of a socket it no longer waits on",
    );
    let gave_way = asked.then(|| since.elapsed());
    (client, result, gave_way)
}

/// Says in the log that a client was dropped to make room.
fn say_gave_way(seat: &Seat, waited: Duration) {
    let (stage, address) = {
        let mine = seat.lock();
        (mine.stage, mine.address)
    };
    let address = address
        .map_or_else(String::new, |a| a.to_string());
    let seconds = waited.as_secs_f64();
    if stage == Stage::FirstByte {
        say!(
            "[!] {address}: sent nothing for {seconds:.1} s while \
             another client waited: dropped to make room"
        );
    } else {
        say!(
            "[!] {address}: did not close for {seconds:.1} s after \
             ACK! while another client waited: dropped to make room"
        );
    }
}

impl CrewState {
    /// A seat for a new thread, counted as started.
    fn take_a_seat(&mut self) -> Arc<Seat> {
        self.threads += 1;
        if let Some(seat) = self.retired.pop() {
            return seat;
        }
        let seat = Arc::new(Seat {
            number: self.seats.len(),
            state: Mutex::new(SeatState {
                next: None,
                stage: Stage::Idle,
                since: Instant::now(),
                address: None,
                waiting_on: None,
                asked_to_give_way: false,
                asleep: false,
            }),
            wake: Condvar::new(),
        });
        self.seats.push(Arc::clone(&seat));
        seat
    }

    /// The seat whose client has waited longest for nothing, if it has
    /// waited at least [`LEAST_SILENCE`] and nobody has claimed it yet.
    fn longest_silent(
        &self,
        now: Instant,
    ) -> Option<&Arc<Seat>> {
        self.seats
            .iter()
            .filter_map(|seat| {
                let mine = seat.lock();
                let silent_for =
                    now.duration_since(mine.since);
                (mine.may_give_way()
                    && silent_for >= LEAST_SILENCE)
                    .then_some((seat, mine.since))
            })
            .min_by_key(|(_, since)| *since)
            .map(|(seat, _)| seat)
    }
}

impl Seat {
    fn lock(&self) -> MutexGuard<'_, SeatState> {
        lock(&self.state)
    }
}

impl SeatState {
    /// Takes on `job`: its first byte is awaited, and its silence counts
    /// from when it was accepted.
    fn begin(&mut self, job: &Job) {
        self.stage = Stage::FirstByte;
        self.since = job.accepted_at;
        self.address = Some(job.address);
    }

    /// Waiting on a silent client, and not yet claimed by a newcomer.
    fn may_give_way(&self) -> bool {
        self.waiting_on.is_some()
            && self.next.is_none()
            && !self.asked_to_give_way
    }

    /// Wakes the thread: shutting down the reading side of its client's
    /// socket ends the `peek` or `read` it waits in at once.
    fn ask_to_give_way(&mut self) {
        self.asked_to_give_way = true;
        if let Some(client) = &self.waiting_on {
            let _ = client.shutdown(Shutdown::Read);
        }
    }
}

/// `peek`, retried when a signal interrupts it.
fn peek_through_signals(
    client: &TcpStream,
) -> io::Result<usize> {
    let mut first_byte = [0u8; 1];
    loop {
        match client.peek(&mut first_byte) {
            Err(error)
                if error.kind()
                    == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// What a thread waiting for its client's close after `ACK!` learns from
/// the crew, and tells it.
pub struct AfterAck<'a> {
    seat: Option<&'a Seat>,
}

impl AfterAck<'_> {
    /// For a drain outside any crew, as in tests.
    #[cfg(test)]
    pub const fn outside_a_crew() -> AfterAck<'static> {
        AfterAck { seat: None }
    }

    /// How long to wait for the client's close: `limit`, or no more than
    /// [`LEAST_SILENCE`] if a newcomer already waits for this thread.
    pub fn time_limit(
        &self,
        limit: Duration,
    ) -> Duration {
        match self.seat {
            Some(seat) if seat.lock().next.is_some() => {
                limit.min(LEAST_SILENCE)
            }
            _ => limit,
        }
    }

    /// The client sent more: it is not silent, so its silence starts
    /// again from now.
    pub fn heard_from_client(&self) {
        if let Some(seat) = self.seat {
            seat.lock().since = Instant::now();
        }
    }
}

/// For [`crate::graceful_close`]: runs `wait` on a client after `ACK!`,
/// giving way if the crew asks. Outside a crew thread it just runs `wait`.
/// Returns the socket and whether it gave way.
pub fn wait_after_ack<T>(
    client: TcpStream,
    wait: impl FnOnce(&TcpStream, &AfterAck<'_>) -> T,
) -> (TcpStream, T, bool) {
    let mine = MY_SEAT.with(|mine| mine.borrow().clone());
    let Some(seat) = mine else {
        let result =
            wait(&client, &AfterAck { seat: None });
        return (client, result, false);
    };
    seat.lock().stage = Stage::Closing;
    let after_ack = AfterAck { seat: Some(&seat) };
    let (client, result, gave_way) =
        give_way_while(&seat, client, |client| {
            wait(client, &after_ack)
        });
    if let Some(waited) = gave_way {
        say_gave_way(&seat, waited);
    }
    seat.lock().stage = Stage::Serving;
    (client, result, gave_way.is_some())
}

// The path is spelled out so that the exercises, which bring this file in
// with `#[path]`, find the tests too (`cargo test --all-targets`).
#[cfg(test)]
#[path = "client_crew/tests.rs"]
mod tests;
