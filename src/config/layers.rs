//! The configuration's layers, merged key by key: built-in defaults, then the TOML file, then
//! `NTJP_*` environment variables, then command-line flags. Each layer is a TOML tree laid
//! over the one before (tables merge, any other value, lists included, replaces), so a file
//! or a variable names only what it changes; the result is read into [`Config`] once and
//! validated. Every value remembers where it came from ([`Origin`]): an error names the key
//! and its source, and `ntjp config show --sources` lists them.
//!
//! Environment variables: `NTJP_` and the key's path in capitals, sections joined by `__`:
//! `NTJP_STATE_DIR`, `NTJP_ROUTER__MAX_REQUEST_BYTES`, `NTJP_ENVIRONMENTS__QA__INSTANCE_NAME`,
//! `NTJP_MOCK_PRODUCERS__MAX_RECORDING_BYTES`. A value is read as its key's type: text as it
//! is, numbers and `true`/`false` as written, lists and tables as a TOML value
//! (`NTJP_ADMIN_ALLOWED_HOSTS='["ntjp", "ntjp.svc"]'`). `NTJP_ADMIN` also takes the admin
//! URL the other commands use (`http://127.0.0.1:24000`), so one variable serves both.
//! A variable naming no setting is an error (a typo must not pass unnoticed), except
//! [`NOT_SETTINGS`].
//!
//! This module reads the file it is given and the variables it is handed: the caller passes
//! `std::env::vars()`, so tests need not change the process's environment.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use toml::{
    Table, Value,
    de::{DeTable, DeValue},
};

use super::{Config, ConfigError};

/// The prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "NTJP_";
/// What joins a section and its key in a variable's name.
pub const ENV_SEPARATOR: &str = "__";
/// `NTJP_*` variables that are not settings: the file itself, flags of `ntjp serve`, and the
/// state directory the other commands look in (which is also the setting `state_dir`).
pub const NOT_SETTINGS: [&str; 3] = ["NTJP_CONFIG", "NTJP_EPHEMERAL_PORTS", "NTJP_LOG_FORMAT"];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A line of the TOML file.
    File {
        /// The file, as given.
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
    },
    /// An environment variable (its name).
    Env(String),
    /// A command-line flag (its name, e.g. `--state-dir`).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env(name) => write!(f, "environment variable {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A setting given by a command-line flag.
#[derive(Debug, Clone)]
pub struct FlagValue {
    /// The key's path, e.g. `state_dir`.
    pub key: &'static str,
    /// Its value.
    pub value: Value,
    /// The flag that gave it, e.g. `--state-dir`.
    pub flag: &'static str,
}

/// The effective configuration and the origin of every value that is not a default.
#[derive(Debug, Clone)]
pub struct Layered {
    /// The configuration, validated.
    pub config: Config,
    /// Key path (`router.max_request_bytes`; a list is one key) to origin, defaults left out.
    origins: BTreeMap<String, Origin>,
}

impl Layered {
    /// [`Config::validate`], naming where the value at fault came from.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.config
            .validate()
            .map_err(|e| name_origin(e, &self.origins))
    }

    /// Where the value of `key` came from (for a key inside a list: the list's origin).
    pub fn origin(&self, key: &str) -> &Origin {
        origin_of(&self.origins, key)
    }

    /// Every key of the effective configuration with its value and origin, one per line:
    /// `router.max_request_bytes = 15728640  # default`.
    pub fn sources(&self) -> String {
        let tree = tree_of(&self.config);
        let mut out = String::new();
        for (key, value) in leaves(&tree) {
            out.push_str(&format!("{key} = {value}  # {}\n", self.origin(&key)));
        }
        out
    }
}

/// Reads the layers into a [`Config`]: defaults, then `file`, then the `NTJP_*` variables
/// among `env`, then `flags`. Call [`Layered::validate`] once the last changes are made
/// (`serve --ephemeral-ports` frees the ports after this).
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[FlagValue],
) -> Result<Layered, ConfigError> {
    let mut tree = tree_of(&Config::default());
    let mut origins = BTreeMap::new();
    if let Some(path) = file {
        let (values, lines) = read_file(path)?;
        for (key, line) in lines {
            let path = path.to_path_buf();
            origins.insert(key, Origin::File { path, line });
        }
        merge(&mut tree, values);
    }
    apply_env(&mut tree, &mut origins, env)?;
    for flag in flags {
        let origin = Origin::Flag(flag.flag.to_string());
        set(&mut tree, &split_key(flag.key), flag.value.clone())
            .map_err(|message| setting_error(flag.key, &origin, message))?;
        origins.insert(flag.key.to_string(), origin);
    }
    let config = read_tree(&tree, &origins)?;
    Ok(Layered { config, origins })
}

