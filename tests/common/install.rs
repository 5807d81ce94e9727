//! Tools a test needs beyond the Rust toolchain, installed on first use when missing (the
//! set-up contract: a fresh machine has only Rust; CI runs as root with Debian's apt and PyPI).
//! Every install runs at most once per test binary.

use std::{
    path::PathBuf,
    process::Command,
    sync::{Mutex, OnceLock},
};

/// Serialises installs within one test binary (apt and pip both take locks of their own).
static INSTALL: Mutex<()> = Mutex::new(());

fn on_path(binary: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

fn run(what: &str, cmd: &mut Command) -> bool {
    match cmd.status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("{what}: exit {s}");
            false
        }
        Err(e) => {
            eprintln!("{what}: {e}");
            false
        }
    }
}

fn apt_install(packages: &[&str]) -> bool {
    static UPDATED: OnceLock<bool> = OnceLock::new();
    let updated = *UPDATED.get_or_init(|| {
        run(
            "apt-get update",
            Command::new("apt-get").args(["update", "-qq"]),
        )
    });
    updated
        && run(
            "apt-get install",
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-qq"])
                .args(packages),
        )
}

/// The path of `binary`, installing Debian's `apt_package` when it is not on the PATH.
pub fn tool(binary: &str, apt_package: &str) -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = on_path(binary) {
        return p;
    }
    assert!(
        apt_install(&[apt_package]),
        "{binary} is missing and `apt-get install {apt_package}` failed"
    );
    on_path(binary).unwrap_or_else(|| panic!("{apt_package} installed no {binary}"))
}

/// `xmllint`, from `libxml2-utils` when missing.
pub fn xmllint() -> PathBuf {
    tool("xmllint", "libxml2-utils")
}

fn imports(python: &PathBuf, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A `python3` that can import `module`: installed with pip (`pip_name`) or, failing that,
/// Debian's `apt_package` (which also brings python3 itself on a machine without it).
pub fn python_with(module: &str, pip_name: &str, apt_package: &str) -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(py) = on_path("python3") {
        if imports(&py, module) {
            return py;
        }
        if run(
            "pip install",
            Command::new(&py).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                pip_name,
            ]),
        ) && imports(&py, module)
        {
            return py;
        }
    }
    assert!(
        apt_install(&["python3", apt_package]),
        "python3 with {module} is missing, and neither pip ({pip_name}) nor apt ({apt_package}) installed it"
    );
    // Debian's module belongs to Debian's python3, which another python3 may shadow.
    [on_path("python3"), Some(PathBuf::from("/usr/bin/python3"))]
        .into_iter()
        .flatten()
        .find(|py| imports(py, module))
        .unwrap_or_else(|| panic!("no python3 can import {module} after installing {apt_package}"))
}
