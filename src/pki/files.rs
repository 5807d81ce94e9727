//! Writing certificates and keys: private keys readable by their owner only (mode 0600 on unix),
//! every file synced before it counts as written.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{PkiError, io_err};

pub(super) fn write_pair(
    dir: &Path,
    stem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(PathBuf, PathBuf), PkiError> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    write_file(&cert, cert_pem.as_bytes(), false)?;
    write_file(&key, key_pem.as_bytes(), true)?;
    Ok((cert, key))
}

pub(super) fn write_file(path: &Path, data: &[u8], private: bool) -> Result<(), PkiError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err("write", path))?;
    #[cfg(unix)]
    if private {
        // `mode` only applies to new files; tighten a pre-existing one too.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err("set permissions of", path))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    file.write_all(data).map_err(io_err("write", path))?;
    file.sync_all().map_err(io_err("write", path))
}
