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
//! the thread at once; Microsoft's `shutdown` page promises no such
//! wake-up on Windows (`docs/tcp-server-design.md` says more).
//!
//! A handler that panics loses its client, never its thread. Threads left
//! idle for [`IDLE_RETIREMENT`] exit, down to [`FLOOR_THREADS`]. Dropping
//! the crew asks every thread to stop and joins them.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, ErrorKind, Read as _};
use std::net::{SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::say;

use crate::graceful_close::{self, DRAIN_TIME_LIMIT};

/// A client must have waited at least this long for nothing before it can
/// be dropped to make room, so that a request on its way is not cut off.
pub const LEAST_SILENCE: Duration = Duration::from_millis(100);
/// A waiting thread looks at its give-way flag at least this often.
pub const WAIT_SLICE: Duration = Duration::from_millis(250);
/// An idle thread exits after this long without a client...
pub const IDLE_RETIREMENT: Duration = Duration::from_secs(30);
/// ...unless the crew is down to this many threads.
pub const FLOOR_THREADS: usize = 4;
/// How long dropping the crew waits for its threads to leave.
pub const STOP_LIMIT: Duration = Duration::from_secs(2);
/// Address space that must still be free before a thread starts: its
/// stack (2 MiB, std's default), its signal stack and a `malloc` arena,
/// with room to spare. Rust aborts the process when it cannot map a new
/// thread's signal stack, so we check first.
const ADDRESS_SPACE_RESERVE: usize = 64 << 20;
const THREAD_STACK_SIZE: usize = 2 << 20;
/// On Linux a thread costs 4 memory mappings out of `vm.max_map_count`:
/// its stack and its signal stack, each with a guard page. We measured it
/// in `/proc/PID/maps`; `MAPPINGS_SPARE` is for everything else.
const MAPPINGS_PER_THREAD: usize = 4;
const MAPPINGS_SPARE: usize = 1024;
/// Whether `shutdown` wakes a thread that waits on the socket: see
/// [`State::ask`].
const WAKE_BY_SHUTDOWN: bool =
    cfg!(any(target_os = "linux", target_os = "macos"));
/// The end of the line when a client is dropped to make room.
const GAVE_WAY: &str = " while another client waited: dropped to make room";

/// What a thread of the crew runs for each client, like the `target` of
/// Python's `threading.Thread`. It borrows the socket and ends with
/// `shutdown(Write)`, the first half of Python's `close()`; the crew
/// waits for the client's close and drops the socket. (A handler that
/// forgets the shutdown only makes its client wait for the drain's limit.)
pub type Handler = fn(&TcpStream, SocketAddr) -> anyhow::Result<()>;

/// The crew, as the accept loop sees it.
pub struct Crew {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a thread comes free, for an accept loop waiting.
    room_made: Condvar,
    /// `-w`: how long a client may stay silent; `None`: no limit.
    wait: Option<Duration>,
}

/// Everything the threads and the accept loop share, under one lock.
#[derive(Default)]
struct State {
    members: HashMap<usize, Member>,
    /// Every thread started and not yet joined.
    handles: Vec<JoinHandle<()>>,
    /// Idle threads, the most recently idle last.
    idle: Vec<usize>,
    /// Threads waiting on a silent client, by (silence start, thread).
    silent: BTreeSet<(Instant, usize)>,
    next_id: usize,
    /// `--max-clients`, or fewer once the system has refused a thread.
    max_threads: usize,
    /// How many threads the memory mappings allow, as read at start-up.
    mapped_room: usize,
    /// Clients asked to give way for an accept loop out of descriptors,
    /// that have not left yet: one at a time.
    making_room: usize,
    stopping: bool,
    idle_retirement: Duration,
    /// Whether `shutdown` wakes a thread asked to give way: on Linux and
    /// macOS (a test turns it off, to be Windows).
    wake_by_shutdown: bool,
}

/// One thread, as the crew sees it.
#[derive(Default)]
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
    /// Silence counts from `accept`: the first to come gives way first.
    accepted_at: Instant,
}

