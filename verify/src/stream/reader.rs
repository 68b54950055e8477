//! Reading one event file: line by line in file order ([`EventReader`]),
//! streamed or read whole and sorted ([`FileState`]); reading chosen lines
//! again ([`fetch`]); finding the files out of replay order.

use super::records::*;
use super::*;
use crate::error::InputError;
use crate::findings::{Finding, Findings};
use crate::index::Pos;
use crate::jsonl::{daemon_text, decode_line, EventFile, RawLine, Source, MAX_LINE_BYTES};
use crate::lines::{Line, LineReader, Reopen};
use std::borrow::Cow;
use std::collections::HashMap;
use thrum_schemas::events::Event;

/// An event on its way to the replay.
pub struct PlacedEvent {
    pub pos: Pos,
    pub event: Event,
}

/// The order events are replayed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// (`timestamp`, `event_id`) as byte strings: the daemon's rebuild
    /// (docs/FORMAT.md section 4), and the arrival order of a daemon whose
    /// events all have one origin.
    Time,
    /// `sequence` (events without one last): the arrival order of a daemon
    /// that holds events of more than one origin (section 4b).
    Sequence,
}

/// The sort key of an event in an [`Order`] (keys of one order only are compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key<'a> {
    Time(&'a [u8], &'a [u8]),
    /// (no sequence, sequence)
    Seq(bool, i64),
}

pub(super) fn time_key(e: &Event) -> (&[u8], &[u8]) {
    (e.envelope.timestamp.as_bytes(), e.envelope.event_id.as_deref().unwrap_or("").as_bytes())
}

pub(super) fn key_of(order: Order, e: &Event) -> Key<'_> {
    match order {
        Order::Time => {
            let (t, i) = time_key(e);
            Key::Time(t, i)
        }
        Order::Sequence => {
            Key::Seq(e.envelope.sequence.is_none(), e.envelope.sequence.unwrap_or(0))
        }
    }
}

/// Reads the events of one file in line order, decoding each line as
/// [`crate::jsonl::decode_line`] does.
pub struct EventReader {
    pub(super) lines: LineReader<Reopen>,
    pub info: EventFile,
    /// The findings of its lines, bounded (see [`crate::findings::LIST_CEILING`]).
    pub findings: Findings,
    /// The findings of the line being decoded.
    line_findings: Vec<Finding>,
    /// The text of the last line returned when it is not its bytes as held
    /// (invalid UTF-8 read as the daemon reads it).
    fixed: String,
}

/// Where the text of the line [`EventReader::next`] returned is: a range of
/// the reader's buffer, or the reader's own copy (see [`EventReader::text`]).
#[derive(Debug, Clone)]
pub enum LineText {
    Held(std::ops::Range<usize>),
    Fixed,
}

impl EventReader {
    pub fn open(src: &Source) -> Result<EventReader, InputError> {
        let lines = LineReader::open(&src.path, MAX_LINE_BYTES)
            .map_err(|e| InputError::io(&src.path, e))?;
        let info = EventFile {
            rel: src.rel.clone(),
            shard: src.shard.clone(),
            lines: 0,
            events: 0,
            blank: 0,
            unparsable: 0,
            undecodable: None,
        };
        Ok(EventReader {
            lines,
            info,
            findings: Findings::new(0),
            line_findings: Vec::new(),
            fixed: String::new(),
        })
    }

    /// The next event: its line number and event; its text is [`EventReader::text`].
    pub fn next(
        &mut self,
        path: &std::path::Path,
    ) -> Result<Option<(u64, LineText, Event)>, InputError> {
        loop {
            let Some(l) = self.lines.next_line().map_err(|e| InputError::io(path, e))? else {
                return Ok(None);
            };
            let (raw, start) = match l.line {
                Line::Held(r) => (RawLine::Held(self.lines.held(r.clone())), r.start),
                Line::Long { len, blank } => (RawLine::Long { len, blank }, 0),
            };
            let decoded =
                decode_line(l.no, raw, l.terminated, &mut self.info, &mut self.line_findings);
            for f in self.line_findings.drain(..) {
                self.findings.push(f);
            }
            let Some((text, event)) = decoded else { continue };
            let at = match text {
                // a prefix of the held bytes (a trailing `\r` dropped)
                Cow::Borrowed(t) => LineText::Held(start..start + t.len()),
                Cow::Owned(t) => {
                    self.fixed = t;
                    LineText::Fixed
                }
            };
            return Ok(Some((l.no, at, event)));
        }
    }

