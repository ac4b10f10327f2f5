//! Fidelity: does the simulator agree with Daly's theory where the theory applies?
//!
//! The machine is `scenarios/chart-overhead-daly-machine.json`: one task, a stop-the-world
//! checkpoint of fixed cost δ, a fixed restart cost R, exponential crashes with mean M — exactly
//! the assumptions of Daly (2006). In three regimes, the check values of `snapsim::overhead` scaled to
//! 100 ms units (δ/M = 1/1000, 1/100, 1/10), the checkpoint interval is swept around Daly's optimum
//! with 40 seeds per interval (common random numbers: the same crash times at every interval), and:
//!
//! - the simulated optimum (a parabola through the lowest mean and its neighbours, in log interval)
//!   lies within 20 % of Daly's optimum τ*, and
//! - the overhead there lies within 20 % of Daly's expected overhead at τ*.
//!
//! Both are compared in Daly's terms: τ is computation between checkpoints, so the simulated
//! optimum interval (trigger to trigger) minus δ is compared with τ* (see `figures::overhead`).
//! The tolerances are the issue's; they were not tuned. One systematic difference is expected and
//! visible in the expensive regime: Flink's periodic trigger runs at a fixed rate and is not reset
//! by a recovery, so the first checkpoint after a restart comes after a random part of the
//! interval, where Daly's model computes a full τ first. That puts the optimum some 8 % later and
//! the overhead some 4 % higher when δ = M/10 (a separate Monte Carlo model of both rules agrees).
//! The measured figures are printed
//! (`cargo test --test overhead_fidelity -- --nocapture`).

use serde_json::{Value, json};
use snapsim::figures::overhead::{OverheadSweep, OverheadTheory};
use snapsim::sweep::{JsonPath, Silent};

/// One regime: δ, R (the restart delay; detection adds the 10 µs RPC latency) and M, in seconds.
struct Regime {
    name: &'static str,
    checkpoint_cost_s: f64,
    restart_delay_s: f64,
    mtbf_s: f64,
}

/// Useful work per run: 20 mean times between failures, so about 20 crashes per run and 800 per
/// interval over 40 seeds. Measured over ten independent blocks of 20 seeds, the simulated optimum
/// scatters by ±4-6 % (one standard deviation) around its mean; 40 seeds halve the variance.
const USEFUL_WORK_IN_MTBFS: f64 = 20.0;
const SOURCE_RATE_PER_S: f64 = 1000.0;
const DETECTION_S: f64 = 10e-6;

