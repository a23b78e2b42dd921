//! `mamori-relay`: the relay alone, for the sanitiser host, which needs none of the web application. The same
//! arguments as `mamori relay`.

use clap::Parser;
use mamori_relay::cli::RelayArgs;

#[derive(Parser)]
#[command(
    name = "mamori-relay",
    version,
    about = "無害化通信: the sanitising SMTP relay"
)]
struct Cli {
    #[command(flatten)]
    relay: RelayArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAMORI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match mamori_relay::cli::run(Cli::parse().relay).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mamori-relay: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
