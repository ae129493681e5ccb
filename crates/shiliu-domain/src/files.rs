//! Files people attach: a request's photos and documents, later the ledgers' evidence.
//!
//! A file's kind is decided by its first bytes, never by the name or the type the browser
//! claims: a renamed executable stays refused, and the type we serve back is one we checked.
//!
//! Photos are stored without the location the phone wrote into them ([`without_location`]):
//! residents often photograph a problem from their own door, and everyone who can open the
//! record would otherwise learn where they were standing.

use std::ops::Range;

use crate::FieldError;

crate::code_enum! {
    /// The kinds of file accepted, by what their content is.
    pub enum FileKind {
        Jpeg = "image/jpeg",
        Png = "image/png",
        Webp = "image/webp",
        Pdf = "application/pdf",
        /// Word (.docx) and Excel (.xlsx) files are zip archives; told apart by their name.
        Docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
}

impl FileKind {
    /// What the content is, if it is a kind we take.
    pub fn sniff(name: &str, bytes: &[u8]) -> Option<Self> {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Self::Webp),
            [b'%', b'P', b'D', b'F', b'-', ..] => Some(Self::Pdf),
            [b'P', b'K', 0x03, 0x04, ..] => match ext.as_str() {
                "docx" => Some(Self::Docx),
                "xlsx" => Some(Self::Xlsx),
                _ => None,
            },
            _ => None,
        }
    }

    /// Shown in the page itself (a photo, a PDF) rather than downloaded.
    pub fn inline(self) -> bool {
        !matches!(self, Self::Docx | Self::Xlsx)
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png | Self::Webp)
    }
}

/// The limits on what one record may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// Bytes per file. A phone's photo is 2–6 MB.
    pub max_bytes: usize,
    /// Files per record, all uploads together.
    pub max_files: usize,
    /// Photos only (a resident's public form), no documents.
    pub photos_only: bool,
}

/// A request's photos and documents.
pub const REQUEST_FILES: FileLimits = FileLimits {
    max_bytes: 8 * 1024 * 1024,
    max_files: 10,
    photos_only: false,
};

/// Evidence for one criterion in one round (台账资料: scans, documents, on-site photos).
pub const EVIDENCE_FILES: FileLimits = FileLimits {
    max_bytes: 10 * 1024 * 1024,
    max_files: 10,
    photos_only: false,
};

/// A file as uploaded, checked: a kind we take, within the size limit, with a name that is safe
/// to show and to offer as a download name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

impl FileInput {
    /// `field` is the form field the file came in, named in the error.
    pub fn parse(
        field: &str,
        name: &str,
        bytes: Vec<u8>,
        limits: FileLimits,
    ) -> Result<Self, FieldError> {
        let name = clean_name(name);
        if bytes.is_empty() {
            return Err(FieldError::new(field, "err.file.empty").arg("name", &name));
        }
        if bytes.len() > limits.max_bytes {
            return Err(FieldError::new(field, "err.file.size")
                .arg("name", &name)
                .arg("max", limits.max_bytes / (1024 * 1024)));
        }
        let kind = FileKind::sniff(&name, &bytes)
            .ok_or_else(|| FieldError::new(field, "err.file.kind").arg("name", &name))?;
        if limits.photos_only && !kind.is_image() {
            return Err(FieldError::new(field, "err.file.photo").arg("name", &name));
        }
        let bytes = without_location(kind, bytes);
        Ok(Self { name, kind, bytes })
    }

    /// Whether `new` more files fit beside `existing` ones.
    pub fn check_count(
        field: &str,
        existing: usize,
        new: usize,
        limits: FileLimits,
    ) -> Result<(), FieldError> {
        if existing + new > limits.max_files {
            return Err(FieldError::new(field, "err.file.count").arg("max", limits.max_files));
        }
        Ok(())
    }
}

