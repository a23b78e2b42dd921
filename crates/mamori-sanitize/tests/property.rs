//! Properties over random and mutated input (a small deterministic generator, so failures reproduce):
//! `sanitize` never panics, and whatever it returns is a well-formed, unambiguous, 7-bit text/plain UTF-8
//! message whose header fields carry no line break from the input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_nothing_removed_leaks, assert_well_formed, fixture, policy};
use mamori_sanitize::sanitize;

/// xorshift64*: enough randomness for mutation, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Checks the output when there is one; returns whether there was.
fn check(input: &[u8]) -> bool {
    let Ok(sanitized) = sanitize(input, &policy()) else {
        return false;
    };
    {
        assert_well_formed(&sanitized.message);
        assert_nothing_removed_leaks(&sanitized);
        let count = sanitized.removed.len();
        if count > 0 {
            assert!(
                sanitized
                    .report
                    .header_value()
                    .contains(&format!("attachments-removed={count}"))
            );
        }
    }
    true
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2000 {
        let length = rng.below(600);
        let mut bytes: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
        // Half of them start like a message, so the parser gets past the first line.
        if rng.below(2) == 0 {
            let mut message =
                b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n".to_vec();
            message.append(&mut bytes);
            bytes = message;
        }
        check(&bytes);
    }
}

#[test]
fn mutated_fixtures_never_panic_and_stay_well_formed() {
    let alphabet: &[&[u8]] = &[
        b"\r",
        b"\n",
        b"\r\n",
        b"\0",
        b"--",
        b"=?",
        b"?=",
        b"=?UTF-8?B?DQpCY2M6IHhAeQ==?=",
        b"\"",
        b";",
        b":",
        b" ",
        b"\t",
        b"--b1--",
        b"--_000_alt_\r\n",
        b"boundary=x",
        b"\xe2\x80\xae",
        b"\x1b$B",
        b"%",
        b"'",
        b"*0*=",
        b"<",
        b">",
        b"&#x",
        b"https://",
        b"\xff",
    ];
    let names = [
        "iso2022jp_pdf_rfc2231.eml",
        "html_only_links.eml",
        "alternative_utf8.eml",
        "nested_mixed_related_alternative.eml",
        "header_injection_encoded_word.eml",
        "rtl_override_filename.eml",
        "hostile_boundary_prefix.eml",
    ];
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut sanitized = 0;
    for name in names {
        let original = fixture(name);
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..=rng.below(6) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => {
                        let piece = alphabet[rng.below(alphabet.len())];
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    1 => {
                        let end = (at + rng.below(16)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    _ => bytes[at] = rng.next() as u8,
                }
            }
            sanitized += usize::from(check(&bytes));
        }
    }
    // Mutations rarely make a message unreadable as a whole: most must still come out rebuilt.
    assert!(
        sanitized > names.len() * 300 * 9 / 10,
        "only {sanitized} rebuilt"
    );
}
