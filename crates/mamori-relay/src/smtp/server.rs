//! The receiving side: an RFC 5321 server for the Internet-zone MTA.
//!
//! - Only clients in the configured prefixes get a greeting (`554` otherwise); only recipients in the
//!   configured domains are accepted (`550 5.7.1` otherwise): the relay is never open.
//! - Every read has a timeout; command lines are at most 512 octets; recipients are bounded.
//! - Every line must end in CRLF. A bare LF or CR in a command or in the message — the stuff of SMTP
//!   smuggling — is refused; in DATA the message is discarded and the connection closed, so nothing after it
//!   can be read as a command.
//! - A message is sealed and fsynced into the spool, and recorded, *before* the `250`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ipnet::IpNet;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use super::address::{domain_of, parse_path};
use super::line::read_line;
use crate::db::Db;
use crate::spool::{Envelope, Kind, Spool, SpoolId};

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF.
const MAX_COMMAND_LINE: usize = 512;
/// Commands refused in one session before the relay hangs up.
const MAX_ERRORS: u32 = 20;

/// What every session needs.
#[derive(Debug)]
pub struct Inbound {
    pub hostname: String,
    pub max_size: usize,
    pub max_recipients: usize,
    /// Lower case, without trailing dots.
    pub domains: Vec<String>,
    pub clients: Vec<IpNet>,
    pub read_timeout: Duration,
    /// The longest a session may last, however slowly the client trickles (slowloris).
    pub max_session: Duration,
    pub retention: chrono::Duration,
    pub spool: Spool,
    pub db: Db,
    /// Wakes the delivery worker when a message is spooled.
    pub wake: Arc<Notify>,
    /// Sessions allowed to hold a message in memory at once (bounds memory under a flood of large mail).
    pub receiving: Arc<Semaphore>,
    /// STARTTLS, when a certificate is configured.
    pub tls: Option<crate::tls::Acceptor>,
    /// Refuse MAIL before STARTTLS.
    pub require_tls: bool,
}

impl Inbound {
    fn allows_client(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.clients.iter().any(|net| net.contains(&ip))
    }

    fn serves_domain(&self, address: &str) -> bool {
        domain_of(address).is_some_and(|d| self.domains.contains(&d))
    }
}

/// Accepts connections until `shutdown` turns true; at most `connections` sessions at once.
pub async fn accept_loop(
    listener: TcpListener,
    inbound: Arc<Inbound>,
    connections: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Short replies, each awaited by the client: send them at once (see the client).
        let _ = stream.set_nodelay(true);
        let permit = connections.clone().try_acquire_owned().ok();
        let inbound = inbound.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(inbound.max_session, session(stream, peer, &inbound, permit))
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "session ended with an error"),
                Err(_) => tracing::info!("session closed: longer than the session limit"),
            }
        });
    }
}

/// The transaction being built (between MAIL and the end of DATA).
#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

async fn session(
    stream: TcpStream,
    peer: SocketAddr,
    inbound: &Inbound,
    permit: Option<OwnedSemaphorePermit>,
) -> std::io::Result<()> {
    // One buffered stream for both directions: `BufReader` passes writes through.
    let mut conn = BufReader::new(stream);
    if permit.is_none() {
        return reply(&mut conn, "421 4.3.2 Too many connections, try again later").await;
    }
    if !inbound.allows_client(peer.ip()) {
        tracing::warn!(client = %peer.ip(), "connection refused: not a configured client");
        return reply(&mut conn, "554 5.7.1 No SMTP service for this client").await;
    }
    let host = &inbound.hostname;
    reply(&mut conn, &format!("220 {host} ESMTP Mamori relay")).await?;
    let tls = inbound.tls.clone();
    match commands(&mut conn, inbound, peer, tls.is_some(), false).await? {
        Next::Close => Ok(()),
        Next::StartTls => {
            let Some(acceptor) = tls else { return Ok(()) };
            let tcp = conn.into_inner();
            let secured =
                match tokio::time::timeout(inbound.read_timeout, acceptor.0.accept(tcp)).await {
                    Ok(Ok(secured)) => secured,
                    Ok(Err(e)) => {
                        tracing::info!(error = %e, "TLS handshake failed");
                        return Ok(());
                    }
                    Err(_) => return Ok(()),
                };
            // RFC 3207 4.2: everything known before the handshake is forgotten; the client starts with EHLO.
            let mut conn = BufReader::new(secured);
            commands(&mut conn, inbound, peer, false, true).await?;
            Ok(())
        }
    }
}