fn machine(regime: &Regime) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/chart-overhead-daly-machine.json"
    );
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let micros = |seconds: f64| json!(format!("{}us", (seconds * 1e6).round() as u64));
    let records = (USEFUL_WORK_IN_MTBFS * regime.mtbf_s * SOURCE_RATE_PER_S).round() as u64;
    for (path, value) in [
        ("state.sync-base", micros(regime.checkpoint_cost_s)),
        ("restart-strategy.delay", micros(regime.restart_delay_s)),
        ("faults.random[0].task-crashes.mtbf", micros(regime.mtbf_s)),
        ("job.operators.source.records", json!(records)),
        ("job.operators.source.rate_per_s", json!(SOURCE_RATE_PER_S)),
    ] {
        JsonPath::parse(path)
            .unwrap()
            .set(&mut document, value)
            .unwrap();
    }
    document
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sweeps the interval from 0.4× to 2.5× Daly's optimum and checks the two claims.
fn check(regime: Regime) {
    let configured = OverheadTheory {
        checkpoint_cost_s: regime.checkpoint_cost_s,
        restart_cost_s: regime.restart_delay_s + DETECTION_S,
        mtbf_s: regime.mtbf_s,
    };
    let daly_interval_s = configured.daly_optimum_interval_s().unwrap();
    let daly_tau_s = configured.daly_optimum_compute_s().unwrap();
    let daly_overhead = configured.daly_optimum_overhead().unwrap();
    let points = 11;
    let intervals_us: Vec<f64> = (0..points)
        .map(|i| {
            let factor = 0.4 * (2.5f64 / 0.4).powf(i as f64 / (points - 1) as f64);
            (daly_interval_s * factor * 1e6).round()
        })
        .collect();
    let document = machine(&regime);
    let sweep = OverheadSweep {
        document: document.clone(),
        label: format!("daly-machine-{}", regime.name),
        intervals_us,
        seeds: 0..40,
    };
    let outcome = sweep.run(jobs(), &Silent).unwrap();

    // The machine does what it claims: δ, R and M as configured.
    let mut quiet = document.clone();
    quiet.as_object_mut().unwrap().remove("faults");
    let pure = OverheadSweep {
        document: quiet,
        label: format!("daly-machine-{}-no-failures", regime.name),
        intervals_us: vec![(daly_interval_s * 1e6).round()],
        seeds: 0..1,
    }
    .run(1, &Silent)
    .unwrap();
    let run = &pure.sweep.points[0].runs[0];
    let stall_per_checkpoint_s = run.get("overhead").unwrap()
        * run.get("baseline_completion_time_s").unwrap()
        / run.get("checkpoints_completed").unwrap();
    let measured = outcome.theory;
    assert_eq!(measured.mtbf_s, regime.mtbf_s, "one task: M is its MTBF");
    assert!(
        (measured.restart_cost_s - configured.restart_cost_s).abs()
            <= 0.02 * configured.restart_cost_s + 1e-4,
        "{}: measured R = {} s, configured {} s",
        regime.name,
        measured.restart_cost_s,
        configured.restart_cost_s
    );
    // A rate-limited source resumes with its next record at once, so a pause costs it on average
    // half a record gap (0.5 ms at 1000 records/s) less than its length.
    assert!(
        (stall_per_checkpoint_s - regime.checkpoint_cost_s).abs()
            <= 0.02 * regime.checkpoint_cost_s + 0.5 / SOURCE_RATE_PER_S,
        "{}: a checkpoint stalls the job {} s, configured δ = {} s",
        regime.name,
        stall_per_checkpoint_s,
        regime.checkpoint_cost_s
    );

    let optimum = outcome.simulated_optimum.expect("the sweep has a minimum");
    let simulated_tau_s = optimum.x - regime.checkpoint_cost_s;
    let optimum_error = (simulated_tau_s - daly_tau_s) / daly_tau_s;
    let overhead_error = (optimum.y - daly_overhead) / daly_overhead;
    println!(
        "{:>9}: δ = {} s, R = {} s, M = {} s (measured: δ stall {:.4} s, δ end-to-end {:.4} s, \
         R {:.4} s) | optimum τ: simulated {:.3} s, Daly {:.3} s ({:+.1} %) | interval: simulated \
         {:.3} s, Daly {:.3} s | overhead at optimum: simulated {:.2} %, Daly {:.2} % ({:+.1} %){}",
        regime.name,
        regime.checkpoint_cost_s,
        configured.restart_cost_s,
        regime.mtbf_s,
        stall_per_checkpoint_s,
        measured.checkpoint_cost_s,
        measured.restart_cost_s,
        simulated_tau_s,
        daly_tau_s,
        optimum_error * 100.0,
        optimum.x,
        daly_interval_s,
        optimum.y * 100.0,
        daly_overhead * 100.0,
        overhead_error * 100.0,
        if optimum.fitted {
            ""
        } else {
            " (lowest point, no fit)"
        }
    );
    assert!(
        optimum.fitted,
        "{}: the overhead curve must turn upwards on both sides of its minimum",
        regime.name
    );
    assert!(
        optimum_error.abs() < 0.2,
        "{}: simulated optimum τ = {simulated_tau_s:.3} s, Daly τ* = {daly_tau_s:.3} s",
        regime.name
    );
    assert!(
        overhead_error.abs() < 0.2,
        "{}: simulated overhead at the optimum {:.4}, Daly {:.4}",
        regime.name,
        optimum.y,
        daly_overhead
    );
}

#[test]
fn cheap_checkpoints_delta_a_thousandth_of_the_mtbf_match_daly() {
    // Daly's check value (1, 0, 1000): τ* = 44.06, overhead 4.6 %.
    check(Regime {
        name: "cheap",
        checkpoint_cost_s: 0.01,
        restart_delay_s: 0.0,
        mtbf_s: 10.0,
    });
}

#[test]
fn moderate_checkpoints_delta_a_hundredth_of_the_mtbf_match_daly() {
    // Daly's check value (1, 1, 100): τ* = 13.48, overhead 16.7 %.
    check(Regime {
        name: "moderate",
        checkpoint_cost_s: 0.1,
        restart_delay_s: 0.1,
        mtbf_s: 10.0,
    });
}

#[test]
fn expensive_checkpoints_delta_a_tenth_of_the_mtbf_match_daly() {
    // Daly's check value (10, 10, 100): τ* = 38.3, overhead 79 %.
    check(Regime {
        name: "expensive",
        checkpoint_cost_s: 1.0,
        restart_delay_s: 1.0,
        mtbf_s: 10.0,
    });
}
