#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Issue #8 through the command line: what a new user did that lost data, and the writer's guarantees (modes,
//! read-only files, links, concurrent writers, damaged files, `kill -9`).

mod common;

use std::fs;
use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run_ok, stemma};
use image::{DynamicImage, ImageFormat, RgbaImage};

fn corpus(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !root.is_dir() {
        assert!(
            std::env::var_os("STEMMA_ALLOW_MISSING_SHARED").is_some_and(|v| v == "1"),
            "{} is missing (set STEMMA_ALLOW_MISSING_SHARED=1 to skip)",
            root.display()
        );
        return None;
    }
    Some(root.join(name))
}

/// A writable copy of a file (the corpus is read-only).
fn copy_to(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    fs::copy(from, &to).unwrap();
    fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
    to
}

fn encode(format: ImageFormat) -> Vec<u8> {
    let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(8, 8, |x, y| {
        image::Rgba([x as u8 * 20, y as u8 * 20, 3, 255])
    }));
    let img = if format == ImageFormat::Jpeg {
        DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn stderr_of(cmd: &mut assert_cmd::Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn import_then_strip_stemma_gives_back_the_original_generator_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "a1111/automatic1111_cropped.png",
        "a1111/text_after_idat.png",
        "other/stability-matrix.png",
    ] {
        let Some(src) = corpus(name) else { return };
        let original = fs::read(&src).unwrap();
        let file = copy_to(&src, dir.path(), "x.png");
        run_ok(stemma().arg("import").arg(&file));
        assert_ne!(
            fs::read(&file).unwrap(),
            original,
            "{name}: nothing imported"
        );
        run_ok(stemma().args(["strip", "--profile", "stemma"]).arg(&file));
        assert!(
            fs::read(&file).unwrap() == original,
            "{name}: strip --profile stemma after import lost bytes"
        );
    }
}

#[test]
fn stamp_a1111_on_an_a1111_png_says_the_mirror_was_not_written() {
    let Some(src) = corpus("a1111/automatic1111_cropped.png") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = copy_to(&src, dir.path(), "x.png");
    let before = fs::read(&file).unwrap();
    let (code, err) = stderr_of(
        stemma()
            .args(["stamp", "--prompt", "a red fox", "--a1111"])
            .arg(&file),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("warning") && err.contains("A1111") && err.contains("x.png"),
        "{err}"
    );
    // The generator's chunk is untouched.
    common::assert_chunks_kept(&before, &fs::read(&file).unwrap(), "stamp --a1111");
    run_ok(stemma().args(["strip", "--profile", "stemma"]).arg(&file));
    assert!(fs::read(&file).unwrap() == before);
}

#[test]
fn created_must_be_rfc3339_on_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    fs::write(&file, encode(ImageFormat::Png)).unwrap();
    let before = fs::read(&file).unwrap();
    let (code, err) = stderr_of(
        stemma()
            .args(["stamp", "--created", "yesterday"])
            .arg(&file),
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("RFC 3339"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), before);
    run_ok(
        stemma()
            .args(["stamp", "--created", "2024-05-01T12:30:00Z"])
            .arg(&file),
    );
}

#[test]
fn output_files_get_the_umask_mode_and_read_only_files_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    fs::write(&file, encode(ImageFormat::Png)).unwrap();
    let out = dir.path().join("out.png");
    run_ok(
        stemma()
            .args(["stamp", "--prompt", "p", "-o"])
            .arg(&out)
            .arg(&file),
    );
    assert_eq!(mode(&out), 0o666 & !umask());
    let sidecar = dir.path().join("a.png.stemma.json");
    run_ok(
        stemma()
            .args(["stamp", "--prompt", "p", "--sidecar"])
            .arg(&file),
    );
    assert_eq!(mode(&sidecar), 0o666 & !umask());

    run_ok(stemma().args(["stamp", "--prompt", "p"]).arg(&file));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
    let before = fs::read(&file).unwrap();
    for args in [
        vec!["stamp", "--prompt", "changed"],
        vec!["strip"],
        vec!["import"],
    ] {
        let (code, err) = stderr_of(stemma().args(&args).arg(&file));
        if args[0] == "import" {
            // The file already has a record: import leaves it alone.
            assert_eq!(fs::read(&file).unwrap(), before);
            continue;
        }
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert!(
            err.contains("read-only") && err.contains("a.png"),
            "{args:?}: {err}"
        );
        assert_eq!(
            fs::read(&file).unwrap(),
            before,
            "{args:?} wrote a read-only file"
        );
    }
    run_ok(
        stemma()
            .args(["stamp", "--prompt", "q", "--force"])
            .arg(&file),
    );
    assert_ne!(fs::read(&file).unwrap(), before);
    assert_eq!(mode(&file), 0o444);
}

