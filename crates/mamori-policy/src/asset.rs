//! 4(2) 情報資産の範囲, 2(11) 個人番号を扱う事務 and 2(12)–(16) the three-layer network separation
//! (三層の対策): what an information asset is, which work it serves and which zone it sits in.

use crate::{Lang, UnknownCode, fold, fold_chars};

/// Whether `key` (already folded) is one of `spellings` once folded.
fn matches_any(key: &str, spellings: &[&str]) -> bool {
    spellings.iter().any(|s| fold_chars(s).eq(key.chars()))
}

/// 4(2) the kind of an information asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// 情報 held electronically (電子データ).
    Information,
    /// 情報 on paper (紙の文書).
    #[serde(rename = "paper")]
    PaperInformation,
    /// 情報システム: hardware and software that process information.
    System,
    /// ネットワーク: lines and network equipment.
    Network,
    /// 電磁的記録媒体: USB memory, optical discs, external disks …
    Media,
    /// システム関連文書: system design documents, manuals, network diagrams.
    SystemDocument,
}

impl AssetKind {
    pub const ALL: [AssetKind; 6] = [
        AssetKind::Information,
        AssetKind::PaperInformation,
        AssetKind::System,
        AssetKind::Network,
        AssetKind::Media,
        AssetKind::SystemDocument,
    ];

    /// `information`, `paper`, `system`, `network`, `media`, `system_document`.
    pub fn code(self) -> &'static str {
        match self {
            AssetKind::Information => "information",
            AssetKind::PaperInformation => "paper",
            AssetKind::System => "system",
            AssetKind::Network => "network",
            AssetKind::Media => "media",
            AssetKind::SystemDocument => "system_document",
        }
    }

    /// 情報（電子） / Information (electronic) …
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (AssetKind::Information, Lang::Ja) => "情報（電子）",
            (AssetKind::PaperInformation, Lang::Ja) => "情報（紙）",
            (AssetKind::System, Lang::Ja) => "情報システム",
            (AssetKind::Network, Lang::Ja) => "ネットワーク",
            (AssetKind::Media, Lang::Ja) => "電磁的記録媒体",
            (AssetKind::SystemDocument, Lang::Ja) => "システム関連文書",
            (AssetKind::Information, Lang::En) => "Information (electronic)",
            (AssetKind::PaperInformation, Lang::En) => "Information (paper)",
            (AssetKind::System, Lang::En) => "Information system",
            (AssetKind::Network, Lang::En) => "Network",
            (AssetKind::Media, Lang::En) => "Storage media",
            (AssetKind::SystemDocument, Lang::En) => "System documentation",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            AssetKind::Information => &["情報", "電子情報", "電子データ", "電子", "electronic"],
            AssetKind::PaperInformation => &["紙", "紙情報", "紙文書", "paper_information"],
            AssetKind::System => &["システム", "system"],
            AssetKind::Network => &["NW", "ネットワーク機器"],
            AssetKind::Media => &["記録媒体", "電子記録媒体", "外部記録媒体", "媒体", "media"],
            AssetKind::SystemDocument => &["システム文書", "system document"],
        }
    }

    /// Accepts the code, the Japanese or English name and common variants (`情報(紙)`, `紙`, `システム`,
    /// `記録媒体`); full-width, spacing and case do not matter.
    pub fn parse(input: &str) -> Result<Self, UnknownCode> {
        let key = fold(input);
        Self::ALL
            .into_iter()
            .find(|k| {
                matches_any(&key, &[k.code(), k.name(Lang::Ja), k.name(Lang::En)])
                    || matches_any(&key, k.aliases())
            })
            .ok_or_else(|| UnknownCode {
                vocabulary: "asset kind",
                value: input.to_owned(),
            })
    }
}

/// 2(12)–(16) the zone of the three-layer separation an asset sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// マイナンバー利用事務系: the zone of 個人番号利用事務, cut off from the others.
    MyNumber,
    /// LGWAN接続系: the zone connected to the 総合行政ネットワーク.
    Lgwan,
    /// インターネット接続系: the zone connected to the Internet.
    Internet,
    /// 紙/対象外: on paper or on no network.
    PaperOrNone,
}

