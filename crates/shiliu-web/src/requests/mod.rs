//! Requests (诉求) from intake to the resident's rating: the desk's pages and API, the public forms, Open311, files and co-handling, questions, settings and statistics.

pub mod api;
pub mod files;
pub mod open311;
pub mod pages;
pub mod public;
pub mod questions;
pub mod recover;
pub mod settings;
pub mod stats;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        open311::routes(),
        pages::routes(),
        public::routes(),
        recover::routes(),
        questions::routes(),
        settings::routes(),
        stats::routes(),
        files::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}

/// The position "use my location" found, as `lat,long` to six decimals (Open311's form); none
/// when it was not used (both empty). A value that is not a position is refused on `field`.
pub(crate) fn position(
    field: &str,
    position: (&str, &str),
) -> Result<Option<String>, shiliu_domain::FieldError> {
    let (lat, long) = (position.0.trim(), position.1.trim());
    if lat.is_empty() && long.is_empty() {
        return Ok(None);
    }
    match (lat.parse::<f64>(), long.parse::<f64>()) {
        (Ok(a), Ok(b)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => {
            Ok(Some(format!("{a:.6},{b:.6}")))
        }
        _ => Err(shiliu_domain::FieldError::new(field, "err.position")),
    }
}

/// A request as a form sent it, with the position "use my location" found (`position`:
/// latitude and longitude in degrees, both empty when it was not used). The request keeps
/// its place as text, so the position goes into it as Open311's does, `lat,long` to six
/// decimals — unless the place already holds it, as the page's script writes it there.
pub(crate) fn request_input(
    channel: shiliu_domain::requests::Channel,
    description: &str,
    place: &str,
    at: (&str, &str),
    contact_name: &str,
    contact_phone: &str,
    consent: bool,
) -> Result<shiliu_domain::requests::RequestInput, shiliu_domain::FieldErrors> {
    let mut bad = None;
    let place = match position("place", at) {
        Ok(None) => place.to_string(),
        Ok(Some(at)) => match place.trim() {
            p if p.contains(&at) => p.to_string(),
            "" => at,
            p => format!("{p} ({at})"),
        },
        Err(e) => {
            bad = Some(e);
            place.to_string()
        }
    };
    let parsed = shiliu_domain::requests::RequestInput::parse(
        channel,
        description,
        &place,
        contact_name,
        contact_phone,
        consent,
    );
    match bad {
        None => parsed,
        Some(e) => {
            let mut errs = parsed.err().unwrap_or_default();
            errs.push(e);
            Err(errs)
        }
    }
}
