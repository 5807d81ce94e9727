//! Running the testbed as several processes (TOML `[cluster]`): which part this process is
//! (`role`), where a router node loads its TAK from, where an order service finds the router
//! nodes to reset and the mock producers its orders point at.
//!
//! The real platform's split, reproduced: VP nodes load TAK through TAK's read API
//! (`SokVagvalsInfo` v2) and keep a local copy; one TAK (here: the order service) is the single
//! writer, and after a publish the ordering side calls `/resetcache` on every VP node.
//! Only names and addresses; `crate::cluster` does the work. Imports nothing but `vocab`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::vocab::EnvName;

/// Which parts of the testbed a process runs (`ntjp serve --role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in one process: routers, order service, mock producers, admin (the default).
    #[default]
    All,
    /// The routers of `cluster.environments`, each loading its TAK from the order service (or
    /// a real TAK) over `SokVagvalsInfo` v2; the admin listener serves the node's `/status`,
    /// `/health/*`, `/resetcache`, `/resethsacache` and `/metrics`.
    Router,
    /// The order service (the single writer of every environment's TAK), the TAK read APIs,
    /// the admin API and the console; it resets `cluster.routers` after each publish.
    Orders,
    /// The mock producers, with an admin listener for `/health/*`, `/metrics` and
    /// `/api/mocks/...`.
    Mocks,
}

impl Role {
    /// The name used in flags, TOML and `endpoints.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Router => "router",
            Role::Orders => "orders",
            Role::Mocks => "mocks",
        }
    }

    /// Whether this process runs routers.
    pub fn routes(self) -> bool {
        matches!(self, Role::All | Role::Router)
    }

    /// Whether this process runs the order service.
    pub fn orders(self) -> bool {
        matches!(self, Role::All | Role::Orders)
    }

    /// Whether this process runs the mock producers.
    pub fn mocks(self) -> bool {
        matches!(self, Role::All | Role::Mocks)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TOML `[cluster]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Which parts this process runs: `all` (default), `router`, `orders` or `mocks`.
    pub role: Role,
    /// `router`: the environments whose routers this node runs. Default all three.
    pub environments: Vec<EnvName>,
    /// `router`: the order service's admin base URL; an environment's TAK is read from
    /// `<orders_url>/tak/<env>/SokVagvalsInfo/v2` unless `environments.<env>.tak_url` names
    /// another (a real TAK's `.../tak-services/SokVagvalsInfo/v2`). Default
    /// `http://127.0.0.1:24000`.
    pub orders_url: String,
    /// `router`: where the last good copy of each environment's TAK is kept
    /// (`<dir>/<env>.xml`, VP's `persistentCache` format), read at start when the TAK service
    /// cannot be reached. Default `<state_dir>/takcache`.
    pub tak_cache_dir: Option<PathBuf>,
    /// `router`: how long one TAK read (one `SokVagvalsInfo` operation: connect, request and
    /// the whole answer) may take, ms. Default 60000.
    pub tak_fetch_timeout_ms: u64,
    /// `router`: the largest `SokVagvalsInfo` answer read, bytes; a larger one fails the
    /// reset (the old TAK stays). Default 1 GiB (a TAK of 1,000,000 routes is about 400 MB).
    pub max_tak_bytes: usize,
    /// `orders`: the router nodes' admin base URLs, e.g. `["http://10.0.0.5:24000"]`. After
    /// every publish of an environment the order service calls
    /// `GET <url>/resetcache?env=<env>` on each and reports per router whether it refreshed. A
    /// host name that resolves to several addresses (a Kubernetes headless Service) means
    /// every address. Default: none.
    pub routers: Vec<String>,
    /// `orders`: how long one router's `/resetcache` may take, ms. Default 30000.
    pub reset_timeout_ms: u64,
    /// `orders`: the mock producers' base URL, what `{{mocks}}` in orders stands for, e.g.
    /// `https://ntjp-mocks:25000/mocks`. Default `https://localhost:<port of mocks>/mocks`.
    pub mocks_url: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            role: Role::All,
            environments: EnvName::ALL.to_vec(),
            orders_url: "http://127.0.0.1:24000".to_string(),
            tak_cache_dir: None,
            tak_fetch_timeout_ms: 60_000,
            max_tak_bytes: 1 << 30,
            routers: Vec::new(),
            reset_timeout_ms: 30_000,
            mocks_url: None,
        }
    }
}

impl ClusterConfig {
    /// Checks what serde cannot; the message names the key and the value.
    pub fn check(&self) -> Result<(), String> {
        if self.role == Role::Router && self.environments.is_empty() {
            return Err(
                "cluster.environments is empty: a router node routes at least one environment"
                    .into(),
            );
        }
        for (i, e) in self.environments.iter().enumerate() {
            if self.environments[..i].contains(e) {
                return Err(format!("cluster.environments names {e} twice"));
            }
        }
        for (key, v) in [
            ("cluster.tak_fetch_timeout_ms", self.tak_fetch_timeout_ms),
            ("cluster.max_tak_bytes", self.max_tak_bytes as u64),
            ("cluster.reset_timeout_ms", self.reset_timeout_ms),
        ] {
            if v == 0 {
                return Err(format!("{key} must be greater than 0"));
            }
        }
        check_http_url("cluster.orders_url", &self.orders_url)?;
        for (i, url) in self.routers.iter().enumerate() {
            let key = format!("cluster.routers[{i}]");
            check_http_url(&key, url)?;
            if !url.starts_with("http://") {
                return Err(format!(
                    "{key}: {url:?}: a router node's admin listener speaks plain HTTP; give http://<host>:<port>"
                ));
            }
        }
        if let Some(url) = &self.mocks_url {
            check_http_url("cluster.mocks_url", url)?;
        }
        Ok(())
    }

    /// Whether this node runs `env`'s routers.
    pub fn routes(&self, env: EnvName) -> bool {
        match self.role {
            Role::All => true,
            Role::Router => self.environments.contains(&env),
            Role::Orders | Role::Mocks => false,
        }
    }
}

/// An `http://` or `https://` URL with a host; the message names the key.
pub fn check_http_url(key: &str, url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let ok = match rest {
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or("");
            !host.is_empty() && !rest.contains(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        return Err(format!(
            "{key}: {url:?} is not a URL (give http:// or https://<host>:<port>[/path], e.g. \
             \"http://ntjp-orders:24000\")"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_bad_values_are_named() {
        ClusterConfig::default().check().unwrap();
        let c = ClusterConfig {
            routers: vec!["ntjp-router:24000".into()],
            ..ClusterConfig::default()
        };
        let err = c.check().unwrap_err();
        assert!(
            err.contains("cluster.routers[0]") && err.contains("ntjp-router:24000"),
            "{err}"
        );
        let c = ClusterConfig {
            role: Role::Router,
            environments: vec![EnvName::Sit, EnvName::Sit],
            ..ClusterConfig::default()
        };
        assert!(c.check().unwrap_err().contains("sit twice"));
        let c: ClusterConfig =
            toml::from_str("role = \"router\"\nenvironments = [\"qa\"]").unwrap();
        assert!(c.routes(EnvName::Qa) && !c.routes(EnvName::Sit));
        let err = toml::from_str::<ClusterConfig>("role = \"routers\"").unwrap_err();
        assert!(err.to_string().contains("routers"), "{err}");
    }
}
