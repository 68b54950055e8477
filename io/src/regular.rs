//! Opening input files only when they are regular files.
//!
//! A FIFO blocks `open` (and `read`) until a writer appears, and a device
//! can produce endless data, so input is opened only after checking what
//! it is: [`open_regular`] refuses anything but a regular file (a symbolic
//! link is followed, and must lead to one) without blocking, and the check
//! is repeated on the opened descriptor, so a file swapped in between is
//! still refused. The refusal is an [`std::io::Error`] whose text says what
//! the path is and that a regular file was expected; [`not_regular`] finds
//! it in an error.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What is at `path`, for messages ("a regular file", "a directory", "a
/// FIFO (named pipe)", "a symbolic link to a character device", ...);
/// `None` when nothing is there. Never opens the path.
pub fn describe(path: &Path) -> Option<String> {
    let m = std::fs::symlink_metadata(path).ok()?;
    if m.file_type().is_symlink() {
        return Some(match std::fs::metadata(path) {
            Ok(t) => format!("a symbolic link to {}", kind_of(&t)),
            Err(_) => "a dangling symbolic link".into(),
        });
    }
    Some(kind_of(&m).into())
}

/// What a file of these metadata is, with its article.
pub fn kind_of(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_file() {
        return if m.len() == 0 { "an empty regular file" } else { "a regular file" };
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_char_device() {
            return "a character device";
        }
    }
    "a special file"
}

/// A path that exists but is not a regular file: the payload of the
/// [`io::ErrorKind::InvalidInput`] errors of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRegular {
    /// The path.
    pub path: PathBuf,
    /// What is there (see [`describe`]).
    pub found: String,
}

impl std::fmt::Display for NotRegular {
    // the path is left to the caller's context, which names it already
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; expected a regular file", self.found)
    }
}

impl std::error::Error for NotRegular {}

/// The [`NotRegular`] an error carries, if it is one.
pub fn not_regular(e: &io::Error) -> Option<&NotRegular> {
    e.get_ref().and_then(|r| r.downcast_ref::<NotRegular>())
}

fn refuse(path: &Path, found: Option<String>) -> io::Error {
    let found = found.unwrap_or_else(|| "not a regular file".into());
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular { path: path.to_path_buf(), found })
}

/// The metadata of `path` (a symbolic link followed) when it is a regular
/// file; a `NotFound` error when nothing is there, a [`NotRegular`] one
/// when something else is (a dangling symbolic link included). Opens nothing.
pub fn regular_metadata(path: &Path) -> io::Result<Metadata> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(m),
        Ok(_) => Err(refuse(path, describe(path))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match describe(path) {
            Some(found) => Err(refuse(path, Some(found))),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Whether `path` exists in any form (a dangling symbolic link included).
pub fn exists_at_all(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Opens `path` for reading when it is a regular file (see the module
/// documentation); never blocks on a FIFO and never reads a device.
pub fn open_regular(path: &Path) -> io::Result<File> {
    regular_metadata(path)?;
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // a FIFO swapped in after the check must not block the open
        o.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let f = o.open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(refuse(path, Some(kind_of(&m).into())));
    }
    #[cfg(unix)]
    {
        // back to blocking reads (no effect on a regular file, but the
        // descriptor is handed on)
        let flags = rustix::fs::fcntl_getfl(&f).map_err(io::Error::from)?;
        rustix::fs::fcntl_setfl(&f, flags - rustix::fs::OFlags::NONBLOCK)
            .map_err(io::Error::from)?;
    }
    Ok(f)
}

/// [`std::fs::read`] of a regular file only ([`open_regular`]).
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = open_regular(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// The lines of a regular file ([`open_regular`]), read in 64 KiB blocks so
/// that memory never follows the file's size: its newlines, and one more
/// when the last line has none (a torn final line is a line).
pub fn count_lines(path: &Path) -> io::Result<u64> {
    let mut f = open_regular(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last = buf[n - 1];
    }
    Ok(lines + u64::from(last != b'\n'))
}

/// The most a small document beside or inside a fixture (`mesh.json`,
/// `manifest.json`, `SHA256SUMS`, `peers.json`, `config.json`, an identity
/// file) may hold before it is read: 64 MiB, far above any testgen writes.
pub const DOCUMENT_MAX: u64 = 64 << 20;

/// [`read_regular`] of a file of at most `max` bytes: a larger one is
/// refused before any byte is read (error kind `InvalidData`, "PATH is N
/// bytes, more than the M bytes such a file may have"), and a file that
/// grows while it is read is refused too.
pub fn read_regular_at_most(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    let len = f.metadata()?.len();
    let too_big = |n: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is {n} bytes, more than the {max} bytes such a file may have",
                path.display()
            ),
        )
    };
    if len > max {
        return Err(too_big(len));
    }
    let mut v = Vec::with_capacity(len as usize);
    f.take(max + 1).read_to_end(&mut v)?;
    if v.len() as u64 > max {
        return Err(too_big(v.len() as u64));
    }
    Ok(v)
}

/// Whether an error means the disk (or the quota) is full.
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
        || matches!(e.raw_os_error(), Some(28) | Some(122))
}

