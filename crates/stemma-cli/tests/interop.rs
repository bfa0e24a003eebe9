#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What other programs see in files stemma stamped: files written by Pillow in every container, stamped, then read
//! by ExifTool 13 (the IPTC 2025.1 AI properties and dc:description) and decoded again by Pillow (same pixels);
//! stripping stemma's additions restores the original bytes. Needs python3 with Pillow and ExifTool
//! (`STEMMA_EXIFTOOL`, or `target/tools/node_modules/exiftool-vendored.pl/bin/exiftool` as `.ci/run` installs it);
//! says so loudly and checks nothing when they are missing.

mod common;

use common::has_pillow;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

fn exiftool() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("STEMMA_EXIFTOOL").map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/tools/node_modules/exiftool-vendored.pl/bin/exiftool"),
        ),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

const MAKE_FILES: &str = r#"
import sys
from PIL import Image
out = sys.argv[1]
def picture(mode="RGB"):
    im = Image.new(mode, (48, 32))
    im.putdata([((x * 5) % 256, (y * 8) % 256, (x * y) % 256) + ((200,) if mode == "RGBA" else ()) for y in range(32) for x in range(48)])
    return im
picture().save(f"{out}/pillow.png")
picture().save(f"{out}/pillow.jpg", quality=90)
picture().save(f"{out}/pillow-lossy.webp", quality=80)
picture("RGBA").save(f"{out}/pillow-lossless.webp", lossless=True)
frames = [picture().rotate(a) for a in (0, 90, 180)]
frames[0].save(f"{out}/pillow-animated.webp", save_all=True, append_images=frames[1:], duration=100, lossless=True)
picture().convert("P").save(f"{out}/pillow.gif")
"#;

const DECODE: &str = r#"
import sys, hashlib
from PIL import Image, ImageSequence
for path in sys.argv[1:]:
    with Image.open(path) as im:
        h = hashlib.sha256()
        for frame in ImageSequence.Iterator(im):
            h.update(frame.convert("RGBA").tobytes())
        print(h.hexdigest())
"#;

fn decode_hashes(files: &[PathBuf]) -> Vec<String> {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    python(DECODE, &paths).lines().map(str::to_string).collect()
}

/// An empty configuration file, so that the user's own configuration (mirror defaults) cannot change the result.
fn empty_config(dir: &Path) -> PathBuf {
    let path = dir.join("empty.toml");
    std::fs::write(&path, "").unwrap();
    path
}

/// ExifTool's path when both oracles are installed; otherwise says loudly what is missing.
fn oracles() -> Option<PathBuf> {
    let Some(exiftool) = exiftool() else {
        common::tool_missing("ExifTool", "set STEMMA_EXIFTOOL", "interop");
        return None;
    };
    if !has_pillow() {
        common::tool_missing("python3 with Pillow", "pip install pillow", "interop");
        return None;
    }
    Some(exiftool)
}

