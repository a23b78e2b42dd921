//! STARTTLS on the receiving side: offered when a certificate is configured, required with `require_tls`,
//! and safe against commands injected in the clear after STARTTLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mamori_relay::key::QuarantineKey;
use mamori_relay::{Config, Relay, RelayLimits};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

async fn tls_relay(dir: &Path, sink: &Sink) -> Relay {
    let tls = mamori_relay::tls::acceptor(&fixture("relay-test.crt"), &fixture("relay-test.key"))
        .unwrap();
    Relay::start(Config {
        listen: "127.0.0.1:0".into(),
        next_hop: sink.addr.to_string(),
        spool: dir.to_owned(),
        database: None,
        key: QuarantineKey::from_bytes(&[8; 32]).unwrap(),
        max_size: 100_000,
        domains: vec!["city.example".into()],
        clients: vec!["127.0.0.0/8".parse().unwrap()],
        postmaster: None,
        retention: Duration::from_secs(86_400),
        hostname: "relay.test".into(),
        trusted_authserv_ids: Vec::new(),
        resolver: None,
        notice_contact: "情報政策課".into(),
        tls: Some(tls),
        require_tls: true,
        api: None,
        limits: RelayLimits {
            poll: Duration::from_millis(100),
            ..RelayLimits::default()
        },
    })
    .await
    .unwrap()
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut BufReader<S>, line: &str) -> String {
    conn.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .unwrap();
    read_reply(conn).await
}

async fn read_reply<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut BufReader<S>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
            return all;
        }
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

fn connector() -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("relay-test.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn mail_is_accepted_only_after_starttls_when_tls_is_required() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("starttls");
    let relay = tls_relay(&dir, &sink).await;

    let mut plain = BufReader::new(TcpStream::connect(relay.local_addr()).await.unwrap());
    assert!(read_reply(&mut plain).await.starts_with("220"));
    assert!(
        command(&mut plain, "EHLO mx.city.example")
            .await
            .contains("250-STARTTLS")
    );
    assert!(
        command(&mut plain, "MAIL FROM:<a@example.jp>")
            .await
            .starts_with("530 5.7.0")
    );
    assert!(command(&mut plain, "STARTTLS").await.starts_with("220"));

    let tcp = plain.into_inner();
    let tls = connector()
        .connect(ServerName::try_from("relay.test").unwrap(), tcp)
        .await
        .unwrap();
    let mut tls = BufReader::new(tls);
    let ehlo = command(&mut tls, "EHLO mx.city.example").await;
    assert!(
        ehlo.starts_with("250") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    assert!(command(&mut tls, "STARTTLS").await.starts_with("503"));
    assert!(
        command(&mut tls, "MAIL FROM:<a@example.jp>")
            .await
            .starts_with("250")
    );
    assert!(
        command(&mut tls, "RCPT TO:<taro@city.example>")
            .await
            .starts_with("250")
    );
    assert!(command(&mut tls, "DATA").await.starts_with("354"));
    tls.get_mut()
        .write_all(&dot_stuff(b"Subject: over TLS\r\n\r\nsecret\r\n"))
        .await
        .unwrap();
    assert!(read_reply(&mut tls).await.starts_with("250"));
    command(&mut tls, "QUIT").await;
    let arrived = sink.wait_for(1, 10).await;
    assert!(arrived[0].body_text().contains("secret"));
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// CVE-2011-0411 class: commands sent in the clear right behind STARTTLS must not be taken as if they had come
/// through TLS.
#[tokio::test]
async fn commands_pipelined_behind_starttls_are_refused() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("starttls-injection");
    let relay = tls_relay(&dir, &sink).await;
    let mut plain = BufReader::new(TcpStream::connect(relay.local_addr()).await.unwrap());
    read_reply(&mut plain).await;
    command(&mut plain, "EHLO mx.city.example").await;
    let answer = command(&mut plain, "STARTTLS\r\nMAIL FROM:<evil@example.net>").await;
    assert!(answer.starts_with("554 5.5.1"), "{answer}");
    assert!(
        read_reply(&mut plain).await.is_empty(),
        "the connection is closed"
    );
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
