//! Reading what a zone map names: each device's configuration (in its format), its ipset file and its
//! `ip -j route` file, through a reader the caller gives (the command line reads files beside the map, the
//! web application reads uploaded files), so this crate stays a pure library over file contents.

use crate::analysis::DeviceInput;
use crate::error::ParseError;
use crate::iptables::{IpSets, parse_ipset_save, parse_iptables_save};
use crate::ir::Family;
use crate::nft::parse_nft_json;
use crate::zones::{ConfigFormat, ZoneMap, parse_ip_routes};

/// Why a device's files could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Reads and parses every device's files. `read` gets a path as the map writes it and returns its text.
pub fn read_devices(
    map: &ZoneMap,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Vec<DeviceInput>, LoadError> {
    let mut get = |file: &str| {
        read(file).map_err(|message| LoadError::Read {
            file: file.to_owned(),
            message,
        })
    };
    let mut out = Vec::new();
    for device in &map.devices {
        let text = get(&device.config)?;
        let ruleset = match device.format {
            ConfigFormat::NftJson => parse_nft_json(&text, &device.config)?,
            ConfigFormat::IptablesSave | ConfigFormat::Ip6tablesSave => {
                let sets = match &device.ipset {
                    Some(file) => parse_ipset_save(&get(file)?, file)?,
                    None => IpSets::new(),
                };
                let family = if device.format == ConfigFormat::IptablesSave {
                    Family::Ipv4
                } else {
                    Family::Ipv6
                };
                parse_iptables_save(&text, &device.config, family, &sets)?
            }
        };
        let mut routes = device.routes.clone();
        if let Some(file) = &device.routes_file {
            routes.extend(parse_ip_routes(&get(file)?, file)?);
        }
        out.push(DeviceInput {
            id: device.id.clone(),
            rulesets: vec![ruleset],
            routes,
        });
    }
    Ok(out)
}
