//! What a picker's script fetches when a pick opens the next level (`web::pickers`): the
//! groups around the value picked, as the page itself would draw them. Divisions are public
//! reference data (the residents' declaration form picks a 户籍地 too); regions are only those
//! in the caller's scope.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use shiliu_db::org as db;
use shiliu_db::scope::grants;

use crate::web::error::AppResult;
use crate::web::pickers::{GroupJson, division_groups, region_groups};
use crate::web::{AppState, Ctx, Principal};

#[derive(Deserialize)]
pub struct Around {
    #[serde(default)]
    around: String,
}

/// The divisions around a 户籍地 picked (an unknown code: the provinces only).
pub async fn divisions(ctx: Ctx, Query(q): Query<Around>) -> Json<Vec<GroupJson>> {
    Json(
        division_groups(&q.around, ctx.t)
            .into_iter()
            .map(Into::into)
            .collect(),
    )
}

/// The regions in the caller's scope around a region picked (one outside the scope: the
/// scope's top levels only, as for no pick).
pub async fn regions(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<Around>,
) -> AppResult<Json<Vec<GroupJson>>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let around = state
        .db
        .read(move |c| db::choices_around_code(c, actor.scope(), &q.around))
        .await?;
    Ok(Json(
        region_groups(around, p.t())
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/reference/divisions", get(divisions))
        .route("/regions/choices", get(regions))
}