/// A write error on `path`: "disk full while writing PATH" when the disk
/// or quota is full, else the error with the path.
pub fn write_error(path: &Path, e: io::Error) -> io::Error {
    let text = io_text("writing", path, &e);
    io::Error::new(e.kind(), text)
}

/// The message of an I/O error of `action` on `path`, the path escaped
/// ([`crate::text::shown_path`]): "disk full while writing PATH" when the
/// disk or quota is full (whatever the action: creating a directory or a
/// file writes too), else "ACTION PATH: ERROR".
pub fn io_text(action: &str, path: &Path, e: &io::Error) -> String {
    let shown = crate::text::shown_path(path);
    if is_disk_full(e) {
        return format!("disk full while writing {shown}");
    }
    format!("{action} {shown}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_over_its_limit_is_refused_before_it_is_read() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("mesh.json");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_regular_at_most(&f, 10).unwrap(), b"0123456789");
        let e = read_regular_at_most(&f, 9).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            format!("{} is 10 bytes, more than the 9 bytes such a file may have", f.display())
        );
    }

    #[test]
    fn refuses_fifo_and_device_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("p");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = open_regular(&fifo).unwrap_err();
        assert_eq!(not_regular(&e).unwrap().found, "a FIFO (named pipe)");
        assert_eq!(e.to_string(), "a FIFO (named pipe); expected a regular file");
        let link = d.path().join("z");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert_eq!(
            not_regular(&read_regular(&link).unwrap_err()).unwrap().found,
            "a symbolic link to a character device"
        );
        let dangling = d.path().join("x");
        std::os::unix::fs::symlink(d.path().join("none"), &dangling).unwrap();
        assert_eq!(
            not_regular(&open_regular(&dangling).unwrap_err()).unwrap().found,
            "a dangling symbolic link"
        );
        assert_eq!(
            open_regular(&d.path().join("none")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::write(d.path().join("f"), b"ok").unwrap();
        assert_eq!(read_regular(&d.path().join("f")).unwrap(), b"ok");
    }

    #[test]
    fn a_full_disk_is_named_whatever_the_action() {
        let p = Path::new("out/a\nb");
        assert_eq!(
            io_text("create directory", p, &io::Error::from_raw_os_error(28)),
            "disk full while writing out/a\\nb"
        );
        assert_eq!(
            io_text("write", p, &io::Error::from(io::ErrorKind::QuotaExceeded)),
            "disk full while writing out/a\\nb"
        );
        assert_eq!(
            io_text("open", p, &io::Error::from_raw_os_error(13)),
            "open out/a\\nb: Permission denied (os error 13)"
        );
        assert_eq!(
            write_error(p, io::Error::from_raw_os_error(28)).to_string(),
            "disk full while writing out/a\\nb"
        );
    }

    #[test]
    fn lines_are_counted_across_blocks_and_a_torn_last_line_counts() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        for (text, want) in [
            (Vec::new(), 0),
            (b"a".to_vec(), 1),
            (b"a\n".to_vec(), 1),
            (b"a\nb".to_vec(), 2),
            (b"\n\n".to_vec(), 2),
            // newlines on both sides of a block boundary, the last line torn
            ([vec![b'x'; (1 << 16) - 1], b"\n\n".to_vec(), vec![b'y'; 1 << 17]].concat(), 3),
            ([vec![b'\n'; 3 << 16], b"z\n".to_vec()].concat(), (3 << 16) + 1),
        ] {
            std::fs::write(&f, &text).unwrap();
            assert_eq!(count_lines(&f).unwrap(), want, "{} bytes", text.len());
        }
        std::fs::create_dir(d.path().join("dir")).unwrap();
        assert!(count_lines(&d.path().join("dir")).is_err());
    }
}
