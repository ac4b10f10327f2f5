//! The outside world a sink writes to, and what a downstream reader of it sees.
//!
//! - **plain**: every write is visible at once; a record replayed after a restore is written,
//!   and seen, twice.
//! - **idempotent**: writes are upserts by key; replaying a write puts the same value again, so the
//!   final table is right even though the same record was written twice.
//! - **two-phase commit** (`TwoPhaseCommitSinkFunction`, Kafka transactions): writes go into the
//!   subtask's open transaction; at a checkpoint the transaction is pre-committed and remembered as
//!   pending in the snapshot; `notifyCheckpointComplete(n)` commits every pending transaction up to
//!   `n` (notices can be lost: the next one commits the older ones too); on restore the pending
//!   transactions of the restored checkpoint are committed and the others aborted. A transaction
//!   open longer than the transaction timeout is aborted by the external system, and a later commit
//!   of it fails — its records are lost, as with Kafka's `transaction.timeout.ms` (FLINK-23839).
//!   A write into a transaction the timeout aborted while it was still open is refused: Kafka's
//!   coordinator bumps the producer's epoch when it aborts, the next send fails
//!   (`ProducerFencedException`), and the sink task fails; its writes since the last checkpoint are
//!   replayed after the restore, so nothing is lost there.
//!
//! - **file** (Flink's `FileSink`, bulk formats): the same protocol with part files for
//!   transactions — in-progress (open), pending (pre-committed at a checkpoint), finished
//!   (committed: renamed to its visible name); a part file never times out.
//!
//! Readers see either the committed data (`read_committed`, Kafka's isolation level) or everything
//! written (`read_uncommitted`).

use super::dataflow::{Record, SinkDelivery};
use serde::Serialize;
use std::collections::BTreeMap;

/// A write the external system refused: the subtask's open transaction was aborted by the
/// transaction timeout (Kafka fences the producer). The sink task fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fenced {
    /// The aborted transaction.
    pub transaction: u64,
    /// When the timeout aborted it (µs).
    pub aborted_at_us: u64,
}

/// One write to the external system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Write {
    /// What was written.
    pub record: Record,
    /// The sink subtask that wrote it.
    pub subtask: u32,
    /// When (µs).
    pub at_us: u64,
    /// Its transaction (two-phase commit only).
    pub transaction: Option<u64>,
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum TransactionState {
    /// Being written to.
    Open,
    /// Pre-committed at the snapshot of this checkpoint; waiting for its completion.
    PreCommitted { checkpoint: u64 },
    /// Visible to read-committed readers.
    Committed { at_us: u64 },
    /// Discarded; its records are never visible to read-committed readers.
    Aborted { at_us: u64, reason: AbortCause },
}

/// Why a transaction was aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortCause {
    /// The external system aborted it: it stayed open longer than the transaction timeout
    /// (Kafka's `transaction.timeout.ms`); a commit that comes later fails and its records are lost.
    TransactionTimeout,
    /// A restore aborted it: it was not part of the restored checkpoint, and its records are
    /// replayed from the restored offsets.
    NotInRestoredCheckpoint,
    /// The run ended before any checkpoint committed it.
    NeverCommitted,
}

impl std::fmt::Display for AbortCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AbortCause::TransactionTimeout => {
                "transaction timeout: aborted by the external system before the commit came"
            }
            AbortCause::NotInRestoredCheckpoint => {
                "aborted on restore: not part of the restored checkpoint"
            }
            AbortCause::NeverCommitted => "never committed before the end of the run",
        })
    }
}

/// A transaction of a two-phase-commit sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transaction {
    /// Transaction id (global, in opening order).
    pub id: u64,
    /// The sink subtask that owns it.
    pub subtask: u32,
    /// When it was opened (µs).
    pub opened_at_us: u64,
    /// Where it stands.
    pub state: TransactionState,
    /// Records written into it.
    pub writes: u64,
    /// The checkpoint it was pre-committed for.
    pub checkpoint: Option<u64>,
    /// When it was pre-committed (a part file: closed and pending).
    pub pre_committed_at_us: Option<u64>,
}

/// A file sink's part files at the end of a run (Flink's `FileSink`: in-progress → pending →
/// finished; only finished files are visible to a reader of the output directory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartFiles {
    /// The sink operator.
    pub sink: String,
    /// Renamed to their visible name when their checkpoint completed (or at a restore).
    pub finished: usize,
    /// In-progress files a restore threw away (begun after the restored checkpoint).
    pub discarded: usize,
    /// Closed at a checkpoint that had not completed when the run ended.
    pub pending_at_end: usize,
    /// Still being written when the run ended.
    pub in_progress_at_end: usize,
    /// The lives of a few of them.
    pub examples: Vec<PartFile>,
}