/// A thread's own handle on the crew.
struct Worker {
    shared: Arc<Shared>,
    id: usize,
}

impl Crew {
    /// A crew of at most `max_threads` threads (fewer if the system has
    /// less room); clients may stay silent for `wait`. One thread starts
    /// now, so that a system that refuses every thread is found at
    /// start-up.
    pub fn new(max_threads: usize, wait: Option<Duration>) -> io::Result<Crew> {
        let state = Mutex::new(State {
            max_threads: max_threads.max(1),
            mapped_room: threads_the_mappings_allow(),
            idle_retirement: IDLE_RETIREMENT,
            wake_by_shutdown: WAKE_BY_SHUTDOWN,
            ..State::default()
        });
        let shared =
            Arc::new(Shared { state, room_made: Condvar::new(), wait });
        let mut crew = Crew { shared };
        crew.start_thread()?;
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
        let job = Job { handler, client, address, accepted_at: Instant::now() };
        loop {
            let mut state = self.shared.lock();
            // The thread that came free last takes the client.
            if let Some(id) = state.idle.pop() {
                let member = state.member(id);
                member.job = Some(job);
                // Woken once the lock is free, so that it does not wake only
                // to wait for the lock.
                let wake = Arc::clone(&member.wake);
                drop(state);
                return wake.notify_one();
            }
            // A new thread, if the bound allows: it joins the idle ones,
            // and the next look hands it the client. If the system refuses
            // it, the bound is lower now, and the log has said so.
            if state.members.len() < state.max_threads {
                drop(state);
                if self.start_thread().is_ok() {
                    continue;
                }
                state = self.shared.lock();
            }
            // Every thread is busy: the longest silent client gives way,
            // and its thread takes this one.
            match state.longest_silent() {
                Ok(id) => return state.ask(id, Some(job)),
                Err(wait) => drop(self.shared.wait_for_room(state, wait)),
            }
        }
    }

    /// For an accept loop out of file descriptors: asks the client that
    /// has waited longest for nothing to give way, if one has waited
    /// [`LEAST_SILENCE`] and none asked before is still on its way out; then
    /// waits until a thread comes free, or for at most `pause`. Returns
    /// whether a client gives way.
    pub fn make_room(&self, pause: Duration) -> bool {
        let mut state = self.shared.lock();
        let asked = state.ask_one_for_room();
        drop(self.shared.wait_for_room(state, pause));
        asked
    }

    /// Starts a thread, which waits idle for a client. Its member joins the
    /// crew first, so that it is there when the thread first looks, and the
    /// system starts the thread outside the lock. When the system has no
    /// room for it, the member leaves and the bound becomes the threads the
    /// crew has (the log says so once).
    fn start_thread(&mut self) -> io::Result<()> {
        let mut state = self.shared.lock();
        let (id, threads, mapped_room) =
            (state.next_id, state.members.len(), state.mapped_room);
        state.next_id += 1;
        state.idle.push(id);
        state.members.insert(id, Member::default());
        drop(state);
        let worker = Worker { shared: Arc::clone(&self.shared), id };
        let started = room_for_a_thread(threads, mapped_room).and_then(|()| {
            // The stack the reserve above counts on, whatever
            // RUST_MIN_STACK says.
            let builder = thread::Builder::new().stack_size(THREAD_STACK_SIZE);
            builder.name("client".into()).spawn(move || worker.serve_clients())
        });
        let handle = started.inspect_err(|error| {
            let mut state = self.shared.lock();
            state.leave(id);
            let lower = threads > 0 && threads < state.max_threads;
            state.max_threads = if lower { threads } else { state.max_threads };
            drop(state); // Printing may block: never under the lock.
            if lower {
                say!(
                    "[!] could not start a client thread: {error}; \
                     serving at most {threads} clients at once from now on"
                );
            }
        })?;
        self.shared.lock().handles.push(handle); // Joined when dropped.
        Ok(())
    }
}

