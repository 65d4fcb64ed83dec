//! The two secrets: the JWT signing key and the worker API's shared secret.
//!
//! Read from `PREPPAL_JWT_SECRET` and `PREPPAL_WORKER_SECRET`; when unset, generated once
//! (32 random bytes, hex) and kept in the data directory with owner-only permissions, so a
//! restarted server accepts the tokens it issued. Never logged: [`Secret`]'s `Debug` is redacted.

use std::fmt;
use std::path::Path;

use rand::RngCore;

/// Shortest secret accepted, in bytes (HS256 wants a key at least as long as its hash, RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// A secret value whose `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    ///
    /// # Errors
    /// When `s` is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(s: String) -> anyhow::Result<Self> {
        anyhow::ensure!(
            s.len() >= MIN_SECRET_BYTES,
            "a secret must be at least {MIN_SECRET_BYTES} bytes long"
        );
        Ok(Self(s))
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// A fresh random secret: 32 random bytes as 64 hex digits.
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut b);
        Self(b.iter().map(|x| format!("{x:02x}")).collect())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Reads the secret from `env_var`, else from `data_dir/file`, else generates one and
/// writes it there (mode 0600).
///
/// # Errors
/// A secret that is too short, or a data directory that cannot be read or written.
pub fn load_or_create(env_var: &str, data_dir: &Path, file: &str) -> anyhow::Result<Secret> {
    if let Ok(v) = std::env::var(env_var) {
        return Secret::new(v).map_err(|e| anyhow::anyhow!("{env_var}: {e}"));
    }
    let path = data_dir.join(file);
    if path.exists() {
        let v = std::fs::read_to_string(&path)?;
        return Secret::new(v.trim().to_owned())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(data_dir)?;
    let s = Secret::generate();
    write_private(&path, &s.0)?;
    tracing::info!(file = %path.display(), "generated {env_var} (kept in the data directory)");
    Ok(s)
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// Compares a presented secret with the expected one in constant time.
pub fn matches(expected: &Secret, presented: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    expected.expose().ct_eq(presented).into()
}
