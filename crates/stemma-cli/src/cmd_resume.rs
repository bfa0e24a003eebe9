//! `stemma resume RUN`: find the first item to redo by content and write what the generator needs to go on
//! (Deforum resume settings, Disco Diffusion resume values, pytti restore overrides, a generic JSON plan with the
//! last good frame as init image). Frames are never deleted or written over; files in the way are named, and
//! moved into `stemma-retained/` only with `--move-aside`.

use std::path::PathBuf;

use anyhow::Result;
use stemma_container::Limits;
use stemma_runs::{open_run, resume, status};

use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// A run manifest or a run folder.
    run: PathBuf,
    /// Where to write the resume files (default: the run folder).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Move damaged and foreign files into `stemma-retained/` of the run folder (generators that count files,
    /// like Deforum, would otherwise start after them).
    #[arg(long)]
    move_aside: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let opened = open_run(&args.run)?;
    let st = status(&opened, &Limits::DEFAULT, false)?;
    let done = resume(&opened, &st, args.output.as_deref(), args.move_aside)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
        return Ok(exit::OK);
    }
    if args.quiet {
        return Ok(exit::OK);
    }
    let init = done
        .init_image
        .as_ref()
        .map(|p| format!(", init image {}", p.display()))
        .unwrap_or_default();
    println!(
        "{}: first item to redo is {}{init}; wrote {}",
        done.run,
        done.first_to_redo,
        done.written
            .iter()
            .map(|w| w.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (k, v) in &done.settings {
        println!("  {k} = {v}");
    }
    for (path, why) in &done.in_the_way {
        let moved = done
            .moved
            .iter()
            .find(|(from, _)| from == path)
            .map(|(_, to)| format!(" → moved to {}", to.display()))
            .unwrap_or_else(|| " (move it aside before resuming: --move-aside)".into());
        println!("  in the way: {} — {why}{moved}", path.display());
    }
    Ok(exit::OK)
}