    /// The text of the line last returned by [`EventReader::next`].
    pub fn text(&self, at: &LineText) -> &str {
        match at {
            LineText::Held(r) => std::str::from_utf8(self.lines.held(r.clone())).unwrap_or(""),
            LineText::Fixed => &self.fixed,
        }
    }
}

/// The position of line `line` of file `idx` (`src`), or the input error
/// saying which limit of [`Pos`] it is beyond.
pub(super) fn position(src: &Source, idx: usize, line: u64) -> Result<Pos, Stop> {
    Pos::new(idx, line).ok_or_else(|| {
        let (path, reason) = if Pos::new(idx, 1).is_none() {
            (
                src.path.parent().unwrap_or(&src.path).to_path_buf(),
                format!(
                    "more than {} event files; the verifier numbers at most that many (no \
                    option raises this limit)",
                    Pos::MAX_FILES
                ),
            )
        } else {
            (
                src.path.clone(),
                format!(
                    "more than {} lines; the verifier numbers at most that many lines per event \
                        file (no option raises this limit)",
                    Pos::MAX_LINE
                ),
            )
        };
        Stop::Input(InputError::TooLarge { path, reason })
    })
}

/// One file of a producer: streamed, or read whole and sorted.
pub(super) struct FileState {
    pub(super) idx: usize,
    /// The file index of its events' positions ([`Shared::place`]).
    place: usize,
    /// The file's reader; for a sorted file only its counts and findings are left.
    pub(super) reader: EventReader,
    pub(super) sorted: Option<std::vec::IntoIter<PlacedEvent>>,
    /// Time key of the last event read (to see that the file is in time order).
    pub(super) last_ts: String,
    pub(super) last_id: String,
    /// Sequence key of the last event streamed (in [`Order::Sequence`]).
    pub(super) last_seq: (bool, i64),
    /// An event of the file comes before the previous one in time order.
    pub(super) time_unsorted: bool,
}

impl FileState {
    pub(super) fn open(
        idx: usize,
        in_memory: bool,
        rec: &mut Recorder<'_>,
    ) -> Result<FileState, Stop> {
        let src = &rec.ctx.sources[idx];
        let mut f = FileState {
            idx,
            place: rec.ctx.place(idx),
            reader: EventReader::open(src)?,
            sorted: None,
            last_ts: String::new(),
            last_id: String::new(),
            last_seq: (false, i64::MIN),
            time_unsorted: false,
        };
        if in_memory {
            let mut evs = Vec::new();
            while let Some((line, range, mut event)) = f.reader.next(&src.path)? {
                if !rec.ctx.wanted(idx, &event) {
                    continue;
                }
                let pos = position(src, f.place, line)?;
                rec.see_origin(&event)?;
                f.see_time(&event);
                rec.record(pos, f.reader.text(&range), &mut event);
                evs.push(PlacedEvent { pos, event });
            }
            let order = rec.ctx.order;
            evs.sort_by(|a, b| key_of(order, &a.event).cmp(&key_of(order, &b.event)));
            f.sorted = Some(evs.into_iter());
        }
        Ok(f)
    }

    /// The file's next event in replay order.
    pub(super) fn advance(&mut self, rec: &mut Recorder<'_>) -> Result<Option<PlacedEvent>, Stop> {
        if let Some(s) = self.sorted.as_mut() {
            return Ok(s.next());
        }
        let src = &rec.ctx.sources[self.idx];
        let (line, range, mut event) = loop {
            let Some((line, range, event)) = self.reader.next(&src.path)? else { return Ok(None) };
            if rec.ctx.wanted(self.idx, &event) {
                break (line, range, event);
            }
        };
        let pos = position(src, self.place, line)?;
        rec.see_origin(&event)?;
        match rec.ctx.order {
            Order::Time => {
                if time_key(&event) < (self.last_ts.as_bytes(), self.last_id.as_bytes()) {
                    return Err(Stop::Unsorted);
                }
            }
            Order::Sequence => {
                let Key::Seq(none, seq) = key_of(Order::Sequence, &event) else {
                    return Err(Stop::Unsorted);
                };
                if (none, seq) < self.last_seq {
                    return Err(Stop::Unsorted);
                }
                self.last_seq = (none, seq);
            }
        }
        self.see_time(&event);
        rec.record(pos, self.reader.text(&range), &mut event);
        Ok(Some(PlacedEvent { pos, event }))
    }

