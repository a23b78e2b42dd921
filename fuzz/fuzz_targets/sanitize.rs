//! Mail sanitising: `sanitize` may refuse a message, never panic; what it returns must read back with our own
//! parser as one unambiguous `text/plain; charset=UTF-8` part, 7-bit, with CRLF line ends.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sanitize::mime::Kind;
use mamori_sanitize::{Limits, Policy, parse, sanitize};

fuzz_target!(|data: &[u8]| {
    let Ok(sanitized) = sanitize(data, &Policy::new("x")) else {
        return;
    };
    let message = &sanitized.message;
    assert!(message.is_ascii(), "output is not 7-bit");
    for (index, &byte) in message.iter().enumerate() {
        match byte {
            b'\n' => assert!(
                index > 0 && message[index - 1] == b'\r',
                "bare LF at {index}"
            ),
            b'\r' => assert_eq!(message.get(index + 1), Some(&b'\n'), "bare CR at {index}"),
            b'\t' | 32..=126 => {}
            _ => panic!("control byte {byte:#04x} at {index}"),
        }
    }
    let parsed = match parse(message, &Limits::default()) {
        Ok(parsed) => parsed,
        Err(e) => panic!("output does not parse: {e}"),
    };
    assert!(!parsed.is_ambiguous(), "output is ambiguous");
    let root = &parsed.root;
    let Kind::Leaf { decoded } = &root.kind else {
        panic!("output is a multipart");
    };
    assert_eq!(root.content_type.value, "text/plain");
    assert!(
        root.charset()
            .is_some_and(|c| c.eq_ignore_ascii_case("utf-8")),
        "output charset is {:?}",
        root.charset()
    );
    assert!(
        std::str::from_utf8(decoded).is_ok(),
        "output body is not UTF-8"
    );
});
