//! Tools a test needs beyond the Rust toolchain: looked for first, then installed where that
//! needs no root, and with the system package manager only when running as root. Otherwise
//! the test fails naming the command to run; it never passes without the tool.
//!
//! - A system tool (`xmllint`, `curl`): found on the PATH, or installed with `apt-get` as root.
//! - A Python module (zeep): imported by the PATH's `python3` if it can, else installed with
//!   pip into a virtual environment under `target/tmp/` (no root: `python3 -m venv`, else
//!   `virtualenv`, else `pip install --target`), else, as root, from Debian's packages.
//!
//! Several test binaries may run at once: every install holds a lock directory under
//! `target/tmp/` (created atomically), so two of them never build the same environment.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

/// Serialises installs within one test binary; [`DirLock`] does so across binaries.
static INSTALL: Mutex<()> = Mutex::new(());

/// Where installs without root go: cargo's scratch directory for integration tests, which
/// follows `CARGO_TARGET_DIR`.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A lock held across processes: a directory created atomically, holding the owner's pid so
/// a lock left by a killed test run is taken over rather than waited on forever.
struct DirLock(PathBuf);

impl DirLock {
    /// Generous: the first pip install of zeep downloads a dozen packages.
    const PATIENCE: Duration = Duration::from_secs(600);

    fn acquire(name: &str) -> DirLock {
        let dir = scratch().join(format!("{name}.lock"));
        let _ = std::fs::create_dir_all(scratch());
        let started = Instant::now();
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    let _ = std::fs::write(dir.join("pid"), std::process::id().to_string());
                    return DirLock(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Self::abandoned(&dir) {
                        let _ = std::fs::remove_dir_all(&dir);
                        continue;
                    }
                }
                Err(e) => panic!("cannot create the install lock {}: {e}", dir.display()),
            }
            assert!(
                started.elapsed() < Self::PATIENCE,
                "another test run has held {} for {:?}; remove it if no test is running",
                dir.display(),
                Self::PATIENCE
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The owner's process is gone. A lock without a pid yet is being taken: not abandoned.
    fn abandoned(dir: &Path) -> bool {
        std::fs::read_to_string(dir.join("pid"))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

/// Running as root (uid 0), asked of `id -u` so the tests need no libc bindings.
pub fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
    })
}

/// Installs Debian packages; only ever called as root, and only when `apt-get` exists.
fn apt_install(packages: &[&str]) -> bool {
    if !is_root() || on_path("apt-get").is_none() {
        return false;
    }
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

/// The command a user runs to get Debian's `packages`.
fn apt_command(packages: &[&str]) -> String {
    format!("sudo apt-get install -y {}", packages.join(" "))
}

/// The path of `binary`: from the PATH, or installed from Debian's `apt_package` as root.
/// Otherwise the test fails naming the command to run.
pub fn tool(binary: &str, apt_package: &str) -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = on_path(binary) {
        return p;
    }
    let _lock = DirLock::acquire("apt");
    if let Some(p) = on_path(binary) {
        return p;
    }
    assert!(
        apt_install(&[apt_package]),
        "this test needs `{binary}`, which is not on the PATH{}; install it with `{}`",
        if is_root() {
            " and `apt-get install` failed"
        } else {
            " (the tests install system packages only as root)"
        },
        apt_command(&[apt_package])
    );
    on_path(binary).unwrap_or_else(|| panic!("{apt_package} installed no {binary}"))
}

/// `xmllint`, from `libxml2-utils`.
pub fn xmllint() -> PathBuf {
    tool("xmllint", "libxml2-utils")
}

/// `java` (JDK 17, which runs a single-file source program without javac), from
/// `openjdk-17-jdk-headless`.
pub fn java() -> PathBuf {
    tool("java", "openjdk-17-jdk-headless")
}

/// `curl`, from `curl`.
pub fn curl() -> PathBuf {
    tool("curl", "curl")
}

/// A Python interpreter that can import a module, and the extra module directory it needs
/// (set for a `pip install --target` install).
#[derive(Debug, Clone)]
pub struct Python {
    pub exe: PathBuf,
    pub pythonpath: Option<PathBuf>,
}

impl Python {
    fn plain(exe: PathBuf) -> Python {
        Python {
            exe,
            pythonpath: None,
        }
    }

    /// A command running this interpreter, with its module directory.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        if let Some(dir) = &self.pythonpath {
            cmd.env("PYTHONPATH", dir);
        }
        cmd
    }

    fn imports(&self, module: &str) -> bool {
        self.exe.is_file()
            && self
                .command()
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|o| o.status.success())
    }
}

