#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Video containers: MP4/MOV and Matroska/WebM made here with ffmpeg (nothing downloaded) in the shapes AI video
//! tools write (ComfyUI Video Helper Suite, old and new; AnimateDiff), read, stamped, checked with ffmpeg
//! (`framemd5` of packets and decoded frames identical, ffprobe without warnings), ExifTool (the prompt in XMP,
//! no warnings) and stripped back to the original bytes. Without ffmpeg these tests fail, unless
//! `STEMMA_ALLOW_MISSING_TOOLS=1` asks to skip (then they say so loudly). The 2 GB test and the hostile-input tests need no ffmpeg.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use stemma_container::handler::handler_for;
use stemma_container::source::{FileSource, Source};
use stemma_container::{
    ops, video_info, ContainerHandler, Edit, Error, Format, Limits, Metadata, StripProfile,
};

const RECORD: &str = r#"{"stemma":"1.0","generator":{"name":"comfyui"},"prompt":{"positive":"a duck & a <cat> ✓","negative":"blur"},"params":{"seed":"42","steps":20,"model":{"name":"sdxl"}}}"#;

const GRAPH: &str = r#"{"3":{"class_type":"KSampler","inputs":{"seed":42,"steps":20,"cfg":7,"sampler_name":"euler","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]}},"4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"sdxl.safetensors"}},"5":{"class_type":"EmptyLatentImage","inputs":{"width":64,"height":48,"batch_size":1}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a duck","clip":["4",1]}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"blur","clip":["4",1]}}}"#;

fn has_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("STEMMA_ALLOW_MISSING_TOOLS").as_deref() != Ok("1") {
            panic!("ffmpeg not found: install it (apt-get install ffmpeg; .ci/run does) or set STEMMA_ALLOW_MISSING_TOOLS=1 to skip on purpose");
        }
        eprintln!("\n!!! ffmpeg not found: video tests SKIPPED, nothing was checked !!!\n");
    }
    ok
}

fn exiftool() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("STEMMA_EXIFTOOL").map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/tools/node_modules/exiftool-vendored.pl/bin/exiftool"),
        ),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.exists());
    if found.is_none() {
        if std::env::var("STEMMA_ALLOW_MISSING_TOOLS").as_deref() != Ok("1") {
            panic!("ExifTool not found: set STEMMA_EXIFTOOL (.ci/run installs it) or STEMMA_ALLOW_MISSING_TOOLS=1 to skip on purpose");
        }
        eprintln!("\n!!! ExifTool not found (STEMMA_EXIFTOOL): ExifTool checks SKIPPED !!!\n");
    }
    found
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10",
            "-frames:v",
            "10",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Packet hashes (`-c copy`) and decoded-frame hashes, without the `#` header lines.
fn framemd5(path: &Path) -> (String, String) {
    let run = |copy: bool| {
        let mut c = Command::new("ffmpeg");
        c.args(["-v", "error", "-i"]).arg(path).args(["-map", "0"]);
        if copy {
            c.args(["-c", "copy"]);
        }
        let out = c.args(["-f", "framemd5", "-"]).output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    (run(true), run(false))
}

/// ffprobe's format tags; fails on any warning.
fn ffprobe_tags(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "warning",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed");
    assert!(
        out.stderr.is_empty(),
        "ffprobe warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["format"]["tags"].clone()
}

fn scan(bytes: &[u8]) -> Metadata {
    let source: &dyn Source = &bytes;
    ops::scan_source(source, &Limits::DEFAULT).unwrap()
}

fn handler_of(bytes: &[u8]) -> &'static dyn ContainerHandler {
    let source: &dyn Source = &bytes;
    ops::handler_of(source).unwrap()
}

fn edit(bytes: &[u8], e: &Edit) -> Vec<u8> {
    handler_of(bytes).edit(bytes, e, &Limits::DEFAULT).unwrap()
}

fn entry<'a>(meta: &'a Metadata, origin: &str, key: &str) -> Option<&'a str> {
    meta.entries
        .iter()
        .find(|e| e.origin == origin && e.key == key)
        .and_then(|e| e.value.as_text())
}

struct Videos {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Videos {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        Videos { _dir: dir, path }
    }
    fn make(&self, name: &str, args: &[&str]) -> PathBuf {
        let p = self.path.join(name);
        let mut all: Vec<&str> = args.to_vec();
        let s = p.to_str().unwrap().to_string();
        all.push(&s);
        ffmpeg(&all);
        p
    }
}

