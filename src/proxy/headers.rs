//! Hop-by-hop headers: they describe one connection, so they never cross the proxy.

use http::header::{self, HeaderMap, HeaderName};

/// Headers that are always connection-specific (RFC 9110 7.6.1, plus the legacy `Keep-Alive`
/// and `Proxy-*`). `Authorization` is end-to-end and is not among them.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Remove the hop-by-hop headers, the ones `Connection` names, and every `Proxy-*` header.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn hop_by_hop_and_connection_named_headers_go_end_to_end_ones_stay() {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, X-Conn-Only"),
            ("connection", "Another"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic eA=="),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "X-T"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-conn-only", "1"),
            ("another", "2"),
            ("authorization", "Negotiate abc=="),
            ("content-type", "application/soap+xml"),
            ("content-length", "5"),
        ] {
            h.append(name, HeaderValue::from_static(value));
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "content-length", "content-type"]);
        assert_eq!(h["authorization"], "Negotiate abc==");
    }
}
