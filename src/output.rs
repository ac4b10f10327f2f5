//! Writing results without ever leaving a half-written file.
//!
//! Every file under `output/` is written to a temporary file in the same directory and then
//! renamed over the target. A rename within one directory is atomic on POSIX file systems, so a
//! reader (or a run interrupted by Ctrl-C) sees either the old file or the new one, never a torn one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `path` atomically, letting `write` stream into a buffered temporary file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(directory)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let temporary: PathBuf = directory.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut writer = BufWriter::new(File::create(&temporary)?);
        write(&mut writer)?;
        writer.flush()?;
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Writes a whole byte string atomically.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, |w| w.write_all(bytes))
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
