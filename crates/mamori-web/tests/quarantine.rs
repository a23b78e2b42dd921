//! 2(16) 無害化通信 through the pages, on SQLite and PostgreSQL, against a real `mamori relay`: mail with
//! attachments goes over SMTP into the relay, which delivers the sanitised text to a recording SMTP sink (the
//! LGWAN mail server's stand-in). The recipient sees only metadata, asks for parts; an HTML part comes out on
//! request, a CSV only once the 統括 approved it, an executable and a PDF never; a 課長 of another unit cannot
//! decide, nobody decides their own request, a relay that cannot be reached leaves a failed request that is
//! sent again, and every step is in the audit chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::{Backend, TestServer};
use mamori_app::mamori_store::audit::AuditKey;
use mamori_app::mamori_store::entity::{account, release_request, staff};
use mamori_app::mamori_store::sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use mamori_app::quarantine::relay::{RelayClient, RelayError};
use mamori_app::quarantine::{self, Decision, RequestState};
use mamori_app::{App, Config};
use mamori_relay::api::{ApiConfig, DEFAULT_MAX_CONVERT};
use mamori_relay::deliver::Retry;
use mamori_relay::key::QuarantineKey;
use mamori_relay::release::{ReleasePolicy, Rule};
use mamori_relay::{Relay, RelayLimits};
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "quarantine-test-token-0123456789abcdef";
const CSV: &str = "品名,数量\r\n会議資料,3\r\nCSV-CONTENT-MARKER-7f3a,1\r\n";
const HTML: &str =
    "<html><body><p>HTML-CONTENT-MARKER-91c2 お知らせ</p><script>alert(1)</script></body></html>";
const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00EXE-CONTENT-MARKER-5d0e";
const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nPDF-CONTENT-MARKER-c4b8\n%%EOF\n";