impl Zone {
    pub const ALL: [Zone; 4] = [
        Zone::MyNumber,
        Zone::Lgwan,
        Zone::Internet,
        Zone::PaperOrNone,
    ];

    /// `my_number`, `lgwan`, `internet`, `paper_or_none`.
    pub fn code(self) -> &'static str {
        match self {
            Zone::MyNumber => "my_number",
            Zone::Lgwan => "lgwan",
            Zone::Internet => "internet",
            Zone::PaperOrNone => "paper_or_none",
        }
    }

    /// マイナンバー利用事務系 / My Number zone …
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Zone::MyNumber, Lang::Ja) => "マイナンバー利用事務系",
            (Zone::Lgwan, Lang::Ja) => "LGWAN接続系",
            (Zone::Internet, Lang::Ja) => "インターネット接続系",
            (Zone::PaperOrNone, Lang::Ja) => "紙/対象外",
            (Zone::MyNumber, Lang::En) => "My Number zone",
            (Zone::Lgwan, Lang::En) => "LGWAN zone",
            (Zone::Internet, Lang::En) => "Internet zone",
            (Zone::PaperOrNone, Lang::En) => "Paper / not networked",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Zone::MyNumber => &[
                "マイナンバー系",
                "マイナンバー",
                "個人番号利用事務系",
                "My Number",
                "mynumber",
            ],
            Zone::Lgwan => &["LGWAN系", "LGWAN"],
            Zone::Internet => &["インターネット系", "インターネット", "Internet"],
            Zone::PaperOrNone => &[
                "紙",
                "対象外",
                "紙・対象外",
                "なし",
                "paper",
                "none",
                "not networked",
            ],
        }
    }

    /// Accepts the code, the Japanese or English name and common variants (`マイナンバー系`, `LGWAN系`,
    /// `インターネット系`, `紙`, `対象外`); full-width, spacing and case do not matter.
    pub fn parse(input: &str) -> Result<Self, UnknownCode> {
        let key = fold(input);
        Self::ALL
            .into_iter()
            .find(|z| {
                matches_any(&key, &[z.code(), z.name(Lang::Ja), z.name(Lang::En)])
                    || matches_any(&key, z.aliases())
            })
            .ok_or_else(|| UnknownCode {
                vocabulary: "network zone",
                value: input.to_owned(),
            })
    }
}

/// 2(11) the kind of work with 個人番号 (My Number) an asset serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MyNumberWork {
    /// 個人番号利用事務: the city uses My Numbers to run its own records (住民基本台帳, 税, 社会保障 …).
    Use,
    /// 個人番号関係事務: the city passes My Numbers on as an employer or payer (給与, 源泉徴収 …).
    Related,
}

impl MyNumberWork {
    pub const ALL: [MyNumberWork; 2] = [MyNumberWork::Use, MyNumberWork::Related];

