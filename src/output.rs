//! Writing results without ever leaving a half-written file.
//!
//! Every file under `output/` is written to a temporary file in the same directory and then
//! renamed over the target. A rename within one directory is atomic on POSIX file systems, so a
//! reader (or a run interrupted by Ctrl-C) sees either the old file or the new one, never a torn one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that makes every output write fail with "no space left on device"
/// once this many bytes have been written in the process: how the tests show what a full disk
/// leaves behind without mounting a small file system.
pub const INJECT_FULL_DISK_AFTER_BYTES: &str = "SNAPSIM_INJECT_FULL_DISK_AFTER_BYTES";

/// Bytes the process may still write before the injected full disk (`u64::MAX`: no injection).
fn write_allowance() -> &'static AtomicU64 {
    static ALLOWANCE: OnceLock<AtomicU64> = OnceLock::new();
    ALLOWANCE.get_or_init(|| {
        let bytes = std::env::var(INJECT_FULL_DISK_AFTER_BYTES)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX);
        AtomicU64::new(bytes)
    })
}

/// A writer that fails like a full disk once the process's injected allowance is spent.
struct Allowance<W> {
    inner: W,
}

impl<W: Write> Write for Allowance<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let allowance = write_allowance();
        if allowance.load(Ordering::Relaxed) != u64::MAX {
            let wanted = buf.len() as u64;
            let granted = allowance
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    Some(left.saturating_sub(wanted))
                })
                .expect("the update always succeeds");
            if granted < wanted {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("No space left on device (injected by {INJECT_FULL_DISK_AFTER_BYTES})"),
                ));
            }
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The temporary a target is staged in: hidden, beside it, named after the writing process.
fn temporary_for(path: &Path) -> (PathBuf, PathBuf) {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let temporary = directory.join(format!(".{file_name}.tmp-{}", std::process::id()));
    (directory, temporary)
}

/// Writes `write`'s output to `temporary` and forces it to disk; removes it on failure.
fn write_temporary(
    directory: &Path,
    temporary: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    fs::create_dir_all(directory)?;
    let result = (|| {
        let mut writer = BufWriter::new(Allowance {
            inner: File::create(temporary)?,
        });
        write(&mut writer)?;
        writer.flush()?;
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .inner
            .sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(temporary);
    }
    result
}

/// Writes `path` atomically, letting `write` stream into a buffered temporary file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let (directory, temporary) = temporary_for(path);
    write_temporary(&directory, &temporary, write)?;
    fs::rename(&temporary, path).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

/// Writes a whole byte string atomically.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, |w| w.write_all(bytes))
}

/// Files that belong together (a report and its event log and savepoints; a sweep's point file
/// and the summaries that list it): each is first written in full to a temporary, and only when
/// every one is on disk are they renamed into place, in the order staged. A full disk or any
/// other write error therefore leaves the previous set untouched and no temporary; only a kill in
/// the instant between two renames can mix sets, and every set carries its run's digest so that
/// a stale partner can be told apart.
#[derive(Default)]
pub struct FileSet {
    staged: Vec<(PathBuf, PathBuf)>,
}

impl FileSet {
    /// An empty set.
    pub fn new() -> FileSet {
        FileSet::default()
    }

    /// Writes `path`'s future content to its temporary.
    pub fn stage(
        &mut self,
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let (directory, temporary) = temporary_for(path);
        write_temporary(&directory, &temporary, write)?;
        self.staged.push((temporary, path.to_path_buf()));
        Ok(())
    }

    /// Stages a whole byte string.
    pub fn stage_bytes(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.stage(path, |w| w.write_all(bytes))
    }

    /// Renames every staged file into place.
    pub fn commit(mut self) -> io::Result<()> {
        for (temporary, target) in std::mem::take(&mut self.staged) {
            if let Err(error) = fs::rename(&temporary, &target) {
                let _ = fs::remove_file(&temporary);
                return Err(error);
            }
        }
        Ok(())
    }
}

impl Drop for FileSet {
    /// A set dropped before its commit (an error while staging) leaves no temporary behind.
    fn drop(&mut self) {
        for (temporary, _) in &self.staged {
            let _ = fs::remove_file(temporary);
        }
    }
}

/// Removes the temporaries that killed runs left in `directory` (`.<name>.tmp-<pid>` of a process
/// that no longer exists; where that cannot be asked, of a file untouched for a day). Returns how
/// many were removed.
pub fn remove_stale_temporaries(directory: &Path) -> usize {
    let Ok(entries) = fs::read_dir(directory) else {
        return 0;
    };
    let own = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.rsplit_once(".tmp-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != own
            && !process_may_be_alive(pid, &entry.path())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

fn process_may_be_alive(pid: u32, file: &Path) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    let day = std::time::Duration::from_secs(24 * 3600);
    fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_none_or(|age| age < day)
}

/// Fails unless files can be created in `directory` (creating it if needed): asked before a long
/// run, so that an unwritable output directory is reported before the work, not after it.
pub fn check_writable(directory: &Path) -> io::Result<()> {
    fs::create_dir_all(directory)?;
    let probe = directory.join(format!(".write-probe.tmp-{}", std::process::id()));
    File::create(&probe)?;
    fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let directory =
            std::env::temp_dir().join(format!("snapsim-output-test-{}", std::process::id()));
        let target = directory.join("report.json");
        write_bytes_atomically(&target, b"old").unwrap();
        let error = write_atomically(&target, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("interrupted"))
        });
        assert!(error.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        let leftovers = fs::read_dir(&directory).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file must be removed");
        fs::remove_dir_all(&directory).unwrap();
    }
}

#[cfg(test)]
mod file_set_tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let directory = std::env::temp_dir().join(format!("snapsim-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&directory);
        fs::create_dir_all(&directory).unwrap();
        directory
    }

    #[test]
    fn a_set_that_fails_while_staging_leaves_the_previous_set_and_no_temporary() {
        let directory = scratch("file-set");
        let (report, events) = (
            directory.join("report.json"),
            directory.join("events.jsonl"),
        );
        let mut set = FileSet::new();
        set.stage_bytes(&report, b"old report").unwrap();
        set.stage_bytes(&events, b"old events").unwrap();
        set.commit().unwrap();
        let mut set = FileSet::new();
        set.stage_bytes(&events, b"new events").unwrap();
        let error = set.stage(&report, |w| {
            w.write_all(b"half")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        });
        assert!(error.is_err());
        drop(set);
        assert_eq!(fs::read(&report).unwrap(), b"old report");
        assert_eq!(fs::read(&events).unwrap(), b"old events");
        assert_eq!(
            fs::read_dir(&directory).unwrap().count(),
            2,
            "no temporary is left"
        );
        fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let directory = scratch("stale");
        // No process has pid 4294967295; this process is alive.
        let dead = directory.join(".report.json.tmp-4294967295");
        let live = directory.join(format!(".events.jsonl.tmp-{}", std::process::id()));
        let unrelated = directory.join(".hidden");
        for path in [&dead, &live, &unrelated] {
            fs::write(path, b"x").unwrap();
        }
        assert_eq!(remove_stale_temporaries(&directory), 1);
        assert!(!dead.exists() && live.exists() && unrelated.exists());
        fs::remove_dir_all(&directory).unwrap();
    }
}
