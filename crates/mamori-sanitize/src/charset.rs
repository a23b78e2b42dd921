//! Charset labels to decoders, and decoding with a note when bytes are malformed.
//!
//! encoding_rs follows the WHATWG Encoding Standard, whose label list lacks some names Japanese mailers write:
//! `cp932` and `windows-932` are Shift_JIS with Microsoft's extensions (which the WHATWG Shift_JIS decoder
//! implements), and `ISO-2022-JP-MS` / `CP50220` / `CP50221` are ISO-2022-JP with the NEC and IBM rows, which the
//! WHATWG jis0208 index includes. Mapping them here is what makes ①, ㈱ and 髙 arrive without mojibake.

use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// The decoder for a MIME charset label, or `None` when the label is unknown (an ambiguity: readers would guess).
pub fn for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"').to_ascii_lowercase();
    let alias = match label.as_str() {
        "cp932" | "windows-932" | "ibm-943" | "x-ms-cp932" | "shift_jis-2004"
        | "shift_jisx0213" => Some(SHIFT_JIS),
        "iso-2022-jp-ms"
        | "cp50220"
        | "cp50221"
        | "cp50222"
        | "iso-2022-jp-1"
        | "iso-2022-jp-3"
        | "iso-2022-jp-2004"
        | "x-windows-iso2022jp" => Some(ISO_2022_JP),
        "eucjp-ms" | "euc-jp-ms" | "cp51932" | "euc-jis-2004" | "x-eucjp-open" => Some(EUC_JP),
        "utf8" => Some(UTF_8),
        _ => None,
    };
    // `no_replacement`: WHATWG maps ISO-2022-KR and friends to an encoding that decodes everything to one U+FFFD.
    alias.or_else(|| Encoding::for_label_no_replacement(label.as_bytes()))
}

/// Text decoded from bytes, and whether malformed sequences had to be replaced with U+FFFD.
pub struct Decoded {
    pub text: String,
    pub malformed: bool,
}

/// Decodes `bytes` in `encoding`, dropping a leading byte-order mark of that encoding.
pub fn decode(encoding: &'static Encoding, bytes: &[u8]) -> Decoded {
    let (text, malformed) = encoding.decode_with_bom_removal(bytes);
    Decoded {
        text: text.into_owned(),
        malformed,
    }
}

/// Bytes without a declared charset (raw 8-bit header text, a text part without `charset`): UTF-8 when valid,
/// ISO-2022-JP when it has the escape sequences, else the Japanese legacy charset that decodes cleanly.
/// Returns the text and the charset that was guessed.
pub fn decode_guess(bytes: &[u8]) -> (String, &'static str) {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !bytes.contains(&0x1b)
    {
        return (text.to_owned(), "utf-8");
    }
    if bytes.contains(&0x1b) && bytes.is_ascii() {
        return (decode(ISO_2022_JP, bytes).text, "iso-2022-jp");
    }
    for encoding in [SHIFT_JIS, EUC_JP] {
        let (text, malformed) = encoding.decode_without_bom_handling(bytes);
        if !malformed {
            return (text.into_owned(), encoding.name());
        }
    }
    (String::from_utf8_lossy(bytes).into_owned(), "utf-8")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn japanese_aliases_outside_whatwg_are_known() {
        assert_eq!(for_label("CP932"), Some(SHIFT_JIS));
        assert_eq!(for_label("ISO-2022-JP-MS"), Some(ISO_2022_JP));
        assert_eq!(for_label("cp50220"), Some(ISO_2022_JP));
        assert_eq!(for_label("\"euc-jp\""), Some(EUC_JP));
        assert_eq!(for_label("Windows-31J"), Some(SHIFT_JIS));
        assert_eq!(for_label("x-unknown-klingon"), None);
        assert_eq!(for_label("iso-2022-kr"), None);
    }

    #[test]
    fn nec_special_characters_decode_from_iso_2022_jp() {
        // ESC $ B, then JIS 0x2D21 (①) and 0x2D6A (㈱), ESC ( B.
        let bytes = b"\x1b$B-!-j\x1b(B";
        let decoded = decode(for_label("iso-2022-jp").unwrap(), bytes);
        assert_eq!(decoded.text, "①㈱");
        assert!(!decoded.malformed);
    }

    #[test]
    fn unlabelled_shift_jis_is_guessed() {
        let (bytes, _, _) = SHIFT_JIS.encode("請求書");
        let (text, guessed) = decode_guess(&bytes);
        assert_eq!(text, "請求書");
        assert_eq!(guessed, "Shift_JIS");
    }
}
