//! The checker of tcp-server's exercises, both ways: each untouched
//! starting point in `examples/` is reported unsolved, with the line that
//! docs/tcp-server.md shows, and each answer in `answers/` is solved.

#[path = "../../common/tests/support/mod.rs"]
mod support;

mod checks;

use support::exercises::{
    assert_page_shows, assert_starting_points_and_answers,
};

/// What `cargo test -p tcp-server --test check` prints for the untouched
/// starting points.
const UNSOLVED: [&str; 4] = [
    "exercise 5: a silent client was dropped to serve the next; give each its own thread",
    "exercise 6: sent b'Hello!', got b'ACK!'; send back the bytes you received",
    "exercise 7: sent b'Hello!', got b'ACK!'; send back each message you receive",
    "exercise 8: printed no `[*] Received so far: 6 bytes` line; print the total after each request",
];

/// Each starting point is reported unsolved, and each answer solved.
#[test]
fn the_check_tells_starting_points_from_answers() {
    assert_starting_points_and_answers(
        checks::EXERCISES,
        &UNSOLVED,
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
