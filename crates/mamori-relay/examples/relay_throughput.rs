//! End-to-end throughput of the relay on this machine: a sink SMTP server (the LGWAN mail server's
//! stand-in), the relay with its spool on disk (every message fsynced before `250`), and clients sending
//! messages of about 20 KB — Japanese HTML mail with a small attachment — over several connections at once.
//! Prints messages/s from the first connection to the last message at the sink.
//!
//! `cargo run --release -p mamori-relay --example relay_throughput -- [MESSAGES] [CONNECTIONS]` (default 2000, 8).
//! The spool goes to a temporary folder under the system's temp directory (set `TMPDIR` to measure another
//! disk).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Behaviour, Client, Sink};
use mamori_relay::key::QuarantineKey;
use mamori_relay::{Config, Relay, RelayLimits};

fn message(n: usize) -> Vec<u8> {
    let mut html = String::from("<html><body>");
    while html.len() < 12_000 {
        html.push_str(
            "<p>いつもお世話になっております。令和8年度の保守契約について、お見積書をお送りいたします。\
             詳細は <a href=\"https://example.co.jp/support\">こちら</a> をご覧ください。</p>",
        );
    }
    html.push_str("</body></html>");
    let attachment = vec![b'A'; 4_000];
    let b64 = |bytes: &[u8]| {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        text.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    format!(
        "From: sender@example.co.jp\r\nTo: staff@city.example\r\nSubject: bench {n}\r\n\
         Message-ID: <bench-{n}@example.co.jp>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0900\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        b64(html.as_bytes()),
        b64(&attachment)
    )
    .into_bytes()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().as_deref().unwrap_or("2000").parse()?;
    let connections: usize = args.next().as_deref().unwrap_or("8").parse()?;
    let sink = Sink::start(Behaviour::default()).await;
    let spool = common::temp_dir("throughput");
    let relay = Relay::start(Config {
        listen: "127.0.0.1:0".into(),
        next_hop: sink.addr.to_string(),
        spool: spool.clone(),
        database: None,
        key: QuarantineKey::from_bytes(&[7u8; 32])?,
        max_size: 25 * 1024 * 1024,
        domains: vec!["city.example".into()],
        clients: vec!["127.0.0.1/32".parse()?],
        postmaster: None,
        retention: Duration::from_secs(14 * 86_400),
        hostname: "relay.city.example".into(),
        trusted_authserv_ids: Vec::new(),
        resolver: None,
        notice_contact: "情報政策課".into(),
        tls: None,
        require_tls: false,
        api: None,
        limits: RelayLimits {
            poll: Duration::from_millis(200),
            ..RelayLimits::default()
        },
    })
    .await?;
    let addr = relay.local_addr();
    let size = message(0).len();
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..connections {
        let count = total / connections + usize::from(c < total % connections);
        clients.push(tokio::spawn(async move {
            let (mut client, _) = Client::connect(addr).await;
            for i in 0..count {
                let reply = client
                    .send_mail(
                        "sender@example.co.jp",
                        &["staff@city.example"],
                        &message(c * 100_000 + i),
                    )
                    .await;
                if !reply.starts_with("250") {
                    return Err(anyhow::anyhow!("refused: {reply}"));
                }
            }
            Ok(())
        }));
    }
    for c in clients {
        c.await??;
    }
    let accepted = started.elapsed().as_secs_f64();
    sink.wait_for(total, 600).await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "messages={total} size_bytes={size} connections={connections} accepted_per_s={:.1} delivered_per_s={:.1} seconds={seconds:.2}",
        total as f64 / accepted,
        total as f64 / seconds
    );
    drop(relay);
    let _ = std::fs::remove_dir_all(spool);
    Ok(())
}