fn vhs_comment() -> String {
    format!("{{\"prompt\": {GRAPH}, \"workflow\": {{\"nodes\": [], \"links\": []}}}}")
}

#[test]
fn reads_what_video_helper_suite_and_ffmpeg_write() {
    if !has_ffmpeg() {
        return;
    }
    let v = Videos::new();
    let comment = vhs_comment();
    let old = v.make(
        "old.mp4",
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            &format!("comment={comment}"),
        ],
    );
    let new = v.make(
        "new.mp4",
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            &format!("prompt={GRAPH}"),
            "-metadata",
            "workflow={\"nodes\":[],\"links\":[]}",
            "-movflags",
            "use_metadata_tags",
        ],
    );
    let webm = v.make(
        "a.webm",
        &[
            "-c:v",
            "libvpx-vp9",
            "-metadata",
            &format!("prompt={GRAPH}"),
            "-metadata",
            "comment=hello",
        ],
    );
    let mov = v.make(
        "a.mov",
        &["-c:v", "mpeg4", "-metadata", "comment=AnimateDiff infotext"],
    );

    let m = scan(&fs::read(&old).unwrap());
    assert_eq!(m.format, Format::Mp4);
    assert_eq!(entry(&m, "mp4:ilst", "comment"), Some(comment.as_str()));
    assert!(entry(&m, "mp4:ilst", "encoder")
        .unwrap()
        .starts_with("Lavf"));
    assert_eq!(
        (m.width, m.height, m.frames),
        (Some(64), Some(48), Some(10))
    );

    let m = scan(&fs::read(&new).unwrap());
    assert_eq!(entry(&m, "mp4:mdta", "prompt"), Some(GRAPH));
    assert_eq!(
        entry(&m, "mp4:mdta", "workflow"),
        Some("{\"nodes\":[],\"links\":[]}")
    );

    let m = scan(&fs::read(&webm).unwrap());
    assert_eq!(m.format, Format::Matroska);
    assert_eq!(entry(&m, "mkv:tag", "prompt"), Some(GRAPH));
    assert_eq!(entry(&m, "mkv:tag", "comment"), Some("hello"));
    assert_eq!((m.width, m.height), (Some(64), Some(48)));

    let m = scan(&fs::read(&mov).unwrap());
    assert_eq!(m.format, Format::Mov);
    assert_eq!(
        entry(&m, "mp4:udta", "comment"),
        Some("AnimateDiff infotext")
    );

    let source = FileSource::new(fs::File::open(&new).unwrap()).unwrap();
    let info = video_info(&source, &Limits::DEFAULT).unwrap();
    assert_eq!(info.frames, Some(10));
    assert!((info.fps.unwrap() - 10.0).abs() < 1e-9, "{info:?}");
    assert!((info.duration.unwrap() - 1.0).abs() < 0.05, "{info:?}");
    assert_eq!(info.codec.as_deref(), Some("avc1"));
    let source = FileSource::new(fs::File::open(&webm).unwrap()).unwrap();
    let info = video_info(&source, &Limits::DEFAULT).unwrap();
    assert_eq!(info.frames, Some(10));
    assert!((info.duration.unwrap() - 1.0).abs() < 0.05, "{info:?}");
    assert_eq!(info.codec.as_deref(), Some("V_VP9"));
}

/// Stamp, check with ffmpeg/ffprobe/ExifTool, re-stamp, strip back to the original bytes.
fn stamp_roundtrip(path: &Path, tag_key: &str) {
    let original = fs::read(path).unwrap();
    let before = framemd5(path);
    let data_id = handler_of(&original)
        .data_id(&original, &Limits::DEFAULT)
        .unwrap();
    let stamped = edit(&original, &Edit::set_record(RECORD.into()));
    assert_ne!(stamped, original);
    let out = path.with_file_name(format!(
        "stamped-{}",
        path.file_name().unwrap().to_str().unwrap()
    ));
    fs::write(&out, &stamped).unwrap();
    assert_eq!(framemd5(&out), before, "{}: media changed", path.display());
    let tags = ffprobe_tags(&out);
    let m = scan(&stamped);
    assert_eq!(m.record_json.as_deref(), Some(RECORD), "{}", path.display());
    assert_eq!(
        handler_of(&stamped)
            .data_id(&stamped, &Limits::DEFAULT)
            .unwrap(),
        data_id
    );
    assert!(handler_of(&stamped)
        .check(&stamped, &Limits::DEFAULT)
        .unwrap()
        .is_empty());
    if !tag_key.is_empty() {
        assert_eq!(tags[tag_key].as_str(), Some(RECORD), "{tags}");
    }
    // Stamping again replaces the record; stripping gives back the original bytes.
    let again = edit(&stamped, &Edit::set_record(RECORD.replace("42", "43")));
    assert_eq!(
        scan(&again).record_json.unwrap(),
        RECORD.replace("42", "43")
    );
    assert_eq!(
        edit(&again, &Edit::strip(StripProfile::Stemma)),
        original,
        "{}",
        path.display()
    );
    assert_eq!(edit(&original, &Edit::default()), original);
    if let Some(exiftool) = exiftool() {
        let o = Command::new(exiftool)
            .args([
                "-j",
                "-G1",
                "-a",
                "-warning",
                "-XMP-dc:Description",
                "-XMP-stemma:all",
            ])
            .arg(&out)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let v = &v[0];
        if tag_key.is_empty() {
            assert_eq!(
                v["XMP-dc:Description"].as_str(),
                Some("a duck & a <cat> ✓"),
                "{v}"
            );
        }
        assert!(v.get("ExifTool:Warning").is_none(), "ExifTool warned: {v}");
    }
}

