use std::fmt;

/// Shows bytes exactly as Python 3's `print(some_bytes)` does: `b'...'`.
///
/// Python picks single quotes unless the bytes contain a `'` and no `"`,
/// escapes `\t`, `\n`, `\r` and the backslash, and writes every other byte
/// outside printable ASCII as `\xNN`. Matching it means a Python transcript
/// and a Rust transcript compare line for line. It also means bytes from an
/// untrusted peer can never reach the terminal as escape sequences.
///
/// ```
/// use common::PythonBytes;
///
/// assert_eq!(PythonBytes(b"ACK!").to_string(), "b'ACK!'");
/// assert_eq!(PythonBytes(b"it's\r\n").to_string(), r#"b"it's\r\n""#);
/// assert_eq!(PythonBytes(b"\x1b[2J\xff").to_string(), r"b'\x1b[2J\xff'");
/// ```
pub struct PythonBytes<'a>(pub &'a [u8]);

impl fmt::Display for PythonBytes<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = if self.0.contains(&b'\'') && !self.0.contains(&b'"') {
            '"'
        } else {
            '\''
        };
        write!(formatter, "b{quote}")?;
        for &byte in self.0 {
            match byte {
                b'\\' => formatter.write_str(r"\\")?,
                b'\t' => formatter.write_str(r"\t")?,
                b'\n' => formatter.write_str(r"\n")?,
                b'\r' => formatter.write_str(r"\r")?,
                _ if char::from(byte) == quote => {
                    write!(formatter, "\\{quote}")?
                }
                b' '..=b'~' => write!(formatter, "{}", char::from(byte))?,
                _ => write!(formatter, "\\x{byte:02x}")?,
            }
        }
        write!(formatter, "{quote}")
    }
}