/// The configuration as a TOML tree (keys whose value is unset are absent).
fn tree_of(config: &Config) -> Table {
    // Serialising plain structs of strings, numbers, lists and maps with string keys cannot
    // fail; an empty tree would only lose the defaults' origins in `--sources`.
    Table::try_from(config).unwrap_or_default()
}

/// The file's values, and the line of each of its keys (lists are one key).
fn read_file(path: &Path) -> Result<(Table, Vec<(String, usize)>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let spanned = DeTable::parse(&text).map_err(parse_error)?;
    let mut lines = Vec::new();
    key_lines(spanned.get_ref(), "", &text, &mut lines);
    let values = text.parse::<Table>().map_err(parse_error)?;
    Ok((values, lines))
}

fn key_lines(table: &DeTable<'_>, prefix: &str, text: &str, out: &mut Vec<(String, usize)>) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        match value.get_ref() {
            DeValue::Table(inner) if !inner.is_empty() => key_lines(inner, &path, text, out),
            _ => out.push((path, line_of(text, key.span().start))),
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Lays `over` onto `base`: tables merge key by key, any other value replaces.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(inner)), Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `router.max_request_bytes` → `["router", "max_request_bytes"]`.
fn split_key(key: &str) -> Vec<String> {
    key.split('.').map(str::to_string).collect()
}

/// Sets the value at `path`, creating tables on the way.
fn set(tree: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, sections)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut table = tree;
    for section in sections {
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match entry {
            Value::Table(t) => t,
            _ => return Err(format!("{section} is a value, not a section")),
        };
    }
    table.insert(last.clone(), value);
    Ok(())
}

fn get<'a>(tree: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = tree.get(first)?;
    match (rest.is_empty(), value) {
        (true, v) => Some(v),
        (false, Value::Table(t)) => get(t, rest),
        (false, _) => None,
    }
}

/// Lays the `NTJP_*` variables onto `tree`, in name order (so the result does not depend on
/// the order the environment lists them in).
fn apply_env(
    tree: &mut Table,
    origins: &mut BTreeMap<String, Origin>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let vars: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !NOT_SETTINGS.contains(&name.as_str()))
        .collect();
    for (name, raw) in vars {
        let path = env_key(&name);
        let key = path.join(".");
        let origin = Origin::Env(name.clone());
        if path.iter().any(String::is_empty) {
            return Err(setting_error(
                &key,
                &origin,
                format!("not a setting's name: use {ENV_PREFIX}SECTION{ENV_SEPARATOR}KEY"),
            ));
        }
        let value = typed(&key, get(tree, &path), &raw)
            .and_then(|value| set(tree, &path, value))
            .map_err(|message| setting_error(&key, &origin, message));
        value?;
        origins.insert(key, origin);
    }
    Ok(())
}

/// `NTJP_ENVIRONMENTS__QA__INSTANCE_NAME` → `["environments", "qa", "instance_name"]`.
fn env_key(name: &str) -> Vec<String> {
    name[ENV_PREFIX.len()..]
        .split(ENV_SEPARATOR)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// A variable's text as a value of the type the key has so far (the default's or the file's).
fn typed(key: &str, current: Option<&Value>, raw: &str) -> Result<Value, String> {
    match current {
        Some(Value::String(_)) if key == "admin" => Ok(Value::String(admin_address(raw))),
        Some(Value::String(_)) => Ok(Value::String(raw.to_string())),
        Some(Value::Integer(_)) => raw
            .trim()
            .parse()
            .map(Value::Integer)
            .map_err(|_| format!("{raw:?} is not a whole number")),
        Some(Value::Float(_)) => raw
            .trim()
            .parse()
            .map(Value::Float)
            .map_err(|_| format!("{raw:?} is not a number")),
        Some(Value::Boolean(_)) => match raw.trim() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(format!("{raw:?} is neither true nor false")),
        },
        Some(Value::Array(_)) => {
            toml_value(raw).ok_or_else(|| format!("{raw:?} is not a TOML list like [\"a\", \"b\"]"))
        }
        Some(Value::Table(_) | Value::Datetime(_)) => {
            toml_value(raw).ok_or_else(|| format!("{raw:?} is not a TOML value"))
        }
        // An optional key that is unset so far (a path, an entry of a map): a TOML value when
        // it reads as one, else the text.
        None => Ok(toml_value(raw).unwrap_or_else(|| Value::String(raw.to_string()))),
    }
}

