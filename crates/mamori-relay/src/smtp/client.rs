//! The forwarding side: a minimal SMTP client to the next hop (the LGWAN mail server). It needs no
//! authentication, TLS or encoding choices — the message is already rebuilt, 7-bit, with CRLF line ends — so
//! it is a few exchanges: EHLO, MAIL, RCPT…, DATA, QUIT, with a timeout on every step.

use std::time::Duration;

use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use super::line::read_line;

/// The longest reply line kept.
const MAX_REPLY_LINE: usize = 4096;
/// Reply lines in one multi-line reply before the peer is judged broken.
const MAX_REPLY_LINES: usize = 100;

/// How forwarding one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted for every recipient, or for some while the others were refused permanently (`refused` says
    /// which and why: the message is not sent to them again).
    Delivered { refused: Vec<String> },
    /// A 4xx reply, a connection failure or a timeout: try again later.
    Temporary(String),
    /// A 5xx reply: the next hop will not take it.
    Permanent(String),
}

/// One message to forward.
pub struct Outgoing<'a> {
    /// The reverse path; empty for `<>`.
    pub mail_from: &'a str,
    pub rcpt_to: &'a [String],
    /// The message, CRLF line ends, not yet dot-stuffed.
    pub data: &'a [u8],
}

/// Forwards `message` to `next_hop` (`HOST:PORT`), introducing itself as `hostname`.
pub async fn send(
    next_hop: &str,
    hostname: &str,
    message: &Outgoing<'_>,
    timeout: Duration,
) -> Outcome {
    match exchange(next_hop, hostname, message, timeout).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Temporary(format!("next hop {next_hop}: {e}")),
    }
}

struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    fn outcome(&self, step: &str) -> Outcome {
        let said = format!("{step}: {} {}", self.code, self.text);
        if self.code >= 500 {
            Outcome::Permanent(said)
        } else {
            Outcome::Temporary(said)
        }
    }
}

struct Connection {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    timeout: Duration,
}

impl Connection {
    async fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut text = String::new();
        for _ in 0..MAX_REPLY_LINES {
            let mut line = Vec::new();
            let read = tokio::time::timeout(
                self.timeout,
                read_line(&mut self.reader, &mut line, MAX_REPLY_LINE),
            )
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply"))??;
            if !read.ended {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not an SMTP reply")
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            if !text.is_empty() {
                text.push(' ');
            }
            text.extend(
                line.get(4..)
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control()),
            );
            if !more {
                return Ok(Reply { code, text });
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "reply too long",
        ))
    }

    async fn command(&mut self, line: &str) -> std::io::Result<Reply> {
        self.write(line.as_bytes()).await?;
        self.write(b"\r\n").await?;
        self.read_reply().await
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        tokio::time::timeout(self.timeout, self.writer.write_all(bytes))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
    }
}

async fn exchange(
    next_hop: &str,
    hostname: &str,
    message: &Outgoing<'_>,
    timeout: Duration,
) -> std::io::Result<Outcome> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(next_hop))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    // SMTP is a command, then a wait for the reply: without this, Nagle's algorithm holds each short command
    // back until the peer's delayed acknowledgement, some 40 ms per step.
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    let mut c = Connection {
        reader: BufReader::new(reader),
        writer,
        timeout,
    };
    let greeting = c.read_reply().await?;
    if greeting.code != 220 {
        return Ok(greeting.outcome("greeting"));
    }
    let mut hello = c.command(&format!("EHLO {hostname}")).await?;
    if hello.code >= 500 {
        hello = c.command(&format!("HELO {hostname}")).await?;
    }
    if hello.code != 250 {
        return Ok(hello.outcome("EHLO"));
    }
    let mail = c
        .command(&format!("MAIL FROM:<{}>", message.mail_from))
        .await?;
    if mail.code != 250 {
        return Ok(quit(&mut c, mail.outcome("MAIL")).await);
    }
    let mut temporary: Option<Outcome> = None;
    let mut refused = Vec::new();
    for rcpt in message.rcpt_to {
        let answer = c.command(&format!("RCPT TO:<{rcpt}>")).await?;
        match answer.code {
            250..=252 => {}
            500.. => refused.push(format!("<{rcpt}>: {} {}", answer.code, answer.text)),
            // A temporary refusal of any recipient puts the whole message off, so that no recipient gets it
            // twice.
            _ => temporary = Some(answer.outcome("RCPT")),
        }
    }
    if let Some(outcome) = temporary {
        return Ok(quit(&mut c, outcome).await);
    }
    if refused.len() == message.rcpt_to.len() {
        let outcome = Outcome::Permanent(format!("RCPT: {}", refused.join("; ")));
        return Ok(quit(&mut c, outcome).await);
    }
    let go = c.command("DATA").await?;
    if go.code != 354 {
        return Ok(quit(&mut c, go.outcome("DATA")).await);
    }
    c.write(&dot_stuff(message.data)).await?;
    let done = c.read_reply().await?;
    if done.code != 250 {
        return Ok(quit(&mut c, done.outcome("end of data")).await);
    }
    Ok(quit(&mut c, Outcome::Delivered { refused }).await)
}

async fn quit(c: &mut Connection, outcome: Outcome) -> Outcome {
    let _ = c.command("QUIT").await;
    outcome
}

/// The DATA stream: a dot doubled at the start of every line, CRLF at the end, then `.` CRLF.
fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 5);
    let mut at_line_start = true;
    for &byte in data {
        if at_line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        at_line_start = byte == b'\n';
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_dots_are_doubled_and_the_end_marked() {
        assert_eq!(dot_stuff(b".a\r\nb\r\n..c"), b"..a\r\nb\r\n...c\r\n.\r\n");
    }
}
