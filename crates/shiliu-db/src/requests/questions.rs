//! Categories' extra questions, the answers requests give them, and reply templates. A
//! question's code and kind never change once made (Open311 clients send `attribute[code]`, and
//! stored answers are read by their kind); its wording, whether it is required, its choices and
//! whether it is asked at all may.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::requests::ReplyTemplateInput;
use shiliu_domain::requests::questions::{
    Choice, Question, QuestionInput, QuestionKind, RawAnswers, check_answers,
};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{category_questions, reply_templates, request_answers};
use crate::scope::Actor;
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = category_questions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct QuestionRow {
    pub id: i64,
    pub category_id: i64,
    pub code: String,
    pub label: String,
    pub label_en: String,
    pub kind: String,
    pub required: bool,
    pub choices: String,
    pub sort_order: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl QuestionRow {
    pub fn kind(&self) -> QuestionKind {
        QuestionKind::parse(&self.kind).unwrap_or(QuestionKind::Text)
    }

    pub fn choices(&self) -> Vec<Choice> {
        serde_json::from_str(&self.choices).unwrap_or_default()
    }

    /// The question as the answer rules need it.
    pub fn rule(&self) -> Question {
        Question {
            code: self.code.clone(),
            kind: self.kind(),
            required: self.required,
            choices: self.choices(),
        }
    }
}

/// The questions of one category, in order, or of every category with `None`.
pub fn questions(
    conn: &mut DbConnection,
    category_id: Option<i64>,
    include_inactive: bool,
) -> Result<Vec<QuestionRow>, DbError> {
    let mut q = category_questions::table
        .select(QuestionRow::as_select())
        .into_boxed();
    if let Some(c) = category_id {
        q = q.filter(category_questions::category_id.eq(c));
    }
    if !include_inactive {
        q = q.filter(category_questions::active.eq(true));
    }
    Ok(q.order((
        category_questions::category_id.asc(),
        category_questions::sort_order.asc(),
        category_questions::id.asc(),
    ))
    .load(conn)?)
}

fn question(conn: &mut DbConnection, id: i64) -> Result<QuestionRow, DbError> {
    Ok(category_questions::table
        .filter(category_questions::id.eq(id))
        .select(QuestionRow::as_select())
        .first(conn)?)
}

fn choices_json(q: &QuestionInput) -> String {
    serde_json::to_string(&q.choices).unwrap_or_else(|_| "[]".into())
}

/// A new question, asked last. Audited.
pub fn create_question(
    conn: &mut DbConnection,
    actor: &Actor,
    category_id: i64,
    q: &QuestionInput,
) -> Result<QuestionRow, DbError> {
    super::settings::platform_only(conn, actor)?;
    super::category(conn, category_id)?;
    let taken: i64 = category_questions::table
        .filter(category_questions::category_id.eq(category_id))
        .filter(category_questions::code.eq(&q.code))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(DbError::invalid("code", "err.duplicate"));
    }
    let last: Option<i32> = category_questions::table
        .filter(category_questions::category_id.eq(category_id))
        .select(diesel::dsl::max(category_questions::sort_order))
        .first(conn)?;
    let (id, t) = (new_id(), now());
    diesel::insert_into(category_questions::table)
        .values((
            category_questions::id.eq(id),
            category_questions::category_id.eq(category_id),
            category_questions::code.eq(&q.code),
            category_questions::label.eq(&q.label),
            category_questions::label_en.eq(&q.label_en),
            category_questions::kind.eq(q.kind.as_str()),
            category_questions::required.eq(q.required),
            category_questions::choices.eq(choices_json(q)),
            category_questions::sort_order.eq(last.unwrap_or(0) + 1),
            category_questions::active.eq(true),
            category_questions::created_at.eq(t),
            category_questions::updated_at.eq(t),
            category_questions::version.eq(1),
        ))
        .execute(conn)?;
    let after = question(conn, id)?;
    audit::record(
        conn,
        actor,
        Event::new("question.create", "category_question", id).after(&after),
    )?;
    Ok(after)
}

