//! Chaos fixtures: deterministic corrupted copies of a fixture (`testgen corrupt`).
