//! `-w SECS` as one deadline for a whole run.

use std::time::{Duration, Instant};

use crate::options::SHORTEST_WAIT;

/// When a run must give up: `-w SECS` after it starts, or never for `-w 0`.
///
/// Every step of the run asks it for the time left, so that a client that
/// tries several addresses in turn, then sends and reads, still stops
/// `-w SECS` after it started. (Python's `socket.create_connection` gives
/// each address the whole timeout instead.)
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// A deadline `wait` from now; `None` never comes.
    pub fn after(wait: Option<Duration>) -> Deadline {
        Deadline(wait.map(|wait| Instant::now() + wait))
    }

    /// The time left, or `None` to wait forever. It is never shorter than
    /// [`SHORTEST_WAIT`], a millisecond, not even once the deadline has
    /// passed: std refuses a timeout of zero, socket2 takes it (or, on
    /// Windows, anything under a millisecond) as "never", and one more
    /// millisecond lets a connection that is already made finish at once.
    pub fn time_left(&self) -> Option<Duration> {
        self.0.map(|deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            left.max(SHORTEST_WAIT)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time left shrinks as time passes, and never reaches zero. The
    /// test makes no guess about how promptly it is scheduled: a long
    /// deadline cannot pass while it runs, and a short one has passed once
    /// the test has slept that long (`sleep` never returns early).
    #[test]
    fn the_time_left_shrinks_to_a_millisecond() {
        assert_eq!(Deadline::after(None).time_left(), None);
        let hour = Duration::from_secs(3600);
        let long = Deadline::after(Some(hour));
        let first = long.time_left().expect("a deadline");
        assert!(first <= hour, "{first:?}");
        let pause = Duration::from_millis(50);
        std::thread::sleep(pause);
        let later = long.time_left().expect("a deadline");
        assert!(later + pause <= first, "{later:?} {first:?}");

        let short = Deadline::after(Some(pause));
        std::thread::sleep(pause);
        assert_eq!(short.time_left(), Some(Duration::from_millis(1)));
    }
}
