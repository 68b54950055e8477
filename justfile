# Everyday recipes. `just` with no argument lists them.
default:
    @just --list

# Regenerate fixtures/ (seed 42, default profile) atomically.
regen:
    cargo run --release --bin testgen

# Regenerate, then fail if any committed fixture byte changed.
check: regen
    git diff --exit-code fixtures/
    test -z "$(git status --porcelain fixtures/)"

# Run every test (release profile: the same build as the binaries).
test:
    cargo test --release --workspace

# Prove the checked-in fixtures consistent, migratable, their Parquet equal to SQLite, and the mesh in sync.
verify:
    cargo run --release --bin verify -- replay fixtures/thrum-fixture.tar.zst
    cargo run --release --bin verify -- migrate fixtures/thrum-fixture-v5.tar.zst
    cargo run --release --bin verify -- parquet fixtures
    cargo run --release --bin verify -- mesh fixtures/mesh

# Read every Parquet dataset with DuckDB and compare with SQLite (needs `pip install duckdb`).
interop:
    python3 scripts/interop_check.py fixtures --readme README.md

# Benchmark generation (table + JSON); PROFILE=large for the scale scenario.
bench PROFILE="default":
    cargo run --release --bin testgen -- bench --profile {{PROFILE}} --runs 5

# Everything CI does.
ci:
    bash .ci/run
