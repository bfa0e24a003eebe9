//! `stemma`: the command-line glue over the stemma crates. Each subcommand lives in its own module; the logic lives
//! in the library crates.

mod batch;
mod cmd_convert;
mod cmd_diff;
mod cmd_export;
mod cmd_find;
mod cmd_fork;
mod cmd_id;
mod cmd_import;
mod cmd_init;
mod cmd_log;
mod cmd_prompts;
mod cmd_resume;
mod cmd_run;
mod cmd_scan;
mod cmd_seq;
mod cmd_serve;
mod cmd_show;
mod cmd_stamp;
mod cmd_strip;
mod cmd_tag;
mod cmd_verify;
mod config;
mod files;
mod output;
mod seq_video;
mod stamp_frames;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: reading thousands of files allocates many short-lived strings and JSON values on two threads, where
/// it is much faster than the system allocator. Built without transparent huge pages (`no_thp`): each 2 MiB page
/// it asked for counted whole in the resident set, and a one-file `stemma show` peaked at 60 MB instead of 22.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README and `stemma --help`.
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// `verify` found a problem in at least one file.
    pub const VERIFY_FAILED: u8 = 1;
    /// The command line was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// At least one file could not be read or written; the others were processed.
    pub const FILE_ERROR: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "stemma",
    version,
    about = "Keep the recipe with the picture: read, write and check the prompt, settings and lineage inside AI images.",
    after_help = "Exit codes: 0 success; 1 verify found a problem; 2 usage error; 3 a file could not be read or written \
                  (the other files were still processed)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the record of each file (or, without one, what its metadata says and what it holds).
    Show(cmd_show::Args),
    /// Write or update a file's stemma record.
    Stamp(Box<cmd_stamp::Args>),
    /// Remove metadata for sharing.
    Strip(cmd_strip::Args),
    /// Print the content ids of each file.
    Id(cmd_id::Args),
    /// Check structure, checksums, stored content ids and the record's schema.
    Verify(cmd_verify::Args),
    /// Turn each file's generator metadata into a stemma record, written into the file (or a sidecar).
    Import(cmd_import::Args),
    /// Carry a record and its lineage onto another file (an upscaled, re-encoded or edited copy).
    Convert(cmd_convert::Args),
    /// List the frame sequences of a folder (gaps, restarts, interpolated frames) or an animation's frames;
    /// `seq export` assembles a sequence into an APNG.
    Seq(cmd_seq::Args),
    /// Create a library's catalog (`.stemma/catalog.db`).
    Init(cmd_init::Args),
    /// Index new and changed files into the catalog (`--watch` to follow changes).
    Scan(cmd_scan::Args),
    /// Search the catalog: prompt words and typed fields (`stemma find --help` for the query language).
    Find(cmd_find::Args),
    /// Unique prompts with counts; `--stacks`, `--variations`, `--templates`.
    Prompts(cmd_prompts::Args),
    /// Add (+tag) or remove (-tag) tags of files in the catalog.
    Tag(cmd_tag::TagArgs),
    /// Rate files in the catalog (1 to 5).
    Rate(cmd_tag::RateArgs),
    /// The ancestors of an image, with how each was made from the next.
    Log(cmd_log::Args),
    /// The descendants of an image.
    Tree(cmd_log::Args),
    /// What changed between two images: settings patch, table and prompt diff.
    Diff(cmd_diff::Args),
    /// Export the catalog as JSON Lines or CSV, or a lineage graph as PROV-JSON.
    Export(cmd_export::Args),
    /// Show the library in the browser: grid, search, stacks, recipes, lineage, sequences.
    Serve(cmd_serve::Args),
    /// Run manifests: `run init SETTINGS`, `run status RUN`, `run diff A [B]`.
    Run(cmd_run::Args),
    /// Write what a generator needs to resume a broken run at the first item to redo (by content).
    Resume(cmd_resume::Args),
    /// New settings from an image's (or a frame's) recipe with changes: infotext, API payload, ComfyUI graph,
    /// Deforum/Disco settings; recorded so that `scan` links the results as forks.
    Fork(cmd_fork::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Show(args) => cmd_show::run(args),
        Command::Stamp(args) => cmd_stamp::run(*args),
        Command::Strip(args) => cmd_strip::run(args),
        Command::Id(args) => cmd_id::run(args),
        Command::Verify(args) => cmd_verify::run(args),
        Command::Import(args) => cmd_import::run(args),
        Command::Convert(args) => cmd_convert::run(args),
        Command::Seq(args) => cmd_seq::run(args),
        Command::Init(args) => cmd_init::run(args),
        Command::Scan(args) => cmd_scan::run(args),
        Command::Find(args) => cmd_find::run(args),
        Command::Prompts(args) => cmd_prompts::run(args),
        Command::Tag(args) => cmd_tag::run_tag(args),
        Command::Rate(args) => cmd_tag::run_rate(args),
        Command::Log(args) => cmd_log::run_log(args),
        Command::Tree(args) => cmd_log::run_tree(args),
        Command::Diff(args) => cmd_diff::run(args),
        Command::Export(args) => cmd_export::run(args),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Run(args) => cmd_run::run(args),
        Command::Resume(args) => cmd_resume::run(args),
        Command::Fork(args) => cmd_fork::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`stemma show ... | head`) is not an error.
            for cause in err.chain() {
                if let Some(io_err) = cause.downcast_ref::<io::Error>() {
                    if io_err.kind() == io::ErrorKind::BrokenPipe {
                        return ExitCode::from(exit::OK);
                    }
                }
            }
            let _ = writeln!(io::stderr(), "stemma: {}", output::Chain(&err));
            if output::is_usage_error(&err) {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::from(exit::FILE_ERROR)
            }
        }
    }
}
