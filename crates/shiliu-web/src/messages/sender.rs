//! The sender: a background task of every server that delivers the outbox's due SMS through
//! the configured provider. Claims are exactly-once across servers (`shiliu_db::messages::
//! sender::claim`); each attempt is recorded with the provider's answer; a failure is tried
//! again with backoff and given up after the last attempt; one server sends at most
//! `per_second` a second (the provider's rate), and one number gets at most a few an hour.

use std::sync::Arc;
use std::time::Duration;

use shiliu_db::DbError;
use shiliu_db::messages::Message;
use shiliu_db::messages::sender::{self, After};

use super::providers::{self, Answer, Sms, SmsConfig, SmsProvider};
use crate::AppState;

/// Messages claimed at a time: few enough that a claim held by a server that dies delays
/// little, and that sending them at the provider's rate ends well inside the claim.
const BATCH: i64 = 20;

/// Every two seconds: deliver what is due.
pub(crate) async fn run(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        every.tick().await;
        match deliver_due(&state).await {
            Ok(d) if d.sent + d.retrying + d.gave_up > 0 => tracing::info!(
                sent = d.sent,
                retrying = d.retrying,
                gave_up = d.gave_up,
                "messages delivered"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "delivering messages failed"),
        }
    }
}

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub retrying: usize,
    pub gave_up: usize,
}

/// Deliver every SMS due now through the server's provider; several servers may run it at
/// once, each message going out through one of them.
pub async fn deliver_due(state: &AppState) -> Result<Delivered, DbError> {
    deliver_with(state, &state.sms_provider(), shiliu_db::now()).await
}

/// The same through `provider`, as of `at` (the tests' clock).
pub async fn deliver_with(
    state: &AppState,
    provider: &Arc<dyn SmsProvider>,
    at: chrono::NaiveDateTime,
) -> Result<Delivered, DbError> {
    let config = &state.config.sms;
    let pause = Duration::from_secs(1) / config.per_second.max(1);
    let mut done = Delivered::default();
    loop {
        let claimed = state.db.write(move |c| sender::claim(c, at, BATCH)).await?;
        let n = claimed.len();
        for m in claimed {
            let answer: Answer = match compose(config, &m) {
                Some(sms) => provider.send(&sms).await,
                None => Err(format!("no SMS template is configured for {}", m.kind)),
            };
            let name = provider.name();
            let after = state
                .db
                .write(move |c| sender::record(c, &m, name, &answer, at))
                .await?;
            match after {
                After::Sent => done.sent += 1,
                After::Retry(_) => done.retrying += 1,
                After::GaveUp => done.gave_up += 1,
                After::Lost => {}
            }
            tokio::time::sleep(pause).await;
        }
        if n < BATCH as usize {
            return Ok(done);
        }
    }
}

/// The SMS a message becomes: its kind's template, the signature, its parameters.
pub fn compose(config: &SmsConfig, m: &Message) -> Option<Sms> {
    let kind = m.kind()?;
    Some(Sms {
        message_id: m.id,
        phone: m.phone.clone()?,
        sign_name: config.sign_name.clone(),
        template: config.templates.get(&kind)?.clone(),
        params: providers::params(kind, m),
    })
}