/// One part file's life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartFile {
    /// `part-<subtask>-<counter>`.
    pub name: String,
    /// Records written into it.
    pub records: u64,
    /// Opened (in-progress) at the subtask's first record after the previous checkpoint (µs).
    pub in_progress_at_us: u64,
    /// Closed and pending at this subtask's snapshot (µs).
    pub pending_at_us: Option<u64>,
    /// The checkpoint it became pending in.
    pub checkpoint: Option<u64>,
    /// Renamed to its finished name (µs).
    pub finished_at_us: Option<u64>,
    /// Thrown away (µs).
    pub discarded_at_us: Option<u64>,
    /// Why it never finished.
    pub discarded_because: Option<AbortCause>,
}

/// The external system behind one sink operator.
#[derive(Clone, Debug, Serialize)]
pub struct ExternalSink {
    /// How the sink writes.
    pub delivery: SinkDelivery,
    /// Transactions older than this are aborted by the external system.
    pub transaction_timeout_us: Option<u64>,
    /// Every write, in order (empty when `keeps_writes` is false).
    pub writes: Vec<Write>,
    /// Every transaction, by id.
    pub transactions: Vec<Transaction>,
    /// Log every write in `writes` (true unless a run keeps statistics only, see
    /// [`crate::dataflow::RunDetail`]).
    #[serde(skip)]
    pub keeps_writes: bool,
    #[serde(skip)]
    open: BTreeMap<u32, u64>,
    /// Every transaction before this id is committed or aborted, which is final: the searches for
    /// pending transactions start here instead of at the first transaction ever opened (a long
    /// run with frequent checkpoints opens hundreds of thousands).
    #[serde(skip)]
    finished_before: usize,
}

impl ExternalSink {
    /// An empty external system for a sink.
    pub fn new(delivery: SinkDelivery, transaction_timeout_us: Option<u64>) -> ExternalSink {
        ExternalSink {
            delivery,
            transaction_timeout_us,
            writes: Vec::new(),
            transactions: Vec::new(),
            keeps_writes: true,
            open: BTreeMap::new(),
            finished_before: 0,
        }
    }

    /// The transactions that may still be open or pre-committed (see `finished_before`).
    fn unfinished_suffix(&mut self) -> &[Transaction] {
        while self
            .transactions
            .get(self.finished_before)
            .is_some_and(|t| !is_unfinished(&t.state))
        {
            self.finished_before += 1;
        }
        &self.transactions[self.finished_before..]
    }

    /// A sink subtask writes a record — unless its open transaction has outlived the transaction
    /// timeout: then the external system has aborted it, and the write is refused.
    pub fn write(&mut self, subtask: u32, record: Record, now_us: u64) -> Result<(), Fenced> {
        if let Some(&id) = self.open.get(&subtask)
            && let Some(at_us) = timed_out_at_us(
                &self.transactions[id as usize],
                self.transaction_timeout_us,
                now_us,
            )
        {
            self.transactions[id as usize].state = TransactionState::Aborted {
                at_us,
                reason: AbortCause::TransactionTimeout,
            };
            self.open.remove(&subtask);
            return Err(Fenced {
                transaction: id,
                aborted_at_us: at_us,
            });
        }
        let transaction = self.delivery.is_transactional().then(|| {
            let id = match self.open.get(&subtask) {
                Some(&id) => id,
                None => {
                    let id = self.transactions.len() as u64;
                    self.transactions.push(Transaction {
                        id,
                        subtask,
                        opened_at_us: now_us,
                        state: TransactionState::Open,
                        writes: 0,
                        checkpoint: None,
                        pre_committed_at_us: None,
                    });
                    self.open.insert(subtask, id);
                    id
                }
            };
            self.transactions[id as usize].writes += 1;
            id
        });
        if self.keeps_writes {
            self.writes.push(Write {
                record,
                subtask,
                at_us: now_us,
                transaction,
            });
        }
        Ok(())
    }

