//! The several-node deployment files, checked against the program without a cluster (that
//! the manifests are valid Kubernetes objects is `scripts/k8s-check.sh`, run by `.ci/run`):
//! every `NTJP_*` variable of `deploy/kubernetes/` and `compose.cluster.yaml` is a setting
//! `serve` accepts with the image's own variables under it (an unknown one would stop the pod
//! at start-up), each node's role matches its workload, the ports the pods declare, the
//! Services forward, haproxy balances and compose publishes are the listeners' ports and
//! among those the `Dockerfile` `EXPOSE`s, the URLs the nodes call each other by name the
//! Services and ports that exist, the platform certificate names the hosts called over TLS,
//! the admin listeners answer to the names they are called by, and `scripts/k8s-pki.sh`
//! makes a PKI whose platform certificate names what the ConfigMap says.
//!
//! The files are read line by line in the shape they are written in (one key per line, a
//! container's `env` as `- name:` then `value:`), as `tests/container.rs` reads the
//! Dockerfile: each check asserts it found what it looks for, so a file written differently
//! fails rather than passes unchecked.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use ntjp_testbed::{
    config::{Config, layers},
    vocab::EnvName,
};
use rustls_pki_types::pem::PemObject as _;

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A YAML scalar without its quotes.
fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// The `NTJP_*` variables in `text`: `NTJP_X: value` (a ConfigMap's data, compose's
/// environment) and `- name: NTJP_X` followed by `value: ...` (a container's env).
fn ntjp_vars(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) = line.strip_prefix("- name: NTJP_") {
            let value = lines[i + 1]
                .strip_prefix("value: ")
                .unwrap_or_else(|| panic!("NTJP_{name}: no `value:` on the next line"));
            out.push((format!("NTJP_{name}"), unquote(value)));
        } else if line.starts_with("NTJP_") {
            let (k, v) = line.split_once(": ").unwrap();
            out.push((k.to_string(), unquote(v)));
        }
    }
    out
}

/// The Dockerfile's instructions with their continuation lines joined, comments left out.
fn instructions() -> Vec<String> {
    common::dockerfile_instructions(&read("Dockerfile"))
}

/// The runtime image's `ENV` (the base every node's variables lie over).
fn image_env() -> Vec<(String, String)> {
    let all = instructions();
    let from = all.iter().rposition(|i| i.starts_with("FROM ")).unwrap();
    let env: Vec<(String, String)> = all[from..]
        .iter()
        .filter_map(|i| i.strip_prefix("ENV "))
        .flat_map(|e| e.split_whitespace())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    assert!(env.len() >= 8, "the Dockerfile's ENV: {env:?}");
    env
}

fn exposed() -> BTreeSet<u16> {
    let all = instructions();
    let expose = all
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("EXPOSE "))
        .unwrap();
    expose
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Loads a node's variables over the image's, as `serve` would, and validates them.
fn node_config(what: &str, vars: &[(String, String)]) -> Config {
    let layered = layers::load(
        None,
        image_env().into_iter().chain(vars.iter().cloned()),
        &[],
    )
    .unwrap_or_else(|e| panic!("{what}: not a valid configuration: {e}"));
    layered.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
    layered.config
}

