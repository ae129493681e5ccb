//! Request statistics per scope and period, grouped by a dimension, computed in the database.
//!
//! The SQL is written once; the only engine-specific parts are two marked expressions (the
//! month of a timestamp and the seconds between two) and the placeholder syntax.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde::Serialize;

use crate::scope::{Scope, path_upper};
use crate::{DbConnection, DbError, Engine};

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Category,
    Channel,
    Month,
    Site,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "category" => Self::Category,
            "channel" => Self::Channel,
            "month" => Self::Month,
            "site" => Self::Site,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Channel => "channel",
            Self::Month => "month",
            Self::Site => "site",
        }
    }
}

/// The figures of one group. Rates are derived from the counts by the reader (`rate`), so a
/// total row can be summed from the groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, QueryableByName)]
pub struct Figures {
    /// The group's key: a category id, a channel code, a month `YYYY-MM`, a site id (empty:
    /// none).
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub received: i64,
    /// 办结: resolved, rated or closed.
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    /// Resolved with a deadline…
    #[diesel(sql_type = BigInt)]
    pub resolved_with_deadline: i64,
    /// …and on or before it.
    #[diesel(sql_type = BigInt)]
    pub on_time: i64,
    #[diesel(sql_type = BigInt)]
    pub rated: i64,
    /// 满意 or 基本满意.
    #[diesel(sql_type = BigInt)]
    pub satisfied: i64,
    /// Total seconds from receipt to resolution, over the resolved.
    #[diesel(sql_type = BigInt)]
    pub handling_seconds: i64,
}

impl Figures {
    pub fn add(&mut self, o: &Figures) {
        self.received += o.received;
        self.resolved += o.resolved;
        self.resolved_with_deadline += o.resolved_with_deadline;
        self.on_time += o.on_time;
        self.rated += o.rated;
        self.satisfied += o.satisfied;
        self.handling_seconds += o.handling_seconds;
    }

    /// A share in per mille (None when nothing to divide by), for display as 94.3%.
    pub fn rate(part: i64, whole: i64) -> Option<i64> {
        (whole > 0).then(|| (part * 1000 + whole / 2) / whole)
    }

    pub fn completion(&self) -> Option<i64> {
        Self::rate(self.resolved, self.received)
    }

    pub fn on_time_rate(&self) -> Option<i64> {
        Self::rate(self.on_time, self.resolved_with_deadline)
    }

    pub fn satisfaction(&self) -> Option<i64> {
        Self::rate(self.satisfied, self.rated)
    }

    /// Average hours from receipt to resolution, in tenths.
    pub fn avg_handling_tenths_of_hours(&self) -> Option<i64> {
        (self.resolved > 0)
            .then(|| (self.handling_seconds * 10 / 3600 + self.resolved / 2) / self.resolved)
    }
}

/// The period `[from, to)` and the scope.
pub fn figures(
    conn: &mut DbConnection,
    engine: Engine,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
    by: Dimension,
) -> Result<Vec<Figures>, DbError> {
    // engine-specific: placeholders, the local (UTC+8, see calendar::CHINA_UTC_OFFSET_HOURS) month
    // of a timestamp, seconds between timestamps.
    let (ph, month, seconds): (fn(usize) -> String, &str, &str) = match engine {
        Engine::Sqlite => (
            |_| "?".to_string(),
            "substr(datetime(received_at, '+8 hours'), 1, 7)",
            "CAST(ROUND((julianday(resolved_at) - julianday(received_at)) * 86400) AS INTEGER)",
        ),
        Engine::Postgres => (
            |n| format!("${n}"),
            "to_char(received_at + interval '8 hours', 'YYYY-MM')",
            "CAST(EXTRACT(EPOCH FROM (resolved_at - received_at)) AS BIGINT)",
        ),
    };
    let key = match by {
        Dimension::Category => "CAST(category_id AS TEXT)".to_string(),
        Dimension::Channel => "channel".to_string(),
        Dimension::Month => month.to_string(),
        Dimension::Site => "COALESCE(CAST(site_id AS TEXT), '')".to_string(),
    };
    let mut n = 0;
    let mut next = || {
        n += 1;
        ph(n)
    };
    let (p_from, p_to) = (next(), next());
    let ranges: Vec<String> = scope
        .paths()
        .iter()
        .map(|_| format!("(region_path >= {} AND region_path < {})", next(), next()))
        .collect();
    let scope_sql = if ranges.is_empty() {
        "1 = 0".to_string()
    } else {
        ranges.join(" OR ")
    };
    let sql = format!(
        "SELECT {key} AS key, COUNT(*) AS received, \
         COUNT(resolved_at) AS resolved, \
         COUNT(CASE WHEN resolved_at IS NOT NULL AND due_at IS NOT NULL THEN 1 END) AS resolved_with_deadline, \
         COUNT(CASE WHEN resolved_at IS NOT NULL AND due_at IS NOT NULL AND resolved_at <= due_at THEN 1 END) AS on_time, \
         COUNT(rating) AS rated, \
         COUNT(CASE WHEN rating IN ('satisfied', 'fairly_satisfied') THEN 1 END) AS satisfied, \
         CAST(COALESCE(SUM(CASE WHEN resolved_at IS NOT NULL THEN {seconds} END), 0) AS BIGINT) AS handling_seconds \
         FROM requests WHERE received_at >= {p_from} AND received_at < {p_to} AND ({scope_sql}) \
         GROUP BY {key} ORDER BY {key}"
    );
    let mut q = diesel::sql_query(sql)
        .into_boxed::<crate::MultiBackend>()
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to);
    for p in scope.paths() {
        q = q.bind::<Text, _>(p.clone()).bind::<Text, _>(path_upper(p));
    }
    Ok(q.load(conn)?)
}

/// One request as the figures see it: category, channel, site, received, due, resolved, rating.
pub type RawRow = (
    i64,
    String,
    Option<i64>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
);

/// Rows as they are, for tests that recompute the figures by hand.
pub fn raw(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<RawRow>, DbError> {
    use crate::schema::requests as r;
    Ok(r::table
        .filter(scope.path_filter(r::region_path))
        .select((
            r::category_id,
            r::channel,
            r::site_id,
            r::received_at,
            r::due_at,
            r::resolved_at,
            r::rating,
        ))
        .load(conn)?)
}
