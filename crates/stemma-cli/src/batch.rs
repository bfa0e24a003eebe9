//! Writing many files in one command (`stamp`, `strip`, `import`, `convert`): files in parallel (rayon), a
//! progress bar on standard error for long work, one fsync per file and the folder fsyncs batched (each folder is
//! synced once, after its files were renamed into place).

use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use stemma_container::atomic::{FolderSyncs, WriteOptions};

/// A progress bar for `n` files: drawn on standard error when it is a terminal, only for more than one file and
/// unless `quiet`.
pub fn progress(n: usize, quiet: bool) -> ProgressBar {
    if quiet || n < 2 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The shared state of a batch of writes.
pub struct Batch {
    pub bar: ProgressBar,
    pub syncs: FolderSyncs,
    /// Two threads a core: a file waiting for its fsync leaves the core to another file's decoding.
    pool: Option<rayon::ThreadPool>,
}

impl Batch {
    pub fn new(n: usize, quiet: bool) -> Batch {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
        Batch {
            bar: progress(n, quiet),
            syncs: FolderSyncs::default(),
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok(),
        }
    }

    /// Write options for one file of the batch: its folder's fsync is left to [`Batch::finish`].
    pub fn options(&self, allow_read_only: bool) -> WriteOptions {
        WriteOptions {
            allow_read_only,
            defer_folder_sync: true,
        }
    }

    /// Run `work` on every file in parallel, in file order in the result, advancing the bar.
    pub fn run<T: Send>(
        &self,
        files: &[PathBuf],
        work: impl Fn(&Path) -> T + Sync + Send,
    ) -> Vec<T> {
        let all = || {
            files
                .par_iter()
                .map(|file| {
                    let result = work(file.as_path());
                    self.bar.inc(1);
                    result
                })
                .collect()
        };
        match &self.pool {
            Some(pool) => pool.install(all),
            None => all(),
        }
    }

    /// Print a warning without tearing the bar.
    pub fn warn(&self, line: &str) {
        self.bar.suspend(|| eprintln!("stemma: warning: {line}"));
    }

    /// Clear the bar and sync each folder written to, once. A folder that cannot be synced is named (the files
    /// are in place; their renames may not survive a power cut).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        for (folder, err) in self.syncs.sync() {
            eprintln!(
                "stemma: warning: {}: folder not synced to disk: {err}",
                folder.display()
            );
        }
    }
}

/// The message of a library error, with the CLI's way around a refusal that can be overridden.
pub fn with_force_hint(err: stemma_container::Error) -> anyhow::Error {
    if err.can_be_forced() {
        anyhow::anyhow!("{err} (use --force to rewrite it anyway)")
    } else {
        anyhow::Error::new(err)
    }
}
