//! Configuration: defaults, then `shiliu.toml` (or `--config`), then `SHILIU_*` variables;
//! any key may also come from a file named by `SHILIU_<KEY>_FILE` (for secrets).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use shiliu_db::registry::Vault;

#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: String,
    /// Database connections in the pool.
    pub pool_size: u32,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `shiliu=debug,info`.
    pub log_level: String,
    /// Set behind HTTPS: cookies get `Secure`.
    pub secure_cookies: bool,
    /// Set behind a reverse proxy: the client address comes from `X-Forwarded-For`.
    pub trust_proxy: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub lockout_max_failures: i32,
    pub lockout_minutes: i64,
    /// The address users reach this server at, e.g. `https://shiliu.example.gov.cn` (for
    /// links in documents such as Open311's discovery).
    pub public_url: String,
    /// Who runs this server (Open311 discovery's `contact`).
    pub contact: String,
    /// Open311 `jurisdiction_id`; empty: any (a server of one jurisdiction).
    pub open311_jurisdiction: String,
    /// The key that seals the registry's ID numbers: 64 hexadecimal digits (`shiliu keygen`).
    /// Required with `PostgreSQL` (every app node must hold the same one); with `SQLite`, when
    /// empty, it is kept in `registry.key` beside the database file, made on first start.
    /// Lose it and no sealed ID number can be read again: back it up apart from the database.
    pub registry_key: String,
    /// The fewest people a published figure broken down by 民族 or 户籍地 may show; smaller
    /// cells are withheld on pages and in exports.
    pub registry_min_cell: i64,
    /// The bearer token `/metrics` asks of its scraper; empty: `/metrics` is not served.
    pub metrics_token: String,
    /// The SMS provider: `log` (keeps what would be sent in the database: the demo's and the
    /// tests'), `aliyun` (Alibaba Cloud SMS) or `tencent` (Tencent Cloud SMS).
    pub sms_provider: String,
    /// The provider's key id and secret (Alibaba: the `AccessKey` ID and secret; Tencent: the
    /// `SecretId` and `SecretKey`).
    pub sms_key_id: String,
    pub sms_key_secret: String,
    /// Tencent only: the SMS application (`SmsSdkAppId`) and the API region.
    pub sms_app_id: String,
    pub sms_region: String,
    /// The registered signature (签名).
    pub sms_sign_name: String,
    /// Each message's registered template (Alibaba's `SMS_…` code, Tencent's id); a kind
    /// left empty is not sent by SMS.
    pub sms_template_received: String,
    pub sms_template_resolved: String,
    pub sms_template_rate: String,
    pub sms_template_escalated: String,
    pub sms_template_code: String,
    /// SMS one server sends a second at most.
    pub sms_per_second: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./data/shiliu.db".into(),
            listen: "127.0.0.1:8080".into(),
            pool_size: 8,
            log_format: "text".into(),
            log_level: "info".into(),
            secure_cookies: false,
            trust_proxy: false,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_max_failures: 5,
            lockout_minutes: 15,
            public_url: String::new(),
            contact: String::new(),
            open311_jurisdiction: String::new(),
            registry_key: String::new(),
            registry_min_cell: shiliu_domain::registry::MIN_CELL,
            metrics_token: String::new(),
            sms_provider: "log".into(),
            sms_key_id: String::new(),
            sms_key_secret: String::new(),
            sms_app_id: String::new(),
            sms_region: "ap-guangzhou".into(),
            sms_sign_name: "石榴".into(),
            sms_template_received: String::new(),
            sms_template_resolved: String::new(),
            sms_template_rate: String::new(),
            sms_template_escalated: String::new(),
            sms_template_code: String::new(),
            sms_per_second: 20,
        }
    }
}

impl std::fmt::Debug for Config {
    // The database URL may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut c = self.clone();
        if !c.registry_key.is_empty() {
            c.registry_key = "(set)".into();
        }
        if !c.metrics_token.is_empty() {
            c.metrics_token = "(set)".into();
        }
        if !c.sms_key_secret.is_empty() {
            c.sms_key_secret = "(set)".into();
        }
        c.database_url = shiliu_db::DatabaseUrl::parse(&self.database_url)
            .map_or_else(|_| c.database_url.clone(), |u| u.redacted());
        f.write_str(&toml::to_string(&c).unwrap_or_default())
    }
}

