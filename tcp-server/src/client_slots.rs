//! At most `--max-clients` clients at once, each in its own thread, and room
//! for newcomers when silent clients hold every place.
//!
//! The script starts a thread for every client, without limit, and its
//! `recv` waits forever. A few hundred connections that send nothing would
//! then hold a few hundred threads, for good. Here:
//!
//! - the accept loop takes a [`Slot`] before it starts a client's thread,
//!   and waits while all `--max-clients` are taken. The thread drops its
//!   slot when it ends, even when it ends in a panic;
//! - a client's first read waits in short slices. Between two slices it
//!   checks whether anybody waits for a place: the accept loop, for a slot
//!   or for a file descriptor. If so, a client that has sent nothing yet
//!   is dropped, with a line in the log, to make room. Otherwise it waits
//!   up to `-w` seconds, as before.
//!
//! So silent clients cost little while there is room, and nothing once
//! there is not.

use std::io::{self, Read as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How often a client's first read wakes to see whether others wait for
/// its place. It is also the least time a client may stay silent before it
/// can be dropped.
const READ_SLICE: Duration = Duration::from_millis(200);

/// The places for clients, shared by the accept loop and the client threads.
pub struct ClientSlots {
    /// How many slots are taken.
    taken: Mutex<usize>,
    /// Signalled when a client's thread gives its slot back.
    slot_freed: Condvar,
    capacity: usize,
    /// How long a client may take: `-w`, or `None` for no limit.
    wait: Option<Duration>,
    /// True while the accept loop waits for a slot or a file descriptor.
    others_wait: AtomicBool,
}

/// One client's place. Dropping it gives the place back.
pub struct Slot {
    slots: Arc<ClientSlots>,
    /// How long this client may take to send or to read: `-w`.
    pub wait: Option<Duration>,
}

impl ClientSlots {
    /// Room for `capacity` clients at once, each allowed `wait`.
    pub fn new(capacity: usize, wait: Option<Duration>) -> Arc<ClientSlots> {
        Arc::new(ClientSlots {
            taken: Mutex::new(0),
            slot_freed: Condvar::new(),
            capacity,
            wait,
            others_wait: AtomicBool::new(false),
        })
    }

    /// Takes a slot, waiting while all are taken. While it waits, silent
    /// clients give theirs up.
    pub fn wait_for_a_free_slot(self: &Arc<Self>) -> Slot {
        let mut taken = self.lock();
        while *taken >= self.capacity {
            self.others_wait.store(true, Ordering::Relaxed);
            taken = self
                .slot_freed
                .wait(taken)
                .unwrap_or_else(PoisonError::into_inner);
        }
        self.others_wait.store(false, Ordering::Relaxed);
        *taken += 1;
        Slot { slots: Arc::clone(self), wait: self.wait }
    }

    /// For an accept loop that has run out of file descriptors: asks silent
    /// clients to leave, and waits until one has, or for at most `limit`.
    pub fn wait_for_a_departure(&self, limit: Duration) {
        let taken = self.lock();
        self.others_wait.store(true, Ordering::Relaxed);
        let _ = self
            .slot_freed
            .wait_timeout(taken, limit)
            .unwrap_or_else(PoisonError::into_inner);
        self.others_wait.store(false, Ordering::Relaxed);
    }

    /// How many slots are taken now.
    #[cfg(test)]
    pub fn taken(&self) -> usize {
        *self.lock()
    }

    /// The count is a plain number, changed only under the lock, so a
    /// panic elsewhere can never leave it half-changed: a poisoned lock is
    /// safe to use.
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.taken.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Slot {
    /// Reads what the client sends, once, like Python's `recv(1024)`.
    ///
    /// Gives up after `-w` seconds; or sooner for a client that has sent
    /// nothing for at least [`READ_SLICE`] while others wait for a place.
    pub fn read_request(
        &self,
        socket: &mut TcpStream,
        buffer: &mut [u8],
    ) -> anyhow::Result<usize> {
        let started = Instant::now();
        let mut slice = Duration::ZERO;
        loop {
            let left = match self.wait {
                Some(wait) => wait.saturating_sub(started.elapsed()),
                None => READ_SLICE,
            };
            if left.is_zero() {
                anyhow::bail!(
                    "sent nothing for {:.1} s: timed out",
                    started.elapsed().as_secs_f64()
                );
            }
            if left.min(READ_SLICE) != slice {
                slice = left.min(READ_SLICE);
                socket
                    .set_read_timeout(Some(slice))
                    .context("could not set the read timeout")?;
            }
            match socket.read(buffer) {
                Err(error) if common::is_timeout(&error) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return result.context("could not read the request"),
            }
            if self.slots.others_wait.load(Ordering::Relaxed) {
                anyhow::bail!(
                    "sent nothing for {:.1} s while another client waited: \
                     dropped to make room",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.slots.lock() -= 1;
        self.slots.slot_freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A handler that panics on every other client costs only that client:
    /// its slot comes back, the others are served, and no more than
    /// `capacity` client threads ever run.
    #[test]
    fn a_panic_costs_one_client_never_a_slot() {
        const CAPACITY: usize = 2;
        const CLIENTS: usize = 40;
        let slots = ClientSlots::new(CAPACITY, Some(Duration::from_secs(5)));
        let running = Arc::new(Mutex::new((0usize, 0usize))); // now, most
        let (served_sender, served) = std::sync::mpsc::channel();
        let mut threads = Vec::new();
        for number in 0..CLIENTS {
            // The accept loop's steps: take a slot, start the thread.
            let slot = slots.wait_for_a_free_slot();
            let running = Arc::clone(&running);
            let served_sender = served_sender.clone();
            let thread = thread::Builder::new().spawn(move || {
                let _slot = slot;
                {
                    let mut running = running.lock().expect("no panic here");
                    running.0 += 1;
                    running.1 = running.1.max(running.0);
                }
                thread::sleep(Duration::from_millis(2));
                running.lock().expect("no panic here").0 -= 1;
                if number % 2 == 0 {
                    // A panic that skips the panic hook, so the test's
                    // output stays quiet; it unwinds all the same.
                    std::panic::resume_unwind(Box::new("the handler failed"));
                }
                served_sender.send(number).expect("the test listens");
            });
            threads.push(thread.expect("a thread should start"));
        }
        drop(served_sender);
        let panicked = threads
            .into_iter()
            .map(|thread| thread.join())
            .filter(Result::is_err)
            .count();
        let mut served: Vec<usize> = served.iter().collect();
        served.sort_unstable();
        assert_eq!(panicked, CLIENTS / 2);
        assert_eq!(served, (1..CLIENTS).step_by(2).collect::<Vec<_>>());
        assert_eq!(slots.taken(), 0, "every slot came back");
        let most = running.lock().expect("no panic here").1;
        assert!((1..=CAPACITY).contains(&most), "{most} threads at once");
    }

    /// While the accept loop waits, a silent client is dropped after one
    /// slice; without a waiter it keeps its place until `-w`.
    #[test]
    fn a_silent_client_makes_room_only_when_someone_waits() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback");
        let address = listener.local_addr().expect("bound");
        let _silent = TcpStream::connect(address).expect("connects");
        let (mut socket, _) = listener.accept().expect("accepts");
        let slots = ClientSlots::new(1, Some(Duration::from_millis(600)));
        let slot = slots.wait_for_a_free_slot();
        let mut buffer = [0u8; 16];

        let started = Instant::now();
        let error = slot.read_request(&mut socket, &mut buffer);
        let error = format!("{:#}", error.expect_err("nothing was sent"));
        assert!(error.ends_with(" s: timed out"), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(600));

        let waiter = {
            let slots = Arc::clone(&slots);
            thread::spawn(move || drop(slots.wait_for_a_free_slot()))
        };
        let started = Instant::now();
        let error = slot.read_request(&mut socket, &mut buffer);
        let error = format!("{:#}", error.expect_err("nothing was sent"));
        assert!(error.ends_with("dropped to make room"), "{error}");
        assert!(started.elapsed() < Duration::from_millis(600));
        drop(slot);
        waiter.join().expect("the waiter gets the freed slot");
        assert_eq!(slots.taken(), 0);
    }
}
