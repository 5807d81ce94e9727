//! The module rules of `docs/ARCHITECTURE.md` (from the developers' `STYLE.md`), checked by
//! reading the sources, so that an import that breaks them fails CI.
//!
//! # What counts as an import
//! Every `src/**/*.rs` file is read; comments (`//`, `/* */`) and the contents of string and
//! character literals are blanked first. A file depends on another when it names it:
//! - in a `use` declaration (`use`, `pub use`, `pub(crate) use`), with every path of a grouped
//!   tree (`use crate::{a::b, c::{self, D}}`, over as many lines as it takes);
//! - in a path in code: `crate::a::b`, `super::x`, `self::x`, a child module (`pool::Pool` in
//!   `router/mod.rs`), or a module bound by a `use` (`soap::fault::bounded` after
//!   `use crate::soap`); in `main.rs`, `ntjp_testbed::…`.
//!
//! A path is followed to the file that defines the item: `crate::tak::Store` names
//! `src/tak/store.rs` (through `tak/mod.rs`'s `pub use store::Store`), not `tak/mod.rs`.
//! A module's own file (`x/mod.rs`, or `x.rs` for a folder `x/`) declaring its children
//! (`mod pool;`), re-exporting them or calling into them is the folder's face, not an
//! import: it is left out of the file-cycle rules (the children may use their parent's
//! shared types, as `router::pipeline` uses `router::ConnInfo`). It still counts for the
//! module rules, which it cannot break (parent and children are one module).
//!
//! # Test-only code
//! Test-only code is not checked: an item after `#[cfg(test)]` (a `mod tests { … }`, a
//! `use`, a function) is skipped, and so is a whole file declared by `#[cfg(test)] mod x;`
//! (with its `#[path]`), such as `src/tak/testutil.rs`. Unit tests may build their fixtures
//! from any part (the `tak` tests apply real orders); the rules are about what the shipped
//! code depends on. Other `cfg` attributes are not interpreted: that code is checked.
//!
//! Not resolved (the crate has none): a `#[path]` on a module that is not test-only, and
//! inline `mod x { … }` blocks (their imports count as their file's). Paths built by macros
//! are not seen.
//!
//! # The rules
//! 1. `vocab` imports nothing of this crate.
//! 2. `config` imports nothing but `vocab`.
//! 3. The pure core, `tak`, `orders`, `soap`, `contract` and `verify`, imports nothing but
//!    each other and `vocab`.
//! 4. `router` and `mocks` do not import each other.
//! 5. Only the wiring knows every part. Concretely: `main.rs` and `server.rs` (and `lib.rs`,
//!    which declares the modules) may import anything; nothing imports `server`, and nothing
//!    but `main.rs` imports `cli` (the command line is an entry point, not a library other
//!    parts build on). So no part reaches every other through the wiring.
//! 6. No two files import each other, and there is no longer cycle between files (the
//!    first one found is reported as its path of files and lines).
//!
//! A failure names the file, the line, what it imports and the rule it breaks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The pure core (rule 3).
const CORE: &[&str] = &["tak", "orders", "soap", "contract", "verify"];

/// One source file as the rules see it.
struct Source {
    /// Relative path, `src/tak/model.rs`.
    path: String,
    /// Module path: `["tak", "model"]`; `[]` for `lib.rs` (and for `main.rs`, whose
    /// paths start with `ntjp_testbed`).
    module: Vec<String>,
    /// Text with comments, literals and test-only items blanked (lines kept).
    code: String,
}

/// A `use` binding: the name it brings into scope and the absolute path it stands for
/// (`None` for another crate).
type Bindings = BTreeMap<String, Option<Vec<String>>>;

/// One dependency of a file on another.
#[derive(Clone)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    /// The path as written, `crate::router::X`.
    what: String,
}

#[test]
fn the_module_rules_hold() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = Graph::read(root);
    let mut failures = Vec::new();
    for e in &graph.edges {
        if let Some(rule) = module_rule_broken(&graph, e) {
            failures.push(format!(
                "{}:{}: imports `{}` ({}): {rule}",
                e.from, e.line, e.what, e.to
            ));
        }
    }
    failures.extend(graph.cycles());
    assert!(
        failures.is_empty(),
        "the module rules of docs/ARCHITECTURE.md are broken:\n{}",
        failures.join("\n")
    );
}

