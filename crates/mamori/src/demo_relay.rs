//! `mamori serve --demo` without `--relay-api`: a sanitising relay beside the demo city, so that 隔離メール,
//! release requests and the relay's health have something real to show.
//!
//! It is the real `mamori relay` (spool, quarantine key and database in `DATA_DIR/demo-relay/`, SMTP and API on
//! loopback ports, a token made for this run). Its next hop stands in for the city's LGWAN mail server: it accepts
//! every message and keeps nothing. On the first start, three mails from the Internet with attachments go through
//! it to demo staff, and 市民課's member asks for one attachment, so an approver has a request to decide.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use mamori_app::quarantine::relay::RelayClient;
use mamori_app::{App, AuditActor};
use mamori_relay::Relay;
use mamori_relay::api::{ApiConfig, DEFAULT_MAX_CONVERT};
use mamori_relay::key::QuarantineKey;
use mamori_relay::release::ReleasePolicy;
use mamori_relay::smtp::client::{Outcome, Outgoing, send};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The demo city's mail domain.
const DOMAIN: &str = "city.sample.lg.jp";

/// Starts the demo relay; its client for the app.
pub async fn start(data_dir: &Path) -> anyhow::Result<(Relay, RelayClient)> {
    let spool = data_dir.join("demo-relay");
    std::fs::create_dir_all(&spool)
        .with_context(|| format!("cannot create {}", spool.display()))?;
    let key_path = spool.join("quarantine.key");
    if !key_path.exists() {
        write_private(&key_path, &rand::random::<[u8; 32]>())?;
    }
    let token = hex::encode(rand::random::<[u8; 24]>());
    let mailbox = discarding_mailbox().await?;
    let relay = Relay::start(mamori_relay::Config {
        hostname: "relay.demo".into(),
        notice_contact: "情報政策課 内線 1234".into(),
        api: Some(ApiConfig {
            listen: "127.0.0.1:0".into(),
            token: token.clone(),
            policy: ReleasePolicy::default(),
            max_convert: DEFAULT_MAX_CONVERT,
            tls: None,
        }),
        ..mamori_relay::Config::loopback(mailbox, &spool, QuarantineKey::load(&key_path)?, DOMAIN)
    })
    .await?;
    let api = relay
        .api_addr()
        .context("the demo relay did not start its API")?;
    let client = RelayClient::new(&format!("http://{api}"), &token).map_err(anyhow::Error::msg)?;
    Ok((relay, client))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot create {}", path.display()))
}

/// The stand-in for the LGWAN mail server: an SMTP server that accepts every message and keeps nothing.
async fn discarding_mailbox() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Err(e) = discard(stream).await {
                    tracing::debug!("demo mailbox: {e}");
                }
            });
        }
    });
    Ok(addr)
}

