//! `mamori relay`: 無害化通信 — the sanitising SMTP relay for the sanitiser segment between the Internet-zone
//! MTA and the LGWAN mail server. Everything is in `mamori-relay`; this only hands the arguments over.

use std::process::ExitCode;

pub use mamori_relay::cli::RelayArgs as Args;

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    mamori_relay::cli::run(args).await
}