fn lookup<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A TOML list of strings, as the variables write one.
fn list(value: &str) -> Vec<String> {
    let v: toml::Value = toml::from_str(&format!("v = {value}")).unwrap();
    v["v"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// `scheme://host:port/path` into its host and port.
fn host_port(url: &str, scheme: &str) -> (String, u16) {
    let rest = url
        .strip_prefix(&format!("{scheme}://"))
        .unwrap_or_else(|| panic!("{url} is not {scheme}://"));
    let authority = rest.split('/').next().unwrap();
    let (host, port) = authority.split_once(':').unwrap();
    (host.to_string(), port.parse().unwrap())
}

/// The ports of the routers of every environment, https then http.
fn router_ports(c: &Config) -> BTreeSet<u16> {
    EnvName::ALL
        .into_iter()
        .flat_map(|e| {
            [
                c.environments.get(e).https.port(),
                c.environments.get(e).http.port(),
            ]
        })
        .collect()
}

fn https_ports(c: &Config) -> BTreeSet<u16> {
    EnvName::ALL
        .into_iter()
        .map(|e| c.environments.get(e).https.port())
        .collect()
}

/// One YAML document of a manifest.
struct Doc {
    kind: String,
    name: String,
    text: String,
}

impl Doc {
    /// The value of the first `key: value` line (trimmed) after the line `after`.
    fn value_after(&self, after: &str, key: &str) -> Option<String> {
        let start = self.text.find(after)?;
        self.text[start..]
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")).map(unquote))
    }
    fn component(&self) -> String {
        self.value_after("labels:", "app.kubernetes.io/component")
            .unwrap_or_else(|| panic!("{}: no component label", self.name))
    }
    /// Named ports: `- name: X` followed by `containerPort: N` (or `port: N` in a Service).
    fn ports(&self, key: &str) -> BTreeMap<String, u16> {
        let lines: Vec<&str> = self.text.lines().map(str::trim).collect();
        lines
            .windows(2)
            .filter_map(|w| {
                let name = w[0].strip_prefix("- name: ")?;
                let port = w[1].strip_prefix(&format!("{key}: "))?;
                Some((name.to_string(), port.parse().unwrap()))
            })
            .collect()
    }
}

fn manifests() -> Vec<Doc> {
    let kustomization = read("deploy/kubernetes/kustomization.yaml");
    let files: Vec<String> = kustomization
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|f| f.ends_with(".yaml"))
        .map(String::from)
        .collect();
    assert!(
        files.len() >= 4,
        "kustomization.yaml's resources: {files:?}"
    );
    let mut docs = Vec::new();
    for file in files {
        for text in read(&format!("deploy/kubernetes/{file}")).split("\n---\n") {
            let field = |prefix: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(prefix))
                    .unwrap_or_else(|| panic!("{file}: a document without `{prefix}`"))
                    .to_string()
            };
            docs.push(Doc {
                kind: field("kind: "),
                name: field("  name: "),
                text: text.to_string(),
            });
        }
    }
    docs
}

