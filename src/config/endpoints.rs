//! Where a running testbed is: `<state-dir>/endpoints.json`, written by `ntjp serve` once
//! its listeners are bound, and read by the tools that call it (`ntjp load`, the CLI, scripts)
//! as their configuration: the admin and mock URLs, each environment's router URLs, and the
//! PKI's files, with the PKCS#12 files' passwords.
//!
//! Only the format; `server` writes it and the tools read it.

use std::{collections::BTreeMap, path::PathBuf};

use serde::{Deserialize, Serialize};

/// Everything a tool needs to call the testbed, written to `<state-dir>/endpoints.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    /// The role of the process that wrote it (`all`, `router`, `orders`, `mocks`;
    /// `cluster.role`): a router node's file lists only its environments and no mocks, an
    /// order service's no routers.
    #[serde(default = "role_all")]
    pub role: String,
    /// Admin base URL (health, status).
    pub admin: String,
    /// Base URL of the mock producers (`<mocks>/<address>/ProcessCervixScreeningInformation/1/rivtabp21`);
    /// empty on a router node.
    #[serde(default)]
    pub mocks: String,
    /// Per environment (`sit`, `qa`, `prod`).
    pub environments: BTreeMap<String, EnvEndpoints>,
    /// Certificates and keys.
    pub pki: PkiPaths,
}

fn role_all() -> String {
    "all".to_string()
}

/// One environment's addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvEndpoints {
    /// TAK platform name (`plattform` in orders).
    pub platform: String,
    /// The platform instance id (`x-vp-instance-id`).
    pub instance_id: String,
    /// Consumers call here with their client certificate: `https://localhost:<port>/vp`.
    pub router_https: String,
    /// Plain HTTP for whitelisted callers: `http://127.0.0.1:<port>/vp`.
    pub router_http: String,
}

/// Where the PKI's files are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PkiPaths {
    /// The test CA certificate (trust it to call the routers).
    pub ca: PathBuf,
    /// HSA-id of the consumer the default orders authorise.
    pub consumer_hsa_id: String,
    /// Its certificate (PEM).
    pub consumer_cert: PathBuf,
    /// Its private key (PEM).
    pub consumer_key: PathBuf,
    /// HSA-id of a consumer with a valid certificate but no authorisation.
    pub unauthorised_hsa_id: String,
    /// Its certificate (PEM).
    pub unauthorised_cert: PathBuf,
    /// Its private key (PEM).
    pub unauthorised_key: PathBuf,
    /// HSA-id of the platform (its certificate is the routers' server certificate and the
    /// client certificate towards producers).
    pub platform_hsa_id: String,
    /// `consumer.p12`: the default consumer's key store for Java, SoapUI and .NET (its key,
    /// its certificate and the CA; the CA is also a trusted entry, so it can serve as the
    /// trust store too).
    #[serde(default)]
    pub consumer_p12: KeyStoreFile,
    /// `unauthorised.p12`: the same for the unauthorised consumer (VP007).
    #[serde(default)]
    pub unauthorised_p12: KeyStoreFile,
    /// `truststore.p12`: the test CA alone, as a trusted entry (`javax.net.ssl.trustStore`).
    #[serde(default)]
    pub truststore_p12: KeyStoreFile,
}

/// A PKCS#12 file and its password.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyStoreFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its password (the testbed writes `changeit`, Java's default).
    pub password: String,
}