#[test]
fn stamping_mp4_mov_and_webm_keeps_every_media_byte_and_strips_back() {
    if !has_ffmpeg() {
        return;
    }
    let v = Videos::new();
    let x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"];
    let plain = v.make(
        "plain.mp4",
        &[&x264[..], &["-metadata", "comment=x"]].concat(),
    );
    let fast = v.make(
        "fast.mp4",
        &[&x264[..], &["-movflags", "+faststart"]].concat(),
    );
    let mov = v.make("a.mov", &["-c:v", "mpeg4", "-metadata", "comment=c"]);
    let webm = v.make("a.webm", &["-c:v", "libvpx-vp9", "-metadata", "prompt=p"]);
    let mkv = v.make("a.mkv", &["-c:v", "mpeg4", "-metadata", "comment=c"]);
    let fragmented = v.make(
        "frag.mp4",
        &[&x264[..], &["-movflags", "frag_keyframe+empty_moov"]].concat(),
    );
    let live = v.make(
        "live.webm",
        &["-c:v", "libvpx-vp9", "-live", "1", "-metadata", "prompt=p"],
    );
    for p in [&plain, &fast, &mov, &fragmented] {
        stamp_roundtrip(p, "");
    }
    let m = scan(&fs::read(&fragmented).unwrap());
    assert_eq!(
        m.frames, None,
        "a fragmented movie's frame count is not in moov"
    );
    let head = fs::read(&live).unwrap();
    let seg = head
        .windows(4)
        .position(|w| w == [0x18, 0x53, 0x80, 0x67])
        .unwrap();
    assert_eq!(
        head[seg + 4..seg + 12],
        [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        "unknown-size Segment"
    );
    for p in [&webm, &mkv, &live] {
        stamp_roundtrip(p, "STEMMA");
    }
    // ffmpeg's MKV SeekHead carries a CRC-32; after the Seek entry is added it still matches.
    let stamped = edit(&fs::read(&mkv).unwrap(), &Edit::set_record(RECORD.into()));
    let at = stamped
        .windows(4)
        .position(|w| w == [0x11, 0x4D, 0x9B, 0x74])
        .unwrap();
    let size = usize::from(stamped[at + 4] & 0x7F);
    let data = &stamped[at + 5..at + 5 + size];
    assert_eq!(data[0], 0xBF, "CRC-32 first");
    assert_eq!(data[2..6], crc32fast::hash(&data[6..]).to_le_bytes());
}

#[test]
fn xmp_in_a_faststart_mov_grows_moov_and_shifts_chunk_offsets() {
    if !has_ffmpeg() {
        return;
    }
    let v = Videos::new();
    let packet = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="cam"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
    let mov = v.make(
        "x.mov",
        &[
            "-c:v",
            "mpeg4",
            "-metadata",
            &format!("xmp={packet}"),
            "-movflags",
            "+faststart",
        ],
    );
    let original = fs::read(&mov).unwrap();
    let m = scan(&original);
    assert!(
        m.entries.iter().any(|e| e.origin == "xmp"),
        "ffmpeg wrote no XMP_: {m:?}"
    );
    let kinds: Vec<&str> = m.blocks.iter().map(|b| b.kind.as_str()).collect();
    let (moov, mdat) = (
        kinds.iter().position(|k| *k == "moov"),
        kinds.iter().position(|k| *k == "mdat"),
    );
    assert!(moov < mdat, "{kinds:?}");
    stamp_roundtrip(&mov, "");
    let stamped = edit(&original, &Edit::set_record(RECORD.into()));
    // The record went into the existing packet, not a second one.
    assert_eq!(
        scan(&stamped)
            .entries
            .iter()
            .filter(|e| e.origin == "xmp")
            .count(),
        1
    );
    assert!(String::from_utf8_lossy(&stamped).contains("xmp:CreatorTool=\"cam\""));
}

#[test]
fn strip_all_removes_tags_and_xmp_and_keeps_media() {
    if !has_ffmpeg() {
        return;
    }
    let v = Videos::new();
    let mp4 = v.make(
        "a.mp4",
        &[
            "-c:v",
            "mpeg4",
            "-metadata",
            "prompt=p",
            "-movflags",
            "use_metadata_tags+faststart",
        ],
    );
    let webm = v.make("a.webm", &["-c:v", "libvpx-vp9", "-metadata", "prompt=p"]);
    for p in [mp4, webm] {
        let original = fs::read(&p).unwrap();
        let stamped = edit(&original, &Edit::set_record(RECORD.into()));
        let stripped = edit(&stamped, &Edit::strip(StripProfile::All));
        let out = p.with_extension(format!(
            "stripped.{}",
            p.extension().unwrap().to_str().unwrap()
        ));
        fs::write(&out, &stripped).unwrap();
        assert_eq!(framemd5(&out), framemd5(&p));
        let m = scan(&stripped);
        assert!(m.record_json.is_none());
        assert!(
            !m.entries.iter().any(|e| e.key == "prompt"),
            "{:?}",
            m.entries
        );
    }
}

#[test]
fn data_id_is_the_media_packets() {
    if !has_ffmpeg() {
        return;
    }
    let v = Videos::new();
    let mp4 = v.make("a.mp4", &["-c:v", "mpeg4", "-metadata", "comment=x"]);
    let mkv = mp4.with_file_name("a.mkv");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&mp4)
        .args(["-c", "copy"])
        .arg(&mkv)
        .output()
        .unwrap();
    assert!(out.status.success());
    // The oracle: ffmpeg's own packets, concatenated.
    let packets = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&mp4)
        .args(["-map", "0:v", "-c", "copy", "-f", "data", "-"])
        .output()
        .unwrap()
        .stdout;
    let expected = format!("sha256:{}", hex::encode(Sha256::digest(&packets)));
    for p in [&mp4, &mkv] {
        let bytes = fs::read(p).unwrap();
        let id = handler_of(&bytes)
            .data_id(&bytes, &Limits::DEFAULT)
            .unwrap();
        assert_eq!(id.to_string(), expected, "{}", p.display());
    }
}