/// The last part of a path (browsers on Windows once sent the whole path), without control
/// characters or quotes, at most 100 characters; "file" if nothing is left.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .collect();
    let kept = kept.trim();
    let n = kept.chars().count();
    if n == 0 {
        return "file".into();
    }
    if n <= 100 {
        return kept.to_string();
    }
    // Keep the extension: it tells people what the file is.
    let ext = kept
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.chars().count() <= 8)
        .unwrap_or_default();
    let head: String = kept.chars().take(100 - ext.chars().count() - 1).collect();
    if ext.is_empty() {
        head
    } else {
        format!("{head}.{ext}")
    }
}

/// `bytes` of the given kind without the GPS position and other location metadata that cameras
/// and phones record; kinds that are not images come back as they are, and so do bytes that do
/// not start like `kind` (no reader of that kind would look inside them). `kind` is meant to be
/// the one [`FileKind::sniff`] found.
///
/// The image itself is never touched, only the metadata around it, and nothing is refused: what
/// cannot be walked safely (a truncated or malformed structure) is left out rather than kept,
/// since it could be the very metadata we are looking for.
pub fn without_location(kind: FileKind, bytes: Vec<u8>) -> Vec<u8> {
    match kind {
        FileKind::Jpeg if bytes.starts_with(&[0xFF, 0xD8]) => jpeg_without_location(&bytes),
        FileKind::Png if bytes.starts_with(PNG_SIGNATURE) => png_without_location(&bytes),
        FileKind::Webp if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(&b"WEBP"[..]) => {
            webp_without_location(&bytes)
        }
        _ => bytes,
    }
}

/// JPEG's APP1 marker code: where both Exif and XMP live.
const JPEG_APP1: u8 = 0xE1;
const EXIF_HEADER: &[u8] = b"Exif\0\0";

/// Copies the segments before the image data (SOS), blanking the GPS part of Exif and leaving
/// out every other APP1 segment; from SOS on, everything is copied as it is.
fn jpeg_without_location(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut at = 2;
    // Any break leaves out the rest: past a point we cannot walk, we cannot tell what it is.
    while bytes.get(at) == Some(&0xFF) {
        // Any number of 0xFF may pad a marker; they carry nothing, so they are not copied.
        let mut code_at = at + 1;
        while bytes.get(code_at) == Some(&0xFF) {
            code_at += 1;
        }
        let Some(&code) = bytes.get(code_at) else {
            break;
        };
        match code {
            // TEM and RSTn stand alone, without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, code]);
                at = code_at + 1;
            }
            // EOI before any image data: whatever trails it is not part of the image.
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            // SOS: the image data follows. Writers put metadata before the first scan, so from
            // here on everything is copied as it is.
            0xDA => {
                out.extend_from_slice(bytes.get(code_at - 1..).unwrap_or_default());
                break;
            }
            // A stray byte where a marker should be, or a second SOI.
            0x00 | 0xD8 => break,
            _ => {
                let Some(len) = Endian::Big.u16(bytes, code_at + 1) else {
                    break;
                };
                if len < 2 {
                    break;
                }
                let end = code_at + 1 + usize::from(len);
                let whole = bytes.get(code_at - 1..end);
                if code == JPEG_APP1 {
                    // XMP (and extended XMP) may repeat exif:GPS* in plain text, and an APP1 we
                    // do not recognise may hold anything: only a well-formed Exif is kept.
                    if let Some(segment) = whole.and_then(exif_without_gps) {
                        out.extend_from_slice(&segment);
                    }
                } else {
                    // A truncated segment of another kind is copied as far as it goes: the bytes
                    // left are all its own.
                    let segment = whole.or(bytes.get(code_at - 1..)).unwrap_or_default();
                    out.extend_from_slice(segment);
                }
                if whole.is_none() {
                    break;
                }
                at = end;
            }
        }
    }
    out
}

/// A whole APP1 segment (marker and length included), if it is Exif: the same segment with the
/// GPS IFD blanked in place, so that no offset in it changes. Kept because phones store photos
/// sideways and rely on its orientation tag to show them upright. `None` (drop the segment) if it
/// is not Exif or its structure does not hold together.
fn exif_without_gps(segment: &[u8]) -> Option<Vec<u8>> {
    let tiff_at = 4 + EXIF_HEADER.len();
    if segment.get(4..tiff_at)? != EXIF_HEADER {
        return None;
    }
    let mut segment = segment.to_vec();
    blank_gps(segment.get_mut(tiff_at..)?)?;
    Some(segment)
}

