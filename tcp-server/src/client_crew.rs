//! A crew of client threads: reused from client to client, at most
//! `--max-clients` of them (fewer if the system refuses more), and room for
//! newcomers when silent clients hold every thread.
//!
//! The script starts a new thread for every client, without limit, and its
//! `recv` waits for ever. Here the accept loop calls [`Crew::start`], and:
//!
//! - the thread that came free most recently takes the client (its caches
//!   are still warm);
//! - otherwise a new thread joins the crew, up to the bound;
//! - otherwise the client that has waited longest for nothing (its first
//!   byte, or its close after `ACK!`), if silent for [`LEAST_SILENCE`] or
//!   more, gives way, and its thread takes the newcomer: one client dropped
//!   for each newcomer, never more.
//!
//! For each client a thread waits (up to `-w`) for the first byte with
//! `peek`, which reads nothing, so the handler's own `read` is the script's
//! `recv`. After the handler, it finishes the close: it reads and throws
//! away what the client still sends until the client closes
//! ([`graceful_close`]), then drops the socket.
//!
//! Giving way is decided by a flag under the crew's one lock, never by the
//! socket's state: a thread asked to give way drops its client, whatever
//! its `peek` or `read` just returned. It waits in slices of at most
//! [`WAIT_SLICE`] and checks the flag between them. On Linux and macOS the
//! accept loop also shuts down the reading side of the socket, which wakes
//! the thread at once; Windows' `shutdown` does not wake a waiting `recv`
//! (`docs/tcp-server-design.md` says more).
//!
//! A handler that panics loses its client, never its thread. Threads left
//! idle for [`IDLE_RETIREMENT`] exit, down to [`FLOOR_THREADS`]. Dropping
//! the crew asks every thread to stop and joins them.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError,
};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::say;

use crate::graceful_close::{self, DRAIN_TIME_LIMIT};

/// A client must have waited at least this long for nothing before it can
/// be dropped to make room, so that a request on its way is not cut off.
pub const LEAST_SILENCE: Duration =
    Duration::from_millis(100);
/// A waiting thread looks at its give-way flag at least this often.
pub const WAIT_SLICE: Duration =
    Duration::from_millis(250);
/// An idle thread exits after this long without a client...
pub const IDLE_RETIREMENT: Duration =
    Duration::from_secs(30);
/// ...unless the crew is down to this many threads.
pub const FLOOR_THREADS: usize = 4;
/// Address space that must still be free before a new thread starts: room
/// for its stack, its signal stack and a `malloc` arena, with some to
/// spare. Rust aborts the process if it cannot map a new thread's signal
/// stack, so we check first.
const ADDRESS_SPACE_RESERVE: usize = 64 * 1024 * 1024;
/// On Linux each thread costs about 4 memory mappings (its stack and its
/// signal stack, each with a guard page), out of `vm.max_map_count`.
const MAPPINGS_PER_THREAD: usize = 4;
/// Mappings kept for everything else: libraries, `malloc`, the kernel.
const MAPPINGS_SPARE: usize = 1024;

/// What a thread of the crew runs for each client, like the `target` of
/// Python's `threading.Thread`. It borrows the socket: the crew closes it.
pub type Handler =
    fn(&TcpStream, SocketAddr) -> anyhow::Result<()>;

/// The crew, as the accept loop sees it.
pub struct Crew {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a thread comes free, for an accept loop waiting.
    room_made: Condvar,
    /// `-w`: how long a client may stay silent; `None`: no limit.
    wait: Option<Duration>,
    idle_retirement: Duration,
}

/// Everything the threads and the accept loop share, under one lock.
struct State {
    members: HashMap<usize, Member>,
    /// Idle threads, the most recently idle last.
    idle: Vec<usize>,
    /// Threads waiting on a silent client, by (silence start, thread).
    silent: BTreeSet<(Instant, usize)>,
    next_id: usize,
    /// `--max-clients`, or fewer once the system has refused a thread.
    max_threads: usize,
    /// The accept loop waits on `room_made`.
    accept_loop_waits: bool,
    stopping: bool,
    /// For tests: the system refuses threads beyond this many...
    #[cfg(test)]
    refuse_threads_beyond: usize,
    /// ...and `shutdown` does not wake a thread, as on Windows.
    #[cfg(test)]
    wake_by_shutdown: bool,
}