impl Drop for Crew {
    /// Asks every thread to stop (a waiting one gives way, an idle one
    /// wakes and exits) and joins them. A thread leaves within a slice
    /// while it waits, or once its handler returns; one whose handler is
    /// still stuck after [`STOP_LIMIT`] is left behind, so that a server
    /// that must end does end.
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.stopping = true;
        for id in state.members.keys().copied().collect::<Vec<_>>() {
            state.ask(id, None);
        }
        let still_there = |state: &mut State| !state.members.is_empty();
        let room_made = &self.shared.room_made;
        let ended =
            room_made.wait_timeout_while(state, STOP_LIMIT, still_there);
        let (mut state, ended) = ended.unwrap_or_else(PoisonError::into_inner);
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for handle in handles {
            if !ended.timed_out() || handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

impl Shared {
    /// Locks, ignoring poison: the state changes only in short steps that
    /// cannot panic half-way, never while a handler runs.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a thread may have come free, for at most `timeout`.
    fn wait_for_room<'a>(
        &self,
        state: MutexGuard<'a, State>,
        timeout: Duration,
    ) -> MutexGuard<'a, State> {
        let waited = self.room_made.wait_timeout(state, timeout);
        waited.unwrap_or_else(PoisonError::into_inner).0
    }
}

impl Worker {
    /// The thread's life: serve the client it was given, then wait for
    /// the next, until it retires or the crew stops.
    fn serve_clients(self) {
        while let Some(job) = self.next_job() {
            self.serve(job);
            let mut state = self.shared.lock();
            let member = state.member(self.id);
            let gave_way = std::mem::take(&mut member.give_way);
            // A newcomer may wait already, handed over as this one gave way.
            if member.job.is_none() {
                // One fewer on its way out, if it gave way for room.
                state.making_room -=
                    usize::from(gave_way).min(state.making_room);
                state.idle.push(self.id);
                drop(state);
                self.shared.room_made.notify_one(); // For an accept loop waiting.
            }
        }
    }