/// What the command loop ended with.
enum Next {
    Close,
    /// The client asked for TLS and nothing followed the command in the same packet.
    StartTls,
}

/// The command loop, on a plain or a TLS stream. `offer_tls`: STARTTLS may be used now; `secured`: this is
/// already the TLS stream.
async fn commands<S>(
    conn: &mut BufReader<S>,
    inbound: &Inbound,
    peer: SocketAddr,
    offer_tls: bool,
    secured: bool,
) -> std::io::Result<Next>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let host = &inbound.hostname;
    let mut helo: Option<String> = None;
    let mut txn = Transaction::default();
    let mut errors = 0u32;
    loop {
        if errors >= MAX_ERRORS {
            reply(conn, "421 4.7.0 Too many errors, closing").await?;
            return Ok(Next::Close);
        }
        let mut line = Vec::new();
        let read = match tokio::time::timeout(
            inbound.read_timeout,
            read_line(conn, &mut line, MAX_COMMAND_LINE),
        )
        .await
        {
            Ok(read) => read?,
            Err(_) => {
                reply(conn, "421 4.4.2 Timeout, closing").await?;
                return Ok(Next::Close);
            }
        };
        if read.total == 0 || !read.ended {
            return Ok(Next::Close);
        }
        if read.overflowed() {
            errors += 1;
            reply(conn, "500 5.5.2 Line too long").await?;
            continue;
        }
        if !read.is_clean() {
            errors += 1;
            reply(conn, "500 5.5.2 Command lines must end in CRLF").await?;
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line[..line.len() - 2]) else {
            errors += 1;
            reply(conn, "500 5.5.2 Command is not ASCII").await?;
            continue;
        };
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        let verb = verb.to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" | "HELO" => match greeting_name(arg) {
                None => "501 5.5.4 Give your host name".to_owned(),
                Some(name) => {
                    helo = Some(name);
                    txn = Transaction::default();
                    if verb == "EHLO" {
                        let starttls = if offer_tls { "250-STARTTLS\r\n" } else { "" };
                        format!(
                            "250-{host}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n{starttls}250 ENHANCEDSTATUSCODES",
                            inbound.max_size
                        )
                    } else {
                        format!("250 {host}")
                    }
                }
            },
            "STARTTLS" => {
                if !offer_tls {
                    if secured {
                        "503 5.5.1 TLS already active".to_owned()
                    } else {
                        "502 5.5.1 STARTTLS not available".to_owned()
                    }
                } else if !arg.is_empty() {
                    "501 5.5.4 STARTTLS takes no argument".to_owned()
                } else if !conn.buffer().is_empty() {
                    // Commands sent after STARTTLS in the clear would otherwise be read as if they came
                    // through TLS (CVE-2011-0411 class): refuse and hang up.
                    reply(conn, "554 5.5.1 Data after STARTTLS, closing").await?;
                    return Ok(Next::Close);
                } else {
                    reply(conn, "220 2.0.0 Ready to start TLS").await?;
                    return Ok(Next::StartTls);
                }
            }
            "MAIL" if inbound.require_tls && !secured => {
                "530 5.7.0 Must issue a STARTTLS command first".to_owned()
            }
            "MAIL" => mail(inbound, helo.is_some(), &mut txn, arg),
            "RCPT" => rcpt(inbound, &mut txn, arg),
            "DATA" => {
                if !arg.is_empty() {
                    "501 5.5.4 DATA takes no argument".to_owned()
                } else if txn.mail_from.is_none() {
                    "503 5.5.1 MAIL first".to_owned()
                } else if txn.rcpt_to.is_empty() {
                    "554 5.5.1 No valid recipients".to_owned()
                } else {
                    let helo = helo.clone().unwrap_or_default();
                    let txn = std::mem::take(&mut txn);
                    match data(conn, inbound, peer, helo, txn).await? {
                        Some(answer) => answer,
                        None => return Ok(Next::Close),
                    }
                }
            }
            "RSET" => {
                txn = Transaction::default();
                "250 2.0.0 Ok".to_owned()
            }
            "NOOP" => "250 2.0.0 Ok".to_owned(),
            "QUIT" => {
                reply(conn, &format!("221 2.0.0 {host} closing")).await?;
                return Ok(Next::Close);
            }
            "VRFY" | "EXPN" => "502 5.5.1 Not available".to_owned(),
            _ => "500 5.5.1 Command not recognised".to_owned(),
        };
        if answer.starts_with('5') || answer.starts_with('4') {
            errors += 1;
        }
        reply(conn, &answer).await?;
    }
}

