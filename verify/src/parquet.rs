//! `verify parquet PATH`: the fixture's Parquet snapshots (`parquet/`)
//! against its SQLite database, value for value (thrum_parquet::check);
//! also run by `verify replay` on a `thrum-fixture.tar.zst` with `parquet/`
//! beside it, whose differences are findings of the replay report
//! ([`add_snapshots`]), so they count in its one verdict. Each dataset's
//! Delta log is checked against its files ([`thrum_parquet::delta::check`]):
//! a dataset, a merged output or a committed lake (`--db`).

use crate::compare::TableStats;
use crate::error::InputError;
use crate::extract::Limits;
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::report::{escape, Report};
use crate::verify::FixtureDb;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use thrum_parquet::check::Report as PqReport;

/// Archives whose `.thrum/var/messages.db` is the reference: a fixtures
/// directory holds one of them (`testgen --compression zstd|gzip`).
pub(crate) const ARCHIVES: [&str; 2] = ["thrum-fixture.tar.zst", "thrum-fixture.tar.gz"];

/// What `verify parquet` expects as PATH.
pub(crate) const EXPECTED_PATH: &str =
    "the fixtures directory that holds parquet/ (or a parquet/ directory)";

/// The `parquet/` directory and the fixtures directory (holding one of [`ARCHIVES`])
/// named by PATH: a fixtures directory holding `parquet/`, or a `parquet/`
/// directory (its parent is then the fixtures directory).
pub(crate) fn locate(path: &Path) -> Result<(PathBuf, PathBuf), InputError> {
    let Some(found) = input::describe(path) else {
        return Err(InputError::NotFound { path: path.to_path_buf() });
    };
    if !path.is_dir() {
        return Err(InputError::WrongKind {
            path: path.to_path_buf(),
            found,
            expected: EXPECTED_PATH,
        });
    }
    if path.join("parquet").is_dir() {
        return Ok((path.join("parquet"), path.to_path_buf()));
    }
    // a parquet/ directory itself: named so, or holding a catalogue table's dataset
    let datasets = thrum_schemas::catalogue::TABLES.iter().any(|t| path.join(t.name).is_dir());
    if !datasets && path.file_name().is_none_or(|n| n != "parquet") {
        return Err(InputError::WrongKind {
            path: path.to_path_buf(),
            found: "a directory without parquet/ or Parquet datasets".into(),
            expected: EXPECTED_PATH,
        });
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((path.to_path_buf(), parent))
}

/// The outcome of `verify parquet`: the snapshot comparison, or the error
/// that stopped it (a Parquet file that cannot be read: a finding, as in
/// `replay`).
pub struct Checked {
    pub(crate) parquet_dir: PathBuf,
    pub(crate) fixtures: PathBuf,
    pub(crate) outcome: Result<PqReport, thrum_parquet::Error>,
}

/// PATH is a fixtures directory holding `parquet/` and `thrum-fixture.tar.zst`
/// (or `.tar.gz`)
/// (extracted safely into a temporary directory), or a `parquet/` directory
/// (whose parent holds the archive); with `db`, the database to compare
/// with instead of the archive's. An unusable archive or database is an
/// error; a Parquet file that cannot be read is the outcome
/// ([`Kind::ParquetUnreadable`] in [`report`]).
pub fn check_fixture(
    path: &Path,
    db: Option<&Path>,
    limits: &Limits,
) -> Result<Checked, InputError> {
    let (parquet_dir, fixtures) = locate(path)?;
    if let Some(db) = db {
        match input::describe(db) {
            None => return Err(InputError::NotFound { path: db.to_path_buf() }),
            Some(found) if !db.is_file() => {
                return Err(InputError::WrongKind {
                    path: db.to_path_buf(),
                    found,
                    expected: "a SQLite database file (--db)",
                })
            }
            Some(_) => {}
        }
    }
    let mut _tree = None; // keeps the extracted archive alive until the check is done
    let db_path: PathBuf = match db {
        Some(db) => db.to_path_buf(),
        None => {
            // the archive present (zstd first); when none is, the error names the zstd one
            let Some(archive) = ARCHIVES.iter().map(|a| fixtures.join(a)).find(|p| p.exists())
            else {
                return Err(no_archive(&fixtures));
            };
            let tree = input::open(&archive, limits)?;
            let p = tree.database()?;
            _tree = Some(tree);
            p
        }
    };
    let shown = match (db, &_tree) {
        (None, Some(tree)) => tree.shown("var/messages.db"),
        _ => db_path.clone(),
    };
    let fdb = FixtureDb::prepare(&db_path)?;
    let conn = fdb.open(&shown)?;
    let _bar = crate::progress::Bar::spinner(
        "parquet",
        "comparing the Parquet snapshots with the database",
    );
    let outcome = thrum_parquet::check::check_connection(&parquet_dir, &conn, &shown);
    // an interrupted read proves nothing, whatever it reported
    fdb.settle(&shown)?;
    Ok(Checked { parquet_dir, fixtures, outcome })
}

/// The error of a fixtures directory without an archive: a merged or
/// sliced output has none, and `--db` is the way to check it.
fn no_archive(fixtures: &Path) -> InputError {
    if input::describe(fixtures).is_none() {
        return InputError::NotFound { path: fixtures.to_path_buf() };
    }
    let found = format!("absent (and so is {})", ARCHIVES[1]);
    InputError::WrongKind { path: fixtures.join(ARCHIVES[0]), found, expected: NO_ARCHIVE_HINT }
}

/// What `verify parquet` needs where the archive is missing.
pub(crate) const NO_ARCHIVE_HINT: &str = "the archive beside parquet/; a merged or sliced output \
    has none: \
     compare it with --db DB, the .thrum/var/messages.db of an unsharded run of the same seed and \
     profile";

/// The report of `verify parquet`: the snapshot comparison as findings,
/// with the same verdict rules, findings and JSON shape as `replay`.
pub fn report(path: &Path, checked: &Checked) -> Report {
    let mut f = Findings::new(0);
    let mut summary = BTreeMap::new();
    let tables = add_outcome(
        &checked.parquet_dir,
        &checked.fixtures,
        &checked.outcome,
        &mut f,
        &mut summary,
    );
    Report::new("parquet", path.display().to_string(), None, summary, tables, f)
}

/// The text of `verify parquet`: one line per table, the problems and
/// first differences (escaped), and the result line of `report`; when the
/// snapshots could not be read, the text report of `report` (its findings
/// name the file).
pub fn render_text(checked: &Checked, report: &Report) -> String {
    let pq = match &checked.outcome {
        Ok(pq) => pq,
        Err(_) => return report.render_text(),
    };
    let mut s = String::new();
    for t in &pq.tables {
        // the table name is the catalogue's: nothing to escape
        let _ = writeln!(s, "{}", t.line());
        for p in &t.problems {
            let _ = writeln!(s, "    problem: {}", escape(p));
        }
        for d in &t.differences {
            let _ = writeln!(s, "    {}", escape(&d.to_string()));
        }
        for d in &t.delta {
            let _ = writeln!(s, "    delta log: {}", escape(&d.text));
        }
        if t.delta_problems > t.delta.len() as u64 {
            let _ = writeln!(s, "    delta log: {} problems in all", t.delta_problems);
        }
    }
    for u in &pq.unexpected {
        let _ = writeln!(s, "unexpected entry: {}", escape(u));
    }
    let _ = writeln!(s, "\n{}", report.verdict().result_line());
    s
}

/// Findings of a snapshot comparison (kind [`Kind::ParquetDiffers`]): each
/// layout or schema problem, each listed difference, one for the
/// differences counted but not listed, one per unexpected entry; returns
/// the per-table counts (check `parquet`).
pub(crate) fn findings_of(pq: &PqReport, findings: &mut Findings) -> Vec<TableStats> {
    use thrum_parquet::check::DiffKind;
    let mut tables = Vec::new();
    for t in &pq.tables {
        let dir = format!("parquet/{}", t.table);
        let mut pushed = 0usize;
        for p in &t.problems {
            findings.push(
                Finding::new(Kind::ParquetDiffers, p.clone()).table(t.table).file(dir.clone()),
            );
            pushed += 1;
        }
        for d in &t.differences {
            let what = match d.kind {
                DiffKind::Missing => "row missing from Parquet",
                DiffKind::Extra => "row in Parquet, not in the database",
                DiffKind::Differs => "Parquet value differs from the database",
                DiffKind::Unsorted => "Parquet row out of key order",
                DiffKind::Misplaced => "Parquet row under the wrong date= partition",
            };
            let mut f = Finding::new(Kind::ParquetDiffers, what)
                .table(t.table)
                .key(d.key.clone())
                .file(dir.clone());
            if let Some(c) = d.column {
                f = f.column(c);
            }
            if let Some(v) = &d.sqlite {
                f = f.expected(v.clone());
            }
            if let Some(v) = &d.parquet {
                f = f.actual(v.clone());
            }
            findings.push(f);
            pushed += 1;
        }
        let counted = t.missing + t.extra + t.differing + t.misplaced + t.unsorted;
        let listed = t.differences.len() as u64;
        if counted > listed || (!t.is_clean() && pushed == 0 && t.delta_problems == 0) {
            let msg = format!(
                "{} rows in Parquet, {} in the database; {} differences not listed (missing {}, \
                    extra {}, differing {}, misplaced {}, unsorted {})",
                t.parquet_rows,
                t.sqlite_rows,
                counted.saturating_sub(listed),
                t.missing,
                t.extra,
                t.differing,
                t.misplaced,
                t.unsorted
            );
            findings.push(Finding::new(Kind::ParquetDiffers, msg).table(t.table).file(dir.clone()));
        }
        delta_findings(t, &dir, findings);
        let mut st = TableStats::new(t.table, "parquet");
        st.rows_db = t.sqlite_rows;
        st.rows_expected = Some(t.parquet_rows);
        st.missing = t.missing;
        st.extra = t.extra;
        st.differing = t.differing;
        st.other = t.misplaced + t.unsorted + t.problems.len() as u64 + t.delta_problems;
        tables.push(st);
    }
    for u in &pq.unexpected {
        findings.push(
            Finding::new(Kind::ParquetDiffers, "entry of parquet/ that is not a catalogue table")
                .file(format!("parquet/{u}")),
        );
    }
    tables
}

/// The findings of a table's Delta log problems ([`Kind::DeltaLogMissing`],
/// [`Kind::DeltaLogDiffers`]): each one listed, and one for those counted
/// but not listed.
fn delta_findings(t: &thrum_parquet::check::TableReport, dir: &str, findings: &mut Findings) {
    use thrum_parquet::delta::check::DeltaKind;
    let log = format!("{dir}/{}", thrum_parquet::delta::LOG_DIR);
    for d in &t.delta {
        let kind = match d.kind {
            DeltaKind::Missing => Kind::DeltaLogMissing,
            DeltaKind::Differs => Kind::DeltaLogDiffers,
        };
        findings.push(Finding::new(kind, d.text.clone()).table(t.table).file(log.clone()));
    }
    let listed = t.delta.len() as u64;
    if t.delta_problems > listed {
        let msg =
            format!("{} more problems of the Delta log not listed", t.delta_problems - listed);
        findings.push(Finding::new(Kind::DeltaLogDiffers, msg).table(t.table).file(log));
    }
}

/// The file a check error is about, relative to `fixtures` when inside it.
fn error_file(e: &thrum_parquet::Error, fixtures: &Path) -> Option<String> {
    use thrum_parquet::Error as E;
    let p = match e {
        E::Io { path, .. }
        | E::Parquet { path, .. }
        | E::Dataset { path, .. }
        | E::Sqlite { path, .. } => path,
        _ => return None,
    };
    Some(p.strip_prefix(fixtures).unwrap_or(p).display().to_string())
}

/// What went wrong, without the path [`error_file`] names already.
fn error_cause(e: &thrum_parquet::Error) -> String {
    use thrum_parquet::Error as E;
    match e {
        E::Io { op, source, .. } => format!("cannot {op}: {source}"),
        E::Parquet { source, .. } => source.to_string(),
        E::Dataset { problem, .. } => problem.clone(),
        E::Sqlite { source, .. } => format!("database: {source}"),
        other => other.to_string(),
    }
}

/// The findings and table counts of a snapshot comparison of `dir`, or the
/// `parquet_unreadable` finding of the error that stopped it; a `parquet`
/// line in `summary`.
fn add_outcome(
    dir: &Path,
    fixtures: &Path,
    outcome: &Result<PqReport, thrum_parquet::Error>,
    f: &mut Findings,
    summary: &mut BTreeMap<String, serde_json::Value>,
) -> Vec<TableStats> {
    match outcome {
        Ok(pq) => {
            let state =
                if pq.is_clean() { "equal to the database" } else { "DIFFER from the database" };
            summary.insert(
                "parquet".into(),
                json!(format!("{} ({} tables; {state})", dir.display(), pq.tables.len())),
            );
            findings_of(pq, f)
        }
        Err(e) => {
            let mut finding = Finding::new(
                Kind::ParquetUnreadable,
                format!("cannot read the Parquet snapshots: {}", error_cause(e)),
            );
            if let Some(file) = error_file(e, fixtures) {
                finding = finding.file(file);
            }
            f.push(finding);
            summary.insert("parquet".into(), json!(format!("{} (unreadable)", dir.display())));
            Vec::new()
        }
    }
}

/// When `archive` is a `thrum-fixture.tar.zst` (or `.tar.gz`) with a `parquet/` directory
/// beside it, compares the snapshots with the archive's database and adds
/// the outcome to `report`: differences as `parquet_differs`, a file that
/// cannot be read as `parquet_unreadable` (naming it). Returns whether the
/// snapshots were checked. Errors only for an unusable archive or database.
pub fn add_snapshots(
    report: &mut Report,
    archive: &Path,
    limits: &Limits,
) -> Result<bool, InputError> {
    add_snapshots_in(report, archive, None, limits)
}

/// [`add_snapshots`], reading the database from `extracted`, the tree
/// `archive` was already extracted to ([`crate::verify_path_kept`]), when
/// given: the archive is then not extracted a second time.
pub fn add_snapshots_in(
    report: &mut Report,
    archive: &Path,
    extracted: Option<&Tree>,
    limits: &Limits,
) -> Result<bool, InputError> {
    let checked = check_snapshots_in(archive, extracted, limits)?;
    let found = checked.is_some();
    if let Some(s) = checked {
        s.add_to(report);
    }
    Ok(found)
}

/// The outcome of the Parquet check beside an archive, to be added to the
/// archive's replay report ([`Snapshots::add_to`]).
pub struct Snapshots {
    findings: Findings,
    tables: Vec<TableStats>,
    summary: BTreeMap<String, serde_json::Value>,
}

impl Snapshots {
    /// Adds the findings, table counts and `parquet` summary line to `report`.
    pub fn add_to(self, report: &mut Report) {
        report.summary.extend(self.summary);
        report.add(self.findings, self.tables);
    }
}

/// The check of [`add_snapshots_in`], without a report: `None` when
/// `archive` is not a fixture archive with `parquet/` beside it.
pub fn check_snapshots_in(
    archive: &Path,
    extracted: Option<&Tree>,
    limits: &Limits,
) -> Result<Option<Snapshots>, InputError> {
    check_snapshots(archive, extracted, limits, true)
}

/// [`check_snapshots_in`]; a spinner says so while it runs when `spinner`
/// (none beside the replay, whose own progress lines hold the terminal).
pub(crate) fn check_snapshots(
    archive: &Path,
    extracted: Option<&Tree>,
    limits: &Limits,
    spinner: bool,
) -> Result<Option<Snapshots>, InputError> {
    if archive.file_name().is_none_or(|n| !ARCHIVES.iter().any(|a| n == *a)) {
        return Ok(None);
    }
    let fixtures = match archive.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = fixtures.join("parquet");
    if !dir.is_dir() {
        return Ok(None);
    }
    let opened;
    let tree = match extracted {
        Some(t) if t.archive.as_deref() == Some(archive) => t,
        _ => {
            opened = input::open(archive, limits)?;
            &opened
        }
    };
    let db_path = tree.database()?;
    let shown = tree.shown("var/messages.db");
    let fdb = FixtureDb::prepare(&db_path)?;
    let conn = fdb.open(&shown)?;
    let mut findings = Findings::new(0);
    let mut summary = BTreeMap::new();
    let _bar = spinner.then(|| {
        crate::progress::Bar::spinner(
            "parquet",
            "comparing the Parquet snapshots with the database",
        )
    });
    let outcome = thrum_parquet::check::check_connection(&dir, &conn, &shown);
    fdb.settle(&shown)?;
    let tables = add_outcome(&dir, &fixtures, &outcome, &mut findings, &mut summary);
    Ok(Some(Snapshots { findings, tables, summary }))
}
