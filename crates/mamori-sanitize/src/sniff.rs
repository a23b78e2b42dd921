//! The type of a part by its bytes (magic numbers), never by its declared type or file name.

/// A short name for what the bytes are: `pdf`, `zip`, `docx`, `xlsx`, `pptx`, `exe`, `elf`, `ole2`, `png`,
/// `jpeg`, `gif`, `rar`, `7z`, `gzip`, `rtf`, `tnef` (winmail.dat), `html`, `text` or `unknown`.
///
/// A PDF header anywhere in the first kilobyte and a ZIP end record near the end count (readers accept both,
/// which is how PDF+ZIP polyglots work), so a polyglot is never taken for text.
pub fn sniff(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(1024)];
    let magic: &[(&[u8], &str)] = &[
        (b"MZ", "exe"),
        (b"\x7fELF", "elf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff", "jpeg"),
        (b"GIF87a", "gif"),
        (b"GIF89a", "gif"),
        (b"Rar!\x1a\x07", "rar"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"\x1f\x8b", "gzip"),
        (b"{\\rtf", "rtf"),
        (b"\x78\x9f\x3e\x22", "tnef"),
    ];
    if let Some((_, name)) = magic.iter().find(|(m, _)| bytes.starts_with(m)) {
        return name;
    }
    if find(head, b"%PDF-").is_some() {
        return "pdf";
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return zip_kind(bytes);
    }
    let tail = &bytes[bytes.len().saturating_sub(65_557)..];
    if find(tail, b"PK\x05\x06").is_some() {
        return "zip";
    }
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.contains(&0) {
        return "unknown";
    }
    if looks_like_html(head) {
        return "html";
    }
    "text"
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn zip_kind(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if find(head, b"word/").is_some() {
        "docx"
    } else if find(head, b"xl/").is_some() {
        "xlsx"
    } else if find(head, b"ppt/").is_some() {
        "pptx"
    } else {
        "zip"
    }
}

fn looks_like_html(head: &[u8]) -> bool {
    let lower = head.to_ascii_lowercase();
    let trimmed = lower.trim_ascii_start();
    let fragment = trimmed.first() == Some(&b'<')
        && trimmed.get(1).is_some_and(u8::is_ascii_alphabetic)
        && find(&lower, b"</").is_some();
    fragment
        || trimmed.starts_with(b"<!doctype html")
        || trimmed.starts_with(b"<html")
        || [&b"<script"[..], b"<body", b"<iframe", b"<head"]
            .iter()
            .any(|tag| find(&lower, tag).is_some())
}

/// Whether a sniffed type may be shown as text.
pub fn is_textual(sniffed: &str) -> bool {
    matches!(sniffed, "text" | "html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"MZ\x90\x00rest"), "exe");
        assert_eq!(sniff(b"%PDF-1.7\n"), "pdf");
        assert_eq!(sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1...."), "ole2");
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml"), "docx");
        assert_eq!(sniff(b"PK\x03\x04....xl/workbook.xml"), "xlsx");
        assert_eq!(sniff(b"PK\x03\x04....a.txt"), "zip");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), "png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), "jpeg");
        assert_eq!(sniff(b"GIF89a..."), "gif");
        assert_eq!(sniff(b"\x78\x9f\x3e\x22\x01\x00"), "tnef");
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x"), "html");
        assert_eq!(sniff(b"<div>fragment</div>"), "html");
        assert_eq!(sniff(b"<tanaka@example.jp> wrote:"), "text");
        assert_eq!(sniff("こんにちは".as_bytes()), "text");
        assert_eq!(sniff(b"\x1b$B$3$s\x1b(B"), "text");
        assert_eq!(sniff(b"a\0b"), "unknown");
    }

    #[test]
    fn polyglots_are_not_text() {
        assert_eq!(sniff(b"Dear customer,\r\n%PDF-1.4 ..."), "pdf");
        assert_eq!(sniff(b"hello text then PK\x05\x06\0\0\0\0"), "zip");
    }
}
