//! Small pictures built byte by byte for the specification's vectors: PNG of every colour type (with Adam7), GIF
//! with a frame smaller than the screen (uncompressed LZW), animated WebP from a lossless frame.

use stemma_container::png::{encode_chunk, ChunkType};

/// A PNG made chunk by chunk from filtered rows (filter byte included); `before`/`after` are whole chunks placed
/// before and after IDAT. `interlace` 1 = Adam7 (rows must then be the passes' rows).
#[allow(clippy::too_many_arguments)]
pub fn png(
    size: (u32, u32),
    colour: u8,
    depth: u8,
    interlace: u8,
    rows: &[u8],
    plte_trns: (Option<&[u8]>, Option<&[u8]>),
    before: &[Vec<u8>],
    after: &[Vec<u8>],
    level: u32,
) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&size.0.to_be_bytes());
    ihdr.extend_from_slice(&size.1.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, interlace]);
    out.extend(encode_chunk(ChunkType(*b"IHDR"), &ihdr));
    if let Some(p) = plte_trns.0 {
        out.extend(encode_chunk(ChunkType(*b"PLTE"), p));
    }
    if let Some(t) = plte_trns.1 {
        out.extend(encode_chunk(ChunkType(*b"tRNS"), t));
    }
    for c in before {
        out.extend_from_slice(c);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
    std::io::Write::write_all(&mut z, rows).unwrap();
    out.extend(encode_chunk(ChunkType(*b"IDAT"), &z.finish().unwrap()));
    for c in after {
        out.extend_from_slice(c);
    }
    out.extend(encode_chunk(ChunkType(*b"IEND"), b""));
    out
}

/// Filtered rows (filter 0) of 8-bit RGBA pixels, `pixels[y][x]`.
pub fn rgba8_rows(pixels: &[Vec<[u8; 4]>]) -> Vec<u8> {
    let mut rows = Vec::new();
    for line in pixels {
        rows.push(0);
        for p in line {
            rows.extend_from_slice(p);
        }
    }
    rows
}

/// Adam7 pass rows (filter 0) of 8-bit RGBA pixels: pass by pass, empty passes left out.
pub fn adam7_rows(pixels: &[Vec<[u8; 4]>]) -> Vec<u8> {
    const PASSES: [(usize, usize, usize, usize); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let (h, w) = (pixels.len(), pixels[0].len());
    let mut rows = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= w || y0 >= h {
            continue;
        }
        for y in (y0..h).step_by(dy) {
            rows.push(0);
            for x in (x0..w).step_by(dx) {
                rows.extend_from_slice(&pixels[y][x]);
            }
        }
    }
    rows
}

/// A 4×4 picture: a colour ramp, opaque.
pub fn ramp() -> Vec<Vec<[u8; 4]>> {
    (0..4u8)
        .map(|y| (0..4u8).map(|x| [x * 60, y * 60, 128, 255]).collect())
        .collect()
}

/// GIF LZW data with minimum code size 2 and no compression: every index is preceded by a clear code, so codes stay
/// 3 bits wide and any decoder reads them back.
fn lzw_uncompressed(indices: &[u8]) -> Vec<u8> {
    let (clear, end) = (4u32, 5u32);
    let mut codes: Vec<u32> = Vec::new();
    for &i in indices {
        codes.push(clear);
        codes.push(u32::from(i));
    }
    codes.push(end);
    let mut bytes = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in codes {
        acc |= c << bits;
        bits += 3;
        while bits >= 8 {
            bytes.push((acc & 0xFF) as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        bytes.push(acc as u8);
    }
    let mut out = vec![2u8];
    for block in bytes.chunks(255) {
        out.push(block.len() as u8);
        out.extend_from_slice(block);
    }
    out.push(0);
    out
}

/// A GIF89a with a 4×4 screen, a 4-colour global table (red, green, blue, white), a background index of 3 (white,
/// which readers must not paint), and one 2×2 frame at (1, 1) whose index 0 is transparent:
/// frame pixels = [[transparent, green], [blue, white]].
pub fn gif_small_frame() -> Vec<u8> {
    let mut f = b"GIF89a".to_vec();
    f.extend_from_slice(&[4, 0, 4, 0, 0x81, 3, 0]);
    f.extend_from_slice(&[255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
    // Graphic Control Extension: disposal 2 (restore to background), transparent colour flag, index 0.
    f.extend_from_slice(&[0x21, 0xF9, 4, 0b0000_1001, 10, 0, 0, 0]);
    f.extend_from_slice(&[0x2C, 1, 0, 1, 0, 2, 0, 2, 0, 0]);
    f.extend(lzw_uncompressed(&[0, 1, 2, 3]));
    f.push(0x3B);
    f
}

/// What [`gif_small_frame`] shows: the frame on a transparent canvas.
pub fn gif_small_frame_expected() -> Vec<Vec<[u8; 4]>> {
    let mut canvas = vec![vec![[0u8; 4]; 4]; 4];
    canvas[1][2] = [0, 255, 0, 255];
    canvas[2][1] = [0, 0, 255, 255];
    canvas[2][2] = [255, 255, 255, 255];
    canvas
}

fn riff_chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = fourcc.to_vec();
    c.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    c.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// An animated WebP: canvas 4×4, an opaque red background colour in `ANIM` (which readers must not paint), and one
/// lossless 2×2 frame at (2, 2) with alpha blending, holding `frame` (row-major RGBA).
pub fn webp_small_frame(frame: &[[u8; 4]; 4]) -> Vec<u8> {
    let mut img = image::RgbaImage::new(2, 2);
    for (i, p) in frame.iter().enumerate() {
        img.put_pixel((i % 2) as u32, (i / 2) as u32, image::Rgba(*p));
    }
    let mut simple = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut simple, image::ImageFormat::WebP)
        .unwrap();
    let simple = simple.into_inner();
    let vp8l = simple[12..].to_vec(); // the one VP8L chunk of the simple file
    assert_eq!(&vp8l[..4], b"VP8L");
    let mut vp8x = vec![0b0001_0010, 0, 0, 0];
    vp8x.extend_from_slice(&u24(3));
    vp8x.extend_from_slice(&u24(3));
    let anim = [0, 0, 255, 255, 0, 0]; // background BGRA = opaque red; loop forever
    let mut anmf = Vec::new();
    anmf.extend_from_slice(&u24(1)); // X / 2
    anmf.extend_from_slice(&u24(1)); // Y / 2
    anmf.extend_from_slice(&u24(1)); // width - 1
    anmf.extend_from_slice(&u24(1)); // height - 1
    anmf.extend_from_slice(&u24(100)); // duration
    anmf.push(0); // alpha blending, no disposal
    anmf.extend_from_slice(&vp8l);
    let body = [
        b"WEBP".to_vec(),
        riff_chunk(b"VP8X", &vp8x),
        riff_chunk(b"ANIM", &anim),
        riff_chunk(b"ANMF", &anmf),
    ]
    .concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}
