//! Content-Transfer-Encoding: base64 and quoted-printable decoders of our own, so that junk is noticed
//! (a gateway and a mail client that skip junk differently see different attachments).

/// A transfer encoding named by a `Content-Transfer-Encoding` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
}

impl TransferEncoding {
    /// The encoding for a header value, `None` when unknown (`x-uuencode` and the like).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "7bit" => Some(Self::SevenBit),
            "8bit" => Some(Self::EightBit),
            "binary" => Some(Self::Binary),
            "base64" => Some(Self::Base64),
            "quoted-printable" => Some(Self::QuotedPrintable),
            _ => None,
        }
    }

    /// Whether a multipart may carry it (RFC 2045 6.4: only the identity encodings).
    pub fn is_identity(self) -> bool {
        matches!(self, Self::SevenBit | Self::EightBit | Self::Binary)
    }
}

/// Decoded bytes, and what was wrong with the encoding (empty when it was clean).
pub struct Decoded {
    pub bytes: Vec<u8>,
    /// Problems that make readers disagree about the content.
    pub ambiguities: Vec<String>,
}

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Canonical base64 in lines (blanks only at a line's ends, padding only at the very end), or `None`.
fn decode_base64_lines(input: &[u8]) -> Option<Vec<u8>> {
    /// Characters gathered before they are decoded at once (a multiple of 4): large enough for the SIMD
    /// decoder to run at full speed, small enough to stay in the cache.
    const BATCH: usize = 32 * 1024;
    let mut bytes = Vec::with_capacity(input.len() / 4 * 3);
    let mut batch = Vec::with_capacity(BATCH + 1024);
    let mut padded = false;
    let mut pos = 0;
    // Mailers write base64 in lines of one length: where the last line ended tells where this one ends, so
    // the newline is looked for only when it is not there. A guess that spans a line break is caught all the
    // same: the break is not in the base64 alphabet, so the batch does not decode and the careful reading
    // below takes over.
    let mut width: Option<usize> = None;
    while pos < input.len() {
        let lf = match width {
            Some(w) if input.get(pos + w) == Some(&b'\n') => pos + w,
            _ => memchr::memchr(b'\n', &input[pos..]).map_or(input.len(), |p| pos + p),
        };
        let line = &input[pos..lf];
        width = Some(lf - pos);
        pos = lf + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        // Padding only at the very end: every line before it is whole groups of four.
        if padded || !line.len().is_multiple_of(4) {
            return None;
        }
        padded = line.ends_with(b"=");
        batch.extend_from_slice(line);
        if batch.len() >= BATCH {
            base64_simd::STANDARD
                .decode_append(&batch, &mut bytes)
                .ok()?;
            batch.clear();
        }
    }
    base64_simd::STANDARD
        .decode_append(&batch, &mut bytes)
        .ok()?;
    Some(bytes)
}

/// Base64, tolerant of line breaks and blanks of any length, strict about anything else: a byte outside the
/// alphabet, or data after the padding, is an ambiguity (some readers skip it, some stop, some keep decoding).
pub fn decode_base64(input: &[u8]) -> Decoded {
    // Nearly all mail is canonical base64 in lines of a multiple of four characters: a strict decoder takes
    // it line by line, and the byte-by-byte reading below, which accounts for every oddity, is not needed.
    if let Some(bytes) = decode_base64_lines(input) {
        return Decoded {
            bytes,
            ambiguities: Vec::new(),
        };
    }
    let mut bytes = Vec::with_capacity(input.len() / 4 * 3);
    let mut junk = 0usize;
    let mut after_padding = false;
    let mut data_after_padding = false;
    let mut accumulator: u32 = 0;
    let mut count = 0u8;
    for &byte in input {
        match byte {
            b'\r' | b'\n' | b' ' | b'\t' => continue,
            b'=' => {
                after_padding = true;
                continue;
            }
            _ => {}
        }
        let Some(value) = sextet(byte) else {
            junk += 1;
            continue;
        };
        if after_padding {
            data_after_padding = true;
        }
        accumulator = (accumulator << 6) | u32::from(value);
        count += 1;
        if count == 4 {
            bytes.extend_from_slice(&[
                (accumulator >> 16) as u8,
                (accumulator >> 8) as u8,
                accumulator as u8,
            ]);
            accumulator = 0;
            count = 0;
        }
    }
    match count {
        2 => bytes.push((accumulator >> 4) as u8),
        3 => bytes.extend_from_slice(&[(accumulator >> 10) as u8, (accumulator >> 2) as u8]),
        _ => {}
    }
    let mut ambiguities = Vec::new();
    if junk > 0 {
        ambiguities.push(format!("{junk} bytes outside the base64 alphabet"));
    }
    if data_after_padding {
        ambiguities.push("base64 data after the padding".to_owned());
    }
    if count == 1 {
        ambiguities.push("base64 ends with a lone character".to_owned());
    }
    Decoded { bytes, ambiguities }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// Quoted-printable. A `=` not followed by two hex digits or a line break is kept as it is: every reader does
/// the same with it, so it is sloppy, not ambiguous.
pub fn decode_quoted_printable(input: &[u8]) -> Decoded {
    let mut bytes = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        let byte = input[index];
        if byte != b'=' {
            bytes.push(byte);
            index += 1;
            continue;
        }
        // Soft line break: '=' then optional blanks then CRLF (or the end).
        let mut after = index + 1;
        while after < input.len() && matches!(input[after], b' ' | b'\t') {
            after += 1;
        }
        if input[after..].starts_with(b"\r\n") {
            index = after + 2;
            continue;
        }
        if after == input.len() {
            index = after;
            continue;
        }
        let pair = input.get(index + 1..index + 3);
        if let Some(&[high, low]) = pair
            && let (Some(high), Some(low)) = (hex_value(high), hex_value(low))
        {
            bytes.push(high << 4 | low);
            index += 3;
            continue;
        }
        bytes.push(b'=');
        index += 1;
    }
    Decoded {
        bytes,
        ambiguities: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_line_breaks_anywhere_decodes() {
        let decoded = decode_base64(b"5pel\r\n5pys\r\n6Kqe\r\n");
        assert_eq!(decoded.bytes, "日本語".as_bytes());
        assert!(decoded.ambiguities.is_empty());
    }

    #[test]
    fn base64_in_lines_of_changing_length_decodes_whatever_the_guessed_line_end() {
        use base64::Engine as _;
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&data);
        // Line lengths as mailers and hand edits make them: even, uneven, one that ends exactly where the
        // previous width would put a line end inside the next line, and blank lines.
        for widths in [
            vec![76],
            vec![76, 76, 40, 76, 8],
            vec![8, 4, 12],
            vec![64, 60, 68, 4],
        ] {
            let mut raw = Vec::new();
            let mut at = 0;
            for (n, width) in widths.iter().cycle().enumerate() {
                let end = (at + width).min(text.len());
                raw.extend_from_slice(&text.as_bytes()[at..end]);
                raw.extend_from_slice(if n % 97 == 3 { b"\r\n\r\n" } else { b"\r\n" });
                at = end;
                if at == text.len() {
                    break;
                }
            }
            // The fast path itself decodes it (the careful path would give the same bytes).
            assert_eq!(
                decode_base64_lines(&raw).as_ref(),
                Some(&data),
                "{widths:?}"
            );
            let decoded = decode_base64(&raw);
            assert_eq!(decoded.bytes, data, "{widths:?}");
            assert!(decoded.ambiguities.is_empty(), "{widths:?}");
        }
    }

    #[test]
    fn base64_very_long_line_decodes() {
        let long = "QUJD".repeat(100_000);
        let decoded = decode_base64(long.as_bytes());
        assert_eq!(decoded.bytes.len(), 300_000);
        assert!(decoded.ambiguities.is_empty());
    }

    #[test]
    fn base64_junk_and_data_after_padding_are_ambiguities() {
        let decoded = decode_base64(b"QUI=!QUJD");
        assert_eq!(decoded.ambiguities.len(), 2);
    }

    #[test]
    fn quoted_printable_soft_breaks_and_hex() {
        let decoded = decode_quoted_printable(b"caf=C3=A9 =\r\nau=3Dlait= \r\n!=ZZ");
        assert_eq!(decoded.bytes, "café au=lait!=ZZ".as_bytes());
    }
}