/// The test reads what it should: a grouped `use` over several lines, a path in code, and
/// skips comments, literals and test-only code.
#[test]
fn the_reader_sees_grouped_uses_and_paths_and_skips_tests_and_comments() {
    let text = "use crate::{\n    a::B,\n    c::{self, d::E},\n};\n\
        // use crate::commented::Out;\n\
        fn f() { let s = \"crate::in_string::X\"; crate::inline::call(); c::deep::g(); }\n\
        #[cfg(test)]\nmod tests {\n    use crate::only_tests::T;\n}\n";
    let code = blank_test_items(&strip(text));
    let paths: Vec<(String, usize)> = raw_paths(&code, &["c".to_string()].into())
        .into_iter()
        .map(|(p, line, _)| (p.join("::"), line))
        .collect();
    let names: Vec<&str> = paths.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "crate::a::B",
            "crate::c",
            "crate::c::d::E",
            "crate::inline::call",
            "c::deep::g"
        ]
    );
    assert_eq!(paths[0].1, 2);
    assert_eq!(paths[3].1, 6);
}

/// Each rule fails on a small source tree that breaks it, naming file, line and rule.
#[test]
fn each_rule_fails_when_broken() {
    let failures = |files: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let graph = Graph::read(dir.path());
        let mut out: Vec<String> = graph
            .edges
            .iter()
            .filter_map(|e| {
                module_rule_broken(&graph, e).map(|r| format!("{}:{} {r}", e.from, e.line))
            })
            .collect();
        out.extend(graph.cycles());
        out
    };
    let broken = failures(&[
        (
            "src/lib.rs",
            "pub mod vocab; pub mod config; pub mod tak; pub mod router; pub mod mocks; pub mod load; pub mod cli; pub mod server;\n",
        ),
        ("src/vocab.rs", "use crate::config::Config;\n"),
        (
            "src/config.rs",
            "pub struct Config;\nfn f() {\n    crate::mocks::run();\n}\n",
        ),
        ("src/tak/mod.rs", "pub mod model;\n"),
        (
            "src/tak/model.rs",
            "use crate::{\n    vocab,\n    router::Router,\n};\n",
        ),
        (
            "src/router/mod.rs",
            "pub struct Router;\nuse crate::mocks::run;\n",
        ),
        ("src/mocks/mod.rs", "pub fn run() {}\n"),
        (
            "src/load.rs",
            "use crate::cli::Args;\nuse crate::server::Endpoints;\n",
        ),
        ("src/cli.rs", "pub struct Args;\n"),
        ("src/server.rs", "pub struct Endpoints;\nuse crate::load;\n"),
    ]);
    let expected = [
        "src/config.rs:3 `config` imports nothing but `vocab` (rule 2)",
        "src/load.rs:1 only main.rs imports `cli`, an entry point (rule 5)",
        "src/load.rs:2 only main.rs imports the wiring in `server.rs` (rule 5)",
        "src/router/mod.rs:2 `router` and `mocks` do not import each other (rule 4)",
        "src/tak/model.rs:3 the pure core (tak, orders, soap, contract, verify) imports nothing but itself and `vocab` (rule 3)",
        "src/vocab.rs:1 `vocab` imports nothing of this crate (rule 1)",
    ];
    for e in expected {
        assert!(broken.iter().any(|b| b == e), "{e}\nnot in\n{broken:#?}");
    }
    assert!(
        broken.iter().any(|b| b.starts_with("src/load.rs:2: imports `crate::server::Endpoints` and src/server.rs:2 imports `crate::load` back")),
        "{broken:#?}"
    );
    let cycle = failures(&[
        ("src/lib.rs", "pub mod a; pub mod b; pub mod c;\n"),
        ("src/a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "src/b.rs",
            "pub struct B;\nfn f() -> crate::c::C { todo!() }\n",
        ),
        (
            "src/c.rs",
            "pub struct C;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n// use crate::b::B;\nuse super::a::A;\n",
        ),
    ]);
    assert_eq!(
        cycle,
        [
            "import cycle between files (rule 6): src/a.rs:1 imports `crate::b::B` → src/b.rs:2 imports `crate::c::C` → src/c.rs:7 imports `super::a::A`"
        ]
    );
}

