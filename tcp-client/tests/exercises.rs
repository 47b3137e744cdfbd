//! The checker of tcp-client's exercises, both ways: each starting point as
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

/// What `cargo test -p tcp-client --test check` prints for the untouched
/// starting points; the page shows these lines.
const UNSOLVED: [&str; 2] = [
    "exercise 1: printed 4,096 of 6,216 bytes; keep reading until `read` returns 0",
    "exercise 2: sent `Host: google.com` to 127.0.0.1; it should say `Host: 127.0.0.1`",
];

/// The starting points, each step of the page done alone
/// (`tests/steps/NAME.patch`), and the line the check prints for each.
const ATTEMPTS: &[Attempt] = &[
    Attempt {
        exercise: 1,
        patch: None,
        line: UNSOLVED[0],
    },
    Attempt {
        exercise: 2,
        patch: None,
        line: UNSOLVED[1],
    },
    Attempt {
        exercise: 1,
        patch: Some("exercise-1-step-2"),
        line: "exercise 1: does not compile yet: line 113: cannot find value `bytes_read` in this scope [E0425]",
    },
    Attempt {
        exercise: 1,
        patch: Some("exercise-1-step-3"),
        line: "exercise 1: printed 4,096 of 6,216 bytes; keep reading until `read` returns 0",
    },
    Attempt {
        exercise: 1,
        patch: Some("exercise-1-no-break"),
        line: "exercise 1: still running after 20 s: does your loop stop when `read` returns 0?",
    },
    Attempt {
        exercise: 2,
        patch: Some("exercise-2-step-2"),
        line: "exercise 2: does not compile yet: line 84: cannot find value `REQUEST` in this scope [E0425]",
    },
    Attempt {
        exercise: 2,
        patch: Some("exercise-2-step-3"),
        line: "exercise 2: sent `Host: google.com` to 127.0.0.1; it should say `Host: 127.0.0.1`",
    },
    Attempt {
        exercise: 2,
        patch: Some("exercise-2-step-4"),
        line: "exercise 2: does not compile yet: line 88: cannot find value `request` in this scope [E0425]",
    },
    Attempt {
        exercise: 2,
        patch: Some("exercise-2-str-and-string"),
        line: "exercise 2: does not compile yet: line 86: mismatched types: expected `&str`, found `String` [E0308]",
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
    assert_page_shows("tcp-client.md", &UNSOLVED);
}
