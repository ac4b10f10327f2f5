//! RocksDB's files, as incremental checkpoints see them.
//!
//! RocksDB keeps writes in a memtable; a checkpoint flushes it into a new level-0 SST file holding
//! every key written since the last flush, once each. When `level0_file_num_compaction_trigger` L0
//! files pile up, a compaction merges them with level 1 into new files holding every live key once.
//! Flink's incremental checkpoint (`RocksIncrementalSnapshotStrategy`) uploads only the SST files
//! that the last *completed* checkpoint did not already have in storage; the rest are referenced.
//! So a checkpoint uploads the keys changed since the last flush — and, after a compaction, the whole
//! compacted level again. The checkpoint's full size is every file it references, overlapping
//! versions of a key included (space amplification), not the number of live keys.
//!
//! SST files are compressed (Flink's default `state.backend.rocksdb.compression.per.level` is
//! SNAPPY); how much depends on the values, so each keyed operator states its *compressibility*:
//! compressed bytes per raw byte (1.0: incompressible; counters and repeated strings compress far
//! better). The model leaves out: block and index overhead, bloom filters, the MANIFEST and other
//! small files, compaction running in the background (here it happens at the checkpoint that
//! triggers it), and levels beyond 1.

use std::collections::{BTreeMap, BTreeSet};

/// One SST file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SstFile {
    /// Unique within the instance.
    pub id: u64,
    /// Key-value entries in it.
    pub entries: u64,
    /// Its size in storage (compressed).
    pub bytes: u64,
}

/// What one checkpoint of a RocksDB instance weighs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncrementalSnapshot {
    /// Every file the checkpoint references: Flink's full checkpoint data size.
    pub full_bytes: u64,
    /// The files it uploads: Flink's checkpointed data size.
    pub uploaded_bytes: u64,
    /// The files it references, `(id, bytes)`: shared with other checkpoints that reference them
    /// too (Flink's shared state registry keeps a file while any retained checkpoint does).
    pub files: Vec<(u64, u64)>,
}

/// A keyed operator's RocksDB instance: memtable, level 0 and level 1.
#[derive(Clone, Debug)]
pub struct RocksDbFiles {
    entry_raw_bytes: u64,
    compressibility: f64,
    compaction_trigger: usize,
    memtable: BTreeSet<u32>,
    live_keys: BTreeSet<u32>,
    level0: Vec<SstFile>,
    level1: Vec<SstFile>,
    next_id: u64,
    /// Files each pending checkpoint references, by checkpoint id.
    pending: BTreeMap<u64, Vec<u64>>,
    /// Files in storage that the last completed checkpoint referenced.
    confirmed: BTreeSet<u64>,
}

impl RocksDbFiles {
    /// An empty instance whose entries are `entry_raw_bytes` each before compression.
    pub fn new(entry_raw_bytes: u32, compressibility: f64, compaction_trigger: u32) -> Self {
        RocksDbFiles {
            entry_raw_bytes: u64::from(entry_raw_bytes),
            compressibility: compressibility.clamp(0.01, 1.0),
            compaction_trigger: compaction_trigger.max(1) as usize,
            memtable: BTreeSet::new(),
            live_keys: BTreeSet::new(),
            level0: Vec::new(),
            level1: Vec::new(),
            next_id: 0,
            pending: BTreeMap::new(),
            confirmed: BTreeSet::new(),
        }
    }

    /// A write of `key` (a put: RocksDB keeps the newest version).
    pub fn write(&mut self, key: u32) {
        self.memtable.insert(key);
    }

    fn file(&mut self, entries: u64) -> SstFile {
        self.next_id += 1;
        let raw = entries * self.entry_raw_bytes;
        SstFile {
            id: self.next_id,
            entries,
            bytes: (raw as f64 * self.compressibility).ceil() as u64,
        }
    }

    /// Checkpoint `checkpoint`: flush the memtable to level 0, compact if level 0 is full, and say
    /// what the checkpoint references and uploads.
    pub fn checkpoint(&mut self, checkpoint: u64) -> IncrementalSnapshot {
        if !self.memtable.is_empty() {
            let entries = self.memtable.len() as u64;
            self.live_keys.append(&mut self.memtable);
            let file = self.file(entries);
            self.level0.push(file);
        }
        if self.level0.len() >= self.compaction_trigger {
            // Level 0 and level 1 merge into one sorted run holding every live key once.
            self.level0.clear();
            let entries = self.live_keys.len() as u64;
            let file = self.file(entries);
            self.level1 = vec![file];
        }
        let files: Vec<&SstFile> = self.level0.iter().chain(&self.level1).collect();
        let full_bytes = files.iter().map(|f| f.bytes).sum();
        let uploaded_bytes = files
            .iter()
            .filter(|f| !self.confirmed.contains(&f.id))
            .map(|f| f.bytes)
            .sum();
        let ids = files.iter().map(|f| f.id).collect();
        let referenced = files.iter().map(|f| (f.id, f.bytes)).collect();
        self.pending.insert(checkpoint, ids);
        IncrementalSnapshot {
            full_bytes,
            uploaded_bytes,
            files: referenced,
        }
    }

    /// `notifyCheckpointComplete(checkpoint)`: its files are the base of the next upload.
    pub fn confirm(&mut self, checkpoint: u64) {
        if let Some(ids) = self.pending.remove(&checkpoint) {
            self.confirmed = ids.into_iter().collect();
        }
        self.pending.retain(|&id, _| id > checkpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_uploads_the_flushed_keys_and_a_compaction_uploads_everything_again() {
        // 100 keys of 20 bytes, compressing to half; compaction after 3 level-0 files.
        let mut db = RocksDbFiles::new(20, 0.5, 3);
        (0..100).for_each(|k| db.write(k));
        let first = db.checkpoint(1);
        assert_eq!((first.full_bytes, first.uploaded_bytes), (1000, 1000));
        assert_eq!(first.files, vec![(1, 1000)], "one file, id 1");
        db.confirm(1);
        // Ten keys change, one of them twice: a file of 10 entries.
        (0..10).chain([3]).for_each(|k| db.write(k));
        let second = db.checkpoint(2);
        assert_eq!(second.uploaded_bytes, 100);
        assert_eq!(
            second.full_bytes, 1100,
            "the old versions are still in the first file"
        );
        // Not confirmed: checkpoint 3 uploads checkpoint 2's file again, and its own.
        (0..5).for_each(|k| db.write(k));
        let third = db.checkpoint(3);
        assert_eq!(
            (third.full_bytes, third.uploaded_bytes, third.files.len()),
            (1000, 1000, 1),
            "level 0 is full: one compacted file of the 100 live keys, all of it new"
        );
        db.confirm(3);
        db.write(7);
        assert_eq!(db.checkpoint(4).uploaded_bytes, 10);
    }

    #[test]
    fn an_unconfirmed_checkpoints_files_are_uploaded_again() {
        let mut db = RocksDbFiles::new(10, 1.0, 10);
        (0..50).for_each(|k| db.write(k));
        db.checkpoint(1);
        db.confirm(1);
        (0..5).for_each(|k| db.write(k));
        assert_eq!(db.checkpoint(2).uploaded_bytes, 50);
        (5..10).for_each(|k| db.write(k));
        assert_eq!(
            db.checkpoint(3).uploaded_bytes,
            100,
            "checkpoint 2 never completed"
        );
    }
}
