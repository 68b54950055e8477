//! The integration tests of thrum-gen, in one binary (one link instead of
//! one per file). Each module is one family of properties.

mod common;
mod mesh;
mod plan;
mod properties;
mod volumes;
