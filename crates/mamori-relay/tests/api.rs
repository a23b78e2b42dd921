//! The relay's API end to end: real HTTP over TCP (a tiny client below), a real SMTP client on one side and
//! the recording sink (the LGWAN mail server's stand-in) on the other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use mamori_relay::api::{ApiConfig, DEFAULT_MAX_CONVERT, load_token};
use mamori_relay::deliver::Retry;
use mamori_relay::key::QuarantineKey;
use mamori_relay::release::ReleasePolicy;
use mamori_relay::spool::SpoolId;
use mamori_relay::{Config, Relay, RelayLimits};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const TOKEN: &str = "test-token-0123456789abcdef0123456789abcdef";

/// The CSV's text: Japanese, with CP932 characters (①, ㈱, 髙), a link, an empty line and a trailing blank.
const CSV_TEXT: &str =
    "品名,数量,備考\r\n会議資料①,3,髙橋㈱ 様 \r\n\r\n参照,1,https://example.jp/spec\r\n";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nPDF-MARKER-a1b2c3\n%%EOF\n";

fn config(spool: &Path, next_hop: SocketAddr) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        next_hop: next_hop.to_string(),
        spool: spool.to_owned(),
        database: None,
        key: QuarantineKey::from_bytes(&[9; 32]).unwrap(),
        max_size: 200_000,
        domains: vec!["city.example".into()],
        clients: vec!["127.0.0.0/8".parse().unwrap()],
        postmaster: Some("postmaster@city.example".into()),
        retention: Duration::from_secs(14 * 86_400),
        hostname: "relay.test".into(),
        trusted_authserv_ids: vec!["mx.city.example".into()],
        notice_contact: "情報政策課 内線 1234".into(),
        tls: None,
        require_tls: false,
        api: Some(ApiConfig {
            listen: "127.0.0.1:0".into(),
            token: TOKEN.into(),
            policy: ReleasePolicy::default(),
            max_convert: DEFAULT_MAX_CONVERT,
        }),
        limits: RelayLimits {
            read_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(5),
            retry: Retry {
                base: Duration::from_millis(200),
                max_delay: Duration::from_secs(1),
                max_attempts: 5,
            },
            poll: Duration::from_millis(100),
            ..RelayLimits::default()
        },
    }
}

/// An HTTP answer: status and body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request on its own connection.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n");
    if let Some(auth) = auth {
        request.push_str(&format!("Authorization: {auth}\r\n"));
    }
    if body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!(
        "Content-Length: {}\r\n\r\n{payload}",
        payload.len()
    ));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    let status = head[9..12].parse().unwrap();
    Answer { status, head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    http(addr, "GET", path, Some(&bearer()), None).await
}

async fn release(addr: SocketAddr, id: &str, index: usize, recipient: &str) -> Answer {
    let body = serde_json::json!({
        "recipient": recipient,
        "approved_by": "職員番号 12345 山田",
        "reason": "取引先からの見積書のため",
    });
    http(
        addr,
        "POST",
        &format!("/v1/held/{id}/parts/{index}/release"),
        Some(&bearer()),
        Some(&body),
    )
    .await
}

fn b64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
        .collect()
}

