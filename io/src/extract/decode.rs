//! The compressed layer of an archive: a zstd or gzip decoder that is strict
//! about the whole file. Read to its end (the extractor reads the
//! uncompressed stream to its end, past the tar end-of-archive marker), a
//! decoder has checked:
//!
//! * zstd: every frame, one after another, skippable frames skipped
//!   wherever they are (the first frame too); each frame's content checksum
//!   when its header says it carries one; a frame cut short; bytes after the
//!   last frame that are not a frame (zeros included);
//! * gzip: every member, one after another, each member's CRC-32 and ISIZE
//!   trailer; a member cut short (its trailer missing); bytes after the last
//!   member that are not a member. Zero padding is refused like any other
//!   trailing byte (`gzip -t` only warns about it): what follows the last
//!   member is either a member or an error.
//!
//! Errors of the archive file itself pass through untouched (tagged by
//! [`Source`]); decode errors say which stream and, for gzip, which member.

use super::tar::{is_source, Source};
use super::{Compression, ExtractError, Place};
use flate2::bufread::GzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// The zstd frame magic number, as stored (`0xFD2FB528` little-endian).
pub(super) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The gzip magic bytes.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True for the magic number of a skippable zstd frame (`0x184D2A50` to
/// `0x184D2A5F`, little-endian): valid at the start of a zstd file.
pub(super) fn is_skippable(magic: &[u8; 4]) -> bool {
    magic[0] & 0xf0 == 0x50 && magic[1..] == [0x2a, 0x4d, 0x18]
}

/// The uncompressed stream of `file`, compressed with `comp`.
pub(super) fn decoder(
    archive: &Path,
    comp: Compression,
    file: File,
) -> Result<Box<dyn Read>, ExtractError> {
    let source = Source(file);
    Ok(match comp {
        Compression::Zstd => {
            let dec =
                zstd::stream::read::Decoder::new(source).map_err(|e| ExtractError::Corrupt {
                    archive: archive.to_path_buf(),
                    at: Place::Header { offset: 0, after: None },
                    reason: e.to_string(),
                })?;
            Box::new(Zstd(dec))
        }
        Compression::Gzip => Box::new(GzMembers::new(BufReader::new(source))),
    })
}

/// Names the zstd stream in its decode errors.
struct Zstd<R>(R);

impl<R: Read> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if is_source(&e) || e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(e.kind(), format!("the zstd stream is corrupt: {e}"))
            }
        })
    }
}

/// The members of a gzip file, decoded one after another; each member's
/// trailer is checked when its data ends (by [`GzDecoder`]), and what
/// follows a member is another member or the end of the file.
pub(super) struct GzMembers<R: BufRead> {
    /// The member being read; `None` once the file has ended cleanly.
    member: Option<GzDecoder<R>>,
    /// The member's number, from 1.
    number: u64,
}

impl<R: BufRead> GzMembers<R> {
    pub(super) fn new(input: R) -> Self {
        GzMembers { member: Some(GzDecoder::new(input)), number: 1 }
    }

    /// A decode error of the current member, said in words.
    fn explain(&self, e: io::Error) -> io::Error {
        if is_source(&e) || e.kind() == io::ErrorKind::Interrupted {
            return e;
        }
        let k = self.number;
        let text = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!(
                "gzip member {k} is cut short (the file ends inside its header, data or trailer)"
            )
        } else if e.to_string().contains("checksum") {
            format!(
                "gzip member {k}: the CRC-32 or length (ISIZE) in its trailer does not match \
                its data"
            )
        } else if k > 1 {
            format!("gzip member {k} (after the last complete member): {e}")
        } else {
            format!("gzip member {k}: {e}")
        };
        io::Error::new(io::ErrorKind::InvalidData, text)
    }

    /// After a member's trailer: the next member starts, or the file ends.
    /// Returns `false` at the end of the file.
    fn next_member(&mut self) -> io::Result<bool> {
        let Some(member) = self.member.as_mut() else { return Ok(false) };
        let rest = member.get_mut().fill_buf()?;
        let (first, second) = (rest.first().copied(), rest.get(1).copied());
        let Some(first) = first else {
            self.member = None;
            return Ok(false);
        };
        // a lone 0x1f at the end of the buffer: the next header decides
        if first != GZIP_MAGIC[0] || second.is_some_and(|b| b != GZIP_MAGIC[1]) {
            let text = format!(
                "bytes that are not a gzip member follow member {} (byte 0x{first:02x}; trailing \
                    data, zeros included, is refused)",
                self.number
            );
            return Err(io::Error::new(io::ErrorKind::InvalidData, text));
        }
        self.number += 1;
        self.member = self.member.take().map(|m| GzDecoder::new(m.into_inner()));
        Ok(true)
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(member) = self.member.as_mut() else { return Ok(0) };
            match member.read(buf) {
                Ok(0) => {
                    // the member's trailer is checked: on to the next one
                    if !self.next_member()? {
                        return Ok(0);
                    }
                }
                Ok(n) => return Ok(n),
                Err(e) => return Err(self.explain(e)),
            }
        }
    }
}
