//! `file:` URIs for SQLite, and the name of a database's `-wal` file.

use std::path::{Path, PathBuf};

/// The `-wal` file SQLite keeps beside the database `db`.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// A `file:` URI of `path` (made absolute) with `query`, every byte but the
/// unreserved ones and `/` percent-encoded (RFC 3986); `None` when the path
/// is not valid UTF-8 or cannot be made absolute.
///
/// `file_uri(p, "mode=ro&immutable=1")` opens a database that nothing else
/// writes (a closed fixture) without a lock and without creating the `-shm`
/// and `-wal` files a WAL database otherwise gets, even on a read-only
/// connection.
pub fn file_uri(path: &Path, query: &str) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let mut uri = String::from("file:");
    for b in abs.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    Some(uri)
}

/// [`file_uri`] for a read-only, immutable connection.
pub fn immutable(path: &Path) -> Option<String> {
    file_uri(path, "mode=ro&immutable=1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved_bytes() {
        assert_eq!(
            file_uri(Path::new("/a b/x?#%é.db"), "q=1").unwrap(),
            "file:/a%20b/x%3F%23%25%C3%A9.db?q=1"
        );
        assert_eq!(immutable(Path::new("/t/m.db")).unwrap(), "file:/t/m.db?mode=ro&immutable=1");
        assert!(immutable(Path::new("rel.db")).unwrap().starts_with("file:/"));
    }

    #[test]
    fn the_wal_sits_beside_its_database() {
        assert_eq!(wal_path(Path::new("/t/var/messages.db")), Path::new("/t/var/messages.db-wal"));
    }
}