    /// At the snapshot of `checkpoint`: the open transaction (if any) is pre-committed. Returns every
    /// transaction of this subtask still waiting for a commit — what goes into the snapshot.
    pub fn pre_commit(&mut self, subtask: u32, checkpoint: u64, now_us: u64) -> Vec<u64> {
        if let Some(id) = self.open.remove(&subtask) {
            let transaction = &mut self.transactions[id as usize];
            transaction.state = TransactionState::PreCommitted { checkpoint };
            transaction.checkpoint = Some(checkpoint);
            transaction.pre_committed_at_us = Some(now_us);
        }
        self.unfinished_suffix()
            .iter()
            .filter(|t| {
                t.subtask == subtask && matches!(t.state, TransactionState::PreCommitted { .. })
            })
            .map(|t| t.id)
            .collect()
    }

    /// `notifyCheckpointComplete(checkpoint)`: commit every pending transaction up to it.
    pub fn commit_up_to(&mut self, subtask: u32, checkpoint: u64, now_us: u64) {
        let ids: Vec<u64> = self
            .unfinished_suffix()
            .iter()
            .filter(|t| t.subtask == subtask && matches!(t.state, TransactionState::PreCommitted { checkpoint: c } if c <= checkpoint))
            .map(|t| t.id)
            .collect();
        for id in ids {
            self.commit(id, now_us);
        }
    }

    /// Commits one transaction — unless the external system has already timed it out.
    pub fn commit(&mut self, id: u64, now_us: u64) {
        let timeout_us = self.transaction_timeout_us;
        let transaction = &mut self.transactions[id as usize];
        if is_unfinished(&transaction.state) {
            transaction.state = match timed_out_at_us(transaction, timeout_us, now_us) {
                Some(at_us) => TransactionState::Aborted {
                    at_us,
                    reason: AbortCause::TransactionTimeout,
                },
                None => TransactionState::Committed { at_us: now_us },
            };
        }
    }

    /// On restore of a sink subtask: commit the pending transactions recorded in the restored
    /// snapshot, abort every other unfinished transaction of the subtask.
    pub fn restore(&mut self, subtask: u32, pending: &[u64], now_us: u64) {
        for &id in pending {
            self.commit(id, now_us);
        }
        self.open.remove(&subtask);
        let timeout_us = self.transaction_timeout_us;
        for transaction in self
            .transactions
            .iter_mut()
            .filter(|t| t.subtask == subtask && is_unfinished(&t.state))
        {
            abort(
                transaction,
                timeout_us,
                now_us,
                AbortCause::NotInRestoredCheckpoint,
            );
        }
    }

    /// The subtask crashed: its open transaction will never be committed by this attempt (it is
    /// aborted on restore, or by the external system's timeout).
    pub fn crash(&mut self, subtask: u32) {
        self.open.remove(&subtask);
    }

    /// At the end of the run: transactions still open or pending are never committed.
    pub fn close(&mut self, now_us: u64) {
        let timeout_us = self.transaction_timeout_us;
        for transaction in &mut self.transactions {
            if is_unfinished(&transaction.state) {
                abort(transaction, timeout_us, now_us, AbortCause::NeverCommitted);
            }
        }
        self.open.clear();
    }

    /// What a read-committed reader sees: for plain and idempotent sinks every write, for a
    /// two-phase-commit sink only writes of committed transactions.
    pub fn read_committed(&self) -> Vec<&Write> {
        self.writes
            .iter()
            .filter(|w| match w.transaction {
                None => true,
                Some(id) => matches!(
                    self.transactions[id as usize].state,
                    TransactionState::Committed { .. }
                ),
            })
            .collect()
    }

    /// What a read-uncommitted reader sees: every write.
    pub fn read_uncommitted(&self) -> Vec<&Write> {
        self.writes.iter().collect()
    }

    /// A file sink's name for a part file: `part-<subtask>-<counter>`, the counter counting the
    /// subtask's part files from 0 (Flink: `part-<uid>-<subtask>-<counter>`).
    pub fn part_file_name(&self, id: u64) -> String {
        let transaction = &self.transactions[id as usize];
        let counter = self.transactions[..id as usize]
            .iter()
            .filter(|t| t.subtask == transaction.subtask)
            .count();
        format!("part-{}-{counter}", transaction.subtask)
    }

