//! Simulation speed, measured against the ceiling of a bare binary heap.
//!
//! `cargo bench --bench engine` runs:
//! - `bank_64_processes`: the Chandy-Lamport bank of `benches/bank-64.json` (64 processes,
//!   10⁶ transfers, ~1000 snapshots), counted in engine events;
//! - `binary_heap_ceiling`: a plain `BinaryHeap` pop+push loop of the same number of events with
//!   the same mean heap size and one ChaCha8 draw per event — what a simulator that did nothing but
//!   schedule could reach.
//! - `reference_job_{aligned,unaligned}_60s`: the measured Flink reference jobs B and C, 60 s;
//! - `every_barrier_mode`: one backpressured job in each of the six barrier modes.
//!
//! Divan reports each as items (events) per second; against the heap ceiling, the ratio is the
//! engine's efficiency.

use divan::Bencher;
use divan::counter::ItemsCount;
use rand::Rng;
use snapsim::chandy_lamport;
use snapsim::engine::RngStreams;
use snapsim::scenario::{Model, Scenario, load_file};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn bank_scenario() -> &'static (Scenario, u64, usize) {
    static SCENARIO: OnceLock<(Scenario, u64, usize)> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        let scenario = load_file(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/bank-64.json").as_ref()).unwrap();
        let Model::ProcessGraph(model) = &scenario.model else {
        panic!("a process-graph scenario")
    };
        let run = chandy_lamport::run(model, scenario.seed, model.variant);
        eprintln!(
            "bank-64: {} events, {} transfers, {} snapshots, mean heap size {:.0}, {} recorded events",
            run.events_processed,
            run.application_messages,
            run.snapshots.len(),
            run.mean_pending_events,
            run.trace.events().len()
        );
        let events = run.events_processed;
        let pending = run.mean_pending_events.round() as usize;
        (scenario, events, pending)
    })
}

#[divan::bench(sample_count = 9, sample_size = 1)]
fn bank_64_processes(bencher: Bencher) {
    let (scenario, events, _) = bank_scenario();
    let Model::ProcessGraph(model) = &scenario.model else {
        panic!("a process-graph scenario")
    };
    bencher
        .counter(ItemsCount::new(*events))
        .bench(|| chandy_lamport::run(model, scenario.seed, model.variant).events_processed);
}

#[divan::bench(sample_count = 9, sample_size = 1)]
fn binary_heap_ceiling(bencher: Bencher) {
    let (_, events, pending) = bank_scenario();
    let (events, pending) = (*events, (*pending).max(1));
    bencher.counter(ItemsCount::new(events)).bench(|| {
        let mut rng = RngStreams::new(1).stream("ceiling");
        let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::with_capacity(pending + 1);
        let mut sequence = 0u64;
        for id in 0..pending as u32 {
            heap.push(Reverse((rng.next_u64() % 10_000, sequence, id)));
            sequence += 1;
        }
        let mut checksum = 0u64;
        for _ in 0..events {
            let Reverse((time, _, id)) = heap.pop().unwrap();
            checksum = checksum.wrapping_add(u64::from(id));
            heap.push(Reverse((time + rng.next_u64() % 10_000, sequence, id)));
            sequence += 1;
        }
        checksum
    });
}

/// The measured reference job (`scenarios/flink-reference-b/c`), backpressured, 60 s of virtual
/// time. Divan reports events per second; virtual seconds per wall-clock second = 60 / time.
fn reference_job(unaligned: bool) -> &'static (snapsim::scenario::DataflowModel, u64) {
    static ALIGNED: OnceLock<(snapsim::scenario::DataflowModel, u64)> = OnceLock::new();
    static UNALIGNED: OnceLock<(snapsim::scenario::DataflowModel, u64)> = OnceLock::new();
    let cell = if unaligned { &UNALIGNED } else { &ALIGNED };
    cell.get_or_init(|| {
        let file = if unaligned {
            "flink-reference-c-unaligned-backpressure.json"
        } else {
            "flink-reference-b-aligned-backpressure.json"
        };
        let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        value["duration"] = serde_json::json!("60s");
        let scenario = snapsim::scenario::parse_str(&value.to_string(), file, "bench").unwrap();
        let Model::Dataflow(model) = scenario.model else {
            panic!("a dataflow scenario")
        };
        let run = snapsim::dataflow::run(&model, scenario.seed);
        eprintln!(
            "{file} for 60 s: {} events, {} checkpoints",
            run.events_processed,
            run.checkpoints.len()
        );
        let events = run.events_processed;
        (*model, events)
    })
}

#[divan::bench(sample_count = 9, sample_size = 1)]
fn reference_job_aligned_60s(bencher: Bencher) {
    let (model, events) = reference_job(false);
    bencher
        .counter(ItemsCount::new(*events))
        .bench(|| snapsim::dataflow::run(model, 1).events_processed);
}

#[divan::bench(sample_count = 9, sample_size = 1)]
fn reference_job_unaligned_60s(bencher: Bencher) {
    let (model, events) = reference_job(true);
    bencher
        .counter(ItemsCount::new(*events))
        .bench(|| snapsim::dataflow::run(model, 1).events_processed);
}

/// The same backpressured job (`scenarios/flink-mode-<mode>-backpressure.json`) in every barrier
/// mode: each handler's cost per engine event, side by side.
const MODES: [&str; 6] = [
    "aligned",
    "unaligned",
    "aligned-timeout",
    "at-least-once",
    "chandy-lamport",
    "stop-the-world",
];

fn mode_job(mode: &str) -> (snapsim::scenario::DataflowModel, u64) {
    let path = format!(
        "{}/scenarios/flink-mode-{mode}-backpressure.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let scenario = load_file(path.as_ref()).unwrap();
    let Model::Dataflow(model) = scenario.model else {
        panic!("a dataflow scenario")
    };
    let events = snapsim::dataflow::run(&model, scenario.seed).events_processed;
    (*model, events)
}

#[divan::bench(args = MODES, sample_count = 15, sample_size = 1)]
fn every_barrier_mode(bencher: Bencher, mode: &str) {
    let (model, events) = mode_job(mode);
    bencher
        .counter(ItemsCount::new(events))
        .bench(|| snapsim::dataflow::run(&model, 1).events_processed);
}
