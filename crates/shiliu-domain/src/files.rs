//! Files people attach: a request's photos and documents, later the ledgers' evidence.
//!
//! A file's kind is decided by its first bytes, never by the name or the type the browser
//! claims: a renamed executable stays refused, and the type we serve back is one we checked.

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
}