/// The tag in IFD0 whose value is the offset of the GPS IFD.
const GPS_IFD_POINTER: u16 = 0x8825;
/// Tag, type, count, and the value itself or the offset of it.
const IFD_ENTRY_LEN: usize = 12;

/// Blanks the GPS IFD of a TIFF structure (Exif's body): its entries, the values they point to,
/// and IFD0's pointer to it. `None` if the structure does not hold together.
fn blank_gps(tiff: &mut [u8]) -> Option<()> {
    let order = match tiff.get(..2)? {
        b"II" => Endian::Little,
        b"MM" => Endian::Big,
        _ => return None,
    };
    if order.u16(tiff, 2)? != 42 {
        return None;
    }
    let ifd0 = usize::try_from(order.u32(tiff, 4)?).ok()?;
    for entry in ifd_entries(tiff, ifd0, order)?.step_by(IFD_ENTRY_LEN) {
        if order.u16(tiff, entry)? != GPS_IFD_POINTER {
            continue;
        }
        // The pointer is one LONG (or IFD, type 13); anything else we cannot follow.
        if !matches!(order.u16(tiff, entry + 2)?, 4 | 13) || order.u32(tiff, entry + 4)? != 1 {
            return None;
        }
        let gps = usize::try_from(order.u32(tiff, entry + 8)?).ok()?;
        blank_ifd(tiff, gps, order)?;
        order.put_u32(tiff, entry + 8, 0)?;
    }
    Some(())
}

/// Zeroes the IFD at `at`: the values stored outside its entries, then the entries, and leaves
/// it with no entries. Everything is checked before anything is zeroed, so that one entry's value
/// overlapping another entry cannot make the second look malformed.
fn blank_ifd(tiff: &mut [u8], at: usize, order: Endian) -> Option<()> {
    let entries = ifd_entries(tiff, at, order)?;
    let mut blanks = Vec::new();
    for entry in entries.clone().step_by(IFD_ENTRY_LEN) {
        let size = tiff_type_size(order.u16(tiff, entry + 2)?)?;
        let count = usize::try_from(order.u32(tiff, entry + 4)?).ok()?;
        let len = size.checked_mul(count)?;
        // Up to four bytes sit in the entry itself, which is zeroed below.
        if len > 4 {
            let start = usize::try_from(order.u32(tiff, entry + 8)?).ok()?;
            let end = start.checked_add(len)?;
            tiff.get(start..end)?;
            blanks.push(start..end);
        }
    }
    blanks.push(entries);
    for range in blanks {
        tiff.get_mut(range)?.fill(0);
    }
    order.put_u16(tiff, at, 0)
}

/// The byte range of the entries of the IFD at `at`, if they lie within `tiff`.
fn ifd_entries(tiff: &[u8], at: usize, order: Endian) -> Option<Range<usize>> {
    let count = usize::from(order.u16(tiff, at)?);
    let start = at.checked_add(2)?;
    let end = start.checked_add(count * IFD_ENTRY_LEN)?;
    tiff.get(start..end)?;
    Some(start..end)
}