struct Graph {
    files: Vec<Source>,
    edges: Vec<Edge>,
}

impl Graph {
    fn read(root: &Path) -> Graph {
        let mut paths = Vec::new();
        walk(&root.join("src"), &mut paths);
        paths.sort();
        let mut raw: Vec<(String, String)> = paths
            .iter()
            .map(|p| {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                (rel, std::fs::read_to_string(p).unwrap())
            })
            .collect();
        let test_files: BTreeSet<String> = raw
            .iter()
            .flat_map(|(path, text)| test_only_files(path, text))
            .collect();
        raw.retain(|(path, _)| !test_files.contains(path));
        let files: Vec<Source> = raw
            .into_iter()
            .map(|(path, text)| Source {
                module: module_of(&path),
                code: blank_test_items(&strip(&text)),
                path,
            })
            .collect();
        let modules: BTreeMap<Vec<String>, String> = files
            .iter()
            .filter(|f| f.path != "src/main.rs")
            .map(|f| (f.module.clone(), f.path.clone()))
            .collect();
        let mut graph = Graph {
            files,
            edges: Vec::new(),
        };
        let bindings: BTreeMap<String, Bindings> = graph
            .files
            .iter()
            .map(|f| (f.path.clone(), bindings_of(f, &modules)))
            .collect();
        let mut edges = Vec::new();
        for f in &graph.files {
            let mine = &bindings[&f.path];
            let heads: BTreeSet<String> = mine
                .iter()
                .filter(|(_, t)| t.as_ref().is_some_and(|t| modules.contains_key(t)))
                .map(|(n, _)| n.clone())
                .chain(children(&f.module, &modules))
                .collect();
            for (path, line, _) in raw_paths(&f.code, &heads) {
                let Some(abs) = absolute(f, &path, mine, &modules) else {
                    continue;
                };
                let to = defining_file(&abs, &modules, &bindings, 0);
                if to == f.path {
                    continue;
                }
                edges.push(Edge {
                    from: f.path.clone(),
                    to,
                    line,
                    what: path.join("::"),
                });
            }
        }
        graph.edges = edges;
        graph
    }

    /// File-level cycles (rule 6), leaving out a module's own file naming its children.
    fn cycles(&self) -> Vec<String> {
        let mut out: BTreeMap<String, Vec<&Edge>> = BTreeMap::new();
        for e in &self.edges {
            if !is_face_of(&self.module(&e.from), &self.module(&e.to)) {
                out.entry(e.from.clone()).or_default().push(e);
            }
        }
        let mut failures = Vec::new();
        // Two files importing each other, each pair once.
        let mut reported = BTreeSet::new();
        for (from, es) in &out {
            for e in es {
                let back = out
                    .get(&e.to)
                    .and_then(|b| b.iter().find(|b| &b.to == from));
                if let Some(back) = back
                    && from < &e.to
                    && reported.insert((from, &e.to))
                {
                    failures.push(format!(
                        "{}:{}: imports `{}` and {}:{} imports `{}` back: no two files import each other (rule 6)",
                        e.from, e.line, e.what, back.from, back.line, back.what
                    ));
                }
            }
        }
        if !failures.is_empty() {
            return failures;
        }
        // A longer cycle: depth-first search, reporting the first one found.
        let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 on the stack, 2 done
        let mut stack: Vec<&Edge> = Vec::new();
        fn visit<'a>(
            file: &'a str,
            out: &'a BTreeMap<String, Vec<&'a Edge>>,
            state: &mut BTreeMap<&'a str, u8>,
            stack: &mut Vec<&'a Edge>,
        ) -> Option<String> {
            state.insert(file, 1);
            for e in out.get(file).into_iter().flatten() {
                match state.get(e.to.as_str()) {
                    Some(1) => {
                        let start = stack.iter().position(|s| s.from == e.to).unwrap_or(0);
                        let path: Vec<String> = stack[start..]
                            .iter()
                            .chain(std::iter::once(e))
                            .map(|s| format!("{}:{} imports `{}`", s.from, s.line, s.what))
                            .collect();
                        return Some(format!(
                            "import cycle between files (rule 6): {}",
                            path.join(" → ")
                        ));
                    }
                    Some(_) => {}
                    None => {
                        stack.push(e);
                        if let Some(c) = visit(&e.to, out, state, stack) {
                            return Some(c);
                        }
                        stack.pop();
                    }
                }
            }
            state.insert(file, 2);
            None
        }
        for f in &self.files {
            if !state.contains_key(f.path.as_str())
                && let Some(c) = visit(&f.path, &out, &mut state, &mut stack)
            {
                failures.push(c);
                break;
            }
        }
        failures
    }

    fn module(&self, path: &str) -> Vec<String> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.module.clone())
            .unwrap_or_default()
    }
}

