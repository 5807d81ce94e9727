//! The journal: an append-only file in the state directory in which every accepted change of
//! the order service is written, and made durable, before the API answers. A restart replays
//! it.
//!
//! Format: one JSON object per line, readable with `cat`:
//! `{"seq":1,"at":"2026-11-22T10:00:00Z","crc":"1a2b3c4d","event":{...}}`. `crc` is the CRC-32
//! (IEEE) of the exact bytes of the serialised `event` as written, in hex. One append is one
//! `write_all` of the whole line followed by `sync_data`, so a crash leaves at most one torn
//! line, at the end.
//!
//! Opening verifies every line. A damaged *last* line (no newline, unreadable JSON, checksum
//! mismatch) is a torn write: it is cut off with a warning. Damage anywhere else, or a
//! sequence gap, is an error naming the line and the entry; nothing is truncated then.
//!
//! Not here: compaction, or several writers (one process owns a state directory).

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One journal entry: sequence number, time, and the event as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// When the change was accepted.
    pub at: DateTime<Utc>,
    /// What happened.
    pub event: serde_json::Value,
}

/// A journal that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, writing or syncing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line other than the last is damaged, or the sequence is broken.
    #[error(
        "journal {path}: line {line} (entry {seq}) is damaged: {reason}; the journal was not changed — repair or move it away to start afresh"
    )]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The entry's sequence number, as far as it could be read (or the expected one).
        seq: u64,
        /// What is wrong.
        reason: String,
    },
}

/// What `open` found.
#[derive(Debug)]
pub struct Recovered {
    /// Every whole entry, in order.
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
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    at: DateTime<Utc>,
    crc: String,
    event: &'a RawValue,
}

#[derive(Deserialize)]
struct LineIn<'a> {
    seq: u64,
    at: DateTime<Utc>,
    crc: String,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn check(line: &str) -> Result<Entry, String> {
    let parsed: LineIn<'_> =
        serde_json::from_str(line).map_err(|e| format!("not a journal entry: {e}"))?;
    let crc = format!("{:08x}", crc32(parsed.event.get().as_bytes()));
    if crc != parsed.crc {
        return Err(format!(
            "checksum {} does not match the content ({crc})",
            parsed.crc
        ));
    }
    let event = serde_json::from_str(parsed.event.get()).map_err(|e| format!("event: {e}"))?;
    Ok(Entry {
        seq: parsed.seq,
        at: parsed.at,
        event,
    })
}

