#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Videos as AI video tools write them (made here with ffmpeg, nothing downloaded) import like the PNG that carries
//! the same ComfyUI graph: Video Helper Suite's old single `comment` JSON and its new `prompt`/`workflow` mdta keys
//! in MP4, upper-case `PROMPT`/`WORKFLOW` tags in WebM, and AnimateDiff's infotext comment. Without ffmpeg the test
//! fails, unless `STEMMA_ALLOW_MISSING_TOOLS=1` asks to skip (then it says so loudly).

use std::fs;
use std::path::Path;
use std::process::Command;

use stemma_container::png::{encode_chunk, IHDR, TEXT};
use stemma_container::{ops, Limits};
use stemma_import::{import, Evidence};
use stemma_model::Record;

const GRAPH: &str = r#"{"3":{"class_type":"KSampler","inputs":{"seed":123456789,"steps":24,"cfg":6.5,"sampler_name":"euler","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]}},"4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"dreamshaper_8.safetensors"}},"5":{"class_type":"EmptyLatentImage","inputs":{"width":64,"height":48,"batch_size":16}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a duck walking in the rain","clip":["4",1]}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"blurry","clip":["4",1]}}}"#;

const WORKFLOW: &str = r#"{"last_node_id":7,"last_link_id":0,"nodes":[],"links":[],"version":0.4}"#;

fn has_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("STEMMA_ALLOW_MISSING_TOOLS").as_deref() != Ok("1") {
            panic!("ffmpeg not found: install it (apt-get install ffmpeg; .ci/run does) or set STEMMA_ALLOW_MISSING_TOOLS=1 to skip on purpose");
        }
        eprintln!("\n!!! ffmpeg not found: video import test SKIPPED, nothing was checked !!!\n");
    }
    ok
}

fn ffmpeg(out: &Path, args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=8",
        ])
        .args(["-frames:v", "8"])
        .args(args)
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn import_file(path: &Path) -> (&'static str, Record) {
    let meta = ops::scan_path(path, &Limits::DEFAULT).unwrap();
    let report = import(&Evidence::new(&meta));
    let imported = report.imported.unwrap_or_else(|| {
        panic!(
            "{}: nothing imported: {:?}",
            path.display(),
            report.failures
        )
    });
    (imported.dialect, imported.record)
}

/// (prompt, seed, model) of a record.
fn essentials(r: &Record) -> (Option<String>, Option<String>, Option<String>) {
    let p = r.params.as_ref();
    (
        r.positive().map(str::to_string),
        p.and_then(|p| p.seed.clone()),
        p.and_then(|p| p.model.as_ref())
            .and_then(|m| m.name.clone()),
    )
}

#[test]
fn video_helper_suite_and_animatediff_videos_import_like_the_png() {
    if !has_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The PNG ComfyUI writes for the same graph (VHS' "metadata image"): a frame with tEXt prompt/workflow.
    let frame = d.join("frame.png");
    ffmpeg(&frame, &["-frames:v", "1"]);
    let png = fs::read(&frame).unwrap();
    let ihdr_end = 8 + 12 + 13;
    assert_eq!(&png[12..16], &IHDR.0);
    let mut with_text = png[..ihdr_end].to_vec();
    with_text.extend(encode_chunk(TEXT, format!("prompt\0{GRAPH}").as_bytes()));
    with_text.extend(encode_chunk(
        TEXT,
        format!("workflow\0{WORKFLOW}").as_bytes(),
    ));
    with_text.extend_from_slice(&png[ihdr_end..]);
    fs::write(&frame, with_text).unwrap();
    let (dialect, png_record) = import_file(&frame);
    assert_eq!(dialect, "comfyui");
    let expected = essentials(&png_record);
    assert_eq!(
        expected,
        (
            Some("a duck walking in the rain".into()),
            Some("123456789".into()),
            Some("dreamshaper_8.safetensors".into())
        )
    );

    let old = d.join("vhs-old.mp4");
    let comment = format!("{{\"prompt\": {GRAPH}, \"workflow\": {WORKFLOW}}}");
    ffmpeg(
        &old,
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            &format!("comment={comment}"),
        ],
    );
    let new = d.join("vhs-new.mp4");
    let (p, w) = (format!("prompt={GRAPH}"), format!("workflow={WORKFLOW}"));
    ffmpeg(
        &new,
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            &p,
            "-metadata",
            &w,
            "-movflags",
            "use_metadata_tags",
        ],
    );
    let webm = d.join("vhs.webm");
    ffmpeg(
        &webm,
        &["-c:v", "libvpx-vp9", "-metadata", &p, "-metadata", &w],
    );
    for video in [&old, &new, &webm] {
        let (dialect, record) = import_file(video);
        assert_eq!(dialect, "comfyui", "{}", video.display());
        assert_eq!(essentials(&record), expected, "{}", video.display());
    }

    // AnimateDiff for A1111: the infotext as the container comment (MP4 `©cmt`, WebM `COMMENT`).
    let infotext = "a duck walking in the rain\nNegative prompt: blurry\nSteps: 24, Sampler: Euler a, CFG scale: 6.5, Seed: 123456789, Size: 64x48, Model: dreamshaper_8, AnimateDiff: \"model: mm_sd15_v3.safetensors, video_length: 16, fps: 8\"";
    for ext in ["mp4", "webm"] {
        let path = d.join(format!("animatediff.{ext}"));
        let codec = if ext == "mp4" {
            "libx264"
        } else {
            "libvpx-vp9"
        };
        ffmpeg(
            &path,
            &[
                "-c:v",
                codec,
                "-pix_fmt",
                "yuv420p",
                "-metadata",
                &format!("comment={infotext}"),
            ],
        );
        let (dialect, record) = import_file(&path);
        assert_eq!(dialect, "a1111", "{ext}");
        assert_eq!(
            essentials(&record),
            (
                Some("a duck walking in the rain".into()),
                Some("123456789".into()),
                Some("dreamshaper_8".into())
            ),
            "{ext}"
        );
    }
}