/// Run a small Python program with Pillow; it must succeed.
fn python(program: &str, args: &[&Path]) -> String {
    let out = Process::new("python3")
        .arg("-c")
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn exiftool_and_pillow_see_what_stemma_wrote_in_every_container() {
    let Some(exiftool) = oracles() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    python(MAKE_FILES, &[dir.path()]);
    let names = [
        "pillow.png",
        "pillow.jpg",
        "pillow-lossy.webp",
        "pillow-lossless.webp",
        "pillow-animated.webp",
        "pillow.gif",
    ];
    let files: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let pixels_before = decode_hashes(&files);
    let prompt = "a heron in the reeds at dawn, ünïcode & <markup>";
    for (i, file) in files.iter().enumerate() {
        let mut cmd = Command::cargo_bin("stemma").unwrap();
        cmd.arg("stamp").arg(file).args([
            "--prompt",
            prompt,
            "--negative",
            "blurry",
            "--seed",
            "42",
        ]);
        cmd.args(["--generator", "comfyui", "--prompt-author", "Ada"]);
        // The inpainted one must say it is a composite.
        if i == 1 {
            cmd.arg("--parent")
                .arg(format!("sha256:{}:inpaint", "c".repeat(64)));
        }
        let out = cmd
            .env("STEMMA_CONFIG", empty_config(dir.path()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Process::new(&exiftool)
        .args(["-j", "-G1", "-struct"])
        .args(&files)
        .output()
        .unwrap();
    let tags: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for (i, t) in tags.iter().enumerate() {
        let name = names[i];
        assert_eq!(t["XMP-dc:Description"], prompt, "{name}: {t}");
        assert_eq!(t["XMP-iptcExt:AISystemUsed"], "comfyui", "{name}");
        assert_eq!(
            t["XMP-iptcExt:AIPromptInformation"],
            format!("{prompt}\nNegative prompt: blurry"),
            "{name}"
        );
        assert_eq!(t["XMP-iptcExt:AIPromptWriterName"], "Ada", "{name}");
        let expected = if i == 1 {
            "compositeWithTrainedAlgorithmicMedia"
        } else {
            "trainedAlgorithmicMedia"
        };
        assert_eq!(
            t["XMP-iptcExt:DigitalSourceType"],
            format!("http://cv.iptc.org/newscodes/digitalsourcetype/{expected}"),
            "{name}"
        );
        assert!(
            t.get("ExifTool:Warning").is_none()
                || !t["ExifTool:Warning"].to_string().contains("rror"),
            "{name}: {t}"
        );
    }
    // AISystemVersionUsed appears when the record has a version.
    let pixels_after = decode_hashes(&files);
    assert_eq!(
        pixels_before, pixels_after,
        "Pillow must decode the same pixels"
    );
    for (i, file) in files.iter().enumerate() {
        let view: Value = serde_json::from_slice(
            &Command::cargo_bin("stemma")
                .unwrap()
                .args(["show", "--json"])
                .arg(file)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        assert_eq!(view["record"]["prompt"]["positive"], prompt, "{}", names[i]);
        Command::cargo_bin("stemma")
            .unwrap()
            .args(["strip", "--profile", "stemma"])
            .arg(file)
            .assert()
            .success();
        assert_eq!(
            std::fs::read(file).unwrap(),
            originals[i],
            "{}: strip must restore the original bytes",
            names[i]
        );
    }
}

const MAKE_RICH_JPEG: &str = r#"
import sys
from PIL import Image, ImageCms
out = sys.argv[1]
im = Image.new("RGB", (40, 30), (10, 120, 200))
exif = Image.Exif()
exif[0x013B] = "Jane Photographer"      # Artist
exif[0x0131] = "a paint program 2.0"     # Software
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
xmp = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
       '<dc:creator><rdf:Seq><rdf:li>Jane</rdf:li></rdf:Seq></dc:creator><xmp:Rating>4</xmp:Rating>'
       '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
im.save(f"{out}/rich.jpg", exif=exif, icc_profile=icc, xmp=xmp.encode())
"#;

/// ExifTool's view of a file without the groups stemma owns or that describe the file itself.
fn foreign_view(exiftool: &Path, file: &Path) -> serde_json::Map<String, Value> {
    let out = Process::new(exiftool)
        .args(["-j", "-G1"])
        .arg(file)
        .output()
        .unwrap();
    let mut tags: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let Value::Object(map) = tags.remove(0) else {
        panic!()
    };
    map.into_iter()
        .filter(|(k, _)| {
            !(k.starts_with("System:")
                || k.starts_with("File:")
                || k.starts_with("ExifTool:")
                || k.starts_with("XMP-stemma:")
                || k.starts_with("XMP-iptcExt:")
                || k == "XMP-dc:Description"
                || k == "XMP-xmpNote:HasExtendedXMP"
                || k == "SourceFile"
                || k.starts_with("Composite:"))
        })
        .collect()
}

#[test]
fn existing_exif_icc_and_xmp_survive_and_big_records_use_extended_xmp() {
    let Some(exiftool) = oracles() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    python(MAKE_RICH_JPEG, &[dir.path()]);
    let file = dir.path().join("rich.jpg");
    let before = foreign_view(&exiftool, &file);
    assert_eq!(before["IFD0:Artist"], "Jane Photographer");
    assert!(
        before.contains_key("ICC_Profile:ProfileDescription"),
        "{before:?}"
    );
    assert_eq!(before["XMP-xmp:Rating"], 4);
    let original = std::fs::read(&file).unwrap();

    // A record far larger than one JPEG segment (a big ComfyUI graph kept in `raw`).
    let graph = format!(
        "{{\"nodes\": [{}]}}",
        (0..9000)
            .map(|i| format!("{{\"id\": {i}}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let record = serde_json::json!({
        "stemma": "1.0",
        "prompt": {"positive": "a heron"},
        "raw": [{"origin": "png:tEXt", "key": "workflow", "text": graph}],
    });
    let record_file = dir.path().join("big.json");
    std::fs::write(&record_file, record.to_string()).unwrap();
    Command::cargo_bin("stemma")
        .unwrap()
        .arg("stamp")
        .arg(&file)
        .arg("--record")
        .arg(&record_file)
        .env("STEMMA_CONFIG", empty_config(dir.path()))
        .assert()
        .success();
    assert!(record.to_string().len() > 65536);

    // Every other namespace and block looks the same to ExifTool.
    let after = foreign_view(&exiftool, &file);
    assert_eq!(before, after);
    // The APP segments that were there are still there, byte-identical (EXIF and ICC untouched).
    let stamped = std::fs::read(&file).unwrap();
    for marker in [b"Exif\0\0".as_slice(), b"ICC_PROFILE\0".as_slice()] {
        let find = |b: &[u8]| b.windows(marker.len()).position(|w| w == marker).unwrap();
        let (a, b) = (find(&original), find(&stamped));
        let len = u16::from_be_bytes([original[a - 2], original[a - 1]]) as usize;
        assert_eq!(original[a - 4..a - 2 + len], stamped[b - 4..b - 2 + len]);
    }
    // ExifTool reassembles the ExtendedXMP and finds the whole record.
    let out = Process::new(&exiftool)
        .args(["-j", "-G1", "-XMP-stemma:all", "-XMP-xmpNote:all"])
        .arg(&file)
        .output()
        .unwrap();
    let tags: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        tags[0].get("XMP-xmpNote:HasExtendedXMP").is_some(),
        "{}",
        tags[0]
    );
    let out = Process::new(&exiftool)
        .args(["-b", "-XMP-stemma:Record"])
        .arg(&file)
        .output()
        .unwrap();
    let stored: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stored["raw"][0]["text"], graph);
    // And stemma reads it back.
    let view: Value = serde_json::from_slice(
        &Command::cargo_bin("stemma")
            .unwrap()
            .args(["show", "--json"])
            .arg(&file)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(view["record"]["raw"][0]["text"], graph);
    Command::cargo_bin("stemma")
        .unwrap()
        .args(["strip", "--profile", "stemma"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(std::fs::read(&file).unwrap(), original);
}
