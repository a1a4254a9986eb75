//! An exclusive lock on a run folder, so two processes never write one run (two `train --out`
//! on one folder, or two `--resume` of one run, would interleave `metrics.jsonl` and mix one
//! run's config with another's model).
//!
//! The lock is the operating system's advisory file lock (`flock` on Unix) on
//! [`LOCK_FILE`], held for the life of the process: the kernel releases it when the process
//! exits or is killed, so a crash never leaves a stale lock behind, and no PID bookkeeping is
//! needed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file inside a run folder (kept after the run; it holds nothing).
pub const LOCK_FILE: &str = ".hebbian.lock";

/// Why a run folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{dir} is in use by another hebbian process (it holds the lock {lock}); wait for it \
         to finish or stop it, then try again"
    )]
    Busy { dir: PathBuf, lock: PathBuf },
    #[error("cannot lock {lock}: {source}")]
    Io {
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// Holds the lock on a run folder until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Locks `dir` (which must exist), failing at once if another process holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let lock = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            lock: lock.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::Busy {
                dir: dir.to_path_buf(),
                lock,
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("another hebbian process"), "{err}");
        drop(first);
        RunLock::acquire(dir.path()).unwrap();
    }
}
