//! The client of the relay's API (`mamori relay --api-listen`), the one service through which the LGWAN-side
//! Mamori sees the quarantine. It reads metadata and asks for releases; it never receives a raw original or
//! a removed part.
//!
//! The client never follows redirects, never uses a proxy from the environment (Mamori runs on a closed
//! network and calls nothing but the relay), and gives up after a few seconds, so a page that asks the relay
//! answers even when the relay is down. Over `https://` it trusts only the certificates the city gives
//! (`--relay-ca-file`: the relay's own certificate or the CA that issued it), never the system's store.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Longest wait for the relay to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for a whole answer (a release converts the part first).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest answer read from the relay.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Where the relay's API is and the token it wants.
#[derive(Clone)]
pub struct RelayClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("base", &self.base)
            .field("token", &"..")
            .finish()
    }
}

/// Why a call to the relay did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayError {
    /// The relay could not be reached or did not answer in time.
    Unreachable(String),
    /// The relay refused the token (a configuration fault, never the user's).
    Unauthorized,
    /// The relay refused the request, with its code (`not_convertible`, `never` …) and message.
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The relay answered something this client does not understand.
    Protocol(String),
}

impl std::fmt::Display for RelayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelayError::Unreachable(why) => write!(f, "the relay cannot be reached: {why}"),
            RelayError::Unauthorized => write!(f, "the relay refused Mamori's API token"),
            RelayError::Refused {
                status,
                code,
                message,
            } => write!(f, "the relay refused ({status} {code}): {message}"),
            RelayError::Protocol(why) => write!(f, "the relay's answer was not understood: {why}"),
        }
    }
}

/// A held message as the relay lists it (metadata only).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct HeldMessage {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub mail_from: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub state: String,
    pub parts: Vec<HeldPart>,
}

/// One removed part of a held message.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct HeldPart {
    pub index: usize,
    pub file_name: Option<String>,
    pub declared_type: String,
    pub sniffed_type: String,
    pub size: u64,
    pub sha256: String,
    /// `text`, `html`, `image`, `pdf`, `office`, `archive`, `executable`, `other`.
    pub class: String,
    /// `on_request`, `on_approval`, `never`, `not_convertible`.
    pub release: String,
    pub released_at: Option<DateTime<Utc>>,
}

/// A dead letter as the relay reports it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct DeadLetter {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub reason: Option<String>,
}

/// The relay's health (`GET /v1/status`).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct RelayStatus {
    pub queued: i64,
    pub dead: i64,
    pub held: i64,
    pub delivered_last_hour: i64,
    pub delivered_last_day: i64,
    pub received_last_hour: i64,
    pub oldest_queued_at: Option<DateTime<Utc>>,
    pub dead_letters: Vec<DeadLetter>,
}

#[derive(Deserialize)]
struct Queued {
    queued_as: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
}

impl RelayClient {
    /// A client for the API at `base` (`http://HOST:PORT`). The token is the relay's `--api-token-file`.
    pub fn new(base: &str, token: &str) -> Result<RelayClient, String> {
        RelayClient::build(base, token, None)
    }

    /// A client for the API at `https://HOST:PORT`, trusting only the certificates in `ca_pem` (PEM).
    pub fn with_ca(base: &str, token: &str, ca_pem: &[u8]) -> Result<RelayClient, String> {
        RelayClient::build(base, token, Some(ca_pem))
    }