/// The EHLO/HELO argument: a domain or address literal, visible ASCII only.
fn greeting_name(arg: &str) -> Option<String> {
    let name = arg.split(' ').next().unwrap_or_default();
    (!name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| name.to_owned())
}

fn mail(inbound: &Inbound, greeted: bool, txn: &mut Transaction, arg: &str) -> String {
    if !greeted {
        return "503 5.5.1 EHLO first".to_owned();
    }
    if txn.mail_from.is_some() {
        return "503 5.5.1 Nested MAIL".to_owned();
    }
    let Some(path) = parse_path(arg, "FROM:") else {
        return "501 5.1.7 Bad sender address syntax".to_owned();
    };
    for param in &path.params {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.to_ascii_uppercase().as_str() {
            "SIZE" => match value.parse::<u64>() {
                Ok(size) if size > inbound.max_size as u64 => {
                    return format!(
                        "552 5.3.4 Message size exceeds fixed limit of {} bytes",
                        inbound.max_size
                    );
                }
                Ok(_) => {}
                Err(_) => return "501 5.5.4 Bad SIZE parameter".to_owned(),
            },
            "BODY"
                if value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME") => {
            }
            _ => return "555 5.5.4 Unsupported MAIL parameter".to_owned(),
        }
    }
    txn.mail_from = Some(path.address.to_owned());
    "250 2.1.0 Ok".to_owned()
}

fn rcpt(inbound: &Inbound, txn: &mut Transaction, arg: &str) -> String {
    if txn.mail_from.is_none() {
        return "503 5.5.1 MAIL first".to_owned();
    }
    let Some(path) = parse_path(arg, "TO:") else {
        return "501 5.1.3 Bad recipient address syntax".to_owned();
    };
    if !path.params.is_empty() {
        return "555 5.5.4 Unsupported RCPT parameter".to_owned();
    }
    if !inbound.serves_domain(path.address) {
        return "550 5.7.1 Relaying denied".to_owned();
    }
    if txn.rcpt_to.len() >= inbound.max_recipients {
        return "452 4.5.3 Too many recipients".to_owned();
    }
    txn.rcpt_to.push(path.address.to_owned());
    "250 2.1.5 Ok".to_owned()
}

/// How a DATA phase ended.
enum DataEnd {
    Complete(Vec<u8>),
    TooLarge,
    /// A bare LF or CR, or an end of data other than `<CRLF>.<CRLF>`.
    Unclean,
    /// The client went away or stopped sending.
    Closed,
}

/// Runs the DATA phase and spools the message. `None`: the connection is to be closed (after the reply).
async fn data<S>(
    conn: &mut BufReader<S>,
    inbound: &Inbound,
    peer: SocketAddr,
    helo: String,
    txn: Transaction,
) -> std::io::Result<Option<String>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(Ok(permit)) = tokio::time::timeout(
        inbound.read_timeout,
        inbound.receiving.clone().acquire_owned(),
    )
    .await
    else {
        return Ok(Some("451 4.3.2 Too busy, try again later".to_owned()));
    };
    reply(conn, "354 End data with <CR><LF>.<CR><LF>").await?;
    let end = read_data(conn, inbound.max_size, inbound.read_timeout).await?;
    let raw = match end {
        DataEnd::Complete(raw) => raw,
        DataEnd::TooLarge => {
            tracing::info!("message refused: over the size limit");
            return Ok(Some(format!(
                "552 5.3.4 Message size exceeds fixed limit of {} bytes",
                inbound.max_size
            )));
        }
        DataEnd::Unclean => {
            tracing::warn!("message refused: bare LF or CR in DATA (SMTP smuggling?)");
            reply(
                conn,
                "554 5.5.2 Bare LF or CR in message, or bad end of data; message refused",
            )
            .await?;
            return Ok(None);
        }
        DataEnd::Closed => {
            let _ = reply(conn, "421 4.4.2 Timeout or connection lost").await;
            return Ok(None);
        }
    };
    let now = Utc::now();
    let envelope = Envelope {
        id: SpoolId::new(now),
        kind: Kind::Mail,
        received_at: now,
        peer: peer.ip().to_string(),
        helo,
        mail_from: txn.mail_from.unwrap_or_default(),
        rcpt_to: txn.rcpt_to,
    };
    let answer = match enqueue(inbound, &envelope, raw).await {
        Ok(size) => {
            tracing::info!(id = %envelope.id, size, "spooled");
            format!("250 2.0.0 Ok: queued as {}", envelope.id)
        }
        Err(e) => {
            tracing::error!(id = %envelope.id, error = %format!("{e:#}"), "cannot spool");
            "451 4.3.0 Cannot store the message now, try again later".to_owned()
        }
    };
    drop(permit);
    Ok(Some(answer))
}

