//! Reading one line from an SMTP peer with a bound on what is kept, and noting every line-ending irregularity
//! (the raw material of SMTP smuggling).

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

/// What was read for one line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineRead {
    /// Bytes of the line, terminator included, whether kept or not.
    pub total: usize,
    /// Bytes appended to the caller's buffer (at most the limit given).
    pub kept: usize,
    /// The line ended in LF (otherwise the peer closed the connection mid-line).
    pub ended: bool,
    /// The LF was preceded by CR.
    pub crlf: bool,
    /// A CR not followed by LF occurred in the line.
    pub bare_cr: bool,
}

impl LineRead {
    /// The line ended in CRLF and has no other CR: the only shape RFC 5321 allows.
    pub fn is_clean(&self) -> bool {
        self.ended && self.crlf && !self.bare_cr
    }

    /// The line was longer than the limit and only its beginning was kept.
    pub fn overflowed(&self) -> bool {
        self.total > self.kept
    }
}

/// Reads up to and including the next LF, appending at most `keep` bytes of it to `buf` and consuming (but
/// dropping) the rest. Returns `total == 0` at end of stream.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    keep: usize,
) -> std::io::Result<LineRead> {
    let mut read = LineRead::default();
    let mut prev_cr = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            read.bare_cr |= prev_cr;
            return Ok(read);
        }
        let (take, found) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (chunk.len(), false),
        };
        for &byte in &chunk[..take] {
            if byte == b'\n' {
                read.crlf = prev_cr;
            } else if prev_cr {
                read.bare_cr = true;
            }
            prev_cr = byte == b'\r';
        }
        let room = keep.saturating_sub(read.kept).min(take);
        buf.extend_from_slice(&chunk[..room]);
        read.kept += room;
        read.total += take;
        reader.consume(take);
        if found {
            read.ended = true;
            return Ok(read);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn one(input: &[u8], keep: usize) -> (LineRead, Vec<u8>) {
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let read = read_line(&mut reader, &mut buf, keep).await.unwrap();
        (read, buf)
    }

    #[tokio::test]
    async fn a_crlf_line_is_clean_even_when_split_across_reads() {
        let (read, buf) = one(b"MAIL FROM:<a@b>\r\nRCPT", 100).await;
        assert!(read.is_clean());
        assert_eq!(buf, b"MAIL FROM:<a@b>\r\n");
    }

    #[tokio::test]
    async fn bare_lf_and_bare_cr_are_noticed() {
        assert!(!one(b"text\n", 100).await.0.crlf);
        assert!(one(b"te\rxt\r\n", 100).await.0.bare_cr);
        assert!(one(b"text\r", 100).await.0.bare_cr);
    }

    #[tokio::test]
    async fn a_long_line_is_consumed_but_only_its_start_kept() {
        let (read, buf) = one(b"0123456789\r\nnext", 4).await;
        assert_eq!(buf, b"0123");
        assert!(read.overflowed() && read.is_clean());
        assert_eq!(read.total, 12);
    }
}