    /// Waits for the next job. Returns `None` when the thread should exit:
    /// the crew stops, or it was idle for `idle_retirement` and the crew has
    /// more than [`FLOOR_THREADS`].
    fn next_job(&self) -> Option<Job> {
        let mut state = self.shared.lock();
        let wake = Arc::clone(&state.member(self.id).wake);
        let mut idle_since = Instant::now();
        loop {
            // The job slot first: a hand-off at the instant of retiring
            // wins, with no second look.
            let job = state.member(self.id).job.take();
            if job.is_some() && !state.stopping {
                return job;
            }
            let idle_for = idle_since.elapsed();
            let retire = idle_for >= state.idle_retirement;
            if state.stopping || retire && state.members.len() > FLOOR_THREADS {
                state.leave(self.id);
                // Threads that retired before are joined now: a thread's
                // stack is given back only once it is joined.
                let handles = std::mem::take(&mut state.handles).into_iter();
                let (finished, running): (Vec<_>, _) =
                    handles.partition(JoinHandle::is_finished);
                state.handles = running;
                drop(state);
                finished.into_iter().for_each(|handle| drop(handle.join()));
                self.shared.room_made.notify_all(); // For `Drop`, waiting.
                return None;
            }
            if retire {
                idle_since = Instant::now();
            }
            let left = state.idle_retirement.saturating_sub(idle_for);
            let waited = wake.wait_timeout(state, left);
            state = waited.unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Serves one client: its first byte, the handler, the close. A
    /// panic in the handler ends this client, not this thread; its
    /// message still reaches stderr.
    fn serve(&self, job: Job) {
        let Job { handler, client, address, accepted_at } = job;
        let client = Arc::new(client);
        let wait = self.shared.wait;
        let deadline = wait.and_then(|wait| accepted_at.checked_add(wait));
        let peek = |socket: &TcpStream| socket.peek(&mut [0u8; 1]);
        let waited = match client.set_write_timeout(wait) {
            Ok(()) => {
                self.wait_while_silent(&client, accepted_at, deadline, peek)
            }
            Err(error) => Some(Err(error)),
        };
        // The handler's reads wait as `-w` says, not as the last slice did.
        let handled = AssertUnwindSafe(|| {
            client.set_read_timeout(wait)?;
            handler(&client, address)
        });
        let why = match waited {
            Some(Ok(_)) => match panic::catch_unwind(handled) {
                Ok(Ok(())) => return self.close(&client, address),
                Ok(Err(error)) => format!("{error:#}"),
                // std has printed the panic.
                Err(_) => "the handler panicked: client dropped".to_string(),
            },
            None => {
                let seconds = accepted_at.elapsed().as_secs_f64();
                format!("sent nothing for {seconds:.1} s{GAVE_WAY}")
            }
            Some(Err(error)) if common::is_timeout(&error) => {
                let seconds = wait.unwrap_or_default().as_secs_f64();
                format!("sent nothing for {seconds} s: timed out")
            }
            Some(Err(error)) => format!("could not read the request: {error}"),
        };
        self.say_unless_stopping(address, &why);
    } // The socket is closed here: the crew holds no other copy.

    /// The rest of Python's `close()`, without a reset: the handler has
    /// sent FIN (`shutdown(Write)`); this reads and throws away what the
    /// client still sends until it closes, within the limits of
    /// [`graceful_close::drain`], giving way if asked. Each byte heard
    /// starts the client's silence again.
    fn close(&self, client: &Arc<TcpStream>, address: SocketAddr) {
        let mut since = Instant::now();
        let deadline = Some(since + DRAIN_TIME_LIMIT);
        graceful_close::drain(|buffer| {
            let read = |mut socket: &TcpStream| socket.read(buffer);
            let waited = self.wait_while_silent(client, since, deadline, read);
            let seconds = since.elapsed().as_secs_f64();
            since = Instant::now();
            waited.unwrap_or_else(|| {
                let why = format!(
                    "did not close for {seconds:.1} s after ACK!{GAVE_WAY}"
                );
                self.say_unless_stopping(address, &why);
                Err(ErrorKind::ConnectionAborted.into())
            })
        });
    }

    /// One line of the log about a client, unless the crew is stopping.
    fn say_unless_stopping(&self, address: SocketAddr, why: &str) {
        if !self.shared.lock().stopping {
            say!("[!] {address}: {why}");
        }
    }

    /// Runs `attempt` (a `peek` or `read`) on a client silent since
    /// `since`, in slices of at most [`WAIT_SLICE`], until it returns or
    /// `deadline` passes (then its timeout error), or the thread is asked
    /// to give way (then `None`). Meanwhile the client is in the silence
    /// queue. Once asked to give way, that is the answer, whatever
    /// `attempt` returned.
    fn wait_while_silent(
        &self,
        client: &Arc<TcpStream>,
        since: Instant,
        deadline: Option<Instant>,
        mut attempt: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Option<io::Result<usize>> {
        let mut state = self.shared.lock();
        state.silent.insert((since, self.id));
        state.member(self.id).waiting_on = Some(Arc::clone(client));
        drop(state);
        let outcome = loop {
            let left = deadline.map(|deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            // At least one try, however small `-w` is: a request already
            // there is served. std rounds a timeout below the OS's unit
            // up, never down to "for ever".
            let slice = left.unwrap_or(WAIT_SLICE).min(WAIT_SLICE);
            let slice = slice.max(Duration::from_nanos(1));
            let result = client
                .set_read_timeout(Some(slice))
                .and_then(|()| attempt(client));
            // Unless only the slice of time ended, or a signal came, or
            // the deadline has passed, wait on.
            let wait_on = matches!(&result, Err(error) if common::is_timeout(error)
                || error.kind() == ErrorKind::Interrupted);
            if !wait_on || left.is_some_and(|left| left <= slice) {
                break Some(result);
            }
            if self.shared.lock().asked_to_give_way(self.id) {
                break None;
            }
        };
        let mut state = self.shared.lock();
        state.silent.remove(&(since, self.id));
        state.member(self.id).waiting_on = None;
        outcome.filter(|_| !state.asked_to_give_way(self.id))
    }
}

impl State {
    fn member(&mut self, id: usize) -> &mut Member {
        self.members.get_mut(&id).expect("each thread should be a member")
    }

    /// Takes a thread out of the crew.
    fn leave(&mut self, id: usize) {
        self.idle.retain(|&idle| idle != id);
        self.members.remove(&id);
    }

    /// For [`Crew::make_room`]: asks the longest-silent client to give way,
    /// unless one asked before is still on its way out (then one client
    /// would leave for each retry of `accept`, not for each descriptor).
    fn ask_one_for_room(&mut self) -> bool {
        if self.making_room > 0 {
            return true;
        }
        let Ok(id) = self.longest_silent() else { return false };
        self.making_room += 1;
        self.ask(id, None);
        true
    }

    fn asked_to_give_way(&mut self, id: usize) -> bool {
        self.stopping || self.member(id).give_way
    }

    /// The thread whose client has waited longest for nothing, taken out
    /// of the silence queue, if it has waited [`LEAST_SILENCE`] or more;
    /// otherwise how long until the first one will have.
    fn longest_silent(&mut self) -> Result<usize, Duration> {
        let &(since, id) = self.silent.first().ok_or(LEAST_SILENCE)?;
        let wait = LEAST_SILENCE.saturating_sub(since.elapsed());
        if !wait.is_zero() {
            return Err(wait);
        }
        self.silent.remove(&(since, id));
        Ok(id)
    }

    /// Asks a thread to give way, handing it `job` for afterwards. The
    /// flag decides; shutting down the reading side only wakes the thread
    /// sooner, where the OS does that: Linux and macOS. Windows promises
    /// no such wake-up, and data that arrives after `SD_RECEIVE` resets
    /// the connection (learn.microsoft.com/windows/win32/api/winsock/
    /// nf-winsock-shutdown), so there the thread sees its flag at the end
    /// of its slice.
    fn ask(&mut self, id: usize, job: Option<Job>) {
        let wake_by_shutdown = self.wake_by_shutdown;
        let member = self.member(id);
        member.give_way = true;
        member.job = job;
        member.wake.notify_one();
        if let (Some(socket), true) = (&member.waiting_on, wake_by_shutdown) {
            let _ = socket.shutdown(std::net::Shutdown::Read);
        }
    }
}

/// Whether there is room for one more thread: in the memory mappings
/// that `vm.max_map_count` leaves (`mapped_room` threads), and in the
/// address space (`ulimit -v`), which `try_reserve_exact` tests by asking
/// for [`ADDRESS_SPACE_RESERVE`] and failing rather than aborting. The
/// reserve is given back at once.
fn room_for_a_thread(threads: usize, mapped_room: usize) -> io::Result<()> {
    let mut reserve = Vec::<u8>::new();
    let full = if threads >= mapped_room {
        "vm.max_map_count is nearly used up"
    } else if reserve.try_reserve_exact(ADDRESS_SPACE_RESERVE).is_err() {
        "the address space (ulimit -v) is nearly used up"
    } else {
        return Ok(());
    };
    Err(io::Error::new(ErrorKind::OutOfMemory, full))
}

/// How many more threads `vm.max_map_count` leaves room for, read once
/// at start-up; without such a limit (not Linux), no bound.
fn threads_the_mappings_allow() -> usize {
    let read = |path| std::fs::read_to_string(path).unwrap_or_default();
    let limit = read("/proc/sys/vm/max_map_count").trim().parse::<usize>();
    let used = read("/proc/self/maps").lines().count() + MAPPINGS_SPARE;
    limit.map_or(usize::MAX, |limit| {
        limit.saturating_sub(used) / MAPPINGS_PER_THREAD
    })
}

#[cfg(test)]
mod tests;
