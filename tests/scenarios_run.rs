//! Every scenario in `scenarios/` runs, does what it says (passes, or fails exactly as it
//! declares), and is deterministic: two runs give the same digest.

use snapsim::report::run_scenario;
use snapsim::scenario::load_file;
use std::path::PathBuf;

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .expect("scenarios/ exists")
            .map(|entry| entry.expect("readable entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn every_scenario_is_deterministic_and_does_what_it_declares() {
    for file in scenario_files() {
        let scenario = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        let first = run_scenario(&scenario, scenario.seed);
        let second = run_scenario(&scenario, scenario.seed);
        assert_eq!(
            first.report.digest,
            second.report.digest,
            "{} is not deterministic",
            file.display()
        );
        assert!(
            first.report.outcome.is_success(),
            "{}: {:?}",
            file.display(),
            first.report.outcome
        );
    }
}

#[test]
fn a_different_seed_gives_a_different_run() {
    let scenario = load_file(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-bank-5-accounts.json"
    )))
    .unwrap();
    let a = run_scenario(&scenario, 1);
    let b = run_scenario(&scenario, 2);
    assert_ne!(a.report.digest, b.report.digest);
}
