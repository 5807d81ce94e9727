//! The container image's configuration, checked without building it (that is
//! `scripts/container-check.sh`, run by `.ci/run`, which needs podman and a registry): the
//! `NTJP_*` variables of the `Dockerfile` and `compose.yaml` are settings `serve` accepts
//! (an unknown one would stop the container at start-up), they put every listener on all
//! interfaces at the ports the image `EXPOSE`s, `compose.yaml` publishes and the README's
//! table lists, the state directory is the image's volume, and the image's `HEALTHCHECK`
//! command passes against a real testbed configured that way.

mod common;

use std::{collections::BTreeSet, path::PathBuf};

use common::*;
use ntjp_testbed::{config::layers, vocab::EnvName};

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The arguments of the last stage's instruction `name` (the runtime image).
fn last(instructions: &[String], name: &str) -> String {
    instructions
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("the Dockerfile has no {name}"))
        .trim()
        .to_string()
}

/// `ENV A=1 B=2` of the runtime stage as pairs.
fn image_env(instructions: &[String]) -> Vec<(String, String)> {
    let from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .unwrap();
    instructions[from..]
        .iter()
        .filter_map(|i| i.strip_prefix("ENV "))
        .flat_map(|e| e.split_whitespace())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn exposed(instructions: &[String]) -> BTreeSet<u16> {
    last(instructions, "EXPOSE")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

#[test]
fn the_images_settings_open_every_exposed_port_on_all_interfaces_with_state_on_the_volume() {
    let docker = dockerfile_instructions(&read("Dockerfile"));
    let env = image_env(&docker);
    assert!(!env.is_empty());
    let config = layers::load(None, env.clone(), &[])
        .unwrap_or_else(|e| panic!("the Dockerfile's ENV is not a valid configuration: {e}"))
        .config;
    let volume = last(&docker, "VOLUME");
    assert_eq!(volume, format!("[\"{}\"]", config.state_dir.display()));
    assert_eq!(
        last(&docker, "WORKDIR"),
        config.state_dir.display().to_string()
    );

    let mut listeners = vec![config.admin, config.mocks];
    for e in EnvName::ALL {
        let e = config.environments.get(e);
        listeners.extend([e.https, e.http]);
    }
    assert!(
        listeners.iter().all(|a| a.ip().is_unspecified()),
        "{listeners:?}"
    );
    let ports: BTreeSet<u16> = listeners.iter().map(|a| a.port()).collect();
    assert_eq!(ports, exposed(&docker), "EXPOSE and the listeners");

    // compose.yaml publishes each of them, and its variables are settings too.
    let compose = read("compose.yaml");
    let published: BTreeSet<u16> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- \"127.0.0.1:"))
        .map(|l| l.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(published, ports, "compose.yaml's ports");
    let compose_env: Vec<(String, String)> = compose
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            k.starts_with("NTJP_")
                .then(|| (k.to_string(), v.trim_matches('\'').to_string()))
        })
        .collect();
    assert!(!compose_env.is_empty());
    layers::load(None, env.into_iter().chain(compose_env), &[])
        .unwrap_or_else(|e| panic!("compose.yaml's environment is not valid: {e}"));

    // The README's port table lists the same ports.
    let readme = read("README.md");
    let section = &readme[readme.find("## Container").unwrap()..];
    let section = &section[..section.find("\n## ").unwrap()];
    let listed: BTreeSet<u16> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(listed, ports, "README's Container port table");
}

/// The image's HEALTHCHECK, run as the container runtime runs it, passes against a testbed
/// started with the image's settings (ports chosen by the OS, state in a temp dir).
#[tokio::test]
async fn the_images_healthcheck_passes_against_a_testbed_configured_like_the_image() {
    let docker = dockerfile_instructions(&read("Dockerfile"));
    let env = image_env(&docker);
    let image = layers::load(None, env, &[]).unwrap().config;
    let bed = start_with(move |c, _| {
        let state = c.state_dir.clone();
        *c = image;
        c.state_dir = state;
        c.use_ephemeral_ports();
    })
    .await;
    let admin = addr_of(&bed.testbed.endpoints().admin);
    let check = last(&docker, "HEALTHCHECK");
    let cmd = &check[check.find("CMD ").unwrap() + 4..];
    let argv: Vec<String> = serde_json::from_str(cmd).unwrap();
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| a.replace("/24000", &format!("/{}", admin.port())))
        .collect();
    assert!(run(&argv).await, "{argv:?}");
    // And it fails where nothing answers, so it checks something.
    bed.stop().await;
    assert!(!run(&argv).await, "the healthcheck passes with no testbed");
}

/// Runs the command as the runtime would (off the test's runtime, which serves the testbed),
/// killed after [`PATIENCE`] as the runtime's `--timeout` would.
async fn run(argv: &[String]) -> bool {
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    match tokio::time::timeout(PATIENCE, child.wait()).await {
        Ok(status) => status.unwrap().success(),
        Err(_) => panic!("the healthcheck did not finish within {PATIENCE:?}: {argv:?}"),
    }
}
