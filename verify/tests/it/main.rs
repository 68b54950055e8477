//! verify's integration tests in one binary (one link of the dependency
//! tree instead of one per file): one module per test file, with the shared
//! support modules `common` (a hand-built fixture), `checked_in_copy`
//! (copies of the checked-in fixtures) and `reference` (the in-memory
//! reference reader the streaming verifier is compared with).

// the strategies of `no_panic` nest deeply
#![recursion_limit = "512"]

mod checked_in_copy;
mod common;
mod reference;

mod chaos;
mod checked_in;
mod crash_states;
mod decoding;
mod honest;
mod hostile;
mod interrupt;
mod mesh;
mod migrate;
mod no_panic;
mod reading;
mod rebuild;
mod special_files;
mod stream;
mod streams;
mod suite;
mod tamper;
