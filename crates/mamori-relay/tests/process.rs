//! The relay as the operator runs it, as a process: a message acknowledged with `250` survives a `kill -9`
//! before delivery and arrives after the restart; `export` and `status` work on what it left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_mamori-relay");

fn start(dir: &Path, next_hop: SocketAddr) -> (Child, SocketAddr) {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--next-hop",
            &next_hop.to_string(),
            "--spool",
        ])
        .arg(dir)
        .args([
            "--domains",
            "city.example",
            "--clients",
            "127.0.0.0/8",
            "--postmaster",
            "postmaster@city.example",
            "--hostname",
            "relay.test",
        ])
        .env("MAMORI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no listening address in {line:?}"));
    (child, addr)
}

fn write_key(path: &Path) {
    std::fs::write(path, [5u8; 32]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_acknowledged_before_a_kill_9_arrives_after_the_restart() {
    let dir = temp_dir("kill9");
    write_key(&dir.join("quarantine.key"));
    // The next hop is down while the relay first holds the message.
    let sink_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let (mut relay, addr) = start(&dir, sink_addr);
    let (mut client, _) = Client::connect(addr).await;
    let original = japanese_mail_with_attachment();
    let answer = client
        .send_mail("sender@example.jp", &["taro@city.example"], &original)
        .await;
    assert!(answer.starts_with("250"), "{answer}");
    let id = queued_id(&answer);
    relay.kill().unwrap(); // SIGKILL: no shutdown code runs.
    relay.wait().unwrap();
    assert!(dir.join("messages").join(&id).exists());

    let sink = Sink::start_on(&sink_addr.to_string(), Behaviour::default()).await;
    let (mut relay, _) = start(&dir, sink_addr);
    let arrived = sink.wait_for(1, 20).await;
    assert_eq!(arrived[0].header("X-Mamori-Original-Id").unwrap(), id);
    assert!(arrived[0].body_text().contains("会議の資料を送ります。"));
    assert!(!contains(&arrived[0].data, b"ATTACHMENT-MARKER"));
    // Delivery is at least once: wait until the relay has recorded it before stopping it again.
    let mut text = String::new();
    for _ in 0..100 {
        text = status(&dir);
        if text.contains("queued: 0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        text.contains("queued: 0") && text.contains("dead letters: 0"),
        "{text}"
    );
    assert!(text.contains("delivered in the last hour: 1"), "{text}");
    relay.kill().unwrap();
    relay.wait().unwrap();

    // The original can be taken out on the relay host, and the export is recorded.
    let output = dir.join("exported.eml");
    let done = Command::new(BIN)
        .args(["export", &id, "--spool"])
        .arg(&dir)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(std::fs::read(&output).unwrap(), original);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn status(dir: &Path) -> String {
    let done = Command::new(BIN)
        .args(["status", "--spool"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&done.stdout).into_owned()
}

#[test]
fn the_relay_refuses_to_start_without_its_quarantine_key() {
    let dir = temp_dir("nokey");
    let done = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--next-hop",
            "127.0.0.1:9",
            "--domains",
            "city.example",
            "--spool",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!done.status.success());
    assert!(String::from_utf8_lossy(&done.stderr).contains("quarantine key"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--api-listen` needs `--api-token-file`, and the token file must be private and long enough.
#[cfg(unix)]
#[test]
fn the_relay_refuses_to_start_with_a_bad_api_token_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("apitoken");
    write_key(&dir.join("quarantine.key"));
    let token = dir.join("api.token");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--next-hop",
                "127.0.0.1:9",
                "--domains",
                "city.example",
                "--spool",
            ])
            .arg(&dir)
            .args(extra)
            .output()
            .unwrap()
    };
    let alone = run(&["--api-listen", "127.0.0.1:0"]);
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--api-token-file"));

    let token_arg = token.to_str().unwrap();
    let flags = ["--api-listen", "127.0.0.1:0", "--api-token-file", token_arg];
    std::fs::write(&token, "0123456789abcdef0123456789abcdef-long-enough\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let readable = run(&flags);
    assert!(!readable.status.success());
    assert!(String::from_utf8_lossy(&readable.stderr).contains("readable by others"));

    std::fs::write(&token, "too-short\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let short = run(&flags);
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("shorter than 32"));
    std::fs::remove_dir_all(&dir).unwrap();
}
