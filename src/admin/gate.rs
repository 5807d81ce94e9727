//! The admin API's request gate: what keeps a web page the operator happens to visit from
//! driving the API through the operator's browser.
//!
//! A browser lets any page send a "simple" cross-site request (GET, or a POST with a
//! `text/plain` or form body) and, after DNS rebinding (a hostile name re-pointed to
//! 127.0.0.1), even read the answer. Three checks, before the body is read:
//!
//! - `Host` (and an absolute request target's authority) must name the listener itself:
//!   `localhost`, `127.0.0.1`, `::1`, the address it is bound to, or a name in the config's
//!   `admin_allowed_hosts`. Bound to an unspecified address (`0.0.0.0`, `::`), any IP literal
//!   passes too: DNS rebinding always brings a host name, never an address. The port is not
//!   compared (a proxy or a published container port may change it). Else 403 naming the
//!   host.
//! - `Origin`, when a browser sends one, must be `http://` or `https://` with such a host; a
//!   foreign one, or `null`, gets 403 naming it. Clients that are not browsers send none.
//! - A state-changing request (POST, PUT, PATCH under `/api/`) must say
//!   `Content-Type: application/json`: a browser cannot send that cross-site without a CORS
//!   preflight, which this API never grants. Else 415 naming the type received. DELETE
//!   carries no body and is never sent cross-site without a preflight either. TAK's SOAP
//!   read APIs (`POST /tak/<env>/...`) only read, and take SOAP's content types.
//!
//! The health probes (`/health/...`) pass ungated: a container platform's probe names the
//! container by whatever address it has, and they reveal nothing. This module only judges a
//! request's head; it reads no body and keeps no state.

use std::net::{IpAddr, SocketAddr};

use http::{
    HeaderMap, Method, StatusCode, Uri,
    header::{CONTENT_TYPE, HOST, ORIGIN},
};
use serde_json::json;

/// The names and addresses the admin listener answers to.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Lower-case host names and addresses (as text, IPv6 without brackets) that pass.
    allowed: Vec<String>,
    /// Bound to `0.0.0.0` or `::`: any IP literal passes.
    any_address: bool,
}

/// Why the gate refused a request: the status and the message of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 403 or 415.
    pub status: StatusCode,
    /// Names the refused value.
    pub message: String,
}

impl Refusal {
    /// The refusal as the admin API's JSON error answer.
    pub fn response(&self) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        super::json_response(self.status, &json!({"error": self.message}))
    }
}

/// A host as compared: lower case, without a trailing dot or IPv6 brackets.
fn normalise(host: &str) -> String {
    let h = host.trim().trim_end_matches('.');
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    h.to_ascii_lowercase()
}

/// The host part of an authority (`host`, `host:port`, `[v6]`, `[v6]:port`).
fn host_of(authority: &str) -> &str {
    let a = authority.trim();
    if let Some(rest) = a.strip_prefix('[') {
        return match rest.find(']') {
            Some(end) => &a[..end + 2],
            None => a,
        };
    }
    match a.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => a,
    }
}

impl Gate {
    /// The gate of a listener bound to `bound`, also letting `extra` names through (config
    /// `admin_allowed_hosts`).
    pub fn new(bound: SocketAddr, extra: &[String]) -> Gate {
        let mut allowed: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ip = bound.ip();
        if !ip.is_unspecified() {
            allowed.push(ip.to_string());
        }
        allowed.extend(extra.iter().map(|h| normalise(h)));
        allowed.retain(|h| !h.is_empty());
        allowed.sort();
        allowed.dedup();
        Gate {
            allowed,
            any_address: ip.is_unspecified(),
        }
    }

    fn allows(&self, host: &str) -> bool {
        let h = normalise(host);
        self.allowed.contains(&h) || (self.any_address && h.parse::<IpAddr>().is_ok())
    }

    fn allowed_list(&self) -> String {
        self.allowed.join(", ")
    }