/// Change a question's wording, choices, whether it is required or asked, and its place. Its
/// code and kind stay. Audited.
pub fn update_question(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    q: &QuestionInput,
    active: bool,
    sort_order: i32,
) -> Result<QuestionRow, DbError> {
    super::settings::platform_only(conn, actor)?;
    let before = question(conn, id)?;
    versioned::expect(version, before.version)?;
    if before.kind() != q.kind {
        return Err(DbError::invalid("kind", "err.question.kind_fixed"));
    }
    let n = diesel::update(
        category_questions::table
            .filter(category_questions::id.eq(id))
            .filter(category_questions::version.eq(version)),
    )
    .set((
        category_questions::label.eq(&q.label),
        category_questions::label_en.eq(&q.label_en),
        category_questions::required.eq(q.required),
        category_questions::choices.eq(choices_json(q)),
        category_questions::sort_order.eq(sort_order),
        category_questions::active.eq(active),
        category_questions::updated_at.eq(now()),
        category_questions::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| question(c, id),
        |_| Event::new("question.update", "category_question", id),
    )
}

/// The active questions of these categories, each category's in order: read once for the
/// requests taken in together.
pub(crate) fn asked(
    conn: &mut DbConnection,
    category_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<QuestionRow>>, DbError> {
    let rows: Vec<QuestionRow> = category_questions::table
        .filter(category_questions::category_id.eq_any(category_ids))
        .filter(category_questions::active.eq(true))
        .order((
            category_questions::sort_order.asc(),
            category_questions::id.asc(),
        ))
        .select(QuestionRow::as_select())
        .load(conn)?;
    let mut by_category: std::collections::HashMap<i64, Vec<QuestionRow>> =
        std::collections::HashMap::new();
    for q in rows {
        by_category.entry(q.category_id).or_default().push(q);
    }
    Ok(by_category)
}

/// A request's answers checked against its category's questions: the stored rows as
/// (question id, value), and (code, value) for the audit row.
pub(crate) type Answered = (Vec<(i64, String)>, Vec<(String, String)>);

pub(crate) fn check(asked: &[QuestionRow], raw: &RawAnswers) -> Result<Answered, DbError> {
    let rules: Vec<Question> = asked.iter().map(QuestionRow::rule).collect();
    let answered = check_answers(&rules, raw).map_err(DbError::Invalid)?;
    Ok((
        answered
            .iter()
            .map(|(i, v)| (asked[*i].id, v.clone()))
            .collect(),
        answered
            .into_iter()
            .map(|(i, v)| (asked[i].code.clone(), v))
            .collect(),
    ))
}

/// Store the answers of new requests: (request id, question id, value).
pub(crate) fn save_answers(
    conn: &mut DbConnection,
    answers: &[(i64, i64, &str)],
) -> Result<(), DbError> {
    let rows: Vec<_> = answers
        .iter()
        .map(|(r, q, v)| {
            (
                request_answers::request_id.eq(*r),
                request_answers::question_id.eq(*q),
                request_answers::value.eq(*v),
            )
        })
        .collect();
    // Three values a row: SQLite takes at most 32,766 in one statement.
    for chunk in rows.chunks(5_000) {
        crate::on_engine!(conn, |c| diesel::insert_into(request_answers::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// A request's answers with their questions, in the questions' order; read through the request
/// as the caller was given it in scope.
pub fn answers(
    conn: &mut DbConnection,
    r: &super::Request,
) -> Result<Vec<(QuestionRow, String)>, DbError> {
    Ok(request_answers::table
        .inner_join(category_questions::table)
        .filter(request_answers::request_id.eq(r.id))
        .order((
            category_questions::sort_order.asc(),
            category_questions::id.asc(),
        ))
        .select((QuestionRow::as_select(), request_answers::value))
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = reply_templates)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ReplyTemplate {
    pub id: i64,
    pub category_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub sort_order: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// The templates offered for a category (its own, then those for every category); with `None`,
/// every template.
pub fn reply_templates(
    conn: &mut DbConnection,
    category_id: Option<i64>,
    include_inactive: bool,
) -> Result<Vec<ReplyTemplate>, DbError> {
    let mut q = reply_templates::table
        .select(ReplyTemplate::as_select())
        .into_boxed();
    if let Some(c) = category_id {
        q = q.filter(
            reply_templates::category_id
                .eq(c)
                .or(reply_templates::category_id.is_null()),
        );
    }
    if !include_inactive {
        q = q.filter(reply_templates::active.eq(true));
    }
    let mut out: Vec<ReplyTemplate> = q
        .order((reply_templates::sort_order.asc(), reply_templates::id.asc()))
        .load(conn)?;
    out.sort_by_key(|t| t.category_id.is_none());
    Ok(out)
}

fn reply_template(conn: &mut DbConnection, id: i64) -> Result<ReplyTemplate, DbError> {
    Ok(reply_templates::table
        .filter(reply_templates::id.eq(id))
        .select(ReplyTemplate::as_select())
        .first(conn)?)
}

pub fn create_reply_template(
    conn: &mut DbConnection,
    actor: &Actor,
    category_id: Option<i64>,
    r: &ReplyTemplateInput,
) -> Result<ReplyTemplate, DbError> {
    super::settings::platform_only(conn, actor)?;
    if let Some(c) = category_id {
        super::category(conn, c).map_err(|_| DbError::invalid("category_id", "err.choice"))?;
    }
    let last: Option<i32> = reply_templates::table
        .select(diesel::dsl::max(reply_templates::sort_order))
        .first(conn)?;
    let (id, t) = (new_id(), now());
    diesel::insert_into(reply_templates::table)
        .values((
            reply_templates::id.eq(id),
            reply_templates::category_id.eq(category_id),
            reply_templates::title.eq(&r.title),
            reply_templates::body.eq(&r.body),
            reply_templates::sort_order.eq(last.unwrap_or(0) + 1),
            reply_templates::active.eq(true),
            reply_templates::created_at.eq(t),
            reply_templates::updated_at.eq(t),
            reply_templates::version.eq(1),
        ))
        .execute(conn)?;
    let after = reply_template(conn, id)?;
    audit::record(
        conn,
        actor,
        Event::new("reply_template.create", "reply_template", id).after(&after),
    )?;
    Ok(after)
}

pub fn update_reply_template(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    r: &ReplyTemplateInput,
    active: bool,
) -> Result<ReplyTemplate, DbError> {
    super::settings::platform_only(conn, actor)?;
    let before = reply_template(conn, id)?;
    let n = diesel::update(
        reply_templates::table
            .filter(reply_templates::id.eq(id))
            .filter(reply_templates::version.eq(version)),
    )
    .set((
        reply_templates::title.eq(&r.title),
        reply_templates::body.eq(&r.body),
        reply_templates::active.eq(active),
        reply_templates::updated_at.eq(now()),
        reply_templates::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| reply_template(c, id),
        |_| Event::new("reply_template.update", "reply_template", id),
    )
}
