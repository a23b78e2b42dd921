//! CP932 (Windows-31J), the "Shift_JIS" that Windows and Excel write, with 外字.
//!
//! encoding_rs's `SHIFT_JIS` is the WHATWG Shift_JIS, which is CP932. What it
//! does with the 外字 (user-defined characters, 利用者定義文字) area, lead bytes
//! F0–F9, checked in the tests below:
//!
//! - decoding already follows Microsoft: F040 → U+E000 … F9FC → U+E757, so it
//!   is used as it is;
//! - encoding does not: U+E000–U+E757 are unmappable (its encoder would write
//!   `&#57344;`), so [`encode`] writes those bytes itself.
//!
//! The encoder also writes the JIS X 0208 spellings of characters that CP932
//! decodes to other code points (the 波ダッシュ problem): text typed on a Mac or
//! taken from a web page has U+301C 〜 where Windows has U+FF5E ～. Those are
//! the same character in Shift_JIS, so they are written, not refused; they come
//! back as the Windows code points.

use encoding_rs::{DecoderResult, EncoderResult, SHIFT_JIS};

/// First 外字 lead byte.
const GAIJI_LEAD_FIRST: u8 = 0xF0;
/// First private-use code point, the one for F040.
const GAIJI_FIRST: u32 = 0xE000;
/// 10 lead bytes (F0–F9) × 188 trail bytes (40–7E, 80–FC).
const GAIJI_COUNT: u32 = 10 * 188;

/// Characters CP932 has under another code point, with the CP932 bytes.
/// (encoding_rs itself already writes − U+2212 as 817C, ¥ U+00A5 as 5C and
/// ‾ U+203E as 7E.)
const JIS_SPELLINGS: [(char, [u8; 2]); 6] = [
    ('\u{301C}', [0x81, 0x60]), // 〜 WAVE DASH → ～ U+FF5E
    ('\u{2016}', [0x81, 0x61]), // ‖ DOUBLE VERTICAL LINE → ∥ U+2225
    ('\u{2014}', [0x81, 0x5C]), // — EM DASH → ― U+2015
    ('\u{00A2}', [0x81, 0x91]), // ¢ → ￠ U+FFE0
    ('\u{00A3}', [0x81, 0x92]), // £ → ￡ U+FFE1
    ('\u{00AC}', [0x81, 0xCA]), // ¬ → ￢ U+FFE2
];

/// Bytes that are not CP932, at this offset of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) offset: usize,
}

/// A character CP932 has no bytes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unmappable(pub(crate) char);

/// Decodes CP932, 外字 to U+E000–U+E757; refuses malformed bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, Malformed> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let mut read = 0;
    loop {
        let (result, consumed) =
            decoder.decode_to_string_without_replacement(&bytes[read..], &mut text, true);
        read += consumed;
        match result {
            DecoderResult::InputEmpty => return Ok(text),
            DecoderResult::OutputFull => text.reserve(bytes.len() - read + 16),
            DecoderResult::Malformed(bad, pending) => {
                let offset = read - usize::from(bad) - usize::from(pending);
                return Err(Malformed { offset });
            }
        }
    }
}

/// Encodes to CP932, U+E000–U+E757 to 外字 bytes; refuses what CP932 lacks.
pub(crate) fn encode(text: &str) -> Result<Vec<u8>, Unmappable> {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut bytes = Vec::with_capacity(text.len() + 16);
    let mut rest = text;
    loop {
        let (result, consumed) =
            encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut bytes, true);
        rest = &rest[consumed..];
        match result {
            EncoderResult::InputEmpty => return Ok(bytes),
            EncoderResult::OutputFull => bytes.reserve(rest.len() * 2 + 16),
            EncoderResult::Unmappable(c) => {
                let pair = gaiji_bytes(c)
                    .or_else(|| jis_spelling(c))
                    .ok_or(Unmappable(c))?;
                bytes.extend_from_slice(&pair);
            }
        }
    }
}

/// The 外字 bytes of a private-use character, Microsoft's mapping:
/// U+E000 + (lead − F0) × 188 + (trail − 40, less one from 80 on).
fn gaiji_bytes(c: char) -> Option<[u8; 2]> {
    let index = u32::from(c).checked_sub(GAIJI_FIRST)?;
    if index >= GAIJI_COUNT {
        return None;
    }
    let lead = GAIJI_LEAD_FIRST + u8::try_from(index / 188).ok()?;
    let offset = u8::try_from(index % 188).ok()?;
    // Trail bytes skip 7F.
    let trail = if offset < 0x3F {
        0x40 + offset
    } else {
        0x41 + offset
    };
    Some([lead, trail])
}

fn jis_spelling(c: char) -> Option<[u8; 2]> {
    JIS_SPELLINGS
        .iter()
        .find(|(jis, _)| *jis == c)
        .map(|(_, bytes)| *bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn encoding_rs_decodes_gaiji_the_microsoft_way_but_cannot_encode_it() {
        let (text, _, had_errors) = SHIFT_JIS.decode(&[0xF0, 0x40, 0xF9, 0xFC]);
        assert!(!had_errors);
        assert_eq!(text, "\u{E000}\u{E757}");
        let (bytes, _, unmappable) = SHIFT_JIS.encode("\u{E000}");
        assert!(unmappable);
        assert_eq!(&*bytes, b"&#57344;");
    }

    #[test]
    fn gaiji_round_trip() {
        assert_eq!(decode(&[0xF0, 0x40]).unwrap(), "\u{E000}");
        assert_eq!(decode(&[0xF9, 0xFC]).unwrap(), "\u{E757}");
        assert_eq!(encode("\u{E000}").unwrap(), [0xF0, 0x40]);
        assert_eq!(encode("\u{E757}").unwrap(), [0xF9, 0xFC]);
        assert_eq!(encode("\u{E758}"), Err(Unmappable('\u{E758}')));
        // Every one of the 1,880, with Microsoft's formula, both ways.
        for lead in 0xF0..=0xF9_u8 {
            for trail in (0x40..=0x7E_u8).chain(0x80..=0xFC) {
                let index = u32::from(lead - 0xF0) * 188
                    + u32::from(trail - 0x40 - u8::from(trail >= 0x80));
                let c = char::from_u32(0xE000 + index).unwrap();
                assert_eq!(decode(&[lead, trail]).unwrap(), c.to_string());
                assert_eq!(encode(&c.to_string()).unwrap(), [lead, trail]);
            }
        }
    }

    #[test]
    fn gaiji_amid_ordinary_text() {
        let bytes = encode("職員\u{E001}番号①髙").unwrap();
        assert_eq!(decode(&bytes).unwrap(), "職員\u{E001}番号①髙");
    }

    #[test]
    fn outside_shift_jis_is_refused() {
        assert_eq!(encode("吉野家の𠮷"), Err(Unmappable('𠮷')));
        assert_eq!(encode("ok 😀"), Err(Unmappable('😀')));
    }

    #[test]
    fn jis_spellings_are_written_as_cp932() {
        let bytes = encode("9:00〜17:00").unwrap();
        assert_eq!(decode(&bytes).unwrap(), "9:00～17:00");
        for (c, pair) in JIS_SPELLINGS {
            assert_eq!(encode(&c.to_string()).unwrap(), pair, "{c}");
        }
    }

    #[test]
    fn malformed_bytes_give_their_offset() {
        assert_eq!(decode(b"ab\x82"), Err(Malformed { offset: 2 }));
        assert_eq!(decode(b"abc\xFFd"), Err(Malformed { offset: 3 }));
        // 82 followed by a byte that cannot trail.
        assert!(decode(b"x\x82\x20").is_err());
    }
}
