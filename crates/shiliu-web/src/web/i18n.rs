//! Message catalogues (zh-CN by default, en on request). Every user-facing string is a key in
//! `locales/*.toml`; a test checks both catalogues have the same keys and that every key the
//! code and templates use exists.

use std::collections::HashMap;
use std::sync::LazyLock;

use shiliu_domain::{FieldError, FieldErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "zh-hans" => Some(Lang::ZhCn),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }

    /// From an `Accept-Language` header: the first language listed that we have (browsers list
    /// them in order of preference; q-values are not read).
    pub fn from_accept(header: &str) -> Option<Self> {
        header.split(',').find_map(|part| {
            Lang::parse(
                part.split(';')
                    .next()
                    .unwrap_or("")
                    .split('-')
                    .next()
                    .unwrap_or(""),
            )
        })
    }
}

type Catalogue = HashMap<String, String>;

fn load(src: &str) -> Catalogue {
    toml::from_str::<HashMap<String, String>>(src)
        .expect("message catalogue is valid TOML of strings")
}

static ZH: LazyLock<Catalogue> = LazyLock::new(|| load(include_str!("../../locales/zh-CN.toml")));
static EN: LazyLock<Catalogue> = LazyLock::new(|| load(include_str!("../../locales/en.toml")));

/// A translator for one language, handed to every template as `t`.
#[derive(Debug, Clone, Copy, Default)]
pub struct T {
    pub lang: Lang,
}

impl T {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    fn catalogue(self) -> &'static Catalogue {
        match self.lang {
            Lang::ZhCn => &ZH,
            Lang::En => &EN,
        }
    }

    /// The message for `key`; the key itself if missing (a test keeps that from shipping).
    pub fn s<'a>(&self, key: &'a str) -> &'a str {
        self.catalogue().get(key).map_or(key, String::as_str)
    }

    /// The message with `{name}` placeholders filled.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.s(key).to_string();
        for (k, v) in args {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    pub fn field_error(&self, e: &FieldError) -> String {
        let args: Vec<(&str, &str)> = e.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.f(e.reason, &args)
    }

    /// (field label, reason) for each error, as form pages list them.
    pub fn field_errors(&self, errs: &FieldErrors) -> Vec<(String, String)> {
        self.field_errors_as(errs, &[])
    }

    /// The same, where the form names a field differently from the rule that checked it (a form
    /// asks for a `region_code`; the database reports the `region_id` it resolved to).
    pub fn field_errors_as(
        &self,
        errs: &FieldErrors,
        aliases: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let name = |f: &str| {
            aliases
                .iter()
                .find(|(from, _)| *from == f)
                .map_or_else(|| f.to_string(), |(_, to)| (*to).to_string())
        };
        errs.0
            .iter()
            .map(|e| (self.field(&name(&e.field)), self.field_error(e)))
            .collect()
    }

    /// The text in this language of a record kept in both (a category's name, a question).
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    /// Label of a form field, by its name.
    pub fn field(&self, name: &str) -> String {
        let key = format!("field.{name}");
        let label = self.s(&key);
        if label == key {
            name.to_string()
        } else {
            label.to_string()
        }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// Look up `<prefix>.<code>` (roles, kinds, site types…).
    pub fn label(&self, prefix: &str, code: &str) -> String {
        let key = format!("{prefix}.{code}");
        let v = self.s(&key);
        if v == key {
            code.to_string()
        } else {
            v.to_string()
        }
    }
}