    /// `use`, `related`.
    pub fn code(self) -> &'static str {
        match self {
            MyNumberWork::Use => "use",
            MyNumberWork::Related => "related",
        }
    }

    /// 個人番号利用事務 / My Number utilisation work …
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (MyNumberWork::Use, Lang::Ja) => "個人番号利用事務",
            (MyNumberWork::Related, Lang::Ja) => "個人番号関係事務",
            (MyNumberWork::Use, Lang::En) => "My Number utilisation work",
            (MyNumberWork::Related, Lang::En) => "My Number related work",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            MyNumberWork::Use => &[
                "利用事務",
                "マイナンバー利用事務",
                "utilisation",
                "utilization",
            ],
            MyNumberWork::Related => &["関係事務", "マイナンバー関係事務"],
        }
    }

    /// Accepts the code, the Japanese or English name and `利用事務` / `関係事務`; full-width, spacing and case
    /// do not matter.
    pub fn parse(input: &str) -> Result<Self, UnknownCode> {
        let key = fold(input);
        Self::ALL
            .into_iter()
            .find(|w| {
                matches_any(&key, &[w.code(), w.name(Lang::Ja), w.name(Lang::En)])
                    || matches_any(&key, w.aliases())
            })
            .ok_or_else(|| UnknownCode {
                vocabulary: "My Number work",
                value: input.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for kind in AssetKind::ALL {
            assert_eq!(AssetKind::parse(kind.code()).unwrap(), kind);
            for lang in Lang::ALL {
                assert_eq!(AssetKind::parse(kind.name(lang)).unwrap(), kind);
            }
        }
        for zone in Zone::ALL {
            assert_eq!(Zone::parse(zone.code()).unwrap(), zone);
            for lang in Lang::ALL {
                assert_eq!(Zone::parse(zone.name(lang)).unwrap(), zone);
            }
        }
        for work in MyNumberWork::ALL {
            assert_eq!(MyNumberWork::parse(work.code()).unwrap(), work);
            for lang in Lang::ALL {
                assert_eq!(MyNumberWork::parse(work.name(lang)).unwrap(), work);
            }
        }
    }

    #[test]
    fn common_variants_are_accepted() {
        assert_eq!(
            AssetKind::parse("情報（電子）").unwrap(),
            AssetKind::Information
        );
        assert_eq!(
            AssetKind::parse("情報(紙)").unwrap(),
            AssetKind::PaperInformation
        );
        assert_eq!(
            AssetKind::parse(" 紙 ").unwrap(),
            AssetKind::PaperInformation
        );
        assert_eq!(
            AssetKind::parse("情報 システム").unwrap(),
            AssetKind::System
        );
        assert_eq!(AssetKind::parse("ＳＹＳＴＥＭ").unwrap(), AssetKind::System);
        assert_eq!(
            AssetKind::parse("system document").unwrap(),
            AssetKind::SystemDocument
        );
        assert_eq!(AssetKind::parse("Storage Media").unwrap(), AssetKind::Media);
        assert_eq!(Zone::parse("マイナンバー系").unwrap(), Zone::MyNumber);
        assert_eq!(Zone::parse("ＬＧＷＡＮ系").unwrap(), Zone::Lgwan);
        assert_eq!(Zone::parse("lgwan").unwrap(), Zone::Lgwan);
        assert_eq!(Zone::parse("インターネット系").unwrap(), Zone::Internet);
        assert_eq!(Zone::parse("対象外").unwrap(), Zone::PaperOrNone);
        assert_eq!(Zone::parse("紙／対象外").unwrap(), Zone::PaperOrNone);
        assert_eq!(Zone::parse("My Number zone").unwrap(), Zone::MyNumber);
        assert_eq!(MyNumberWork::parse("利用事務").unwrap(), MyNumberWork::Use);
        assert_eq!(
            MyNumberWork::parse("関係事務").unwrap(),
            MyNumberWork::Related
        );
    }

    #[test]
    fn unknown_values_are_refused() {
        let e = AssetKind::parse("建物").unwrap_err();
        assert_eq!(e.vocabulary, "asset kind");
        assert_eq!(e.value, "建物");
        assert!(Zone::parse("イントラ").is_err());
        assert!(Zone::parse("").is_err());
        assert!(MyNumberWork::parse("事務").is_err());
    }

    #[test]
    fn serde_uses_the_codes() {
        #[derive(serde::Deserialize)]
        struct Wrap {
            kind: AssetKind,
            zone: Zone,
            work: MyNumberWork,
        }
        for kind in AssetKind::ALL {
            let text = format!(
                "kind = {:?}\nzone = \"paper_or_none\"\nwork = \"use\"",
                kind.code()
            );
            let w: Wrap = toml::from_str(&text).unwrap();
            assert_eq!(w.kind, kind);
            assert_eq!(w.zone, Zone::PaperOrNone);
            assert_eq!(w.work, MyNumberWork::Use);
        }
    }
}