    /// The part files of a file sink at the end of the run: how many ended in each state, and the
    /// life of a few (the first finished ones, and every discarded or unfinished one up to a limit).
    pub fn part_files(&self, sink: &str) -> PartFiles {
        let mut files = PartFiles {
            sink: sink.to_string(),
            finished: 0,
            discarded: 0,
            pending_at_end: 0,
            in_progress_at_end: 0,
            examples: Vec::new(),
        };
        let (mut finished_shown, mut others_shown) = (0, 0);
        for transaction in &self.transactions {
            let (finished_at_us, discarded) = match &transaction.state {
                TransactionState::Committed { at_us } => (Some(*at_us), None),
                TransactionState::Aborted { at_us, reason } => (None, Some((*at_us, *reason))),
                TransactionState::Open | TransactionState::PreCommitted { .. } => (None, None),
            };
            let show = match discarded {
                None => {
                    files.finished += 1;
                    finished_shown += 1;
                    finished_shown <= 3
                }
                Some((_, AbortCause::NeverCommitted)) => {
                    if transaction.pre_committed_at_us.is_some() {
                        files.pending_at_end += 1;
                    } else {
                        files.in_progress_at_end += 1;
                    }
                    others_shown += 1;
                    others_shown <= 5
                }
                Some(_) => {
                    files.discarded += 1;
                    others_shown += 1;
                    others_shown <= 5
                }
            };
            if show {
                files.examples.push(PartFile {
                    name: self.part_file_name(transaction.id),
                    records: transaction.writes,
                    in_progress_at_us: transaction.opened_at_us,
                    pending_at_us: transaction.pre_committed_at_us,
                    checkpoint: transaction.checkpoint,
                    finished_at_us,
                    discarded_at_us: discarded
                        .filter(|(_, cause)| *cause != AbortCause::NeverCommitted)
                        .map(|(at, _)| at),
                    discarded_because: discarded.map(|(_, cause)| cause),
                });
            }
        }
        files
    }

    /// The table an idempotent sink leaves: the last value written for each key.
    pub fn upserted(&self) -> BTreeMap<u32, i64> {
        let mut table = BTreeMap::new();
        for write in &self.writes {
            table.insert(write.record.key, write.record.value);
        }
        table
    }
}

/// Open or pre-committed: neither committed nor aborted yet.
fn is_unfinished(state: &TransactionState) -> bool {
    matches!(
        state,
        TransactionState::Open | TransactionState::PreCommitted { .. }
    )
}

/// When the external system aborted the transaction by its timeout, if that instant has passed.
fn timed_out_at_us(transaction: &Transaction, timeout_us: Option<u64>, now_us: u64) -> Option<u64> {
    let at_us = transaction.opened_at_us.saturating_add(timeout_us?);
    (at_us < now_us).then_some(at_us)
}

