//! Secrets kept at rest: QuickBooks Online tokens are sealed with XChaCha20-Poly1305 (RustCrypto)
//! under the server's key (`QBSYNC_SECRET_KEY`, 32 bytes in base64).
//!
//! A sealed value is `version (1 byte) || nonce (24 bytes) || ciphertext and tag`. Every value is
//! sealed with associated data naming what it is and whose it is (e.g. `refresh:<connection id>`),
//! so a sealed token copied into another row or column does not open.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the secret key must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)")]
    BadKey,
    #[error("a sealed secret could not be opened: it was sealed with another key, or altered")]
    Unsealable,
    #[error("the secret key file {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
}

/// The server's secret key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// A key given as base64 (`QBSYNC_SECRET_KEY`).
    pub fn from_base64(text: &str) -> Result<Vault, VaultError> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| VaultError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Vault, VaultError> {
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| VaultError::BadKey)?;
        Ok(Vault { cipher })
    }

    /// The key in `path`, or a new one written there (mode 0600) when the file does not exist.
    /// Answers whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Vault, bool), VaultError> {
        let file_error = |source| VaultError::KeyFile { path: path.to_path_buf(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::from_base64(&text)?, false)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).expect("the operating system's random source failed");
                let text = format!("{}\n", BASE64.encode(key));
                write_private(path, text.as_bytes()).map_err(file_error)?;
                Ok((Self::from_bytes(&key)?, true))
            }
            Err(err) => Err(file_error(err)),
        }
    }

    /// Seals `plain`, bound to `context`.
    pub fn seal(&self, plain: &str, context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 seals any message that fits in memory");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`Vault::seal`] sealed with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<String, VaultError> {
        let (&version, rest) = sealed.split_first().ok_or(VaultError::Unsealable)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(VaultError::Unsealable);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Unsealable)?;
        let plain = self
            .cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: body, aad: context.as_bytes() })
            .map_err(|_| VaultError::Unsealable)?;
        String::from_utf8(plain).map_err(|_| VaultError::Unsealable)
    }
}

/// Writes a new file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_base64(&BASE64.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_with_its_context_only() {
        let vault = vault();
        let sealed = vault.seal("refresh-token-value", "refresh:abc");
        assert!(!sealed.windows(7).any(|w| w == b"refresh"), "no clear text in the sealed bytes");
        assert_eq!(vault.open(&sealed, "refresh:abc").unwrap(), "refresh-token-value");
        assert!(matches!(vault.open(&sealed, "refresh:xyz"), Err(VaultError::Unsealable)));
        assert!(matches!(vault.open(&sealed, "access:abc"), Err(VaultError::Unsealable)));
    }

    #[test]
    fn two_seals_of_one_value_differ_and_altered_bytes_do_not_open() {
        let vault = vault();
        let a = vault.seal("same", "c");
        let b = vault.seal("same", "c");
        assert_ne!(a, b, "a fresh nonce each time");
        let mut altered = a.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(vault.open(&altered, "c").is_err());
        assert!(vault.open(&a[..10], "c").is_err());
        assert!(vault.open(&[], "c").is_err());
        let other = Vault::from_base64(&BASE64.encode([8u8; 32])).unwrap();
        assert!(other.open(&a, "c").is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(matches!(Vault::from_base64("not base64!"), Err(VaultError::BadKey)));
        assert!(matches!(Vault::from_base64(&BASE64.encode([1u8; 16])), Err(VaultError::BadKey)));
        assert!(Vault::from_base64(&format!(" {}\n", BASE64.encode([1u8; 32]))).is_ok());
    }

    #[test]
    fn a_key_file_is_created_private_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let (first, created) = Vault::load_or_create(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (second, created) = Vault::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(second.open(&first.seal("x", "c"), "c").unwrap(), "x");
    }
}
