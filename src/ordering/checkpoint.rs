//! The order service's checkpoint: a compact image of every environment's state as it stood
//! after journal entry S, so that a start loads it and replays only the entries after S
//! instead of the whole journal (a 1,000,000-row order takes seconds to validate and execute
//! again; its image loads in a fraction of that).
//!
//! What it holds is what a replay rebuilds: per environment the TAK store (every row with its
//! pending mark and publish version, the version counter and the publish history), the order
//! records (their reports as row references, their texts' places in the journal, their
//! connection tests per producer, pending as after a replay), the clock's offset and automatic
//! publishing; and the forms. The journal stays the source of truth: the checkpoint names the
//! entry it was made at by its place and checksum, and the configuration a replay depends on
//! (the mocks' base URL, each environment's platform name, start-up TAK and extra profiles).
//!
//! # File
//!
//! `<journal>.checkpoint`: [`MAGIC`], the payload's length (8 bytes, little-endian), the
//! payload ([`crate::tak::image`]'s encoding), its CRC-32 (4 bytes, little-endian). Written to
//! `<journal>.checkpoint.tmp-<pid>-<n>`, fsynced, renamed over the old one, and the directory
//! fsynced (temp files a crash leaves are removed at the next start):
//! a crash leaves the old checkpoint or the new one, never half of one. A checkpoint that is
//! damaged, of another format, made with another configuration, or at an entry the journal
//! does not hold is ignored with a warning naming the file, and the journal is replayed from
//! the start (the next checkpoint replaces it).
//!
//! # When
//!
//! The writer thread takes one when the journal has grown by [`THRESHOLD`] (order rows count
//! one each, every other entry one) since the last: it captures the state (shared, nothing
//! copied) and a separate thread, at the order service's lower priority, encodes and writes it
//! while the writer goes on with the next change.
//!
//! # Not here
//!
//! Deciding when to take one (the writer) and what follows loading one (`replay` applies the
//! journal's later entries). A checkpoint is never the only copy of anything.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Utc};

use super::{OrderRecord, OrderSource, OrderText, TestGroup, TestStatus, record::pending_tests};
use crate::{
    config::Config,
    journal::Place,
    orders::{
        CompactReport,
        forms::Forms,
        report::{LineKind, METADATA_KEYS, Metadata, Run, RunSection, SECTIONS, Status},
    },
    tak::{
        Day, Store,
        image::{Decoder, Encoder, ImageError},
    },
    vocab::EnvName,
};

/// The first bytes of a checkpoint file (the format's name and version).
pub const MAGIC: &[u8] = b"NTJP-CHECKPOINT 2\n";

/// Journal growth (order rows, and one per entry) after which the writer takes a checkpoint.
pub const THRESHOLD: u64 = 50_000;

/// The checkpoint file of the journal at `journal`.
pub fn path(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".checkpoint");
    journal.with_file_name(name)
}

/// What a replay depends on besides the journal, as text: a checkpoint made under another is
/// stale.
pub fn fingerprint(config: &Config, mocks_base: &str) -> String {
    let mut s = format!("mocks base URL {mocks_base}");
    for env in EnvName::ALL {
        let cfg = config.environments.get(env);
        s.push_str(&format!(
            "; {env}: platform {}, tak_export {:?}, extra_rivta_profiles {:?}",
            cfg.platform, cfg.tak_export, cfg.extra_rivta_profiles
        ));
    }
    s
}

/// One environment's state in a checkpoint.
pub struct EnvImage {
    /// Which.
    pub env: EnvName,
    /// Its TAK.
    pub store: Store,
    /// Its accepted orders.
    pub orders: Vec<Arc<OrderRecord>>,
    /// Its clock's offset from real time, days.
    pub offset_days: i64,
    /// Automatic publishing.
    pub auto_publish: bool,
}

