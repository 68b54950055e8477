//! Reading both sides: a dataset's Parquet rows and SQLite's values, as cells.

use super::files::PartFile;
use crate::delta::stats::FileStats;
use crate::error::{Error, IoContext, PqContext, Result};
use crate::mapping::{self, decode, Val, US_PER_DAY};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use rusqlite::types::ValueRef;
use std::path::{Path, PathBuf};
use thrum_schemas::catalogue::{Cell, Table};

/// Streams the rows of a dataset's files, inverted to SQLite cells.
pub(super) struct ParquetRows<'a> {
    table: &'static Table,
    files: &'a [PartFile],
    next_file: usize,
    reader: Option<(ParquetRecordBatchReader, Option<i64>, PathBuf)>,
    batch: Option<RecordBatch>,
    row: usize,
    part_idx: Option<usize>,
    /// The statistics of each file's rows read so far.
    stats: &'a mut [FileStats],
}

pub(super) struct PRow {
    /// The row's cells.
    pub(super) cells: Vec<Cell<'static>>,
    /// (row's day, partition's day) for partitioned tables.
    pub(super) days: Option<(i64, Option<i64>)>,
}

impl<'a> ParquetRows<'a> {
    /// The rows of `files`, each file's added to its `stats` as it is read.
    pub(super) fn new(
        table: &'static Table,
        files: &'a [PartFile],
        stats: &'a mut [FileStats],
    ) -> ParquetRows<'a> {
        ParquetRows {
            table,
            files,
            next_file: 0,
            reader: None,
            batch: None,
            row: 0,
            part_idx: mapping::partition_source(table).and_then(|c| table.column_index(c)),
            stats,
        }
    }

    /// The next row, `None` after the last file's last.
    pub(super) fn next(&mut self) -> Result<Option<PRow>> {
        loop {
            if let (Some(b), Some((_, part_day, path))) = (&self.batch, &self.reader) {
                if self.row < b.num_rows() {
                    let r = self.row;
                    self.row += 1;
                    let (cells, us) = decode_row(self.table, b, r, path)?;
                    let days =
                        self.part_idx.map(|_| (us.unwrap_or(0).div_euclid(US_PER_DAY), *part_day));
                    return Ok(Some(PRow { cells, days }));
                }
            }
            self.batch = None;
            if let Some((reader, _, path)) = &mut self.reader {
                match reader.next() {
                    Some(b) => {
                        let b = b.map_err(|e| Error::Dataset {
                            path: path.clone(),
                            problem: e.to_string(),
                        })?;
                        if let Some(st) =
                            self.next_file.checked_sub(1).and_then(|i| self.stats.get_mut(i))
                        {
                            st.add(&b);
                        }
                        self.batch = Some(b);
                        self.row = 0;
                        continue;
                    }
                    None => self.reader = None,
                }
            }
            let Some(f) = self.files.get(self.next_file) else { return Ok(None) };
            self.next_file += 1;
            let file = thrum_io::regular::open_regular(&f.path).io("open", &f.path)?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .pq(&f.path)?
                .with_batch_size(8192)
                .build()
                .pq(&f.path)?;
            self.reader = Some((reader, f.day, f.path.clone()));
        }
    }
}

/// Row `r` of `b` as SQLite cells, and the raw partition timestamp.
fn decode_row(
    t: &'static Table,
    b: &RecordBatch,
    r: usize,
    path: &Path,
) -> Result<(Vec<Cell<'static>>, Option<i64>)> {
    let part_idx = mapping::partition_source(t).and_then(|c| t.column_index(c));
    let mut cells = Vec::with_capacity(t.columns.len());
    let mut part_us = None;
    for (i, c) in t.columns.iter().enumerate() {
        let a = b.column(i);
        let bad = || Error::Dataset {
            path: path.to_path_buf(),
            problem: format!("column {} has Arrow type {:?}", c.name, a.data_type()),
        };
        let v = if a.is_null(r) {
            Val::Null
        } else {
            match a.data_type() {
                DataType::Utf8 => Val::Text(a.as_string_opt::<i32>().ok_or_else(bad)?.value(r)),
                DataType::Int64 => {
                    Val::Int(a.as_primitive_opt::<Int64Type>().ok_or_else(bad)?.value(r))
                }
                DataType::Boolean => Val::Bool(a.as_boolean_opt().ok_or_else(bad)?.value(r)),
                DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) => Val::Ts(
                    a.as_primitive_opt::<TimestampMicrosecondType>().ok_or_else(bad)?.value(r),
                ),
                _ => return Err(bad()),
            }
        };
        if Some(i) == part_idx {
            if let Val::Ts(us) = v {
                part_us = Some(us);
            }
        }
        cells.push(decode(c, v));
    }
    Ok((cells, part_us))
}

/// A SQLite value as a cell; a value of a storage class the catalogue never uses is shown
/// as text that matches no Parquet value.
pub(super) fn sqlite_cell(v: ValueRef<'_>) -> Cell<'static> {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::owned(format!("<REAL {f}>")),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Cell::owned(s.to_owned()),
            Err(_) => Cell::owned(format!("<invalid UTF-8 {t:?}>")),
        },
        ValueRef::Blob(b) => Cell::owned(format!("<BLOB {} bytes>", b.len())),
    }
}
