//! Messages (notifications): what a message says, how often delivery is tried and how fast,
//! and the rules of the one-time codes residents recover their tracking codes with. The outbox
//! and its sender are `shiliu-db`'s and `shiliu-web`'s `messages`.

use crate::FieldError;

/// What a message says: each kind is one SMS template (registered with the provider, named
/// in the configuration) and one line of an in-app inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// To a resident who consented: the request was received, with its tracking code.
    Received,
    /// In-app, to the staff of the site or unit a request was sent to.
    Dispatched,
    /// To a resident who consented: the request was resolved, with the reply.
    Resolved,
    /// To a resident who consented: an invitation to rate the handling.
    Rate,
    /// In-app, to the responsible site's staff: most of the time is used (催办).
    Reminded,
    /// In-app and SMS, to the supervising level's staff: the deadline passed (督办).
    Escalated,
    /// To a resident: a one-time code to list their requests by phone number.
    Code,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Received,
        Kind::Dispatched,
        Kind::Resolved,
        Kind::Rate,
        Kind::Reminded,
        Kind::Escalated,
        Kind::Code,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Received => "request.received",
            Kind::Dispatched => "request.dispatched",
            Kind::Resolved => "request.resolved",
            Kind::Rate => "request.rate",
            Kind::Reminded => "request.reminded",
            Kind::Escalated => "request.escalated",
            Kind::Code => "resident.code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The configuration's name of its SMS template (`sms_template_received`…).
    pub fn template_key(self) -> &'static str {
        match self {
            Kind::Received => "received",
            Kind::Dispatched => "dispatched",
            Kind::Resolved => "resolved",
            Kind::Rate => "rate",
            Kind::Reminded => "reminded",
            Kind::Escalated => "escalated",
            Kind::Code => "code",
        }
    }
}

/// Attempts at one SMS before the sender gives up on it (and says so: the message is marked
/// failed, every attempt kept with the provider's answer).
pub const MAX_ATTEMPTS: i32 = 5;

/// How long to wait after the `attempts`-th failed attempt: 1, 5, 30 minutes, then 2 hours
/// (a provider's outage or a recipient's carrier rarely clears in seconds).
pub fn backoff(attempts: i32) -> chrono::Duration {
    chrono::Duration::minutes(match attempts {
        ..=1 => 1,
        2 => 5,
        3 => 30,
        _ => 120,
    })
}

/// SMS one phone number receives in an hour at most; more wait for the next hour (carriers
/// block senders that flood one number, and a resident should not be flooded either).
pub const PER_RECIPIENT_PER_HOUR: i64 = 5;

/// The longest reply an SMS carries (a provider's template variable holds at most a few dozen
/// characters; the whole reply is on the status page).
pub const REPLY_IN_SMS: usize = 60;

/// A reply cut to what an SMS carries, with an ellipsis when cut.
pub fn reply_for_sms(reply: &str) -> String {
    let reply = reply.trim();
    if reply.chars().count() <= REPLY_IN_SMS {
        return reply.to_string();
    }
    let mut cut: String = reply.chars().take(REPLY_IN_SMS - 1).collect();
    cut.push('…');
    cut
}

/// A one-time code lives this long…
pub const CODE_MINUTES: i64 = 10;
/// …and takes this many wrong tries before it is spent.
pub const CODE_TRIES: i32 = 5;
/// Codes one phone number may be sent in an hour, and one client address may ask for.
pub const CODES_PER_PHONE_PER_HOUR: i64 = 3;
pub const CODES_PER_ADDRESS_PER_HOUR: i64 = 10;

/// A one-time code as typed: six digits (spaces ignored), else an error on `code`.
pub fn parse_code(input: &str) -> Result<String, FieldError> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() {
        return Err(FieldError::new("code", "err.required"));
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new("code", "err.code.format"));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("request.unknown"), None);
    }

    #[test]
    fn backoff_grows_and_stops_growing_at_two_hours() {
        let waits: Vec<i64> = (1..=6).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(waits, [1, 5, 30, 120, 120, 120]);
    }

    #[test]
    fn a_long_reply_is_cut_to_what_an_sms_carries() {
        let long = "已".repeat(100);
        let cut = reply_for_sms(&long);
        assert_eq!(cut.chars().count(), REPLY_IN_SMS);
        assert!(cut.ends_with('…'));
        assert_eq!(reply_for_sms(" 已处理 "), "已处理");
    }

    #[test]
    fn a_code_is_six_digits() {
        assert_eq!(parse_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(parse_code("").unwrap_err().reason, "err.required");
        assert_eq!(parse_code("12345").unwrap_err().reason, "err.code.format");
        assert_eq!(parse_code("12345a").unwrap_err().reason, "err.code.format");
    }
}
