//! SMS providers behind one interface: Alibaba Cloud SMS (`aliyun`), Tencent Cloud SMS
//! (`tencent`), and the log-only provider that keeps what would be sent in `sms_log` (the
//! default: the demo and the tests read it there). Chinese providers send only registered
//! templates under a registered signature (签名): a message is a template's code with its
//! parameters, never free text, so each kind of message names its template in the
//! configuration (`sms_template_received`…).

pub mod aliyun;
pub mod tencent;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use shiliu_domain::messages::Kind;

/// One SMS to send: a registered template with its parameters, in the template's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The outbox row it delivers.
    pub message_id: i64,
    /// An 11-digit mainland mobile number.
    pub phone: String,
    pub sign_name: String,
    /// The provider's template code (`SMS_123456789`) or id (`1234567`).
    pub template: String,
    pub params: Vec<(&'static str, String)>,
}

/// What a provider's `send` gives back: its id for the accepted message, or why it refused
/// or could not be reached (kept with the attempt).
pub type Answer = Result<String, String>;

/// An SMS gateway.
pub trait SmsProvider: Send + Sync {
    /// Its name in the attempts' records (`log`, `aliyun`, `tencent`).
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, sms: &'a Sms) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;
}

/// Which provider, with its credentials.
#[derive(Clone, Default)]
pub enum ProviderConfig {
    #[default]
    Log,
    Aliyun(aliyun::Credentials),
    Tencent(tencent::Credentials),
}

/// The SMS side of the configuration.
#[derive(Clone)]
pub struct SmsConfig {
    pub provider: ProviderConfig,
    /// The registered signature, shown in 【】 before every message.
    pub sign_name: String,
    /// Each kind's template; a kind without one is not sent by SMS (the attempt says so).
    pub templates: HashMap<Kind, String>,
    /// SMS sent per second at most by one server (providers refuse bursts above their
    /// account's rate).
    pub per_second: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: ProviderConfig::Log,
            sign_name: "石榴".into(),
            // The log-only provider takes any name; a real provider needs the registered ones.
            templates: Kind::ALL
                .into_iter()
                .map(|k| (k, format!("log:{}", k.template_key())))
                .collect(),
            per_second: 20,
        }
    }
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let provider = match &self.provider {
            ProviderConfig::Log => "log".to_string(),
            ProviderConfig::Aliyun(c) => format!("{c:?}"),
            ProviderConfig::Tencent(c) => format!("{c:?}"),
        };
        f.debug_struct("SmsConfig")
            .field("provider", &provider)
            .field("sign_name", &self.sign_name)
            .field("templates", &self.templates)
            .field("per_second", &self.per_second)
            .finish()
    }
}

/// The provider the configuration names.
pub fn provider(config: &SmsConfig, db: &shiliu_db::Db) -> Arc<dyn SmsProvider> {
    match &config.provider {
        ProviderConfig::Log => Arc::new(LogProvider { db: db.clone() }),
        ProviderConfig::Aliyun(c) => Arc::new(aliyun::Aliyun::new(c.clone())),
        ProviderConfig::Tencent(c) => Arc::new(tencent::Tencent::new(c.clone())),
    }
}

/// The template parameters of a message, in the order its template takes them (Tencent's
/// templates number their variables {1}, {2}; Alibaba's name them).
pub fn params(kind: Kind, m: &shiliu_db::messages::Message) -> Vec<(&'static str, String)> {
    let names: &[&'static str] = match kind {
        Kind::Resolved => &["code", "reply"],
        _ => &["code"],
    };
    names.iter().map(|n| (*n, m.param(n))).collect()
}

/// The log-only provider: keeps the SMS in `sms_log` and answers with its row's id.
pub struct LogProvider {
    pub db: shiliu_db::Db,
}

impl SmsProvider for LogProvider {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, sms: &'a Sms) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
        Box::pin(async move {
            let params: serde_json::Map<String, serde_json::Value> = sms
                .params
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone())))
                .collect();
            let row = shiliu_db::messages::sender::LoggedSms {
                id: shiliu_db::ids::new_id(),
                message_id: sms.message_id,
                phone: sms.phone.clone(),
                sign_name: sms.sign_name.clone(),
                template: sms.template.clone(),
                params: serde_json::Value::Object(params).to_string(),
                at: shiliu_db::now(),
            };
            let id = row.id;
            self.db
                .write(move |c| shiliu_db::messages::sender::log_sms(c, &row))
                .await
                .map(|()| format!("log:{id}"))
                .map_err(|e| e.to_string())
        })
    }
}

/// The HTTPS agent the real providers share: ten seconds for a whole call, an HTTP error
/// status read as an answer (the body says why), not as a transport failure.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Make a provider's HTTPS call (`request`, on the shared [`agent`]) off the async threads,
/// since the client blocks, and read the answer with the provider's own `read`.
pub(crate) async fn exchange(
    request: impl FnOnce() -> Result<ureq::http::Response<ureq::Body>, ureq::Error> + Send + 'static,
    read: fn(u16, &str) -> Answer,
) -> Answer {
    tokio::task::spawn_blocking(move || {
        let mut resp = request().map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        read(status, &body)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// A mainland number as the international form Tencent asks for.
pub(crate) fn e164(phone: &str) -> String {
    if phone.starts_with('+') {
        phone.to_string()
    } else {
        format!("+86{phone}")
    }
}
