//! The inspector the gateway calls: HTTP head and body in, [`Inspection`] out.

use crate::clock::Millis;
use crate::config::InspectLimits;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::identity::{self, Principal};
use crate::inspect::rest;
use crate::inspect::winrm::{WinrmInspection, WinrmInspector};
use crate::invocation::Invocation;

/// What one request turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspection {
    /// A WS-Management request (it may or may not complete a pipeline).
    Winrm(WinrmInspection),
    /// A REST admin API call: always one invocation.
    Rest(Invocation),
}

impl Inspection {
    /// The invocation to decide on, if the request carries a complete one.
    pub fn invocation(&self) -> Option<&Invocation> {
        match self {
            Inspection::Winrm(w) => w.invocation(),
            Inspection::Rest(i) => Some(i),
        }
    }
}

/// Sans-I/O inspection with the WinRM shell state inside; share one per gateway (`Arc`).
/// Methods take `&self`; the shell table is behind a `Mutex` held only for reassembly.
#[derive(Debug)]
pub struct Inspector {
    limits: InspectLimits,
    winrm: WinrmInspector,
}

impl Inspector {
    pub fn new(limits: InspectLimits) -> Self {
        Inspector {
            winrm: WinrmInspector::new(limits.clone()),
            limits,
        }
    }

    /// The WinRM part, for shell-owner lookups.
    pub fn winrm(&self) -> &WinrmInspector {
        &self.winrm
    }

    /// Inspect a buffered request. `cert_principal` is the verified mTLS client principal.
    pub fn inspect(
        &self,
        head: &http::request::Parts,
        body: &[u8],
        cert_principal: Option<&str>,
        now: Millis,
    ) -> Result<Inspection, InspectError> {
        check_http(head)?;
        let principal = self.principal(head, cert_principal)?;
        let path = head.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if rest::is_rest_path(head.uri.path()) {
            let x_cmdlet = header(head, "x-cmdletname")?;
            let inv = rest::inspect_rest(path, x_cmdlet, body, &principal.name, &self.limits)?;
            return Ok(Inspection::Rest(inv));
        }
        let tenant = query_param(head.uri.query().unwrap_or(""), "DelegatedOrg");
        let w = self
            .winrm
            .inspect(body, &principal.name, tenant.as_deref(), now)?;
        Ok(Inspection::Winrm(w))
    }

    /// The caller, from `Authorization` or the client certificate.
    pub fn principal(
        &self,
        head: &http::request::Parts,
        cert_principal: Option<&str>,
    ) -> Result<Principal, InspectError> {
        identity::principal(header(head, "authorization")?, cert_principal)
    }
}

/// Method, body encoding and content type must be inspectable.
fn check_http(head: &http::request::Parts) -> Result<(), InspectError> {
    if head.method != http::Method::POST {
        return Err(InspectError::unsupported(
            Layer::Http,
            "method",
            format!("{}; only POST bodies are inspected", head.method),
        ));
    }
    identity::check_content_type(header(head, "content-type")?)?;
    match header(head, "content-encoding")? {
        None => Ok(()),
        Some(e) if e.trim().eq_ignore_ascii_case("identity") => Ok(()),
        Some(e) => Err(InspectError::unsupported(
            Layer::Http,
            "Content-Encoding",
            format!("{e:?}; send the request body uncompressed"),
        )),
    }
}

/// One header as text; a header sent twice is refused (which one would the endpoint read?).
fn header<'a>(head: &'a http::request::Parts, name: &str) -> Result<Option<&'a str>, InspectError> {
    let mut values = head.headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(InspectError::malformed(
            Layer::Http,
            name,
            "header given twice",
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| InspectError::malformed(Layer::Http, name, "not visible ASCII"))
}

/// A query parameter, name compared ignoring case, `%XX` and `+` decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode() {
        assert_eq!(
            query_param(
                "PSVersion=5.1&delegatedorg=contoso%2Eonmicrosoft.com",
                "DelegatedOrg"
            )
            .as_deref(),
            Some("contoso.onmicrosoft.com")
        );
        assert_eq!(query_param("a=1", "DelegatedOrg"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
