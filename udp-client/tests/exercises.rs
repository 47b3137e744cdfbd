//! The checker of udp-client's exercises, both ways: each untouched
//! starting point in `examples/` is reported unsolved, with the line that
//! docs/udp-client.md shows, and each answer in `answers/` is solved.

#[path = "../../common/tests/support/mod.rs"]
mod support;

mod checks;

use support::exercises::{
    assert_page_shows, assert_starting_points_and_answers,
};

/// What `cargo test -p udp-client --test check` prints for the untouched
/// starting points.
const UNSOLVED: [&str; 2] = [
    "exercise 3: waited for a reply; connect first to hear \"port unreachable\"",
    "exercise 4: sent b'AAABBBCCC'; send b'one', b'two' and b'three', a datagram each",
];

/// Each starting point is reported unsolved, and each answer solved.
#[test]
fn the_check_tells_starting_points_from_answers() {
    assert_starting_points_and_answers(
        checks::EXERCISES,
        &UNSOLVED,
    );
}

/// The page shows each line that the check prints for a starting point.
#[test]
fn the_page_shows_what_the_check_prints() {
    assert_page_shows("udp-client.md", &UNSOLVED);
}
