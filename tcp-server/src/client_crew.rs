//! A crew of client threads: at most `--max-clients`, reused from client to
//! client, and room for newcomers when silent clients hold every thread.
//!
//! The script starts a new thread for every client, without limit, and its
//! `recv` waits forever. Starting a thread costs more than serving a client
//! does, and a few hundred connections that send nothing would hold a few
//! hundred threads for good. Here the accept loop hands each client to
//! [`Crew::hand_off`]:
//!
//! - an idle thread of the crew takes it, if there is one;
//! - otherwise a new thread joins the crew, up to `--max-clients`;
//! - otherwise `hand_off` waits for a thread to come free, and while it
//!   waits, silent clients make room.
//!
//! A client's first read waits in short slices ([`Patience`]). Between two
//! slices it checks whether anybody waits for a thread: the accept loop, or
//! an accept loop that has run out of file descriptors. If so, a client
//! that has sent nothing yet is dropped, with a line in the log. Otherwise
//! it may wait up to `-w` seconds.
//!
//! A handler that panics loses its client, never its thread: the thread
//! catches the panic and goes back to work.

use std::collections::VecDeque;
use std::io::{self, Read as _};
use std::net::{SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError,
};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::say;

/// How often a client's first read wakes to see whether others wait for a
/// thread. It is also the least time a client may stay silent before it
/// can be dropped to make room.
const READ_SLICE: Duration = Duration::from_millis(200);

/// Each thread needs little stack: a 1 KiB buffer and some formatting.
const THREAD_STACK_SIZE: usize = 256 * 1024;

/// What a thread of the crew runs for each client. An error
/// ends up as one line of the log that names the client.
pub type Handler = fn(
    TcpStream,
    SocketAddr,
    &Patience,
) -> anyhow::Result<()>;

/// The crew, as the accept loop sees it.
pub struct Crew {
    shared: Arc<Shared>,
    handler: Handler,
    max_threads: usize,
    threads_started: usize,
}

/// How long a client may stay silent: up to `-w`, or less while others wait
/// for a thread. Every thread of the crew shares one.
pub struct Patience {
    /// `-w`: how long a client may take to send or read; `None`: no limit.
    pub wait: Option<Duration>,
    /// True while the accept loop waits for a thread or a file descriptor.
    others_wait: AtomicBool,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a client is queued for an idle thread.
    client_queued: Condvar,
    /// Signalled when a thread has finished with a client.
    thread_freed: Condvar,
    patience: Patience,
}

struct State {
    /// Clients handed off, not yet taken by a thread.
    queue: VecDeque<(TcpStream, SocketAddr)>,
    /// Threads waiting for a client.
    idle_threads: usize,
}

impl Crew {
    /// A crew of at most `max_threads` threads, each running `handler` on
    /// one client at a time. Threads start when needed, not all at once.
    pub fn new(
        max_threads: usize,
        wait: Option<Duration>,
        handler: Handler,
    ) -> Crew {
        let shared = Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                idle_threads: 0,
            }),
            client_queued: Condvar::new(),
            thread_freed: Condvar::new(),
            patience: Patience {
                wait,
                others_wait: AtomicBool::new(false),
            },
        };
        Crew {
            shared: Arc::new(shared),
            handler,
            max_threads,
            threads_started: 0,
        }
    }

    /// Gives a client to an idle thread, or to a new one if
    /// the limit allows; otherwise waits until a thread is
    /// free, and asks silent clients to make room.
    pub fn hand_off(
        &mut self,
        client: TcpStream,
        address: SocketAddr,
    ) {
        let shared = &self.shared;
        let mut state = shared.lock();
        // Each idle thread takes one queued client.
        while state.idle_threads <= state.queue.len()
            && self.threads_started >= self.max_threads
        {
            shared.patience.set_others_wait(true);
            state =
                shared.wait(&shared.thread_freed, state);
        }
        shared.patience.set_others_wait(false);
        state.queue.push_back((client, address));
        let an_idle_thread_takes_it =
            state.idle_threads >= state.queue.len();
        drop(state);
        if an_idle_thread_takes_it {
            shared.client_queued.notify_one();
        } else {
            self.start_thread();
        }
    }

    /// For an accept loop that has run out of file
    /// descriptors: asks silent clients to leave, and waits
    /// until one has, or for at most `limit`.
    pub fn wait_for_a_departure(&self, limit: Duration) {
        let shared = &self.shared;
        let state = shared.lock();
        shared.patience.set_others_wait(true);
        let _ = shared
            .thread_freed
            .wait_timeout(state, limit)
            .unwrap_or_else(PoisonError::into_inner);
        shared.patience.set_others_wait(false);
    }

    fn start_thread(&mut self) {
        let shared = Arc::clone(&self.shared);
        let handler = self.handler;
        let started = thread::Builder::new()
            .name("client".to_string())
            .stack_size(THREAD_STACK_SIZE)
            .spawn(move || {
                serve_clients(&shared, handler)
            });
        match started {
            Ok(_) => self.threads_started += 1,
            // The system would not give us another thread. The client stays
            // queued for the threads we have, and the next hand-off tries
            // again; with no thread at all, it waits for the next.
            Err(error) => say!(
                "[!] could not start a client thread: {error}"
            ),
        }
    }
}

