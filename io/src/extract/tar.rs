//! A small reader of tar streams (ustar, GNU and PAX headers). It hands out
//! one 512-byte header at a time with the size it declares, so the caller
//! checks every size before a byte of data is read; data is read in chunks
//! the caller chooses, and extension headers are parsed from buffers the
//! caller has already bounded.

use std::fmt;
use std::io::{self, Read};

pub(super) const BLOCK: u64 = 512;

/// Padding after `size` bytes of data, up to the next block.
pub(super) fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// An I/O error of the archive file itself, tagged on its way through the
/// decompressor so it is not mistaken for corruption.
#[derive(Debug)]
pub(super) struct SourceError(io::Error);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

/// The archive file, under the decompressor: its read errors are tagged.
pub(super) struct Source<R>(pub R);

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(e.kind(), SourceError(e))
            }
        })
    }
}

/// Why the stream could not be read.
pub(super) enum Fault {
    /// The archive file could not be read (not its contents' fault).
    Source(io::Error),
    /// A decode or format error, or the stream ended too early.
    Corrupt(String),
}

/// True for an error of the archive file itself (tagged by [`Source`]).
pub(super) fn is_source(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<SourceError>())
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Fault {
        if is_source(&e) {
            let kind = e.kind();
            match e.into_inner().map(|b| b.downcast::<SourceError>()) {
                Some(Ok(s)) => Fault::Source(s.0),
                _ => Fault::Source(io::Error::from(kind)),
            }
        } else {
            Fault::Corrupt(e.to_string())
        }
    }
}

/// The uncompressed tar stream and how far into it we are.
pub(super) struct Stream<R> {
    inner: R,
    /// Bytes consumed so far (the offset of the next header, between entries).
    pub pos: u64,
}

impl<R: Read> Stream<R> {
    pub fn new(inner: R) -> Self {
        Stream { inner, pos: 0 }
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.pos += n as u64;
        Ok(n)
    }

    /// The next header: `None` at the end of the archive (the stream ends on
    /// a block boundary, or an all-zero block).
    pub fn header(&mut self) -> Result<Option<Header>, Fault> {
        let mut b = [0u8; BLOCK as usize];
        match self.fill(&mut b)? {
            0 => Ok(None),
            n if n < b.len() => {
                Err(Fault::Corrupt(format!("the archive ends inside a header ({n} of 512 bytes)")))
            }
            _ if b.iter().all(|&x| x == 0) => Ok(None),
            _ => Ok(Some(Header(b))),
        }
    }

    /// Reads some data into `buf` (which the caller sizes to what is left of
    /// the entry); 0 only at the end of the stream.
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Fills `buf` entirely; `false` when the stream ends first.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<bool, Fault> {
        Ok(self.fill(buf)? == buf.len())
    }

    /// Skips `n` bytes; `false` when the stream ends first.
    pub fn skip(&mut self, mut n: u64) -> Result<bool, Fault> {
        let mut buf = [0u8; 8192];
        while n > 0 {
            let want = n.min(buf.len() as u64) as usize;
            let got = self.fill(&mut buf[..want])?;
            if got < want {
                return Ok(false);
            }
            n -= got as u64;
        }
        Ok(true)
    }
}

/// One 512-byte header block.
pub(super) struct Header([u8; BLOCK as usize]);

/// Up to the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    b.iter().position(|&x| x == 0).map_or(b, |i| &b[..i])
}

