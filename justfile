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

# Run every test.
test:
    cargo test --workspace

# Prove the checked-in fixtures consistent and migratable.
verify:
    cargo run --release --bin verify -- replay fixtures/thrum-fixture.tar.zst
    cargo run --release --bin verify -- migrate fixtures/thrum-fixture-v5.tar.zst

# Everything CI does.
ci:
    bash .ci/run
