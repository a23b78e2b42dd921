//! What the engine accepts and what the notice says: [`Policy`] and its [`Limits`].

/// Hard limits checked while parsing. A message over any of them is refused ([`crate::Refused`]), never
/// half-sanitised: the caller keeps it in quarantine and tells the postmaster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the raw message in bytes.
    pub max_total_size: usize,
    /// Length of one physical header line in bytes, without its CRLF (RFC 5322 says 998).
    pub max_header_line: usize,
    /// Header fields in one entity (the message itself or one MIME part).
    pub max_header_count: usize,
    /// Bytes of the header block of one entity (folded fields can make one field arbitrarily long).
    pub max_header_block: usize,
    /// Nesting of multiparts: the top-level entity is depth 0.
    pub max_depth: usize,
    /// Entities in the whole message, multiparts included.
    pub max_parts: usize,
    /// Sum of the decoded (base64, quoted-printable) sizes of all leaf parts.
    pub max_decoded_size: usize,
}

impl Default for Limits {
    /// Generous for real mail (25 MB is the usual MTA limit), small enough that a message in flight cannot
    /// exhaust the host.
    fn default() -> Self {
        Self {
            max_total_size: 25 * 1024 * 1024,
            max_header_line: 4096,
            max_header_count: 500,
            max_header_block: 256 * 1024,
            max_depth: 16,
            max_parts: 500,
            max_decoded_size: 50 * 1024 * 1024,
        }
    }
}

/// How one city sanitises: the limits and what the notice in every rebuilt message tells the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Parsing limits.
    pub limits: Limits,
    /// How to ask for a removed part, shown in the notice at the end of the body
    /// (e.g. `情報政策課 内線 1234 / quarantine page`). Trusted text from the city's configuration.
    pub notice_contact: String,
}

impl Policy {
    /// A policy with default limits and the given contact line.
    pub fn new(notice_contact: impl Into<String>) -> Self {
        Self {
            limits: Limits::default(),
            notice_contact: notice_contact.into(),
        }
    }
}
