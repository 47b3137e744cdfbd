//! The checker of udp-client's exercises, both ways: each starting point as
//! committed, and each step of the page done alone, is reported unsolved
//! with the line this file lists, and each answer in `answers/` is solved.
//! The learner's own `examples/` are never read: they may be solved.

#[path = "../../common/tests/support/mod.rs"]
mod support;

mod checks;

use support::exercises::{
    Attempt, assert_attempts_and_answers,
    assert_page_shows,
};

/// What `cargo test -p udp-client --test check` prints for the untouched
/// starting points; the page shows these lines.
const UNSOLVED: [&str; 2] = [
    "exercise 3: printed b'not from the server', a stranger's datagram; connect, so that only the server's replies get through",
    "exercise 4: sent b'AAABBBCCC'; send b'one', b'two' and b'three', a datagram each",
];

/// The starting points, each step of the page done alone
/// (`tests/steps/NAME.patch`), and the line the check prints for each.
const ATTEMPTS: &[Attempt] = &[
    Attempt {
        exercise: 3,
        patch: None,
        line: UNSOLVED[0],
    },
    Attempt {
        exercise: 4,
        patch: None,
        line: UNSOLVED[1],
    },
];

/// Each starting point and each step alone is reported unsolved with its
/// line, and each answer solved.
#[test]
fn the_check_tells_every_attempt_from_the_answers() {
    assert_attempts_and_answers(
        checks::EXERCISES,
        ATTEMPTS,
    );
}

/// The page shows each line that the check prints for a starting point.
#[test]
fn the_page_shows_what_the_check_prints() {
    assert_page_shows("udp-client.md", &UNSOLVED);
}