/// A source that counts the bytes read.
struct Counting {
    inner: FileSource,
    read: AtomicU64,
}

impl Source for Counting {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

#[test]
fn reading_a_2gb_mp4_reads_only_its_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mp4");
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(&bx(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41"))
        .unwrap();
    let mut data = 1u32.to_be_bytes().to_vec();
    data.extend_from_slice(&[0; 4]);
    data.extend_from_slice(b"a comment");
    let item = bx(b"\xA9cmt", &bx(b"data", &data));
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"mdir");
    hdlr.extend_from_slice(&[0; 13]);
    let mut meta = vec![0u8; 4];
    meta.extend(bx(b"hdlr", &hdlr));
    meta.extend(bx(b"ilst", &item));
    let mut mvhd = vec![0u8; 12];
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&5000u32.to_be_bytes());
    mvhd.extend_from_slice(&[0; 80]);
    let moov = bx(
        b"moov",
        &[bx(b"mvhd", &mvhd), bx(b"udta", &bx(b"meta", &meta))].concat(),
    );
    f.write_all(&moov).unwrap();
    // mdat with a 64-bit size: 2 GiB of (sparse) media.
    let media: u64 = 2 << 30;
    let mut mdat = 1u32.to_be_bytes().to_vec();
    mdat.extend_from_slice(b"mdat");
    mdat.extend_from_slice(&(media + 16).to_be_bytes());
    f.write_all(&mdat).unwrap();
    f.seek(SeekFrom::Current(media as i64)).unwrap();
    f.write_all(&bx(b"free", b"end")).unwrap();
    drop(f);
    assert!(fs::metadata(&path).unwrap().len() > media);
    let source = Counting {
        inner: FileSource::new(fs::File::open(&path).unwrap()).unwrap(),
        read: AtomicU64::new(0),
    };
    let start = std::time::Instant::now();
    let m = ops::scan_source(&source, &Limits::DEFAULT).unwrap();
    let read = source.read.load(Ordering::Relaxed);
    eprintln!("2 GiB MP4: scan read {read} bytes in {:?}", start.elapsed());
    assert_eq!(m.format, Format::Mp4);
    assert_eq!(entry(&m, "mp4:ilst", "comment"), Some("a comment"));
    assert!(m
        .blocks
        .iter()
        .any(|b| b.kind == "free" && b.offset > media));
    assert!(read < 1 << 20, "read {read} bytes");
    let info = video_info(&source, &Limits::DEFAULT).unwrap();
    assert_eq!(info.duration, Some(5.0));
}

