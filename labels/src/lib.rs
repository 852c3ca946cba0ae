//! QR codes of GS1 Digital Links, drawn as SVG and PNG, and printable labels: what a producer
//! prints on a batch, a case or an item, and what a phone's camera scans to open the record.
//!
//! - [`Qr`] encodes text (a Digital Link URI) at error-correction level M, which survives about
//!   15% of the symbol scratched or dirty, as GS1 recommends for QR codes on packaging, and
//!   draws it with the four-module quiet zone scanners need.
//! - [`label_svg`] lays out one printable label: the QR code and, under it, the lines a person
//!   reads (the GS1 human-readable interpretation of the code, the product's name); [`sheet_svg`]
//!   puts many labels on one sheet to print.
//!
//! The drawing is ours rather than a rendering crate's: an SVG of one path (horizontal runs of
//! dark modules) and a greyscale PNG, both exact to the module, so that the tests can decode the
//! very bytes served and printed.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light margin around the symbol: the quiet zone ISO/IEC 18004 requires.
pub const QUIET_ZONE: usize = 4;

/// Most pixels per module a PNG may be drawn at; larger prints should use the SVG.
pub const MAX_PNG_MODULE_PIXELS: u32 = 40;

/// Why a QR code or a label could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The text does not fit in the largest QR code at level M.
    #[error("{bytes} bytes do not fit in a QR code at error-correction level M")]
    TooLong {
        /// The text's length.
        bytes: usize,
    },
    /// A PNG was asked for at a module size out of range.
    #[error("a PNG's modules are 1 to {MAX_PNG_MODULE_PIXELS} pixels, not {pixels}")]
    ModuleSize {
        /// The size asked for.
        pixels: u32,
    },
    /// The PNG encoder failed (it writes to memory, so this is not expected).
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// A QR code: a square of dark and light modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    width: usize,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text` at error-correction level M.
    pub fn encode(text: &str) -> Result<Qr, LabelError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|_| LabelError::TooLong { bytes: text.len() })?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|color| color == Color::Dark)
            .collect();
        Ok(Qr { width, dark })
    }

    /// Modules on a side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Modules on a side, with the quiet zone on both sides.
    pub fn side(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Whether the module at column `x`, row `y` (0-based, without the quiet zone) is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// The dark modules as one SVG path in module units, with the quiet zone: each row's runs
    /// of dark modules as rectangles, so that the path stays small.
    fn path(&self, offset_x: usize, offset_y: usize) -> String {
        let mut path = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                let run = x - start;
                // Writing to a String cannot fail.
                let _ = write!(
                    path,
                    "M{},{}h{run}v1h-{run}z",
                    start + QUIET_ZONE + offset_x,
                    y + QUIET_ZONE + offset_y
                );
            }
        }
        path
    }

    /// The symbol as a standalone SVG document, `size_mm` millimetres on a side when printed
    /// (scalable: a browser draws it at any size).
    pub fn to_svg(&self, size_mm: f32) -> String {
        let side = self.side();
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
             width=\"{size_mm}mm\" height=\"{size_mm}mm\" shape-rendering=\"crispEdges\">\
             <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{}\"/></svg>\n",
            self.path(0, 0)
        )
    }

    /// The symbol as a greyscale PNG, `module_pixels` pixels per module, quiet zone included.
    pub fn to_png(&self, module_pixels: u32) -> Result<Vec<u8>, LabelError> {
        if !(1..=MAX_PNG_MODULE_PIXELS).contains(&module_pixels) {
            return Err(LabelError::ModuleSize {
                pixels: module_pixels,
            });
        }
        let scale = module_pixels as usize;
        let side = self.side() * scale;
        let mut pixels = vec![255_u8; side * side];
        for y in 0..self.width {
            for x in 0..self.width {
                if !self.is_dark(x, y) {
                    continue;
                }
                for row in 0..scale {
                    let start = ((y + QUIET_ZONE) * scale + row) * side + (x + QUIET_ZONE) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
        let png_error = |error: png::EncodingError| LabelError::Png(error.to_string());
        let side = u32::try_from(side).map_err(|_| LabelError::Png("image too large".into()))?;
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&pixels).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(bytes)
    }
}

/// One label: the QR code of `link`, and under it `lines` for people to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// What the QR code holds: a Digital Link URI.
    pub link: String,
    /// The lines printed under it, first in bold: a product name, the code's human-readable
    /// interpretation (`(01)06950123450012(10)C2601A`).
    pub lines: Vec<String>,
}

/// Label width in millimetres: fits a 40 mm QR code with its margin.
const LABEL_WIDTH_MM: f32 = 50.0;

/// The label's drawing width in drawing units (one unit is one tenth of a millimetre).
const LABEL_UNITS: usize = 500;

/// Height of one text line, in drawing units.
const LINE_UNITS: usize = 36;

/// Most characters of a line on one row; longer lines wrap.
const LINE_CHARACTERS: usize = 34;

/// One label as a standalone SVG document, 50 mm wide.
pub fn label_svg(label: &Label) -> Result<String, LabelError> {
    let (body, height) = label_body(label, 0, 0)?;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {LABEL_UNITS} {height}\" \
         width=\"{LABEL_WIDTH_MM}mm\" height=\"{}mm\">{body}</svg>\n",
        height as f32 / 10.0
    ))
}