/// A Python that can import `module` (PyPI name `pip_name`, Debian package `apt_package`):
/// the PATH's `python3` if it already can, else a virtual environment under `target/tmp/`
/// with `pip_name` installed (no root), else, as root, Debian's `apt_package`.
pub fn python_with(module: &str, pip_name: &str, apt_package: &str) -> Python {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let system = match on_path("python3") {
        Some(py) => Python::plain(py),
        None => {
            let _lock = DirLock::acquire("apt");
            let installed = on_path("python3").is_some()
                || apt_install(&["python3", "python3-venv", apt_package]);
            assert!(
                installed,
                "this test needs python3 with {module}; python3 is not on the PATH (the tests \
                 install system packages only as root); install it with `{}`",
                apt_command(&["python3", "python3-venv"])
            );
            Python::plain(on_path("python3").unwrap_or_else(|| panic!("apt installed no python3")))
        }
    };
    if system.imports(module) {
        return system;
    }
    let _lock = DirLock::acquire("python");
    let venv = scratch().join("python-venv");
    let target = scratch().join("python-target");
    let in_venv = Python::plain(venv.join("bin/python"));
    let in_target = Python {
        exe: system.exe.clone(),
        pythonpath: Some(target.clone()),
    };
    for ready in [&in_venv, &in_target] {
        if ready.imports(module) {
            return ready.clone();
        }
    }
    if let Some(py) = pip_into_venv(&system, &venv, module, pip_name)
        .or_else(|| pip_into_target(&system, &target, module, pip_name))
    {
        return py;
    }
    // As root on Debian: python3-venv (then the virtual environment), else Debian's module.
    if apt_install(&["python3-venv"])
        && let Some(py) = pip_into_venv(&system, &venv, module, pip_name)
    {
        return py;
    }
    // Debian's module belongs to Debian's python3, which another python3 may shadow.
    if apt_install(&[apt_package])
        && let Some(py) = [on_path("python3"), Some(PathBuf::from("/usr/bin/python3"))]
            .into_iter()
            .flatten()
            .map(Python::plain)
            .find(|py| py.imports(module))
    {
        return py;
    }
    panic!(
        "this test needs Python's {module}, which {} cannot import, and installing it into \
         {} failed (output above). Without network access to PyPI, install it with `{}`; \
         if `python3 -m venv` is missing, with `{}`",
        system.exe.display(),
        venv.display(),
        apt_command(&[apt_package]),
        apt_command(&["python3-venv"]),
    )
}

fn pip_install(python: &Python, args: &[&std::ffi::OsStr]) -> bool {
    run(
        "pip install",
        python
            .command()
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(args),
    )
}

/// A virtual environment (from `python3 -m venv`, else `virtualenv`) with `pip_name` in it.
fn pip_into_venv(system: &Python, venv: &Path, module: &str, pip_name: &str) -> Option<Python> {
    let python = Python::plain(venv.join("bin/python"));
    let has_pip = |py: &Python| py.imports("pip");
    if !has_pip(&python) {
        let created = run(
            "python3 -m venv",
            system.command().args(["-m", "venv", "--clear"]).arg(venv),
        ) && has_pip(&python);
        let created = created
            || on_path("virtualenv").is_some_and(|virtualenv| {
                let _ = std::fs::remove_dir_all(venv);
                run("virtualenv", Command::new(virtualenv).arg(venv)) && has_pip(&python)
            });
        if !created {
            return None;
        }
    }
    (pip_install(&python, &[pip_name.as_ref()]) && python.imports(module)).then_some(python)
}

/// `pip install --target`: for a python3 with pip but without the venv module.
fn pip_into_target(system: &Python, target: &Path, module: &str, pip_name: &str) -> Option<Python> {
    let python = Python {
        exe: system.exe.clone(),
        pythonpath: Some(target.to_path_buf()),
    };
    (python.imports("pip")
        && pip_install(
            &python,
            &["--target".as_ref(), target.as_os_str(), pip_name.as_ref()],
        )
        && python.imports(module))
    .then_some(python)
}

/// Makes `python`'s environment hold exactly `spec` (`name==version`), installing it with pip
/// when another version (or none) is there. For a tool that works only with a dependency of
/// its own time: schemathesis 3.39 calls hypothesis internals that later hypothesis releases
/// changed. Otherwise the test fails naming the command to run.
pub fn pip_pin(python: &Python, spec: &str) {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let (name, version) = spec
        .split_once("==")
        .unwrap_or_else(|| panic!("{spec}: a pin is name==version"));
    let pinned = |py: &Python| {
        py.command()
            .args([
                "-c",
                &format!(
                    "import importlib.metadata as m, sys; sys.exit(m.version({name:?}) != {version:?})"
                ),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if pinned(python) {
        return;
    }
    let _lock = DirLock::acquire("python");
    let mut args: Vec<&std::ffi::OsStr> = vec![spec.as_ref()];
    if let Some(dir) = &python.pythonpath {
        args = vec![
            "--target".as_ref(),
            dir.as_os_str(),
            "--upgrade".as_ref(),
            spec.as_ref(),
        ];
    }
    assert!(
        pip_install(python, &args) && pinned(python),
        "this test needs Python's {spec}; installing it failed (output above); run `{} -m pip install {spec}`",
        python.exe.display()
    );
}

/// Debian's Chromium and its WebDriver server: `(chromium, chromedriver)`, from the packages
/// `chromium` and `chromium-driver` (installed as root, else the test fails naming the
/// command).
pub fn chromium() -> (PathBuf, PathBuf) {
    (
        tool("chromium", "chromium"),
        tool("chromedriver", "chromium-driver"),
    )
}