#[test]
fn hostile_videos_are_refused_with_reasons() {
    let limits = Limits::DEFAULT;
    let mp4 = handler_for(Format::Mp4).unwrap();
    // A box that claims more bytes than the file has.
    let mut f = bx(b"ftyp", b"isom\0\0\0\0");
    f.extend_from_slice(&100u32.to_be_bytes());
    f.extend_from_slice(b"moov");
    let s: &dyn Source = &f.as_slice();
    let err = mp4.scan(s, &limits).unwrap_err().to_string();
    assert!(err.contains("runs past"), "{err}");
    // Matroska: an element size past the end, and SimpleTags nested deeper than max_depth.
    let mkv = handler_for(Format::Matroska).unwrap();
    let mut ebml = vec![0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, b'x'];
    ebml.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x88, 1, 2, 3]);
    let s: &dyn Source = &ebml.as_slice();
    assert!(matches!(
        mkv.scan(s, &limits),
        Err(Error::Truncated { .. } | Error::Malformed { .. })
    ));
    let el = |id: &[u8], data: &[u8]| {
        [id, &[0x01], &(data.len() as u64).to_be_bytes()[1..], data].concat()
    };
    let mut inner = [el(&[0x45, 0xA3], b"A"), el(&[0x44, 0x87], b"v")].concat();
    for _ in 0..40 {
        inner = el(&[0x67, 0xC8], &inner);
    }
    let tags = el(&[0x12, 0x54, 0xC3, 0x67], &el(&[0x73, 0x73], &inner));
    let mut file = el(&[0x1A, 0x45, 0xDF, 0xA3], &[0x42, 0x82, 0x81, b'x']);
    file.extend(el(&[0x18, 0x53, 0x80, 0x67], &tags));
    let s: &dyn Source = &file.as_slice();
    let m = mkv.scan(s, &limits).unwrap();
    assert!(
        m.warnings.iter().any(|w| w.contains("max_depth")),
        "{:?}",
        m.warnings
    );
    let err = mkv
        .edit(&file, &Edit::set_record(RECORD.into()), &limits)
        .unwrap_err();
    assert!(err.to_string().contains("max_depth"), "{err}");
    // Writing needs a SeekHead with room: a file without one is refused with a reason.
    let mut plain = el(
        &[0x1A, 0x45, 0xDF, 0xA3],
        &[0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'],
    );
    plain.extend(el(
        &[0x18, 0x53, 0x80, 0x67],
        &el(&[0x15, 0x49, 0xA9, 0x66], &el(&[0x7B, 0xA9], b"t")),
    ));
    let s: &dyn Source = &plain.as_slice();
    assert_eq!(
        entry(&mkv.scan(s, &limits).unwrap(), "mkv:info", "title"),
        Some("t")
    );
    let err = mkv
        .edit(&plain, &Edit::set_record(RECORD.into()), &limits)
        .unwrap_err();
    assert!(err.to_string().contains("sidecar"), "{err}");
    // A Segment of unknown size with a Cluster of unknown size: both end at the end of the file.
    let mut live = el(
        &[0x1A, 0x45, 0xDF, 0xA3],
        &[0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'],
    );
    live.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF, 0x1F, 0x43, 0xB6, 0x75, 0xFF]);
    live.extend(el(&[0xE7], &[0]));
    live.extend(el(&[0xA3], &[0x81, 0, 0, 0x80, 1, 2, 3]));
    live.extend(el(
        &[0x12, 0x54, 0xC3, 0x67],
        &el(
            &[0x73, 0x73],
            &el(
                &[0x67, 0xC8],
                &[el(&[0x45, 0xA3], b"PROMPT"), el(&[0x44, 0x87], b"p")].concat(),
            ),
        ),
    ));
    let s: &dyn Source = &live.as_slice();
    let m = mkv.scan(s, &limits).unwrap();
    assert_eq!(entry(&m, "mkv:tag", "prompt"), Some("p"));
    assert_eq!(
        m.blocks.iter().map(|b| b.kind.as_str()).collect::<Vec<_>>(),
        ["Cluster", "Tags"]
    );
    let id = mkv.data_id(&live, &limits).unwrap();
    assert_eq!(
        id.to_string(),
        format!("sha256:{}", hex::encode(Sha256::digest([1u8, 2, 3])))
    );
}