/// `http://127.0.0.1:24000/` (the other commands' `NTJP_ADMIN`) → `127.0.0.1:24000`.
fn admin_address(raw: &str) -> String {
    raw.trim()
        .strip_prefix("http://")
        .unwrap_or(raw.trim())
        .trim_end_matches('/')
        .to_string()
}

fn toml_value(raw: &str) -> Option<Value> {
    let mut table = format!("v = {raw}").parse::<Table>().ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("v")
}

/// Reads the merged tree into a [`Config`]; an error names the key and where it came from.
fn read_tree(tree: &Table, origins: &BTreeMap<String, Origin>) -> Result<Config, ConfigError> {
    // Through text, so that the error carries a position, which names the key.
    let text = toml::to_string(tree).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    toml::from_str::<Config>(&text).map_err(|e| {
        let key = e
            .span()
            .and_then(|span| {
                let spanned = DeTable::parse(&text).ok()?;
                key_at(spanned.get_ref(), span.start, "")
            })
            .unwrap_or_default();
        let origin = origin_of(origins, &key);
        setting_error(&key, origin, e.message().trim().to_string())
    })
}

/// The path of the key whose key or value holds `offset`.
fn key_at(table: &DeTable<'_>, offset: usize, prefix: &str) -> Option<String> {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        if key.span().contains(&offset) {
            return Some(path);
        }
        match value.get_ref() {
            DeValue::Table(inner) => {
                if let Some(found) = key_at(inner, offset, &path) {
                    return Some(found);
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    if let DeValue::Table(inner) = item.get_ref()
                        && let Some(found) = key_at(inner, offset, &item_path)
                    {
                        return Some(found);
                    }
                    if item.span().contains(&offset) {
                        return Some(item_path);
                    }
                }
            }
            _ => {}
        }
        if value.span().contains(&offset) {
            return Some(path);
        }
    }
    None
}

/// The origin of `key`, or of the nearest section or list holding it, or (for a section no
/// layer but one touched) of the first key set inside it.
fn origin_of<'a>(origins: &'a BTreeMap<String, Origin>, key: &str) -> &'a Origin {
    let inside = format!("{key}.");
    if !key.is_empty()
        && !origins.contains_key(key)
        && let Some((_, origin)) = origins
            .range(inside.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&inside))
    {
        return origin;
    }
    let mut key = key;
    loop {
        if let Some(origin) = origins.get(key) {
            return origin;
        }
        match key.rfind(['.', '[']) {
            Some(i) => key = &key[..i],
            None => return &Origin::Default,
        }
    }
}

fn setting_error(key: &str, origin: &Origin, message: String) -> ConfigError {
    ConfigError::Setting {
        key: key.to_string(),
        origin: origin.to_string(),
        message,
    }
}

/// Adds the origin to a validation error, whose message starts with the key at fault.
fn name_origin(error: ConfigError, origins: &BTreeMap<String, Origin>) -> ConfigError {
    let ConfigError::Invalid(message) = error else {
        return error;
    };
    let key = message
        .split([' ', ':'])
        .next()
        .unwrap_or_default()
        .trim_matches(|c: char| c == '"' || c == '\'');
    match origin_of(origins, key) {
        Origin::Default => ConfigError::Invalid(message),
        origin => ConfigError::Invalid(format!("{message} (set by {origin})")),
    }
}

/// Every leaf of `tree` (lists are leaves) with its value as TOML, in key order.
pub fn leaves(tree: &Table) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_leaves(tree, "", &mut out);
    out
}

fn collect_leaves(tree: &Table, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in tree {
        let path = join(prefix, &quote_key(key));
        match value {
            Value::Table(inner) if !inner.is_empty() => collect_leaves(inner, &path, out),
            other => out.push((path, other.to_string())),
        }
    }
}

