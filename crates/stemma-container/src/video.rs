//! A video as a sequence: frame count, frame rate and duration from the container's headers (MP4/MOV `mvhd`,
//! `mdhd`, `stts`; Matroska `Info`, `DefaultDuration` and the blocks of the video track). Never decodes frames.

use serde::Serialize;

use crate::detect::Format;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::source::Source;

/// What a video's headers say about it as a sequence of frames.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VideoInfo {
    pub container: Format,
    /// The video codec: the sample entry (`avc1`, `mp4v`) or Matroska CodecID (`V_VP9`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Frames of the first video track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Frames per second (mean, from frame count and track duration, or the default frame duration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// Duration in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

/// True for the formats [`video_info`] reads.
pub fn is_video(format: Format) -> bool {
    matches!(format, Format::Mp4 | Format::Mov | Format::Matroska)
}

/// The sequence facts of a video file; `Unsupported` for other formats.
pub fn video_info(source: &dyn Source, limits: &Limits) -> Result<VideoInfo> {
    match crate::ops::detect(source)? {
        f @ (Format::Mp4 | Format::Mov) => {
            let movie = crate::mp4::parse_movie(source, limits)?;
            crate::mp4::movie_info(source, &movie, f, limits)
        }
        Format::Matroska => crate::matroska::video_info(source, limits),
        other => Err(Error::Unsupported {
            operation: "reading video timing",
            format: other.name(),
        }),
    }
}
