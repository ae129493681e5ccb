//! Photos that wait while a form is put right.
//!
//! A browser never sends a file input back filled in: when a form with photos comes back
//! with an error (a missing description, a malformed phone number), the photos would be lost
//! and, on a phone, taken again. So the photos that passed their checks are held here, on this
//! node, under a random token the re-rendered form carries (`kept_photos`) with their names
//! shown; the next send of the form takes them back and adds the new ones. They are held for
//! the one form that sent them (its CSRF token, which only that browser holds), for
//! [`HOLD_FOR`], within [`MAX_BYTES`] in all (the oldest are dropped first). A token no longer
//! held (expired, or the form reached another node) is an error on the photos field, never a
//! request saved without them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shiliu_domain::files::{FileInput, FileLimits};
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::files::FormData;
use crate::web::random_token;

/// How long photos wait for the form to come back.
pub const HOLD_FOR: Duration = Duration::from_mins(30);
/// The most bytes held for all forms together.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// The hidden field that carries the token.
pub const FIELD: &str = "kept_photos";

struct Held {
    owner: String,
    at: Instant,
    files: Vec<FileInput>,
}

#[derive(Default)]
pub struct PendingUploads {
    held: Mutex<HashMap<String, Held>>,
}

/// Photos held for a form, as its page shows them: the token and the files' names.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    pub token: String,
    pub names: Vec<String>,
}

/// The photos a form brought: the earlier ones held for it and the new ones that passed
/// their checks, with what was refused.
pub struct Photos {
    pub files: Vec<FileInput>,
    pub errors: FieldErrors,
}

impl PendingUploads {
    /// Hold `files` for the form of `owner`; nothing is held (and no token made) for none.
    pub fn keep(&self, owner: &str, files: Vec<FileInput>) -> Kept {
        if files.is_empty() {
            return Kept::default();
        }
        let names = files.iter().map(|f| f.name.clone()).collect();
        let token = random_token(24);
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        held.retain(|_, h| now.duration_since(h.at) < HOLD_FOR);
        held.insert(
            token.clone(),
            Held {
                owner: owner.to_string(),
                at: now,
                files,
            },
        );
        let size = |h: &Held| h.files.iter().map(|f| f.bytes.len()).sum::<usize>();
        let mut total: usize = held.values().map(size).sum();
        while total > MAX_BYTES {
            let Some(oldest) = held
                .iter()
                .min_by_key(|(_, h)| h.at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            total -= held.remove(&oldest).map_or(0, |h| size(&h));
        }
        Kept { token, names }
    }

    /// Take back the files held under `token` for `owner` (once); `None` if none are.
    pub fn take(&self, owner: &str, token: &str) -> Option<Vec<FileInput>> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = held
            .get(token)
            .is_some_and(|h| h.owner == owner && h.at.elapsed() < HOLD_FOR);
        if !fresh {
            return None;
        }
        held.remove(token).map(|h| h.files)
    }

    /// The photos in `field` a form brought, the held ones first. Each new file is checked on
    /// its own, so one refused file (named in the errors) does not lose the others; past the
    /// limit's count, the files after it are refused with the count's error.
    pub fn photos(&self, form: &FormData, field: &str, limits: FileLimits) -> Photos {
        let mut errors = FieldErrors::new();
        let owner = owner(form);
        let token = form
            .pairs
            .iter()
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.trim())
            .unwrap_or_default();
        let mut files = if token.is_empty() {
            Vec::new()
        } else if let Some(earlier) = self.take(&owner, token) {
            earlier
        } else {
            errors.push(FieldError::new(field, "err.file.expired"));
            Vec::new()
        };
        for u in form.uploads.iter().filter(|u| u.field == field) {
            if let Some(f) =
                errors.check(FileInput::parse(field, &u.name, u.bytes.to_vec(), limits))
            {
                files.push(f);
            }
        }
        if files.len() > limits.max_files {
            files.truncate(limits.max_files);
            if let Err(e) = FileInput::check_count(field, limits.max_files, 1, limits) {
                errors.push(e);
            }
        }
        Photos { files, errors }
    }
}

/// Whose photos: the form's CSRF token, which the context middleware has checked against the
/// session (or, before sign-in, the browser's cookie), so only the browser that sent them
/// gets them back.
fn owner(form: &FormData) -> String {
    form.pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// For a form whose send failed: hold its photos for the next send.
pub fn keep_for_next_send(
    pending: &PendingUploads,
    form: &FormData,
    files: Vec<FileInput>,
) -> Kept {
    pending.keep(&owner(form), files)
}
