//! The streaming Parquet sink: rows in, one dataset per table out.

use crate::delta::stats::FileStats;
use crate::error::{Error, IoContext, PqContext, Result};
use crate::mapping::{self, encode, Val, US_PER_DAY};
use crate::time_fmt::day_name;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thrum_schemas::catalogue::{Cell, Table, TABLES};

/// File name of part `n` of a dataset (`part-00000.parquet` for part 0).
pub fn part_file_name(part: u32) -> String {
    format!("part-{part:05}.parquet")
}
/// Widest table the sink accepts (v13's widest has 14 columns).
const MAX_COLUMNS: usize = 32;
/// Rows per Arrow batch handed to the Parquet writer: bounds the raw rows
/// buffered per table; a multiple of the writer's 1024-row mini-batches.
const BATCH_ROWS: usize = 8192;

/// Writer settings. Everything else is fixed so that the same rows always
/// give the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Rows per row group (default 65,536). At most one row group per table
    /// is buffered in memory.
    pub row_group_rows: usize,
    /// zstd level of every column chunk (default 3).
    pub zstd_level: i32,
    /// Number in the file names, `part-{part:05}.parquet` (default 0). Slices
    /// of one plan written by separate sinks (e.g. `testgen --shard I/N`)
    /// use their slice index: their files can then be moved into one
    /// directory tree and form the whole dataset, in key order by file name.
    /// Only part 0 writes the empty dataset of a table that got no row,
    /// and of a day-partitioned table only when it is the only part.
    pub part: u32,
    /// Number of parts the dataset is written in (default 1). With more
    /// than one, no part writes an empty file for a day-partitioned table
    /// (it would sit outside the `date=` directories of the other parts).
    pub parts: u32,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions { row_group_rows: 64 * 1024, zstd_level: 3, part: 0, parts: 1 }
    }
}

/// One Parquet file the sink produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// The table it holds rows of.
    pub table: &'static str,
    /// Path relative to the sink's directory, `/`-separated, e.g.
    /// `messages/date=2026-03-02/part-00000.parquet`.
    pub rel_path: String,
    /// Rows it holds.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its Delta statistics (the `stats` JSON of its `add` action,
    /// [`crate::delta::stats`]), computed from the rows written.
    pub stats: String,
}

impl WrittenFile {
    /// The file as its table's Delta log lists it (path relative to the table).
    pub fn log_file(&self) -> crate::delta::LogFile {
        let path = self
            .rel_path
            .strip_prefix(self.table)
            .and_then(|p| p.strip_prefix('/'))
            .unwrap_or(&self.rel_path);
        crate::delta::LogFile {
            path: path.to_string(),
            size: self.bytes,
            stats: self.stats.clone(),
        }
    }
}

enum ColBuilder {
    Utf8(StringBuilder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
}

impl ColBuilder {
    fn new(dt: &DataType) -> ColBuilder {
        match dt {
            DataType::Int64 => ColBuilder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            DataType::Boolean => ColBuilder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            DataType::Timestamp(_, _) => ColBuilder::Ts(
                TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone(mapping::TZ),
            ),
            _ => ColBuilder::Utf8(StringBuilder::new()),
        }
    }

    /// Appends; `false` if the value does not fit the builder (cannot happen
    /// for values from [`encode`], checked anyway).
    fn append(&mut self, v: Val<'_>) -> bool {
        match (self, v) {
            (ColBuilder::Utf8(b), Val::Null) => b.append_null(),
            (ColBuilder::Int(b), Val::Null) => b.append_null(),
            (ColBuilder::Bool(b), Val::Null) => b.append_null(),
            (ColBuilder::Ts(b), Val::Null) => b.append_null(),
            (ColBuilder::Utf8(b), Val::Text(t)) => b.append_value(t),
            (ColBuilder::Int(b), Val::Int(i)) => b.append_value(i),
            (ColBuilder::Bool(b), Val::Bool(x)) => b.append_value(x),
            (ColBuilder::Ts(b), Val::Ts(t)) => b.append_value(t),
            _ => return false,
        }
        true
    }

