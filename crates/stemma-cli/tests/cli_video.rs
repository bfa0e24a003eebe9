#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The command line on videos, through the handler registry: `import` writes the record into a Video Helper
//! Suite MP4 and a WebM without touching the media, `show` reads it, `seq` reports frames/fps/duration, and
//! `strip --profile stemma` gives back the original bytes. Videos are made here with ffmpeg; without it the test
//! fails, unless `STEMMA_ALLOW_MISSING_TOOLS=1` asks to skip (then it says so loudly).

mod common;

use std::fs;
use std::process::Command as Process;

use assert_cmd::Command;

const GRAPH: &str = r#"{"3":{"class_type":"KSampler","inputs":{"seed":7,"steps":20,"cfg":7,"sampler_name":"euler","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]}},"4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"sd15.safetensors"}},"5":{"class_type":"EmptyLatentImage","inputs":{"width":64,"height":48,"batch_size":1}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a red fox","clip":["4",1]}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"","clip":["4",1]}}}"#;

fn has_ffmpeg() -> bool {
    let ok = Process::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::tool_missing("ffmpeg", "apt-get install ffmpeg", "the CLI on videos");
    }
    ok
}

fn stemma(args: &[&str]) -> String {
    let out = Command::cargo_bin("stemma")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stemma {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn import_show_seq_and_strip_a_video() {
    if !has_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prompt = format!("prompt={GRAPH}");
    for (name, codec) in [("fox.mp4", "libx264"), ("fox.webm", "libvpx-vp9")] {
        let path = dir.path().join(name);
        let o = Process::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=64x48:rate=12",
                "-frames:v",
                "24",
            ])
            .args([
                "-c:v",
                codec,
                "-pix_fmt",
                "yuv420p",
                "-metadata",
                &prompt,
                "-movflags",
                "use_metadata_tags",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let original = fs::read(&path).unwrap();
        let p = path.to_str().unwrap();
        let seq = stemma(&["seq", p]);
        assert!(seq.contains("24 frames, 12 fps, 2.000 s, 64x48"), "{seq}");
        stemma(&["import", p]);
        let stamped = fs::read(&path).unwrap();
        assert_ne!(stamped, original);
        let show = stemma(&["show", "--json", p]);
        assert!(
            show.contains("a red fox") && show.contains("sd15"),
            "{show}"
        );
        stemma(&["strip", "--profile", "stemma", p]);
        assert_eq!(fs::read(&path).unwrap(), original, "{name}");
    }
}

#[test]
fn stamp_frames_from_the_folder_the_video_was_encoded_from() {
    if !has_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    fs::create_dir(&frames).unwrap();
    let pattern = frames.join("frame_%05d.png");
    let o = Process::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=32x24:rate=6",
            "-frames:v",
            "6",
            "-start_number",
            "1",
        ])
        .arg(&pattern)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let video = dir.path().join("run.mp4");
    let o = Process::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-framerate",
            "6",
            "-start_number",
            "1",
            "-i",
        ])
        .arg(&pattern)
        .args(["-c:v", "mpeg4"])
        .arg(&video)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = video.to_str().unwrap();
    stemma(&[
        "stamp",
        v,
        "--prompt",
        "a fox",
        "--frames-from",
        frames.to_str().unwrap(),
    ]);
    let show = stemma(&["show", "--json", v]);
    let third = stemma(&["id", frames.join("frame_00003.png").to_str().unwrap()]);
    let pixels = third
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap()
        .to_string();
    assert!(
        show.contains(&pixels),
        "frame 3's pixel id {pixels} not in {show}"
    );
    assert!(show.contains("\"frame\":3"), "{show}");
    // A folder with another number of frames is refused, and the video is left as it was.
    fs::remove_file(frames.join("frame_00006.png")).unwrap();
    let before = fs::read(&video).unwrap();
    let out = Command::cargo_bin("stemma")
        .unwrap()
        .args(["stamp", v, "--frames-from", frames.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("6 frames, but"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(&video).unwrap(), before);
}
