//! The checker of tcp-server's exercises, both ways: each starting point as
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

/// What `cargo test -p tcp-server --test check` prints for the untouched
/// starting points; the pages show these lines (5 and 6 on
/// tcp-server.md, 7 and 8 on tcp-server-async.md).
const UNSOLVED: [&str; 4] = [
    "exercise 5: a silent client was dropped to serve the next; give each its own thread",
    "exercise 6: sent b'Hello!', got b'ACK!'; send back the bytes you received",
    "exercise 7: sent b'Hello!', got b'ACK!'; send back each message you receive",
    "exercise 8: printed no `[*] Received so far: 6 bytes` line; print the total after each request",
];

/// The starting points, each step of the page done alone
/// (`tests/steps/NAME.patch`), and the line the check prints for each.
const ATTEMPTS: &[Attempt] = &[
    Attempt {
        exercise: 5,
        patch: None,
        line: UNSOLVED[0],
    },
    Attempt {
        exercise: 6,
        patch: None,
        line: UNSOLVED[1],
    },
    Attempt {
        exercise: 7,
        patch: None,
        line: UNSOLVED[2],
    },
    Attempt {
        exercise: 8,
        patch: None,
        line: UNSOLVED[3],
    },
    Attempt {
        exercise: 7,
        patch: Some("exercise-7-step-1"),
        line: "exercise 7: sent b'Hello!', got b'ACK!'; send back each message you receive",
    },
    Attempt {
        exercise: 7,
        patch: Some("exercise-7-step-2"),
        line: "exercise 7: does not compile yet: line 126: `break` inside `async` function: cannot `break` inside `async` function [E0267]",
    },
    Attempt {
        exercise: 7,
        patch: Some("exercise-7-step-3"),
        line: "exercise 7: echoed only the first message; keep reading until `read` returns 0",
    },
    Attempt {
        exercise: 8,
        patch: Some("exercise-8-step-1"),
        line: "exercise 8: printed no `[*] Received so far: 6 bytes` line; print the total after each request",
    },
    Attempt {
        exercise: 8,
        patch: Some("exercise-8-step-2"),
        line: "exercise 8: does not compile yet: line 94: cannot find value `total_received` in this scope [E0425]",
    },
    Attempt {
        exercise: 8,
        patch: Some("exercise-8-step-3"),
        line: "exercise 8: does not compile yet: line 99: cannot find value `total_received` in this scope [E0425]",
    },
    Attempt {
        exercise: 5,
        patch: Some("exercise-5-step-1"),
        line: "exercise 5: does not compile yet: line 87: cannot find value `failed_accepts` in this scope [E0425]",
    },
    Attempt {
        exercise: 5,
        patch: Some("exercise-5-step-2"),
        line: "exercise 5: a silent client was dropped to serve the next; give each its own thread",
    },
    Attempt {
        exercise: 5,
        patch: Some("exercise-5-step-3"),
        line: "exercise 5: does not compile yet: line 106: cannot find module or crate `graceful_close` in this scope: use of unresolved module or unlinked crate `graceful_close` [E0433]",
    },
    Attempt {
        exercise: 6,
        patch: Some("exercise-6-whole-buffer"),
        line: "exercise 6: sent back 1024 bytes for 6; send only the bytes that `read` filled in",
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

/// The pages show each line that the check prints for a starting point:
/// exercises 5 and 6 on the threaded server's, 7 and 8 on the async twin's.
#[test]
fn the_page_shows_what_the_check_prints() {
    assert_page_shows("tcp-server.md", &UNSOLVED[..2]);
    assert_page_shows(
        "tcp-server-async.md",
        &UNSOLVED[2..],
    );
}
