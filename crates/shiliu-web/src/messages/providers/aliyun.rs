//! Alibaba Cloud SMS (阿里云短信服务): `SendSms` of the `dysmsapi` 2017-05-25 API, an RPC call
//! whose query is signed with HMAC-SHA1 (signature version 1.0): the parameters sorted by
//! name and percent-encoded (RFC 3986), `GET&%2F&` and the encoded query signed with the
//! secret followed by `&`, the Base64 result added as `Signature`.

use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Answer, Sms, SmsProvider};

const ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";

/// What RFC 3986 leaves unencoded; everything else is `%XX`, spaces included.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
}

impl std::fmt::Debug for Credentials {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("aliyun")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"(set)")
            .finish()
    }
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

/// The signature of a parameter set, Base64 (before it is itself encoded into the URL).
pub fn signature(secret: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let query = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("GET&{}&{}", encode("/"), encode(&query));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The signed URL of a parameter set: the signature first, then the parameters as signed.
pub fn signed_url(endpoint: &str, secret: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut url = format!(
        "{endpoint}?Signature={}",
        encode(&signature(secret, params))
    );
    for (k, v) in sorted {
        url.push('&');
        url.push_str(&encode(k));
        url.push('=');
        url.push_str(&encode(v));
    }
    url
}

pub struct Aliyun {
    credentials: Credentials,
    agent: ureq::Agent,
}

impl Aliyun {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            agent: super::agent(),
        }
    }

    /// `SendSms`'s parameters for one SMS at `timestamp` (ISO 8601, UTC) with a fresh `nonce`.
    pub fn params(&self, sms: &Sms, timestamp: &str, nonce: &str) -> Vec<(&'static str, String)> {
        let template_param: serde_json::Map<String, serde_json::Value> = sms
            .params
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone())))
            .collect();
        vec![
            ("AccessKeyId", self.credentials.access_key_id.clone()),
            ("Action", "SendSms".into()),
            ("Format", "JSON".into()),
            ("OutId", sms.message_id.to_string()),
            ("PhoneNumbers", sms.phone.clone()),
            ("RegionId", "cn-hangzhou".into()),
            ("SignName", sms.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", nonce.into()),
            ("SignatureVersion", "1.0".into()),
            ("TemplateCode", sms.template.clone()),
            (
                "TemplateParam",
                serde_json::Value::Object(template_param).to_string(),
            ),
            ("Timestamp", timestamp.into()),
            ("Version", "2017-05-25".into()),
        ]
    }
}

/// The provider's answer: `Code` `OK` with a `BizId`, else its code and message.
pub fn read_answer(status: u16, body: &str) -> Answer {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        )
    })?;
    match v.get("Code").and_then(|c| c.as_str()) {
        Some("OK") => Ok(v
            .get("BizId")
            .and_then(|b| b.as_str())
            .unwrap_or_default()
            .to_string()),
        code => Err(format!(
            "HTTP {status}: {} {}",
            code.unwrap_or("?"),
            v.get("Message")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
        )),
    }
}

impl SmsProvider for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    fn send<'a>(&'a self, sms: &'a Sms) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
        Box::pin(async move {
            let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let nonce = crate::web::random_token(16);
            let url = signed_url(
                ENDPOINT,
                &self.credentials.access_key_secret,
                &self.params(sms, &timestamp, &nonce),
            );
            let agent = self.agent.clone();
            super::exchange(move || agent.get(url.as_str()).call(), read_answer).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendor's documented example (the SMS API's signature page): these parameters with
    /// the secret `testSecret` sign to `zJDF+Lrzhj/ThnlvIToysFRq6t4=`.
    fn documented() -> Vec<(&'static str, String)> {
        [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", r#"{"customer":"test"}"#),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    #[test]
    fn the_documented_example_signs_to_the_documented_signature() {
        assert_eq!(
            signature("testSecret", &documented()),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
    }

    #[test]
    fn the_signed_url_is_the_documented_one() {
        let url = signed_url("http://dysmsapi.aliyuncs.com/", "testSecret", &documented());
        assert!(url.starts_with(
            "http://dysmsapi.aliyuncs.com/?Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D&AccessKeyId=testId&Action=SendSms"
        ));
        assert!(url.contains("&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"));
    }

    #[test]
    fn an_sms_becomes_send_sms_with_its_template_and_signature() {
        let p = Aliyun::new(Credentials {
            access_key_id: "id".into(),
            access_key_secret: "secret".into(),
        });
        let sms = Sms {
            message_id: 7,
            phone: "13800138000".into(),
            sign_name: "石榴".into(),
            template: "SMS_1".into(),
            params: vec![("code", "ABC123".into()), ("reply", "已处理".into())],
        };
        let params = p.params(&sms, "2026-12-06T00:00:00Z", "n");
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("TemplateCode"), "SMS_1");
        assert_eq!(get("SignName"), "石榴");
        assert_eq!(
            get("TemplateParam"),
            r#"{"code":"ABC123","reply":"已处理"}"#
        );
        assert_eq!(get("OutId"), "7");
    }

    #[test]
    fn a_refusal_names_the_providers_code() {
        assert_eq!(
            read_answer(200, r#"{"Code":"OK","BizId":"9^0","Message":"OK"}"#),
            Ok("9^0".into())
        );
        let e = read_answer(
            200,
            r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发流控"}"#,
        )
        .unwrap_err();
        assert!(e.contains("isv.BUSINESS_LIMIT_CONTROL"), "{e}");
        assert!(read_answer(502, "bad gateway").unwrap_err().contains("502"));
    }

    #[test]
    fn the_secret_is_not_in_debug() {
        let c = Credentials {
            access_key_id: "id".into(),
            access_key_secret: "very-secret".into(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