/// The state after journal entry `seq`.
pub struct Image {
    /// The last entry it includes.
    pub seq: u64,
    /// Where that entry is.
    pub place: Place,
    /// [`fingerprint`] when it was made.
    pub fingerprint: String,
    /// The forms.
    pub forms: Arc<Forms>,
    /// Every environment.
    pub envs: Vec<EnvImage>,
}

/// Why a checkpoint was not used.
fn damaged(e: ImageError) -> String {
    format!("damaged ({e})")
}

/// Encodes `image` as the checkpoint file's bytes.
pub fn encode(image: &Image) -> Vec<u8> {
    let mut e = Encoder::new();
    e.u64(image.seq);
    e.u64(image.place.offset);
    e.u64(image.place.len);
    e.u64(image.place.line);
    e.u64(u64::from(image.place.crc));
    e.str(&image.fingerprint);
    e.str(&serde_json::to_string(&*image.forms).unwrap_or_default());
    e.u64(image.envs.len() as u64);
    for env in &image.envs {
        e.str(env.env.as_str());
        e.i64(env.offset_days);
        e.bool(env.auto_publish);
        e.store(&env.store);
        e.u64(env.orders.len() as u64);
        for o in &env.orders {
            record(&mut e, o);
        }
    }
    let payload = e.finish();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out
}

fn record(e: &mut Encoder, o: &OrderRecord) {
    e.u64(o.id);
    e.str(&serde_json::to_string(&o.source).unwrap_or_default());
    e.time(o.accepted_at);
    e.opt_day(o.execution_day);
    e.opt_u64(o.published_version);
    let r = &o.report;
    e.u64(r.metadata.0.len() as u64);
    for (k, v) in &r.metadata.0 {
        e.str(k);
        e.str(v);
    }
    for sections in [&r.include, &r.exclude] {
        e.u64(sections.len() as u64);
        for s in sections.iter() {
            e.str(s.name);
            e.u64(s.runs.len() as u64);
            for run in &s.runs {
                e.u64(
                    LineKind::ALL
                        .iter()
                        .position(|k| *k == run.kind)
                        .unwrap_or(0) as u64,
                );
                e.u64(
                    Status::ALL
                        .iter()
                        .position(|k| *k == run.status)
                        .unwrap_or(0) as u64,
                );
                e.u64(run.first);
                e.u64(u64::from(run.len));
                e.opt_day(run.validity.map(|v| v.from));
                e.opt_day(run.validity.map(|v| v.to));
            }
        }
    }
    e.u64(r.texts.len() as u64);
    for t in &r.texts {
        e.str(t);
    }
    match &o.text {
        OrderText::Memory(text) => {
            e.u64(0);
            e.str(text);
        }
        OrderText::Journal { seq, place } => {
            e.u64(1);
            e.u64(*seq);
            e.u64(place.offset);
            e.u64(place.len);
            e.u64(place.line);
            e.u64(u64::from(place.crc));
        }
    }
    // Outcomes are not kept: a replay leaves every test pending, and so does a checkpoint.
    e.u64(o.connection_tests.len() as u64);
    for g in o.connection_tests.iter() {
        e.text(&g.url);
        e.day(g.from);
        e.u64(g.routes.len() as u64);
        for &(first, n) in &g.routes {
            e.u64(first);
            e.u64(u64::from(n));
        }
    }
}

fn place(d: &mut Decoder<'_>) -> Result<Place, ImageError> {
    Ok(Place {
        offset: d.u64()?,
        len: d.u64()?,
        line: d.u64()?,
        crc: u32::try_from(d.u64()?).map_err(|_| ImageError("a checksum is too large".into()))?,
    })
}

fn pick<T: Copy>(all: &[T], i: u64, what: &str) -> Result<T, ImageError> {
    usize::try_from(i)
        .ok()
        .and_then(|i| all.get(i))
        .copied()
        .ok_or_else(|| ImageError(format!("{what} {i} is unknown")))
}

