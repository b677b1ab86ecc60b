//! Files and folders that hold customer numbers, notes and logs: readable
//! by the agent's user only (files 0600, folders 0700), whatever the umask.
//!
//! Folders are created 0700. Folders that are tongdai's own (the state and
//! data folders, `tongdai/` under XDG) and files tongdai writes are also
//! tightened when an older version left them 0755 / 0644; a folder the
//! user chose (`[audio] record_dir`, `[log] dir`) that already exists is
//! left as the user set it.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// `mkdir -p` with every folder it creates at 0700.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// [`create_dir_all`], then `dir` itself set to 0700 (a folder of ours
/// that an older version created 0755).
pub fn own_dir(dir: &Path) -> io::Result<()> {
    create_dir_all(dir)?;
    restrict(dir, DIR_MODE)
}

/// Take group and other bits off `path` (when it exists and has any).
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, Permissions::from_mode(mode))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Open for appending, created 0600; an existing file is tightened.
pub fn open_append(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    restrict(path, FILE_MODE)?;
    Ok(f)
}

/// Make sure `path` exists as a 0600 file (created empty when missing),
/// so a library that creates it with its own mode (SQLite: 0644) finds it.
pub fn touch(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    restrict(path, FILE_MODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_and_old_files_tightened() {
        let base = std::env::temp_dir().join(format!("tongdai-pfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let deep = base.join("a/b");
        create_dir_all(&deep).unwrap();
        assert_eq!(mode(&base.join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        let log = deep.join("x.log");
        std::fs::write(&log, "old\n").unwrap();
        std::fs::set_permissions(&log, Permissions::from_mode(0o644)).unwrap();
        open_append(&log).unwrap();
        assert_eq!(mode(&log), 0o600);
        std::fs::set_permissions(&deep, Permissions::from_mode(0o755)).unwrap();
        own_dir(&deep).unwrap();
        assert_eq!(mode(&deep), 0o700);
        let _ = std::fs::remove_dir_all(&base);
    }
}
