//! The relay end to end, with real SMTP peers: a raw client on one side, a recording sink (the LGWAN mail
//! server's stand-in) on the other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::*;
use mamori_relay::key::QuarantineKey;
use mamori_relay::spool::{Spool, SpoolId};
use mamori_relay::{Config, Relay};

const KEY: [u8; 32] = [42; 32];

fn config(spool: &Path, next_hop: SocketAddr) -> Config {
    Config {
        max_size: 100_000,
        hostname: "relay.test".into(),
        trusted_authserv_ids: vec!["mx.city.example".into()],
        notice_contact: "情報政策課 内線 1234".into(),
        limits: quick_limits(Duration::from_millis(100)),
        ..Config::loopback(
            next_hop,
            spool,
            QuarantineKey::from_bytes(&KEY).unwrap(),
            "city.example",
        )
    }
}

async fn relay(spool: &Path, sink: &Sink) -> Relay {
    Relay::start(config(spool, sink.addr)).await.unwrap()
}

async fn state_of(relay: &Relay, id: &str) -> (String, Option<String>) {
    relay
        .db()
        .state(&SpoolId::parse(id).unwrap())
        .await
        .unwrap()
        .expect("a row for the message")
}

async fn wait_for_state(relay: &Relay, id: &str, wanted: &str) -> Option<String> {
    for _ in 0..200 {
        let (state, error) = state_of(relay, id).await;
        if state == wanted {
            return error;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{id} never reached {wanted}: {:?}",
        state_of(relay, id).await
    );
}

#[tokio::test]
async fn japanese_mail_with_an_attachment_arrives_as_text_with_the_notice_and_no_attachment_byte() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("japanese");
    let relay = relay(&dir, &sink).await;

    let (mut client, greeting) = Client::connect(relay.local_addr()).await;
    assert!(greeting.starts_with("220 relay.test"), "{greeting}");
    let ehlo = client.command("EHLO mx.city.example").await;
    for extension in [
        "SIZE 100000",
        "8BITMIME",
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
    ] {
        assert!(ehlo.contains(extension), "{ehlo}");
    }
    client.command("RSET").await;
    let answer = client
        .send_mail(
            "sender@example.jp",
            &["taro@city.example"],
            &japanese_mail_with_attachment(),
        )
        .await;
    assert!(answer.starts_with("250 2.0.0"), "{answer}");
    let id = queued_id(&answer);
    assert!(client.command("QUIT").await.starts_with("221"));

    let arrived = sink.wait_for(1, 10).await;
    let mail = &arrived[0];
    assert_eq!(mail.mail_from, "sender@example.jp");
    assert_eq!(mail.rcpt_to, ["taro@city.example"]);
    assert_eq!(
        mail.header("Content-Type").unwrap(),
        "text/plain; charset=UTF-8"
    );
    assert_eq!(mail.header("X-Mamori-Original-Id").unwrap(), id);
    let sanitized = mail.header("X-Mamori-Sanitized").unwrap();
    assert!(sanitized.contains("attachments-removed=1"), "{sanitized}");
    assert_eq!(mail.header("Message-ID").unwrap(), "<jp1@example.jp>");
    assert_eq!(
        mail.header("Authentication-Results").unwrap(),
        "mx.city.example; spf=pass smtp.mailfrom=example.jp; dkim=pass header.d=example.jp"
    );
    assert!(!mail.text().contains("forged.example"));
    let body = mail.body_text();
    assert!(body.contains("会議の資料を送ります。"), "{body}");
    assert!(
        body.contains("tool.exe"),
        "the notice names the removed file: {body}"
    );
    assert!(body.contains("情報政策課 内線 1234"), "{body}");
    assert!(!contains(&mail.data, b"ATTACHMENT-MARKER"));
    assert!(!contains(&mail.data, b"This program cannot be run"));
    assert!(!body.contains("ATTACHMENT-MARKER"));
    wait_for_state(&relay, &id, "delivered").await;
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_spool_keeps_the_original_and_the_removed_part_only_encrypted() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("encrypted");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let original = japanese_mail_with_attachment();
    let id = queued_id(
        &client
            .send_mail("sender@example.jp", &["taro@city.example"], &original)
            .await,
    );
    sink.wait_for(1, 10).await;
    wait_for_state(&relay, &id, "delivered").await;
    relay.shutdown().await;

    let files = all_files(&dir);
    assert!(
        files.iter().any(|(p, _)| p.starts_with(dir.join("parts"))),
        "the part is kept"
    );
    let encoded = base64_of(ATTACHMENT);
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, b"ATTACHMENT-MARKER"),
            "{} holds the attachment in clear",
            path.display()
        );
        assert!(
            !contains(bytes, &encoded[..40]),
            "{} holds the attachment's base64",
            path.display()
        );
        assert!(
            !contains(bytes, b"sender@example.jp")
                || path
                    .extension()
                    .is_some_and(|e| e == "sqlite3" || e == "sqlite3-wal"),
            "{} holds the envelope in clear",
            path.display()
        );
    }
    // … and the quarantine gives them back with the key.
    let spool = Spool::open(&dir, QuarantineKey::from_bytes(&KEY).unwrap()).unwrap();
    let id = SpoolId::parse(&id).unwrap();
    assert_eq!(spool.load_message(&id).unwrap().1, original);
    assert_eq!(spool.load_part(&id, 1).unwrap(), ATTACHMENT);
    assert!(
        Spool::open(&dir, QuarantineKey::from_bytes(&[1; 32]).unwrap())
            .unwrap()
            .load_message(&id)
            .is_err()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn base64_of(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .into_bytes()
}

#[tokio::test]
async fn mail_for_another_domain_is_refused_it_is_not_an_open_relay() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("open-relay");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    client.command("EHLO mx.city.example").await;
    assert!(
        client
            .command("MAIL FROM:<spammer@example.net>")
            .await
            .starts_with("250")
    );
    for foreign in [
        "victim@example.org",
        "taro@city.example.evil.test",
        "taro@sub.city.example",
    ] {
        let answer = client.command(&format!("RCPT TO:<{foreign}>")).await;
        assert!(answer.starts_with("550 5.7.1"), "{foreign}: {answer}");
    }
    assert!(
        client
            .command("RCPT TO:<@city.example:victim@example.org>")
            .await
            .starts_with("501")
    );
    assert!(
        client.command("DATA").await.starts_with("554"),
        "no recipient, no data"
    );
    assert!(client.command("VRFY taro").await.starts_with("502"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sink.arrived().is_empty());
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_client_outside_the_configured_prefixes_is_refused_at_connect() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("prefix");
    let mut config = config(&dir, sink.addr);
    config.clients = vec!["10.30.0.0/24".parse().unwrap()];
    let relay = Relay::start(config).await.unwrap();
    let (mut client, greeting) = Client::connect(relay.local_addr()).await;
    assert!(greeting.starts_with("554 5.7.1"), "{greeting}");
    assert!(client.closed().await);
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// SMTP smuggling (CVE-2023-51764 class): an end of data the relay and the next server might read
/// differently. The relay refuses the message, closes the connection, and nothing reaches the sink.
#[tokio::test]
async fn bare_lf_and_bare_cr_smuggling_is_refused_and_nothing_reaches_the_sink() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("smuggling");
    let relay = relay(&dir, &sink).await;
    let attempts: [&[u8]; 4] = [
        b"Subject: a\r\n\r\nhello\n.\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<taro@city.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n",
        b"Subject: a\r\n\r\nhello\r\n.\nMAIL FROM:<evil@example.net>\r\n.\r\n",
        b"Subject: a\r\n\r\nhello\r.\r\nMAIL FROM:<evil@example.net>\r\n.\r\n",
        b"Subject: a\r\n\r\nline with a bare\rCR\r\n.\r\n",
    ];
    for payload in attempts {
        let (mut client, _) = Client::connect(relay.local_addr()).await;
        client.command("EHLO mx.city.example").await;
        client.command("MAIL FROM:<a@example.jp>").await;
        client.command("RCPT TO:<taro@city.example>").await;
        assert!(client.command("DATA").await.starts_with("354"));
        client.send(payload).await;
        let answer = client.reply().await;
        assert!(answer.starts_with("554 5.5.2"), "{answer}");
        assert!(
            client.closed().await,
            "the connection is closed after a smuggling attempt"
        );
    }
    // A bare LF in a command line is refused too.
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    client.send(b"EHLO mx.city.example\n").await;
    assert!(client.reply().await.starts_with("500 5.5.2"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.arrived().is_empty());
    assert_eq!(
        relay.db().status(chrono::Utc::now()).await.unwrap().queued,
        0
    );
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_declared_size_over_the_limit_is_refused_at_mail_and_an_undeclared_one_after_data() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("size");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    client.command("EHLO mx.city.example").await;
    let answer = client.command("MAIL FROM:<a@example.jp> SIZE=100001").await;
    assert!(answer.starts_with("552 5.3.4"), "{answer}");
    assert!(
        client
            .command("MAIL FROM:<a@example.jp> SIZE=100000")
            .await
            .starts_with("250")
    );
    client.command("RCPT TO:<taro@city.example>").await;
    assert!(client.command("DATA").await.starts_with("354"));
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..2000 {
        big.extend_from_slice(&[b'x'; 98]);
        big.extend_from_slice(b"\r\n");
    }
    client.send(&dot_stuff(&big)).await;
    let answer = client.reply().await;
    assert!(answer.starts_with("552 5.3.4"), "{answer}");
    // The session goes on, in step with the client.
    assert!(client.command("NOOP").await.starts_with("250"));
    let small = client
        .send_mail(
            "a@example.jp",
            &["taro@city.example"],
            b"Subject: small\r\n\r\nok\r\n",
        )
        .await;
    assert!(small.starts_with("250"), "{small}");
    let arrived = sink.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.arrived().len(), 1);
    assert!(arrived[0].body_text().contains("ok"));
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_temporary_failure_at_the_next_hop_is_retried_until_delivered() {
    let sink = Sink::start(Behaviour {
        temporary_failures: 2,
        ..Behaviour::default()
    })
    .await;
    let dir = temp_dir("retry");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let id = queued_id(
        &client
            .send_mail(
                "a@example.jp",
                &["taro@city.example"],
                b"Subject: retry\r\n\r\nagain\r\n",
            )
            .await,
    );
    let arrived = sink.wait_for(1, 15).await;
    assert_eq!(arrived.len(), 1);
    assert_eq!(*sink.attempts.lock().unwrap(), 3);
    wait_for_state(&relay, &id, "delivered").await;
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_permanent_refusal_makes_a_dead_letter_and_the_postmaster_is_told() {
    let sink = Sink::start(Behaviour {
        reject: vec!["gone@city.example".into()],
        ..Behaviour::default()
    })
    .await;
    let dir = temp_dir("dead");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let id = queued_id(
        &client
            .send_mail(
                "a@example.jp",
                &["gone@city.example"],
                b"Subject: lost\r\n\r\nbody\r\n",
            )
            .await,
    );
    let arrived = sink.wait_for(1, 10).await;
    let notice = &arrived[0];
    assert_eq!(notice.rcpt_to, ["postmaster@city.example"]);
    assert_eq!(
        notice.mail_from, "",
        "the notice has the null sender: it can never bounce"
    );
    assert!(notice.header("Subject").unwrap().contains(&id));
    let body = notice.body_text();
    assert!(body.contains(&id) && body.contains("550"), "{body}");
    let reason = wait_for_state(&relay, &id, "dead").await.unwrap();
    assert!(reason.contains("550 5.1.1"), "{reason}");
    let mut status = relay.db().status(chrono::Utc::now()).await.unwrap();
    for _ in 0..100 {
        if status.delivered_last_hour == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = relay.db().status(chrono::Utc::now()).await.unwrap();
    }
    assert_eq!(status.dead, 1);
    assert_eq!(status.delivered_last_hour, 1, "the notice");
    assert_eq!(status.queued, 0);
    // The dead letter is still in the quarantine.
    let spool = Spool::open(&dir, QuarantineKey::from_bytes(&KEY).unwrap()).unwrap();
    assert!(spool.load_message(&SpoolId::parse(&id).unwrap()).is_ok());
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_message_the_sanitiser_refuses_is_a_dead_letter_and_the_postmaster_is_told() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("refused");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let id = queued_id(
        &client
            .send_mail(
                "a@example.jp",
                &["taro@city.example"],
                b"this is not a mail message\r\n",
            )
            .await,
    );
    let arrived = sink.wait_for(1, 10).await;
    assert_eq!(arrived[0].rcpt_to, ["postmaster@city.example"]);
    let reason = wait_for_state(&relay, &id, "dead").await.unwrap();
    assert!(reason.contains("sanitiser refused"), "{reason}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sink.arrived().len(),
        1,
        "only the notice, never the message"
    );
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn after_the_retention_the_quarantine_objects_are_deleted() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("retention");
    let mut config = config(&dir, sink.addr);
    config.retention = Duration::ZERO;
    config.limits.sweep_every = Duration::from_millis(100);
    let relay = Relay::start(config).await.unwrap();
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let id = queued_id(
        &client
            .send_mail(
                "a@example.jp",
                &["taro@city.example"],
                &japanese_mail_with_attachment(),
            )
            .await,
    );
    sink.wait_for(1, 10).await;
    let id = SpoolId::parse(&id).unwrap();
    for _ in 0..100 {
        if relay.db().is_purged(&id).await.unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(relay.db().is_purged(&id).await.unwrap());
    assert_eq!(std::fs::read_dir(dir.join("messages")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(dir.join("parts")).unwrap().count(), 0);
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn long_command_lines_and_too_many_recipients_are_refused() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("bounds");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let long = format!("EHLO {}", "a".repeat(600));
    assert!(client.command(&long).await.starts_with("500 5.5.2"));
    client.command("EHLO mx.city.example").await;
    client.command("MAIL FROM:<a@example.jp>").await;
    for n in 0..100 {
        let answer = client
            .command(&format!("RCPT TO:<user{n}@city.example>"))
            .await;
        assert!(answer.starts_with("250"), "{n}: {answer}");
    }
    assert!(
        client
            .command("RCPT TO:<one-more@city.example>")
            .await
            .starts_with("452 4.5.3")
    );
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_second_relay_on_the_same_spool_is_refused() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("lock");
    let first = relay(&dir, &sink).await;
    let second = Relay::start(config(&dir, sink.addr)).await;
    let error = format!("{:#}", second.err().expect("refused"));
    assert!(error.contains("another relay"), "{error}");
    first.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_recipient_refused_for_good_does_not_stop_delivery_to_the_others_and_the_postmaster_is_told()
 {
    let sink = Sink::start(Behaviour {
        reject: vec!["gone@city.example".into()],
        ..Behaviour::default()
    })
    .await;
    let dir = temp_dir("partial");
    let relay = relay(&dir, &sink).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let id = queued_id(
        &client
            .send_mail(
                "a@example.jp",
                &["taro@city.example", "gone@city.example"],
                b"Subject: two\r\n\r\nfor both\r\n",
            )
            .await,
    );
    let arrived = sink.wait_for(2, 10).await;
    let mail = arrived
        .iter()
        .find(|m| m.rcpt_to == ["taro@city.example"])
        .expect("the mail");
    assert!(mail.body_text().contains("for both"));
    let notice = arrived
        .iter()
        .find(|m| m.rcpt_to == ["postmaster@city.example"])
        .expect("the notice");
    assert!(
        notice
            .header("Subject")
            .unwrap()
            .contains(&format!("recipients refused {id}"))
    );
    let note = wait_for_state(&relay, &id, "delivered").await.unwrap();
    assert!(
        note.contains("gone@city.example") && note.contains("550"),
        "{note}"
    );
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn connections_beyond_the_limit_are_told_to_come_back_later() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("connections");
    let mut config = config(&dir, sink.addr);
    config.limits.max_connections = 1;
    let relay = Relay::start(config).await.unwrap();
    let (_first, greeting) = Client::connect(relay.local_addr()).await;
    assert!(greeting.starts_with("220"));
    let (mut second, greeting) = Client::connect(relay.local_addr()).await;
    assert!(greeting.starts_with("421 4.3.2"), "{greeting}");
    assert!(second.closed().await);
    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A test signer (relaxed/relaxed over From, To and Subject): the DKIM-Signature field to put on top of
/// `message`, signed by `sign` over the data RFC 6376 section 3.7 defines.
fn dkim_field(
    message: &[u8],
    algorithm: &str,
    selector: &str,
    sign: impl Fn(&[u8]) -> Vec<u8>,
) -> String {
    use base64::Engine as _;
    use mamori_relay::sender_auth::canonical::{self, Canon};
    use sha2::Digest as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let (fields, body) = canonical::split(message);
    let bh = engine.encode(sha2::Sha256::digest(canonical::body(Canon::Relaxed, body)));
    let unsigned = format!(
        "DKIM-Signature: v=1; a={algorithm}; c=relaxed/relaxed; d=example.jp;\r\n s={selector}; h=from:to:subject; bh={bh}; b="
    );
    let mut data = Vec::new();
    for name in ["from", "to", "subject"] {
        let field = fields.iter().rev().find(|f| f.is(name)).unwrap();
        data.extend(canonical::header(Canon::Relaxed, field.raw));
    }
    let own = canonical::header(Canon::Relaxed, unsigned.as_bytes());
    data.extend_from_slice(&own[..own.len() - 2]);
    format!("{unsigned}{}\r\n", engine.encode(sign(&data)))
}

/// The test RSA key (2048 bits, PKCS#8), made for these tests only.
fn rsa_test_key() -> ring::signature::RsaKeyPair {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dkim-test-rsa-2048.pem"),
    )
    .unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap()
}

/// A message from example.jp signed with Ed25519 (`ed`) and RSA (`rsa`), as the Internet-zone MTA passes it on
/// after receiving it from `client` (its `Received:` on top), and the DNS of example.jp: both keys, SPF that
/// allows 203.0.113.0/24, DMARC `p=reject`.
fn signed_mail(client: &str) -> (Vec<u8>, mamori_relay::sender_auth::MemoryResolver) {
    use base64::Engine as _;
    use ring::signature::KeyPair as _;
    use sha2::Digest as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ed = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let rsa = rsa_test_key();
    let message = "From: 佐藤 <sato@example.jp>\r\nTo: taro@city.example\r\nSubject: =?UTF-8?B?5Lya6K2w?=\r\n\
Message-ID: <signed@example.jp>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n明日の会議は10時からです。\r\n";
    let ed_field = dkim_field(message.as_bytes(), "ed25519-sha256", "ed", |data| {
        ed.sign(sha2::Sha256::digest(data).as_slice())
            .as_ref()
            .to_vec()
    });
    let rsa_field = dkim_field(message.as_bytes(), "rsa-sha256", "rsa", |data| {
        let mut signature = vec![0; rsa.public().modulus_len()];
        rsa.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &rng,
            data,
            &mut signature,
        )
        .unwrap();
        signature
    });
    let dns = mamori_relay::sender_auth::MemoryResolver::new()
        .with_txt("example.jp", "v=spf1 ip4:203.0.113.0/24 -all")
        .with_txt("_dmarc.example.jp", "v=DMARC1; p=reject")
        .with_txt(
            "ed._domainkey.example.jp",
            &format!(
                "v=DKIM1; k=ed25519; p={}",
                engine.encode(ed.public_key().as_ref())
            ),
        )
        .with_txt(
            "rsa._domainkey.example.jp",
            &format!("v=DKIM1; k=rsa; p={}", engine.encode(rsa.public().as_ref())),
        );
    let received = format!(
        "Received: from mail.example.jp (mail.example.jp [{client}])\r\n\tby mx.city.example (Postfix) with ESMTPS id 4XyZ;\r\n\tThu, 26 Nov 2026 10:00:00 +0900 (JST)\r\n"
    );
    (
        format!("{received}{rsa_field}{ed_field}{message}").into_bytes(),
        dns,
    )
}

async fn relay_with_dns(
    spool: &Path,
    sink: &Sink,
    dns: mamori_relay::sender_auth::MemoryResolver,
) -> Relay {
    let mut config = config(spool, sink.addr);
    config.resolver = Some(std::sync::Arc::new(dns));
    Relay::start(config).await.unwrap()
}

#[tokio::test]
async fn the_relay_checks_spf_dkim_and_dmarc_on_the_original_and_reports_a_pass_in_the_rebuilt_message()
 {
    let sink = Sink::start(Behaviour::default()).await;
    let spool = temp_dir("dkim-pass");
    let (mail, dns) = signed_mail("203.0.113.5");
    let relay = relay_with_dns(&spool, &sink, dns).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let answer = client
        .send_mail("sato@example.jp", &["taro@city.example"], &mail)
        .await;
    assert!(answer.starts_with("250"), "{answer}");

    let arrived = sink.wait_for(1, 10).await;
    let results = arrived[0].header("Authentication-Results").unwrap();
    assert_eq!(
        results,
        "relay.test; spf=pass (client 203.0.113.5) smtp.mailfrom=sato@example.jp; \
dkim=pass header.d=example.jp header.s=rsa; dkim=pass header.d=example.jp header.s=ed; \
dmarc=pass (p=reject) header.from=example.jp"
    );
    // The signature fields themselves are not carried over (the rebuilt message could not pass them).
    assert!(!arrived[0].text().contains("DKIM-Signature"));
    assert!(
        arrived[0]
            .body_text()
            .contains("明日の会議は10時からです。")
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_forgery_is_reported_as_spf_dkim_and_dmarc_fail_and_still_delivered() {
    let sink = Sink::start(Behaviour::default()).await;
    let spool = temp_dir("dkim-fail");
    // Sent from a host example.jp does not allow, with the body changed after signing.
    let (mail, dns) = signed_mail("198.51.100.7");
    let tampered = String::from_utf8(mail)
        .unwrap()
        .replace("10時", "9時")
        .into_bytes();
    let relay = relay_with_dns(&spool, &sink, dns).await;
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let answer = client
        .send_mail("sato@example.jp", &["taro@city.example"], &tampered)
        .await;
    assert!(answer.starts_with("250"), "{answer}");

    let arrived = sink.wait_for(1, 10).await;
    let results = arrived[0].header("Authentication-Results").unwrap();
    assert_eq!(
        results,
        "relay.test; spf=fail (client 198.51.100.7) smtp.mailfrom=sato@example.jp; \
dkim=fail (body hash mismatch) header.d=example.jp header.s=rsa; \
dkim=fail (body hash mismatch) header.d=example.jp header.s=ed; \
dmarc=fail (p=reject) header.from=example.jp"
    );
    assert!(arrived[0].body_text().contains("明日の会議は9時からです。"));
    let id = queued_id(&answer);
    wait_for_state(&relay, &id, "delivered").await;
    relay.shutdown().await;
}