const KNOWN: [&str; 29] = [
    "database_url",
    "listen",
    "pool_size",
    "log_format",
    "log_level",
    "secure_cookies",
    "trust_proxy",
    "session_idle_minutes",
    "session_absolute_hours",
    "lockout_max_failures",
    "lockout_minutes",
    "public_url",
    "contact",
    "open311_jurisdiction",
    "registry_key",
    "registry_min_cell",
    "metrics_token",
    "sms_provider",
    "sms_key_id",
    "sms_key_secret",
    "sms_app_id",
    "sms_region",
    "sms_sign_name",
    "sms_template_received",
    "sms_template_resolved",
    "sms_template_rate",
    "sms_template_escalated",
    "sms_template_code",
    "sms_per_second",
];

pub struct Loaded {
    pub config: Config,
    /// Keys given that the configuration does not have (warned about, not fatal).
    pub unknown: Vec<String>,
    pub file: Option<PathBuf>,
}

pub fn load(path: Option<&Path>) -> Result<Loaded, String> {
    let file = match path {
        Some(p) if !p.exists() => {
            return Err(format!("config file '{}' does not exist", p.display()));
        }
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("shiliu.toml")).filter(|p| p.exists()),
    };
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    if let Some(f) = &file {
        fig = fig.merge(Toml::file(f));
    }
    // SHILIU_TEST_* belong to the test suite, not the server.
    fig = fig.merge(Env::prefixed("SHILIU_").filter(|k| {
        let k = k.as_str().to_lowercase();
        !k.ends_with("_file") && !k.starts_with("test_")
    }));
    for (key, value) in std::env::vars() {
        let Some(name) = key
            .strip_prefix("SHILIU_")
            .and_then(|k| k.strip_suffix("_FILE"))
        else {
            continue;
        };
        if name.starts_with("TEST_") {
            continue;
        }
        let secret = std::fs::read_to_string(&value)
            .map_err(|e| format!("{key}: cannot read '{value}': {e}"))?;
        fig = fig.merge(Serialized::default(
            &name.to_lowercase(),
            secret.trim().to_string(),
        ));
    }
    let unknown: Vec<String> = fig
        .find_value("")
        .ok()
        .and_then(figment::value::Value::into_dict)
        .map(|d| {
            d.keys()
                .filter(|k| !KNOWN.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let config: Config = fig.extract().map_err(|e| {
        let first = e
            .into_iter()
            .next()
            .map(|e| e.to_string())
            .unwrap_or_default();
        format!("configuration: {first}")
    })?;
    if config.pool_size == 0 || config.pool_size > 512 {
        return Err("configuration: pool_size must be between 1 and 512".into());
    }
    if !matches!(config.log_format.as_str(), "text" | "json") {
        return Err("configuration: log_format must be 'text' or 'json'".into());
    }
    config.sms()?;
    Ok(Loaded {
        config,
        unknown,
        file,
    })
}

impl Config {
    /// The registry key: as configured, or (`SQLite` only) the one kept beside the database,
    /// made on first use.
    pub fn vault(&self) -> Result<Vault, String> {
        if !self.registry_key.trim().is_empty() {
            return Vault::from_hex(&self.registry_key).map_err(|e| format!("configuration: {e}"));
        }
        let url = shiliu_db::DatabaseUrl::parse(&self.database_url).map_err(|e| e.to_string())?;
        if url.engine == shiliu_db::Engine::Postgres {
            return Err(
                "configuration: registry_key is required with PostgreSQL (every app node \
                 must hold the same one): make one with `shiliu keygen` and set \
                 SHILIU_REGISTRY_KEY or SHILIU_REGISTRY_KEY_FILE"
                    .into(),
            );
        }
        let path = Path::new(&url.target).with_file_name("registry.key");
        let key = match std::fs::read_to_string(&path) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k = Vault::generate_key();
                write_secret(&path, &k)
                    .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
                tracing::warn!(
                    path = %path.display(),
                    "made a new registry key: back it up apart from the database, without it no ID number can be read"
                );
                k
            }
            Err(e) => return Err(format!("cannot read '{}': {e}", path.display())),
        };
        Vault::from_hex(&key).map_err(|e| format!("'{}': {e}", path.display()))
    }

    pub fn web(&self) -> Result<shiliu_web::WebConfig, String> {
        Ok(shiliu_web::WebConfig {
            vault: self.vault()?,
            min_cell: self.registry_min_cell.max(1),
            session_idle: chrono::Duration::minutes(self.session_idle_minutes.max(1)),
            session_absolute: chrono::Duration::hours(self.session_absolute_hours.max(1)),
            lockout: shiliu_db::accounts::LockoutPolicy {
                max_failures: self.lockout_max_failures.max(1),
                lock_for: chrono::Duration::minutes(self.lockout_minutes.max(1)),
            },
            secure_cookies: self.secure_cookies,
            trust_proxy: self.trust_proxy,
            public_url: Some(self.public_url.clone()).filter(|s| !s.is_empty()),
            contact: self.contact.clone(),
            open311_jurisdiction: Some(self.open311_jurisdiction.clone()).filter(|s| !s.is_empty()),
            metrics_token: Some(self.metrics_token.clone()).filter(|s| !s.is_empty()),
            sms: self.sms()?,
            ..shiliu_web::WebConfig::default()
        })
    }

    /// The SMS side: the provider with its credentials, the signature and the templates.
    pub fn sms(&self) -> Result<shiliu_web::messages::providers::SmsConfig, String> {
        use shiliu_domain::messages::Kind;
        use shiliu_web::messages::providers::{ProviderConfig, SmsConfig, aliyun, tencent};
        let need = |v: &str, key: &str| {
            if v.trim().is_empty() {
                Err(format!(
                    "configuration: sms_provider '{}' needs {key}",
                    self.sms_provider
                ))
            } else {
                Ok(v.trim().to_string())
            }
        };
        let provider = match self.sms_provider.as_str() {
            "log" => {
                return Ok(SmsConfig {
                    sign_name: self.sms_sign_name.clone(),
                    per_second: self.sms_per_second.max(1),
                    ..SmsConfig::default()
                });
            }
            "aliyun" => ProviderConfig::Aliyun(aliyun::Credentials {
                access_key_id: need(&self.sms_key_id, "sms_key_id")?,
                access_key_secret: need(&self.sms_key_secret, "sms_key_secret")?,
            }),
            "tencent" => ProviderConfig::Tencent(tencent::Credentials {
                secret_id: need(&self.sms_key_id, "sms_key_id")?,
                secret_key: need(&self.sms_key_secret, "sms_key_secret")?,
                sdk_app_id: need(&self.sms_app_id, "sms_app_id")?,
                region: need(&self.sms_region, "sms_region")?,
            }),
            other => {
                return Err(format!(
                    "configuration: sms_provider must be 'log', 'aliyun' or 'tencent', not '{other}'"
                ));
            }
        };
        let templates = [
            (Kind::Received, &self.sms_template_received),
            (Kind::Resolved, &self.sms_template_resolved),
            (Kind::Rate, &self.sms_template_rate),
            (Kind::Escalated, &self.sms_template_escalated),
            (Kind::Code, &self.sms_template_code),
        ]
        .into_iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(k, t)| (k, t.trim().to_string()))
        .collect();
        Ok(SmsConfig {
            provider,
            sign_name: need(&self.sms_sign_name, "sms_sign_name")?,
            templates,
            per_second: self.sms_per_second.max(1),
        })
    }
}

