//! SMTP on both sides of the relay: [`server`] receives from the Internet-zone MTA, [`client`] forwards to the
//! LGWAN mail server. Both are small and strict on purpose (RFC 5321, no extensions beyond those listed).

pub mod address;
pub mod client;
pub mod line;
pub mod server;