/// One thread's life: wait for a client, serve it, and
/// again.
fn serve_clients(shared: &Shared, handler: Handler) {
    let mut state = shared.lock();
    loop {
        state.idle_threads += 1;
        let (client, address) = loop {
            if let Some(queued) = state.queue.pop_front()
            {
                break queued;
            }
            state =
                shared.wait(&shared.client_queued, state);
        };
        state.idle_threads -= 1;
        drop(state);
        // A panic in the handler ends this client, not
        // this thread; its message still reaches stderr.
        let patience = &shared.patience;
        let served =
            panic::catch_unwind(AssertUnwindSafe(|| {
                handler(client, address, patience)
            }));
        if let Ok(Err(error)) = served {
            say!("[!] {address}: {error:#}");
        }
        // The client's socket is closed by now, even after
        // a panic. This thread counts as idle again before
        // the lock is released, so an accept loop that
        // wakes up here finds it.
        state = shared.lock();
        shared.thread_freed.notify_one();
    }
}

impl Shared {
    /// The state is changed only in short steps under the lock, never while
    /// a handler runs, so a panic can never leave it half-changed: a
    /// poisoned lock is safe to use.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(
        &self,
        condvar: &Condvar,
        state: MutexGuard<'a, State>,
    ) -> MutexGuard<'a, State> {
        condvar
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Patience {
    fn set_others_wait(&self, waiting: bool) {
        self.others_wait
            .store(waiting, Ordering::Relaxed);
    }

    /// Reads what the client sends, once, like Python's `recv(1024)`.
    ///
    /// Gives up after `-w` seconds; or sooner for a client that has sent
    /// nothing for at least [`READ_SLICE`] while others wait for a thread.
    pub fn read_request(
        &self,
        socket: &mut TcpStream,
        buffer: &mut [u8],
    ) -> anyhow::Result<usize> {
        let started = Instant::now();
        let mut slice = Duration::ZERO;
        loop {
            let waited = started.elapsed();
            let left = match self.wait {
                Some(wait) if waited >= wait => {
                    let seconds = wait.as_secs_f64();
                    bail!(
                        "sent nothing for {seconds} s: timed out"
                    );
                }
                Some(wait) => wait - waited,
                None => READ_SLICE,
            };
            if left.min(READ_SLICE) != slice {
                slice = left.min(READ_SLICE);
                socket.set_read_timeout(Some(slice))?;
            }
            match socket.read(buffer) {
                Err(error) if still_silent(&error) => {}
                result => {
                    return result.context(
                        "could not read the request",
                    );
                }
            }
            if self.others_wait.load(Ordering::Relaxed) {
                let seconds =
                    started.elapsed().as_secs_f64();
                bail!(
                    "sent nothing for {seconds:.1} s while \
                     another client waited: dropped to make room"
                );
            }
        }
    }
}