/// Labels on one sheet to print, `columns` across (at least 1), each 50 mm wide with a 5 mm
/// gutter.
pub fn sheet_svg(labels: &[Label], columns: usize) -> Result<String, LabelError> {
    let columns = columns.max(1);
    let gutter = 50;
    let mut body = String::new();
    let mut y = 0;
    let mut sheet_height = 0;
    for row in labels.chunks(columns) {
        let mut row_height = 0;
        for (column, label) in row.iter().enumerate() {
            let (drawn, height) = label_body(label, column * (LABEL_UNITS + gutter), y)?;
            body.push_str(&drawn);
            row_height = row_height.max(height);
        }
        y += row_height + gutter;
        sheet_height = y - gutter;
    }
    let width = columns.min(labels.len().max(1)) * (LABEL_UNITS + gutter) - gutter;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {sheet_height}\" \
         width=\"{}mm\" height=\"{}mm\">{body}</svg>\n",
        width as f32 / 10.0,
        sheet_height as f32 / 10.0
    ))
}

/// The drawing of one label at (`x`, `y`) in drawing units, and its height.
fn label_body(label: &Label, x: usize, y: usize) -> Result<(String, usize), LabelError> {
    let qr = Qr::encode(&label.link)?;
    let qr_units = 400;
    let margin = (LABEL_UNITS - qr_units) / 2;
    let scale = qr_units as f32 / qr.side() as f32;
    let rows: Vec<(bool, String)> = label
        .lines
        .iter()
        .enumerate()
        .flat_map(|(index, line)| wrap(line).into_iter().map(move |row| (index == 0, row)))
        .collect();
    let height = margin + qr_units + rows.len() * LINE_UNITS + margin;
    let mut body = format!(
        "<g transform=\"translate({x} {y})\">\
         <rect width=\"{LABEL_UNITS}\" height=\"{height}\" fill=\"#fff\" stroke=\"#999\" \
         stroke-width=\"2\"/>\
         <g transform=\"translate({margin} {margin}) scale({scale})\" shape-rendering=\"crispEdges\">\
         <path fill=\"#000\" d=\"{}\"/></g>",
        qr.path(0, 0)
    );
    for (row, (bold, text)) in rows.iter().enumerate() {
        let baseline = margin + qr_units + (row + 1) * LINE_UNITS - 10;
        let weight = if *bold { " font-weight=\"bold\"" } else { "" };
        let _ = write!(
            body,
            "<text x=\"{}\" y=\"{baseline}\" font-family=\"monospace\" font-size=\"26\" \
             text-anchor=\"middle\"{weight}>{}</text>",
            LABEL_UNITS / 2,
            escape(text)
        );
    }
    body.push_str("</g>");
    Ok((body, height))
}

/// `line` cut into rows of at most [`LINE_CHARACTERS`] characters.
fn wrap(line: &str) -> Vec<String> {
    let characters: Vec<char> = line.chars().collect();
    if characters.is_empty() {
        return vec![String::new()];
    }
    characters
        .chunks(LINE_CHARACTERS)
        .map(|chunk| chunk.iter().collect())
        .collect()
}

/// `text` with the characters XML gives meaning escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://trace.example.org/01/06950123450012/10/C2601A";

    /// Decodes the one QR code in a greyscale PNG.
    fn decode_png(bytes: &[u8]) -> String {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let width = info.width as usize;
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(width, info.height as usize, |x, y| {
                pixels[y * width + x]
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_png_decodes_back_to_its_link_at_every_size() {
        let qr = Qr::encode(LINK).unwrap();
        for pixels in [2, 4, 10] {
            assert_eq!(decode_png(&qr.to_png(pixels).unwrap()), LINK, "{pixels}");
        }
    }

    #[test]
    fn the_svg_draws_exactly_the_dark_modules() {
        let qr = Qr::encode(LINK).unwrap();
        let svg = qr.to_svg(30.0);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        // Redraw the path's rectangles and compare with the symbol, module by module.
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut drawn = vec![false; qr.side() * qr.side()];
        for rectangle in d.split('z').filter(|r| !r.is_empty()) {
            let rest = rectangle.strip_prefix('M').unwrap();
            let (at, run) = rest.split_once('h').unwrap();
            let (x, y) = at.split_once(',').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            let run: usize = run.split('v').next().unwrap().parse().unwrap();
            for dx in 0..run {
                drawn[y * qr.side() + x + dx] = true;
            }
        }
        for y in 0..qr.side() {
            for x in 0..qr.side() {
                let inside = (QUIET_ZONE..QUIET_ZONE + qr.width()).contains(&x)
                    && (QUIET_ZONE..QUIET_ZONE + qr.width()).contains(&y);
                let dark = inside && qr.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
                assert_eq!(drawn[y * qr.side() + x], dark, "module {x},{y}");
            }
        }
    }

    #[test]
    fn labels_escape_what_they_print_and_wrap_long_lines() {
        let label = Label {
            link: LINK.into(),
            lines: vec![
                "<script>x</script> & \"cable\"".into(),
                "(01)06950123450012(10)C2601A".into(),
                "x".repeat(80),
            ],
        };
        let svg = label_svg(&label).unwrap();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt; &amp; &quot;cable&quot;"));
        assert!(svg.contains("(01)06950123450012(10)C2601A"));
        // 80 characters make three rows of at most 34.
        assert_eq!(svg.matches("<text").count(), 2 + 3);
        let sheet = sheet_svg(&[label.clone(), label.clone(), label], 2).unwrap();
        assert_eq!(sheet.matches("<path").count(), 3);
        assert!(sheet.contains("width=\"105mm\""), "{sheet}");
    }

    #[test]
    fn too_long_text_and_bad_sizes_are_refused() {
        assert!(matches!(
            Qr::encode(&"9".repeat(8_000)),
            Err(LabelError::TooLong { bytes: 8_000 })
        ));
        let qr = Qr::encode(LINK).unwrap();
        assert!(matches!(
            qr.to_png(0),
            Err(LabelError::ModuleSize { pixels: 0 })
        ));
        assert!(matches!(
            qr.to_png(41),
            Err(LabelError::ModuleSize { pixels: 41 })
        ));
    }
}