fn static_name(all: &[&'static str], name: &str) -> Result<&'static str, ImageError> {
    all.iter()
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| ImageError(format!("{name:?} is not a report name")))
}

/// One order record, as [`encode`] wrote it: its fields, report, text and connection tests.
fn decode_record(d: &mut Decoder<'_>, env: EnvName) -> Result<OrderRecord, ImageError> {
    let id = d.u64()?;
    let source: OrderSource = serde_json::from_str(&d.str()?)
        .map_err(|e| ImageError(format!("an order's source: {e}")))?;
    let accepted_at: DateTime<Utc> = d.time()?;
    let execution_day = d.opt_day()?;
    let published_version = d.opt_u64()?;
    let report = decode_report(d)?;
    let text = decode_text(d)?;
    let tests = decode_tests(d)?;
    let (pending_tests_from, pending_tests) = pending_tests(&tests);
    Ok(OrderRecord {
        id,
        env,
        source,
        accepted_at,
        execution_day,
        published_version,
        report: Arc::new(report),
        text,
        connection_tests: tests.into(),
        pending_tests_from,
        pending_tests,
    })
}

/// An order's report: its metadata, the runs of `inkludera` and `exkludera`, its texts.
fn decode_report(d: &mut Decoder<'_>) -> Result<CompactReport, ImageError> {
    let n = d.u64()?;
    let mut metadata = Vec::new();
    for _ in 0..n {
        let k = static_name(&METADATA_KEYS, &d.str()?)?;
        metadata.push((k, d.str()?));
    }
    let include = decode_sections(d)?;
    let exclude = decode_sections(d)?;
    let n = d.u64()?;
    let mut texts = Vec::new();
    for _ in 0..n {
        texts.push(d.str()?);
    }
    Ok(CompactReport {
        metadata: Metadata(metadata),
        include,
        exclude,
        texts,
    })
}

/// The sections of one half of a report (`inkludera` or `exkludera`), each its runs.
fn decode_sections(d: &mut Decoder<'_>) -> Result<Vec<RunSection>, ImageError> {
    let n = d.u64()?;
    let mut sections = Vec::new();
    for _ in 0..n {
        let mut section = RunSection::new(static_name(&SECTIONS, &d.str()?)?);
        let runs = d.u64()?;
        for _ in 0..runs {
            let kind = pick(&LineKind::ALL, d.u64()?, "line kind")?;
            let status = pick(&Status::ALL, d.u64()?, "status")?;
            let first = d.u64()?;
            let len =
                u32::try_from(d.u64()?).map_err(|_| ImageError("a run is too long".into()))?;
            let from = d.opt_day()?;
            let to = d.opt_day()?;
            section.runs.push(Run {
                kind,
                status,
                first,
                len,
                validity: from.zip(to).map(|(f, t)| crate::tak::Validity::new(f, t)),
            });
        }
        sections.push(section);
    }
    Ok(sections)
}

/// Where an order's text is: in the checkpoint, or in the journal.
fn decode_text(d: &mut Decoder<'_>) -> Result<OrderText, ImageError> {
    match d.u64()? {
        0 => Ok(OrderText::Memory(Arc::from(d.str()?))),
        1 => Ok(OrderText::Journal {
            seq: d.u64()?,
            place: place(d)?,
        }),
        n => Err(ImageError(format!("{n} is not where an order's text is"))),
    }
}

/// An order's connection tests, every one pending (outcomes are not kept: a replay leaves
/// every test pending, and so does a checkpoint).
fn decode_tests(d: &mut Decoder<'_>) -> Result<Vec<TestGroup>, ImageError> {
    let waiting: Arc<str> = Arc::from("waits for the execution day");
    let n = d.u64()?;
    let mut tests = Vec::new();
    for _ in 0..n {
        let url = d.text()?;
        let from = d.day()?;
        let runs = d.u64()?;
        let mut routes = Vec::new();
        for _ in 0..runs {
            let first = d.u64()?;
            let n = u32::try_from(d.u64()?).map_err(|_| ImageError("a run is too long".into()))?;
            routes.push((first, n));
        }
        tests.push(TestGroup {
            url,
            from,
            status: TestStatus::Pending,
            detail: waiting.clone(),
            at: None,
            routes,
        });
    }
    Ok(tests)
}

/// Reads the checkpoint file's bytes: `Err` says why it cannot be used. `real_today` (the
/// real date in the platform's zone) bounds the clock offsets it holds.
pub fn decode(bytes: &[u8], fingerprint: &str, real_today: Day) -> Result<Image, String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a checkpoint of this format")?;
    let (len, rest) = rest.split_first_chunk::<8>().ok_or("damaged (cut short)")?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| "damaged (length)")?;
    if rest.len() != len + 4 {
        return Err("damaged (cut short or too long)".into());
    }
    let (payload, crc) = rest.split_at(len);
    if crc32fast::hash(payload).to_le_bytes() != crc {
        return Err("damaged (checksum mismatch)".into());
    }
    let mut d = Decoder::new(payload).map_err(damaged)?;
    let seq = d.u64().map_err(damaged)?;
    let place = place(&mut d).map_err(damaged)?;
    let made_with = d.str().map_err(damaged)?;
    if made_with != fingerprint {
        return Err(format!(
            "made with another configuration ({made_with}; now {fingerprint})"
        ));
    }
    let forms: Forms = serde_json::from_str(&d.str().map_err(damaged)?)
        .map_err(|e| format!("damaged (forms: {e})"))?;
    let n = d.u64().map_err(damaged)?;
    let mut envs = Vec::new();
    for _ in 0..n {
        let name = d.str().map_err(damaged)?;
        let env = EnvName::ALL
            .into_iter()
            .find(|e| e.as_str() == name)
            .ok_or_else(|| format!("damaged (no environment {name:?})"))?;
        let offset_days = d.i64().map_err(damaged)?;
        // An offset journaled before offsets were checked: ignore the checkpoint, so the
        // replay refuses the journal entry itself, by its line and seq.
        crate::clock::day_from(real_today, i128::from(offset_days))
            .map_err(|e| format!("unusable (clock of {name}: {e})"))?;
        let auto_publish = d.bool().map_err(damaged)?;
        let store = d.store().map_err(damaged)?;
        let count = d.u64().map_err(damaged)?;
        let mut orders = Vec::new();
        for _ in 0..count {
            orders.push(Arc::new(decode_record(&mut d, env).map_err(damaged)?));
        }
        envs.push(EnvImage {
            env,
            store,
            orders,
            offset_days,
            auto_publish,
        });
    }
    if !d.at_end() {
        return Err("damaged (bytes after the end)".into());
    }
    Ok(Image {
        seq,
        place,
        fingerprint: made_with,
        forms: Arc::new(forms),
        envs,
    })
}

/// The temp files of checkpoints being written start with this after the checkpoint's name.
const TMP: &str = ".tmp-";

/// Writes `bytes` as the checkpoint at `path`: temp file, fsync, rename, directory fsync. The
/// temp file's name is this write's own, so two writers (an instance stopping while the next
/// starts, in one process) never write into one file.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(format!("{TMP}{}-{n}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    crate::journal::sync_dir(&dir)
}

/// Removes temp files of checkpoints whose writing a stop or crash cut short.
pub fn remove_leftovers(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut prefix = name.to_os_string();
    prefix.push(TMP);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(prefix.as_encoded_bytes())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Reads the checkpoint at `path`: `Ok(None)` when there is none, `Err` why it cannot be used.
pub fn read(path: &Path, fingerprint: &str, real_today: Day) -> Result<Option<Image>, String> {
    match std::fs::read(path) {
        Ok(bytes) => decode(&bytes, fingerprint, real_today).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("unreadable ({e})")),
    }
}