fn encoded_word(text: &str) -> String {
    let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(text);
    format!(
        "=?ISO-2022-JP?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    )
}

/// A Japanese business mail with attachments `(file name, content type, bytes)`.
fn mail(subject: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let (body, _, _) =
        encoding_rs::ISO_2022_JP.encode("資料を添付します。よろしくお願いします。\r\n");
    let mut m = Vec::new();
    m.extend_from_slice(
        format!("From: {} <sender@example.jp>\r\n", encoded_word("山田")).as_bytes(),
    );
    m.extend_from_slice(b"To: taro@city.example, hanako@city.example\r\n");
    m.extend_from_slice(format!("Subject: {}\r\n", encoded_word(subject)).as_bytes());
    m.extend_from_slice(b"Date: Thu, 26 Nov 2026 10:00:00 +0900\r\nMessage-ID: <api1@example.jp>\r\nMIME-Version: 1.0\r\n");
    m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
    m.extend_from_slice(b"--b1\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
    m.extend_from_slice(&body);
    for (name, content_type, bytes) in attachments {
        m.extend_from_slice(
            format!(
                "--b1\r\nContent-Type: {content_type}; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            )
            .as_bytes(),
        );
        m.extend_from_slice(b64(bytes).as_bytes());
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

async fn send(relay: &Relay, message: &[u8]) -> String {
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let answer = client
        .send_mail(
            "sender@example.jp",
            &["taro@city.example", "Hanako@City.Example"],
            message,
        )
        .await;
    assert!(answer.starts_with("250 2.0.0"), "{answer}");
    client.command("QUIT").await;
    queued_id(&answer)
}

/// The decoded text body of a message the relay wrote (base64 UTF-8).
fn body_of(mail: &Arrived) -> String {
    mail.body_text()
}

#[tokio::test]
async fn the_api_lists_metadata_and_releases_a_csv_as_text_and_nothing_else() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("api");
    let relay = Relay::start(config(&dir, sink.addr)).await.unwrap();
    let api = relay.api_addr().expect("the API listens");

    // Without the token, or with another one, nothing is said.
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789abcdef0123456789abcdef".to_owned()),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
    ] {
        let answer = http(
            api,
            "GET",
            "/v1/held?recipient=taro@city.example",
            auth.as_deref(),
            None,
        )
        .await;
        assert_eq!(answer.status, 401, "{:?}", answer.head);
        assert!(answer.body.is_empty());
    }
    let answer = http(
        api,
        "POST",
        "/v1/held/x/parts/1/release",
        None,
        Some(&serde_json::json!({})),
    )
    .await;
    assert_eq!(answer.status, 401);

    // A Japanese mail with a Shift_JIS CSV and a PDF goes through; later one with an executable named .csv.
    let (csv, _, _) = encoding_rs::SHIFT_JIS.encode(CSV_TEXT);
    let csv = csv.into_owned();
    let id = send(
        &relay,
        &mail(
            "見積書の送付",
            &[
                ("見積.csv", "text/csv", &csv),
                ("仕様書.pdf", "application/pdf", PDF),
            ],
        ),
    )
    .await;
    sink.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let exe: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode.";
    let exe_id = send(&relay, &mail("請求書", &[("請求.csv", "text/csv", exe)])).await;
    sink.wait_for(2, 10).await;

    // Listed for its recipients (any case), newest first, not for anyone else.
    let list = get(api, "/v1/held?recipient=TARO@city.example").await;
    assert_eq!(list.status, 200);
    let listed = list.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["id"], exe_id.as_str());
    assert_eq!(listed[1]["id"], id.as_str());
    let held = &listed[1];
    assert_eq!(held["mail_from"], "sender@example.jp");
    assert_eq!(held["from"], "山田 <sender@example.jp>");
    assert_eq!(held["subject"], "見積書の送付");
    assert_eq!(held["state"], "delivered");
    let parts = held["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["index"], 1);
    assert_eq!(parts[0]["file_name"], "見積.csv");
    assert_eq!(parts[0]["declared_type"], "text/csv");
    assert_eq!(parts[0]["sniffed_type"], "text");
    assert_eq!(parts[0]["size"], csv.len());
    assert_eq!(parts[0]["sha256"], hex_sha256(&csv));
    assert_eq!(parts[0]["class"], "text");
    assert_eq!(parts[0]["release"], "on_approval");
    assert!(parts[0]["released_at"].is_null());
    assert_eq!(parts[1]["file_name"], "仕様書.pdf");
    assert_eq!(parts[1]["sniffed_type"], "pdf");
    assert_eq!(parts[1]["class"], "pdf");
    assert_eq!(parts[1]["release"], "not_convertible");
    let exe_part = &listed[0]["parts"][0];
    assert_eq!(exe_part["sniffed_type"], "exe");
    assert_eq!(exe_part["class"], "executable");
    assert_eq!(exe_part["release"], "never");
    // Metadata only: no content byte in any answer.
    for needle in [
        &b"PDF-MARKER-a1b2c3"[..],
        b"This program",
        "品名".as_bytes(),
        &csv[..12],
    ] {
        assert!(!contains(&list.body, needle));
    }
    let other = get(api, "/v1/held?recipient=jiro@city.example").await;
    assert_eq!(other.status, 200);
    assert_eq!(other.json(), serde_json::json!([]));
    let one = get(api, &format!("/v1/held/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["parts"], held["parts"]);
    assert_eq!(
        get(api, "/v1/held/20261126T000000-0000000000000000")
            .await
            .status,
        404
    );
    assert_eq!(get(api, "/v1/held/..%2F..%2Fetc").await.status, 404);

    // Releasing the CSV: a second message for the recipient, text only.
    let first = release(api, &id, 1, "hanako@city.example").await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let queued_as = first.json()["queued_as"].as_str().unwrap().to_owned();
    let arrived = sink.wait_for(3, 10).await;
    let released = &arrived[2];
    assert_eq!(released.rcpt_to, ["Hanako@City.Example"]);
    assert_eq!(
        released.header("From").unwrap(),
        "Mamori relay <mamori-relay@relay.test>"
    );
    assert_eq!(
        released.header("Content-Type").unwrap(),
        "text/plain; charset=UTF-8"
    );
    let parsed =
        mamori_sanitize::parse(&released.data, &mamori_sanitize::Limits::default()).unwrap();
    assert!(!parsed.is_ambiguous());
    let leaves = parsed.root.leaves();
    assert_eq!(leaves.len(), 1);
    assert_eq!(leaves[0].content_type.value, "text/plain");
    assert_eq!(
        parsed.header("Subject").unwrap(),
        "【無害化済み】見積書の送付 — 見積.csv"
    );
    let body = body_of(released);
    let expected = CSV_TEXT
        .replace("https://example.jp/spec", "hxxps://example[.]jp/spec")
        .replace("\r\n", "\n");
    let body_lf = body.replace("\r\n", "\n");
    assert!(body_lf.ends_with(&expected), "{body}");
    assert!(body.contains(&hex_sha256(&csv)), "{body}");
    assert!(body.contains("職員番号 12345 山田"), "{body}");
    assert!(body.contains("山田 <sender@example.jp>"), "{body}");
    assert!(body.contains("見積.csv"), "{body}");
    assert!(!contains(&released.data, b"https://"));

    // Again: the same release, no third message.
    let again = release(api, &id, 1, "HANAKO@city.example").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["queued_as"], queued_as.as_str());

    // The PDF has no converter; the executable named .csv is never released; a stranger gets nothing.
    let pdf = release(api, &id, 2, "hanako@city.example").await;
    assert_eq!(pdf.status, 409);
    assert_eq!(pdf.json()["error"], "not_convertible");
    let never = release(api, &exe_id, 1, "taro@city.example").await;
    assert_eq!(never.status, 403);
    assert_eq!(never.json()["error"], "never");
    let stranger = release(api, &id, 1, "jiro@city.example").await;
    assert_eq!(stranger.status, 422);
    assert_eq!(release(api, &id, 9, "taro@city.example").await.status, 404);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.arrived().len(), 3, "no further message");

    // The release is in the database: the releases table and the relay's log.
    let db = relay.db();
    let original = SpoolId::parse(&id).unwrap();
    let recorded = db
        .release(&original, 1, "Hanako@City.Example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.queued_as.as_str(), queued_as);
    assert_eq!(recorded.approved_by, "職員番号 12345 山田");
    assert_eq!(recorded.reason, "取引先からの見積書のため");
    let log = db.log_of(&original).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].0, "release");
    assert!(log[0].1.contains(&queued_as));
    let listed = get(api, "/v1/held?recipient=hanako@city.example")
        .await
        .json();
    assert!(listed[1]["parts"][0]["released_at"].is_string());
    assert!(listed[1]["parts"][1]["released_at"].is_null());
    let for_taro = get(api, &format!("/v1/held/{id}?recipient=taro@city.example"))
        .await
        .json();
    assert!(for_taro["parts"][0]["released_at"].is_null());

    relay.shutdown().await;
    // The API stops with the relay.
    assert!(TcpStream::connect(api).await.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(unix)]
#[test]
fn a_token_file_others_can_read_or_a_short_token_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("token");
    let path = dir.join("api.token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(load_token(&path).is_err());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(load_token(&path).unwrap(), TOKEN);
    std::fs::write(&path, "short-token\n").unwrap();
    assert!(load_token(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
