//! The delivery worker: takes spooled messages, sanitises mail (無害化), keeps what was removed in the
//! encrypted quarantine, and forwards the rebuilt message to the next hop, with retries and exponential
//! backoff. A message the next hop refuses, the sanitiser refuses, or that runs out of attempts becomes a dead
//! letter — kept with its reason, never dropped — and the postmaster gets a notice.
//!
//! Delivery is at least once: a crash between the next hop's `250` and the database update sends the message
//! again after the restart; its `Message-ID` lets the receiving server see the duplicate.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use mamori_sanitize::{Limits, Policy, sanitize, stamp};
use tokio::sync::{Semaphore, watch};

use crate::auth_results;
use crate::db::Due;
use crate::notice::{self, Problem};
use crate::sender_auth::{self, DnsLimits, Resolver};
use crate::smtp::client::{self, Outcome, Outgoing};
use crate::smtp::server::{Inbound, enqueue};
use crate::spool::{Envelope, Kind, SpoolId};

/// When to try again.
#[derive(Debug, Clone)]
pub struct Retry {
    /// The wait after the first failure; it doubles after each further failure.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// Attempts before a temporarily failing message becomes a dead letter.
    pub max_attempts: u32,
}

impl Retry {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max_delay)
    }
}

/// What the worker needs besides the spool and the database.
#[derive(Debug)]
pub struct Outbound {
    /// `HOST:PORT` of the LGWAN mail server.
    pub next_hop: String,
    pub policy: Policy,
    pub trusted_authserv_ids: Vec<String>,
    /// The relay's own SPF, DKIM and DMARC check of the original, when DNS resolvers are configured.
    pub resolver: Option<Arc<dyn Resolver>>,
    pub dns_limits: DnsLimits,
    pub postmaster: Option<String>,
    pub retry: Retry,
    /// For each step of a forwarding exchange.
    pub send_timeout: Duration,
    /// Messages sanitised and forwarded at once (each may take a few times its size in memory).
    pub sanitising: Arc<Semaphore>,
    /// How often the queue is looked at when nothing wakes the worker.
    pub poll: Duration,
}

