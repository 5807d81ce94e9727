//! The journal: an append-only file in the state directory in which every accepted change of
//! the order service (order, publish, rollback, clock change, form registration, settings) is
//! written, and made durable, before the admin API answers. A restart replays it (the replay
//! itself lives in [`crate::ordering`]; this module only stores and verifies entries).
//!
//! # Line format
//!
//! One JSON object per line (UTF-8, `\n`-terminated), readable with `cat`:
//!
//! ```text
//! {"seq":1,"at":"2026-11-22T10:00:00Z","crc":"1a2b3c4d","event":{"kind":"clock",...}}
//! ```
//!
//! - `seq`: 1, 2, 3, ... without gaps, in file order.
//! - `at`: when the change was accepted (RFC 3339, UTC).
//! - `event`: the change, any JSON value, written compactly (never contains a raw newline).
//! - `crc`: CRC-32 (IEEE 802.3, the one of zip/PNG), 8 lowercase hex digits, of the bytes
//!   `{"seq":<seq>,"at":<at>,"event":<event>}` — that is, the line itself without its `crc`
//!   member — where `<seq>` is the decimal number, and `<at>` and `<event>` are the exact
//!   JSON texts found in the line (not re-serialised values). Verification rebuilds those bytes
//!   from the line, so it is deterministic and covers all three fields.
//!
//! # Durability
//!
//! One append is one `write_all` of the whole line (newline included) followed by
//! `sync_data`, so a crash leaves at most one torn line, at the end. Creating the file (and
//! any missing directories) also fsyncs the directories that gained an entry. If a write or
//! sync fails, the partial line is cut off again; after a failed sync the journal refuses
//! further appends until the process restarts and [`Journal::open`] verifies it again.
//!
//! # Recovery
//!
//! [`Journal::open`] verifies every line. A damaged *last* line (no newline, unreadable JSON,
//! checksum mismatch) is a torn write: the file is truncated to the end of the last whole
//! entry and a warning is returned. Damage anywhere else (a bad line followed by good ones, a
//! sequence gap or reordering) is an error naming the file, the line and the entry; nothing
//! is truncated then. Blank lines are ignored.
//!
//! # Start-up TAK
//!
//! [`initial_store`] gives an environment's TAK before the journal is replayed: empty, or an
//! export named by `tak_export` in its configuration (the export is configuration, read at
//! every start, and the journal's entries apply on top of it). Its checksum is pinned in
//! `<journal>.tak-export-<env>` when the journal starts; at a later start a different file is
//! refused, naming it, instead of silently replaying the orders onto another TAK.
//!
//! # Reading back
//!
//! Every entry's [`Place`] (offset, length, line, checksum) is known when it is appended or
//! read: [`read_entry`] reads one entry back by it (the order service keeps large order texts
//! here rather than in memory), and [`Journal::open_after`] verifies only the entries after a
//! given one (a start from the order service's checkpoint, see `ordering::checkpoint`).
//!
//! # Not here
//!
//! No compaction or rotation (the journal only grows, so places stay valid), and no concurrent
//! writers: one process owns the state directory and opens its journal once.

use std::{
    fs::{File, OpenOptions},
    io::{ErrorKind, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One journal entry: sequence number, time, the event as its JSON text, and where its line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// When the change was accepted.
    pub at: DateTime<Utc>,
    /// What happened: the event's JSON text exactly as the line holds it.
    pub event: String,
    /// Where the line is.
    pub place: Place,
}

/// Where an entry's line is in the file, and its checksum: enough to read the entry back
/// ([`read_entry`]) and to recognise it (a checkpoint names the entry it was made at by its
/// place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Byte offset of the line's start.
    pub offset: u64,
    /// Length of the line without its newline.
    pub len: u64,
    /// 1-based line number (blank lines count).
    pub line: u64,
    /// The entry's checksum (the `crc` member).
    pub crc: u32,
}

/// A journal that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Creating, reading, writing or syncing failed.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line other than the last is damaged, or the sequence is broken.
    #[error(
        "journal {}: line {line} (entry seq {seq}) is damaged: {reason}; the journal was left unchanged — repair the line or move the file away to start afresh",
        path.display()
    )]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The sequence number the line claims, or the expected one when it cannot be read.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The start-up TAK export cannot be used with this journal.
    #[error("{}: {reason}", path.display())]
    TakExport {
        /// The export file.
        path: PathBuf,
        /// What is wrong (unreadable, not an export, changed since the journal began).
        reason: String,
    },
    /// An earlier append failed in a way that leaves the file's state uncertain.
    #[error(
        "journal {}: not written, an earlier write failed ({reason}); restart so the journal is verified again",
        path.display()
    )]
    Unusable {
        /// The journal.
        path: PathBuf,
        /// The earlier failure.
        reason: String,
    },
}