#[test]
fn the_kubernetes_nodes_settings_ports_and_names_agree_with_the_program_and_each_other() {
    let docs = manifests();
    let of_kind = |kind: &'static str| docs.iter().filter(move |d| d.kind == kind);
    let config_map = of_kind("ConfigMap").next().expect("a ConfigMap");
    let shared = ntjp_vars(&config_map.text);
    assert!(
        lookup(&shared, "NTJP_PKI__EXTRA_SANS").is_some(),
        "{shared:?}"
    );
    let extra_sans = list(lookup(&shared, "NTJP_PKI__EXTRA_SANS").unwrap());
    let allowed = list(lookup(&shared, "NTJP_ADMIN_ALLOWED_HOSTS").unwrap());
    let expose = exposed();
    let uid = {
        let docker = read("Dockerfile");
        let at = docker.find("--uid ").unwrap() + 6;
        docker[at..].split_whitespace().next().unwrap().to_string()
    };

    let services: Vec<&Doc> = of_kind("Service").collect();
    let service = |component: &str, headless: bool| {
        services
            .iter()
            .find(|s| s.component() == component && s.text.contains("clusterIP: None") == headless)
            .unwrap_or_else(|| panic!("no Service for {component} (headless: {headless})"))
    };

    let mut roles = BTreeSet::new();
    let workloads: Vec<&Doc> = docs
        .iter()
        .filter(|d| d.kind == "Deployment" || d.kind == "StatefulSet")
        .collect();
    for w in &workloads {
        let what = format!("{} {}", w.kind, w.name);
        assert!(
            w.text.contains(&format!("name: {}", config_map.name)),
            "{what} takes the shared ConfigMap"
        );
        let own = ntjp_vars(&w.text);
        let vars: Vec<_> = shared.iter().chain(&own).cloned().collect();
        let config = node_config(&what, &vars);
        let role = lookup(&own, "NTJP_CLUSTER__ROLE").unwrap_or_else(|| panic!("{what}: no role"));
        assert_eq!(
            role,
            w.component(),
            "{what}: its role and its component label"
        );
        assert_eq!(config.cluster.role.as_str(), role, "{what}");
        roles.insert(role.to_string());

        // The pod declares exactly its role's listeners, each exposed by the image.
        let declared = w.ports("containerPort");
        let ports: BTreeSet<u16> = declared.values().copied().collect();
        let mut wanted = BTreeSet::from([config.admin.port()]);
        match role {
            "router" => wanted.extend(router_ports(&config)),
            "mocks" => {
                wanted.insert(config.mocks.port());
            }
            _ => {}
        }
        assert_eq!(ports, wanted, "{what}: containerPorts");
        assert!(
            ports.is_subset(&expose),
            "{what}: {ports:?} not all in EXPOSE {expose:?}"
        );
        assert_eq!(declared.get("admin"), Some(&config.admin.port()), "{what}");

        // The probes: ready (TAK loaded, for a router) gates start-up and traffic.
        for (probe, path) in [
            ("startupProbe:", "/health/ready"),
            ("readinessProbe:", "/health/ready"),
            ("livenessProbe:", "/health/live"),
        ] {
            assert_eq!(
                w.value_after(probe, "path").as_deref(),
                Some(path),
                "{what} {probe}"
            );
            assert_eq!(
                w.value_after(probe, "port").as_deref(),
                Some("admin"),
                "{what} {probe}"
            );
        }
        // The image's user, the state directory and the PKI where the settings say.
        assert_eq!(
            w.value_after("securityContext:", "runAsUser"),
            Some(uid.clone())
        );
        let mounts: Vec<String> = w
            .text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("mountPath: ").map(unquote))
            .collect();
        assert!(
            mounts.contains(&config.state_dir.display().to_string()),
            "{what}: {mounts:?}"
        );
        let pki_dir = config.pki_dir().display().to_string();
        assert!(mounts.contains(&pki_dir), "{what}: {mounts:?}");

        let replicas: u32 = w.value_after("spec:", "replicas").unwrap().parse().unwrap();
        match role {
            "router" => {
                assert!(replicas >= 2, "{what}: {replicas} replicas");
                assert!(
                    w.text.contains("emptyDir:"),
                    "{what}: its TAK cache on an emptyDir"
                );
                let valid: Vec<String> = EnvName::ALL
                    .iter()
                    .map(|e| e.as_str().to_string())
                    .collect();
                let envs = list(lookup(&own, "NTJP_CLUSTER__ENVIRONMENTS").unwrap());
                assert!(envs.iter().all(|e| valid.contains(e)), "{envs:?}");
                // TAK from the order service's Service, at the admin port, by a name its
                // admin listener answers to.
                let (host, port) =
                    host_port(lookup(&own, "NTJP_CLUSTER__ORDERS_URL").unwrap(), "http");
                let orders = service("orders", false);
                assert_eq!(host, orders.name);
                assert_eq!(port, config.admin.port());
                assert!(allowed.contains(&host), "{host} not in {allowed:?}");
            }
            "orders" => {
                assert_eq!(w.kind, "StatefulSet", "the single writer");
                assert_eq!(replicas, 1, "the single writer");
                assert!(
                    w.text.contains("volumeClaimTemplates:"),
                    "{what}: journal on a PVC"
                );
                // Resets go to every router pod through the headless Service.
                let routers = list(lookup(&own, "NTJP_CLUSTER__ROUTERS").unwrap());
                let headless = service("router", true);
                assert!(headless.text.contains("publishNotReadyAddresses: true"));
                assert_eq!(
                    routers,
                    [format!("http://{}:{}", headless.name, config.admin.port())]
                );
                // The {{mocks}} token: the mocks' Service, over TLS with the platform
                // certificate, which must name it.
                let url = lookup(&own, "NTJP_CLUSTER__MOCKS_URL").unwrap();
                let (host, port) = host_port(url, "https");
                assert!(url.ends_with("/mocks"), "{url}");
                assert_eq!(host, service("mocks", false).name);
                assert_eq!(port, config.mocks.port());
                assert!(extra_sans.contains(&host), "{host} not in {extra_sans:?}");
            }
            "mocks" => assert_eq!(replicas, 1, "{what}: recordings are per process"),
            other => panic!("{what}: unknown role {other}"),
        }

        // Every Service of this component forwards to ports the pod names, at their number.
        for s in services.iter().filter(|s| s.component() == role) {
            let forwarded = s.ports("port");
            assert!(!forwarded.is_empty(), "{}", s.name);
            for (name, port) in forwarded {
                assert_eq!(
                    declared.get(&name),
                    Some(&port),
                    "Service {} port {name}",
                    s.name
                );
            }
        }
    }
    assert_eq!(
        roles,
        BTreeSet::from(["mocks".into(), "orders".into(), "router".into()]),
        "one workload per role"
    );
    // Consumers call the router Service over TLS: the platform certificate names it.
    let router = service("router", false);
    assert!(
        extra_sans.contains(&router.name.to_string()),
        "{extra_sans:?}"
    );
    let consumer_ports: BTreeSet<u16> = router.ports("port").values().copied().collect();
    let defaults = node_config("the image", &[]);
    assert_eq!(
        consumer_ports,
        router_ports(&defaults),
        "the router Service's ports"
    );
}