/// Runs until `shutdown` turns true, then lets the attempts under way finish (for at most 30 seconds).
pub async fn worker(
    inbound: Arc<Inbound>,
    outbound: Arc<Outbound>,
    mut shutdown: watch::Receiver<bool>,
) {
    let in_flight: Arc<Mutex<HashSet<SpoolId>>> = Arc::default();
    let mut attempts = tokio::task::JoinSet::new();
    'run: loop {
        while attempts.try_join_next().is_some() {}
        match inbound.db.due(Utc::now(), 64).await {
            Ok(due) => {
                for item in due {
                    if lock(&in_flight).contains(&item.id) {
                        continue;
                    }
                    let permit = tokio::select! {
                        permit = outbound.sanitising.clone().acquire_owned() => permit,
                        _ = shutdown.changed() => break 'run,
                    };
                    let Ok(permit) = permit else { break 'run };
                    lock(&in_flight).insert(item.id.clone());
                    let (inbound, outbound, in_flight) =
                        (inbound.clone(), outbound.clone(), in_flight.clone());
                    attempts.spawn(async move {
                        let id = item.id.clone();
                        process(&inbound, &outbound, item).await;
                        lock(&in_flight).remove(&id);
                        drop(permit);
                        inbound.wake.notify_one();
                    });
                }
            }
            Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot read the queue"),
        }
        tokio::select! {
            () = inbound.wake.notified() => {}
            () = tokio::time::sleep(outbound.poll) => {}
            _ = shutdown.changed() => break 'run,
        }
    }
    // An attempt cut short is simply made again after the next start (delivery is at least once).
    let grace = outbound.send_timeout.min(Duration::from_secs(30));
    let _ = tokio::time::timeout(grace, async {
        while attempts.join_next().await.is_some() {}
    })
    .await;
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One delivery attempt of one message.
async fn process(inbound: &Inbound, outbound: &Outbound, due: Due) {
    // The worker's list of due messages was read before it waited for a slot: another attempt may have
    // delivered this message, or deferred it, in the meantime. Only the database says.
    let due = match inbound.db.still_due(&due.id, Utc::now()).await {
        Ok(Some(due)) => due,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(id = %due.id, error = %format!("{e:#}"), "cannot read the queue");
            return;
        }
    };
    let id = due.id;
    let attempt = due.attempts.saturating_add(1);
    let spool = inbound.spool.clone();
    let load_id = id.clone();
    let loaded = tokio::task::spawn_blocking(move || spool.load_message(&load_id)).await;
    let (envelope, raw) = match loaded.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::error!(%id, "spool file unreadable");
            let reason = format!("spool file unreadable: {e:#}");
            record(
                inbound
                    .db
                    .mark_dead(&id, attempt, &reason, Utc::now())
                    .await,
            );
            return;
        }
    };
    let data = match envelope.kind {
        Kind::Notice | Kind::Release => raw,
        Kind::Mail => match prepare(inbound, outbound, &envelope, raw).await {
            Ok(Prepared::Forward(data)) => data,
            Ok(Prepared::Refused(reason)) => {
                tracing::warn!(%id, "the sanitiser refused the message");
                dead_letter(inbound, outbound, &envelope, attempt, &reason).await;
                return;
            }
            Err(e) => {
                tracing::error!(%id, error = %format!("{e:#}"), "cannot quarantine");
                defer(
                    inbound,
                    outbound,
                    &envelope,
                    attempt,
                    &format!("quarantine: {e:#}"),
                )
                .await;
                return;
            }
        },
    };
    let message = Outgoing {
        mail_from: &envelope.mail_from,
        rcpt_to: &envelope.rcpt_to,
        data: &data,
    };
    let hostname = &inbound.hostname;
    match client::send(
        &outbound.next_hop,
        hostname,
        &message,
        outbound.send_timeout,
    )
    .await
    {
        Outcome::Delivered { refused } if refused.is_empty() => {
            tracing::info!(%id, attempt, size = data.len(), "delivered");
            record(
                inbound
                    .db
                    .mark_delivered(&id, attempt, None, Utc::now())
                    .await,
            );
        }
        Outcome::Delivered { refused } => {
            let reason = format!("refused recipients: {}", refused.join("; "));
            tracing::warn!(%id, attempt, refused = refused.len(), "delivered, some recipients refused");
            if envelope.kind != Kind::Notice {
                let problem = Problem::RecipientsRefused;
                tell_postmaster(inbound, outbound, &envelope, problem, attempt, &reason).await;
            }
            record(
                inbound
                    .db
                    .mark_delivered(&id, attempt, Some(&reason), Utc::now())
                    .await,
            );
        }
        Outcome::Temporary(reason) => defer(inbound, outbound, &envelope, attempt, &reason).await,
        Outcome::Permanent(reason) => {
            tracing::warn!(%id, attempt, "the next hop refused the message");
            dead_letter(inbound, outbound, &envelope, attempt, &reason).await;
        }
    }
}

/// A temporary failure: try again later, or give up after the last attempt.
async fn defer(
    inbound: &Inbound,
    outbound: &Outbound,
    envelope: &Envelope,
    attempt: u32,
    reason: &str,
) {
    let id = &envelope.id;
    if attempt >= outbound.retry.max_attempts {
        let reason = format!("gave up after {attempt} attempts; last: {reason}");
        dead_letter(inbound, outbound, envelope, attempt, &reason).await;
        return;
    }
    let delay = outbound.retry.delay(attempt);
    tracing::info!(%id, attempt, delay_secs = delay.as_secs_f64(), "delivery deferred");
    let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
    record(inbound.db.retry_later(id, attempt, reason, next).await);
}

/// Keeps the message as a dead letter and tells the postmaster (also for a release; not for the relay's own
/// notices: a notice that cannot be delivered is only kept and logged).
async fn dead_letter(
    inbound: &Inbound,
    outbound: &Outbound,
    envelope: &Envelope,
    attempt: u32,
    reason: &str,
) {
    let id = &envelope.id;
    if envelope.kind != Kind::Notice {
        tell_postmaster(
            inbound,
            outbound,
            envelope,
            Problem::DeadLetter,
            attempt,
            reason,
        )
        .await;
    }
    tracing::warn!(%id, attempt, kind = envelope.kind.as_str(), "dead letter");
    record(inbound.db.mark_dead(id, attempt, reason, Utc::now()).await);
}

