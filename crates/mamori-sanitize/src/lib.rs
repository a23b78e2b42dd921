//! `sanitize`: mail sanitising (無害化, clauses 2(16) and 6(3)②) for mail that crosses from the
//! インターネット接続系 to the LGWAN接続系. A raw message goes in; out come a *new* message — whitelisted header
//! fields re-encoded from their decoded values and one `text/plain; charset=UTF-8` body with links defanged and
//! a notice (Japanese, then English) of what was removed — the removed parts for the quarantine, and a report.
//! Nothing of the original is forwarded.
//!
//! The layers, bottom up:
//!
//! - [`charset`], [`transfer`], [`encoded_word`], [`params`]: decoding — Japanese charsets (ISO-2022-JP and
//!   its Microsoft variants, Shift_JIS/CP932, EUC-JP), base64 and quoted-printable, RFC 2047 words, RFC 2231
//!   parameters.
//! - [`header`] and [`mime`]: our own strict parser (docs/adr/0005-own-mime-parser.md). It parses once, checks
//!   the [`Limits`], and records every ambiguity — a shape two readers may understand differently — on the
//!   entity where it was found. Ambiguous entities and everything inside them are *tainted*: their text is
//!   never shown, their bytes are quarantined, and the message is reported as hostile.
//! - [`sniff()`], [`html`], [`flowed`], [`link`], [`text`], [`embedded`]: what bytes are, HTML to text,
//!   `format=flowed` unflowed, defanging, removing invisible and bidirectional characters, cutting uuencode and
//!   yEnc blocks out of body text.
//! - [`address`], [`compose`], [`notice`]: writing the new message.
//! - [`sanitize`] ties them together; [`stamp`] adds the `X-Mamori-*` fields the relay needs.
//!
//! ```
//! use mamori_sanitize::{Policy, sanitize, stamp};
//!
//! let raw = b"From: a@example.jp\r\nSubject: hi\r\n\r\nSee https://example.jp/x\r\n";
//! let mut sanitized = sanitize(raw, &Policy::new("情報政策課 内線 1234"))?;
//! assert_eq!(sanitized.report.header_value(), "text; links-defanged");
//! assert_eq!(sanitized.report.links, ["hxxps://example[.]jp/x"]);
//! stamp(&mut sanitized.message, &sanitized.report, "q-0001");
//! assert!(sanitized.message.starts_with(b"X-Mamori-Sanitized: text; links-defanged\r\n"));
//! # Ok::<(), mamori_sanitize::Refused>(())
//! ```

pub mod address;
pub mod charset;
pub mod compose;
pub mod embedded;
pub mod encoded_word;
mod engine;
pub mod error;
pub mod flowed;
pub mod header;
pub mod html;
pub mod link;
pub mod mime;
pub mod notice;
pub mod params;
mod policy;
mod report;
mod sniff;
pub mod text;
pub mod transfer;

pub use engine::{Sanitized, sanitize, stamp};
pub use error::{Lang, Refused};
pub use mime::{Message, parse};
pub use policy::{Limits, Policy};
pub use report::{Action, BodySource, RemovedPart, Report};
pub use sniff::{is_textual, sniff};