/// Bytes per value of a TIFF field type; `None` for a type Exif does not define, whose values we
/// could not find to blank.
fn tiff_type_size(field_type: u16) -> Option<usize> {
    match field_type {
        // BYTE, ASCII, SBYTE, UNDEFINED
        1 | 2 | 6 | 7 => Some(1),
        // SHORT, SSHORT
        3 | 8 => Some(2),
        // LONG, SLONG, FLOAT, IFD
        4 | 9 | 11 | 13 => Some(4),
        // RATIONAL, SRATIONAL, DOUBLE
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, data: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u16::from_le_bytes(b),
            Self::Big => u16::from_be_bytes(b),
        })
    }

    fn u32(self, data: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u32::from_le_bytes(b),
            Self::Big => u32::from_be_bytes(b),
        })
    }

    fn put_u16(self, data: &mut [u8], at: usize, value: u16) -> Option<()> {
        let b = match self {
            Self::Little => value.to_le_bytes(),
            Self::Big => value.to_be_bytes(),
        };
        data.get_mut(at..at.checked_add(2)?)?.copy_from_slice(&b);
        Some(())
    }

    fn put_u32(self, data: &mut [u8], at: usize, value: u32) -> Option<()> {
        let b = match self {
            Self::Little => value.to_le_bytes(),
            Self::Big => value.to_be_bytes(),
        };
        data.get_mut(at..at.checked_add(4)?)?.copy_from_slice(&b);
        Some(())
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Text-chunk keywords whose text is location-bearing metadata: XMP, and the hex copies of Exif,
/// XMP and IPTC that `ImageMagick` writes.
const PNG_METADATA_KEYWORDS: [&[u8]; 5] = [
    b"XML:com.adobe.xmp",
    b"Raw profile type exif",
    b"Raw profile type APP1",
    b"Raw profile type xmp",
    b"Raw profile type iptc",
];

/// Copies the chunks up to IEND, leaving out Exif and metadata text. Chunks are copied whole,
/// their CRC with them, so nothing needs recomputing.
fn png_without_location(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    // Fewer bytes than a chunk header, or anything after IEND, is left out.
    while let Some(header) = bytes.get(at..at + 8) {
        let Some(len) = Endian::Big
            .u32(header, 0)
            .and_then(|n| usize::try_from(n).ok())
        else {
            break;
        };
        let chunk_type = header.get(4..8).unwrap_or_default();
        // Length and type, data, CRC.
        let end = at.saturating_add(12).saturating_add(len);
        let whole = bytes.get(at..end);
        // A truncated chunk is judged by what it holds so far, and copied as far as it goes.
        let chunk = whole.or(bytes.get(at..)).unwrap_or_default();
        let data = chunk.get(8..).unwrap_or_default();
        if !png_chunk_has_location(chunk_type, data) {
            out.extend_from_slice(chunk);
        }
        if whole.is_none() || chunk_type == b"IEND" {
            break;
        }
        at = end;
    }
    out
}

fn png_chunk_has_location(chunk_type: &[u8], data: &[u8]) -> bool {
    match chunk_type {
        b"eXIf" => true,
        // The keyword comes first, ended by a NUL.
        b"tEXt" | b"zTXt" | b"iTXt" => PNG_METADATA_KEYWORDS
            .iter()
            .any(|k| data.starts_with(k) && data.get(k.len()) == Some(&0)),
        _ => false,
    }
}

/// VP8X flag bits saying an EXIF or an XMP chunk follows.
const WEBP_EXIF_FLAG: u8 = 0x08;
const WEBP_XMP_FLAG: u8 = 0x04;

/// Copies the RIFF chunks without EXIF and XMP, clears the VP8X flags that announce them, and
/// sets the RIFF size to what is left.
fn webp_without_location(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..12).unwrap_or_default());
    // Anything past the size RIFF declares is not part of the image, and is left out.
    let declared = Endian::Little
        .u32(bytes, 4)
        .and_then(|n| usize::try_from(n).ok())
        .map_or(0, |n| n.saturating_add(8));
    let riff = bytes.get(..declared.min(bytes.len())).unwrap_or_default();
    let mut at = 12;
    while let Some(header) = riff.get(at..at + 8) {
        let Some(size) = Endian::Little
            .u32(header, 4)
            .and_then(|n| usize::try_from(n).ok())
        else {
            break;
        };
        // Chunks are padded to an even length.
        let end = at
            .saturating_add(8)
            .saturating_add(size)
            .saturating_add(size & 1);
        let whole = riff.get(at..end);
        // A truncated chunk (or one missing its last padding byte) is copied as far as it goes.
        let chunk = whole.or(riff.get(at..)).unwrap_or_default();
        match header.get(..4).unwrap_or_default() {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let flags_at = out.len() + 8;
                out.extend_from_slice(chunk);
                if let Some(flags) = out.get_mut(flags_at) {
                    *flags &= !(WEBP_EXIF_FLAG | WEBP_XMP_FLAG);
                }
            }
            _ => out.extend_from_slice(chunk),
        }
        if whole.is_none() {
            break;
        }
        at = end;
    }
    let size = u32::try_from(out.len().saturating_sub(8)).unwrap_or(u32::MAX);
    if let Some(field) = out.get_mut(4..8) {
        field.copy_from_slice(&size.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_content_decides_the_kind() {
        assert_eq!(FileKind::sniff("x.txt", PNG), Some(FileKind::Png));
        assert_eq!(
            FileKind::sniff("a.jpg", &[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(FileKind::Jpeg)
        );
        assert_eq!(
            FileKind::sniff("a", b"RIFF\0\0\0\0WEBPVP8 "),
            Some(FileKind::Webp)
        );
        assert_eq!(FileKind::sniff("a", b"%PDF-1.7"), Some(FileKind::Pdf));
        assert_eq!(
            FileKind::sniff("台账.XLSX", b"PK\x03\x04rest"),
            Some(FileKind::Xlsx)
        );
        assert_eq!(FileKind::sniff("a.zip", b"PK\x03\x04rest"), None);
        assert_eq!(FileKind::sniff("photo.jpg", b"MZ\x90\0"), None, "an .exe");
        assert_eq!(FileKind::sniff("a.png", b""), None);
    }

    #[test]
    fn limits_and_names() {
        let small = FileLimits {
            max_bytes: 16,
            max_files: 2,
            photos_only: false,
        };
        let photos = FileLimits {
            photos_only: true,
            ..small
        };
        assert_eq!(
            FileInput::parse("photos", "a.pdf", b"%PDF-1.4".to_vec(), photos)
                .unwrap_err()
                .reason,
            "err.file.photo"
        );
        assert!(FileInput::parse("photos", "a.png", PNG.to_vec(), photos).is_ok());
        let ok =
            FileInput::parse("photos", "C:\\Users\\me\\现场.png", PNG.to_vec(), small).unwrap();
        assert_eq!((ok.name.as_str(), ok.kind), ("现场.png", FileKind::Png));
        let big = FileInput::parse("photos", "a.png", [PNG, &[0; 8]].concat(), small).unwrap_err();
        assert_eq!(
            (big.field.as_str(), big.reason),
            ("photos", "err.file.size")
        );
        let bad = FileInput::parse("photos", "a.png", b"hello".to_vec(), small).unwrap_err();
        assert_eq!(bad.reason, "err.file.kind");
        assert_eq!(bad.args, vec![("name", "a.png".to_string())]);
        assert_eq!(
            FileInput::parse("photos", "a.png", vec![], small)
                .unwrap_err()
                .reason,
            "err.file.empty"
        );
        assert!(FileInput::check_count("photos", 1, 1, small).is_ok());
        assert_eq!(
            FileInput::check_count("photos", 1, 2, small)
                .unwrap_err()
                .reason,
            "err.file.count"
        );
        assert_eq!(clean_name(" \"<x>\"\n "), "x");
        assert_eq!(clean_name("/"), "file");
        let long = format!("{}.jpeg", "长".repeat(200));
        let cut = clean_name(&long);
        assert_eq!(cut.chars().count(), 100);
        assert_eq!(cut.rsplit_once('.').map(|(_, e)| e), Some("jpeg"));
    }

    // Offsets within the Exif fixture's TIFF body.
    const IFD0_AT: usize = 8;
    const GPS_AT: usize = 38;
    const LATITUDE_AT: usize = 68;
    const TIFF_LEN: usize = 92;
    const ORIENTATION: u16 = 0x0112;

    /// A TIFF body as a phone writes it: IFD0 with Orientation and the GPS pointer, a GPS IFD
    /// with `GPSLatitudeRef` "N" and `GPSLatitude` 39° 54' 12.34" stored after it. `latitude_at` is
    /// what the `GPSLatitude` entry says, to make it point elsewhere.
    fn tiff(order: Endian, latitude_at: u32) -> Vec<u8> {
        let mut t = vec![0; TIFF_LEN];
        let u16s = |t: &mut Vec<u8>, at, v| order.put_u16(t, at, v).unwrap();
        let u32s = |t: &mut Vec<u8>, at, v| order.put_u32(t, at, v).unwrap();
        t[..2].copy_from_slice(match order {
            Endian::Little => b"II",
            Endian::Big => b"MM",
        });
        u16s(&mut t, 2, 42);
        u32s(&mut t, 4, IFD0_AT as u32);
        u16s(&mut t, IFD0_AT, 2);
        // Orientation: SHORT, 1, 6 ("rotate 90° to show").
        u16s(&mut t, IFD0_AT + 2, ORIENTATION);
        u16s(&mut t, IFD0_AT + 4, 3);
        u32s(&mut t, IFD0_AT + 6, 1);
        u16s(&mut t, IFD0_AT + 10, 6);
        // GPSInfoIFDPointer: LONG, 1, the GPS IFD's offset. Next IFD: none.
        u16s(&mut t, IFD0_AT + 14, GPS_IFD_POINTER);
        u16s(&mut t, IFD0_AT + 16, 4);
        u32s(&mut t, IFD0_AT + 18, 1);
        u32s(&mut t, IFD0_AT + 22, GPS_AT as u32);
        u16s(&mut t, GPS_AT, 2);
        // GPSLatitudeRef: ASCII, 2, "N\0" in the entry itself.
        u16s(&mut t, GPS_AT + 2, 1);
        u16s(&mut t, GPS_AT + 4, 2);
        u32s(&mut t, GPS_AT + 6, 2);
        t[GPS_AT + 10] = b'N';
        // GPSLatitude: RATIONAL, 3, stored at an offset.
        u16s(&mut t, GPS_AT + 14, 2);
        u16s(&mut t, GPS_AT + 16, 5);
        u32s(&mut t, GPS_AT + 18, 3);
        u32s(&mut t, GPS_AT + 22, latitude_at);
        for (i, v) in [39, 1, 54, 1, 1234, 100].into_iter().enumerate() {
            u32s(&mut t, LATITUDE_AT + 4 * i, v);
        }
        t
    }

    fn jpeg_segment(code: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len() + 2).unwrap();
        [&[0xFF, code][..], &len.to_be_bytes(), payload].concat()
    }

    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description \
        exif:GPSLatitude=\"39,54.2N\"/></x:xmpmeta>";
    const EXTENDED_XMP: &[u8] = b"http://ns.adobe.com/xmp/extension/\0ABCDEF exif:GPSLongitude";
    /// SOS with its header, then entropy-coded data holding a stuffed 0xFF and a restart
    /// marker, then EOI.
    const SCAN: &[u8] = b"\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\
        \x12\xFF\x00\x34\xFF\xD0\xE1\x56\xFF\xD9";

    /// The JPEG fixture, and the length of its XMP segments.
    fn jpeg(order: Endian, latitude_at: u32) -> (Vec<u8>, usize) {
        let exif = jpeg_segment(0xE1, &[EXIF_HEADER, &tiff(order, latitude_at)].concat());
        let xmp = [jpeg_segment(0xE1, XMP), jpeg_segment(0xE1, EXTENDED_XMP)].concat();
        let quantization = jpeg_segment(0xDB, &[0; 65]);
        let bytes = [&[0xFF, 0xD8][..], &exif, &xmp, &quantization, SCAN].concat();
        (bytes, xmp.len())
    }

    /// The Exif fixture's TIFF body in `jpeg`'s output.
    fn exif_tiff(out: &[u8]) -> &[u8] {
        assert_eq!(
            &out[..4],
            b"\xFF\xD8\xFF\xE1",
            "the Exif segment is kept, first"
        );
        assert_eq!(&out[6..12], EXIF_HEADER);
        &out[12..12 + TIFF_LEN]
    }

    fn find(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// The value of a SHORT tag in IFD0, read the way a viewer would.
    fn ifd0_short(tiff: &[u8], order: Endian, tag: u16) -> Option<u16> {
        let ifd0 = order.u32(tiff, 4)? as usize;
        let entries = ifd_entries(tiff, ifd0, order)?;
        entries
            .step_by(IFD_ENTRY_LEN)
            .find(|&e| order.u16(tiff, e) == Some(tag))
            .and_then(|e| order.u16(tiff, e + 8))
    }

    #[test]
    fn jpeg_keeps_orientation_and_loses_gps_and_xmp() {
        for order in [Endian::Little, Endian::Big] {
            let (bytes, xmp_len) = jpeg(order, LATITUDE_AT as u32);
            let original_tiff = tiff(order, LATITUDE_AT as u32);
            let out = without_location(FileKind::Jpeg, bytes.clone());
            assert_eq!(out.len(), bytes.len() - xmp_len, "{order:?}");
            let t = exif_tiff(&out);
            assert_eq!(ifd0_short(t, order, ORIENTATION), Some(6), "{order:?}");
            let pointer = IFD0_AT + 22..IFD0_AT + 26;
            assert_eq!(
                t[..pointer.start],
                original_tiff[..pointer.start],
                "{order:?}"
            );
            assert_eq!(t[pointer.end..GPS_AT], original_tiff[pointer.end..GPS_AT]);
            assert_eq!(
                order.u32(t, IFD0_AT + 22),
                Some(0),
                "{order:?}: GPS pointer"
            );
            assert!(
                t[GPS_AT..].iter().all(|&b| b == 0),
                "{order:?}: GPS IFD and latitude"
            );
            assert!(!find(&out, b"ns.adobe.com"), "{order:?}: XMP");
            assert!(!find(&out, b"GPSL"), "{order:?}: XMP");
            // The quantization table and everything from SOS on, as they were.
            let rest = [&jpeg_segment(0xDB, &[0; 65])[..], SCAN].concat();
            assert!(out.ends_with(&rest), "{order:?}");
        }
    }

    #[test]
    fn jpeg_exif_that_does_not_hold_together_is_dropped() {
        for order in [Endian::Little, Endian::Big] {
            // The latitude would run past the end of the segment.
            let (bytes, xmp_len) = jpeg(order, TIFF_LEN as u32 - 8);
            let out = without_location(FileKind::Jpeg, bytes.clone());
            let dropped = 4 + EXIF_HEADER.len() + TIFF_LEN;
            assert_eq!(out.len(), bytes.len() - xmp_len - dropped, "{order:?}");
            assert_eq!(&out[..4], b"\xFF\xD8\xFF\xDB", "{order:?}");
            assert!(out.ends_with(SCAN));
        }
        // A GPS field of a type Exif does not define: we could not tell where its value is.
        let mut t = tiff(Endian::Little, LATITUDE_AT as u32);
        Endian::Little.put_u16(&mut t, GPS_AT + 16, 99).unwrap();
        assert_eq!(blank_gps(&mut t), None);
    }

    #[test]
    fn jpeg_without_gps_is_unchanged() {
        let mut t = tiff(Endian::Big, LATITUDE_AT as u32);
        // IFD0 with Orientation only.
        Endian::Big.put_u16(&mut t, IFD0_AT, 1).unwrap();
        let bytes = [
            &[0xFF, 0xD8][..],
            &jpeg_segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"),
            &jpeg_segment(0xE1, &[EXIF_HEADER, &t].concat()),
            SCAN,
        ]
        .concat();
        assert_eq!(without_location(FileKind::Jpeg, bytes.clone()), bytes);
    }

    fn png_chunk(chunk_type: [u8; 4], data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap().to_be_bytes();
        // The CRC is not checked here; any four bytes do.
        [&len[..], &chunk_type, data, b"CRC!"].concat()
    }

    fn png() -> Vec<u8> {
        [
            PNG_SIGNATURE,
            &png_chunk(*b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]),
            &png_chunk(*b"eXIf", &tiff(Endian::Big, LATITUDE_AT as u32)),
            &png_chunk(*b"iTXt", &[b"XML:com.adobe.xmp\0\0\0\0\0", XMP].concat()),
            &png_chunk(*b"tEXt", b"Comment\0a pothole"),
            &png_chunk(*b"IDAT", b"\x78\x9c\x63\x60\x00\x00"),
            &png_chunk(*b"IEND", b""),
        ]
        .concat()
    }

    #[test]
    fn png_loses_exif_and_xmp() {
        let out = without_location(FileKind::Png, png());
        let kept = [
            PNG_SIGNATURE,
            &png_chunk(*b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]),
            &png_chunk(*b"tEXt", b"Comment\0a pothole"),
            &png_chunk(*b"IDAT", b"\x78\x9c\x63\x60\x00\x00"),
            &png_chunk(*b"IEND", b""),
        ]
        .concat();
        assert_eq!(out, kept);
        let ok = FileInput::parse("photos", "a.png", png(), REQUEST_FILES).unwrap();
        assert_eq!(ok.bytes, kept);
    }

    fn webp_chunk(fourcc: [u8; 4], data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap().to_le_bytes();
        let pad: &[u8] = if data.len() % 2 == 1 { &[0] } else { &[] };
        [&fourcc[..], &len, data, pad].concat()
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body = chunks.concat();
        let size = u32::try_from(body.len() + 4).unwrap().to_le_bytes();
        [&b"RIFF"[..], &size, b"WEBP", &body].concat()
    }

    #[test]
    fn webp_loses_exif_and_xmp() {
        let extended = |flags: u8| webp_chunk(*b"VP8X", &[flags | 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let lossless = webp_chunk(*b"VP8L", b"\x2f\0\0\0\0\x07");
        let exif = [EXIF_HEADER, &tiff(Endian::Little, LATITUDE_AT as u32)].concat();
        let bytes = riff(&[
            extended(WEBP_EXIF_FLAG | WEBP_XMP_FLAG),
            lossless.clone(),
            webp_chunk(*b"EXIF", &exif),
            webp_chunk(*b"XMP ", &XMP[29..]),
        ]);
        let out = without_location(FileKind::Webp, bytes);
        assert_eq!(out, riff(&[extended(0), lossless]));
        assert_eq!(out[20] & 0x10, 0x10, "the alpha flag stays");
        assert_eq!(Endian::Little.u32(&out, 4), Some(out.len() as u32 - 8));
    }

    #[test]
    fn broken_files_never_panic_nor_keep_what_they_hide() {
        let webp = riff(&[
            webp_chunk(*b"VP8X", &[0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            webp_chunk(*b"EXIF", &tiff(Endian::Big, LATITUDE_AT as u32)),
            webp_chunk(*b"VP8L", b"\x2f\0\0\0\0"),
        ]);
        let fixtures = [
            (FileKind::Jpeg, jpeg(Endian::Little, LATITUDE_AT as u32).0),
            (FileKind::Jpeg, jpeg(Endian::Big, LATITUDE_AT as u32).0),
            (FileKind::Png, png()),
            (FileKind::Webp, webp),
        ];
        let latitude = |order: Endian| tiff(order, 0)[LATITUDE_AT..].to_vec();
        for (kind, bytes) in &fixtures {
            for end in 0..=bytes.len() {
                let out = without_location(*kind, bytes[..end].to_vec());
                assert!(out.len() <= end, "{kind:?} cut at {end}");
                for order in [Endian::Little, Endian::Big] {
                    assert!(!find(&out, &latitude(order)), "{kind:?} cut at {end}");
                }
                assert!(!find(&out, b"ns.adobe.com"), "{kind:?} cut at {end}");
                // The wrong kind, and the bytes from the middle on.
                for other in [FileKind::Jpeg, FileKind::Png, FileKind::Webp] {
                    without_location(other, bytes[..end].to_vec());
                    without_location(other, bytes[end..].to_vec());
                }
            }
            // Every byte in turn set to what most often confuses a parser.
            for at in 0..bytes.len() {
                for b in [0x00, 0x01, 0x7F, 0xD9, 0xDA, 0xE1, 0xFF] {
                    let mut garbled = bytes.clone();
                    garbled[at] = b;
                    without_location(*kind, garbled);
                }
            }
        }
    }
}
