//! A request's photos and documents. Kept in the database beside the request: one backup,
//! one transaction with the request they came with, and the request's scope decides who sees
//! them. The content is read only when someone opens one file.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shiliu_domain::files::{FileInput, REQUEST_FILES};

use super::{Request, get, note};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{request_attachments, requests};
use crate::scope::{Actor, Scope};
use crate::{DbConnection, DbError, now};

/// What a list of files shows: everything but the content.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = request_attachments)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Attachment {
    pub id: i64,
    pub request_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploader: String,
    pub created_at: NaiveDateTime,
}

impl Attachment {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// Attach files to a request in the actor's scope; the field named in errors is `field`.
pub fn attach(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    files: &[FileInput],
    field: &str,
) -> Result<Vec<Attachment>, DbError> {
    let r = get(conn, &actor.scope, request_id)?;
    attach_to(conn, actor, &r, files, field)
}

/// Attach files to a request the caller already holds (one just created, in the same
/// transaction: a refused file leaves no request behind).
pub fn attach_to(
    conn: &mut DbConnection,
    actor: &Actor,
    r: &Request,
    files: &[FileInput],
    field: &str,
) -> Result<Vec<Attachment>, DbError> {
    if files.is_empty() {
        return Err(DbError::invalid(field, "err.file.none"));
    }
    let existing: i64 = request_attachments::table
        .filter(request_attachments::request_id.eq(r.id))
        .count()
        .get_result(conn)?;
    let existing = usize::try_from(existing).unwrap_or(usize::MAX);
    FileInput::check_count(field, existing, files.len(), REQUEST_FILES)?;
    let t = now();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let a = Attachment {
            id: new_id(),
            request_id: r.id,
            name: f.name.clone(),
            content_type: f.kind.as_str().to_string(),
            size: i64::try_from(f.bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(&f.bytes)),
            uploader: actor.name.clone(),
            created_at: t,
        };
        diesel::insert_into(request_attachments::table)
            .values((
                request_attachments::id.eq(a.id),
                request_attachments::request_id.eq(a.request_id),
                request_attachments::name.eq(&a.name),
                request_attachments::content_type.eq(&a.content_type),
                request_attachments::size.eq(a.size),
                request_attachments::sha256.eq(&a.sha256),
                request_attachments::data.eq(&f.bytes),
                request_attachments::uploaded_by.eq(actor.user_id),
                request_attachments::uploader.eq(&a.uploader),
                request_attachments::created_at.eq(a.created_at),
            ))
            .execute(conn)?;
        out.push(a);
    }
    let names: Vec<&str> = out.iter().map(|a| a.name.as_str()).collect();
    note(
        conn,
        actor,
        r,
        "attach",
        &names.join("、"),
        serde_json::json!({"attachments": out.iter().map(|a| a.id).collect::<Vec<_>>()}),
    )?;
    audit::record(
        conn,
        actor,
        Event::new("request.attach", "request", r.id)
            .region(r.region_id)
            .detail(serde_json::json!({"files": out})),
    )?;
    Ok(out)
}

/// A request's files, oldest first, without their content; read through the request as the
/// caller was given it in scope.
pub fn list(conn: &mut DbConnection, r: &super::Request) -> Result<Vec<Attachment>, DbError> {
    Ok(request_attachments::table
        .filter(request_attachments::request_id.eq(r.id))
        .order(request_attachments::id.asc())
        .select(Attachment::as_select())
        .load(conn)?)
}

/// One file with its content, if its request is in scope.
pub fn open(
    conn: &mut DbConnection,
    scope: &Scope,
    request_id: i64,
    id: i64,
) -> Result<(Attachment, Vec<u8>), DbError> {
    Ok(request_attachments::table
        .inner_join(requests::table)
        .filter(requests::id.eq(request_id))
        .filter(scope.path_filter(requests::region_path))
        .filter(request_attachments::id.eq(id))
        .select((Attachment::as_select(), request_attachments::data))
        .first(conn)?)
}
