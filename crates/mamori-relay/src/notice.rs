//! The notice to the postmaster when a message becomes a dead letter, or some of its recipients were refused.
//! It goes to the configured postmaster
//! address on the LGWAN side, never back to the Internet sender (a bounce there would be backscatter). It
//! names the spool id and the reason only: the operator looks the rest up with `mamori relay status` or
//! exports the original on the sanitiser host.

use chrono::{DateTime, Utc};

use crate::spool::SpoolId;

/// What the postmaster is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The message could not be delivered at all.
    DeadLetter,
    /// The message was delivered, but the next hop refused some recipients for good.
    RecipientsRefused,
}

impl Problem {
    fn headline(self) -> &'static str {
        match self {
            Self::DeadLetter => {
                "無害化リレーで配送できないメールがあります。メールは破棄せず、隔離領域に保管しています。\r\n\
                 A message could not be delivered by the sanitising relay. It is kept in the quarantine, not dropped.\r\n"
            }
            Self::RecipientsRefused => {
                "無害化リレーで一部の宛先に配送できなかったメールがあります（他の宛先には配送済み）。原本は隔離領域に保管しています。\r\n\
                 Some recipients of a message were refused by the LGWAN mail server (the others have it). The original is kept in the quarantine.\r\n"
            }
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Self::DeadLetter => "dead letter",
            Self::RecipientsRefused => "recipients refused",
        }
    }
}

/// The notice as an RFC 5322 message (CRLF line ends, 7-bit).
#[allow(clippy::too_many_arguments)]
pub fn to_postmaster(
    problem: Problem,
    postmaster: &str,
    hostname: &str,
    id: &SpoolId,
    received_at: DateTime<Utc>,
    attempts: u32,
    reason: &str,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(1000)
        .collect();
    let body = format!(
        "{headline}\
         \r\n\
         スプールID / spool id: {id}\r\n\
         受信日時 / received: {received}\r\n\
         配送試行 / attempts: {attempts}\r\n\
         理由 / reason: {reason}\r\n\
         \r\n\
         確認 / check: mamori relay status\r\n\
         原本の取り出し（無害化区画のホストで、記録されます） / export the original (on the sanitiser host, audited):\r\n\
         mamori relay export {id} --output FILE\r\n",
        headline = problem.headline(),
        received = received_at.to_rfc3339(),
    );
    let mut out = format!(
        "From: Mamori relay <{postmaster}>\r\n\
         To: <{postmaster}>\r\n\
         Subject: [mamori relay] {subject} {id}\r\n\
         Date: {date}\r\n\
         Message-ID: <{tag}.{id}@{hostname}>\r\n\
         Auto-Submitted: auto-generated\r\n",
        date = now.to_rfc2822(),
        subject = problem.subject(),
        tag = match problem {
            Problem::DeadLetter => "dead",
            Problem::RecipientsRefused => "refused",
        },
    );
    out.push_str(&mamori_sanitize::compose::body(&body));
    out.into_bytes()
}
