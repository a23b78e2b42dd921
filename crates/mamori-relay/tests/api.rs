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
use mamori_relay::key::QuarantineKey;
use mamori_relay::release::ReleasePolicy;
use mamori_relay::spool::SpoolId;
use mamori_relay::{Config, Relay};
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
        max_size: 200_000,
        hostname: "relay.test".into(),
        trusted_authserv_ids: vec!["mx.city.example".into()],
        notice_contact: "情報政策課 内線 1234".into(),
        api: Some(ApiConfig {
            listen: "127.0.0.1:0".into(),
            token: TOKEN.into(),
            policy: ReleasePolicy::default(),
            max_convert: DEFAULT_MAX_CONVERT,
            tls: None,
        }),
        limits: quick_limits(Duration::from_millis(100)),
        ..Config::loopback(
            next_hop,
            spool,
            QuarantineKey::from_bytes(&[9; 32]).unwrap(),
            "city.example",
        )
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
    // Asked for a recipient, one message is shown only to a recipient of it (any letter case).
    let as_recipient = get(api, &format!("/v1/held/{id}?recipient=Taro@City.Example")).await;
    assert_eq!(as_recipient.status, 200);
    assert_eq!(as_recipient.json()["parts"], held["parts"]);
    assert_eq!(
        get(api, &format!("/v1/held/{id}?recipient=jiro@city.example"))
            .await
            .status,
        404
    );
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

/// CRC-32 (IEEE) as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
    chunk
}

/// The chunk types of a PNG, in order.
fn png_chunks(png: &[u8]) -> Vec<String> {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let mut at = 8;
    let mut kinds = Vec::new();
    while at + 8 <= png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned());
        at += 12 + length;
    }
    kinds
}

/// A picture no encoder can make smaller than its pixels.
fn noise(width: u32, height: u32) -> image::RgbImage {
    let mut state = 0x9e37_79b9_u32;
    image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    })
}

/// A PNG of `picture` with a tEXt chunk (and a tIME) after its header.
fn png_with_text(picture: &image::RgbImage) -> Vec<u8> {
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(picture.clone())
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut plain))
        .unwrap();
    let header_end = 8 + 25;
    let mut png = plain[..header_end].to_vec();
    png.extend(png_chunk(b"tEXt", b"Comment\0PNG-TEXT-MARKER-5d1e"));
    png.extend(png_chunk(b"tIME", &[0x07, 0xea, 11, 26, 10, 0, 0]));
    png.extend_from_slice(&plain[header_end..]);
    png
}

/// A JPEG of `picture` with an EXIF segment: a description (a marker) and orientation 6 (turn 90°
/// clockwise to display).
fn jpeg_with_exif(picture: &image::RgbImage) -> Vec<u8> {
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(picture.clone())
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut plain, 90,
        ))
        .unwrap();
    let description = b"EXIF-MARKER-9b2f GPS 35.6895N 139.6917E\0";
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
    tiff.extend_from_slice(&[0x01, 0x0e, 0, 2]);
    tiff.extend_from_slice(&(description.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&38u32.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(description);
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend(tiff);
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xff, 0xe1]);
    jpeg.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    jpeg.extend(segment);
    jpeg.extend_from_slice(&plain[2..]);
    jpeg
}

