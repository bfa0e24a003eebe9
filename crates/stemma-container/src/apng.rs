//! Writing an APNG from frames already compressed as PNG image data: the chunk assembly (`acTL`, `fcTL`,
//! `fdAT`), beside the PNG handler whose chunk encoders it uses. Which frames go in, and whether their data can
//! be copied or must be re-encoded, is the caller's business (`stemma-sequences`).

use crate::error::{Error, Result};
use crate::png::{
    encode_chunk, encode_itxt, ACTL, FCTL, FDAT, IDAT, IEND, IHDR, ITXT, RECORD_KEYWORD,
};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// What goes into one APNG.
#[derive(Debug, Clone, Copy)]
pub struct ApngParts<'a> {
    /// The IHDR data shared by every frame (13 bytes).
    pub ihdr: &'a [u8],
    /// Whole chunks (length, type, data, CRC) written after the record and before the first frame: palette,
    /// transparency, colour space.
    pub header_chunks: &'a [Vec<u8>],
    /// Each frame's compressed image data, as the data of its `IDAT` chunks in order.
    pub frames: &'a [Vec<Vec<u8>>],
    /// Every frame's delay, `num / den` seconds.
    pub delay: (u16, u16),
    /// The stemma record to embed (iTXt `stemma`, never compressed: specification §4.1).
    pub record_json: Option<&'a str>,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Malformed {
        format: "apng",
        reason: reason.into(),
        offset: 0,
    }
}

/// The bytes of the APNG: signature, IHDR, acTL (looping forever), the record, the header chunks, then per frame
/// an `fcTL` (full canvas, no disposal, source blend) and its data (`IDAT` for the first frame, `fdAT` after).
pub fn assemble(parts: &ApngParts) -> Result<Vec<u8>> {
    if parts.frames.is_empty() {
        return Err(bad("no frames"));
    }
    let ihdr = parts.ihdr;
    if ihdr.len() < 8 {
        return Err(bad("IHDR too short"));
    }
    let width = u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]);
    let height = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    let n = u32::try_from(parts.frames.len()).map_err(|_| bad("too many frames"))?;
    let mut png = Vec::new();
    png.extend_from_slice(&PNG_SIGNATURE);
    png.extend_from_slice(&encode_chunk(IHDR, ihdr));
    let mut actl = Vec::with_capacity(8);
    actl.extend_from_slice(&n.to_be_bytes());
    actl.extend_from_slice(&0u32.to_be_bytes());
    png.extend_from_slice(&encode_chunk(ACTL, &actl));
    if let Some(json) = parts.record_json {
        png.extend_from_slice(&encode_chunk(
            ITXT,
            &encode_itxt(RECORD_KEYWORD, json, false),
        ));
    }
    for c in parts.header_chunks {
        png.extend_from_slice(c);
    }
    let mut seq_no: u32 = 0;
    for (i, idats) in parts.frames.iter().enumerate() {
        let mut fctl = Vec::with_capacity(26);
        fctl.extend_from_slice(&seq_no.to_be_bytes());
        fctl.extend_from_slice(&width.to_be_bytes());
        fctl.extend_from_slice(&height.to_be_bytes());
        fctl.extend_from_slice(&0u32.to_be_bytes());
        fctl.extend_from_slice(&0u32.to_be_bytes());
        fctl.extend_from_slice(&parts.delay.0.to_be_bytes());
        fctl.extend_from_slice(&parts.delay.1.to_be_bytes());
        fctl.push(0); // dispose_op: none
        fctl.push(0); // blend_op: source
        png.extend_from_slice(&encode_chunk(FCTL, &fctl));
        seq_no += 1;
        for data in idats {
            if i == 0 {
                png.extend_from_slice(&encode_chunk(IDAT, data));
            } else {
                let mut fdat = Vec::with_capacity(data.len() + 4);
                fdat.extend_from_slice(&seq_no.to_be_bytes());
                fdat.extend_from_slice(data);
                png.extend_from_slice(&encode_chunk(FDAT, &fdat));
                seq_no += 1;
            }
        }
    }
    png.extend_from_slice(&encode_chunk(IEND, &[]));
    Ok(png)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::png::parse_chunks;
    use crate::Limits;

    #[test]
    fn two_frames_give_actl_fctl_idat_fdat_in_order() {
        let ihdr = [0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0];
        let frames = vec![vec![b"first".to_vec()], vec![b"second".to_vec()]];
        let png = assemble(&ApngParts {
            ihdr: &ihdr,
            header_chunks: &[],
            frames: &frames,
            delay: (1, 12),
            record_json: Some("{}"),
        })
        .unwrap();
        let chunks = parse_chunks(&png, &Limits::DEFAULT, false).unwrap();
        let kinds: Vec<String> = chunks
            .chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.kind.0).to_string())
            .collect();
        assert_eq!(
            kinds,
            ["IHDR", "acTL", "iTXt", "fcTL", "IDAT", "fcTL", "fdAT", "IEND"]
        );
    }

    #[test]
    fn no_frames_is_an_error() {
        let err = assemble(&ApngParts {
            ihdr: &[0; 13],
            header_chunks: &[],
            frames: &[],
            delay: (1, 1),
            record_json: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("no frames"), "{err}");
    }
}