#[test]
fn symlinks_are_written_through_and_followed_in_folders() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.png");
    fs::write(&real, encode(ImageFormat::Png)).unwrap();
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    run_ok(
        stemma()
            .args(["stamp", "--prompt", "through the link"])
            .arg(&link),
    );
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let view = common::show_view(&real);
    assert_eq!(view["record"]["prompt"]["positive"], "through the link");

    // A folder holding only a link to a file elsewhere, and a link loop.
    let folder = dir.path().join("folder");
    fs::create_dir(&folder).unwrap();
    std::os::unix::fs::symlink(&real, folder.join("linked.png")).unwrap();
    std::os::unix::fs::symlink(&folder, folder.join("loop")).unwrap();
    let out = stemma()
        .args(["show", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().count(), 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("linked.png"), "{stdout}");
    assert!(
        stderr.contains("loop"),
        "the loop is not reported: {stderr}"
    );
}

#[test]
fn twenty_parallel_stamps_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    fs::write(&file, encode(ImageFormat::Png)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("stemma");
    let children: Vec<_> = (0..20)
        .map(|i| {
            std::process::Command::new(&bin)
                .args(["stamp", "--param", &format!("key{i}=1")])
                .arg(&file)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let view = common::show_view(&file);
    let params = view["record"]["params"].as_object().unwrap();
    let keys = (0..20)
        .filter(|i| params.contains_key(&format!("key{i}")))
        .count();
    assert_eq!(keys, 20, "updates were lost: {params:?}");
}

#[test]
fn damaged_files_are_refused_by_every_writer() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = encode(ImageFormat::Jpeg);
    let webp = encode(ImageFormat::WebP);
    for (name, bytes) in [
        ("cut.jpg", jpeg[..jpeg.len() - 10].to_vec()),
        ("cut.webp", webp[..webp.len() - 4].to_vec()),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, &bytes).unwrap();
        for args in [
            vec!["stamp", "--prompt", "x"],
            vec!["strip"],
            vec!["strip", "--profile", "stemma"],
        ] {
            let (code, err) = stderr_of(stemma().args(&args).arg(&path));
            assert_eq!(code, Some(3), "{name} {args:?}: {err}");
            assert!(
                err.contains(name) && err.contains("truncated"),
                "{name} {args:?}: {err}"
            );
            assert_eq!(fs::read(&path).unwrap(), bytes, "{name} {args:?}");
        }
    }
}

#[test]
fn kill_9_during_a_folder_import_never_leaves_a_damaged_file() {
    let Some(src) = corpus("a1111/automatic1111_cropped.png") else {
        return;
    };
    let original = fs::read(&src).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("stemma");
    let limits = stemma_container::Limits::DEFAULT;
    for round in 0..8u64 {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            copy_to(&src, dir.path(), &format!("f{i:02}.png"));
        }
        let mut child = std::process::Command::new(&bin)
            .arg("import")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // A different moment each round: from before the first write to the middle of the folder.
        std::thread::sleep(Duration::from_millis(3 + round * 7));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        for entry in fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".stemma-") {
                // A temporary file of the killed write: never an image name, skipped by folder walks.
                assert!(name.ends_with(".tmp"), "{name}");
                continue;
            }
            let bytes = fs::read(&path).unwrap();
            if bytes == original {
                continue;
            }
            // Otherwise it is a complete, sound, stamped file that strips back to the original.
            let stripped = stemma_container::ops::edit_bytes(
                &bytes,
                &stemma_container::Edit::strip(stemma_container::StripProfile::Stemma),
                &limits,
            )
            .unwrap_or_else(|e| panic!("round {round}: {name} is damaged: {e}"));
            assert!(stripped.bytes == original, "round {round}: {name}");
        }
    }
}