/// Write a secret readable by its owner only.
fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(secret.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiliu_web::messages::providers::ProviderConfig;

    fn tencent() -> Config {
        Config {
            sms_provider: "tencent".into(),
            sms_key_id: "AKID".into(),
            sms_key_secret: "very-secret".into(),
            sms_app_id: "1400000000".into(),
            sms_template_received: "1001".into(),
            ..Config::default()
        }
    }

    #[test]
    fn the_log_only_provider_is_the_default() {
        let sms = Config::default().sms().unwrap();
        assert!(matches!(sms.provider, ProviderConfig::Log));
    }

    #[test]
    fn a_provider_without_its_secret_is_refused_by_name() {
        let e = Config {
            sms_key_secret: String::new(),
            ..tencent()
        }
        .sms()
        .unwrap_err();
        assert!(e.contains("sms_key_secret"), "{e}");
    }

    #[test]
    fn only_the_configured_templates_are_sent() {
        let sms = tencent().sms().unwrap();
        assert!(matches!(sms.provider, ProviderConfig::Tencent(_)));
        assert_eq!(sms.templates.len(), 1);
    }

    #[test]
    fn the_sms_secret_is_in_no_debug_output() {
        let c = tencent();
        assert!(!format!("{c:?}").contains("very-secret"));
        assert!(!format!("{:?}", c.sms().unwrap()).contains("very-secret"));
    }
}
