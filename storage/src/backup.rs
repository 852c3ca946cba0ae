//! Back the database up online with a RocksDB checkpoint, and restore from one.
//!
//! A checkpoint is a complete database directory (SST files hard-linked where the file system
//! allows, the rest copied) holding exactly the blocks committed when it was taken. It can be
//! opened as a database with [`Store::open`], or copied to a new place with [`Store::restore`].

use std::fs;
use std::path::{Path, PathBuf};

use rocksdb::checkpoint::Checkpoint;
use suyuan_ledger::genesis::Genesis;

use crate::error::StorageError;
use crate::store::{Head, Store};

impl Store {
    /// Writes a consistent copy of the database to `dir`, which must not exist, while the node
    /// keeps running; returns the head the copy holds. Commits wait while the checkpoint is
    /// taken (it hard-links files, so this is short).
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<Head, StorageError> {
        let dir = dir.as_ref();
        refuse_existing(dir)?;
        self.with_commits_paused(|head, _| {
            let checkpoint =
                Checkpoint::new(&self.db).map_err(StorageError::backend("checkpoint"))?;
            checkpoint
                .create_checkpoint(dir)
                .map_err(StorageError::backend("checkpoint"))?;
            Ok(head)
        })
    }

    /// Copies the checkpoint at `from` to `to` (which must not exist) and opens it for
    /// `genesis`'s chain, which checks its identity and head.
    ///
    /// The copy is made under a temporary name, synced, then renamed, so a crash during restore
    /// leaves no half-copied database under `to`.
    pub fn restore(
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
        genesis: &Genesis,
    ) -> Result<Store, StorageError> {
        let (from, to) = (from.as_ref(), to.as_ref());
        refuse_existing(to)?;
        let partial = partial_path(to);
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(StorageError::io("remove", &partial))?;
        }
        fs::create_dir_all(&partial).map_err(StorageError::io("create", &partial))?;
        copy_files(from, &partial)?;
        fs::rename(&partial, to).map_err(StorageError::io("rename into place", to))?;
        if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Store::open(to, genesis)
    }
}

fn refuse_existing(path: &Path) -> Result<(), StorageError> {
    if path.exists() {
        return Err(StorageError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".restoring");
    to.with_file_name(name)
}

/// Copies every file of `from` into `to` and syncs them; a checkpoint has no subdirectories.
fn copy_files(from: &Path, to: &Path) -> Result<(), StorageError> {
    let entries = fs::read_dir(from).map_err(StorageError::io("read checkpoint", from))?;
    for entry in entries {
        let entry = entry.map_err(StorageError::io("read checkpoint", from))?;
        let source = entry.path();
        let kind = entry
            .file_type()
            .map_err(StorageError::io("inspect", &source))?;
        if !kind.is_file() {
            return Err(StorageError::Io {
                operation: "restore",
                path: source,
                source: std::io::Error::other("a checkpoint holds only files"),
            });
        }
        let target = to.join(entry.file_name());
        fs::copy(&source, &target).map_err(StorageError::io("copy", &source))?;
        fs::File::open(&target)
            .and_then(|file| file.sync_all())
            .map_err(StorageError::io("sync", &target))?;
    }
    sync_dir(to)
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(StorageError::io("sync directory", dir))
}
