#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Formats the held-out checks found missing (issue #16, item 5). Every input file is made here, by the format's
//! rules, and read through the real container scan and the importer registry.

use serde_json::json;
use stemma_container::{ops, Limits};
use stemma_import::{import, Evidence, ImportReport};

// ---------------------------------------------------------------------------------------------------------------
// File builders

/// A big-endian TIFF block: IFD0 entries and, when `exif` is not empty, an Exif IFD. Each entry is
/// (tag, TIFF type, value bytes); counts are in bytes for types 1/2/7.
fn tiff(ifd0: &[(u16, u16, Vec<u8>)], exif: &[(u16, u16, Vec<u8>)]) -> Vec<u8> {
    let mut ifd0: Vec<(u16, u16, Vec<u8>)> = ifd0.to_vec();
    let ifd0_len = |n: usize| 2 + 12 * n + 4;
    let n0 = ifd0.len() + usize::from(!exif.is_empty());
    // Layout: header (8), IFD0, IFD0 data, Exif IFD, Exif data.
    let data0: usize = ifd0
        .iter()
        .map(|(_, _, v)| if v.len() > 4 { v.len() } else { 0 })
        .sum();
    let exif_at = 8 + ifd0_len(n0) + data0;
    if !exif.is_empty() {
        ifd0.push((0x8769, 4, (exif_at as u32).to_be_bytes().to_vec()));
    }
    ifd0.sort_by_key(|(t, ..)| *t);
    let mut out = b"MM\0\x2a\0\0\0\x08".to_vec();
    write_ifd(&mut out, &ifd0, 8);
    if !exif.is_empty() {
        assert_eq!(out.len(), exif_at);
        write_ifd(&mut out, exif, exif_at);
    }
    out
}

fn write_ifd(out: &mut Vec<u8>, entries: &[(u16, u16, Vec<u8>)], at: usize) {
    let mut data_at = at + 2 + 12 * entries.len() + 4;
    let mut data = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        let count = if *kind == 4 {
            value.len() / 4
        } else {
            value.len()
        };
        out.extend_from_slice(&(count as u32).to_be_bytes());
        if value.len() <= 4 {
            let mut v = value.clone();
            v.resize(4, 0);
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&(data_at as u32).to_be_bytes());
            data.extend_from_slice(value);
            data_at += value.len();
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&data);
}

fn ascii(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    v.push(0);
    v
}

/// Exif UserComment, `UNICODE\0` + UTF-16BE.
fn user_comment(text: &str) -> Vec<u8> {
    let mut v = b"UNICODE\0".to_vec();
    for u in text.encode_utf16() {
        v.extend_from_slice(&u.to_be_bytes());
    }
    v
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

fn text_chunk(key: &str, value: &str) -> Vec<u8> {
    let mut data = key.as_bytes().to_vec();
    data.push(0);
    data.extend_from_slice(value.as_bytes());
    png_chunk(b"tEXt", &data)
}

/// An 8×8 PNG with `chunks` placed right after IHDR.
fn png_with(chunks: &[Vec<u8>]) -> Vec<u8> {
    let img =
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9])));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    let file = out.into_inner();
    let ihdr_end = 8 + 25;
    let mut result = file[..ihdr_end].to_vec();
    for c in chunks {
        result.extend_from_slice(c);
    }
    result.extend_from_slice(&file[ihdr_end..]);
    result
}

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An 8×8 JPEG with `segments` right after SOI.
fn jpeg_with(segments: &[Vec<u8>]) -> Vec<u8> {
    let img =
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9])));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let file = out.into_inner();
    let mut result = file[..2].to_vec();
    for s in segments {
        result.extend_from_slice(s);
    }
    result.extend_from_slice(&file[2..]);
    result
}

fn exif_app1(tiff: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    jpeg_segment(0xE1, &payload)
}

fn report_of(file: &[u8]) -> ImportReport {
    let metadata = ops::scan_source(&file, &Limits::DEFAULT).unwrap();
    import(&Evidence::new(&metadata).with_file(Some(file)))
}

// ---------------------------------------------------------------------------------------------------------------
// Civitai

const JOB: &str = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f";