/// Seals and fsyncs the message into the spool, records it, and wakes the delivery worker.
pub(crate) async fn enqueue(
    inbound: &Inbound,
    envelope: &Envelope,
    raw: Vec<u8>,
) -> anyhow::Result<usize> {
    let size = raw.len();
    let spool = inbound.spool.clone();
    let copy = envelope.clone();
    tokio::task::spawn_blocking(move || spool.store_message(&copy, raw)).await??;
    inbound
        .db
        .insert_spooled(envelope, size, envelope.received_at + inbound.retention)
        .await?;
    inbound.wake.notify_one();
    Ok(size)
}

/// Reads the message up to `<CRLF>.<CRLF>`, unstuffing dots. Past `max` bytes nothing more is kept, but the
/// reading goes on to the end so that the reply lines up with the client.
async fn read_data<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    timeout: Duration,
) -> std::io::Result<DataEnd> {
    let mut data = Vec::new();
    let mut too_large = false;
    loop {
        let start = data.len();
        // Room for the message plus the terminator line, so that a message of exactly `max` bytes fits.
        let keep = if too_large { 3 } else { max - start + 3 };
        let read = match tokio::time::timeout(timeout, read_line(reader, &mut data, keep)).await {
            Ok(read) => read?,
            Err(_) => return Ok(DataEnd::Closed),
        };
        if !read.ended {
            return Ok(DataEnd::Closed);
        }
        if !read.is_clean() {
            return Ok(DataEnd::Unclean);
        }
        if read.total == 3 && &data[start..] == b".\r\n" {
            data.truncate(start);
            return Ok(if too_large {
                DataEnd::TooLarge
            } else {
                DataEnd::Complete(data)
            });
        }
        if too_large {
            data.clear();
            continue;
        }
        if data.get(start) == Some(&b'.') {
            data.remove(start);
        }
        if read.overflowed() || data.len() > max {
            too_large = true;
            data = Vec::new();
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(writer: &mut W, text: &str) -> std::io::Result<()> {
    writer.write_all(format!("{text}\r\n").as_bytes()).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    async fn run(input: &[u8], max: usize) -> DataEnd {
        let mut reader = BufReader::with_capacity(7, input);
        read_data(&mut reader, max, Duration::from_secs(5))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn dots_are_unstuffed_and_the_end_is_found() {
        match run(b"a\r\n..b\r\n.\r\nQUIT\r\n", 100).await {
            DataEnd::Complete(data) => assert_eq!(data, b"a\r\n.b\r\n"),
            _ => panic!("not complete"),
        }
    }

    #[tokio::test]
    async fn a_message_of_exactly_the_limit_fits_and_one_more_byte_does_not() {
        assert!(matches!(
            run(b"abc\r\n.\r\n", 5).await,
            DataEnd::Complete(_)
        ));
        assert!(matches!(run(b"abcd\r\n.\r\n", 5).await, DataEnd::TooLarge));
    }

    #[tokio::test]
    async fn bare_lf_end_of_data_is_refused() {
        assert!(matches!(
            run(b"a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", 100).await,
            DataEnd::Unclean
        ));
        assert!(matches!(run(b"a\n.\r\n", 100).await, DataEnd::Unclean));
        assert!(matches!(
            run(b"a\r\n.\r", 100).await,
            DataEnd::Closed | DataEnd::Unclean
        ));
    }
}