/// The LGWAN mail server's stand-in: accepts everything and keeps each message's data.
#[derive(Clone, Default)]
struct Sink {
    arrived: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    async fn start() -> (Sink, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = Sink::default();
        let keep = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(keep.clone().session(stream));
            }
        });
        (sink, addr)
    }

    async fn session(self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                "DATA" => {
                    write.write_all(b"354 go on\r\n").await.unwrap();
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        lines.read_line(&mut l).await.unwrap();
                        if l == ".\r\n" {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    }
                    self.arrived.lock().unwrap().push(data);
                    b"250 kept\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let arrived = self.arrived.lock().unwrap().clone();
            if arrived.len() >= count {
                return arrived;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{count} messages did not arrive at the sink");
    }
}

async fn start_relay(
    spool: &std::path::Path,
    next_hop: SocketAddr,
    tls: Option<mamori_relay::tls::Acceptor>,
) -> Relay {
    let policy = ReleasePolicy {
        html: Rule::OnRequest,
        ..ReleasePolicy::default()
    };
    Relay::start(mamori_relay::Config {
        max_size: 1_000_000,
        hostname: "relay.test".into(),
        notice_contact: "情報政策課 内線 1234".into(),
        api: Some(ApiConfig {
            listen: "127.0.0.1:0".into(),
            token: TOKEN.into(),
            policy,
            max_convert: DEFAULT_MAX_CONVERT,
            tls,
        }),
        limits: RelayLimits {
            read_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(5),
            retry: Retry {
                base: Duration::from_millis(200),
                max_delay: Duration::from_secs(1),
                max_attempts: 3,
            },
            poll: Duration::from_millis(100),
            ..RelayLimits::default()
        },
        ..mamori_relay::Config::loopback(
            next_hop,
            spool,
            QuarantineKey::from_bytes(&[7; 32]).unwrap(),
            "city.sample.lg.jp",
        )
    })
    .await
    .unwrap()
}

/// The text of a single-part message as the sink received it (base64 decoded when so encoded).
fn text_of(raw: &str) -> String {
    use base64::Engine as _;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    if !head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        return body.to_owned();
    }
    let compact: String = body.split_whitespace().collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .unwrap(),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A mail from the Internet with four attachments, as an Internet mailer writes it.
fn mail_to(to: &str) -> String {
    let part = |ctype: &str, name: &str, bytes: &[u8]| {
        format!(
            "--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(bytes)
        )
    };
    format!(
        "From: 取引先 <partner@example.jp>\r\nTo: {to}\r\nSubject: =?UTF-8?B?{}?=\r\nDate: Thu, 26 Nov 2026 10:00:00 +0900\r\nMessage-ID: <q1@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n資料を送ります。\r\n{}{}{}{}--b1--\r\n",
        b64("見積資料の送付".as_bytes()),
        part("text/csv", "mitsumori.csv", CSV.as_bytes()),
        part("text/html", "oshirase.html", HTML.as_bytes()),
        part("application/octet-stream", "tool.exe", EXE),
        part("application/pdf", "spec.pdf", PDF),
    )
}

/// Sends one message over SMTP, as the Internet-zone MTA does.
async fn send(relay: SocketAddr, to: &str, message: &str) {
    let outcome = mamori_relay::smtp::client::send(
        &relay.to_string(),
        "mx.city.example",
        &mamori_relay::smtp::client::Outgoing {
            mail_from: "partner@example.jp",
            rcpt_to: &[to.to_owned()],
            data: message.as_bytes(),
        },
        Duration::from_secs(10),
    )
    .await;
    assert!(
        matches!(
            outcome,
            mamori_relay::smtp::client::Outcome::Delivered { .. }
        ),
        "{outcome:?}"
    );
}

async fn email_of(s: &TestServer, login: &str) -> String {
    let db = s.app.store().conn();
    let acct = account::Entity::find()
        .filter(account::Column::Login.eq(login))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    staff::Entity::find_by_id(acct.staff_id.unwrap())
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .email
}

async fn page(s: &TestServer, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c.get(s.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post(
    s: &TestServer,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = c.post(s.url(path)).form(form).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    (status, if location.is_empty() { body } else { location })
}

async fn requests(s: &TestServer) -> Vec<release_request::Model> {
    release_request::Entity::find()
        .all(s.app.store().conn())
        .await
        .unwrap()
}

/// The index of the part with this file name, as the relay lists it.
fn part_index(held: &serde_json::Value, name: &str) -> usize {
    held["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["file_name"] == name)
        .unwrap_or_else(|| panic!("no part {name}"))["index"]
        .as_u64()
        .unwrap() as usize
}

async fn journey(backend: Backend) {
    let (sink, sink_addr) = Sink::start().await;
    let spool = std::env::temp_dir().join("mamori-tests").join(format!(
        "relay-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&spool).unwrap();
    let relay = start_relay(&spool, sink_addr, None).await;
    let api = format!("http://{}", relay.api_addr().unwrap());
    let s = TestServer::start_with(
        backend,
        Config {
            relay: Some(RelayClient::new(&api, TOKEN).unwrap()),
            ..Config::default()
        },
    )
    .await;
    let shokuin_mail = email_of(&s, "shokuin").await;
    send(relay.local_addr(), &shokuin_mail, &mail_to(&shokuin_mail)).await;
    let arrived = sink.wait_for(1).await;
    assert!(arrived[0].contains("X-Mamori-Sanitized:"));
    assert!(text_of(&arrived[0]).contains("資料を送ります"));
    assert!(!arrived[0].contains("CSV-CONTENT-MARKER"));
    assert!(!text_of(&arrived[0]).contains("CSV-CONTENT-MARKER"));

    // The recipient sees what was held: metadata only, never a byte of a part.
    let shokuin = s.signed_in("shokuin").await;
    let (status, inbox) = page(&s, &shokuin, "/quarantine").await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert!(inbox.contains("見積資料の送付"), "{inbox}");
    for name in ["mitsumori.csv", "oshirase.html", "tool.exe", "spec.pdf"] {
        assert!(inbox.contains(name), "{name} listed");
    }
    assert!(inbox.contains(&hex_sha256(CSV.as_bytes())));
    for marker in ["CSV-CONTENT", "HTML-CONTENT", "EXE-CONTENT", "PDF-CONTENT"] {
        assert!(!inbox.contains(marker), "{marker} shown");
    }
    let client = RelayClient::new(&api, TOKEN).unwrap();
    let held = client.held_for(&shokuin_mail).await.unwrap();
    let held_json = serde_json::to_value(&held[0]).unwrap();
    let id = held[0].id.clone();
    let csv = part_index(&held_json, "mitsumori.csv");
    let html = part_index(&held_json, "oshirase.html");
    let exe = part_index(&held_json, "tool.exe");
    let pdf = part_index(&held_json, "spec.pdf");
    let ask = |index: usize| format!("/quarantine/{id}/parts/{index}/request");

    // Executables never, PDF not convertible, a reason required: refused, nothing stored.
    let (status, body) = post(&s, &shokuin, &ask(exe), &[("reason", "業務で使う")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("この種類のファイルは取り出せません"),
        "{body}"
    );
    let (status, body) = post(&s, &shokuin, &ask(pdf), &[("reason", "仕様の確認")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("変換できないため"), "{body}");
    let (status, _) = post(&s, &shokuin, &ask(csv), &[("reason", "  ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(requests(&s).await.is_empty());

    // Someone else cannot ask for another person's mail (the relay answers only for its recipient).
    let kacho = s.signed_in("kacho").await;
    let (status, _) = post(&s, &kacho, &ask(csv), &[("reason", "見たい")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &s,
        &shokuin,
        "/quarantine/..%2Fv1%2Fstatus/parts/0/request",
        &[("reason", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // HTML on request: released at once, converted to text.
    let (status, to) = post(&s, &shokuin, &ask(html), &[("reason", "お知らせの確認")]).await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/quarantine?done=requested")
    );
    let arrived = sink.wait_for(2).await;
    let released = text_of(&arrived[1]);
    assert!(released.contains("HTML-CONTENT-MARKER-91c2"), "{released}");
    assert!(
        !released.contains("<script") && !released.contains("alert(1)"),
        "{released}"
    );
    let rows = requests(&s).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "released");
    assert!(rows[0].queued_as.is_some());

    // The CSV needs an approver: pending, asked once only.
    let (status, _) = post(
        &s,
        &shokuin,
        &ask(csv),
        &[("reason", "見積金額の確認のため")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body) = post(&s, &shokuin, &ask(csv), &[("reason", "もう一度")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("すでに申請されています"), "{body}");
    let (_, inbox) = page(&s, &shokuin, "/quarantine").await;
    assert!(inbox.contains("承認待ち"), "{inbox}");
    let pending = requests(&s)
        .await
        .into_iter()
        .find(|r| r.state == "pending")
        .unwrap();
    let decide = format!("/quarantine/requests/{}/decide", pending.id);

    // Not an approver: no page, no decision.
    assert_eq!(
        page(&s, &shokuin, "/quarantine/requests").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&s, &shokuin, &decide, &[("decision", "approve")])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // The 課長 of another 課 approves for their own 課 only: the request is not theirs to see or decide.
    let (status, list) = page(&s, &kacho, "/quarantine/requests").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.contains("mitsumori.csv"));
    assert_eq!(
        post(&s, &kacho, &decide, &[("decision", "approve")])
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // The 統括 sees it with what the requester saw; refusing needs a note.
    let toukatsu = s.signed_in("toukatsu").await;
    let (status, list) = page(&s, &toukatsu, "/quarantine/requests").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("mitsumori.csv") && list.contains("見積金額の確認のため"),
        "{list}"
    );
    let (status, _) = post(
        &s,
        &toukatsu,
        &decide,
        &[("decision", "refuse"), ("note", "")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The relay cannot be reached at the moment of approval: approved, then failed, and nothing lost.
    let dead_relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead_relay.local_addr().unwrap();
    drop(dead_relay);
    let cut_off = App::new(
        s.app.store().clone(),
        AuditKey::load(&s.dir.join("audit.key"), false).unwrap(),
        Config {
            relay: Some(RelayClient::new(&format!("http://{dead_addr}"), TOKEN).unwrap()),
            ..Config::default()
        },
    )
    .unwrap();
    let toukatsu_actor = actor(&s, "toukatsu").await;
    let cap = quarantine::approver(&cut_off, &toukatsu_actor)
        .await
        .unwrap()
        .unwrap();
    let state = quarantine::decide(
        &cut_off,
        &cap,
        &toukatsu_actor,
        pending.id,
        Decision::Approve,
        "確認済み",
    )
    .await
    .unwrap();
    assert_eq!(state, RequestState::Failed);
    let failed = release_request::Entity::find_by_id(pending.id)
        .one(s.app.store().conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.state, "failed");
    assert!(failed.last_error.unwrap().contains("cannot be reached"));
    let (_, list) = page(&s, &toukatsu, "/quarantine/requests").await;
    assert!(list.contains("もう一度送る"), "{list}");

    // Sent again through the page: released, converted text arrives, once.
    let (status, to) = post(&s, &toukatsu, &decide, &[("decision", "approve")]).await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/quarantine/requests?done=released")
    );
    let arrived = sink.wait_for(3).await;
    let released = text_of(&arrived[2]);
    assert!(released.contains("CSV-CONTENT-MARKER-7f3a"), "{released}");
    let (status, _) = post(&s, &toukatsu, &decide, &[("decision", "approve")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "decided once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.arrived.lock().unwrap().len(), 3, "nothing sent twice");

    // Nobody decides their own request: the 統括 asks, the CISO decides.
    let toukatsu_mail = email_of(&s, "toukatsu").await;
    send(relay.local_addr(), &toukatsu_mail, &mail_to(&toukatsu_mail)).await;
    sink.wait_for(4).await;
    let own = client.held_for(&toukatsu_mail).await.unwrap()[0].id.clone();
    let (status, _) = post(
        &s,
        &toukatsu,
        &format!("/quarantine/{own}/parts/{csv}/request"),
        &[("reason", "自分宛ての資料")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mine = requests(&s)
        .await
        .into_iter()
        .find(|r| r.state == "pending")
        .unwrap();
    let (status, body) = post(
        &s,
        &toukatsu,
        &format!("/quarantine/requests/{}/decide", mine.id),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("ご自身の申請"), "{body}");
    let ciso = s.signed_in("ciso").await;
    let (status, _) = post(
        &s,
        &ciso,
        &format!("/quarantine/requests/{}/decide", mine.id),
        &[
            ("decision", "refuse"),
            ("note", "業務上の必要が確認できない"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, inbox) = page(&s, &toukatsu, "/quarantine").await;
    assert!(
        inbox.contains("却下") && inbox.contains("業務上の必要が確認できない"),
        "{inbox}"
    );

    // Every request, decision and release is in the audit chain, which still verifies.
    for action in [
        "quarantine.requested",
        "quarantine.approved",
        "quarantine.refused",
        "quarantine.released",
        "quarantine.release_failed",
    ] {
        assert!(s.audited(action).await, "{action} audited");
    }
    assert!(matches!(
        s.verify().await,
        mamori_app::mamori_store::audit::Verdict::Intact { .. }
    ));

    // The relay's health for the network's readers only.
    let (status, health) = page(&s, &toukatsu, "/network/relay").await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert!(!health.contains("接続できません"), "{health}");
    // Four messages delivered (two sanitised, two released), none queued or dead, one held per mail.
    for figure in [
        "<dt>送信待ち</dt><dd>0</dd>",
        "<dt>配送不能（保管中）</dt><dd>0</dd>",
        "<dt>添付ファイルを隔離しているメール</dt><dd>2</dd>",
        "<dt>配送（直近 24 時間）</dt><dd>4</dd>",
    ] {
        assert!(health.contains(figure), "{figure} in {health}");
    }
    assert_eq!(
        page(&s, &shokuin, "/network/relay").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        page(&s, &kacho, "/network/relay").await.0,
        StatusCode::FORBIDDEN
    );
    let pending_count = release_request::Entity::find()
        .filter(release_request::Column::State.eq("pending"))
        .count(s.app.store().conn())
        .await
        .unwrap();
    assert_eq!(pending_count, 0);

    relay.shutdown().await;
}

async fn actor(s: &TestServer, login: &str) -> mamori_app::Actor {
    let acct = account::Entity::find()
        .filter(account::Column::Login.eq(login))
        .one(s.app.store().conn())
        .await
        .unwrap()
        .unwrap();
    mamori_app::access::load_actor(s.app.store().conn(), &acct)
        .await
        .unwrap()
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_asks_an_approver_decides_and_only_converted_parts_reach_lgwan() {
    journey(Backend::Sqlite).await;
    journey(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_relay_or_when_it_is_down_the_pages_say_so() {
    let s = TestServer::start(Backend::Sqlite).await;
    let shokuin = s.signed_in("shokuin").await;
    let (status, body) = page(&s, &shokuin, "/quarantine").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("無害化中継が設定されていません"), "{body}");
    let (status, body) = post(
        &s,
        &shokuin,
        "/quarantine/abc-1/parts/0/request",
        &[("reason", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("申請できません"), "{body}");

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let s = TestServer::start_with(
        Backend::Sqlite,
        Config {
            relay: Some(RelayClient::new(&format!("http://{addr}"), TOKEN).unwrap()),
            ..Config::default()
        },
    )
    .await;
    let shokuin = s.signed_in("shokuin").await;
    let (status, body) = page(&s, &shokuin, "/quarantine").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("無害化中継に接続できません"), "{body}");
    let toukatsu = s.signed_in("toukatsu").await;
    let (status, body) = page(&s, &toukatsu, "/network/relay").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("無害化中継に接続できません"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_names_the_role_that_approves() {
    let s = TestServer::start(Backend::Sqlite).await;
    let bucho = s.signed_in("bucho").await;
    assert_eq!(
        page(&s, &bucho, "/quarantine/requests").await.0,
        StatusCode::FORBIDDEN
    );
    let toukatsu = s.signed_in("toukatsu").await;
    let (status, body) = post(
        &s,
        &toukatsu,
        "/quarantine/settings",
        &[("approver_role", "auditor")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = post(
        &s,
        &toukatsu,
        "/quarantine/settings",
        &[("approver_role", "bureau_officer")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        page(&s, &bucho, "/quarantine/requests").await.0,
        StatusCode::OK
    );
    let kacho = s.signed_in("kacho").await;
    assert_eq!(
        page(&s, &kacho, "/quarantine/requests").await.0,
        StatusCode::FORBIDDEN
    );
    assert!(s.audited("settings.updated").await);
    // Only the 統括 and administrators name it.
    assert_eq!(
        post(
            &s,
            &kacho,
            "/quarantine/settings",
            &[("approver_role", "division_manager")]
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_mamori_trusts_only_the_relays_certificate() {
    let (sink, sink_addr) = Sink::start().await;
    let spool = std::env::temp_dir().join("mamori-tests").join(format!(
        "relay-tls-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&spool).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relay-tls");
    let acceptor =
        mamori_relay::tls::acceptor(&dir.join("relay.crt"), &dir.join("relay.key")).unwrap();
    let relay = start_relay(&spool, sink_addr, Some(acceptor)).await;
    let addr = relay.api_addr().unwrap();
    let api = format!("https://{addr}");
    let trusted =
        RelayClient::with_ca(&api, TOKEN, include_bytes!("fixtures/relay-tls/relay.crt")).unwrap();
    let s = TestServer::start_with(
        Backend::Sqlite,
        Config {
            relay: Some(trusted),
            ..Config::default()
        },
    )
    .await;
    let shokuin_mail = email_of(&s, "shokuin").await;
    send(relay.local_addr(), &shokuin_mail, &mail_to(&shokuin_mail)).await;
    sink.wait_for(1).await;
    let shokuin = s.signed_in("shokuin").await;
    let (status, inbox) = page(&s, &shokuin, "/quarantine").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        inbox.contains("見積資料の送付") && inbox.contains("mitsumori.csv"),
        "{inbox}"
    );

    // A Mamori that trusts another certificate, or speaks plain HTTP, gets nothing from this relay.
    let wrong =
        RelayClient::with_ca(&api, TOKEN, include_bytes!("fixtures/relay-tls/other.crt")).unwrap();
    assert!(
        matches!(wrong.status().await, Err(RelayError::Unreachable(_))),
        "a relay with an untrusted certificate"
    );
    let plain = RelayClient::new(&format!("http://{addr}"), TOKEN).unwrap();
    assert!(plain.status().await.is_err(), "plain HTTP to the TLS API");
    relay.shutdown().await;
}