/// A key as TOML writes it in a dotted path: bare when it may be, else quoted.
fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// Every key path of a configuration (as [`Layered::sources`] lists them).
pub fn keys(config: &Config) -> Vec<String> {
    leaves(&tree_of(config))
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn a_partial_section_merges_onto_the_defaults() {
        let f = file("[environments.qa]\ninstance_name = \"X\"\n");
        let l = load(Some(f.path()), [], &[]).unwrap();
        assert_eq!(l.config.environments.qa.instance_name, "X");
        assert_eq!(l.config.environments.qa.platform, "NTJP-QA");
        assert_eq!(
            l.config.environments.qa.https,
            Config::default().environments.qa.https
        );
        assert_eq!(
            l.origin("environments.qa.instance_name"),
            &Origin::File {
                path: f.path().to_path_buf(),
                line: 2
            }
        );
        assert_eq!(l.origin("environments.qa.platform"), &Origin::Default);
    }

    #[test]
    fn variables_override_the_file_and_flags_override_variables() {
        let f = file("state_dir = \"from-file\"\n[router]\nmax_request_bytes = 10\n");
        let env = vars(&[
            ("NTJP_ROUTER__MAX_REQUEST_BYTES", "20"),
            ("NTJP_ENVIRONMENTS__QA__INSTANCE_NAME", "QA-1"),
            ("NTJP_MOCK_PRODUCERS__MAX_RECORDING_BYTES", "4096"),
            ("NTJP_ADMIN_ALLOWED_HOSTS", "[\"ntjp\", \"ntjp.svc\"]"),
            ("NTJP_ROUTER__PROPAGATE_CORRELATION_ID_FOR_HTTPS", "false"),
            ("NTJP_STATE_DIR", "from-env"),
            ("NTJP_ADMIN", "http://127.0.0.1:24001/"),
            ("NTJP_ROUTER__TIMEOUT_CONFIG", "timeouts.json"),
            ("NTJP_CONFIG", "ignored.toml"),
            ("HOME", "/root"),
        ]);
        let flags = [FlagValue {
            key: "state_dir",
            value: Value::String("from-flag".into()),
            flag: "--state-dir",
        }];
        let l = load(Some(f.path()), env, &flags).unwrap();
        let c = &l.config;
        assert_eq!(c.router.max_request_bytes, 20);
        assert_eq!(c.environments.qa.instance_name, "QA-1");
        assert_eq!(c.environments.qa.platform, "NTJP-QA");
        assert_eq!(c.mock_producers.max_recording_bytes, 4096);
        assert_eq!(c.admin_allowed_hosts, ["ntjp", "ntjp.svc"]);
        assert!(!c.router.propagate_correlation_id_for_https);
        assert_eq!(c.state_dir, PathBuf::from("from-flag"));
        assert_eq!(c.admin.port(), 24001);
        assert_eq!(
            c.router.timeout_config.as_deref(),
            Some(Path::new("timeouts.json"))
        );
        assert_eq!(
            l.origin("router.max_request_bytes"),
            &Origin::Env("NTJP_ROUTER__MAX_REQUEST_BYTES".into())
        );
        assert_eq!(l.origin("state_dir"), &Origin::Flag("--state-dir".into()));
        let sources = l.sources();
        assert!(
            sources.contains(
                "router.max_request_bytes = 20  # environment variable NTJP_ROUTER__MAX_REQUEST_BYTES"
            ),
            "{sources}"
        );
        assert!(
            sources.contains("router.max_request_bytes = 20"),
            "{sources}"
        );
        assert!(
            sources.contains("environments.sit.platform = \"NTJP-TEST\"  # default"),
            "{sources}"
        );
    }

    #[test]
    fn errors_name_the_key_and_where_it_came_from() {
        let err = load(
            None,
            vars(&[("NTJP_ROUTER__MAX_REQUEST_BYTES", "lots")]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("router.max_request_bytes"), "{err}");
        assert!(err.contains("NTJP_ROUTER__MAX_REQUEST_BYTES"), "{err}");
        assert!(err.contains("lots"), "{err}");

        let err = load(None, vars(&[("NTJP_ROUTR__MAX_REQUEST_BYTES", "1")]), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("routr"), "{err}");
        assert!(err.contains("NTJP_ROUTR__MAX_REQUEST_BYTES"), "{err}");

        let f = file("# comment\n[environments.qa]\nhttps = \"nowhere\"\n");
        let err = load(Some(f.path()), [], &[]).unwrap_err().to_string();
        assert!(err.contains("environments.qa.https"), "{err}");
        assert!(err.contains(&format!("{}:3", f.path().display())), "{err}");

        let f = file("[router]\nmax_request_byte = 1\n");
        let err = load(Some(f.path()), [], &[]).unwrap_err().to_string();
        assert!(err.contains("router.max_request_byte"), "{err}");
        assert!(err.contains(&format!("{}:2", f.path().display())), "{err}");

        let err = load(None, vars(&[("NTJP_ROUTER__MAX_REQUEST_BYTES", "0")]), &[])
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("router.max_request_bytes"), "{err}");
        assert!(err.contains("NTJP_ROUTER__MAX_REQUEST_BYTES"), "{err}");
    }
}
