//! Following a run's record on a second core: the simulation writes the record, and a
//! [`RecordReader`] (the oracle) reads it on a thread of its own, batch by batch.
//!
//! The reader sees exactly the calls [`run_read_by`] would make, in the same order — every entry
//! at its position, each completed snapshot right after the entry that completed it — so what it
//! concludes is the same; only *when* it reads changes. Nothing flows back into the simulation,
//! so the run (and its digest) cannot depend on the thread's timing. On a machine with two cores
//! the oracle's work then overlaps the simulation's instead of following it, and the two no longer
//! evict each other's data from one core's caches.
//!
//! This is hand-written rather than a crate's pipeline because it is a few dozen lines over
//! `std::sync::mpsc`: batches of entries go one way, emptied batches come back to be reused.

use super::{ChandyLamportVariant, GlobalSnapshot, ProcessGraphRun, RecordReader, run_read_by};
use crate::scenario::ProcessGraphModel;
use crate::trace::ProcessEvent;
use std::sync::mpsc;

/// Entries per batch: large enough that handing a batch over costs nothing per entry, small
/// enough (256 KiB) that a batch is still in the shared cache when the reader takes it.
const BATCH_ENTRIES: usize = 8192;
/// Batches in flight at most: the simulation waits rather than run ahead without bound.
const BATCHES_IN_FLIGHT: usize = 4;

/// A stretch of the record: consecutive entries from `first_position`, and the snapshots
/// completed among them, each with how many of the batch's entries come before it.
struct Batch {
    first_position: usize,
    entries: Vec<ProcessEvent>,
    snapshots: Vec<(usize, Box<GlobalSnapshot>)>,
}

impl Batch {
    fn new(first_position: usize) -> Batch {
        Batch {
            first_position,
            entries: Vec::with_capacity(BATCH_ENTRIES),
            snapshots: Vec::new(),
        }
    }

    /// Makes the reader's calls, in the record's order.
    fn read_into(&mut self, reader: &mut impl RecordReader) {
        let mut snapshots = self.snapshots.drain(..).peekable();
        for (offset, event) in self.entries.iter().enumerate() {
            while let Some((_, snapshot)) = snapshots.next_if(|(before, _)| *before == offset) {
                reader.snapshot_completed(&snapshot);
            }
            reader.entry(self.first_position + offset, event);
        }
        for (_, snapshot) in snapshots {
            reader.snapshot_completed(&snapshot);
        }
        self.entries.clear();
    }
}

/// Collects the calls into batches and hands each full batch to the reader's thread.
struct Forwarder {
    batch: Batch,
    full: mpsc::SyncSender<Batch>,
    emptied: mpsc::Receiver<Batch>,
}

impl Forwarder {
    fn hand_over(&mut self) {
        let first_position = self.batch.first_position + self.batch.entries.len();
        let next = match self.emptied.try_recv() {
            Ok(mut reused) => {
                reused.first_position = first_position;
                reused
            }
            Err(_) => Batch::new(first_position),
        };
        let full = std::mem::replace(&mut self.batch, next);
        // The reader's thread only stops early by panicking; its panic is re-raised at the join.
        let _ = self.full.send(full);
    }
}

impl RecordReader for Forwarder {
    fn entry(&mut self, position: usize, event: &ProcessEvent) {
        debug_assert_eq!(
            position,
            self.batch.first_position + self.batch.entries.len(),
            "every entry of the record counts"
        );
        self.batch.entries.push(*event);
        if self.batch.entries.len() == BATCH_ENTRIES {
            self.hand_over();
        }
    }
    fn snapshot_completed(&mut self, snapshot: &GlobalSnapshot) {
        let before = self.batch.entries.len();
        self.batch
            .snapshots
            .push((before, Box::new(snapshot.clone())));
    }
}

/// [`run_read_by`], with `reader` on a second thread when the machine has a core to spare and the
/// caller is not already one of rayon's workers (`check` and `sweep` keep every core busy with
/// runs of their own; there the reader stays on the run's thread).
pub fn run_read_beside<R: RecordReader + Send>(
    model: &ProcessGraphModel,
    seed: u64,
    variant: ChandyLamportVariant,
    keep_record: bool,
    reader: &mut R,
) -> ProcessGraphRun {
    let simulate =
        |reader: &mut dyn RecordReader| run_read_by(model, seed, variant, keep_record, reader);
    let spare_core = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if !spare_core || rayon::current_thread_index().is_some() {
        return simulate(reader);
    }
    on_thread(reader, simulate)
}

/// Runs `simulate` on this thread with a [`Forwarder`] as its reader, and `reader` on a thread of
/// its own, fed with the forwarder's batches.
fn on_thread<R: RecordReader + Send, T>(
    reader: &mut R,
    simulate: impl FnOnce(&mut dyn RecordReader) -> T,
) -> T {
    std::thread::scope(|scope| {
        let (full_sender, full) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let (emptied_sender, emptied) = mpsc::channel::<Batch>();
        let reading = scope.spawn(move || {
            for mut batch in full {
                batch.read_into(reader);
                let _ = emptied_sender.send(batch);
            }
        });
        let mut forwarder = Forwarder {
            batch: Batch::new(0),
            full: full_sender,
            emptied,
        };
        let result = simulate(&mut forwarder);
        forwarder.hand_over();
        drop(forwarder);
        if let Err(panic) = reading.join() {
            std::panic::resume_unwind(panic);
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Model, parse_str};

    /// Writes down every call, in order.
    #[derive(Default)]
    struct Transcript {
        entries: Vec<(usize, ProcessEvent)>,
        snapshots: Vec<(usize, GlobalSnapshot)>,
    }

    impl RecordReader for Transcript {
        fn entry(&mut self, position: usize, event: &ProcessEvent) {
            self.entries.push((position, *event));
        }
        fn snapshot_completed(&mut self, snapshot: &GlobalSnapshot) {
            self.snapshots.push((self.entries.len(), snapshot.clone()));
        }
    }

    /// A reader on its own thread is told exactly what it would be told on the run's thread: the
    /// same entries at the same positions, each snapshot after the same entry — across many
    /// batches (64 processes, 4032 channels, a snapshot every 15.6 ms) and for a lossy ring.
    #[test]
    fn a_reader_on_a_thread_of_its_own_reads_the_same_record_in_the_same_order() {
        let bank = include_str!("../../benches/bank-complete-64.json")
            .replace("\"max_transfers\": 1000000", "\"max_transfers\": 5000");
        let lossy = include_str!("../../scenarios/cl-lossy-channel.json");
        for (label, text) in [("bank", bank.as_str()), ("lossy", lossy)] {
            let scenario = parse_str(text, label, label).unwrap();
            let Model::ProcessGraph(model) = &scenario.model else {
                panic!("{label}: a process graph")
            };
            let (mut inline, mut beside) = (Transcript::default(), Transcript::default());
            let a = run_read_by(model, scenario.seed, model.variant, false, &mut inline);
            let b = on_thread(&mut beside, |reader| {
                run_read_by(model, scenario.seed, model.variant, false, reader)
            });
            assert!(inline.entries.len() > 3 * BATCH_ENTRIES || label == "lossy");
            assert!(!inline.snapshots.is_empty(), "{label}: snapshots completed");
            assert!(inline.entries == beside.entries, "{label}: entries differ");
            assert!(
                inline.snapshots == beside.snapshots,
                "{label}: snapshots differ"
            );
            assert_eq!(a.snapshots, b.snapshots, "{label}");
        }
    }
}
