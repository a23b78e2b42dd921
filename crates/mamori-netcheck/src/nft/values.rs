//! Symbolic names nft may print instead of numbers: IP protocols (from the system's protocol table) and,
//! with `-S`, service names for ports. A name not listed here is not guessed: the match becomes unknown.

/// IP protocol number of a name as nft prints it (`tcp`, `ipv6-icmp` …).
pub(super) fn protocol_number(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "hopopt" => 0,
        "icmp" => 1,
        "igmp" => 2,
        "ggp" => 3,
        "ipencap" | "ip-encap" => 4,
        "st" => 5,
        "tcp" => 6,
        "egp" => 8,
        "igp" => 9,
        "pup" => 12,
        "udp" => 17,
        "hmp" => 20,
        "xns-idp" => 22,
        "rdp" => 27,
        "iso-tp4" => 29,
        "dccp" => 33,
        "xtp" => 36,
        "ddp" => 37,
        "idpr-cmtp" => 38,
        "ipv6" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "idrp" => 45,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "skip" => 57,
        "ipv6-icmp" | "icmpv6" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "rspf" => 73,
        "vmtp" => 81,
        "eigrp" => 88,
        "ospf" | "ospfigp" => 89,
        "ax.25" => 93,
        "ipip" => 94,
        "etherip" => 97,
        "encap" => 98,
        "pim" => 103,
        "ipcomp" | "comp" => 108,
        "vrrp" => 112,
        "l2tp" => 115,
        "isis" => 124,
        "sctp" => 132,
        "fc" => 133,
        "mobility-header" => 135,
        "udplite" => 136,
        "mpls-in-ip" => 137,
        "manet" => 138,
        "hip" => 139,
        "shim6" => 140,
        "wesp" => 141,
        "rohc" => 142,
        "ethernet" => 143,
        _ => return None,
    })
}

/// Port of a service name (`nft -S` output; plain `nft -j` prints numbers).
pub(super) fn service_port(name: &str) -> Option<u16> {
    Some(match name.to_ascii_lowercase().as_str() {
        "echo" => 7,
        "discard" => 9,
        "daytime" => 13,
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "time" => 37,
        "domain" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "gopher" => 70,
        "finger" => 79,
        "http" | "www" => 80,
        "kerberos" => 88,
        "pop3" => 110,
        "sunrpc" => 111,
        "auth" => 113,
        "nntp" => 119,
        "ntp" => 123,
        "epmap" => 135,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "imap" | "imap2" => 143,
        "snmp" => 161,
        "snmp-trap" => 162,
        "bgp" => 179,
        "irc" => 194,
        "ldap" => 389,
        "https" => 443,
        "microsoft-ds" => 445,
        "kpasswd" => 464,
        "submissions" | "smtps" | "ssmtp" | "urd" => 465,
        "isakmp" => 500,
        "syslog" => 514,
        "printer" => 515,
        "route" => 520,
        "dhcpv6-client" => 546,
        "dhcpv6-server" => 547,
        "rtsp" => 554,
        "nntps" => 563,
        "submission" => 587,
        "ipp" => 631,
        "ldaps" => 636,
        "domain-s" => 853,
        "rsync" => 873,
        "ftps-data" => 989,
        "ftps" => 990,
        "telnets" => 992,
        "imaps" => 993,
        "pop3s" => 995,
        "socks" => 1080,
        "openvpn" => 1194,
        "ms-sql-s" => 1433,
        "ms-sql-m" => 1434,
        "pptp" => 1723,
        "radius" => 1812,
        "radius-acct" => 1813,
        "nfs" => 2049,
        "mysql" => 3306,
        "ms-wbt-server" => 3389,
        "svn" => 3690,
        "ipsec-nat-t" => 4500,
        "sip" => 5060,
        "sip-tls" => 5061,
        "xmpp-client" => 5222,
        "mdns" => 5353,
        "postgresql" => 5432,
        "x11" => 6000,
        "http-alt" => 8080,
        _ => return None,
    })
}

/// Standard priority names of `nft` (`priority filter`, `dstnat + 10` …), per table family.
pub(super) fn standard_priority(family: &str, name: &str) -> Option<i32> {
    if family == "bridge" {
        return match name {
            "dstnat" => Some(-300),
            "filter" => Some(-200),
            "out" => Some(100),
            "srcnat" => Some(300),
            _ => None,
        };
    }
    match (family, name) {
        (_, "filter") => Some(0),
        ("arp" | "netdev", _) => None,
        (_, "raw") => Some(-300),
        (_, "mangle") => Some(-150),
        (_, "dstnat") => Some(-100),
        (_, "security") => Some(50),
        (_, "srcnat") => Some(100),
        _ => None,
    }
}

/// Parses a priority written as text: `-150`, `filter`, `mangle - 5`, `dstnat + 10`.
pub(super) fn priority_text(family: &str, text: &str) -> Option<i32> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i32>() {
        return Some(n);
    }
    let split = text
        .char_indices()
        .find(|&(i, c)| i > 0 && (c == '+' || c == '-'));
    let (name, offset) = match split {
        Some((i, c)) => {
            let digits = text.get(i + 1..)?.trim();
            let n: i32 = digits.parse().ok()?;
            (
                text.get(..i)?.trim(),
                if c == '-' { n.checked_neg()? } else { n },
            )
        }
        None => (text, 0),
    };
    standard_priority(family, name)?.checked_add(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_by_name() {
        assert_eq!(priority_text("inet", "filter"), Some(0));
        assert_eq!(priority_text("ip", "dstnat + 10"), Some(-90));
        assert_eq!(priority_text("ip", "mangle - 5"), Some(-155));
        assert_eq!(priority_text("bridge", "filter"), Some(-200));
        assert_eq!(priority_text("netdev", "raw"), None);
        assert_eq!(priority_text("inet", "-150"), Some(-150));
        assert_eq!(priority_text("inet", "bogus"), None);
    }

    #[test]
    fn names() {
        assert_eq!(protocol_number("ipv6-icmp"), Some(58));
        assert_eq!(service_port("ssh"), Some(22));
        assert_eq!(service_port("no-such-service"), None);
    }
}