async fn discard(stream: TcpStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 demo-lgwan-mail ESMTP\r\n").await?;
    let mut line = String::new();
    let mut in_data = false;
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if in_data {
            if line == ".\r\n" {
                in_data = false;
                write.write_all(b"250 accepted\r\n").await?;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                write
                    .write_all(b"250-demo-lgwan-mail\r\n250 8BITMIME\r\n")
                    .await?
            }
            "DATA" => {
                in_data = true;
                write.write_all(b"354 go ahead\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
}

/// A 32×32 PNG (a chequered map) with a text chunk, as a picture sent by mail would be.
fn picture() -> Vec<u8> {
    const PNG: &str = concat!(
        "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAEHRFWHRDb21tZW50AGRlbW8gbWFwqUvO2gAAADpJRE",
        "FUeNpj+Pr1A1akV2uEFZGqnmHUglELhoAF1DIIl/pRC0YtGAoWjBYVoxaMWjBaH4xaMGoBEAEAkeNuar5eJSAAAAAA",
        "SUVORK5CYII=",
    );
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap_or_default()
}

fn b64_lines(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn subject(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    )
}

/// A mail from the Internet with a text body and attachments `(type, file name, bytes)`.
fn mail(from: &str, to: &str, title: &str, body: &str, parts: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@demo.example.jp>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"demo-boundary\"\r\n\r\n\
         --demo-boundary\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        subject(title),
        chrono::Utc::now().to_rfc2822(),
        hex::encode(rand::random::<[u8; 8]>()),
        b64_lines(body.as_bytes()),
    );
    for (content_type, name, bytes) in parts {
        let encoded_name = format!("UTF-8''{}", percent(name));
        out.push_str(&format!(
            "--demo-boundary\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; filename*={encoded_name}\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64_lines(bytes)
        ));
    }
    out.push_str("--demo-boundary--\r\n");
    out.into_bytes()
}

/// RFC 2231 / 5987 percent-encoding of a file name.
fn percent(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The demo mails, once: skipped when the relay already holds mail for the first recipient.
pub async fn seed(app: &App, relay: &Relay, client: &RelayClient) -> anyhow::Result<()> {
    let address = |login: &'static str| login_address(app, login);
    let (Some(shokuin), Some(kacho), Some(toukatsu)) = (
        address("shokuin").await?,
        address("kacho").await?,
        address("toukatsu").await?,
    ) else {
        return Ok(());
    };
    if !client
        .held_for(&shokuin)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_empty()
    {
        return Ok(());
    }
    let csv = "品名,数量,単価,金額\r\n庁舎清掃（月額）,12,180000,2160000\r\n窓ガラス清掃,2,95000,190000\r\n".as_bytes();
    let mails = [
        (
            shokuin.clone(),
            mail(
                "株式会社サンプル商事 <sales@sample-shoji.example.jp>",
                &shokuin,
                "【見積書送付】庁舎清掃業務について",
                "市民課 ご担当者様\r\n\r\nいつもお世話になっております。見積書と会場の地図をお送りします。\r\n詳細は https://sample-shoji.example.jp/quote をご覧ください。\r\n",
                &[
                    ("text/csv", "見積書.csv", csv.to_vec()),
                    ("image/png", "会場地図.png", picture()),
                    ("application/pdf", "仕様書.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec()),
                    ("application/octet-stream", "請求書.pdf.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec()),
                ],
            ),
        ),
        (
            kacho.clone(),
            mail(
                "地方税共同機構 お知らせ <info@tax-news.example.jp>",
                &kacho,
                "令和8年度 税務システム研修のご案内",
                "税務課長 様\r\n\r\n研修の資料一式をお送りします。\r\n",
                &[("application/zip", "資料一式.zip", b"PK\x03\x04\x14\x00\x00\x00\x00\x00demo".to_vec())],
            ),
        ),
        (
            toukatsu.clone(),
            mail(
                "セキュリティ情報 <alert@security.example.jp>",
                &toukatsu,
                "注意喚起: 不審なメールについて",
                "各位\r\n\r\n不審なメールの例を添付します。開かずに確認してください。\r\n",
                &[("text/html", "example.html", "<html><body><p>お知らせ</p><script>location='https://evil.example/'</script></body></html>".as_bytes().to_vec())],
            ),
        ),
    ];
    for (to, data) in &mails {
        let outcome = send(
            &relay.local_addr().to_string(),
            "mx.demo.example.jp",
            &Outgoing {
                mail_from: "sender@demo.example.jp",
                rcpt_to: std::slice::from_ref(to),
                data,
            },
            Duration::from_secs(10),
        )
        .await;
        if !matches!(outcome, Outcome::Delivered { .. }) {
            anyhow::bail!("the demo relay did not take a demo mail: {outcome:?}");
        }
    }
    // The relay sanitises in the background; wait until it lists the first mail, then ask for its CSV.
    for _ in 0..100 {
        let held = client
            .held_for(&shokuin)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(message) = held.first()
            && let Some(part) = message.parts.iter().find(|p| p.class == "text")
        {
            let actor = actor(app, "shokuin")
                .await?
                .context("no demo account shokuin")?;
            let cap = actor
                .mail_recipient()
                .context("the demo's shokuin has no staff record")?;
            mamori_app::quarantine::request(
                app,
                &cap,
                &AuditActor {
                    account_id: Some(actor.account_id),
                    label: actor.login.clone(),
                },
                &message.id,
                part.index,
                "見積金額を課内で確認するため",
            )
            .await?;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the demo relay did not hold the demo mail in time")
}

/// A demo account (none when the database holds a city of its own).
async fn actor(app: &App, login: &str) -> anyhow::Result<Option<mamori_app::Actor>> {
    use mamori_store::entity::account;
    use mamori_store::sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    let Some(account) = account::Entity::find()
        .filter(account::Column::Login.eq(login))
        .one(app.store().conn())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        mamori_app::access::load_actor(app.store().conn(), &account).await?,
    ))
}

async fn login_address(app: &App, login: &str) -> anyhow::Result<Option<String>> {
    use mamori_store::entity::staff;
    use mamori_store::sea_orm::EntityTrait as _;
    let Some(id) = actor(app, login).await?.and_then(|a| a.staff_id) else {
        return Ok(None);
    };
    Ok(staff::Entity::find_by_id(id)
        .one(app.store().conn())
        .await?
        .map(|s| s.email)
        .filter(|e| !e.is_empty()))
}