/// What [`Journal::open`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// Every whole entry, in order ([`Journal::open_after`]: those after its entry).
    pub entries: Vec<Entry>,
    /// Set when a torn last line was cut off.
    pub warning: Option<String>,
}

/// An open journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    last_seq: u64,
    /// Length of the file up to the end of the last whole entry.
    end: u64,
    /// Lines up to `end` (blank ones included): the next entry's line is `lines + 1`.
    lines: u64,
    /// The last entry's number and place.
    last: Option<(u64, Place)>,
    /// Set after a failure that makes further appends unsafe.
    broken: Option<String>,
}

/// A line as read: `at` and `event` kept as their exact text for the checksum.
#[derive(Deserialize)]
struct LineIn<'a> {
    seq: u64,
    #[serde(borrow)]
    at: &'a RawValue,
    #[serde(borrow)]
    crc: &'a str,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// CRC-32 (IEEE 802.3, the one of zip/PNG), by `crc32fast` (table- and SIMD-driven: a journal
/// holding a million-row order is hundreds of megabytes to verify at start-up).
fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The checksum of an entry, from the exact JSON texts of `at` and `event`, computed over the
/// pieces of `{"seq":<seq>,"at":<at>,"event":<event>}` without joining them into one string.
fn checksum(seq: u64, at: &str, event: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(b"{\"seq\":");
    h.update(seq.to_string().as_bytes());
    h.update(b",\"at\":");
    h.update(at.as_bytes());
    h.update(b",\"event\":");
    h.update(event);
    h.update(b"}");
    h.finalize()
}

/// The full line (with its newline) for one entry, and its checksum. The event is serialised
/// straight into the line (a large order is not copied again) and the checksum filled in after.
fn encode(
    seq: u64,
    at: &DateTime<Utc>,
    event: &impl Serialize,
) -> serde_json::Result<(Vec<u8>, u32)> {
    let at = serde_json::to_string(at)?;
    let mut line = format!("{{\"seq\":{seq},\"at\":{at},\"crc\":\"").into_bytes();
    let crc_at = line.len();
    line.extend_from_slice(b"00000000\",\"event\":");
    let event_at = line.len();
    serde_json::to_writer(&mut line, event)?;
    let crc = checksum(seq, &at, &line[event_at..]);
    line[crc_at..crc_at + 8].copy_from_slice(format!("{crc:08x}").as_bytes());
    line.extend_from_slice(b"}\n");
    Ok((line, crc))
}

/// Why a line is not a valid entry: the reason, and the seq it claims if readable.
struct Bad {
    reason: String,
    seq: Option<u64>,
}

