//! `ntjp.example.toml`, the documentation of every setting, against the code: it must read
//! back as the defaults, and name every key the configuration has, so a new setting without
//! a line there fails here.

use std::path::PathBuf;

use ntjp_testbed::config::{Config, layers};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ntjp.example.toml")
}

#[test]
fn the_example_file_reads_back_as_the_defaults() {
    let layered = layers::load(Some(&example()), [], &[]).unwrap();
    layered.validate().unwrap();
    assert_eq!(layered.config.to_toml(), Config::default().to_toml());
    // Every value came from the file, none from a default it left out.
    for key in layers::keys(&Config::default()) {
        assert_ne!(
            layered.origin(&key),
            &layers::Origin::Default,
            "ntjp.example.toml does not set {key}"
        );
    }
}

#[test]
fn the_example_file_names_every_key_including_the_unset_ones() {
    let text = std::fs::read_to_string(example()).unwrap();
    // The defaults with every optional setting given, so that they have keys too.
    let mut full = Config::default();
    full.router.timeout_config = Some("t.json".into());
    full.clock.start_at = Some("2026-03-10T23:30:00Z".into());
    for env in ntjp_testbed::vocab::EnvName::ALL {
        let e = full.environments.get_mut(env);
        e.orders_dir = Some("orders".into());
        e.tak_export = Some("tak.json".into());
        e.tak_url = Some("http://tak/SokVagvalsInfo/v2".into());
    }
    full.pki.dir = Some("pki".into());
    full.cluster.tak_cache_dir = Some("takcache".into());
    full.cluster.mocks_url = Some("https://mocks:25000/mocks".into());
    let documented = layers::keys(&layers::load(Some(&example()), [], &[]).unwrap().config);
    for key in layers::keys(&full) {
        if documented.contains(&key) {
            continue;
        }
        // An optional key is documented as a commented-out line in its section.
        let (section, name) = key.rsplit_once('.').unwrap_or(("", &key));
        let header = format!("\n[{section}]\n");
        let in_section = if section.is_empty() {
            text.as_str()
        } else {
            let start = text
                .find(&header)
                .unwrap_or_else(|| panic!("ntjp.example.toml has no {header}"));
            let rest = &text[start + header.len() - 1..];
            &rest[..rest.find("\n[").unwrap_or(rest.len())]
        };
        assert!(
            in_section.contains(&format!("# {name} = ")),
            "ntjp.example.toml does not document {key}"
        );
    }
}