#[test]
fn civitai_job_marker_alone_is_civitai_with_nothing_invented() {
    let file = jpeg_with(&[exif_app1(&tiff(
        &[(0x0131, 2, ascii(JOB)), (0x013B, 2, ascii("ai"))],
        &[],
    ))]);
    let report = report_of(&file);
    let imported = report.imported.expect("recognised");
    assert_eq!(imported.dialect, "civitai");
    assert_eq!(report.layers, vec!["civitai"]);
    let r = imported.record;
    assert_eq!(r.generator.as_ref().unwrap().name, "civitai");
    assert!(r.prompt.is_none(), "{:?}", r.prompt);
    assert!(r.params.is_none(), "{:?}", r.params);
    assert!(r.settings.is_none());
    assert!(r
        .raw
        .iter()
        .any(|e| e.key.as_deref() == Some("Software") && e.used));
    // Not a marker: another UUID-like Software without Artist = ai, or Artist = ai with a named Software.
    for ifd0 in [
        vec![(0x0131, 2, ascii(JOB))],
        vec![(0x0131, 2, ascii("GIMP 2.10")), (0x013B, 2, ascii("ai"))],
    ] {
        let file = jpeg_with(&[exif_app1(&tiff(&ifd0, &[]))]);
        assert!(report_of(&file).imported.is_none());
    }
}

#[test]
fn civitai_marker_with_infotext_stays_an_a1111_record() {
    let text = "a fox\nNegative prompt: blur\nSteps: 30, Sampler: Euler a, CFG scale: 5, Seed: 7, Size: 832x1216";
    let file = jpeg_with(&[exif_app1(&tiff(
        &[(0x0131, 2, ascii(JOB)), (0x013B, 2, ascii("ai"))],
        &[(0x9286, 7, user_comment(text))],
    ))]);
    let imported = report_of(&file).imported.unwrap();
    assert_eq!(imported.dialect, "a1111");
    assert_eq!(imported.record.generator.as_ref().unwrap().name, "civitai");
    assert_eq!(imported.record.positive(), Some("a fox"));
}

// ---------------------------------------------------------------------------------------------------------------
// DreamStudio

const Z85: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

fn z85(data: &[u8]) -> String {
    assert_eq!(data.len() % 4, 0);
    data.chunks(4)
        .flat_map(|c| {
            let mut v = u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            let mut s = [0u8; 5];
            for i in (0..5).rev() {
                s[i] = Z85[(v % 85) as usize];
                v /= 85;
            }
            s
        })
        .map(char::from)
        .collect()
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited protobuf field.
fn pb_bytes(field: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = varint(field << 3 | 2);
    v.extend(varint(payload.len() as u64));
    v.extend_from_slice(payload);
    v
}

fn pb_varint(field: u64, value: u64) -> Vec<u8> {
    let mut v = varint(field << 3);
    v.extend(varint(value));
    v
}

fn pb_float(field: u64, value: f32) -> Vec<u8> {
    let mut v = varint(field << 3 | 5);
    v.extend_from_slice(&value.to_le_bytes());
    v
}

#[test]
fn dreamstudio_image_history_fills_params() {
    // gooseai.Request: engine_id 1, request_id 2, prompt 4 {parameters 1 {weight 2}, text 2}, image 5 {height 1,
    // width 2, seed 3, samples 4, steps 5, transform 6 {diffusion 1}, parameters 7 {sampler 2 {cfg_scale 5}}}.
    let mut prompt = pb_bytes(1, &pb_float(2, 1.0));
    prompt.extend(pb_bytes(2, b"a giant rainbow sequoia"));
    let mut image = pb_varint(1, 768);
    image.extend(pb_varint(2, 512));
    image.extend(pb_varint(3, 4_166_726_513));
    image.extend(pb_varint(4, 1));
    image.extend(pb_varint(5, 30));
    image.extend(pb_bytes(6, &pb_varint(1, 9)));
    image.extend(pb_bytes(7, &pb_bytes(2, &pb_float(5, 7.0))));
    let mut request = pb_bytes(1, b"stable-diffusion-512-v2-1");
    request.extend(pb_bytes(2, b"req-1"));
    request.extend(pb_bytes(4, &prompt));
    request.extend(pb_bytes(5, &image));
    while !request.len().is_multiple_of(4) {
        request.push(0);
    }
    let block = tiff(
        &[
            (0x010E, 2, ascii("a giant rainbow sequoia")),
            (0x0110, 2, ascii("stability_diffusion")),
            (0x0131, 2, ascii("stability.ai")),
            (0x9213, 2, ascii(&z85(&request))),
        ],
        &[],
    );
    let file = png_with(&[png_chunk(b"eXIf", &block)]);
    let imported = report_of(&file).imported.unwrap();
    assert_eq!(imported.dialect, "dreamstudio");
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let r = imported.record;
    assert_eq!(r.positive(), Some("a giant rainbow sequoia"));
    let p = r.params.unwrap();
    assert_eq!(
        p.model.unwrap().name.as_deref(),
        Some("stable-diffusion-512-v2-1")
    );
    assert_eq!(p.seed.as_deref(), Some("4166726513"));
    assert_eq!(
        (p.steps, p.width, p.height),
        (Some(30), Some(512), Some(768))
    );
    assert_eq!(p.cfg_scale, Some(7.0));
    assert_eq!(p.sampler.as_deref(), Some("SAMPLER_K_DPMPP_2M"));
}

// ---------------------------------------------------------------------------------------------------------------
// ComfyUI

/// An API graph: checkpoint → two encoders → KSampler → save.
fn graph(positive: serde_json::Value) -> serde_json::Value {
    json!({
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "model.safetensors"}},
        "6": positive,
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "lowres", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": 11, "steps": 24, "cfg": 6.5, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "Image Saver", "inputs": {"images": ["8", 0]}}
    })
}

