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
//! ## Protocols as state machines
//! Every protocol is a small state machine that receives inputs and returns actions — a task's
//! barrier handler ([`checkpoint::barrier`], one file per mode: aligned, unaligned,
//! aligned-with-timeout, at-least-once, Chandy-Lamport markers, stop-the-world), the marker rules
//! of a Chandy-Lamport process ([`chandy_lamport::process`]), the two-phase-commit and restore
//! rules. The worlds ([`dataflow`], [`chandy_lamport`]) execute the actions with time, buffers and
//! CPU; unit tests drive the machines directly. A protocol state machine never reads the world; the
//! world never decides protocol. `ARCHITECTURE.md` has the map of every file.
//!
//! ## Layout
//! - [`engine`]: virtual time, the (time, sequence) event queue, seeded per-component RNG streams,
//!   latency distributions, the run digest. Knows nothing of snapshots.
//! - [`net`]: process-graph channels (FIFO queues, the non-FIFO assumption breaker) and Flink's
//!   network stack settings.
//! - [`topology`]: the process graph, and the job graph expanded into subtasks, slots and key groups.
//! - [`workload`]: what runs between snapshots: bank transfers, token passing, scripts; dataflow
//!   sources and keyed state; the external systems sinks write to (plain, idempotent, two-phase
//!   commit).
//! - [`chandy_lamport`]: the marker rules of one process, and the world that runs them on a process
//!   graph.
//! - [`checkpoint`]: Flink's checkpoint mechanism — the barrier handlers, the checkpoint
//!   coordinator, the commit and restore rules, their Flink options, checkpoint metrics,
//!   savepoints.
//! - [`dataflow`]: a Flink job on the engine (the world, one concept per file: task loop, network
//!   buffers and credits, barriers, channel state, snapshot phases, coordinator, end of data,
//!   faults, recovery), and what a run returns.
//! - [`fault`]: fault plans and restart strategies (what happens when things fail).
//! - [`trace`]: the event record — with the run's results, the only thing the oracle reads.
//! - [`oracle`]: the invariants (listed in `ARCHITECTURE.md`), each with a pass/fail and a reason.
//! - [`scenario`]: the JSON file format, validation, and error messages that name the JSON path.
//! - [`expectation`]: what a scenario's lesson must show (its `expect` list), checked after the
//!   oracle.
//! - [`deployment`]: a scenario that starts from another scenario's savepoint (upgrades, rescales,
//!   blue-green), run and mapped when it is loaded.
//! - [`cos418`]: the COS418 Chandy-Lamport assignment's test files (`.top`, `.events`, `.snap`)
//!   imported as a scenario and compared (`snapsim import cos418`).
//! - [`explore`]: every interleaving of a small system, checked, with shortest counterexamples
//!   (`snapsim explore`).
//! - [`report`]: one run end to end (simulate, check, summarise) and its text and JSON forms.
//! - [`output`]: atomic writes of everything that lands in `output/`.
//! - [`check`]: many seeds of one scenario in parallel (`snapsim check`).
//! - [`sweep`]: parameter sweeps with common random numbers (`snapsim sweep`).
//! - [`shard`]: a check or sweep split by seed over many machines (`--shard K/N`), and the pieces
//!   merged back byte for byte (`snapsim merge`).
//! - [`overhead`]: Young's and Daly's checkpoint-interval model, the theory the charts are checked against.
//! - [`plot`]: charts (PNG and SVG with a bundled font), space-time diagrams, timelines, traces.
//! - [`figures`]: every figure of the book, each made from a scenario (`snapsim figures`).
//!
//! The binary (`src/main.rs`) is only the command line; everything else is this library.

pub mod chandy_lamport;
pub mod check;
pub mod checkpoint;
pub mod cos418;
pub mod dataflow;
pub mod deployment;
pub mod engine;
pub mod expectation;
pub mod explore;
pub mod fault;
pub mod figures;
pub mod interrupt;
pub mod net;
pub mod oracle;
pub mod output;
pub mod overhead;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod shard;
pub mod sweep;
pub mod topology;
pub mod trace;
pub mod ui;
pub mod workload;
