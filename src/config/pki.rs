//! The PKI's settings (TOML `[pki]`): the integrator's own host names in the testbed's
//! certificates, and the CAs besides the testbed's own that the routers trust — for consumer
//! certificates (an integrator's CA, the SITHS test roots) and for producers' server
//! certificates (a real producer's CA).
//!
//! Only where things are and what they are called: `crate::pki` writes the certificates and
//! `crate::tls` reads the trust anchors. Like all of `config`, this imports nothing but `vocab`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// TOML `[pki]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PkiConfig {
    /// Where the test CA and every certificate live; created on first start when missing.
    /// Nodes of one testbed that run as several processes (`cluster.role`) share one
    /// directory (or a copy of it, e.g. a Kubernetes Secret mounted read-only): the routers,
    /// the mock producers and the consumers must trust the same CA. Default
    /// `<state_dir>/pki`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Host names and IP addresses put in the platform certificate (the routers' and the mock
    /// producers' server certificate) besides `localhost` and `127.0.0.1`, so that clients can
    /// call the testbed by a container's or a machine's name with host-name checking on, e.g.
    /// `["ntjp-testbed", "ntjp.example.internal", "10.0.0.7"]`. A certificate in an existing
    /// state directory that lacks one of them is reissued (from the same CA) at start.
    /// Default: none.
    pub extra_sans: Vec<String>,
    /// PEM files of CA certificates (one or more each) whose certificates the routers'
    /// HTTPS listeners accept from consumers, besides the testbed's CA: an integrator's own
    /// CA, the SITHS test roots. The consumer's HSA-id is still read from its certificate's
    /// subject serialNumber, as for the testbed's certificates. Default: none.
    pub consumer_trust: Vec<PathBuf>,
    /// PEM files of CA certificates the routers trust for producers' server certificates
    /// besides the testbed's CA: the CA of a real producer a route points at. The routers
    /// still present the testbed's platform certificate to it. Default: none.
    pub producer_trust: Vec<PathBuf>,
}

impl PkiConfig {
    /// Checks the values serde cannot: every SAN a host name or an IP address. The message
    /// names the key and the value.
    pub fn check(&self) -> Result<(), String> {
        for san in &self.extra_sans {
            let bad = san.is_empty()
                || san.len() > 253
                || !san
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
            if bad {
                return Err(format!(
                    "pki.extra_sans: {san:?} is not a host name or an IP address (give names \
                     like \"ntjp-testbed\" or addresses like \"10.0.0.7\", without scheme, port \
                     or path)"
                ));
            }
        }
        for (key, files) in [
            ("pki.consumer_trust", &self.consumer_trust),
            ("pki.producer_trust", &self.producer_trust),
        ] {
            if let Some(empty) = files.iter().find(|p| p.as_os_str().is_empty()) {
                return Err(format!(
                    "{key}: {empty:?} is empty; give the path of a PEM file"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_must_be_names_or_addresses() {
        let mut c = PkiConfig {
            extra_sans: vec!["ntjp-testbed".into(), "10.0.0.7".into(), "::1".into()],
            ..PkiConfig::default()
        };
        c.check().unwrap();
        c.extra_sans.push("https://ntjp-testbed:20000".into());
        let err = c.check().unwrap_err();
        assert!(err.contains("https://ntjp-testbed:20000"), "{err}");
    }
}
