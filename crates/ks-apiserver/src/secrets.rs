//! Secrets the server generates into its data directory on first start:
//! the token signing key (`jwt-secret`) and the bootstrap admin's
//! password (`admin-password`). Both files are mode 0600, written
//! atomically, and their contents are never logged.

use std::io::{self, Write as _};
use std::path::Path;

use ring::rand::{SecureRandom as _, SystemRandom};

/// The file holding the HS256 key of the server's tokens.
pub const JWT_SECRET_FILE: &str = "jwt-secret";

/// The file holding the generated password of the bootstrap admin.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system generator does not fail on supported platforms; should
    // it, random UUIDs (the OS generator through getrandom) fill in rather
    // than leaving a zero key.
    if SystemRandom::new().fill(&mut bytes).is_err() {
        for chunk in bytes.chunks_mut(16) {
            let id = uuid::Uuid::new_v4();
            chunk.copy_from_slice(&id.as_bytes()[..chunk.len()]);
        }
    }
    bytes
}

/// The token signing key: read from `DATA/jwt-secret`, or created there
/// (32 random bytes, hex-encoded) on first start.
pub fn jwt_secret(data_dir: &Path) -> io::Result<Vec<u8>> {
    let path = data_dir.join(JWT_SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = text.trim();
            if secret.len() < 32 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} holds fewer than 32 characters; delete it to generate a new one (this logs every user out)",
                        path.display()
                    ),
                ));
            }
            Ok(secret.as_bytes().to_vec())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let secret: String = random_bytes::<32>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            write_private(&path, secret.as_bytes())?;
            Ok(secret.into_bytes())
        }
        Err(e) => Err(e),
    }
}

/// The password for a bootstrap admin created now: the one in
/// `DATA/admin-password` if a previous start left it, else a new random
/// one (20 characters that pass KubeSphere's password rule) written there.
pub fn admin_password(data_dir: &Path) -> io::Result<String> {
    let path = data_dir.join(ADMIN_PASSWORD_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().to_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let password = generate_password();
            // No trailing newline: `curl --data-urlencode password@FILE`
            // sends the file as it is.
            write_private(&path, password.as_bytes())?;
            Ok(password)
        }
        Err(e) => Err(e),
    }
}

/// 20 random letters and digits with at least one lowercase letter, one
/// uppercase letter and one digit.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    loop {
        let password: String = random_bytes::<20>()
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        if crate::admission::password_is_acceptable(&password) {
            return password;
        }
    }
}

/// Writes `contents` to `path` with mode 0600, atomically.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let secret = jwt_secret(dir.path()).unwrap();
        assert_eq!(secret.len(), 64);
        assert_eq!(jwt_secret(dir.path()).unwrap(), secret);
        let password = admin_password(dir.path()).unwrap();
        assert!(crate::admission::password_is_acceptable(&password));
        assert_eq!(admin_password(dir.path()).unwrap(), password);
        #[cfg(unix)]
        for file in [JWT_SECRET_FILE, ADMIN_PASSWORD_FILE] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        std::fs::write(dir.path().join(JWT_SECRET_FILE), "short").unwrap();
        assert!(jwt_secret(dir.path()).is_err());
    }

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate_password(), generate_password());
    }
}
