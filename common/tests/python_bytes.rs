//! `PythonBytes` against the real thing: `python3 -c 'print(repr(...))'`.

mod support;

use std::io::Write as _;
use std::process::Stdio;

use common::PythonBytes;

/// How many random inputs to compare.
const INPUT_COUNT: usize = 2000;

/// A small seeded generator (splitmix64), so that every run checks the
/// same inputs and a failure can be reproduced.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 =
            self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27))
            .wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Random byte strings that lean towards the bytes Python treats specially:
/// both quotes, the backslash, control bytes, DEL and high bytes.
fn random_inputs() -> Vec<Vec<u8>> {
    const SPECIAL: &[u8] =
        b"'\"\\\t\n\r\x00\x1b\x7f\x80\xff ~";
    let mut random = SplitMix64(0x5EED_2026);
    let mut inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"'".to_vec(),
        b"\"".to_vec(),
        b"'\"".to_vec(),
        (0..=255).collect(),
    ];
    while inputs.len() < INPUT_COUNT {
        let length = (random.next() % 24) as usize;
        let input = (0..length)
            .map(|_| match random.next() % 3 {
                0 => {
                    SPECIAL[(random.next()
                        % SPECIAL.len() as u64)
                        as usize]
                }
                1 => (random.next() % 256) as u8,
                _ => b' ' + (random.next() % 95) as u8,
            })
            .collect();
        inputs.push(input);
    }
    inputs
}

/// Prints every input exactly as Python 3 prints the same bytes.
#[test]
fn matches_python_repr_on_seeded_random_inputs() {
    let Some(mut python) = support::python3(
        "matches_python_repr_on_seeded_random_inputs",
    ) else {
        return;
    };
    let inputs = random_inputs();
    let mut child = python
        .args([
            "-c",
            "import sys\nfor line in sys.stdin:\n    print(repr(bytes.fromhex(line.strip())))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 should start");
    let mut hex_lines = String::new();
    for input in &inputs {
        for byte in input {
            hex_lines.push_str(&format!("{byte:02x}"));
        }
        hex_lines.push('\n');
    }
    let mut stdin = child
        .stdin
        .take()
        .expect("stdin should be piped");
    let writer = std::thread::spawn(move || {
        stdin.write_all(hex_lines.as_bytes())
    });
    let output = support::wait_for_output(child);
    writer
        .join()
        .expect("the writer should finish")
        .expect("python3 should read its input");
    let python_lines: Vec<&str> =
        std::str::from_utf8(&output.stdout)
            .expect("repr output should be ASCII")
            .lines()
            .collect();
    assert_eq!(python_lines.len(), inputs.len());
    for (input, python_line) in
        inputs.iter().zip(python_lines)
    {
        assert_eq!(
            PythonBytes(input).to_string(),
            python_line,
            "input {input:?}"
        );
    }
}

/// A few cases spelled out, so the rules are visible without python3.
#[test]
fn follows_python_quoting_rules() {
    assert_eq!(PythonBytes(b"").to_string(), "b''");
    assert_eq!(
        PythonBytes(b"ACK!").to_string(),
        "b'ACK!'"
    );
    assert_eq!(
        PythonBytes(b"it's").to_string(),
        r#"b"it's""#
    );
    assert_eq!(
        PythonBytes(b"'\"").to_string(),
        r#"b'\'"'"#
    );
    assert_eq!(
        PythonBytes(b"a\\b").to_string(),
        r"b'a\\b'"
    );
    assert_eq!(
        PythonBytes(b"\t\n\r\x00\x7f\x80\xff")
            .to_string(),
        r"b'\t\n\r\x00\x7f\x80\xff'"
    );
}
