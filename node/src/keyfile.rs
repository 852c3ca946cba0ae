//! Read and write ed25519 key files, refusing files that others can read.
//!
//! A key file is JSON: `{"type": "ed25519", "public_key": hex, "secret_key": hex}`, the secret
//! being the 32-byte seed. Files are created with mode 0600, and reading one whose mode lets the
//! group or others read it fails, as ssh does, because a validator or enterprise key that leaked
//! can sign in its owner's name.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use serde::{Deserialize, Serialize};
use suyuan_ledger::crypto::{KeyPair, PublicKey};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    r#type: String,
    public_key: PublicKey,
    secret_key: String,
}

/// Writes `key` to a new file at `path` with mode 0600; refuses to overwrite.
pub fn write(path: &Path, key: &KeyPair) -> anyhow::Result<()> {
    let file = KeyFile {
        r#type: "ed25519".into(),
        public_key: key.public(),
        secret_key: hex::encode(key.seed()),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating key file {} (it must not exist yet)",
                path.display()
            )
        })?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    Ok(())
}

/// Reads a key file, checking its permissions and that its public key matches its secret.
pub fn read(path: &Path) -> anyhow::Result<KeyPair> {
    let mode = fs::metadata(path)
        .with_context(|| format!("reading key file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "key file {} has mode {:o}: others may read it; run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let text = fs::read_to_string(path)?;
    let file: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("key file {} is not a Suyuan key file", path.display()))?;
    ensure!(
        file.r#type == "ed25519",
        "key type {} is not ed25519",
        file.r#type
    );
    let mut seed = [0u8; 32];
    hex::decode_to_slice(file.secret_key.trim(), &mut seed)
        .context("secret_key must be 64 hex characters")?;
    let key = KeyPair::from_seed(seed);
    ensure!(
        key.public() == file.public_key,
        "key file {}: public_key does not belong to secret_key",
        path.display()
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_permission_check() {
        let dir = std::env::temp_dir().join(format!("suyuan-keyfile-{}", std::process::id()));
        let path = dir.join("k.key");
        let _ = fs::remove_dir_all(&dir);
        let key = KeyPair::generate();
        write(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().public(), key.public());
        assert!(write(&path, &key).is_err(), "must not overwrite");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
