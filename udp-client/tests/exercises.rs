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
    "exercise 3: printed a stranger's datagram; connect, to hear only the server",
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
    Attempt {
        exercise: 3,
        patch: Some("exercise-3-step-2"),
        line: "exercise 3: connected, but still sends with `send_to`; send with `send`: macOS refuses `send_to` on a connected socket",
    },
    Attempt {
        exercise: 3,
        patch: Some("exercise-3-step-3"),
        line: "exercise 3: `send` failed, as the socket has no peer yet; call `connect` before it",
    },
    Attempt {
        exercise: 4,
        patch: Some("exercise-4-step-2"),
        line: "exercise 4: printed 1 of the 3 datagrams that came back; keep calling `recv_from` until it times out",
    },
    Attempt {
        exercise: 4,
        patch: Some("exercise-4-step-3"),
        line: "exercise 4: sent b'AAABBBCCC'; send b'one', b'two' and b'three', a datagram each",
    },
    Attempt {
        exercise: 4,
        patch: Some("exercise-4-step-4"),
        line: "exercise 4: does not compile yet: line 75: cannot find value `datagrams_received` in this scope [E0425]",
    },
    Attempt {
        exercise: 4,
        patch: Some("exercise-4-leftover-note"),
        line: "exercise 4: does not compile yet: line 90: cannot find value `sender_address` in this scope [E0425]",
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