/// Verifies one line (without its newline): the entry without its place, and its checksum.
fn decode(line: &[u8]) -> Result<(u64, DateTime<Utc>, String, u32), Bad> {
    let bad = |reason: String, seq| Bad { reason, seq };
    let text = std::str::from_utf8(line).map_err(|e| bad(format!("not UTF-8 text ({e})"), None))?;
    let parsed: LineIn<'_> =
        serde_json::from_str(text).map_err(|e| bad(format!("not a journal entry ({e})"), None))?;
    let expected = checksum(parsed.seq, parsed.at.get(), parsed.event.get().as_bytes());
    let claimed = (parsed.crc.len() == 8
        && parsed
            .crc
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then(|| u32::from_str_radix(parsed.crc, 16).ok())
    .flatten();
    if claimed != Some(expected) {
        return Err(bad(
            format!(
                "checksum mismatch: the line says {:?}, its content gives \"{expected:08x}\"",
                parsed.crc
            ),
            Some(parsed.seq),
        ));
    }
    let at = serde_json::from_str(parsed.at.get())
        .map_err(|e| bad(format!("bad time ({e})"), Some(parsed.seq)))?;
    Ok((parsed.seq, at, parsed.event.get().to_string(), expected))
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Creates `dir` and its missing ancestors, returning the directories that gained an entry
/// (the parents of the created ones), deepest first.
fn create_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.as_os_str().is_empty() && !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir)?;
    Ok(missing
        .iter()
        .map(|d| match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect())
}

/// Makes a directory's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Where verification starts: the beginning, or just after a known entry.
#[derive(Clone, Copy)]
struct Start {
    /// The entry before the first one to verify (0: none).
    seq: u64,
    /// Byte offset of the first line to verify.
    offset: u64,
    /// Lines before it.
    lines: u64,
}

/// Opens the journal file for reading and appending, creating it and its missing parent
/// directories (each made durable) when it does not exist; refuses anything but a file.
fn open_file(path: &Path) -> Result<File, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut to_sync = create_dirs(&parent).map_err(io)?;
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    let file = match options.clone().create_new(true).open(path) {
        Ok(f) => {
            f.sync_all().map_err(io)?;
            to_sync.insert(0, parent);
            f
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => options.open(path).map_err(io)?,
        Err(e) => return Err(io(e)),
    };
    for dir in &to_sync {
        sync_dir(dir).map_err(io)?;
    }
    if !file.metadata().map_err(io)?.is_file() {
        return Err(io(std::io::Error::new(
            ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    Ok(file)
}

/// One line of the journal as read: its 1-based number, where it starts and ends in the
/// bytes read (without the newline), and whether it has its newline.
struct LineSpan {
    line: usize,
    from: usize,
    end: usize,
    complete: bool,
}

/// Splits `bytes` (read from `start`) into lines.
fn split_lines(bytes: &[u8], start: Start) -> Vec<LineSpan> {
    let mut lines = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let (end, complete) = match memchr_newline(&bytes[pos..]) {
            Some(i) => (pos + i, true),
            None => (bytes.len(), false),
        };
        lines.push(LineSpan {
            line: start.lines as usize + lines.len() + 1,
            from: pos,
            end,
            complete,
        });
        pos = if complete { end + 1 } else { end };
    }
    lines
}

/// The whole entries found, and where the good part of the bytes read ends.
struct Verified {
    entries: Vec<Entry>,
    /// Bytes (from `start`) up to the end of the last whole entry or blank line.
    good_end: usize,
    /// Lines in that part.
    good_lines: u64,
    /// A torn last entry that is to be cut off.
    warning: Option<String>,
}

/// Verifies every line of `bytes` (read from `start` of the journal at `path`): entries in
/// sequence with good checksums. A damaged last line is a torn write (a warning, to be cut
/// off); damage before good lines is [`JournalError::Damaged`].
fn verify(path: &Path, bytes: &[u8], start: Start) -> Result<Verified, JournalError> {
    let lines = split_lines(bytes, start);
    let last_content = lines.iter().rposition(|l| !is_blank(&bytes[l.from..l.end]));
    let mut v = Verified {
        entries: Vec::new(),
        good_end: 0,
        good_lines: 0,
        warning: None,
    };
    for (index, l) in lines.iter().enumerate() {
        let text = &bytes[l.from..l.end];
        if l.complete && is_blank(text) {
            v.good_end = l.end + 1;
            v.good_lines += 1;
            continue;
        }
        let expected = v.entries.last().map_or(start.seq + 1, |e| e.seq + 1);
        let result = if l.complete {
            decode(text)
        } else {
            Err(Bad {
                reason: "incomplete write (no end of line)".into(),
                seq: None,
            })
        };
        match result {
            Ok((seq, at, event, crc)) if seq == expected => {
                v.entries.push(Entry {
                    seq,
                    at,
                    event,
                    place: Place {
                        offset: start.offset + l.from as u64,
                        len: (l.end - l.from) as u64,
                        line: l.line as u64,
                        crc,
                    },
                });
                v.good_end = l.end + 1;
                v.good_lines += 1;
            }
            Ok((seq, ..)) => {
                return Err(JournalError::Damaged {
                    path: path.to_path_buf(),
                    line: l.line,
                    seq,
                    reason: format!(
                        "out of sequence: seq {seq} follows seq {} (expected {expected})",
                        expected - 1
                    ),
                });
            }
            Err(bad) if last_content.is_none_or(|last| index >= last) => {
                v.warning = Some(format!(
                    "journal {}: the last entry (line {}) was torn ({}); recovered {} entries and truncated it",
                    path.display(),
                    l.line,
                    bad.reason,
                    start.seq as usize + v.entries.len()
                ));
                break;
            }
            Err(bad) => {
                return Err(JournalError::Damaged {
                    path: path.to_path_buf(),
                    line: l.line,
                    seq: bad.seq.unwrap_or(expected),
                    reason: bad.reason,
                });
            }
        }
    }
    Ok(v)
}

impl Journal {
    /// Opens (creating it and its parent directories if missing) the journal at `path`,
    /// verifies every entry and returns them. A torn last line is cut off with a warning;
    /// damage elsewhere is [`JournalError::Damaged`] and leaves the file untouched.
    pub fn open(path: &Path) -> Result<(Journal, Recovered), JournalError> {
        let start = Start {
            seq: 0,
            offset: 0,
            lines: 0,
        };
        match Self::open_at(path, None, start)? {
            Some(opened) => Ok(opened),
            // Without an anchor there is nothing to disagree with.
            None => Err(JournalError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("the journal could not be read"),
            }),
        }
    }

    /// Opens the journal like [`Journal::open`] but reads and verifies only the entries after
    /// entry `seq` at `place` (a checkpoint's): `Ok(None)` when that entry is not there (the
    /// journal is shorter, or another one), so the caller can open it whole instead. Entries
    /// before it are not read again.
    pub fn open_after(
        path: &Path,
        seq: u64,
        place: Place,
    ) -> Result<Option<(Journal, Recovered)>, JournalError> {
        let start = Start {
            seq,
            offset: place.offset + place.len + 1,
            lines: place.line,
        };
        Self::open_at(path, Some((seq, place)), start)
    }

    /// Opens the journal (see [`Journal::open`]), checks the `anchor` entry if given, and
    /// verifies the lines from `start` on, cutting off a torn tail.
    fn open_at(
        path: &Path,
        anchor: Option<(u64, Place)>,
        start: Start,
    ) -> Result<Option<(Journal, Recovered)>, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = open_file(path)?;
        if let Some((seq, place)) = anchor
            && !anchor_matches(&mut file, seq, place)
        {
            return Ok(None);
        }
        let base = start.offset;
        file.seek(SeekFrom::Start(base)).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let verified = verify(path, &bytes, start)?;
        let end = base + verified.good_end as u64;
        if verified.good_end < bytes.len() {
            file.set_len(end).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let entries = verified.entries;
        let last_seq = entries.last().map_or(start.seq, |e| e.seq);
        let last = entries.last().map(|e| (e.seq, e.place)).or(anchor);
        Ok(Some((
            Journal {
                file,
                path: path.to_path_buf(),
                last_seq,
                end,
                lines: start.lines + verified.good_lines,
                last,
                broken: None,
            },
            Recovered {
                entries,
                warning: verified.warning,
            },
        )))
    }

    /// Appends one entry (seq = last + 1) and makes it durable (write + `sync_data`) before
    /// returning its number and place. On failure nothing is appended (the partial line is
    /// cut off again).
    pub fn append(
        &mut self,
        at: DateTime<Utc>,
        event: &impl Serialize,
    ) -> Result<(u64, Place), JournalError> {
        if let Some(reason) = &self.broken {
            return Err(JournalError::Unusable {
                path: self.path.clone(),
                reason: reason.clone(),
            });
        }
        let seq = self.last_seq + 1;
        let (line, crc) = encode(seq, &at, event).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        let written = self
            .file
            .write_all(&line)
            .map_err(|e| ("write", e))
            .and_then(|()| self.file.sync_data().map_err(|e| ("sync", e)));
        if let Err((step, source)) = written {
            // Cut off whatever part of the line reached the file, so that a later append
            // does not follow a torn line. A failed sync leaves durability uncertain: refuse
            // further appends until a restart verifies the file.
            let undone = self
                .file
                .set_len(self.end)
                .and_then(|()| self.file.sync_data());
            match undone {
                Err(e) => {
                    self.broken = Some(format!(
                        "{step} failed ({source}) and the partial entry {seq} could not be cut off ({e})"
                    ));
                }
                Ok(()) if step == "sync" => {
                    self.broken = Some(format!("sync of entry {seq} failed ({source})"));
                }
                Ok(()) => {}
            }
            return Err(JournalError::Io {
                path: self.path.clone(),
                source,
            });
        }
        let place = Place {
            offset: self.end,
            len: line.len() as u64 - 1,
            line: self.lines + 1,
            crc,
        };
        self.end += line.len() as u64;
        self.lines += 1;
        self.last_seq = seq;
        self.last = Some((seq, place));
        Ok((seq, place))
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.last_seq
    }

    /// No entries yet.
    pub fn is_empty(&self) -> bool {
        self.last_seq == 0
    }

    /// The last entry's number and place (`None`: no entries).
    pub fn last_entry(&self) -> Option<(u64, Place)> {
        self.last
    }
}

/// Whether entry `seq` is at `place`: its line starts there with that number and that
/// checksum and ends where the place says. Reads the line's head and its last byte only (the
/// entry may be a million-row order; it was verified when the checkpoint naming it was made).
fn anchor_matches(file: &mut File, seq: u64, place: Place) -> bool {
    let head = format!("{{\"seq\":{seq},\"at\":");
    let crc = format!("\"crc\":\"{:08x}\",\"event\":", place.crc);
    let mut start = vec![0u8; usize::try_from(place.len.min(160)).unwrap_or(160)];
    let mut end = [0u8; 1];
    let read = file
        .seek(SeekFrom::Start(place.offset))
        .and_then(|_| file.read_exact(&mut start))
        .and_then(|_| file.seek(SeekFrom::Start(place.offset + place.len)))
        .and_then(|_| file.read_exact(&mut end));
    read.is_ok()
        && end[0] == b'\n'
        && start.starts_with(head.as_bytes())
        && memchr::memmem::find(&start, crc.as_bytes()).is_some()
}

/// The position of the first newline (the journal's lines are long: a million-row order is
/// one line of hundreds of megabytes).
fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Reads entry `seq` back from the journal at `path` by its `place` and verifies it (its
/// checksum, and that it is that entry): the order service keeps large order texts there
/// instead of in memory. Reads only that line; a mismatch is [`JournalError::Damaged`].
pub fn read_entry(path: &Path, seq: u64, place: Place) -> Result<Entry, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let damaged = |reason: String| JournalError::Damaged {
        path: path.to_path_buf(),
        line: usize::try_from(place.line).unwrap_or(usize::MAX),
        seq,
        reason,
    };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(place.offset)).map_err(io)?;
    let len = usize::try_from(place.len).map_err(|e| io(std::io::Error::other(e)))?;
    let mut line = Vec::new();
    line.try_reserve_exact(len)
        .map_err(|e| io(std::io::Error::other(e)))?;
    (&mut file)
        .take(place.len)
        .read_to_end(&mut line)
        .map_err(io)?;
    if line.len() != len {
        return Err(damaged("the file is shorter than the entry".into()));
    }
    let (found, at, event, crc) = decode(&line).map_err(|b| damaged(b.reason))?;
    if found != seq || crc != place.crc {
        return Err(damaged(format!(
            "another entry (seq {found}) is where entry {seq} was written"
        )));
    }
    Ok(Entry {
        seq,
        at,
        event,
        place,
    })
}

/// The file beside the journal that pins an environment's start-up export.
fn pin_path(journal: &Path, env: crate::vocab::EnvName) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tak-export-{env}"));
    journal.with_file_name(name)
}

/// Whether the journal has no entries yet (missing or empty file).
fn journal_is_new(journal: &Path) -> bool {
    std::fs::metadata(journal).map_or(true, |m| m.len() == 0)
}

/// The TAK an environment starts from, before its journal is replayed: a new store with the
/// configured extra RIVTA profiles, or the configured export (`tak_export`, see the module
/// docs) read with [`crate::tak::export::import`]. With a journal (`journal`: its path), the
/// export's checksum is pinned when the journal is new and checked otherwise.
pub fn initial_store(
    env: crate::vocab::EnvName,
    cfg: &crate::config::EnvConfig,
    journal: Option<&Path>,
) -> Result<crate::tak::Store, JournalError> {
    start_up_tak(env, cfg, journal, true)
}

/// What [`initial_store`] checks, without importing the export: the order service restoring
/// a checkpoint has the TAK already, but a changed export must still be refused.
pub fn check_initial_store(
    env: crate::vocab::EnvName,
    cfg: &crate::config::EnvConfig,
    journal: Option<&Path>,
) -> Result<(), JournalError> {
    start_up_tak(env, cfg, journal, false).map(|_| ())
}

fn start_up_tak(
    env: crate::vocab::EnvName,
    cfg: &crate::config::EnvConfig,
    journal: Option<&Path>,
    import: bool,
) -> Result<crate::tak::Store, JournalError> {
    let mut store = match &cfg.tak_export {
        None => crate::tak::Store::new(&cfg.platform),
        Some(path) => {
            let fail = |reason: String| JournalError::TakExport {
                path: path.clone(),
                reason,
            };
            let bytes = std::fs::read(path)
                .map_err(|e| fail(format!("cannot read the TAK export: {e}")))?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| fail(format!("the TAK export is not UTF-8: {e}")))?;
            let pin = format!("crc32 {:08x} bytes {}", crc32(&bytes), bytes.len());
            if let Some(journal) = journal {
                let pin_file = pin_path(journal, env);
                let io = |source| JournalError::Io {
                    path: pin_file.clone(),
                    source,
                };
                if journal_is_new(journal) {
                    if let Some(dir) = pin_file.parent() {
                        std::fs::create_dir_all(dir).map_err(io)?;
                    }
                    std::fs::write(&pin_file, format!("{pin}\n")).map_err(io)?;
                } else {
                    let pinned = std::fs::read_to_string(&pin_file).unwrap_or_default();
                    if pinned.trim() != pin {
                        return Err(fail(format!(
                            "environments.{env}.tak_export differs from the export the journal {} was started on ({} now, {} then, in {}): its orders applied to that TAK. Restore the file, or move the journal away to start afresh from this export",
                            journal.display(),
                            pin,
                            if pinned.trim().is_empty() {
                                "nothing pinned"
                            } else {
                                pinned.trim()
                            },
                            pin_file.display()
                        )));
                    }
                }
            }
            if !import {
                return Ok(crate::tak::Store::new(&cfg.platform));
            }
            crate::tak::export::import(text, &cfg.platform)
                .map_err(|e| fail(format!("not a usable TAK export: {e}")))?
        }
    };
    for profile in &cfg.extra_rivta_profiles {
        store.add_rivta_profile(profile);
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(i: u64) -> DateTime<Utc> {
        DateTime::from_timestamp(
            1_795_000_000 + i as i64 * 61,
            (i as u32 * 7_919) % 1_000_000_000,
        )
        .unwrap()
    }

    fn event(i: u64) -> serde_json::Value {
        json!({"kind": "order", "i": i, "text": format!("å\"\n{}", "x".repeat(i as usize % 7))})
    }

    /// Appends `event` and returns the entry as reading it back gives it.
    fn append(j: &mut Journal, at: DateTime<Utc>, event: serde_json::Value) -> Entry {
        let (seq, place) = j.append(at, &event).unwrap();
        Entry {
            seq,
            at,
            event: event.to_string(),
            place,
        }
    }

    /// Writes `n` entries to a fresh journal at `p`; returns the entries and the file.
    fn write_n(p: &Path, n: u64) -> (Vec<Entry>, Vec<u8>) {
        let (mut j, r) = Journal::open(p).unwrap();
        assert!(r.entries.is_empty() && r.warning.is_none());
        let entries = (0..n).map(|i| append(&mut j, at(i), event(i))).collect();
        (entries, std::fs::read(p).unwrap())
    }

    /// Byte offsets just after each newline.
    fn line_ends(bytes: &[u8]) -> Vec<usize> {
        let mut ends: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        ends.insert(0, 0);
        ends
    }

    /// The journal is valid and clean: reopen, append, reopen.
    fn assert_usable(p: &Path, expected: &[Entry]) {
        let (mut j, r) = Journal::open(p).unwrap();
        assert!(r.warning.is_none(), "{:?}", r.warning);
        assert_eq!(r.entries, expected);
        let n = expected.len() as u64;
        let e = append(&mut j, at(n), json!({"after": n}));
        assert_eq!(e.seq, n + 1);
        drop(j);
        let (j, r) = Journal::open(p).unwrap();
        assert!(r.warning.is_none(), "{:?}", r.warning);
        assert_eq!(r.entries.len() as u64, n + 1);
        assert_eq!(r.entries.last(), Some(&e));
        assert_eq!(j.len(), n + 1);
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// Two lines written by the journal's hand-written bitwise CRC-32 (before `crc32fast`,
    /// commit 0aed4fd): the same CRC-32/ISO-HDLC, so journals written then still verify.
    const WRITTEN_BY_THE_BITWISE_CRC: &str = concat!(
        r#"{"seq":1,"at":"2026-11-22T10:00:00Z","crc":"3a4ce936","event":{"kind":"clock","env":"sit","offset_days":3}}"#,
        "\n",
        r#"{"seq":2,"at":"2026-11-22T10:00:01.5Z","crc":"3f238218","event":{"kind":"publish","env":"qa","info":{"executor":"Åsa Öberg","comment":"vägval \"ett\"\n"}}}"#,
        "\n",
    );

    #[test]
    fn a_journal_checksummed_by_the_bitwise_crc_still_verifies() {
        let mut lines = WRITTEN_BY_THE_BITWISE_CRC.lines();
        let (seq, _, event, crc) = decode(lines.next().unwrap().as_bytes()).ok().unwrap();
        assert_eq!((seq, crc), (1, 0x3a4c_e936));
        assert_eq!(event, r#"{"kind":"clock","env":"sit","offset_days":3}"#);
        let (seq, _, _, crc) = decode(lines.next().unwrap().as_bytes()).ok().unwrap();
        assert_eq!((seq, crc), (2, 0x3f23_8218));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, WRITTEN_BY_THE_BITWISE_CRC).unwrap();
        let (journal, recovered) = Journal::open(&path).unwrap();
        assert_eq!(recovered.warning, None);
        assert_eq!(recovered.entries.len(), 2);
        assert_eq!(journal.last_entry().map(|(seq, _)| seq), Some(2));
        // Changing one byte of the event is caught: the checksum covers it.
        let damaged = WRITTEN_BY_THE_BITWISE_CRC.replacen("offset_days\":3", "offset_days\":4", 1);
        assert!(decode(damaged.lines().next().unwrap().as_bytes()).is_err());
    }

    #[test]
    fn lines_are_readable_json_in_the_documented_format() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _) = Journal::open(&p).unwrap();
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .to_utc();
        j.append(t, &json!({"kind": "clock", "offset_days": 3}))
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let body =
            r#"{"seq":1,"at":"2026-11-22T10:00:00Z","event":{"kind":"clock","offset_days":3}}"#;
        let crc = format!("{:08x}", crc32(body.as_bytes()));
        assert_eq!(
            text,
            format!(
                "{{\"seq\":1,\"at\":\"2026-11-22T10:00:00Z\",\"crc\":\"{crc}\",\"event\":{{\"kind\":\"clock\",\"offset_days\":3}}}}\n"
            )
        );
    }

    #[test]
    fn append_reopen_round_trip_and_the_sequence_continues() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state/deeper/journal.jsonl");
        let (mut j, r) = Journal::open(&p).unwrap();
        assert!(r.entries.is_empty() && r.warning.is_none());
        assert!(j.is_empty());
        assert_eq!(j.len(), 0);
        assert_eq!(j.path(), p);
        let mut written = Vec::new();
        for i in 0..3 {
            written.push(append(&mut j, at(i), event(i)));
        }
        assert_eq!(written.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        drop(j);
        let (mut j, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries, written);
        assert!(r.warning.is_none());
        assert_eq!(j.len(), 3);
        assert_eq!(append(&mut j, at(9), json!(null)).seq, 4);
        drop(j);
        let (j, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries.len(), 4);
        assert_eq!(r.entries[3].event, "null");
        assert_eq!(j.len(), 4);
    }

    #[test]
    fn half_a_line_without_newline_is_cut_off_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, bytes) = write_n(&p, 3);
        let ends = line_ends(&bytes);
        let cut = (ends[2] + ends[3]) / 2;
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let (j, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries, entries[..2]);
        assert_eq!(j.len(), 2);
        let w = r.warning.unwrap();
        assert!(
            w.contains("line 3") && w.contains(&p.display().to_string()) && w.contains("torn"),
            "{w}"
        );
        drop(j);
        assert_eq!(std::fs::read(&p).unwrap(), bytes[..ends[2]], "truncated");
        assert_usable(&p, &entries[..2]);
    }

    #[test]
    fn a_whole_last_line_without_its_newline_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, bytes) = write_n(&p, 3);
        std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
        let (_, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries, entries[..2]);
        assert!(r.warning.unwrap().contains("no end of line"));
        assert_usable(&p, &entries[..2]);
    }

    #[test]
    fn a_flipped_byte_in_the_last_line_is_a_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, mut bytes) = write_n(&p, 4);
        let n = bytes.len();
        bytes[n - 5] ^= 0x01; // inside the event, full length, newline intact
        std::fs::write(&p, &bytes).unwrap();
        let (_, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries, entries[..3]);
        let w = r.warning.unwrap();
        assert!(
            w.contains("line 4") && w.contains("checksum") && w.contains(&p.display().to_string()),
            "{w}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), bytes[..line_ends(&bytes)[3]]);
        assert_usable(&p, &entries[..3]);
    }

    #[test]
    fn no_bit_flip_in_the_last_line_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, bytes) = write_n(&p, 3);
        let ends = line_ends(&bytes);
        for i in ends[2]..ends[3] {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                std::fs::write(&p, &damaged).unwrap();
                // A flip that makes a newline splits the line: then it is not the last one.
                if let Ok((_, r)) = Journal::open(&p) {
                    assert_eq!(r.entries, entries[..2], "byte {i} bit {bit}");
                    assert!(r.warning.is_some(), "byte {i} bit {bit}");
                }
            }
        }
    }

    #[test]
    fn empty_trailing_lines_are_fine() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, mut bytes) = write_n(&p, 2);
        bytes.extend_from_slice(b"\n \n");
        std::fs::write(&p, &bytes).unwrap();
        let (_, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries, entries);
        assert!(r.warning.is_none());
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "left as it is");
        assert_usable(&p, &entries);
    }

    #[test]
    fn a_torn_line_followed_by_blank_lines_is_still_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, mut bytes) = write_n(&p, 2);
        bytes.extend_from_slice(b"{\"seq\":3,\"at\n\n");
        std::fs::write(&p, &bytes).unwrap();
        let (_, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries, entries);
        assert!(r.warning.unwrap().contains("line 3"));
        assert_usable(&p, &entries);
    }

    #[test]
    fn damage_in_the_middle_is_an_error_naming_the_file_line_and_seq() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (_, mut bytes) = write_n(&p, 5);
        let ends = line_ends(&bytes);
        bytes[ends[1] + 40] ^= 0x02;
        std::fs::write(&p, &bytes).unwrap();
        let err = Journal::open(&p).unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::Damaged {
                    line: 2,
                    seq: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("line 2")
                && msg.contains("seq 2")
                && msg.contains(&p.display().to_string()),
            "{msg}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "nothing truncated");
    }

    #[test]
    fn every_bit_flip_in_a_middle_line_is_an_error_at_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (_, bytes) = write_n(&p, 5);
        let ends = line_ends(&bytes);
        for i in ends[1]..ends[2] {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                std::fs::write(&p, &damaged).unwrap();
                match Journal::open(&p) {
                    Err(JournalError::Damaged { line: 2, .. }) => {}
                    other => panic!("byte {i} bit {bit}: {:?}", other.map(|r| r.1)),
                }
                assert_eq!(std::fs::read(&p).unwrap(), damaged);
            }
        }
    }

    #[test]
    fn a_sequence_gap_or_reordering_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (_, bytes) = write_n(&p, 3);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let gap = format!("{}\n{}\n", lines[0], lines[2]);
        std::fs::write(&p, &gap).unwrap();
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("seq 3") && err.contains("expected 2"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), gap);

        std::fs::write(&p, format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1])).unwrap();
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("out of sequence"),
            "{err}"
        );

        std::fs::write(&p, format!("{}\n", lines[1])).unwrap();
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("expected 1"),
            "{err}"
        );
    }

    #[test]
    fn entries_are_read_back_by_their_place_and_opened_after_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (entries, bytes) = write_n(&p, 6);
        for e in &entries {
            assert_eq!(&read_entry(&p, e.seq, e.place).unwrap(), e);
        }
        // Not that entry: refused, naming it.
        let err = read_entry(&p, 3, entries[3].place).unwrap_err().to_string();
        assert!(err.contains("seq 3") && err.contains("line 4"), "{err}");

        let (j, r) = Journal::open_after(&p, 4, entries[3].place)
            .unwrap()
            .unwrap();
        assert_eq!(r.entries, entries[4..]);
        assert_eq!(j.last_entry(), Some((6, entries[5].place)));
        drop(j);
        // After the last entry: nothing to read, appends go on.
        let (mut j, r) = Journal::open_after(&p, 6, entries[5].place)
            .unwrap()
            .unwrap();
        assert!(r.entries.is_empty());
        let seventh = append(&mut j, at(7), json!(7));
        assert_eq!(seventh.place.line, 7);
        assert_eq!(read_entry(&p, 7, seventh.place).unwrap(), seventh);
        // Another journal at the same path: the anchor is not there.
        std::fs::write(&p, &bytes[..line_ends(&bytes)[2]]).unwrap();
        assert!(
            Journal::open_after(&p, 4, entries[3].place)
                .unwrap()
                .is_none()
        );
        let mut other = entries[1].place;
        other.crc ^= 1;
        assert!(Journal::open_after(&p, 2, other).unwrap().is_none());
    }

    #[test]
    fn not_a_regular_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Journal::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_crash_at_any_byte_recovers_exactly_the_whole_entries() {
        let dir = tempfile::tempdir().unwrap();
        // Journals of 0..=12 entries, each written once.
        let full: Vec<(Vec<Entry>, Vec<u8>)> = (0..=12)
            .map(|n| write_n(&dir.path().join(format!("full-{n}.jsonl")), n))
            .collect();
        let p = dir.path().join("journal.jsonl");
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut torn = 0;
        for iteration in 0..200 {
            let (entries, bytes) = &full[(next() % full.len() as u64) as usize];
            let cut = (next() % (bytes.len() as u64 + 1)) as usize;
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let ends = line_ends(bytes);
            let whole = ends.iter().filter(|&&e| e > 0 && e <= cut).count();
            let (_, r) = Journal::open(&p).unwrap();
            assert_eq!(
                r.entries,
                entries[..whole],
                "iteration {iteration}, cut at {cut}"
            );
            assert_eq!(r.warning.is_some(), cut != ends[whole], "cut at {cut}");
            torn += usize::from(r.warning.is_some());
            assert_eq!(std::fs::read(&p).unwrap(), bytes[..ends[whole]]);
            assert_usable(&p, &entries[..whole]);
        }
        assert!(torn > 150, "most cuts tear a line ({torn})");
    }

    #[test]
    fn a_start_up_export_is_pinned_and_a_changed_one_refused() {
        use crate::config::EnvConfig;
        use crate::vocab::EnvName;
        let dir = tempfile::tempdir().unwrap();
        let export_path = dir.path().join("tak.json");
        let mut store = crate::tak::Store::new("NTJP-QA");
        let snap = store.publish("admin", "export", Utc::now());
        std::fs::write(&export_path, crate::tak::export::export_string(&snap)).unwrap();
        let mut cfg = EnvConfig::default_qa();
        cfg.tak_export = Some(export_path.clone());
        cfg.extra_rivta_profiles = vec!["RIVTABP30".into()];
        let journal = dir.path().join("state/journal.jsonl");

        // A new journal: loaded and pinned.
        let s = initial_store(EnvName::Qa, &cfg, Some(&journal)).unwrap();
        assert_eq!(s.published_version(), 1);
        assert!(s.find_profile("RIVTABP30").is_some());
        let (mut j, _) = Journal::open(&journal).unwrap();
        j.append(Utc::now(), &json!({"kind": "clock"})).unwrap();
        assert!(initial_store(EnvName::Qa, &cfg, Some(&journal)).is_ok());

        // The file changes under a journal that has entries: refused, naming it.
        store.publish("admin", "another", Utc::now());
        let other = store.latest_snapshot().unwrap();
        std::fs::write(&export_path, crate::tak::export::export_string(&other)).unwrap();
        let err = initial_store(EnvName::Qa, &cfg, Some(&journal))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&export_path.display().to_string())
                && err.contains("environments.qa.tak_export"),
            "{err}"
        );
        // Not an export at all.
        std::fs::write(&export_path, "{}").unwrap();
        let err = initial_store(EnvName::Qa, &cfg, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a usable TAK export"), "{err}");
    }
}
