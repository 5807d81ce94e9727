//! Embeds the default order files (`fixtures/orders/<env>/*.json`) into the binary, so that
//! `ntjp serve` starts on the same orders from any working directory.

use std::{env, fs, path::Path};

fn main() {
    let root = Path::new("fixtures/orders");
    println!("cargo:rerun-if-changed=fixtures/orders");
    let mut out = String::from(
        "/// (environment, file name, contents) of every built-in order, in file-name order.\npub const EMBEDDED_ORDERS: &[(&str, &str, &str)] = &[\n",
    );
    for env_name in ["sit", "qa", "prod"] {
        let dir = root.join(env_name);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = match fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        for f in files {
            println!("cargo:rerun-if-changed={}", f.display());
            let abs = fs::canonicalize(&f).expect("fixture path");
            let name = f
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            out.push_str(&format!(
                "    ({env_name:?}, {name:?}, include_str!({:?})),\n",
                abs.display().to_string()
            ));
        }
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_orders.rs");
    fs::write(dest, out).expect("write embedded_orders.rs");
}