/// One thread, as the crew sees it.
struct Member {
    /// The thread waits on this while idle: a hand-off wakes it alone.
    wake: Arc<Condvar>,
    /// The client it is to serve next.
    job: Option<Job>,
    give_way: bool,
    /// While it waits on a silent client: the socket, to wake it.
    waiting_on: Option<Arc<TcpStream>>,
}

struct Job {
    handler: Handler,
    client: TcpStream,
    address: SocketAddr,
    /// Silence counts from `accept`, so that the client that came first
    /// gives way first.
    accepted_at: Instant,
}

/// How a wait on a silent client ended.
enum Waited {
    Ready(usize),
    GaveWay(Duration),
    Stopped,
    TimedOut,
    Failed(io::Error),
}

/// Locks, ignoring poison: the state changes only in short steps that
/// cannot panic half-way, never while a handler runs.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Crew {
    /// A crew of at most `max_threads` threads (fewer if the system has
    /// less room); clients may stay silent for `wait`. One thread starts
    /// now, so that a system that refuses every thread is found at
    /// start-up.
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
        let mut max_threads = max_threads.max(1);
        if let Some(room) = threads_the_mappings_allow() {
            if room < max_threads {
                max_threads = room.max(1);
                say!(
                    "[!] vm.max_map_count leaves room for {room} threads: \
                     serving at most {max_threads} clients at once"
                );
            }
        }
        let state = State {
            members: HashMap::new(),
            idle: Vec::new(),
            silent: BTreeSet::new(),
            next_id: 0,
            max_threads,
            accept_loop_waits: false,
            stopping: false,
            #[cfg(test)]
            refuse_threads_beyond: usize::MAX,
            #[cfg(test)]
            wake_by_shutdown: true,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            room_made: Condvar::new(),
            wait,
            idle_retirement,
        });
        let mut crew =
            Crew { shared, handles: Vec::new() };
        crew.start_thread(None).map_err(|(error, _)| {
            io::Error::new(
                error.kind(),
                format!(
                    "could not start a client thread: {error}"
                ),
            )
        })?;
        Ok(crew)
    }

    /// Python: `threading.Thread(target=handler, args=(client,)).start()`.
    /// A thread of the crew runs `handler(&client, address)` once the
    /// client has sent something, or closed.
    pub fn start(
        &mut self,
        handler: Handler,
        client: TcpStream,
        address: SocketAddr,
    ) {
        let accepted_at = Instant::now();
        let mut job =
            Job { handler, client, address, accepted_at };
        let shared = Arc::clone(&self.shared);
        let mut state = shared.lock();
        loop {
            // The thread that came free last takes the client.
            if let Some(id) = state.idle.pop() {
                let member = state.member(id);
                member.job = Some(job);
                member.wake.notify_one();
                return;
            }
            // A new thread, if the bound allows.
            if state.members.len() < state.max_threads {
                drop(state);
                match self.start_thread(Some(job)) {
                    Ok(()) => return,
                    Err((_, refused)) => {
                        job = refused.expect(
                            "a thread that never started should give its client back",
                        );
                    }
                }
                state = shared.lock();
            }
            // Every thread is busy: the longest silent client gives way,
            // and its thread takes this one.
            match state.longest_silent() {
                Ok(id) => {
                    state.ask_to_give_way(id, Some(job));
                    return;
                }
                Err(wait) => {
                    state = shared.wait_for_room(state, wait)
                }
            }
        }
    }

    /// For an accept loop out of file descriptors: asks the client that
    /// has waited longest for nothing to give way, if one has waited
    /// [`LEAST_SILENCE`], then waits until a thread comes free, or for at
    /// most `pause`. Returns whether a client was asked to give way.
    pub fn make_room(&self, pause: Duration) -> bool {
        let mut state = self.shared.lock();
        let asked = state.longest_silent().is_ok_and(|id| {
            state.ask_to_give_way(id, None);
            true
        });
        drop(self.shared.wait_for_room(state, pause));
        asked
    }

    /// Starts a thread that serves `job` first, or waits idle. When the
    /// system has no room for it, the bound becomes the threads the crew
    /// has, the log says so once, and the job comes back.
    fn start_thread(
        &mut self,
        job: Option<Job>,
    ) -> Result<(), (io::Error, Option<Job>)> {
        self.handles.retain(|handle| !handle.is_finished());
        let wake = Arc::new(Condvar::new());
        let mut state = self.shared.lock();
        let id = state.next_id;
        state.next_id += 1;
        if job.is_none() {
            state.idle.push(id);
        }
        let waiting_on = None;
        let (give_way, thread_wake) = (false, Arc::clone(&wake));
        state.members.insert(
            id,
            Member { wake, job, give_way, waiting_on },
        );
        #[cfg(test)]
        let refused = state.members.len() > state.refuse_threads_beyond;
        drop(state);
        let shared = Arc::clone(&self.shared);
        let started = room_for_a_thread().and_then(|()| {
            #[cfg(test)]
            if refused {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            thread::Builder::new()
                .name("client".to_string())
                .spawn(move || {
                    serve_clients(&shared, id, &thread_wake)
                })
        });
        let error = match started {
            Ok(handle) => {
                self.handles.push(handle);
                return Ok(());
            }
            Err(error) => error,
        };
        let mut state = self.shared.lock();
        let job = state.leave(id).job;
        let threads = state.members.len();
        if threads > 0 && threads < state.max_threads {
            state.max_threads = threads;
            say!(
                "[!] could not start a client thread: {error}; \
                 serving at most {threads} clients at once from now on"
            );
        }
        Err((error, job))
    }
}

