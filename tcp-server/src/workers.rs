//! A bounded crew of reusable worker threads.
//!
//! The script runs `threading.Thread(target=handle_client, ...).start()` for
//! every client. That is simple, but a flood of clients means a flood of
//! threads, and starting a thread costs more than serving a client does.
//! Here the accept loop hands each connection to [`Workers::hand_off`]:
//!
//! - an idle worker takes it if there is one;
//! - otherwise a new worker is started, up to `max_threads`;
//! - otherwise it waits in a queue of at most `max_threads` connections, and
//!   when that is full `hand_off` waits, so the accept loop stops accepting
//!   and new clients wait in the kernel's listen backlog.
//!
//! So threads, queued connections and the memory and file descriptors they
//! hold all have a fixed upper bound, whatever clients do.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

/// A client's socket and the address `accept` gave for it.
pub type Connection = (TcpStream, SocketAddr);

/// Each worker needs little stack: a 1 KiB buffer and some formatting.
const WORKER_STACK_SIZE: usize = 256 * 1024;

/// The worker threads and the queue that feeds them.
pub struct Workers {
    shared: Arc<Shared>,
    handler: Arc<dyn Fn(Connection) + Send + Sync>,
    max_threads: usize,
    threads_started: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a connection is queued.
    connection_queued: Condvar,
    /// Signalled when a worker takes a connection off the queue.
    room_in_queue: Condvar,
    queue_capacity: usize,
}

struct State {
    queue: VecDeque<Connection>,
    idle_workers: usize,
    /// True while `hand_off` waits for room in a full queue.
    hand_off_is_waiting: bool,
}

impl Workers {
    /// A crew of at most `max_threads` threads, each running `handler` on one
    /// connection at a time. Threads start on demand, not all at once.
    pub fn new(
        max_threads: usize,
        handler: impl Fn(Connection) + Send + Sync + 'static,
    ) -> Self {
        Workers {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    idle_workers: 0,
                    hand_off_is_waiting: false,
                }),
                connection_queued: Condvar::new(),
                room_in_queue: Condvar::new(),
                queue_capacity: max_threads,
            }),
            handler: Arc::new(handler),
            max_threads,
            threads_started: 0,
        }
    }

    /// Gives a connection to a worker, starting one if none is free and the
    /// limit allows. Waits while the queue is full.
    pub fn hand_off(&mut self, connection: Connection) {
        let mut state = self.shared.lock();
        while state.queue.len() >= self.shared.queue_capacity {
            state.hand_off_is_waiting = true;
            state = self
                .shared
                .room_in_queue
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.hand_off_is_waiting = false;
        }
        state.queue.push_back(connection);
        // Each idle worker will take one queued connection. If there are
        // more connections than idle workers, start another worker.
        let needs_another_worker = state.idle_workers < state.queue.len();
        let some_worker_is_waiting = state.idle_workers > 0;
        drop(state);

        if some_worker_is_waiting {
            self.shared.connection_queued.notify_one();
        }
        if needs_another_worker && self.threads_started < self.max_threads {
            self.start_worker();
        }
    }

    fn start_worker(&mut self) {
        let shared = Arc::clone(&self.shared);
        let handler = Arc::clone(&self.handler);
        // `move` gives the new thread its own handles to the queue and the
        // handler; Python's `Thread(target=..., args=...)` passes them too.
        let spawned = thread::Builder::new()
            .name("client-worker".to_string())
            .stack_size(WORKER_STACK_SIZE)
            .spawn(move || work(&shared, &*handler));
        match spawned {
            Ok(_) => self.threads_started += 1,
            // The system would not give us another thread. The connection
            // stays queued for the workers we have, and the next hand-off
            // tries again.
            Err(error) => crate::say(format_args!(
                "[!] Could not start a worker thread: {error}"
            )),
        }
    }
}

/// One worker's life: wait for a connection, serve it, and again.
fn work(shared: &Shared, handler: &(dyn Fn(Connection) + Send + Sync)) {
    loop {
        let mut state = shared.lock();
        state.idle_workers += 1;
        let connection = loop {
            if let Some(connection) = state.queue.pop_front() {
                break connection;
            }
            state = shared
                .connection_queued
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        };
        state.idle_workers -= 1;
        let hand_off_is_waiting = state.hand_off_is_waiting;
        drop(state);
        if hand_off_is_waiting {
            shared.room_in_queue.notify_one();
        }
        handler(connection);
    }
}

impl Shared {
    /// A handler never runs while the lock is held, so a poisoned lock
    /// cannot hold half-changed state, and we carry on with it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
