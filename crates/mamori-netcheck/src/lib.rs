//! `netcheck`: from the firewall configurations a city actually runs, prove that its network zones are
//! separated (clause 6(3), 通信経路の分割), or show the packets that cross.
//!
//! The layers, bottom up:
//!
//! - [`ir`]: one model of rules for every vendor format — tables, chains with their hooks and priorities,
//!   rules as lists of matches with an action, each rule knowing the file and line it came from. A match the
//!   parser does not model is kept as [`ir::Test::Unknown`] with a warning, never dropped, so later stages can
//!   over-approximate it and "isolated" stays a proof.
//! - [`iptables`]: `iptables-save` / `ip6tables-save` text (and `ipset save` for `-m set`).
//! - [`nft`]: `nft -j list ruleset` JSON.
//! - [`space`]: the packet header space as binary decision diagrams; [`verdict`]: what a chain, and a hook,
//!   accepts and drops, as packet sets.
//! - [`zones`]: the zone map — zones, their address segments, the devices between them (configuration files,
//!   interfaces, routes) and the services allowed to cross; `ip -j route` output for a device's routes.
//!
//! A new vendor format (FortiGate, Palo Alto, YAMAHA RTX …) is one new module producing an [`ir::Ruleset`].

pub mod analysis;
pub mod error;
pub mod iptables;
pub mod ir;
pub mod load;
pub mod nft;
pub mod space;
pub mod synthetic;
pub mod text;
pub mod verdict;
pub mod zones;

pub use error::ParseError;