#[test]
fn a_png_cut_after_an_intact_text_chunk_shows_what_was_read() {
    let png = encode(ImageFormat::Png);
    let text = stemma_container::png::encode_chunk(
        stemma_container::png::TEXT,
        b"parameters\0a lighthouse\nSteps: 20, Sampler: Euler, Seed: 5",
    );
    let mut file = png[..33].to_vec();
    file.extend_from_slice(&text);
    file.extend_from_slice(&png[33..45]); // part of the next chunk
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.png");
    fs::write(&path, &file).unwrap();
    let view = common::show_view(&path);
    let warnings = view["warnings"].to_string();
    assert!(warnings.contains("truncated"), "{view}");
    assert_eq!(
        view["record"]["prompt"]["positive"], "a lighthouse",
        "{view}"
    );
    // Writers still refuse it.
    let (code, err) = stderr_of(stemma().args(["strip"]).arg(&path));
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(fs::read(&path).unwrap(), file);
}

#[test]
fn verify_reports_a_created_that_is_not_rfc3339() {
    let png = encode(ImageFormat::Png);
    let record = stemma_container::png::encode_chunk(
        stemma_container::png::ITXT,
        &stemma_container::png::encode_itxt(
            "stemma",
            r#"{"stemma":"1.0","created":"yesterday"}"#,
            false,
        ),
    );
    let mut file = png[..33].to_vec();
    file.extend_from_slice(&record);
    file.extend_from_slice(&png[33..]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("y.png");
    fs::write(&path, &file).unwrap();
    let out = stemma().arg("verify").arg(&path).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("RFC 3339"), "{text}");
}

/// The CLI-level variant of the command-sequence property test (the library-level one, with many more cases, is
/// crates/stemma-container/tests/command_sequences.rs): pseudo-random sequences of import / stamp (with and
/// without mirrors) / convert / strip --profile stemma on copies of real files of each container, then
/// `strip --profile stemma` must give back the original bytes.
#[test]
fn command_sequences_through_the_cli_strip_back_to_the_original() {
    let names = [
        "a1111/automatic1111_cropped.png",
        "a1111/text_after_idat.png",
        "a1111/automatic1111_cropped.jpg",
        "a1111/sd-webui.webp",
    ];
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
    for name in names {
        let Some(path) = corpus(name) else { return };
        sources.push((name.to_string(), fs::read(path).unwrap()));
    }
    sources.push(("generated.gif".into(), encode(ImageFormat::Gif)));
    let dir = tempfile::tempdir().unwrap();
    let donor = dir.path().join("donor.png");
    fs::write(&donor, encode(ImageFormat::Png)).unwrap();
    run_ok(
        stemma()
            .args(["stamp", "--prompt", "the donor"])
            .arg(&donor),
    );
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for round in 0..3 {
        for (name, original) in &sources {
            let ext = name.rsplit('.').next().unwrap();
            let file = dir.path().join(format!("f{round}.{ext}"));
            fs::write(&file, original).unwrap();
            let mut done = Vec::new();
            for _ in 0..5 {
                let mut cmd = stemma();
                let what = match next(5) {
                    0 => {
                        cmd.arg("import");
                        "import"
                    }
                    1 => {
                        cmd.args(["stamp", "--prompt", "a red fox", "--a1111", "--windows"]);
                        "stamp --a1111 --windows"
                    }
                    2 => {
                        cmd.args(["stamp", "--negative", "blur", "--no-xmp"]);
                        "stamp --no-xmp"
                    }
                    3 => {
                        cmd.args(["convert", "--relation", "upscale"]).arg(&donor);
                        "convert"
                    }
                    _ => {
                        cmd.args(["strip", "--profile", "stemma"]);
                        "strip --profile stemma"
                    }
                };
                done.push(what);
                let out = cmd.arg(&file).output().unwrap();
                assert!(
                    out.status.success(),
                    "{name} after {done:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            run_ok(stemma().args(["strip", "--profile", "stemma"]).arg(&file));
            assert!(
                fs::read(&file).unwrap() == *original,
                "{name}: {done:?} then strip --profile stemma does not give back the original"
            );
        }
    }
}
