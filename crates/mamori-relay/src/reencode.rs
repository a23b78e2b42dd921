//! Releasing an image: the part is decoded and written anew as a PNG that holds its pixels and nothing else.
//!
//! Only PNG, JPEG and GIF are read (the format comes from the sniffed type, never from the name); of a GIF
//! only the first frame. The new PNG has no text, EXIF, ICC profile, time or any other chunk: an image
//! whose metadata carried a payload, a location or a tracking id arrives without it. A JPEG's EXIF
//! orientation is applied to the pixels before the EXIF goes, so the picture still stands the right way up.
//!
//! Limits, checked before anything large is allocated: width and height, pixel count, and the decoder's
//! memory (`image::Limits::max_alloc`, and the decoded size announced by the header), so a decompression
//! bomb (a small file whose header claims a huge picture) is refused without decoding it. The PNG written
//! has a size limit too.

use std::io::{Cursor, Write};

use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder as _, ImageError, ImageFormat, ImageReader};

/// The limits of an image conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Widest and tallest picture read, in pixels.
    pub max_side: u32,
    /// Most pixels read (width × height).
    pub max_pixels: u64,
    /// Most memory the decoder may allocate, in bytes (the decoded pixels included).
    pub max_alloc: u64,
    /// Largest PNG written, in bytes.
    pub max_encoded: usize,
}

impl Default for ImageLimits {
    /// 8,000 pixels a side, 40 megapixels, 256 MiB for the decoder, 16 MiB of PNG (about 22 MiB once
    /// base64-encoded in the message, under the relay's default 25 MiB).
    fn default() -> Self {
        Self {
            max_side: 8_000,
            max_pixels: 40_000_000,
            max_alloc: 256 * 1024 * 1024,
            max_encoded: 16 * 1024 * 1024,
        }
    }
}

/// A converted image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// What was read: `PNG`, `JPEG` or `GIF (first frame)`.
    pub source: &'static str,
}

/// Why an image was not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRefused {
    /// Not a PNG, JPEG or GIF by its bytes.
    UnsupportedFormat,
    /// The bytes do not decode (truncated, corrupt).
    Invalid(String),
    /// Over one of the limits.
    TooLarge(String),
}

impl ImageRefused {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedFormat | Self::Invalid(_) => "image_invalid",
            Self::TooLarge(_) => "image_too_large",
        }
    }

    /// The API's message.
    pub fn message(&self) -> String {
        match self {
            Self::UnsupportedFormat => {
                "the part is not a PNG, JPEG or GIF image; it stays in the quarantine".to_owned()
            }
            Self::Invalid(why) => {
                format!("the image cannot be decoded ({why}); it stays in the quarantine")
            }
            Self::TooLarge(why) => {
                format!("the image is too large ({why}); it stays in the quarantine")
            }
        }
    }
}

/// Decodes `content` (sniffed as `sniffed_type`: `png`, `jpeg` or `gif`) and writes its pixels as a new PNG.
pub fn to_png(
    content: &[u8],
    sniffed_type: &str,
    limits: &ImageLimits,
) -> Result<Png, ImageRefused> {
    let (format, source) = match sniffed_type {
        "png" => (ImageFormat::Png, "PNG"),
        "jpeg" => (ImageFormat::Jpeg, "JPEG"),
        "gif" => (ImageFormat::Gif, "GIF (first frame)"),
        _ => return Err(ImageRefused::UnsupportedFormat),
    };
    let mut reader = ImageReader::with_format(Cursor::new(content), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    // Reads the header only; the side limits are checked here.
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(ImageRefused::TooLarge(format!(
            "{width}×{height} is more than {} pixels",
            limits.max_pixels
        )));
    }
    if decoder.total_bytes() > limits.max_alloc {
        return Err(ImageRefused::TooLarge(format!(
            "{} bytes decoded is more than {}",
            decoder.total_bytes(),
            limits.max_alloc
        )));
    }
    let orientation = decoder.orientation().map_err(refusal)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    picture.apply_orientation(orientation);
    let mut out = Capped {
        bytes: Vec::new(),
        max: limits.max_encoded,
    };
    picture
        .write_with_encoder(PngEncoder::new(&mut out))
        .map_err(|e| match e {
            ImageError::IoError(_) => ImageRefused::TooLarge(format!(
                "the PNG would be more than {} bytes",
                limits.max_encoded
            )),
            other => ImageRefused::Invalid(other.to_string()),
        })?;
    Ok(Png {
        width: picture.width(),
        height: picture.height(),
        bytes: out.bytes,
        source,
    })
}

fn refusal(error: ImageError) -> ImageRefused {
    match error {
        ImageError::Limits(e) => ImageRefused::TooLarge(e.to_string()),
        other => ImageRefused::Invalid(other.to_string()),
    }
}

/// A buffer that refuses to grow past `max` bytes.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + data.len() > self.max {
            return Err(std::io::Error::other("over the size limit"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use image::{Rgb, RgbImage};

    fn png_of(picture: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(picture.clone())
            .write_with_encoder(PngEncoder::new(&mut out))
            .unwrap();
        out
    }

    fn noise(width: u32, height: u32) -> RgbImage {
        let mut state = 0x2545_f491_u32;
        RgbImage::from_fn(width, height, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [a, b, c, _] = state.to_le_bytes();
            Rgb([a, b, c])
        })
    }

    #[test]
    fn the_pixels_survive_the_round_trip() {
        let picture = noise(40, 30);
        let png = to_png(&png_of(&picture), "png", &ImageLimits::default()).unwrap();
        assert_eq!((png.width, png.height), (40, 30));
        let back = image::load_from_memory(&png.bytes).unwrap().to_rgb8();
        assert_eq!(back, picture);
    }

    #[test]
    fn each_limit_refuses_before_or_instead_of_writing() {
        let bytes = png_of(&noise(200, 100));
        let tight = |change: fn(&mut ImageLimits)| {
            let mut limits = ImageLimits::default();
            change(&mut limits);
            to_png(&bytes, "png", &limits)
        };
        for limits in [
            tight(|l| l.max_side = 150),
            tight(|l| l.max_pixels = 19_999),
            tight(|l| l.max_alloc = 50_000),
            tight(|l| l.max_encoded = 1_000),
        ] {
            assert!(
                matches!(limits, Err(ImageRefused::TooLarge(_))),
                "{limits:?}"
            );
        }
        assert!(tight(|l| l.max_pixels = 20_000).is_ok());
    }

    #[test]
    fn only_png_jpeg_and_gif_are_read() {
        assert_eq!(
            to_png(b"BM\0\0", "bmp", &ImageLimits::default()),
            Err(ImageRefused::UnsupportedFormat)
        );
        let refused = to_png(b"\x89PNG\r\n\x1a\n", "png", &ImageLimits::default()).unwrap_err();
        assert_eq!(refused.code(), "image_invalid");
    }
}