/// A compose service running `ntjp`: its name, configuration and `NTJP_*` variables.
type Node = (String, Config, Vec<(String, String)>);

/// compose.cluster.yaml's services: name to their lines.
fn compose_services(text: &str) -> BTreeMap<String, String> {
    let body = &text[text.find("\nservices:\n").unwrap() + 11..];
    let body = &body[..body.find("\nvolumes:\n").unwrap()];
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
            && !name.starts_with('#')
        {
            current = Some(name.to_string());
            out.insert(name.to_string(), String::new());
            continue;
        }
        if let Some(c) = &current {
            let s = out.get_mut(c).unwrap();
            s.push_str(line);
            s.push('\n');
        }
    }
    out
}

#[test]
fn the_compose_clusters_nodes_haproxy_and_ports_agree_with_the_program_and_each_other() {
    let compose = read("compose.cluster.yaml");
    let services = compose_services(&compose);
    let expose = exposed();
    let mut by_role: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    for (name, text) in &services {
        let vars = ntjp_vars(text);
        let Some(role) = lookup(&vars, "NTJP_CLUSTER__ROLE") else {
            continue;
        };
        let config = node_config(&format!("compose.cluster.yaml's {name}"), &vars);
        assert_eq!(config.cluster.role.as_str(), role, "{name}");
        // What it publishes is among its listeners and the image's EXPOSE.
        for line in text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- \"127.0.0.1:"))
        {
            let inner: u16 = line.split(['"', ':']).nth(1).unwrap().parse().unwrap();
            assert!(expose.contains(&inner), "{name} publishes {inner}");
        }
        // One PKI: the same directory, the same names, writable by the order service alone.
        let pki_dir = lookup(&vars, "NTJP_PKI__DIR").expect("NTJP_PKI__DIR");
        let mount = text
            .lines()
            .find(|l| l.contains(&format!(":{pki_dir}")))
            .unwrap_or_else(|| panic!("{name} does not mount {pki_dir}"));
        assert_eq!(
            mount.trim().ends_with(":ro"),
            role != "orders",
            "{name}: {mount}"
        );
        assert!(
            config.admin_allowed_hosts.contains(name),
            "{name}'s admin listener answers to its name"
        );
        by_role
            .entry(role.to_string())
            .or_default()
            .push((name.clone(), config, vars));
    }
    let names = |role: &str| -> Vec<String> { by_role[role].iter().map(|n| n.0.clone()).collect() };
    let (orders_name, orders, orders_vars) = &by_role["orders"][0];
    assert_eq!(by_role["orders"].len(), 1, "the single writer");
    assert_eq!(by_role["mocks"].len(), 1);
    let routers = names("router");
    assert!(routers.len() >= 2, "{routers:?}");

    let sans: Vec<BTreeSet<String>> = by_role
        .values()
        .flatten()
        .map(|n| n.1.pki.extra_sans.iter().cloned().collect())
        .collect();
    assert!(
        sans.windows(2).all(|w| w[0] == w[1]),
        "the same extra_sans everywhere: {sans:?}"
    );
    let sans = &sans[0];

    // The order service resets each router by the name its admin listener answers to.
    let reset: Vec<(String, u16)> = list(lookup(orders_vars, "NTJP_CLUSTER__ROUTERS").unwrap())
        .iter()
        .map(|u| host_port(u, "http"))
        .collect();
    for (name, config, vars) in &by_role["router"] {
        assert!(
            reset.contains(&(name.clone(), config.admin.port())),
            "{name} in {reset:?}"
        );
        assert!(sans.contains(name), "{name} not in {sans:?}");
        let (host, port) = host_port(lookup(vars, "NTJP_CLUSTER__ORDERS_URL").unwrap(), "http");
        assert_eq!((&host, port), (orders_name, orders.admin.port()));
        assert!(orders.admin_allowed_hosts.contains(&host));
    }
    assert_eq!(reset.len(), routers.len());
    let (host, port) = host_port(
        lookup(orders_vars, "NTJP_CLUSTER__MOCKS_URL").unwrap(),
        "https",
    );
    let mocks = &by_role["mocks"][0];
    assert_eq!((&host, port), (&mocks.0, mocks.1.mocks.port()));
    assert!(sans.contains(&host));

    // haproxy: every router, at each environment's https port, checked on the admin port;
    // and compose publishes those ports.
    let cfg = read("deploy/compose/haproxy.cfg");
    let servers: BTreeSet<(String, u16)> = cfg
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server "))
        .map(|l| {
            let target = l.split_whitespace().nth(1).unwrap();
            let (h, p) = target.split_once(':').unwrap();
            (h.to_string(), p.parse().unwrap())
        })
        .collect();
    let wanted: BTreeSet<(String, u16)> = routers
        .iter()
        .flat_map(|r| https_ports(orders).into_iter().map(move |p| (r.clone(), p)))
        .collect();
    assert_eq!(servers, wanted, "haproxy's servers");
    assert!(cfg.contains(&format!("check port {}", orders.admin.port())));
    let binds: BTreeSet<u16> = cfg
        .lines()
        .filter_map(|l| l.trim().strip_prefix("bind :"))
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(binds, https_ports(orders), "haproxy's frontends");
    let lb = services.values().find(|t| t.contains("haproxy")).unwrap();
    let published: BTreeSet<u16> = lb
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- \"127.0.0.1:"))
        .map(|l| l.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        published, binds,
        "the load balancer publishes the routers' https ports"
    );
}

