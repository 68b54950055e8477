//! Reading a file line by line with bounded memory: the streaming
//! counterpart of [`crate::jsonl::split_lines`].
//!
//! Lines are split at `\n` (the newline is not part of the line); a last
//! line without a newline is returned as unterminated. A line longer than the
//! reader's limit is never held in memory: only its length is returned, and
//! whether it is blank (valid UTF-8 and only white space), which is all the
//! JSONL reader needs to know about it.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line of at most `limit` bytes: where it is in the reader's buffer
    /// (see [`LineReader::held`]), valid until the next read.
    Held(Range<usize>),
    /// A longer line: its length in bytes and whether it is blank.
    Long { len: u64, blank: bool },
}

/// A line with its 1-based number and whether a newline ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    pub no: u64,
    pub line: Line,
    pub terminated: bool,
}

/// Reads lines from any byte source.
pub struct LineReader<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    no: u64,
    limit: usize,
}

const CHUNK: usize = 1 << 16;
/// The buffer grows only when less than this is free after compacting: a
/// reader of short lines stays at one chunk (hundreds are read side by side).
const MIN_FREE: usize = CHUNK / 2;

/// A file read from start to end, opened again for each read: hundreds of
/// files streamed side by side hold no file descriptor between reads (a
/// fixture may have more shards than the process may open files).
pub struct Reopen {
    path: PathBuf,
    offset: u64,
}

impl Reopen {
    /// Checks that the file can be opened.
    pub fn open(path: &Path) -> io::Result<Reopen> {
        thrum_io::regular::open_regular(path)?;
        Ok(Reopen { path: path.to_path_buf(), offset: 0 })
    }
}