impl Drop for Crew {
    /// Asks every thread to stop (a waiting one gives way, an idle one
    /// wakes and exits) and joins them.
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.stopping = true;
        let ids: Vec<usize> =
            state.members.keys().copied().collect();
        for id in ids {
            state.ask_to_give_way(id, None);
        }
        drop(state);
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

/// One thread's life: serve the client it was given, then wait for the
/// next, until it retires or the crew stops.
fn serve_clients(shared: &Shared, id: usize, wake: &Condvar) {
    let mut state = shared.lock();
    while let Some(job) = shared.next_job(state, id, wake) {
        shared.serve(id, job);
        state = shared.lock();
        let member = state.member(id);
        member.give_way = false;
        // A newcomer may already wait, handed over as this one gave way.
        if member.job.is_none() {
            state.idle.push(id);
            if state.accept_loop_waits {
                shared.room_made.notify_one();
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Waits for the next job, with the lock held. Returns `None` when the
    /// thread should exit: the crew stops, or it was idle for
    /// `idle_retirement` and the crew has more than [`FLOOR_THREADS`].
    fn next_job(
        &self,
        mut state: MutexGuard<'_, State>,
        id: usize,
        wake: &Condvar,
    ) -> Option<Job> {
        let mut idle_since = Instant::now();
        loop {
            if state.stopping {
                state.leave(id);
                return None;
            }
            // The job slot first: a hand-off at the instant of retiring
            // wins, with no second look.
            if let Some(job) = state.member(id).job.take() {
                return Some(job);
            }
            if idle_since.elapsed() >= self.idle_retirement {
                if state.members.len() > FLOOR_THREADS {
                    state.leave(id);
                    return None;
                }
                idle_since = Instant::now();
            }
            let left = self
                .idle_retirement
                .saturating_sub(idle_since.elapsed());
            state = wake
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Waits until a thread may have come free, for at most `timeout`.
    fn wait_for_room<'a>(
        &self,
        mut state: MutexGuard<'a, State>,
        timeout: Duration,
    ) -> MutexGuard<'a, State> {
        state.accept_loop_waits = true;
        let mut state = self
            .room_made
            .wait_timeout(state, timeout)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        state.accept_loop_waits = false;
        state
    }

    /// Serves one client: its first byte, the handler, the close.
    fn serve(&self, id: usize, job: Job) {
        let Job { handler, client, address, accepted_at } =
            job;
        let client = Arc::new(client);
        if let Err(error) = client.set_write_timeout(self.wait)
        {
            say!("[!] {address}: {error}");
            return;
        }
        let deadline = self
            .wait
            .and_then(|wait| accepted_at.checked_add(wait));
        let mut first_byte = [0u8; 1];
        let waited = self.wait_while_silent(
            id,
            &client,
            accepted_at,
            deadline,
            |socket| socket.peek(&mut first_byte),
        );
        match waited {
            Waited::Ready(_) => {}
            Waited::GaveWay(waited) => {
                let seconds = waited.as_secs_f64();
                return say!(
                    "[!] {address}: sent nothing for {seconds:.1} s while \
                     another client waited: dropped to make room"
                );
            }
            Waited::Stopped => return,
            Waited::TimedOut => {
                let seconds =
                    self.wait.unwrap_or_default().as_secs_f64();
                return say!(
                    "[!] {address}: sent nothing for {seconds} s: timed out"
                );
            }
            Waited::Failed(error) => {
                return say!(
                    "[!] {address}: could not read the request: {error}"
                );
            }
        }
        // A panic in the handler ends this client, not this thread; its
        // message still reaches stderr.
        let served = panic::catch_unwind(AssertUnwindSafe(
            || handler(&client, address),
        ));
        match served {
            Ok(Ok(())) => self.close(id, &client, address),
            Ok(Err(error)) => say!("[!] {address}: {error:#}"),
            Err(_) => {}
        }
    } // The socket is closed here: the crew holds no other copy.

    /// Python's `close()`, without a reset: sends FIN after everything
    /// written so far (if the handler has not), then reads and throws away
    /// what the client still sends until it closes, within the limits of
    /// [`graceful_close::drain`], giving way if asked.
    fn close(
        &self,
        id: usize,
        client: &Arc<TcpStream>,
        address: SocketAddr,
    ) {
        if client.shutdown(Shutdown::Write).is_err() {
            return; // The connection is already gone.
        }
        let mut since = Instant::now();
        let deadline = since + DRAIN_TIME_LIMIT;
        graceful_close::drain(|buffer| {
            let waited = self.wait_while_silent(
                id,
                client,
                since,
                Some(deadline),
                |mut socket| socket.read(buffer),
            );
            since = Instant::now();
            match waited {
                Waited::Ready(count) => Ok(count),
                Waited::GaveWay(waited) => {
                    let seconds = waited.as_secs_f64();
                    say!(
                        "[!] {address}: did not close for {seconds:.1} s after \
                         ACK! while another client waited: dropped to make room"
                    );
                    Err(io::ErrorKind::ConnectionAborted.into())
                }
                Waited::Failed(error) => Err(error),
                _ => Err(io::ErrorKind::TimedOut.into()),
            }
        });
    }

    /// Runs `attempt` (a `peek` or `read`) on a client silent since
    /// `since`, in slices of at most [`WAIT_SLICE`], until it returns,
    /// `deadline` passes, or the thread is asked to give way. Meanwhile
    /// the client is in the silence queue. Once asked to give way, that is
    /// the answer, whatever `attempt` returned.
    fn wait_while_silent(
        &self,
        id: usize,
        client: &Arc<TcpStream>,
        since: Instant,
        deadline: Option<Instant>,
        mut attempt: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Waited {
        {
            let mut state = self.lock();
            state.silent.insert((since, id));
            state.member(id).waiting_on = Some(Arc::clone(client));
        }
        let outcome = loop {
            let left = deadline.map(|deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            // At least one try, however small `-w` is: a request that is
            // already there is served. std rounds a timeout below the
            // OS's unit up, never down to "for ever".
            let slice = left
                .unwrap_or(WAIT_SLICE)
                .clamp(Duration::from_nanos(1), WAIT_SLICE);
            if let Err(error) = client.set_read_timeout(Some(slice)) {
                break Err(error);
            }
            match attempt(client) {
                Err(error) if common::is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => {
                    if left.is_some_and(|left| left <= slice) {
                        break Err(error);
                    }
                    if self.lock().asked_to_give_way(id) {
                        break Ok(0);
                    }
                }
                other => break other,
            }
        };
        let mut state = self.lock();
        state.silent.remove(&(since, id));
        let asked = state.asked_to_give_way(id);
        state.member(id).waiting_on = None;
        match outcome {
            _ if state.stopping => Waited::Stopped,
            _ if asked => Waited::GaveWay(since.elapsed()),
            Ok(count) => Waited::Ready(count),
            Err(error) if common::is_timeout(&error) => {
                Waited::TimedOut
            }
            Err(error) => Waited::Failed(error),
        }
    }
}

impl State {
    fn member(&mut self, id: usize) -> &mut Member {
        self.members
            .get_mut(&id)
            .expect("a thread of the crew should have its member")
    }

    /// Takes a thread out of the crew, with the job it had.
    fn leave(&mut self, id: usize) -> Member {
        self.idle.retain(|&idle| idle != id);
        self.members
            .remove(&id)
            .expect("a thread of the crew should have its member")
    }

    fn asked_to_give_way(&mut self, id: usize) -> bool {
        self.stopping || self.member(id).give_way
    }

    /// The thread whose client has waited longest for nothing, taken out
    /// of the silence queue, if it has waited [`LEAST_SILENCE`] or more;
    /// otherwise how long until the first one will have.
    fn longest_silent(&mut self) -> Result<usize, Duration> {
        let Some(&(since, id)) = self.silent.first() else {
            return Err(LEAST_SILENCE);
        };
        let silent_for = since.elapsed();
        if silent_for < LEAST_SILENCE {
            return Err(LEAST_SILENCE - silent_for);
        }
        self.silent.remove(&(since, id));
        Ok(id)
    }

    /// Asks a thread to give way, handing it `job` for afterwards. The
    /// flag decides; shutting down the reading side only wakes the thread
    /// sooner, where the OS does that: Linux and macOS. Windows' `shutdown`
    /// does not wake a waiting `recv`, and data that arrives after it
    /// resets the connection.
    fn ask_to_give_way(&mut self, id: usize, job: Option<Job>) {
        #[cfg(test)]
        let wake_by_shutdown = self.wake_by_shutdown;
        let member = self.member(id);
        member.give_way = true;
        if job.is_some() {
            member.job = job;
        }
        member.wake.notify_one();
        #[cfg(test)]
        if !wake_by_shutdown {
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        if let Some(socket) = &member.waiting_on {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }
}

/// Whether the address space (`ulimit -v`) has room for one more thread:
/// `try_reserve_exact` asks for [`ADDRESS_SPACE_RESERVE`] and fails
/// rather than aborting; the reserve is given back at once.
fn room_for_a_thread() -> io::Result<()> {
    Vec::<u8>::new()
        .try_reserve_exact(ADDRESS_SPACE_RESERVE)
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the address space (ulimit -v) is nearly used up",
            )
        })
}

/// On Linux, how many more threads `vm.max_map_count` leaves room for,
/// read once at start-up.
#[cfg(target_os = "linux")]
fn threads_the_mappings_allow() -> Option<usize> {
    let read = |path| std::fs::read_to_string(path).ok();
    let limit: usize = read("/proc/sys/vm/max_map_count")?
        .trim()
        .parse()
        .ok()?;
    let used = read("/proc/self/maps")?.lines().count();
    let free = limit.saturating_sub(used + MAPPINGS_SPARE);
    Some(free / MAPPINGS_PER_THREAD)
}

#[cfg(not(target_os = "linux"))]
fn threads_the_mappings_allow() -> Option<usize> {
    None
}

// The path is spelled out so that the exercises, which bring this file in
// with `#[path]`, find the tests too (`cargo test --all-targets`).
#[cfg(test)]
#[path = "client_crew/tests.rs"]
mod tests;
