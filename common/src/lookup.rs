//! Name lookup, IPv4 first.

use std::net::{SocketAddr, ToSocketAddrs as _};

use anyhow::Context as _;

/// Looks up the addresses of `host`, which may be a name, an IPv4 literal
/// or an IPv6 literal such as `::1` (Python: `socket.getaddrinfo`).
///
/// The Python scripts create `AF_INET` sockets, so their `connect` and
/// `sendto` only ever use a name's IPv4 addresses. We put those first and
/// the IPv6 ones after them. The system's own order often starts with `::1`
/// for `localhost` (macOS and Debian do), which would miss a server that
/// listens on 127.0.0.1 only. A literal address has just itself.
///
/// The list is never empty: with no address, this fails.
pub fn lookup(host: &str, port: u16) -> anyhow::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("could not look up '{host}'"))?
        .collect();
    if addresses.is_empty() {
        anyhow::bail!("could not look up '{host}': it has no address");
    }
    Ok(ipv4_first(addresses))
}

/// Moves the IPv4 addresses to the front, keeping the order within each
/// family.
pub fn ipv4_first(mut addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    // A stable sort: `false` (IPv4) before `true` (IPv6).
    addresses.sort_by_key(SocketAddr::is_ipv6);
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `::1` listed first still puts 127.0.0.1 first; order within a family
    /// stays.
    #[test]
    fn puts_ipv4_first_and_keeps_the_order_within_each_family() {
        let listed: Vec<SocketAddr> =
            ["[::1]:80", "127.0.0.1:80", "[fe80::1]:80", "10.0.0.1:80"]
                .iter()
                .map(|text| text.parse().expect("a literal address"))
                .collect();
        let ordered: Vec<String> =
            ipv4_first(listed).iter().map(ToString::to_string).collect();
        assert_eq!(
            ordered,
            ["127.0.0.1:80", "10.0.0.1:80", "[::1]:80", "[fe80::1]:80"]
        );
    }

    /// A literal keeps its family, with nothing added.
    #[test]
    fn a_literal_is_its_own_address() {
        let v6 = lookup("::1", 9).expect("a literal needs no lookup");
        assert_eq!(v6, ["[::1]:9".parse::<SocketAddr>().expect("literal")]);
        let v4 = lookup("127.0.0.1", 9).expect("a literal needs no lookup");
        assert_eq!(v4, ["127.0.0.1:9".parse::<SocketAddr>().expect("literal")]);
    }
}
