//! The peers of the relay in tests: a sink SMTP server that records what arrives (the LGWAN mail server's
//! stand-in) and a raw SMTP client that can also send what no honest client would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use mamori_relay::RelayLimits;
use mamori_relay::deliver::Retry;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Arrived {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

impl Arrived {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The value of the first header field `name` (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    /// The body, decoded from base64 (the relay's rebuilt messages and notices are base64 UTF-8).
    pub fn body_text(&self) -> String {
        let text = self.text();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let compact: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .expect("base64 body");
        String::from_utf8(bytes).expect("UTF-8 body")
    }
}

/// How the sink answers.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Answer `451` at the end of DATA this many times before accepting.
    pub temporary_failures: usize,
    /// Recipients answered `550 5.1.1`.
    pub reject: Vec<String>,
}

/// A recording SMTP server.
pub struct Sink {
    pub addr: SocketAddr,
    pub arrived: Arc<Mutex<Vec<Arrived>>>,
    /// End-of-DATA replies given, including refusals.
    pub attempts: Arc<Mutex<usize>>,
}

impl Sink {
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_on("127.0.0.1:0", behaviour).await
    }

    pub async fn start_on(addr: &str, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let arrived = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(0));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (a, t) = (arrived.clone(), attempts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let (a, t, b) = (a.clone(), t.clone(), behaviour.clone());
                tokio::spawn(async move {
                    let _ = sink_session(stream, a, t, b).await;
                });
            }
        });
        Self {
            addr,
            arrived,
            attempts,
        }
    }

    pub fn arrived(&self) -> Vec<Arrived> {
        self.arrived.lock().unwrap().clone()
    }

    /// Waits until `count` messages arrived (at most `secs` seconds).
    pub async fn wait_for(&self, count: usize, secs: u64) -> Vec<Arrived> {
        for _ in 0..secs * 20 {
            let arrived = self.arrived();
            if arrived.len() >= count {
                return arrived;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} messages at the sink, got {}",
            self.arrived().len()
        );
    }
}

async fn sink_session(
    stream: TcpStream,
    arrived: Arc<Mutex<Vec<Arrived>>>,
    attempts: Arc<Mutex<usize>>,
    behaviour: Arc<Mutex<Behaviour>>,
) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink ESMTP\r\n").await?;
    let mut current = Arrived {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: Vec::new(),
    };
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250-sink\r\n250 8BITMIME".into()
        } else if upper.starts_with("MAIL FROM:") {
            current.mail_from = path_of(&line);
            "250 ok".into()
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = path_of(&line);
            if behaviour.lock().unwrap().reject.contains(&rcpt) {
                "550 5.1.1 no such user".into()
            } else {
                current.rcpt_to.push(rcpt);
                "250 ok".into()
            }
        } else if upper.starts_with("DATA") {
            w.write_all(b"354 go\r\n").await?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).await? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
            }
            *attempts.lock().unwrap() += 1;
            let mut b = behaviour.lock().unwrap();
            if b.temporary_failures > 0 {
                b.temporary_failures -= 1;
                "451 4.3.0 try later".into()
            } else {
                current.data = data;
                arrived.lock().unwrap().push(current.clone());
                "250 queued".into()
            }
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            "250 ok".into()
        };
        w.write_all(answer.as_bytes()).await?;
        w.write_all(b"\r\n").await?;
    }
}

fn path_of(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line[start..end].to_owned()
}

/// A raw SMTP client.
pub struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    /// Connects and returns the client with the greeting.
    pub async fn connect(addr: SocketAddr) -> (Self, String) {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        let mut client = Self {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// Reads one (possibly multi-line) reply; empty when the connection closed.
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(15), self.reader.read_line(&mut line))
                .await
                .expect("reply in time")
                .unwrap_or(0);
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    pub async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Whether the relay closed the connection (reads to the end).
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.reader.read_to_end(&mut rest)).await,
            Ok(Ok(_))
        )
    }

    /// A whole transaction; returns the reply to the end of data.
    pub async fn send_mail(&mut self, from: &str, to: &[&str], message: &[u8]) -> String {
        assert!(
            self.command("EHLO mx.city.example")
                .await
                .starts_with("250")
        );
        assert!(
            self.command(&format!("MAIL FROM:<{from}>"))
                .await
                .starts_with("250")
        );
        for rcpt in to {
            let answer = self.command(&format!("RCPT TO:<{rcpt}>")).await;
            assert!(answer.starts_with("250"), "{answer}");
        }
        assert!(self.command("DATA").await.starts_with("354"));
        self.send(&dot_stuff(message)).await;
        self.reply().await
    }
}

/// `message` as a DATA stream.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The spool id in a `250 2.0.0 Ok: queued as ID` reply.
pub fn queued_id(reply: &str) -> String {
    reply.trim().rsplit(' ').next().expect("an id").to_owned()
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mamori-relay-test-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Every byte of every file under `dir`.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The attachment of the Japanese test mail: an executable with a marker no rebuilt message may carry.
pub const ATTACHMENT: &[u8] =
    b"MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode. ATTACHMENT-MARKER-7f3a9c";

/// A business mail as Japanese mailers write it: ISO-2022-JP body and encoded-word subject, with an
/// executable attached.
pub fn japanese_mail_with_attachment() -> Vec<u8> {
    let (body, _, _) =
        encoding_rs::ISO_2022_JP.encode("会議の資料を送ります。ご確認ください。\r\n");
    let (subject, _, _) = encoding_rs::ISO_2022_JP.encode("会議資料の送付");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut m = Vec::new();
    m.extend_from_slice(b"Authentication-Results: mx.city.example; spf=pass smtp.mailfrom=example.jp; dkim=pass header.d=example.jp\r\n");
    m.extend_from_slice(b"Authentication-Results: forged.example; dkim=pass\r\n");
    m.extend_from_slice(b"From: sender@example.jp\r\nTo: taro@city.example\r\n");
    m.extend_from_slice(
        format!("Subject: =?ISO-2022-JP?B?{}?=\r\n", b64.encode(&subject)).as_bytes(),
    );
    m.extend_from_slice(b"Date: Thu, 26 Nov 2026 10:00:00 +0900\r\nMessage-ID: <jp1@example.jp>\r\nMIME-Version: 1.0\r\n");
    m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
    m.extend_from_slice(b"--b1\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
    m.extend_from_slice(&body);
    m.extend_from_slice(b"--b1\r\nContent-Type: application/octet-stream; name=\"tool.exe\"\r\n");
    m.extend_from_slice(b"Content-Disposition: attachment; filename=\"tool.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    m.extend_from_slice(b64.encode(ATTACHMENT).as_bytes());
    m.extend_from_slice(b"\r\n--b1--\r\n");
    m
}

/// Limits for tests: short timeouts, and retries that come back within a second.
pub fn quick_limits(poll: Duration) -> RelayLimits {
    RelayLimits {
        read_timeout: Duration::from_secs(10),
        send_timeout: Duration::from_secs(5),
        retry: Retry {
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
            max_attempts: 5,
        },
        poll,
        ..RelayLimits::default()
    }
}