/// The rule (1-5) an edge breaks, if any.
fn module_rule_broken(graph: &Graph, e: &Edge) -> Option<&'static str> {
    let from = top(&e.from, graph);
    let to = top(&e.to, graph);
    if from == to || from == "main" || from == "server" || from == "lib" {
        return None;
    }
    let core = |m: &str| CORE.contains(&m);
    if from == "vocab" {
        return Some("`vocab` imports nothing of this crate (rule 1)");
    }
    if from == "config" && to != "vocab" {
        return Some("`config` imports nothing but `vocab` (rule 2)");
    }
    if core(&from) && !core(&to) && to != "vocab" {
        return Some(
            "the pure core (tak, orders, soap, contract, verify) imports nothing but itself and `vocab` (rule 3)",
        );
    }
    if (from == "router" && to == "mocks") || (from == "mocks" && to == "router") {
        return Some("`router` and `mocks` do not import each other (rule 4)");
    }
    if to == "server" || to == "main" || to == "lib" {
        return Some("only main.rs imports the wiring in `server.rs` (rule 5)");
    }
    if to == "cli" {
        return Some("only main.rs imports `cli`, an entry point (rule 5)");
    }
    None
}

/// The top-level module of a file: `tak`, `config`, `server`; `lib` and `main` for those.
fn top(path: &str, graph: &Graph) -> String {
    match path {
        "src/lib.rs" => "lib".into(),
        "src/main.rs" => "main".into(),
        _ => graph.module(path).first().cloned().unwrap_or_default(),
    }
}

/// Whether `to` is a descendant of `from` (a module's own file naming its children).
fn is_face_of(from: &[String], to: &[String]) -> bool {
    to.len() > from.len() && to.starts_with(from)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `src/tak/model.rs` → `["tak", "model"]`; `src/tak/mod.rs` → `["tak"]`.
fn module_of(path: &str) -> Vec<String> {
    let p = path.trim_start_matches("src/").trim_end_matches(".rs");
    let mut segs: Vec<String> = p.split('/').map(String::from).collect();
    if segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    if segs == ["lib"] || segs == ["main"] {
        segs.clear();
    }
    segs
}

/// The files a file declares with `#[cfg(test)] mod x;` (read from the raw text, since the
/// `#[path = "…"]` is a literal).
fn test_only_files(path: &str, text: &str) -> Vec<String> {
    let dir = Path::new(path)
        .parent()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let own = module_of(path);
    let is_face = path.ends_with("/mod.rs") || path == "src/lib.rs";
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l != "#[cfg(test)]" {
            continue;
        }
        let mut custom = None;
        for next in &lines[i + 1..] {
            if let Some(p) = next.strip_prefix("#[path = \"") {
                custom = p.strip_suffix("\"]").map(String::from);
            } else if next.starts_with("#[") {
            } else {
                let decl = next
                    .trim_start_matches("pub(crate) ")
                    .trim_start_matches("pub ");
                if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
                    out.push(match &custom {
                        Some(c) => format!("{dir}/{c}"),
                        None if is_face => format!("{dir}/{name}.rs"),
                        None => format!("{dir}/{}/{name}.rs", own.last().unwrap()),
                    });
                }
                break;
            }
        }
    }
    out
}