/// A read that timed out, or that a signal interrupted,
/// only means that nothing has arrived yet.
fn still_silent(error: &io::Error) -> bool {
    common::is_timeout(error)
        || error.kind() == io::ErrorKind::Interrupted
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::net::TcpListener;

    /// A listener on loopback, and `count` connected pairs through it:
    /// (the client's end, the server's end and its address).
    fn pairs(
        count: usize,
    ) -> Vec<(TcpStream, TcpStream, SocketAddr)> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .expect("loopback");
        let address =
            listener.local_addr().expect("bound");
        (0..count)
            .map(|_| {
                let client = TcpStream::connect(address)
                    .expect("connects");
                let (server, peer) =
                    listener.accept().expect("accepts");
                (client, server, peer)
            })
            .collect()
    }

    /// Answers with the first byte received, and panics when that byte is
    /// even: a handler with a bug, as a learner's `.unwrap()` might be.
    fn answer_or_panic(
        mut socket: TcpStream,
        _: SocketAddr,
        patience: &Patience,
    ) -> anyhow::Result<()> {
        let mut request = [0u8; 1];
        let read = patience
            .read_request(&mut socket, &mut request);
        if read.expect("the test sends a byte") == 1
            && request[0] % 2 == 0
        {
            // A panic that skips the panic hook, so the test's output stays
            // quiet; it unwinds all the same.
            panic::resume_unwind(Box::new(
                "a bug in the handler",
            ));
        }
        socket.write_all(&request)?;
        Ok(())
    }

    /// A handler that panics on every other client costs only those
    /// clients: the rest are served, and the crew never grows past its
    /// bound to make up for threads lost.
    #[test]
    fn a_panic_costs_one_client_never_a_thread() {
        const CLIENTS: usize = 40;
        let mut crew = Crew::new(
            2,
            Some(Duration::from_secs(5)),
            answer_or_panic,
        );
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for (number, (mut client, server, address)) in
            pairs(CLIENTS).into_iter().enumerate()
        {
            client
                .write_all(&[number as u8])
                .expect("sends");
            clients.push(client);
            servers.push((server, address));
        }
        // Hand off from another thread: if panics cost threads, hand_off
        // would wait for ever, and the reads below time out and fail.
        let accept_loop = thread::spawn(move || {
            for (server, address) in servers {
                crew.hand_off(server, address);
            }
            crew.threads_started
        });
        for (number, mut client) in
            clients.into_iter().enumerate()
        {
            client
                .set_read_timeout(Some(
                    Duration::from_secs(5),
                ))
                .expect("sets");
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer);
            let expected = if number % 2 == 0 {
                vec![]
            } else {
                vec![number as u8]
            };
            assert_eq!(
                answer, expected,
                "client {number}"
            );
        }
        assert_eq!(
            accept_loop.join().expect("all handed off"),
            2
        );
    }

    /// While the accept loop waits for a thread, a silent client is dropped
    /// after one slice; without a waiter it may stay until `-w`.
    #[test]
    fn a_silent_client_makes_room_only_when_someone_waits()
     {
        let patience = Patience {
            wait: Some(Duration::from_millis(600)),
            others_wait: AtomicBool::new(false),
        };
        let (_client, mut socket, _) =
            pairs(1).pop().expect("one pair");
        let mut buffer = [0u8; 16];

        let started = Instant::now();
        let error = patience
            .read_request(&mut socket, &mut buffer);
        let error = format!(
            "{:#}",
            error.expect_err("nothing was sent")
        );
        assert_eq!(
            error,
            "sent nothing for 0.6 s: timed out"
        );
        assert!(
            started.elapsed()
                >= Duration::from_millis(600)
        );

        patience
            .others_wait
            .store(true, Ordering::Relaxed);
        let started = Instant::now();
        let error = patience
            .read_request(&mut socket, &mut buffer);
        let error = format!(
            "{:#}",
            error.expect_err("nothing was sent")
        );
        // The silence is measured: at least one 0.2 s slice,
        // more if this thread woke late on a busy machine.
        let seconds: f64 = error
            .strip_prefix("sent nothing for ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("{error}"));
        assert!((0.2..0.6).contains(&seconds), "{error}");
        assert!(
            error.ends_with(
                " s while another client waited: dropped to make room"
            ),
            "{error}"
        );
        assert!(
            started.elapsed()
                < Duration::from_millis(600)
        );
    }
}
