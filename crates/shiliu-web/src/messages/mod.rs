//! Messages: a staff member's inbox (the header's bell), the SMS providers, and the sender
//! that delivers the outbox (`shiliu_db::messages`).

pub mod api;
pub mod pages;
pub mod providers;
pub mod sender;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [pages::routes(), api::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}

/// A message as a line of the inbox, in the reader's language.
pub(crate) fn line(t: crate::web::i18n::T, m: &shiliu_db::messages::Message) -> String {
    t.f(
        &format!("message.{}", m.kind),
        &[("code", &m.param("code"))],
    )
}