/// Blanks comments and the contents of string and char literals, keeping line breaks.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        if at(i) == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
                out.push(' ');
            }
        } else if at(i) == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if (at(i) == 'r' || (at(i) == 'b' && at(i + 1) == 'r'))
            && !at(i.wrapping_sub(1)).is_alphanumeric()
            && at(i.wrapping_sub(1)) != '_'
            && {
                let mut k = i + if at(i) == 'b' { 2 } else { 1 };
                while at(k) == '#' {
                    k += 1;
                }
                at(k) == '"'
            }
        {
            // Raw string: r"…", r#"…"#, br"…".
            let mut k = i + if at(i) == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while at(k) == '#' {
                hashes += 1;
                k += 1;
            }
            k += 1;
            loop {
                if k >= c.len() {
                    break;
                }
                if c[k] == '"' && (1..=hashes).all(|h| at(k + h) == '#') {
                    k += 1 + hashes;
                    break;
                }
                k += 1;
            }
            for &ch in &c[i..k.min(c.len())] {
                blank(&mut out, ch);
            }
            i = k;
        } else if at(i) == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if at(i) == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A char literal ('x', '\n', '\''); otherwise a lifetime.
            out.push(' ');
            i += 1;
            if at(i) == '\\' {
                out.push(' ');
                i += 1;
            }
            while i < c.len() && c[i] != '\'' {
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Blanks each item that follows `#[cfg(test)]` (and any further attributes): through its
/// `;`, or through the `}` matching its first `{`.
fn blank_test_items(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= c.len() {
        if c[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        // Brackets and parentheses (attributes, array types) apart from braces (the body).
        let (mut round, mut braces) = (0i32, 0i32);
        let mut k = i;
        while k < c.len() {
            match c[k] {
                '[' | '(' => round += 1,
                ']' | ')' => round -= 1,
                '{' => braces += 1,
                '}' => {
                    braces -= 1;
                    if braces == 0 && round == 0 {
                        k += 1;
                        break;
                    }
                }
                ';' if braces == 0 && round == 0 => {
                    k += 1;
                    break;
                }
                _ => {}
            }
            k += 1;
        }
        let end = k.min(c.len());
        for ch in &mut c[i..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = k;
    }
    c.into_iter().collect()
}

/// A token: an identifier or keyword, `::`, or one punctuation character; with its line.
fn tokens(code: &str) -> Vec<(String, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((c[s..i].iter().collect(), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(("::".into(), line));
            i += 2;
        } else {
            out.push((ch.to_string(), line));
            i += 1;
        }
    }
    out
}

/// Every path a file names: each leaf of every `use` tree, and each path in code that starts
/// with `crate`, `super`, `self`, `ntjp_testbed` or one of `heads` (modules in scope). With
/// its line and whether it came from a `use` (and then its binding name).
fn raw_paths(code: &str, heads: &BTreeSet<String>) -> Vec<(Vec<String>, usize, Option<String>)> {
    let t = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i].0 == "use" {
            let mut j = i + 1;
            use_tree(&t, &mut j, Vec::new(), &mut out);
            i = j;
            continue;
        }
        let head = t[i].0.as_str();
        let starts =
            matches!(head, "crate" | "super" | "self" | "ntjp_testbed") || heads.contains(head);
        let after_sep = i > 0 && (t[i - 1].0 == "::" || t[i - 1].0 == ".");
        if starts && !after_sep && t.get(i + 1).is_some_and(|n| n.0 == "::") {
            let line = t[i].1;
            let mut path = vec![t[i].0.clone()];
            let mut j = i + 1;
            while j + 1 < t.len() && t[j].0 == "::" && is_ident(&t[j + 1].0) {
                path.push(t[j + 1].0.clone());
                j += 2;
            }
            if path.len() > 1 {
                out.push((path, line, None));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Reads one use tree from `t[*j]`, pushing every leaf path with its binding name.
fn use_tree(
    t: &[(String, usize)],
    j: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, usize, Option<String>)>,
) {
    let mut path = prefix;
    if t.get(*j).is_some_and(|x| x.0 == "::") {
        *j += 1;
    }
    loop {
        let Some((tok, tline)) = t.get(*j) else {
            return;
        };
        if tok == "{" {
            *j += 1;
            loop {
                match t.get(*j).map(|x| x.0.as_str()) {
                    Some("}") => {
                        *j += 1;
                        break;
                    }
                    Some(",") => *j += 1,
                    None | Some(";") => return,
                    _ => use_tree(t, j, path.clone(), out),
                }
            }
            break;
        } else if tok == "*" {
            *j += 1;
            path.push("*".into());
            out.push((path, *tline, None));
            break;
        } else if is_ident(tok) {
            if tok == "self" && !path.is_empty() {
                *j += 1;
                let name = path.last().cloned();
                let alias = as_alias(t, j);
                out.push((path, *tline, alias.or(name)));
                break;
            }
            path.push(tok.clone());
            *j += 1;
            if t.get(*j).is_some_and(|x| x.0 == "::") {
                *j += 1;
                continue;
            }
            let name = path.last().cloned();
            let alias = as_alias(t, j);
            out.push((path, *tline, alias.or(name)));
            break;
        } else {
            return;
        }
    }
    if t.get(*j).is_some_and(|x| x.0 == ";") {
        *j += 1;
    }
}

fn as_alias(t: &[(String, usize)], j: &mut usize) -> Option<String> {
    if t.get(*j).is_some_and(|x| x.0 == "as") {
        *j += 2;
        return t.get(*j - 1).map(|x| x.0.clone());
    }
    None
}

/// The child modules of a module, by name.
fn children(module: &[String], modules: &BTreeMap<Vec<String>, String>) -> Vec<String> {
    modules
        .keys()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
        .map(|m| m[module.len()].clone())
        .collect()
}

/// The names a file's `use` declarations bind, to absolute paths.
fn bindings_of(f: &Source, modules: &BTreeMap<Vec<String>, String>) -> Bindings {
    let heads: BTreeSet<String> = children(&f.module, modules).into_iter().collect();
    let mut b = Bindings::new();
    for (path, _, name) in raw_paths(&f.code, &heads) {
        let Some(name) = name else { continue };
        let abs = absolute(f, &path, &Bindings::new(), modules);
        b.insert(name, abs);
    }
    b
}

/// A path as written → the absolute module path, or `None` for another crate.
fn absolute(
    f: &Source,
    path: &[String],
    bindings: &Bindings,
    modules: &BTreeMap<Vec<String>, String>,
) -> Option<Vec<String>> {
    let mut base: Vec<String>;
    let mut rest = path;
    match path[0].as_str() {
        "crate" | "ntjp_testbed" => {
            base = Vec::new();
            rest = &path[1..];
        }
        "self" | "super" => {
            base = f.module.clone();
            // In `x.rs` or `x/mod.rs` alike, `super` is the parent of module `x`.
            while let Some(s) = rest.first() {
                match s.as_str() {
                    "self" => rest = &rest[1..],
                    "super" => {
                        base.pop();
                        rest = &rest[1..];
                    }
                    _ => break,
                }
            }
        }
        head => {
            let mut child = f.module.clone();
            child.push(head.to_string());
            if modules.contains_key(&child) {
                base = child;
                rest = &path[1..];
            } else {
                base = bindings.get(head).cloned().flatten()?;
                rest = &path[1..];
            }
        }
    }
    if f.path == "src/main.rs" && path[0] != "ntjp_testbed" {
        return None;
    }
    base.extend(rest.iter().filter(|s| *s != "*").cloned());
    Some(base)
}

/// The file that defines what an absolute path names, following `use` re-exports.
fn defining_file(
    abs: &[String],
    modules: &BTreeMap<Vec<String>, String>,
    bindings: &BTreeMap<String, Bindings>,
    depth: usize,
) -> String {
    let mut n = abs.len();
    while n > 0 && !modules.contains_key(&abs[..n]) {
        n -= 1;
    }
    let file = modules
        .get(&abs[..n])
        .cloned()
        .unwrap_or_else(|| "src/lib.rs".into());
    if n == abs.len() || depth > 8 {
        return file;
    }
    match bindings.get(&file).and_then(|b| b.get(&abs[n])) {
        Some(Some(target)) if target.as_slice() != abs => {
            let mut next = target.clone();
            next.extend(abs[n + 1..].iter().cloned());
            defining_file(&next, modules, bindings, depth + 1)
        }
        _ => file,
    }
}

/// Prints the module graph the rules see (not a check):
/// `cargo test --test module_rules -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_the_module_graph() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = Graph::read(root);
    let mut m = BTreeSet::new();
    for e in &graph.edges {
        let (a, b) = (top(&e.from, &graph), top(&e.to, &graph));
        if a != b {
            m.insert((a, b));
        }
    }
    for (a, b) in m {
        println!("{a} -> {b}");
    }
    println!("{} imports between files", graph.edges.len());
}
