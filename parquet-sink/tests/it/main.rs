//! The integration tests of thrum-parquet, in one binary (one link instead
//! of one per file). Each module is one family of checks; `interop` is
//! ignored by default (it needs Python with DuckDB).

mod common;
mod delta;
mod interop;
mod roundtrip;
mod sink;
