//! Japanese (default) and English messages from Fluent files (`locales/{ja,en}/main.ftl`), embedded in the binary.

use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

pub const JA_FTL: &str = include_str!("../../../locales/ja/main.ftl");
pub const EN_FTL: &str = include_str!("../../../locales/en/main.ftl");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The same language in the policy's vocabulary (names of kinds, zones, levels, findings).
    pub fn policy(self) -> mamori_policy::Lang {
        match self {
            Lang::Ja => mamori_policy::Lang::Ja,
            Lang::En => mamori_policy::Lang::En,
        }
    }

    pub fn parse(code: &str) -> Lang {
        if code.trim().to_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Ja
        }
    }
}

/// Both bundles, built once at start.
pub struct Catalog {
    ja: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, source: &str) -> Result<FluentBundle<FluentResource>, String> {
    let resource =
        FluentResource::try_new(source.to_owned()).map_err(|(_, e)| format!("{lang}: {e:?}"))?;
    let id = lang.parse().map_err(|e| format!("{lang}: {e}"))?;
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks around arguments would show up in form values and tests; the UI is not bidi.
    b.set_use_isolating(false);
    b.add_resource(resource)
        .map_err(|e| format!("{lang}: {e:?}"))?;
    Ok(b)
}

impl Catalog {
    pub fn load() -> Result<Arc<Catalog>, String> {
        Ok(Arc::new(Catalog {
            ja: bundle("ja", JA_FTL)?,
            en: bundle("en", EN_FTL)?,
        }))
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }

    /// The message for `key`, or the key itself when a message is missing (a test keeps both files complete).
    pub fn get(&self, lang: Lang, key: &str, args: &[(&str, String)]) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_owned();
        };
        let mut fargs = FluentArgs::new();
        for (name, value) in args {
            fargs.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, Some(&fargs), &mut errors)
            .into_owned()
    }
}

/// A message in `lang_code` (`ja`, `en`; anything else is Japanese) from the catalogue embedded in this crate,
/// loaded once. For callers outside the web layer, such as the command line printing an import's
/// `RowProblem` reasons: `message("ja", problem.key, &problem.args)`. A missing key gives the key itself.
pub fn message(lang_code: &str, key: &str, args: &[(&str, String)]) -> String {
    static CATALOG: std::sync::OnceLock<Option<Arc<Catalog>>> = std::sync::OnceLock::new();
    match CATALOG.get_or_init(|| Catalog::load().ok()) {
        Some(catalog) => catalog.get(Lang::parse(lang_code), key, args),
        None => key.to_owned(),
    }
}

/// The translator a template holds: a catalogue and a language.
#[derive(Clone)]
pub struct Tr {
    pub catalog: Arc<Catalog>,
    pub lang: Lang,
}

impl Tr {
    pub fn get(&self, key: &str) -> String {
        self.catalog.get(self.lang, key, &[])
    }

    pub fn with(&self, key: &str, name: &str, value: &str) -> String {
        self.catalog
            .get(self.lang, key, &[(name, value.to_owned())])
    }

    pub fn args(&self, key: &str, args: &[(&str, String)]) -> String {
        self.catalog.get(self.lang, key, args)
    }

    /// A date as the language writes it: 令和8年5月19日 (2026-05-19) in Japanese, 2026-05-19 in English.
    pub fn date(&self, date: &chrono::NaiveDate) -> String {
        match (self.lang, mamori_policy::WarekiDate::from_date(*date)) {
            (Lang::Ja, Some(w)) => format!("{}（{}）", w.to_japanese(), date),
            _ => date.to_string(),
        }
    }

    pub fn opt_date(&self, date: &Option<chrono::NaiveDate>) -> String {
        date.as_ref().map(|d| self.date(d)).unwrap_or_default()
    }

    /// A moment in Japan time.
    pub fn time(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&mamori_app::jst())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// The fiscal year (年度) of a date.
    pub fn nendo(&self, date: &chrono::NaiveDate) -> String {
        let n = mamori_policy::Nendo::of(*date);
        match self.lang {
            Lang::Ja => n.to_japanese(),
            Lang::En => n.to_english(),
        }
    }
}

/// Every message key used in a file of the other language exists here too.
pub fn missing_keys(from: &str, into: &str) -> Vec<String> {
    let keys = |src: &str| -> std::collections::BTreeSet<String> {
        src.lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && l.contains(" ="))
            .filter_map(|l| l.split(" =").next().map(|k| k.trim().to_owned()))
            .collect()
    };
    let have = keys(into);
    keys(from)
        .into_iter()
        .filter(|k| !have.contains(k))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_key_exists_in_both_languages() {
        assert_eq!(
            missing_keys(JA_FTL, EN_FTL),
            Vec::<String>::new(),
            "keys missing in en"
        );
        assert_eq!(
            missing_keys(EN_FTL, JA_FTL),
            Vec::<String>::new(),
            "keys missing in ja"
        );
        assert!(missing_keys("a = 1\nb = 2\n", "a = 1\n").contains(&"b".to_owned()));
    }

    #[test]
    fn both_files_parse_and_japanese_is_the_default() {
        let c = Catalog::load().unwrap();
        assert_eq!(Lang::parse(""), Lang::Ja);
        assert_eq!(c.get(Lang::Ja, "nav-org", &[]), "組織");
        assert_eq!(c.get(Lang::En, "nav-org", &[]), "Organisation");
    }

    #[test]
    fn messages_are_available_outside_a_request() {
        let args = [("value", "X".to_owned()), ("first", "3".to_owned())];
        assert!(message("ja", "err-duplicate-in-file", &args).contains("3行目"));
        assert!(message("en", "err-duplicate-in-file", &args).contains("row 3"));
        assert_eq!(message("ja", "no-such-key", &[]), "no-such-key");
    }
}