/// An octal field: digits up to a NUL, spaces around them allowed, empty = 0.
fn octal(field: &[u8]) -> Option<u64> {
    let s = cstr(field).trim_ascii();
    s.iter().try_fold(0u64, |acc, &c| {
        if (b'0'..=b'7').contains(&c) {
            acc.checked_mul(8)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

/// A decimal number (PAX lengths and sizes): ASCII digits only.
pub(super) fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if c.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

impl Header {
    #[cfg(test)]
    pub fn from_bytes(b: [u8; BLOCK as usize]) -> Self {
        Header(b)
    }

    pub fn typeflag(&self) -> u8 {
        self.0[156]
    }

    /// The mode field (octal; writers may include file-type bits above
    /// `0o7777`, which the caller masks off).
    pub fn mode(&self) -> Result<u64, String> {
        octal(&self.0[100..108])
            .ok_or_else(|| "the header's mode field is not an octal number".into())
    }

    /// The checksum: the sum of the block's bytes with the checksum field
    /// read as spaces, unsigned (POSIX) or signed (some old writers).
    pub fn check(&self) -> Result<(), String> {
        let want = octal(&self.0[148..156])
            .ok_or("the header's checksum field is not an octal number (not a tar header)")?;
        let (mut unsigned, mut signed) = (8 * 32u64, 8 * 32i64);
        for (i, &b) in self.0.iter().enumerate() {
            if !(148..156).contains(&i) {
                unsigned += u64::from(b);
                signed += i64::from(b as i8);
            }
        }
        if want == unsigned || i64::try_from(want).is_ok_and(|w| w == signed) {
            Ok(())
        } else {
            Err(format!("header checksum mismatch (recorded {want}, computed {unsigned})"))
        }
    }

    /// The size field: octal, or base-256 when its first byte has the high bit.
    pub fn size(&self) -> Result<u64, String> {
        let field = &self.0[124..136];
        if field[0] & 0x80 != 0 {
            if field[0] & 0x40 != 0 {
                return Err("the header's size field is negative".into());
            }
            let mut v = u64::from(field[0] & 0x3f);
            for &b in &field[1..] {
                if v > u64::MAX >> 8 {
                    return Err("the header's size field is out of range".into());
                }
                v = (v << 8) | u64::from(b);
            }
            return Ok(v);
        }
        octal(field).ok_or_else(|| "the header's size field is not an octal number".into())
    }

    fn is_ustar(&self) -> bool {
        &self.0[257..263] == b"ustar\0" && &self.0[263..265] == b"00"
    }

    /// The path: ustar's `prefix/name`, or the name alone.
    pub fn path(&self) -> Vec<u8> {
        let name = cstr(&self.0[..100]);
        let prefix = if self.is_ustar() { cstr(&self.0[345..500]) } else { &[] };
        if prefix.is_empty() {
            return name.to_vec();
        }
        let mut p = Vec::with_capacity(prefix.len() + 1 + name.len());
        p.extend_from_slice(prefix);
        p.push(b'/');
        p.extend_from_slice(name);
        p
    }

    /// The link target field.
    pub fn link(&self) -> Vec<u8> {
        cstr(&self.0[157..257]).to_vec()
    }
}

/// What a PAX `x` header says about the next entry (other keys are ignored).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Pax {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    /// `GNU.sparse.*` keys: the entry is a sparse file.
    pub sparse: bool,
}

/// Parses PAX records (`LEN KEY=VALUE\n`, LEN counting the whole record).
/// NUL padding after the last record is allowed.
pub(super) fn parse_pax(mut data: &[u8]) -> Result<Pax, String> {
    let mut pax = Pax::default();
    while !data.is_empty() {
        if data.iter().all(|&b| b == 0) {
            break;
        }
        let sp = data
            .iter()
            .take(21)
            .position(|&b| b == b' ')
            .ok_or("malformed PAX record (no length)")?;
        let len = decimal(&data[..sp]).ok_or("malformed PAX record (bad length)")?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l > sp + 1 && l <= data.len())
            .ok_or("malformed PAX record (its length runs past the header's data)")?;
        let Some((&b'\n', kv)) = data[sp + 1..len].split_last() else {
            return Err("malformed PAX record (not ended by a newline)".into());
        };
        let eq = kv.iter().position(|&b| b == b'=').ok_or("malformed PAX record (no '=')")?;
        let (key, value) = (&kv[..eq], &kv[eq + 1..]);
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"linkpath" => pax.linkpath = Some(value.to_vec()),
            b"size" => {
                pax.size = Some(decimal(value).ok_or("the PAX size record is not a number")?)
            }
            k if k.starts_with(b"GNU.sparse.") => pax.sparse = true,
            _ => {}
        }
        data = &data[len..];
    }
    Ok(pax)
}