    /// Estimated bytes held.
    fn memory(&self) -> usize {
        match self {
            ColBuilder::Utf8(b) => b.values_slice().len() + 4 * b.len(),
            ColBuilder::Int(b) => 8 * b.len(),
            ColBuilder::Bool(b) => b.len() / 8,
            ColBuilder::Ts(b) => 8 * b.len(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::Utf8(b) => Arc::new(b.finish()),
            ColBuilder::Int(b) => Arc::new(b.finish()),
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::Ts(b) => Arc::new(b.finish()),
        }
    }
}

/// A primary-key value kept between rows, reusing its string buffers.
#[derive(Debug, Clone)]
enum KeyPart {
    Null,
    Int(i64),
    Text(String),
}

impl KeyPart {
    /// Same order as `Cell`'s `Ord` (and SQLite's: NULL < INTEGER < TEXT, text by bytes).
    fn cmp_cell(cell: &Cell, part: &KeyPart) -> Ordering {
        match (cell, part) {
            (Cell::Null, KeyPart::Null) => Ordering::Equal,
            (Cell::Null, _) => Ordering::Less,
            (_, KeyPart::Null) => Ordering::Greater,
            (Cell::Int(a), KeyPart::Int(b)) => a.cmp(b),
            (Cell::Int(_), KeyPart::Text(_)) => Ordering::Less,
            (Cell::Text(_), KeyPart::Int(_)) => Ordering::Greater,
            (Cell::Text(a), KeyPart::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        }
    }
    fn set(&mut self, cell: &Cell) {
        match (&mut *self, cell) {
            (KeyPart::Text(s), Cell::Text(t)) => {
                s.clear();
                s.push_str(t);
            }
            (_, Cell::Text(t)) => *self = KeyPart::Text(t.to_string()),
            (_, Cell::Int(i)) => *self = KeyPart::Int(*i),
            (_, Cell::Null) => *self = KeyPart::Null,
        }
    }
    fn render(&self) -> String {
        match self {
            KeyPart::Null => "NULL".into(),
            KeyPart::Int(i) => i.to_string(),
            KeyPart::Text(t) => format!("{t:?}"),
        }
    }
}

/// `col=value, …` of a row's primary key.
pub(crate) fn render_key(table: &Table, pk_idx: &[usize], row: &[Cell]) -> String {
    pk_idx
        .iter()
        .zip(table.primary_key)
        .map(|(&i, name)| {
            format!("{name}={}", row.get(i).map_or_else(|| "?".to_string(), |c| c.to_string()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

struct OpenFile {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    rel: String,
    rows: u64,
    stats: FileStats,
}

struct TableState {
    table: &'static Table,
    schema: SchemaRef,
    nullable: Vec<bool>,
    pk_idx: Vec<usize>,
    part_idx: Option<usize>,
    builders: Vec<ColBuilder>,
    buffered: usize,
    last_key: Option<Vec<KeyPart>>,
    open: Option<OpenFile>,
    day: Option<i64>,
    written: Vec<WrittenFile>,
}

impl TableState {
    /// `row` comes after the last row pushed, in key order.
    fn check_after_last(&self, row: &[Cell]) -> Result<()> {
        let Some(last) = &self.last_key else { return Ok(()) };
        let ord = self
            .pk_idx
            .iter()
            .zip(last)
            .map(|(&i, p)| KeyPart::cmp_cell(&row[i], p))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal);
        if ord == Ordering::Greater {
            return Ok(());
        }
        let t = self.table;
        let prev = t
            .primary_key
            .iter()
            .zip(last)
            .map(|(n, p)| format!("{n}={}", p.render()))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Error::Unsorted { table: t.name, key: render_key(t, &self.pk_idx, row), prev })
    }

    /// Remembers the key of `row` as the last pushed.
    fn set_last_key(&mut self, row: &[Cell]) {
        match &mut self.last_key {
            Some(last) => {
                for (&i, p) in self.pk_idx.iter().zip(last.iter_mut()) {
                    p.set(&row[i]);
                }
            }
            None => {
                self.last_key = Some(
                    self.pk_idx
                        .iter()
                        .map(|&i| {
                            let mut p = KeyPart::Null;
                            p.set(&row[i]);
                            p
                        })
                        .collect(),
                )
            }
        }
    }
}

/// Streams rows into `<dir>/<table>/…parquet`, one dataset per v13 table.
///
/// Rows of each table must arrive strictly increasing by primary key (and,
/// for `messages`/`events`, in non-decreasing day of the partition column);
/// anything else is an error. Memory per table is bounded by one row group,
/// whatever the number of rows. After an error the directory is incomplete
/// and should be discarded.
pub struct ParquetSink {
    dir: PathBuf,
    opts: ParquetOptions,
    batch_rows: usize,
    tables: Vec<TableState>,
    last: usize,
    scratch: String,
}

impl ParquetSink {
    /// Creates `dir` (which must not exist or be empty) and an empty sink.
    pub fn create(dir: &Path, opts: ParquetOptions) -> Result<ParquetSink> {
        if opts.row_group_rows == 0 {
            return Err(Error::Options("row_group_rows must be at least 1".into()));
        }
        ZstdLevel::try_new(opts.zstd_level)
            .map_err(|e| Error::Options(format!("zstd level {}: {e}", opts.zstd_level)))?;
        std::fs::create_dir_all(dir).io("create directory", dir)?;
        if std::fs::read_dir(dir).io("read directory", dir)?.next().is_some() {
            return Err(Error::NotEmpty(dir.to_path_buf()));
        }
        let mut tables = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            if t.columns.len() > MAX_COLUMNS {
                return Err(Error::Options(format!(
                    "table {} has {} columns, more than {MAX_COLUMNS}",
                    t.name,
                    t.columns.len()
                )));
            }
            let schema = Arc::new(mapping::arrow_schema(t));
            let pk_idx = t
                .primary_key
                .iter()
                .map(|k| {
                    t.column_index(k).ok_or_else(|| Error::UnknownTable(format!("{}.{k}", t.name)))
                })
                .collect::<Result<Vec<_>>>()?;
            let part_idx = match mapping::partition_source(t) {
                Some(c) => Some(
                    t.column_index(c)
                        .ok_or_else(|| Error::UnknownTable(format!("{}.{c}", t.name)))?,
                ),
                None => None,
            };
            tables.push(TableState {
                table: t,
                nullable: t.columns.iter().map(|c| mapping::nullable(t, c)).collect(),
                builders: schema.fields().iter().map(|f| ColBuilder::new(f.data_type())).collect(),
                schema,
                pk_idx,
                part_idx,
                buffered: 0,
                last_key: None,
                open: None,
                day: None,
                written: Vec::new(),
            });
        }
        let batch_rows = BATCH_ROWS.min(opts.row_group_rows);
        Ok(ParquetSink {
            dir: dir.to_path_buf(),
            opts,
            batch_rows,
            tables,
            last: 0,
            scratch: String::new(),
        })
    }

    /// The directory the datasets go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows and estimated bytes held in memory right now, over all tables
    /// (rows not yet in a batch plus the writer's in-progress row group).
    /// Bounded by one row group and one batch per table, whatever the
    /// number of rows pushed.
    pub fn buffered(&self) -> (usize, usize) {
        self.tables.iter().fold((0, 0), |(rows, bytes), st| {
            let (wr, wb) = st
                .open
                .as_ref()
                .map_or((0, 0), |o| (o.writer.in_progress_rows(), o.writer.memory_size()));
            (
                rows + st.buffered + wr,
                bytes + wb + st.builders.iter().map(ColBuilder::memory).sum::<usize>(),
            )
        })
    }

    /// The index of `table` in `self.tables`, remembered for the next row.
    fn table_index(&mut self, table: &'static Table) -> Result<usize> {
        if self.tables[self.last].table.name == table.name {
            return Ok(self.last);
        }
        let i = self
            .tables
            .iter()
            .position(|s| s.table.name == table.name)
            .ok_or_else(|| Error::UnknownTable(table.name.to_string()))?;
        self.last = i;
        Ok(i)
    }

    /// Appends one row of `table` (cells in catalogue column order).
    pub fn push(&mut self, table: &'static Table, row: &[Cell]) -> Result<()> {
        let idx = self.table_index(table)?;
        let st = &mut self.tables[idx];
        let t = st.table;
        if row.len() != t.columns.len() {
            return Err(Error::Arity { table: t.name, got: row.len(), want: t.columns.len() });
        }
        // Map every cell first, so that a bad row leaves the sink unchanged.
        let mut vals = [Val::Null; MAX_COLUMNS];
        for (i, (c, cell)) in t.columns.iter().zip(row).enumerate() {
            vals[i] = encode(c, st.nullable[i], cell, &mut self.scratch).map_err(|problem| {
                Error::Value {
                    table: t.name,
                    column: c.name,
                    key: render_key(t, &st.pk_idx, row),
                    problem,
                }
            })?;
        }
        st.check_after_last(row)?;
        if let Some(pi) = st.part_idx {
            let Val::Ts(us) = vals[pi] else {
                return Err(Error::Value {
                    table: t.name,
                    column: t.columns[pi].name,
                    key: render_key(t, &st.pk_idx, row),
                    problem: "partition column has no timestamp".into(),
                });
            };
            let day = us.div_euclid(US_PER_DAY);
            match st.day {
                Some(cur) if day < cur => {
                    return Err(Error::PartitionOrder {
                        table: t.name,
                        key: render_key(t, &st.pk_idx, row),
                        day: day_name(day),
                        current: day_name(cur),
                    });
                }
                Some(cur) if day > cur => close_file(&self.dir, st)?,
                _ => {}
            }
            st.day = Some(day);
        }
        if st.open.is_none() {
            st.open = Some(open_file(&self.dir, &self.opts, st)?);
        }
        for (i, b) in st.builders.iter_mut().enumerate() {
            if !b.append(vals[i]) {
                return Err(Error::Value {
                    table: t.name,
                    column: t.columns[i].name,
                    key: render_key(t, &st.pk_idx, row),
                    problem: "internal: value does not match the Arrow type".into(),
                });
            }
        }
        st.buffered += 1;
        st.set_last_key(row);
        if st.buffered >= self.batch_rows {
            write_batch(st)?;
        }
        Ok(())
    }

    /// Closes every file, writes an empty dataset for tables that got no
    /// rows (part 0 only; day-partitioned tables only when the dataset is
    /// written in one part), and lists the files in catalogue table order
    /// (partitions in day order).
    pub fn finish(mut self) -> Result<Vec<WrittenFile>> {
        let mut out = Vec::new();
        for st in &mut self.tables {
            close_file(&self.dir, st)?;
            if st.written.is_empty()
                && self.opts.part == 0
                && (st.part_idx.is_none() || self.opts.parts <= 1)
            {
                // No row at all: one empty file with the schema. A
                // partitioned table has no day to name, so its empty file
                // sits directly under the table directory.
                st.day = None;
                st.open = Some(open_file(&self.dir, &self.opts, st)?);
                close_file(&self.dir, st)?;
            }
            out.append(&mut st.written);
        }
        Ok(out)
    }
}

fn writer_properties(
    opts: &ParquetOptions,
    st: &TableState,
    partition: Option<&str>,
) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(opts.zstd_level)
        .map_err(|e| Error::Options(format!("zstd level {}: {e}", opts.zstd_level)))?;
    let mut kv: Vec<KeyValue> = mapping::table_metadata(st.table)
        .into_iter()
        .map(|(k, v)| KeyValue::new(k.to_string(), v))
        .collect();
    if let Some(p) = partition {
        kv.push(KeyValue::new(mapping::keys::PARTITION.to_string(), p.to_string()));
    }
    kv.sort_by(|a, b| a.key.cmp(&b.key));
    let sorting = st
        .pk_idx
        .iter()
        .map(|&i| SortingColumn { column_idx: i as i32, descending: false, nulls_first: true })
        .collect();
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(opts.row_group_rows))
        .set_max_row_group_bytes(None)
        .set_write_batch_size(1024)
        .set_data_page_size_limit(1024 * 1024)
        .set_data_page_row_count_limit(20_000)
        .set_dictionary_enabled(true)
        .set_dictionary_page_size_limit(1024 * 1024)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_statistics_truncate_length(Some(64))
        .set_column_index_truncate_length(Some(64))
        .set_bloom_filter_enabled(false)
        .set_sorting_columns(Some(sorting))
        .set_key_value_metadata(Some(kv));
    for c in st.table.columns.iter().filter(|c| !mapping::dictionary_encoded(st.table, c)) {
        b = b.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
    }
    Ok(b.build())
}

fn open_file(dir: &Path, opts: &ParquetOptions, st: &TableState) -> Result<OpenFile> {
    let t = st.table;
    let (rel_dir, partition) = match (st.part_idx, st.day) {
        (Some(_), Some(day)) => {
            let p = format!("{}={}", mapping::PARTITION_COLUMN, day_name(day));
            (format!("{}/{p}", t.name), Some(p))
        }
        _ => (t.name.to_string(), None),
    };
    let abs_dir = dir.join(&rel_dir);
    std::fs::create_dir_all(&abs_dir).io("create directory", &abs_dir)?;
    let name = part_file_name(opts.part);
    let path = abs_dir.join(&name);
    let tmp = abs_dir.join(format!("{name}.tmp"));
    let file = File::create(&tmp).io("create", &tmp)?;
    let props = writer_properties(opts, st, partition.as_deref())?;
    let writer = ArrowWriter::try_new(file, st.schema.clone(), Some(props)).pq(&tmp)?;
    let stats = FileStats::new(&st.schema);
    Ok(OpenFile { writer, tmp, path, rel: format!("{rel_dir}/{name}"), rows: 0, stats })
}

fn write_batch(st: &mut TableState) -> Result<()> {
    if st.buffered == 0 {
        return Ok(());
    }
    let Some(open) = st.open.as_mut() else {
        return Err(Error::Options(format!(
            "internal: {} has buffered rows but no open file",
            st.table.name
        )));
    };
    let arrays: Vec<ArrayRef> = st.builders.iter_mut().map(ColBuilder::finish).collect();
    let batch = RecordBatch::try_new(st.schema.clone(), arrays)
        .map_err(|source| Error::Arrow { table: st.table.name, source })?;
    open.stats.add(&batch);
    open.writer.write(&batch).pq(&open.tmp)?;
    open.rows += st.buffered as u64;
    st.buffered = 0;
    Ok(())
}

fn close_file(_dir: &Path, st: &mut TableState) -> Result<()> {
    write_batch(st)?;
    let Some(open) = st.open.take() else { return Ok(()) };
    // `into_inner` writes the footer and flushes the writer's own buffer.
    let file = open.writer.into_inner().pq(&open.tmp)?;
    let bytes = file.metadata().io("stat", &open.tmp)?.len();
    drop(file);
    std::fs::rename(&open.tmp, &open.path).io("rename", &open.tmp)?;
    let stats = open.stats.to_json();
    st.written.push(WrittenFile {
        table: st.table.name,
        rel_path: open.rel,
        rows: open.rows,
        bytes,
        stats,
    });
    Ok(())
}
