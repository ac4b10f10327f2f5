//! # snapsim — distributed snapshots, simulated faithfully
//!
//! snapsim teaches distributed snapshots by running them: the Chandy-Lamport algorithm (1985) on
//! arbitrary process graphs, and Apache Flink's checkpointing (coordinator, barriers, aligned,
//! unaligned and at-least-once checkpoints, recovery, savepoints, two-phase-commit sinks) on
//! streaming dataflows, on a deterministic discrete-event engine where the same scenario and seed
//! give byte-identical results on any machine. Every snapshot is checked by an oracle that reads
//! only what happened, and says precisely what broke when something does.
//!
//! Start with a scenario in `scenarios/` and `snapsim run`; then read the modules in the order of
//! the pipeline below.
//!
//! ```text
//! scenario file ─parse+validate─▶ Scenario ─run─▶ event record + snapshots ─▶ oracle ─▶ report
//!                                                    many runs: check, sweep ─▶ plot, figures
//! ```
//!
//! ## Layout
//! - [`engine`]: virtual time, the (time, sequence) event queue, seeded per-component RNG streams,
//!   latency distributions, the run digest. Knows nothing of snapshots.
//! - [`net`]: process-graph channels (FIFO queues, the non-FIFO assumption breaker) and Flink's
//!   network stack settings.
//! - [`topology`]: the process graph, and the job graph expanded into subtasks, slots and key groups.
//! - [`workload`]: what runs between snapshots: bank transfers, token passing, scripts; dataflow
//!   sources; the external systems sinks write to (plain, idempotent, two-phase commit).
//! - [`chandy_lamport`]: the marker algorithm, and the world that runs it on a process graph.
//! - [`dataflow`]: a Flink job on the engine: task loop, network buffers and credits, barrier
//!   handlers, snapshot phases, end of data, recovery.
//! - [`checkpoint`]: the checkpoint coordinator, its Flink options, checkpoint metrics, savepoints.
//! - [`fault`]: fault plans, restart strategies and failover (what happens when things fail).
//! - [`trace`]: the event record — the only thing the oracle is allowed to read.
//! - [`oracle`]: the invariants of DESIGN.md §5, each with a pass/fail and a reason.
//! - [`scenario`]: the JSON file format, validation, and error messages that name the JSON path.
//! - [`report`]: one run end to end (simulate, check, summarise) and its text and JSON forms.
//! - [`output`]: atomic writes of everything that lands in `output/`.
//! - [`check`]: many seeds of one scenario in parallel (`snapsim check`).
//! - [`sweep`]: parameter sweeps with common random numbers (`snapsim sweep`).
//! - [`overhead`]: Young's and Daly's checkpoint-interval model, the theory the charts are checked against.
//! - [`plot`]: charts (PNG and SVG with a bundled font), space-time diagrams, timelines, traces.
//! - [`figures`]: every figure of the book, each made from a scenario (`snapsim figures`).
//!
//! The binary (`src/main.rs`) is only the command line; everything else is this library.

pub mod chandy_lamport;
pub mod check;
pub mod checkpoint;
pub mod dataflow;
pub mod engine;
pub mod fault;
pub mod figures;
pub mod net;
pub mod oracle;
pub mod output;
pub mod overhead;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod topology;
pub mod trace;
pub mod workload;