fn plain_positive(text: &str) -> serde_json::Value {
    json!({"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}})
}

const SAVER_TEXT: &str =
    "a lighthouse at dusk\nNegative prompt: lowres\nSteps: 24, Sampler: Euler, CFG scale: 6.5, \
                          Seed: 11, Size: 832x1216, Model: model, Version: ComfyUI";

fn assert_both_layers(report: &ImportReport, carrier: &str) {
    assert!(report.layers.contains(&"comfyui"), "{:?}", report.layers);
    assert!(report.layers.contains(&"a1111"), "{:?}", report.layers);
    let imported = report.imported.as_ref().unwrap();
    let r = &imported.record;
    assert_eq!(r.positive(), Some("a lighthouse at dusk"));
    assert_eq!(
        r.settings.as_ref().unwrap().format.as_deref(),
        Some("comfyui-api")
    );
    // The A1111-style text is kept verbatim beside the graph.
    let kept = r
        .raw
        .iter()
        .find(|e| e.key.as_deref() == Some(carrier))
        .unwrap_or_else(|| panic!("no {carrier} in {:?}", r.raw));
    assert_eq!(kept.text.as_deref(), Some(SAVER_TEXT));
}

#[test]
fn image_saver_png_keeps_the_graph_and_the_parameters_text() {
    let g = graph(plain_positive("a lighthouse at dusk"));
    let file = png_with(&[
        text_chunk("parameters", SAVER_TEXT),
        text_chunk("workflow", r#"{"nodes": [], "links": [], "version": 0.4}"#),
        text_chunk("prompt", &g.to_string()),
    ]);
    assert_both_layers(&report_of(&file), "parameters");
}

#[test]
fn image_saver_jpeg_keeps_the_graph_and_the_user_comment() {
    // ComfyUI-Image-Saver's JPEG/WebP: IFD0 Make = `workflow:…`, Model = `prompt:…`, Exif UserComment = A1111 text.
    let g = graph(plain_positive("a lighthouse at dusk"));
    let file = jpeg_with(&[exif_app1(&tiff(
        &[
            (
                0x010F,
                2,
                ascii(r#"workflow:{"nodes":[],"links":[],"version":0.4}"#),
            ),
            (0x0110, 2, ascii(&format!("prompt:{g}"))),
        ],
        &[(0x9286, 7, user_comment(SAVER_TEXT))],
    ))]);
    assert_both_layers(&report_of(&file), "UserComment");
}

#[test]
fn wildcard_encoder_gives_the_populated_text_once() {
    let g = graph(json!({"class_type": "ImpactWildcardEncode", "inputs": {
        "wildcard_text": "a __animal__ in the snow",
        "populated_text": "a red fox in the snow",
        "mode": "populate", "Select to add LoRA": "Select the LoRA to add to the text",
        "Select to add Wildcard": "Select the Wildcard to add to the text", "seed": 5,
        "model": ["4", 0], "clip": ["4", 1]}}));
    let file = png_with(&[text_chunk("prompt", &g.to_string())]);
    let r = report_of(&file).imported.unwrap().record;
    assert_eq!(r.positive(), Some("a red fox in the snow"));
    // Nothing populated yet: the template is what was encoded.
    let g = graph(json!({"class_type": "ImpactWildcardEncode", "inputs": {
        "wildcard_text": "a cabin", "populated_text": "", "mode": "fixed", "seed": 5,
        "model": ["4", 0], "clip": ["4", 1]}}));
    let file = png_with(&[text_chunk("prompt", &g.to_string())]);
    assert_eq!(
        report_of(&file).imported.unwrap().record.positive(),
        Some("a cabin")
    );
}

// ---------------------------------------------------------------------------------------------------------------
// InvokeAI

#[test]
fn invokeai_1x_keeps_the_prompt_as_written_and_the_model_name() {
    let dream =
        r#""blue sphere:0.5 red cube:0.5 [blurry]" -s 50 -S 1234 -W 512 -H 512 -C 7.5 -A k_lms"#;
    let hash = "fe4efff1e174c627256e44ec2991ba279b3816e364b49f9be2abc0b3ff3f8556";
    let sd_meta = json!({
        "model": "stable diffusion", "model_id": "stable-diffusion-1.4", "model_hash": hash,
        "app_id": "lstein/stable-diffusion", "app_version": "v1.15",
        "image": {"prompt": [{"prompt": "blue sphere", "weight": 0.5}, {"prompt": "red cube [blurry]", "weight": 0.5}],
                  "steps": 50, "cfg_scale": 7.5, "height": 512, "width": 512, "seed": 1234,
                  "sampler": "k_lms", "type": "txt2img"}
    });
    let file = png_with(&[
        text_chunk("Dream", dream),
        text_chunk("sd-metadata", &sd_meta.to_string()),
    ]);
    let imported = report_of(&file).imported.unwrap();
    assert_eq!(imported.dialect, "invokeai");
    let r = imported.record;
    let prompt = r.prompt.as_ref().unwrap();
    assert_eq!(
        prompt.positive.as_deref(),
        Some("blue sphere:0.5 red cube:0.5")
    );
    assert_eq!(prompt.negative.as_deref(), Some("blurry"));
    let model = r.params.as_ref().unwrap().model.clone().unwrap();
    assert_eq!(model.name.as_deref(), Some("stable-diffusion-1.4"));
    assert_eq!(model.hash.as_deref(), Some(hash));
    assert!(
        r.raw.iter().all(|e| e.used),
        "both keys are read: {:?}",
        r.raw
    );
    // Without the command line the weighted parts are written back in the same syntax.
    let mut sd_meta = sd_meta;
    sd_meta["image"]["prompt"] =
        json!([{"prompt": "blue sphere", "weight": 0.5}, {"prompt": "red cube", "weight": 0.5}]);
    let file = png_with(&[text_chunk("sd-metadata", &sd_meta.to_string())]);
    let r = report_of(&file).imported.unwrap().record;
    assert_eq!(r.positive(), Some("blue sphere:0.5 red cube:0.5"));
}

#[test]
fn invokeai_jpeg_with_graph_in_com_segments() {
    // A graph without a sampler (an upscale): still InvokeAI's.
    let graph = json!({
        "id": "upscale_graph",
        "nodes": {"esrgan:1": {"id": "esrgan:1", "type": "esrgan", "model_name": "RealESRGAN_x4plus.pth",
                               "is_intermediate": false, "use_cache": false}},
        "edges": []
    });
    let workflow = json!({"name": "", "nodes": [], "edges": [], "meta": {"version": "3.0.0", "category": "user"}});
    let file = jpeg_with(&[
        jpeg_segment(0xFE, format!("invokeai_graph: {graph}").as_bytes()),
        jpeg_segment(0xFE, format!("invokeai_workflow: {workflow}").as_bytes()),
    ]);
    let report = report_of(&file);
    assert_eq!(report.layers, vec!["invokeai"]);
    let imported = report.imported.unwrap();
    assert_eq!(imported.dialect, "invokeai");
    assert_eq!(imported.record.generator.as_ref().unwrap().name, "invokeai");
    assert!(imported.record.raw.iter().any(|e| e.used));
    // The wrapper form: one COM segment holding a JSON object keyed like the PNG chunks.
    let wrapped = json!({"invokeai_graph": graph.to_string()});
    let file = jpeg_with(&[jpeg_segment(0xFE, wrapped.to_string().as_bytes())]);
    assert_eq!(report_of(&file).imported.unwrap().dialect, "invokeai");
    // A plain JPEG comment is nobody's.
    let file = jpeg_with(&[jpeg_segment(0xFE, b"Created with GIMP")]);
    assert!(report_of(&file).imported.is_none());
}