impl Read for Reopen {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut f = thrum_io::regular::open_regular(&self.path)?;
        f.seek(SeekFrom::Start(self.offset))?;
        let mut n = 0;
        // fill what is asked for: one open per buffer, not per short read
        while n < buf.len() {
            match f.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl LineReader<Reopen> {
    pub fn open(path: &Path, limit: usize) -> io::Result<LineReader<Reopen>> {
        Ok(LineReader::new(Reopen::open(path)?, limit))
    }
}

impl<R: Read> LineReader<R> {
    /// Lines of at most `limit` bytes are held; longer ones are measured.
    pub fn new(src: R, limit: usize) -> LineReader<R> {
        LineReader { src, buf: Vec::new(), start: 0, end: 0, eof: false, no: 0, limit }
    }

    /// Reads more bytes after `end`, compacting and growing the buffer as
    /// needed. Returns the number of bytes read (0 at the end of the input).
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 && (self.start == self.end || self.buf.len() - self.end < CHUNK) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_FREE {
            let want = (self.end + CHUNK).max(self.buf.len() * 2).max(CHUNK);
            self.buf.resize(want, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    if n == 0 {
                        self.eof = true;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The bytes of a [`Line::Held`] line just returned.
    pub fn held(&self, r: Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Numbered>> {
        let mut scanned = 0; // bytes after `start` known to hold no newline
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start + scanned..self.end]) {
                let s = self.start;
                let e = s + scanned + i;
                self.start = e + 1;
                self.no += 1;
                let line = held_or_long(&self.buf, s..e, self.limit);
                return Ok(Some(Numbered { no: self.no, line, terminated: true }));
            }
            scanned = self.end - self.start;
            if scanned > self.limit {
                return self.long_line().map(Some);
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                self.no += 1;
                return Ok(Some(Numbered {
                    no: self.no,
                    line: Line::Held(s..self.end),
                    terminated: false,
                }));
            }
            let before = self.start;
            self.fill()?;
            debug_assert!(self.start <= before);
        }
    }

    /// The rest of a line already longer than the limit: measured, not held.
    fn long_line(&mut self) -> io::Result<Numbered> {
        let mut len = 0u64;
        let mut blank = Blank::default();
        loop {
            let chunk = &self.buf[self.start..self.end];
            if let Some(i) = memchr::memchr(b'\n', chunk) {
                blank.feed(&chunk[..i]);
                len += i as u64;
                self.start += i + 1;
                self.no += 1;
                return Ok(Numbered {
                    no: self.no,
                    line: Line::Long { len, blank: blank.finish() },
                    terminated: true,
                });
            }
            blank.feed(chunk);
            len += chunk.len() as u64;
            self.start = self.end;
            if self.eof {
                self.no += 1;
                return Ok(Numbered {
                    no: self.no,
                    line: Line::Long { len, blank: blank.finish() },
                    terminated: false,
                });
            }
            self.fill()?;
        }
    }
}

/// A line found whole in the buffer: held, or measured when over the limit.
fn held_or_long(buf: &[u8], r: Range<usize>, limit: usize) -> Line {
    if r.len() > limit {
        Line::Long {
            len: r.len() as u64,
            blank: std::str::from_utf8(&buf[r]).is_ok_and(|s| s.trim().is_empty()),
        }
    } else {
        Line::Held(r)
    }
}

/// Whether a byte stream fed in pieces is valid UTF-8 made only of white
/// space (`str::trim` would leave nothing).
#[derive(Default)]
struct Blank {
    not_blank: bool,
    pending: Vec<u8>,
}

impl Blank {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !self.not_blank && !bytes.is_empty() {
            if !self.pending.is_empty() {
                // complete the character split by the previous piece
                self.pending.push(bytes[0]);
                bytes = &bytes[1..];
                match std::str::from_utf8(&self.pending) {
                    Ok(s) => {
                        self.not_blank = !s.chars().all(char::is_whitespace);
                        self.pending.clear();
                    }
                    Err(e) if e.error_len().is_some() || self.pending.len() >= 4 => {
                        self.not_blank = true
                    }
                    Err(_) => {}
                }
                continue;
            }
            match std::str::from_utf8(bytes) {
                Ok(s) => {
                    self.not_blank = !s.chars().all(char::is_whitespace);
                    return;
                }
                Err(e) => {
                    let (valid, rest) = bytes.split_at(e.valid_up_to());
                    if !std::str::from_utf8(valid)
                        .map(|s| s.chars().all(char::is_whitespace))
                        .unwrap_or(false)
                        || e.error_len().is_some()
                    {
                        self.not_blank = true;
                        return;
                    }
                    self.pending.extend_from_slice(rest);
                    return;
                }
            }
        }
    }

    fn finish(&self) -> bool {
        !self.not_blank && self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Line number, bytes (or length and blankness over the limit), terminated.
    type Seen = Vec<(u64, Result<Vec<u8>, (u64, bool)>, bool)>;

    /// What `split_lines` sees of each line.
    fn reference(bytes: &[u8], limit: usize) -> Seen {
        crate::jsonl::split_lines(bytes)
            .into_iter()
            .map(|(no, raw, t)| {
                if raw.len() > limit {
                    let blank = std::str::from_utf8(raw).is_ok_and(|s| s.trim().is_empty());
                    (no, Err((raw.len() as u64, blank)), t)
                } else {
                    (no, Ok(raw.to_vec()), t)
                }
            })
            .collect()
    }

    /// A reader handing out at most `n` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn streamed(bytes: &[u8], limit: usize, step: usize) -> Seen {
        read_all(LineReader::new(Trickle(bytes, step), limit)).0
    }

    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"\n".to_vec()),
            Just(" ".as_bytes().to_vec()),
            Just("\u{3000}".as_bytes().to_vec()),
            Just("\u{a0}".as_bytes().to_vec()),
            Just("é".as_bytes().to_vec()),
            Just(b"\t\r".to_vec()),
            Just(vec![0xff]),
            Just(vec![0xe3, 0x80]),
            prop::collection::vec(any::<u8>(), 0..8),
            "[a-z{}\":,]{0,12}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn equals_split_lines(
            pieces in prop::collection::vec(piece(), 0..60),
            limit in 0usize..24,
            step in 1usize..9,
        ) {
            let bytes: Vec<u8> = pieces.concat();
            prop_assert_eq!(streamed(&bytes, limit, step), reference(&bytes, limit));
        }
    }

    /// The lines `r` reads, and the size its buffer reached.
    fn read_all<R: Read>(mut r: LineReader<R>) -> (Seen, usize) {
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            let v = match l.line {
                Line::Held(b) => Ok(r.held(b).to_vec()),
                Line::Long { len, blank } => Err((len, blank)),
            };
            out.push((l.no, v, l.terminated));
        }
        (out, r.buf.len())
    }

    #[test]
    fn a_reader_of_short_lines_holds_one_chunk_whatever_the_file() {
        // lines of 1 to 1,999 bytes, never aligned with a chunk: 4 MiB and more
        let mut bytes = Vec::new();
        let mut i = 0usize;
        while bytes.len() < 4 << 20 {
            let n = 1 + (i * 7919) % 1999;
            bytes.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, n));
            bytes.push(b'\n');
            i += 1;
        }
        let (seen, held) = read_all(LineReader::new(&bytes[..], 1 << 20));
        assert_eq!(seen, reference(&bytes, 1 << 20));
        assert_eq!(held, CHUNK);
        // a line longer than what a chunk has free after compacting still fits
        let mut long = vec![b'x'; CHUNK - 10];
        long.push(b'\n');
        let mut bytes2 = bytes[..5000].to_vec();
        bytes2.extend_from_slice(&long);
        bytes2.extend_from_slice(&bytes[..5000]);
        let (seen, held) = read_all(LineReader::new(&bytes2[..], 1 << 20));
        assert_eq!(seen, reference(&bytes2, 1 << 20));
        assert!(held > CHUNK, "{held}");
    }

    #[test]
    fn long_lines_are_measured_not_held() {
        let mut bytes = vec![b'x'; 300_000];
        bytes.push(b'\n');
        bytes.extend(std::iter::repeat_n(b' ', 200_001));
        let got = streamed(&bytes, 100_000, 1 << 20);
        assert_eq!(got, vec![(1, Err((300_000, false)), true), (2, Err((200_001, true)), false)]);
        assert_eq!(streamed(b"", 10, 3), vec![]);
        assert_eq!(streamed(b"a\n", 10, 3), vec![(1, Ok(b"a".to_vec()), true)]);
    }
}