    fn build(base: &str, token: &str, ca_pem: Option<&[u8]>) -> Result<RelayClient, String> {
        let base = base.trim().trim_end_matches('/');
        let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
        match (scheme, ca_pem.is_some()) {
            ("http", false) | ("https", true) => {}
            ("https", false) => {
                return Err(format!(
                    "{base:?} is https: give the relay's certificate (or its CA) with --relay-ca-file"
                ));
            }
            ("http", true) => {
                return Err(format!(
                    "{base:?} is plain http: a CA file is for https:// only"
                ));
            }
            _ => {
                return Err(format!(
                    "the relay API address must be http://HOST:PORT or https://HOST:PORT (got {base:?})"
                ));
            }
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "the relay API address must be http(s)://HOST:PORT (got {base:?})"
            ));
        }
        let token = token.trim();
        if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "the relay API token must be at least 32 visible ASCII characters".to_owned(),
            );
        }
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("mamori/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            builder = builder.use_preconfigured_tls(tls_config(pem)?);
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the relay client: {e}"))?;
        Ok(RelayClient {
            base: base.to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    /// Reads the token from a file that only its owner may read (as the relay does), and for an https://
    /// address the certificates to trust from `ca_file`.
    pub fn from_files(
        base: &str,
        token_file: &std::path::Path,
        ca_file: Option<&std::path::Path>,
    ) -> Result<RelayClient, String> {
        let text = std::fs::read_to_string(token_file).map_err(|e| {
            format!(
                "cannot read the relay token file {}: {e}",
                token_file.display()
            )
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(token_file)
                .map_err(|e| format!("{}: {e}", token_file.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "the relay token file {} is readable by others (mode {:o}); chmod 600 it",
                    token_file.display(),
                    mode & 0o777
                ));
            }
        }
        match ca_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                RelayClient::with_ca(base, &text, &pem)
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            None => RelayClient::new(base, &text),
        }
    }

    /// The API's address, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>, RelayError> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| RelayError::Unreachable(without_url(&e)))?;
        let status = response.status();
        if let Some(length) = response.content_length()
            && length > MAX_ANSWER_BYTES as u64
        {
            return Err(RelayError::Protocol(format!("answer of {length} bytes")));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| RelayError::Unreachable(without_url(&e)))?;
        if body.len() > MAX_ANSWER_BYTES {
            return Err(RelayError::Protocol(format!(
                "answer of {} bytes",
                body.len()
            )));
        }
        match status.as_u16() {
            200..=299 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| RelayError::Protocol(e.to_string())),
            401 | 403 => Err(RelayError::Unauthorized),
            404 => Ok(None),
            code => {
                let (code_text, message) = match serde_json::from_slice::<ErrorBody>(&body) {
                    Ok(e) => (e.error, e.message),
                    Err(_) => ("http".to_owned(), String::new()),
                };
                Err(RelayError::Refused {
                    status: code,
                    code: code_text,
                    message,
                })
            }
        }
    }

    /// What the relay holds for `recipient`, newest first (at most 200).
    pub async fn held_for(&self, recipient: &str) -> Result<Vec<HeldMessage>, RelayError> {
        let request = self
            .http
            .get(format!("{}/v1/held", self.base))
            .query(&[("recipient", recipient)]);
        Ok(self.call(request).await?.unwrap_or_default())
    }

    /// One held message, if it is held for `recipient` (`None` when unknown, purged or someone else's).
    pub async fn held(&self, id: &str, recipient: &str) -> Result<Option<HeldMessage>, RelayError> {
        let request = self
            .http
            .get(format!("{}/v1/held/{}", self.base, path_segment(id)?))
            .query(&[("recipient", recipient)]);
        self.call(request).await
    }

    /// Asks the relay to convert a part and send it to `recipient`; the spool id of the new message.
    pub async fn release(
        &self,
        id: &str,
        index: usize,
        recipient: &str,
        approved_by: &str,
        reason: &str,
    ) -> Result<String, RelayError> {
        let request = self
            .http
            .post(format!(
                "{}/v1/held/{}/parts/{index}/release",
                self.base,
                path_segment(id)?
            ))
            .json(&serde_json::json!({
                "recipient": recipient,
                "approved_by": approved_by,
                "reason": reason,
            }));
        match self.call::<Queued>(request).await? {
            Some(q) => Ok(q.queued_as),
            None => Err(RelayError::Refused {
                status: 404,
                code: "not_found".to_owned(),
                message: "no such message or part (expired from the quarantine?)".to_owned(),
            }),
        }
    }

    /// Queue length, dead letters and throughput.
    pub async fn status(&self) -> Result<RelayStatus, RelayError> {
        let request = self.http.get(format!("{}/v1/status", self.base));
        self.call(request)
            .await?
            .ok_or_else(|| RelayError::Protocol("the relay has no /v1/status".to_owned()))
    }
}

/// TLS that trusts only the certificates in `pem`, with the same provider as the relay (ring).
fn tls_config(pem: &[u8]) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("a certificate cannot be trusted: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no certificate in the CA file".to_owned());
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// Whether `id` has the shape of a relay spool id (letters, digits and `-`, at most 64): anything else is
/// not asked about, so no id can reach another path of the API.
pub fn is_spool_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn path_segment(id: &str) -> Result<&str, RelayError> {
    if is_spool_id(id) {
        Ok(id)
    } else {
        Err(RelayError::Refused {
            status: 404,
            code: "not_found".to_owned(),
            message: "no such message".to_owned(),
        })
    }
}

/// An error without the URL (which would name the relay's address in every page that shows it).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        "request failed".to_owned()
    };
    if let Some(source) = std::error::Error::source(e) {
        text.push_str(&format!(" ({source})"));
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn addresses_and_tokens_are_checked() {
        assert!(RelayClient::new("http://192.0.2.10:8025", TOKEN).is_ok());
        assert!(RelayClient::new("http://192.0.2.10:8025/", TOKEN).is_ok());
        assert!(RelayClient::new("https://192.0.2.10:8025", TOKEN).is_err());
        assert!(RelayClient::with_ca("http://192.0.2.10:8025", TOKEN, b"").is_err());
        assert!(RelayClient::with_ca("https://192.0.2.10:8025", TOKEN, b"not pem").is_err());
        assert!(RelayClient::new("192.0.2.10:8025", TOKEN).is_err());
        assert!(RelayClient::new("http://192.0.2.10:8025/v1", TOKEN).is_err());
        assert!(RelayClient::new("http://user@192.0.2.10", TOKEN).is_err());
        assert!(RelayClient::new("http://192.0.2.10:8025", "short").is_err());
        assert!(RelayClient::new("http://192.0.2.10:8025", &format!("{TOKEN} x")).is_err());
    }

    #[test]
    fn ids_cannot_leave_their_segment() {
        assert!(is_spool_id("20261126T101500-3f9a2c"));
        for bad in ["", "../v1/status", "a?b", "a/b", "a.b", &"x".repeat(65)] {
            assert!(!is_spool_id(bad), "{bad:?}");
            assert!(path_segment(bad).is_err());
        }
    }

    #[test]
    fn the_token_is_not_debug_printed() {
        let c = RelayClient::new("http://192.0.2.10:8025", TOKEN).unwrap();
        assert!(!format!("{c:?}").contains(TOKEN));
    }
}