#[test]
fn data_id_vector_of_a_hand_made_mp4() {
    let mut f = bx(b"ftyp", b"isom\0\0\x02\0isom");
    f.extend(bx(b"mdat", b"stemma"));
    f.extend(bx(b"moov", &bx(b"mvhd", &[0; 100])));
    let id = handler_of(&f).data_id(&f, &Limits::DEFAULT).unwrap();
    assert_eq!(
        id.to_string(),
        "sha256:8bef299c7aae5f17363b5c466dc0f5a47bcb8a921d80a044bbd5bd198bf1d554"
    );
    // Appending the record moves nothing and keeps the data id; stripping restores the bytes.
    let stamped = edit(&f, &Edit::set_record(RECORD.into()));
    assert_eq!(&stamped[..f.len()], &f[..]);
    assert_eq!(
        handler_of(&stamped)
            .data_id(&stamped, &Limits::DEFAULT)
            .unwrap(),
        id
    );
    assert_eq!(edit(&stamped, &Edit::strip(StripProfile::Stemma)), f);
}

#[test]
fn merges_into_the_xmp_exiftool_put_before_mdat() {
    if !has_ffmpeg() {
        return;
    }
    let Some(exiftool) = exiftool() else {
        return;
    };
    let v = Videos::new();
    let mp4 = v.make(
        "e.mp4",
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
        ],
    );
    let o = Command::new(&exiftool)
        .args(["-q", "-overwrite_original", "-XMP-dc:Title=hello"])
        .arg(&mp4)
        .output()
        .unwrap();
    assert!(o.status.success());
    let original = fs::read(&mp4).unwrap();
    let m = scan(&original);
    let kinds: Vec<&str> = m.blocks.iter().map(|b| b.kind.as_str()).collect();
    let (uuid, mdat) = (
        kinds.iter().position(|k| *k == "uuid"),
        kinds.iter().position(|k| *k == "mdat"),
    );
    assert!(
        uuid.is_some() && uuid < mdat,
        "ExifTool's XMP is before mdat: {kinds:?}"
    );
    stamp_roundtrip(&mp4, "");
    let stamped = edit(&original, &Edit::set_record(RECORD.into()));
    assert_eq!(
        scan(&stamped)
            .entries
            .iter()
            .filter(|e| e.origin == "xmp")
            .count(),
        1
    );
}

#[test]
fn truncated_and_corrupted_videos_never_panic() {
    if !has_ffmpeg() {
        return;
    }
    let v = Videos::new();
    let files = [
        v.make(
            "t.mp4",
            &[
                "-c:v",
                "mpeg4",
                "-metadata",
                "prompt=p",
                "-movflags",
                "use_metadata_tags",
            ],
        ),
        v.make("t.webm", &["-c:v", "libvpx-vp9", "-metadata", "prompt=p"]),
    ];
    let limits = Limits::DEFAULT;
    for path in files {
        let original = edit(&fs::read(&path).unwrap(), &Edit::set_record(RECORD.into()));
        let h = handler_of(&original);
        let mut variants: Vec<Vec<u8>> = (0..original.len())
            .step_by(7)
            .map(|n| original[..n].to_vec())
            .collect();
        for at in (0..original.len()).step_by(13) {
            let mut flipped = original.clone();
            flipped[at] ^= 0xA5;
            variants.push(flipped);
        }
        for bytes in variants {
            let s: &dyn Source = &bytes.as_slice();
            let _ = h.scan(s, &limits);
            let _ = h.check(&bytes, &limits);
            let _ = h.data_id(&bytes, &limits);
            let _ = video_info(s, &limits);
            let _ = h.edit(&bytes, &Edit::set_record(RECORD.into()), &limits);
            let _ = h.edit(&bytes, &Edit::strip(StripProfile::Stemma), &limits);
        }
    }
}