    /// Whether a request with this head may go on; the refusal otherwise.
    pub fn check(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), Refusal> {
        if uri.path().starts_with("/health/") {
            return Ok(());
        }
        let forbidden = |message: String| Refusal {
            status: StatusCode::FORBIDDEN,
            message,
        };
        let hosts = headers
            .get_all(HOST)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .chain(uri.authority().map(|a| a.as_str().to_string()));
        for host in hosts {
            if !self.allows(host_of(&host)) {
                return Err(forbidden(format!(
                    "Host {host:?} is not a name of this admin listener (allowed: {}; add a name \
                     to admin_allowed_hosts in the config to allow it)",
                    self.allowed_list()
                )));
            }
        }
        for origin in headers.get_all(ORIGIN) {
            let origin = String::from_utf8_lossy(origin.as_bytes());
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .filter(|rest| !rest.contains('/'))
                .map(host_of);
            if !host.is_some_and(|h| self.allows(h)) {
                return Err(forbidden(format!(
                    "Origin {origin:?} is not this admin listener: the admin API does not take \
                     requests from other sites' pages (allowed hosts: {})",
                    self.allowed_list()
                )));
            }
        }
        let changes = matches!(*method, Method::POST | Method::PUT | Method::PATCH)
            && uri.path().starts_with("/api/");
        if changes {
            let given = headers
                .get(CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let is_json = given.as_deref().is_some_and(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
            if !is_json {
                let got = match &given {
                    Some(t) => format!("{t:?}"),
                    None => "no Content-Type".to_string(),
                };
                return Err(Refusal {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    message: format!(
                        "{} {} needs Content-Type: application/json; got {got}",
                        method,
                        uri.path()
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Head(http::request::Parts);

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Head {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        Head(b.body(()).unwrap().into_parts().0)
    }

    impl Gate {
        fn judge(&self, h: &Head) -> Result<(), Refusal> {
            self.check(&h.0.method, &h.0.uri, &h.0.headers)
        }
    }

    fn local() -> Gate {
        Gate::new("127.0.0.1:24000".parse().unwrap(), &["ntjp.svc".into()])
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn own_names_pass_with_any_port() {
        let g = local();
        for host in [
            "localhost",
            "localhost:24000",
            "LOCALHOST.",
            "127.0.0.1:1",
            "[::1]:24000",
            "[::1]",
            "ntjp.svc:8080",
            "NTJP.svc",
        ] {
            let p = parts("POST", "/api/sit/publish", &[("host", host), JSON]);
            assert_eq!(g.judge(&p), Ok(()), "{host}");
        }
        // No Host at all (HTTP/1.0) cannot be a rebound name.
        assert_eq!(g.judge(&parts("GET", "/api/sit/versions", &[])), Ok(()));
    }

    #[test]
    fn foreign_hosts_and_origins_get_403_naming_them() {
        let g = local();
        for host in ["evil.example", "evil.example:24000", "10.0.0.7", "[::2]"] {
            let e = g
                .judge(&parts("GET", "/api/sit/versions", &[("host", host)]))
                .unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN);
            assert!(e.message.contains(host), "{}", e.message);
        }
        let e = g
            .judge(&parts(
                "GET",
                "http://evil.example/api/sit/versions",
                &[("host", "localhost")],
            ))
            .unwrap_err();
        assert!(e.message.contains("evil.example"), "{}", e.message);
        for origin in [
            "https://evil.example",
            "http://evil.example:24000",
            "null",
            "file://",
        ] {
            let p = parts(
                "POST",
                "/api/sit/publish",
                &[("host", "localhost:24000"), ("origin", origin), JSON],
            );
            let e = g.judge(&p).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN);
            assert!(e.message.contains(origin), "{}", e.message);
        }
        let p = parts(
            "POST",
            "/api/sit/publish",
            &[
                ("host", "localhost:24000"),
                ("origin", "http://localhost:24000"),
                JSON,
            ],
        );
        assert_eq!(g.judge(&p), Ok(()));
        // The health probes pass whatever they name.
        let p = parts("GET", "/health/ready", &[("host", "10.1.2.3:24000")]);
        assert_eq!(g.judge(&p), Ok(()));
    }

    #[test]
    fn an_unspecified_bind_lets_ip_literals_but_not_names_through() {
        let g = Gate::new("0.0.0.0:24000".parse().unwrap(), &[]);
        for ok in ["10.0.0.7:24000", "[fd00::7]", "localhost"] {
            assert_eq!(
                g.judge(&parts("GET", "/status", &[("host", ok)])),
                Ok(()),
                "{ok}"
            );
        }
        assert!(
            g.judge(&parts("GET", "/status", &[("host", "evil.example")]))
                .is_err()
        );
        let g = Gate::new("192.168.1.5:24000".parse().unwrap(), &[]);
        assert_eq!(
            g.judge(&parts("GET", "/status", &[("host", "192.168.1.5:24000")])),
            Ok(())
        );
    }

    #[test]
    fn state_changes_need_json_and_get_415_naming_the_type() {
        let g = local();
        for (ct, named) in [
            (Some("text/plain"), "\"text/plain\""),
            (
                Some("application/x-www-form-urlencoded"),
                "\"application/x-www-form-urlencoded\"",
            ),
            (None, "no Content-Type"),
        ] {
            let mut h = vec![("host", "localhost")];
            if let Some(ct) = ct {
                h.push(("content-type", ct));
            }
            for m in ["POST", "PUT", "PATCH"] {
                let e = g.judge(&parts(m, "/api/sit/orders", &h)).unwrap_err();
                assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
                assert!(e.message.contains(named), "{}", e.message);
                assert!(e.message.contains("/api/sit/orders"), "{}", e.message);
            }
        }
        for ct in ["application/json", "Application/JSON; charset=utf-8"] {
            let p = parts(
                "POST",
                "/api/sit/orders",
                &[("host", "localhost"), ("content-type", ct)],
            );
            assert_eq!(g.judge(&p), Ok(()), "{ct}");
        }
        // Reads, DELETE and the SOAP read APIs need no JSON.
        for (m, path, ct) in [
            ("GET", "/api/sit/tak", None),
            ("DELETE", "/api/mocks/messages", None),
            ("POST", "/tak/sit/SokVagvalsInfo/v2", Some("text/xml")),
        ] {
            let mut h = vec![("host", "localhost")];
            if let Some(ct) = ct {
                h.push(("content-type", ct));
            }
            assert_eq!(g.judge(&parts(m, path, &h)), Ok(()), "{m} {path}");
        }
    }
}