    /// Notes the event's time key (whether the file is in time order).
    fn see_time(&mut self, event: &Event) {
        if time_key(event) < (self.last_ts.as_bytes(), self.last_id.as_bytes()) {
            self.time_unsorted = true;
        }
        self.last_ts.clear();
        self.last_ts.push_str(&event.envelope.timestamp);
        self.last_id.clear();
        self.last_id.push_str(event.envelope.event_id.as_deref().unwrap_or(""));
    }
}

/// Reads again the lines at `want` (lines decoded as events before) and
/// keeps `keep(text, event)` of each.
pub fn fetch<T>(
    sources: &[Source],
    want: impl IntoIterator<Item = Pos>,
    keep: impl Fn(&str, Event) -> T,
) -> Result<HashMap<Pos, T>, InputError> {
    let mut out = HashMap::new();
    fetch_each(sources, want, |p, text, e| {
        out.insert(p, keep(text, e));
        Ok(())
    })?;
    Ok(out)
}

/// Reads again the lines at `want` (lines decoded as events before) and
/// calls `each(position, text, event)` for each, in position order, one
/// line at a time (a line that no longer decodes is passed over).
pub fn fetch_each(
    sources: &[Source],
    want: impl IntoIterator<Item = Pos>,
    mut each: impl FnMut(Pos, &str, Event) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let mut want: Vec<Pos> = want.into_iter().collect();
    want.sort_unstable();
    want.dedup();
    let mut i = 0;
    while i < want.len() {
        let file = want[i].file();
        let src = &sources[file];
        let mut lines = LineReader::open(&src.path, MAX_LINE_BYTES)
            .map_err(|e| InputError::io(&src.path, e))?;
        while i < want.len() && want[i].file() == file {
            let Some(l) = lines.next_line().map_err(|e| InputError::io(&src.path, e))? else {
                break;
            };
            if l.no < want[i].line() {
                continue;
            }
            if let Line::Held(r) = l.line {
                let (text, _) = daemon_text(lines.held(r));
                if let Ok(e) = Event::parse(&text) {
                    each(want[i], &text, e)?;
                }
            }
            i += 1;
        }
        while i < want.len() && want[i].file() == file {
            i += 1;
        }
    }
    Ok(())
}

/// The event id of each position (see [`fetch`]).
pub(super) fn fetch_ids(
    sources: &[Source],
    want: impl IntoIterator<Item = Pos>,
) -> Result<HashMap<Pos, String>, InputError> {
    fetch(sources, want, |_, e| e.envelope.event_id.unwrap_or_default())
}

/// Which files are not in `order` (every line decoded, nothing kept).
pub(super) fn unsorted_files(sources: &[Source], order: Order) -> Result<Vec<bool>, InputError> {
    let check = |src: &Source| -> Result<bool, InputError> {
        let mut r = EventReader::open(src)?;
        let (mut ts, mut id) = (Vec::new(), Vec::new());
        let mut last_seq = (false, i64::MIN);
        while let Some((_, _, e)) = r.next(&src.path)? {
            match key_of(order, &e) {
                Key::Time(t, i) => {
                    if (t, i) < (ts.as_slice(), id.as_slice()) {
                        return Ok(true);
                    }
                    ts.clear();
                    ts.extend_from_slice(t);
                    id.clear();
                    id.extend_from_slice(i);
                }
                Key::Seq(none, seq) => {
                    if (none, seq) < last_seq {
                        return Ok(true);
                    }
                    last_seq = (none, seq);
                }
            }
        }
        Ok(false)
    };
    let half = sources.len() / 2;
    let (a, b) = std::thread::scope(|s| {
        let h = s
            .spawn(|| sources[half..].iter().map(check).collect::<Result<Vec<bool>, InputError>>());
        let a = sources[..half].iter().map(check).collect::<Result<Vec<bool>, InputError>>();
        (a, h.join())
    });
    let b = b.map_err(|_| InputError::Unreadable {
        path: sources[0].path.clone(),
        reason: "JSONL decoding thread panicked".into(),
    })?;
    let mut v = a?;
    v.extend(b?);
    Ok(v)
}

/// Index of the first file of the second half (by bytes).
pub(super) fn split_point(sources: &[Source]) -> usize {
    let sizes: Vec<u64> =
        sources.iter().map(|s| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0)).collect();
    let total: u64 = sizes.iter().sum();
    let mut acc = 0;
    let split = sizes.iter().position(|c| {
        acc += c;
        acc * 2 >= total
    });
    split.map_or(sources.len(), |i| i + 1).min(sources.len())
}
