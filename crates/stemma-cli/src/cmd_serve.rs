//! `stemma serve`: scan the library, then show its catalog in the browser (the `stemma-gallery` crate), following
//! changes while it runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};
use stemma_catalog::{scan, Catalog, ScanOptions, ScanSummary};
use stemma_gallery::{security, Access, AppState};

use crate::cmd_init::CatalogArg;
use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// The library to show (default: the current folder); its catalog is created when it has none.
    library: Option<PathBuf>,
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// The address to listen on. Anything but loopback requires the token printed in the URL.
    #[arg(long, value_name = "ADDR")]
    bind: Option<IpAddr>,
    /// Allow tagging and rating from the page.
    #[arg(long)]
    write: bool,
    /// Do not open the browser.
    #[arg(long)]
    no_open: bool,
    /// Serve the catalog as it is: no scan first, no following changes (a catalog someone else keeps current).
    #[arg(long)]
    no_scan: bool,
    /// Print nothing but the URL and errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

fn open_catalog(args: &Args, library: &Path) -> Result<Catalog> {
    if args.catalog.catalog.is_some() {
        return args.catalog.open(library);
    }
    match Catalog::find(library) {
        Ok(cat) => Ok(cat),
        Err(stemma_catalog::Error::NotFound(_)) => Catalog::init(library)
            .with_context(|| format!("{}: cannot create a catalog", library.display())),
        Err(e) => Err(e.into()),
    }
}

fn changed(s: &ScanSummary) -> bool {
    s.read > 0 || s.missing > 0 || s.moved > 0
}

pub fn run(args: Args) -> Result<u8> {
    let library = args.library.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut cat = open_catalog(&args, &library)?;
    if !args.no_scan {
        scan_first(&mut cat, &library, args.quiet)?;
    }
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let token = if ip.is_loopback() {
        None
    } else {
        Some(security::new_token().context("cannot make a token")?)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server runtime")?;
    let catalog_path = cat.path.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, args.port))
            .await
            .with_context(|| format!("cannot listen on {ip}:{}", args.port))?;
        let addr = listener.local_addr()?;
        let access = Access::for_addr(addr, token.clone());
        let host = if ip.is_loopback() {
            format!("127.0.0.1:{}", addr.port())
        } else {
            access.hosts[0].clone()
        };
        let url = match &token {
            Some(t) => format!("http://{host}/?token={t}"),
            None => format!("http://{host}/"),
        };
        let state = Arc::new(AppState::new(cat, args.write, access));
        if !args.no_scan {
            follow(&library, &catalog_path, Arc::clone(&state), args.quiet)?;
        }
        let mode = if args.write {
            "read-write"
        } else {
            "read-only"
        };
        println!(
            "serving {} at {url} ({mode}; Ctrl-C to stop)",
            library.display()
        );
        if !args.no_open {
            open_browser(&url);
        }
        stemma_gallery::serve(listener, state)
            .await
            .context("server stopped")
    })?;
    Ok(exit::OK)
}

fn scan_first(cat: &mut Catalog, library: &Path, quiet: bool) -> Result<()> {
    let summary = scan(cat, library, &ScanOptions::default())
        .with_context(|| format!("{}: scan failed", library.display()))?;
    if !quiet {
        eprintln!(
            "scanned {}: {} files, {} new images, {} unreadable",
            library.display(),
            summary.files,
            summary.new_images,
            summary.errors.len()
        );
    }
    Ok(())
}

/// Follow changes: a watcher thread rescans (through its own catalog connection) after a burst of changes settles,
/// and tells the page when something changed.
fn follow(library: &Path, catalog_path: &Path, state: Arc<AppState>, quiet: bool) -> Result<()> {
    let (tx, rx) = channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .context("cannot watch for changes")?;
    watcher
        .watch(library, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", library.display()))?;
    let mut cat = Catalog::open(catalog_path)?;
    let library = library.to_path_buf();
    let catalog_dir = catalog_path.parent().map(Path::to_path_buf);
    std::thread::spawn(move || {
        let _watcher = watcher;
        while let Ok(event) = rx.recv() {
            let relevant = match &event {
                // The catalog's own writes (and thumbnails) are not library changes.
                Ok(ev) => ev
                    .paths
                    .iter()
                    .any(|p| catalog_dir.as_ref().is_none_or(|d| !p.starts_with(d))),
                Err(_) => true,
            };
            if !relevant {
                continue;
            }
            while rx.recv_timeout(Duration::from_millis(500)).is_ok() {}
            match scan(&mut cat, &library, &ScanOptions::default()) {
                Ok(s) if changed(&s) => {
                    state.bump();
                    if !quiet {
                        eprintln!("rescanned: {} read, {} new images", s.read, s.new_images);
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("stemma: rescan failed: {e}"),
            }
        }
    });
    Ok(())
}

/// Open the page in the desktop's browser; a machine without one just has the printed URL.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
