//! The captures in `fixtures/` are exactly what the generator writes: nobody
//! edits them by hand, and a generator change that alters them shows up here
//! (regenerate with `cargo run -p telltale-fixtures -- fixtures`).

use std::path::Path;

#[test]
fn committed_fixtures_match_the_generator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    for fixture in telltale_fixtures::captures::all_files() {
        let path = dir.join(fixture.name);
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; regenerate the fixtures", path.display()));
        assert!(
            on_disk == fixture.bytes,
            "{} differs from the generator's output; regenerate the fixtures",
            path.display()
        );
    }
}