/// `scripts/k8s-pki.sh` makes, with this build's `ntjp`, the files the nodes need, with the
/// platform certificate naming the ConfigMap's hosts; run again, it keeps the CA.
#[test]
fn the_pki_script_makes_a_pki_naming_the_configmaps_hosts_and_keeps_it_on_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let run = || {
        let out = std::process::Command::new("bash")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-pki.sh"))
            .arg(&pki)
            .arg(env!("CARGO_BIN_EXE_ntjp"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("kubectl create secret generic ntjp-pki"),
            "{text}"
        );
    };
    run();
    let files: BTreeSet<String> = std::fs::read_dir(&pki)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for f in [
        "ca.pem",
        "ca-key.pem",
        "platform.pem",
        "platform-key.pem",
        "platform-sit.pem",
        "platform-sit-key.pem",
        "consumer.pem",
        "consumer-key.pem",
        "truststore.p12",
    ] {
        assert!(files.contains(f), "{f} missing from {files:?}");
    }
    let sans = |pem: &[u8]| -> Vec<String> {
        let der = rustls_pki_types::CertificateDer::from_pem_slice(pem).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let names = cert.subject_alternative_name().unwrap().unwrap();
        names
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect()
    };
    let config_map = ntjp_vars(&read("deploy/kubernetes/configmap.yaml"));
    let wanted = list(lookup(&config_map, "NTJP_PKI__EXTRA_SANS").unwrap());
    let platform = std::fs::read(pki.join("platform.pem")).unwrap();
    let named = sans(&platform);
    assert!(
        wanted.iter().all(|w| named.contains(w)),
        "{named:?} lacks some of {wanted:?}"
    );

    let ca = std::fs::read(pki.join("ca.pem")).unwrap();
    run();
    assert_eq!(
        std::fs::read(pki.join("ca.pem")).unwrap(),
        ca,
        "the CA was replaced"
    );
    assert_eq!(std::fs::read(pki.join("platform.pem")).unwrap(), platform);
}

/// The README's Kubernetes section calls the router with the curl example of "Call it", with
/// the certificates `scripts/k8s-pki.sh` made in the directory the section names.
#[test]
fn the_readmes_kubernetes_curl_example_is_the_call_it_example_with_the_scripts_pki() {
    let readme = read("README.md");
    let one_line = |block: &str| {
        block
            .replace("\\\n", " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let curl_after = |from: usize| {
        let start = from + readme[from..].find("curl --silent").unwrap();
        let end = start + readme[start..].find("```").unwrap();
        one_line(&readme[start..end])
    };
    let call_it = curl_after(readme.find("<!-- curl-example -->").unwrap());
    let section = readme.find("## Kubernetes and several machines").unwrap();
    let section_text = &readme[section..section + readme[section..].find("\n## ").unwrap()];
    assert!(section_text.contains("bash scripts/k8s-pki.sh .ntjp-k8s-pki"));
    assert!(section_text.contains("--from-file=.ntjp-k8s-pki"));
    assert!(section_text.contains("kubectl apply -k deploy/kubernetes"));
    assert!(section_text.contains("kubectl port-forward service/ntjp-router 20000:20000"));
    assert_eq!(
        curl_after(section),
        call_it.replace(".ntjp/pki/", ".ntjp-k8s-pki/")
    );
}
