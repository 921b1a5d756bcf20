//! Writes the fixtures.
fn main() {}