impl Journal {
    /// Opens (creating it and its directory if missing) and verifies the journal at `path`.
    pub fn open(path: &Path) -> Result<(Journal, Recovered), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let created = !path.exists();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        if created {
            file.sync_all().map_err(io)?;
            if let Some(dir) = path.parent()
                && let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                })
            {
                let _ = d.sync_all();
            }
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut entries = Vec::new();
        let mut good_end = 0usize;
        let mut warning = None;
        let mut pos = 0usize;
        let mut line_no = 0usize;
        while pos < bytes.len() {
            line_no += 1;
            let (end, complete) = match bytes[pos..].iter().position(|&b| b == b'\n') {
                Some(i) => (pos + i, true),
                None => (bytes.len(), false),
            };
            let is_last = !complete || end + 1 >= bytes.len();
            let text = String::from_utf8_lossy(&bytes[pos..end]);
            let next = if complete { end + 1 } else { end };
            if text.trim().is_empty() && complete {
                pos = next;
                good_end = pos;
                continue;
            }
            let expected = entries.last().map_or(1, |e: &Entry| e.seq + 1);
            let result = if complete {
                check(&text)
            } else {
                Err("incomplete write (no end of line)".into())
            };
            match result {
                Ok(entry) if entry.seq == expected => {
                    entries.push(entry);
                    pos = next;
                    good_end = pos;
                }
                Ok(entry) => {
                    return Err(JournalError::Damaged {
                        path: path.to_path_buf(),
                        line: line_no,
                        seq: entry.seq,
                        reason: format!("expected entry {expected}"),
                    });
                }
                Err(reason) if is_last => {
                    warning = Some(format!(
                        "journal {}: the last entry (line {line_no}) was torn ({reason}); recovered {} entries and cut it off",
                        path.display(),
                        entries.len()
                    ));
                    break;
                }
                Err(reason) => {
                    return Err(JournalError::Damaged {
                        path: path.to_path_buf(),
                        line: line_no,
                        seq: expected,
                        reason,
                    });
                }
            }
        }
        if good_end < bytes.len() {
            file.set_len(good_end as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let last_seq = entries.last().map_or(0, |e| e.seq);
        Ok((
            Journal {
                file,
                path: path.to_path_buf(),
                last_seq,
            },
            Recovered { entries, warning },
        ))
    }

    /// Appends one entry and makes it durable before returning it.
    pub fn append(
        &mut self,
        at: DateTime<Utc>,
        event: serde_json::Value,
    ) -> Result<Entry, JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let raw_text = serde_json::to_string(&event).map_err(|e| io(std::io::Error::other(e)))?;
        let raw = RawValue::from_string(raw_text).map_err(|e| io(std::io::Error::other(e)))?;
        let seq = self.last_seq + 1;
        let line = LineOut {
            seq,
            at,
            crc: format!("{:08x}", crc32(raw.get().as_bytes())),
            event: &raw,
        };
        let mut text = serde_json::to_string(&line).map_err(|e| io(std::io::Error::other(e)))?;
        text.push('\n');
        self.file.write_all(text.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.last_seq = seq;
        Ok(Entry { seq, at, event })
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn append_reopen_and_continue() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j/journal.jsonl");
        let (mut j, r) = Journal::open(&p).unwrap();
        assert!(r.entries.is_empty() && j.is_empty());
        j.append(at(), json!({"kind": "a", "text": "å\"\n"}))
            .unwrap();
        j.append(at(), json!({"kind": "b"})).unwrap();
        drop(j);
        let (mut j, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].event["text"], "å\"\n");
        assert_eq!(j.append(at(), json!({})).unwrap().seq, 3);
    }

    fn write_n(p: &Path, n: u64) -> Vec<u8> {
        let (mut j, _) = Journal::open(p).unwrap();
        for i in 0..n {
            j.append(at(), json!({"i": i, "pad": "x".repeat(i as usize % 7)}))
                .unwrap();
        }
        std::fs::read(p).unwrap()
    }

    #[test]
    fn a_torn_tail_is_cut_off_with_a_warning_and_the_journal_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let bytes = write_n(&p, 3);
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        let (mut j, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries.len(), 2);
        let w = r.warning.unwrap();
        assert!(
            w.contains("line 3") && w.contains(&p.display().to_string()),
            "{w}"
        );
        j.append(at(), json!({"after": true})).unwrap();
        drop(j);
        let (_, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries.len(), 3);
        assert!(r.warning.is_none());
        // A flipped byte in a complete last line is a torn write too.
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 4] ^= 0x01;
        std::fs::write(&p, &bytes).unwrap();
        let (_, r) = Journal::open(&p).unwrap();
        assert_eq!(r.entries.len(), 2);
        assert!(r.warning.is_some());
    }

    #[test]
    fn damage_in_the_middle_is_an_error_naming_line_and_entry() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let mut bytes = write_n(&p, 5);
        let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        let target = second + bytes[second..].iter().position(|&b| b == b'"').unwrap() + 30;
        bytes[target] ^= 0x02;
        std::fs::write(&p, &bytes).unwrap();
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("entry 2"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "nothing truncated");
    }

    #[test]
    fn a_sequence_gap_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let bytes = write_n(&p, 3);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&p, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("expected entry 2"),
            "{err}"
        );
    }

    #[test]
    fn truncation_at_any_offset_recovers_exactly_the_whole_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let full = write_n(&p, 12);
        let ends: Vec<usize> = full
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let cut = (state % (full.len() as u64 + 1)) as usize;
            std::fs::write(&p, &full[..cut]).unwrap();
            let (_, r) = Journal::open(&p).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(r.entries.len(), whole, "cut at {cut}");
        }
    }
}
