//! Where a webhook may point. Its URL is chosen by an admin, but the
//! request goes out from inside the commune's network: without a check, a
//! webhook could reach the database, a router's admin page or a cloud's
//! metadata service. So private, loopback, link-local and other
//! non-public addresses are refused, unless `LOPHOC_WEBHOOK_ALLOW_PRIVATE`
//! says the receivers live inside: when the webhook is created, and again
//! at each delivery on the address the name resolves to then, inside the
//! connector, so that the address checked is the address connected to (a
//! name that later points inside is refused, DNS rebinding included).

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use actix_tls::connect::Resolve;
use futures_util::future::LocalBoxFuture;
use url::{Host, Url};

/// How long a name may take to resolve.
const LOOKUP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a webhook's URL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an absolute `http` or `https` URL with a host, or one carrying
    /// a user name or password.
    NotHttp,
    /// Its host name does not resolve.
    Unresolvable,
    /// It is, or resolves to, an address that is not public.
    NotPublic,
}

impl std::fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotHttp => "not an http(s) URL",
            Self::Unresolvable => "the host name does not resolve",
            Self::NotPublic => "the address is not public",
        })
    }
}

impl StdError for UrlProblem {}

/// An absolute `http(s)` URL with a host and without credentials.
pub fn parse(raw: &str) -> Result<Url, UrlProblem> {
    let url = Url::parse(raw.trim()).map_err(|_| UrlProblem::NotHttp)?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none();
    if plain { Ok(url) } else { Err(UrlProblem::NotHttp) }
}

/// Checks where `url` points now: its address, or every address its name
/// resolves to, must be public unless `allow_private`.
pub async fn check_destination(url: &Url, allow_private: bool) -> Result<(), UrlProblem> {
    let port = url.port_or_known_default().unwrap_or(443);
    match url.host() {
        Some(Host::Ipv4(ip)) => allowed(IpAddr::V4(ip), allow_private),
        Some(Host::Ipv6(ip)) => allowed(IpAddr::V6(ip), allow_private),
        Some(Host::Domain(name)) => resolve(name, port, allow_private).await.map(drop),
        None => Err(UrlProblem::NotHttp),
    }
}

fn allowed(ip: IpAddr, allow_private: bool) -> Result<(), UrlProblem> {
    if allow_private || is_public(ip) { Ok(()) } else { Err(UrlProblem::NotPublic) }
}

/// The addresses of `name`, all of them allowed, or why not.
async fn resolve(
    name: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, UrlProblem> {
    // A bracketed IPv6 literal reaches a resolver as it is written.
    let literal = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        allowed(ip, allow_private)?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let lookup = tokio::time::timeout(LOOKUP_DEADLINE, tokio::net::lookup_host((name, port)));
    let addresses: Vec<SocketAddr> = match lookup.await {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(_)) | Err(_) => return Err(UrlProblem::Unresolvable),
    };
    if addresses.is_empty() {
        return Err(UrlProblem::Unresolvable);
    }
    // All or nothing: a name with one inside address among public ones
    // could be made to connect to it.
    for address in &addresses {
        allowed(address.ip(), allow_private)?;
    }
    Ok(addresses)
}

/// The resolver of the webhook client's connector: names resolve only to
/// allowed addresses, and the connection goes to what was checked.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn StdError>>> {
        Box::pin(async move {
            resolve(host, port, self.allow_private).await.map_err(|p| Box::new(p) as Box<_>)
        })
    }
}

/// Whether `ip` is an address of the public internet: not private,
/// loopback, link-local, shared (carrier NAT), unspecified, broadcast,
/// multicast, documentation, benchmarking or reserved, nor an IPv6 form of
/// one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (RFC 6598), used by carrier-grade NAT.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments (RFC 6890).
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking (RFC 2544).
        || (a == 198 && (18..20).contains(&b))
        // Reserved for future use.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    // Forms that carry an IPv4 address are as public as it is: NAT64
    // (RFC 6052) and IPv4-translated (RFC 2765) in their last 32 bits,
    // 6to4 (RFC 3056) in the 32 bits after its prefix.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return is_public_v4(v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(v4(segments[1], segments[2]));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local (fc00::/7), link-local (fe80::/10) and the former
        // site-local (fec0::/10).
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        // Local-use NAT64 (RFC 8215), which may reach inside.
        || (segments[0] == 0x64 && segments[1] == 0xff9b && segments[2] == 1)
        // Documentation (2001:db8::/32).
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        // IPv4-compatible addresses (::a.b.c.d), deprecated.
        || segments[..6] == [0; 6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        let inside = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::8.8.8.8",
            "::ffff:0:10.0.0.1",
            "2002:c0a8:0101::1",
            "fec0::1",
            "2001:db8::1",
        ];
        for ip in inside {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in [
            "8.8.8.8",
            "203.113.131.1",
            "2001:4860:4860::8888",
            "::ffff:1.1.1.1",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as not public");
        }
    }

    #[test]
    fn only_plain_http_urls_parse() {
        assert!(parse("https://so.example.vn/lophoc").is_ok());
        assert!(parse("http://203.113.131.1:8080/hook").is_ok());
        for bad in
            ["ftp://example.vn/", "https://user:pass@example.vn/", "/relative", "https://", "x"]
        {
            assert_eq!(parse(bad), Err(UrlProblem::NotHttp), "{bad}");
        }
    }

    #[actix_web::test]
    async fn names_are_checked_on_what_they_resolve_to() {
        let local = parse("http://localhost:9/").unwrap();
        assert_eq!(check_destination(&local, false).await, Err(UrlProblem::NotPublic));
        assert_eq!(check_destination(&local, true).await, Ok(()));
        let literal = parse("http://[::1]:9/").unwrap();
        assert_eq!(check_destination(&literal, false).await, Err(UrlProblem::NotPublic));
        let resolver = GuardedResolver { allow_private: false };
        assert!(resolver.lookup("localhost", 80).await.is_err());
        assert!(resolver.lookup("[::1]", 80).await.is_err());
        let open = GuardedResolver { allow_private: true };
        assert!(!open.lookup("localhost", 80).await.unwrap().is_empty());
    }
}
