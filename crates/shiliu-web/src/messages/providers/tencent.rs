//! Tencent Cloud SMS (腾讯云短信): `SendSms` of the `sms` 2021-01-11 API, a JSON POST signed
//! with TC3-HMAC-SHA256: a canonical request (method, path, query, the signed headers
//! `content-type` and `host`, the body's SHA-256), its hash in a string to sign with the
//! time and the credential scope (`date/sms/tc3_request`), signed with a key derived from
//! the secret through the date and the service.

use std::future::Future;
use std::pin::Pin;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{Answer, Sms, SmsProvider};

const HOST: &str = "sms.tencentcloudapi.com";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

#[derive(Clone)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: String,
    /// The SMS application (`SmsSdkAppId`) the templates and signature belong to.
    pub sdk_app_id: String,
    /// The API region, e.g. `ap-guangzhou`.
    pub region: String,
}

impl std::fmt::Debug for Credentials {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("tencent")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"(set)")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("region", &self.region)
            .finish()
    }
}

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(msg.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The canonical request of a JSON POST to `/` signing `content-type` and `host`.
pub fn canonical_request(host: &str, body: &str) -> String {
    format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    )
}

/// The string to sign at `timestamp` (seconds, UTC) for `service`.
pub fn string_to_sign(timestamp: i64, service: &str, canonical: &str) -> String {
    format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{}/{service}/tc3_request\n{}",
        date(timestamp),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

fn date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// The signature, hexadecimal.
pub fn signature(secret_key: &str, timestamp: i64, service: &str, canonical: &str) -> String {
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), &date(timestamp));
    let k_service = hmac(&k_date, service);
    let k_signing = hmac(&k_service, "tc3_request");
    hex::encode(hmac(
        &k_signing,
        &string_to_sign(timestamp, service, canonical),
    ))
}

/// The `Authorization` header.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    timestamp: i64,
    service: &str,
    canonical: &str,
) -> String {
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={}",
        date(timestamp),
        signature(secret_key, timestamp, service, canonical)
    )
}

pub struct Tencent {
    credentials: Credentials,
    agent: ureq::Agent,
}

impl Tencent {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            agent: super::agent(),
        }
    }

    /// `SendSms`'s body for one SMS: the template's parameters in its order.
    pub fn body(&self, sms: &Sms) -> String {
        serde_json::json!({
            "PhoneNumberSet": [super::e164(&sms.phone)],
            "SmsSdkAppId": self.credentials.sdk_app_id,
            "SignName": sms.sign_name,
            "TemplateId": sms.template,
            "TemplateParamSet": sms.params.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            "SessionContext": sms.message_id.to_string(),
        })
        .to_string()
    }
}

/// The provider's answer: the one number's `SendStatus` `Ok` with its serial number, else
/// its code and message (or the call's `Error`).
pub fn read_answer(status: u16, body: &str) -> Answer {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        )
    })?;
    let r = &v["Response"];
    if let Some(e) = r.get("Error") {
        return Err(format!(
            "HTTP {status}: {} {}",
            e["Code"].as_str().unwrap_or("?"),
            e["Message"].as_str().unwrap_or_default()
        ));
    }
    let s = &r["SendStatusSet"][0];
    match s["Code"].as_str() {
        Some("Ok") => Ok(s["SerialNo"].as_str().unwrap_or_default().to_string()),
        code => Err(format!(
            "HTTP {status}: {} {}",
            code.unwrap_or("?"),
            s["Message"].as_str().unwrap_or_default()
        )),
    }
}

impl SmsProvider for Tencent {
    fn name(&self) -> &'static str {
        "tencent"
    }

    fn send<'a>(&'a self, sms: &'a Sms) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
        Box::pin(async move {
            let body = self.body(sms);
            let timestamp = chrono::Utc::now().timestamp();
            let c = &self.credentials;
            let auth = authorization(
                &c.secret_id,
                &c.secret_key,
                timestamp,
                "sms",
                &canonical_request(HOST, &body),
            );
            let (agent, region) = (self.agent.clone(), c.region.clone());
            let request = move || {
                agent
                    .post(format!("https://{HOST}/"))
                    .header("Authorization", &auth)
                    .header("Content-Type", CONTENT_TYPE)
                    .header("Host", HOST)
                    .header("X-TC-Action", "SendSms")
                    .header("X-TC-Version", "2021-01-11")
                    .header("X-TC-Timestamp", &timestamp.to_string())
                    .header("X-TC-Region", &region)
                    .send(body.as_bytes())
            };
            super::exchange(request, read_answer).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendor's documented example (API signature v3): `DescribeInstances` of `cvm` at
    /// 1551113065 with this body and the secret key as printed there.
    const BODY: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3*******";
    const AT: i64 = 1_551_113_065;

    #[test]
    fn the_documented_example_hashes_its_canonical_request_as_documented() {
        let canonical = canonical_request("cvm.tencentcloudapi.com", BODY);
        assert!(
            canonical.ends_with("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
        );
        assert_eq!(
            string_to_sign(AT, "cvm", &canonical),
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
    }

    #[test]
    fn the_documented_example_signs_to_the_documented_signature() {
        let canonical = canonical_request("cvm.tencentcloudapi.com", BODY);
        assert_eq!(
            signature(KEY, AT, "cvm", &canonical),
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
        assert!(
            authorization("AKID", KEY, AT, "cvm", &canonical).starts_with(
                "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=2230eefd"
            )
        );
    }

    #[test]
    fn an_sms_becomes_send_sms_with_its_template_parameters_in_order() {
        let p = Tencent::new(Credentials {
            secret_id: "id".into(),
            secret_key: "key".into(),
            sdk_app_id: "1400000000".into(),
            region: "ap-guangzhou".into(),
        });
        let sms = Sms {
            message_id: 7,
            phone: "13800138000".into(),
            sign_name: "石榴".into(),
            template: "123456".into(),
            params: vec![("code", "ABC123".into()), ("reply", "已处理".into())],
        };
        let v: serde_json::Value = serde_json::from_str(&p.body(&sms)).unwrap();
        assert_eq!(v["PhoneNumberSet"][0], "+8613800138000");
        assert_eq!(v["TemplateId"], "123456");
        assert_eq!(v["SignName"], "石榴");
        assert_eq!(
            v["TemplateParamSet"],
            serde_json::json!(["ABC123", "已处理"])
        );
    }

    #[test]
    fn a_refusal_names_the_providers_code() {
        let ok = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","Code":"Ok","Message":"send success"}],"RequestId":"r"}}"#;
        assert_eq!(read_answer(200, ok), Ok("5000:1".into()));
        let limited = r#"{"Response":{"SendStatusSet":[{"SerialNo":"","Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"daily limit"}],"RequestId":"r"}}"#;
        assert!(
            read_answer(200, limited)
                .unwrap_err()
                .contains("PhoneNumberDailyLimit")
        );
        let error = r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}"#;
        assert!(
            read_answer(200, error)
                .unwrap_err()
                .contains("AuthFailure.SignatureFailure")
        );
    }

    #[test]
    fn the_secret_is_not_in_debug() {
        let c = Credentials {
            secret_id: "id".into(),
            secret_key: "very-secret".into(),
            sdk_app_id: "1".into(),
            region: "ap-guangzhou".into(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
