//! The book's figures are current: regenerating them from the scenarios gives, byte for byte, the
//! files committed in `book/src/figures/`. If this fails after a change to the simulator, the
//! charts or a `chart-*.json` scenario, look at the new figures and commit them:
//! `cargo run --release -- figures`.

use snapsim::figures::{FIGURES, FigureContext, figure_path, regenerate};
use std::path::PathBuf;

#[test]
fn the_committed_figures_are_what_the_scenarios_produce_today() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let committed = root.join("book/src/figures");
    let fresh = std::env::temp_dir().join(format!("snapsim-figures-{}", std::process::id()));
    let context = FigureContext {
        scenarios_dir: root.join("scenarios"),
        out_dir: fresh.clone(),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    regenerate(&context, &|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let mut stale = Vec::new();
    for figure in FIGURES {
        for extension in ["png", "svg"] {
            let new = std::fs::read(figure_path(&fresh, figure.stem, extension)).unwrap();
            match std::fs::read(figure_path(&committed, figure.stem, extension)) {
                Ok(old) if old == new => {}
                Ok(_) => stale.push(format!("{}.{extension} differs", figure.stem)),
                Err(_) => stale.push(format!("{}.{extension} is missing", figure.stem)),
            }
        }
    }
    std::fs::remove_dir_all(&fresh).unwrap();
    assert!(
        stale.is_empty(),
        "book/src/figures/ is out of date ({}); look at the new figures, then regenerate them \
         with `cargo run --release -- figures`",
        stale.join(", ")
    );
}

#[test]
fn every_figure_names_an_existing_chart_scenario() {
    let scenarios = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for figure in FIGURES {
        assert!(
            figure.scenario.starts_with("chart-") && scenarios.join(figure.scenario).is_file(),
            "{} names {}, which is not a scenarios/chart-*.json file",
            figure.stem,
            figure.scenario
        );
    }
}

#[test]
fn the_books_replays_are_what_snapsim_replay_writes_today() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for file in snapsim::ui::page::BOOK_REPLAYS {
        let fresh = snapsim::ui::page::book_replay(&root.join("scenarios"), file).unwrap();
        let committed = root
            .join("book/src/replays")
            .join(file.replace(".json", ".html"));
        // What bounds a replay's size: the arrow, bucket and list limits of `ui::replay`.
        assert!(fresh.len() < 400_000, "{file}: {} bytes", fresh.len());
        if std::fs::read_to_string(&committed).ok().as_deref() != Some(fresh.as_str()) {
            stale.push(committed.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {}; regenerate them with `cargo run --release -- figures`",
        stale.join(", ")
    );
}