/// Aborts an unfinished transaction for `cause` now — or, if the external system's timeout struck
/// first, at that instant for the timeout.
fn abort(transaction: &mut Transaction, timeout_us: Option<u64>, now_us: u64, cause: AbortCause) {
    transaction.state = match timed_out_at_us(transaction, timeout_us, now_us) {
        Some(at_us) => TransactionState::Aborted {
            at_us,
            reason: AbortCause::TransactionTimeout,
        },
        None => TransactionState::Aborted {
            at_us: now_us,
            reason: cause,
        },
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: u64) -> Record {
        Record {
            key: 1,
            source_task: 0,
            offset,
            value: offset as i64,
            created_at_us: 0,
        }
    }

    #[test]
    fn readers_see_only_committed_transactions_and_a_missed_notice_is_made_up_by_the_next() {
        let mut sink = ExternalSink::new(SinkDelivery::TwoPhaseCommit, None);
        sink.write(0, record(0), 10).unwrap();
        assert_eq!(sink.pre_commit(0, 1, 0), vec![0]);
        sink.write(0, record(1), 20).unwrap();
        assert_eq!(
            sink.pre_commit(0, 2, 0),
            vec![0, 1],
            "checkpoint 1's notice was lost: still pending"
        );
        assert!(sink.read_committed().is_empty());
        assert_eq!(sink.read_uncommitted().len(), 2);
        sink.commit_up_to(0, 2, 30);
        assert_eq!(
            sink.read_committed().len(),
            2,
            "the notice for 2 commits 1 as well"
        );
    }

    #[test]
    fn restore_commits_what_the_checkpoint_holds_and_aborts_the_rest() {
        let mut sink = ExternalSink::new(SinkDelivery::TwoPhaseCommit, None);
        sink.write(0, record(0), 10).unwrap();
        let pending = sink.pre_commit(0, 1, 0);
        sink.write(0, record(1), 20).unwrap(); // after the checkpoint: replayed after the restore
        sink.crash(0);
        sink.restore(0, &pending, 30);
        let committed: Vec<u64> = sink
            .read_committed()
            .iter()
            .map(|w| w.record.offset)
            .collect();
        assert_eq!(committed, [0]);
    }

    #[test]
    fn a_write_into_a_transaction_the_timeout_aborted_is_refused() {
        // Kafka aborts a transaction open longer than its timeout and fences the producer: the
        // next write fails (and the sink task with it), instead of going into a dead transaction.
        let mut sink = ExternalSink::new(SinkDelivery::TwoPhaseCommit, Some(100));
        sink.write(0, record(0), 0).unwrap();
        sink.write(0, record(1), 99).unwrap();
        assert_eq!(
            sink.write(0, record(2), 150),
            Err(Fenced {
                transaction: 0,
                aborted_at_us: 100
            })
        );
        assert_eq!(
            sink.transactions[0].state,
            TransactionState::Aborted {
                at_us: 100,
                reason: AbortCause::TransactionTimeout
            }
        );
        assert_eq!(
            sink.read_uncommitted().len(),
            2,
            "the refused write is not written"
        );
        // A restarted subtask opens a fresh transaction.
        sink.write(0, record(2), 200).unwrap();
        assert_eq!(sink.transactions.len(), 2);
    }

    #[test]
    fn a_transaction_outliving_its_timeout_is_lost_when_finally_committed() {
        let mut sink = ExternalSink::new(SinkDelivery::TwoPhaseCommit, Some(100));
        sink.write(0, record(0), 0).unwrap();
        sink.pre_commit(0, 1, 0);
        sink.commit_up_to(0, 1, 500);
        assert!(sink.read_committed().is_empty());
        assert_eq!(
            sink.transactions[0].state,
            TransactionState::Aborted {
                at_us: 100,
                reason: AbortCause::TransactionTimeout
            },
            "the broker aborted it at open + timeout, long before the commit came"
        );
    }

    #[test]
    fn an_outage_longer_than_the_timeout_loses_what_the_restored_checkpoint_holds() {
        // Pre-committed for checkpoint 1, then the job is down until 1000 µs: the restore asks
        // for the commit of a transaction the broker aborted at 100 µs.
        let mut sink = ExternalSink::new(SinkDelivery::TwoPhaseCommit, Some(100));
        sink.write(0, record(0), 0).unwrap();
        let pending = sink.pre_commit(0, 1, 0);
        sink.write(0, record(1), 20).unwrap();
        sink.crash(0);
        sink.restore(0, &pending, 1000);
        assert!(
            sink.read_committed().is_empty(),
            "checkpoint 1's records are lost"
        );
        let causes: Vec<_> = sink
            .transactions
            .iter()
            .map(|t| match &t.state {
                TransactionState::Aborted { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            causes,
            [
                Some(AbortCause::TransactionTimeout),
                Some(AbortCause::TransactionTimeout)
            ],
            "both timed out before the restore could commit or abort them"
        );
    }

    #[test]
    fn a_file_sinks_part_files_go_in_progress_pending_finished_or_are_discarded() {
        let mut sink = ExternalSink::new(SinkDelivery::File, None);
        sink.write(0, record(0), 10).unwrap();
        let pending = sink.pre_commit(0, 1, 20);
        sink.commit_up_to(0, 1, 30); // part-0-0 finished
        sink.write(0, record(1), 40).unwrap();
        let pending_2 = sink.pre_commit(0, 2, 50); // part-0-1 pending for checkpoint 2
        sink.write(0, record(2), 60).unwrap(); // part-0-2 in progress
        sink.crash(0);
        sink.restore(0, &pending_2, 70); // restore checkpoint 2: part-0-1 finished, part-0-2 gone
        assert_eq!(pending, [0]);
        let files = sink.part_files("sink");
        assert_eq!((files.finished, files.discarded), (2, 1));
        let names: Vec<&str> = files.examples.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["part-0-0", "part-0-1", "part-0-2"]);
        assert_eq!(files.examples[1].pending_at_us, Some(50));
        assert_eq!(files.examples[1].finished_at_us, Some(70));
        assert_eq!(files.examples[2].discarded_at_us, Some(70));
        let visible: Vec<u64> = sink
            .read_committed()
            .iter()
            .map(|w| w.record.offset)
            .collect();
        assert_eq!(
            visible,
            [0, 1],
            "a reader of finished files never sees part-0-2"
        );
    }

    #[test]
    fn an_idempotent_sink_keeps_the_last_value_per_key() {
        let mut sink = ExternalSink::new(SinkDelivery::Idempotent, None);
        sink.write(0, record(3), 0).unwrap();
        sink.write(0, record(3), 1).unwrap();
        assert_eq!(sink.upserted().get(&1), Some(&3));
        assert_eq!(
            sink.read_committed().len(),
            2,
            "the write happened twice; the table is the same"
        );
    }
}