/// An animated GIF: a red frame, then a blue one.
fn animated_gif() -> Vec<u8> {
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .unwrap();
        for colour in [[255, 0, 0, 255], [0, 0, 255, 255]] {
            let frame = image::RgbaImage::from_pixel(16, 16, image::Rgba(colour));
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    gif
}

/// A decompression bomb: a PNG of a few dozen bytes whose header claims 100000×100000 pixels.
fn png_bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = 100_000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&100_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// The most memory this process has used so far, in kB (Linux).
fn peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether any 32-byte window of `original` appears in `delivered`, raw or in its base64-decoded body.
fn carries_bytes_of(delivered: &[u8], original: &[u8]) -> bool {
    let text = String::from_utf8_lossy(delivered);
    let decoded: Vec<u8> = text
        .split("\r\n\r\n")
        .filter_map(|block| {
            let compact: String = block.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()
        })
        .flatten()
        .collect();
    original
        .chunks(32)
        .filter(|w| w.len() == 32)
        .any(|w| contains(delivered, w) || contains(&decoded, w))
}

#[tokio::test]
async fn images_are_released_as_a_new_png_of_their_pixels_and_bombs_and_broken_files_are_refused() {
    let sink = Sink::start(Behaviour::default()).await;
    let dir = temp_dir("api-images");
    let relay = Relay::start(config(&dir, sink.addr)).await.unwrap();
    let api = relay.api_addr().expect("the API listens");

    let photo = noise(64, 48);
    let png = png_with_text(&photo);
    let jpeg = jpeg_with_exif(&photo);
    let gif = animated_gif();
    let bomb = png_bomb();
    let truncated = png[..png.len() / 2].to_vec();
    let attachments: [(&str, &str, &[u8]); 5] = [
        ("図面.png", "image/png", &png),
        ("photo.JPG", "image/jpeg", &jpeg),
        ("anim.gif", "image/gif", &gif),
        ("bomb.png", "image/png", &bomb),
        ("cut.png", "image/png", &truncated),
    ];
    let id = send(&relay, &mail("写真の送付", &attachments)).await;

    // The normal path carries no attachment: one text/plain part, no byte of any image.
    let arrived = sink.wait_for(1, 10).await;
    let sanitised =
        mamori_sanitize::parse(&arrived[0].data, &mamori_sanitize::Limits::default()).unwrap();
    let leaves = sanitised.root.leaves();
    assert_eq!(leaves.len(), 1);
    assert_eq!(leaves[0].content_type.value, "text/plain");
    for (name, _, bytes) in &attachments {
        assert!(!carries_bytes_of(&arrived[0].data, bytes), "{name}");
    }

    let held = get(api, &format!("/v1/held/{id}")).await.json();
    let parts = held["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 5, "{held}");
    for part in &parts[..3] {
        assert_eq!(part["class"], "image", "{part}");
        assert_eq!(part["release"], "on_approval", "{part}");
    }

    // The bomb and the truncated PNG: 422, nothing sent, and the bomb was not decoded.
    let before = peak_kb();
    let started = std::time::Instant::now();
    let refused = release(api, &id, 4, "taro@city.example").await;
    assert_eq!(
        refused.status,
        422,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert_eq!(refused.json()["error"], "image_too_large");
    assert!(started.elapsed() < Duration::from_secs(2));
    if let (Some(before), Some(after)) = (before, peak_kb()) {
        assert!(after < before + 64 * 1024, "peak {before} kB → {after} kB");
    }
    let broken = release(api, &id, 5, "taro@city.example").await;
    assert_eq!(broken.status, 422);
    assert_eq!(broken.json()["error"], "image_invalid");
    assert!(
        broken.json()["message"]
            .as_str()
            .unwrap()
            .contains("quarantine")
    );

    // The three images: each a new message with a text part and a PNG of the pixels only.
    for index in 1..=3 {
        let answer = release(api, &id, index, "taro@city.example").await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    let arrived = sink.wait_for(4, 10).await;
    assert_eq!(arrived.len(), 4, "no message for a refused image");
    let released = |index: usize| {
        arrived
            .iter()
            .find(|m| m.header("X-Mamori-Released-From") == Some(format!("{id} part {index}")))
            .unwrap_or_else(|| panic!("part {index} released"))
    };
    let png_of = |index: usize, name: &str| {
        let mail = released(index);
        let parsed =
            mamori_sanitize::parse(&mail.data, &mamori_sanitize::Limits::default()).unwrap();
        assert!(!parsed.is_ambiguous());
        assert_eq!(parsed.root.content_type.value, "multipart/mixed");
        let leaves = parsed.root.leaves();
        assert_eq!(leaves.len(), 2);
        assert_eq!(leaves[0].content_type.value, "text/plain");
        let notice = String::from_utf8(leaves[0].decoded().to_vec()).unwrap();
        assert!(notice.contains("A converted image of the part"), "{notice}");
        assert!(notice.contains(&id), "{notice}");
        assert!(notice.contains("を無害化した画像です"), "{notice}");
        assert_eq!(leaves[1].content_type.value, "image/png");
        assert!(leaves[1].is_attachment());
        assert_eq!(leaves[1].file_name(), Some(name));
        let bytes = leaves[1].decoded().to_vec();
        let chunks = png_chunks(&bytes);
        assert!(
            chunks
                .iter()
                .all(|c| ["IHDR", "IDAT", "IEND"].contains(&c.as_str())),
            "{chunks:?}"
        );
        bytes
    };

    let from_png = png_of(1, "図面.png");
    assert!(!contains(&from_png, b"PNG-TEXT-MARKER"));
    assert_eq!(image::load_from_memory(&from_png).unwrap().to_rgb8(), photo);
    assert!(
        !carries_bytes_of(&released(1).data, &png[33..]),
        "not the original bytes"
    );
    assert!(contains(
        &released(1).data,
        b"filename*=UTF-8''%E5%9B%B3%E9%9D%A2.png"
    ));

    let from_jpeg = png_of(2, "photo.png");
    assert!(!contains(&from_jpeg, b"EXIF-MARKER"));
    assert!(!contains(&from_jpeg, b"Exif"));
    let decoded_jpeg = image::load_from_memory(&jpeg).unwrap().rotate90().to_rgb8();
    let converted = image::load_from_memory(&from_jpeg).unwrap().to_rgb8();
    assert_eq!(converted.dimensions(), (48, 64), "orientation applied");
    assert_eq!(converted, decoded_jpeg);

    let from_gif = image::load_from_memory(&png_of(3, "anim.png"))
        .unwrap()
        .to_rgba8();
    assert_eq!(from_gif.dimensions(), (16, 16));
    assert!(
        from_gif.pixels().all(|p| p.0 == [255, 0, 0, 255]),
        "the first frame"
    );

    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_status_shows_the_queue_dead_letters_held_mail_and_throughput() {
    let sink = Sink::start(Behaviour {
        temporary_failures: 10_000,
        reject: vec!["nobody@city.example".into()],
    })
    .await;
    let dir = temp_dir("api-status");
    let mut config = config(&dir, sink.addr);
    config.limits.retry.max_attempts = 10_000;
    let relay = Relay::start(config).await.unwrap();
    let api = relay.api_addr().expect("the API listens");

    let empty = get(api, "/v1/status").await;
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.json(),
        serde_json::json!({
            "queued": 0, "dead": 0, "held": 0, "delivered_last_hour": 0, "delivered_last_day": 0,
            "received_last_hour": 0, "oldest_queued_at": null, "dead_letters": [],
        })
    );
    assert_eq!(http(api, "GET", "/v1/status", None, None).await.status, 401);

    // One mail refused for good (a dead letter), one with an attachment the next hop keeps deferring.
    let (mut client, _) = Client::connect(relay.local_addr()).await;
    let answer = client
        .send_mail(
            "sender@example.jp",
            &["nobody@city.example"],
            b"From: sender@example.jp\r\nTo: nobody@city.example\r\nSubject: x\r\n\r\nhello\r\n",
        )
        .await;
    client.command("QUIT").await;
    let dead_id = queued_id(&answer);
    let held_id = send(&relay, &mail("資料", &[("a.csv", "text/csv", b"a,b\r\n")])).await;

    let mut status = Value::Null;
    for _ in 0..200 {
        status = get(api, "/v1/status").await.json();
        if status["dead"] == 1 && status["held"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let keys: Vec<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "dead",
            "dead_letters",
            "delivered_last_day",
            "delivered_last_hour",
            "held",
            "oldest_queued_at",
            "queued",
            "received_last_hour"
        ]
    );
    assert_eq!(status["dead"], 1, "{status}");
    assert_eq!(status["held"], 1, "{status}");
    // The deferred mail, and the postmaster's notice about the dead letter (deferred too).
    assert_eq!(status["queued"], 2, "{status}");
    assert_eq!(status["received_last_hour"], 2, "{status}");
    assert_eq!(status["delivered_last_hour"], 0, "{status}");
    assert_eq!(status["delivered_last_day"], 0, "{status}");
    let oldest = status["oldest_queued_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(oldest).is_ok() && oldest.ends_with('Z'),
        "{oldest}"
    );
    let dead = status["dead_letters"].as_array().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["id"], dead_id.as_str());
    assert_eq!(dead[0]["mail_from"], "sender@example.jp");
    assert_eq!(
        dead[0]["rcpt_to"],
        serde_json::json!(["nobody@city.example"])
    );
    assert!(
        dead[0]["reason"].as_str().unwrap().contains("550 5.1.1"),
        "{status}"
    );
    for key in ["received_at", "finished_at"] {
        let at = dead[0][key].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }
    assert_ne!(held_id, dead_id);

    // The database says the same (what `mamori relay status` prints).
    let db = relay.db();
    let from_db = db.status(chrono::Utc::now()).await.unwrap();
    assert_eq!(from_db.dead_letters[0].id.as_str(), dead_id);
    assert_eq!(from_db.queued, 2);

    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A relay whose API gives a client `read_timeout` to send a request, and serves `max_connections` at once.
async fn relay_with_api_limits(
    name: &str,
    read_timeout: Duration,
    max_connections: usize,
) -> (Relay, SocketAddr, std::path::PathBuf) {
    let dir = temp_dir(name);
    let mut config = config(&dir, "127.0.0.1:9".parse().unwrap());
    config.limits.api.read_timeout = read_timeout;
    config.limits.api.max_connections = max_connections;
    let relay = Relay::start(config).await.unwrap();
    let api = relay.api_addr().expect("the API listens");
    (relay, api, dir)
}

/// Sends `at_once`, then `slowly` one byte at a time `pause` apart, until the server closes the connection;
/// returns what it answered and when it closed (from the connection).
async fn trickle(
    api: SocketAddr,
    at_once: &[u8],
    slowly: &[u8],
    pause: Duration,
) -> (String, Duration) {
    let stream = TcpStream::connect(api).await.unwrap();
    let started = std::time::Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(at_once).await.unwrap();
    let read = tokio::spawn(async move {
        let mut answer = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(15), reader.read_to_end(&mut answer)).await;
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    });
    for byte in slowly {
        if read.is_finished() || writer.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    read.await.unwrap()
}

#[tokio::test]
async fn a_client_sending_its_request_slowly_is_cut_off_at_the_read_timeout() {
    let (relay, api, dir) = relay_with_api_limits("api-slow", Duration::from_secs(1), 32).await;

    // Slowloris: the head, a byte every 100 ms (it would take 9 s).
    let head =
        format!("GET /v1/status HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    let (answer, closed_after) =
        trickle(api, b"", head.as_bytes(), Duration::from_millis(100)).await;
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");
    assert!(
        closed_after >= Duration::from_millis(900),
        "{closed_after:?}"
    );
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The head at once, the body a byte every 100 ms.
    let body =
        serde_json::json!({"recipient": "taro@city.example", "approved_by": "x", "reason": "y"})
            .to_string();
    let request = format!(
        "POST /v1/held/20261126T000000-0000000000000000/parts/1/release HTTP/1.1\r\nHost: relay\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (answer, closed_after) = trickle(
        api,
        request.as_bytes(),
        body.as_bytes(),
        Duration::from_millis(100),
    )
    .await;
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A client that sends in time is answered, and the connection closes after the answer.
    let status = get(api, "/v1/status").await;
    assert_eq!(status.status, 200);
    assert!(
        status
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        status.head
    );

    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn idle_connections_over_the_limit_delay_a_fresh_request_only_until_the_read_timeout() {
    let (relay, api, dir) = relay_with_api_limits("api-idle", Duration::from_secs(1), 4).await;

    // Four connections take every slot and send nothing.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(api).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The fifth waits in the backlog until the idle ones are cut off, then is served.
    let started = std::time::Instant::now();
    let answer = get(api, "/v1/status").await;
    assert_eq!(answer.status, 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "{waited:?}: it should have waited for a slot"
    );
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    for mut stream in idle {
        let mut rest = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "the idle connection was closed"
        );
    }

    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A TLS client that trusts the test certificate (issued to `relay.test`).
fn tls_connector() -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(fixture("relay-test.crt")).unwrap()
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

#[tokio::test]
async fn with_a_certificate_the_api_speaks_only_https_and_a_stalled_handshake_is_cut_off() {
    let dir = temp_dir("api-tls");
    let mut config = config(&dir, "127.0.0.1:9".parse().unwrap());
    config.limits.api.read_timeout = Duration::from_secs(1);
    if let Some(api) = config.api.as_mut() {
        api.tls = Some(
            mamori_relay::tls::acceptor(&fixture("relay-test.crt"), &fixture("relay-test.key"))
                .unwrap(),
        );
    }
    let relay = Relay::start(config).await.unwrap();
    let api = relay.api_addr().unwrap();

    // Over TLS, with the token: the status.
    let stream = TcpStream::connect(api).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("relay.test").unwrap();
    let mut tls = tls_connector().connect(name, stream).await.unwrap();
    tls.write_all(
        format!(
            "GET /v1/status HTTP/1.1\r\nHost: relay.test\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
        .await
        .unwrap()
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"queued\":0"), "{answer}");

    // Plain HTTP to the same port gets no answer: the token never crosses in clear.
    let mut plain = TcpStream::connect(api).await.unwrap();
    plain
        .write_all(b"GET /v1/status HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut raw)).await;
    assert!(
        !String::from_utf8_lossy(&raw).contains("HTTP/1.1"),
        "{raw:?}"
    );

    // A client that connects and never finishes the handshake loses the connection at the read timeout.
    let mut stalled = TcpStream::connect(api).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), stalled.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    relay.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