/// Spools a notice to the postmaster (it is delivered like any message, but never sanitised and never the
/// cause of another notice).
async fn tell_postmaster(
    inbound: &Inbound,
    outbound: &Outbound,
    envelope: &Envelope,
    problem: Problem,
    attempt: u32,
    reason: &str,
) {
    let id = &envelope.id;
    let Some(postmaster) = &outbound.postmaster else {
        tracing::warn!(%id, ?problem, "no --postmaster to tell");
        return;
    };
    let now = Utc::now();
    let text = notice::to_postmaster(
        problem,
        postmaster,
        &inbound.hostname,
        id,
        envelope.received_at,
        attempt,
        reason,
        now,
    );
    let notice = Envelope {
        id: SpoolId::new(now),
        kind: Kind::Notice,
        received_at: now,
        peer: String::new(),
        helo: String::new(),
        mail_from: String::new(),
        rcpt_to: vec![postmaster.clone()],
    };
    match enqueue(inbound, &notice, text).await {
        Ok(_) => tracing::info!(%id, notice = %notice.id, ?problem, "postmaster notice spooled"),
        Err(e) => {
            tracing::error!(%id, error = %format!("{e:#}"), "cannot spool the postmaster notice")
        }
    }
}

fn record(result: anyhow::Result<()>) {
    if let Err(e) = result {
        tracing::error!(error = %format!("{e:#}"), "cannot update the relay database");
    }
}

enum Prepared {
    Forward(Vec<u8>),
    /// The sanitiser refused the message (over a limit, not a message).
    Refused(String),
}

/// Sanitises, quarantines the removed parts, records the metadata, and writes the message to forward.
async fn prepare(
    inbound: &Inbound,
    outbound: &Outbound,
    envelope: &Envelope,
    raw: Vec<u8>,
) -> anyhow::Result<Prepared> {
    let policy = outbound.policy.clone();
    let trusted = outbound.trusted_authserv_ids.clone();
    let hostname = inbound.hostname.clone();
    // Checked on the original, before rebuilding destroys the signatures. The result is only reported:
    // whatever it is, the message goes on.
    let own = match &outbound.resolver {
        Some(resolver) => {
            let report = sender_auth::check(
                &raw,
                &envelope.mail_from,
                resolver.as_ref(),
                outbound.dns_limits,
                Utc::now().timestamp(),
            )
            .await;
            Some(report.header_field(&hostname))
        }
        None => None,
    };
    let (result, auth, (from, subject)) = tokio::task::spawn_blocking(move || {
        let result = sanitize(&raw, &policy);
        let auth = auth_results::header_lines(&raw, &trusted, &hostname, own.as_deref());
        let summary = summary(&raw, &policy.limits);
        (result, auth, summary)
    })
    .await?;
    let mut sanitized = match result {
        Ok(sanitized) => sanitized,
        Err(refused) => return Ok(Prepared::Refused(format!("sanitiser refused: {refused}"))),
    };
    let id = &envelope.id;
    for part in &mut sanitized.removed {
        let spool = inbound.spool.clone();
        let (part_id, index) = (id.clone(), part.index);
        // The bytes go to the quarantine and nowhere else; the metadata stays for the database.
        let content = std::mem::take(&mut part.content);
        tokio::task::spawn_blocking(move || spool.store_part(&part_id, index, content)).await??;
    }
    let actions = sanitized.report.header_value();
    inbound
        .db
        .record_sanitized(
            id,
            from.as_deref(),
            subject.as_deref(),
            &actions,
            &sanitized.removed,
        )
        .await?;
    stamp(&mut sanitized.message, &sanitized.report, id.as_str());
    let received = format!(
        "Received: from {helo} ([{peer}])\r\n\tby {host} (Mamori relay) with SMTP id {id};\r\n\t{date}\r\n",
        helo = envelope.helo,
        peer = envelope.peer,
        host = inbound.hostname,
        date = envelope.received_at.to_rfc2822(),
    );
    let mut data = Vec::with_capacity(received.len() + auth.len() + sanitized.message.len());
    data.extend_from_slice(received.as_bytes());
    data.extend_from_slice(auth.as_bytes());
    data.append(&mut sanitized.message);
    Ok(Prepared::Forward(data))
}

/// The decoded `From` and `Subject` of the original, for the quarantine metadata (the header block only is
/// parsed again; it is small).
fn summary(raw: &[u8], limits: &Limits) -> (Option<String>, Option<String>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |at| at + 4);
    match mamori_sanitize::parse(&raw[..end], limits) {
        Ok(message) => (message.header("From"), message.header("Subject")),
        Err(_) => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_ceiling() {
        let retry = Retry {
            base: Duration::from_secs(60),
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
        };
        assert_eq!(retry.delay(1), Duration::from_secs(60));
        assert_eq!(retry.delay(3), Duration::from_secs(240));
        assert_eq!(retry.delay(40), Duration::from_secs(3600));
    }
}
