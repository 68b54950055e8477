//! Parquet snapshots of a Thrum fixture (in progress).
