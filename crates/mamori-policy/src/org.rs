//! 4(1) 適用範囲 and 6(1) 組織体制: the kinds of organisation the policy covers and the levels of the org tree.

use crate::UnknownCode;

/// Level of an org unit in the tree. A child always sits at a deeper level than its parent.
/// The default is the leaf level, [`UnitLevel::Section`].
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    /// 自治体: the root of one tenant's tree.
    Municipality,
    /// 執行機関等: 市長部局, 教育委員会, 市議会事務局, 消防局, 水道局, or a connected organisation.
    Organ,
    /// 部局: the scope of a 情報セキュリティ責任者.
    Bureau,
    /// 課 (室, 所): the scope of a 情報セキュリティ管理者.
    Division,
    /// 係 (担当, グループ).
    #[default]
    Section,
}

impl UnitLevel {
    pub const ALL: [UnitLevel; 5] = [
        UnitLevel::Municipality,
        UnitLevel::Organ,
        UnitLevel::Bureau,
        UnitLevel::Division,
        UnitLevel::Section,
    ];

    pub fn code(self) -> &'static str {
        match self {
            UnitLevel::Municipality => "municipality",
            UnitLevel::Organ => "organ",
            UnitLevel::Bureau => "bureau",
            UnitLevel::Division => "division",
            UnitLevel::Section => "section",
        }
    }

    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .into_iter()
            .find(|l| l.code() == code)
            .ok_or_else(|| UnknownCode {
                vocabulary: "unit level",
                value: code.to_owned(),
            })
    }

    /// Whether a unit of this level may be the direct child of a unit of `parent` level.
    pub fn may_sit_under(self, parent: UnitLevel) -> bool {
        self > parent && self != UnitLevel::Municipality
    }
}

/// 4(1) the kind of organisation, set on an [`UnitLevel::Organ`] and inherited by everything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganKind {
    /// 4(1)① 市長部局.
    MayorsOffice,
    /// 4(1)① 委員会 (教育委員会, 選挙管理委員会, 監査委員, 農業委員会 …) and their 事務局.
    Committee,
    /// 4(1)① 市議会事務局 (except what the council's own policy governs).
    CouncilSecretariat,
    /// 4(1)① 消防局.
    FireDepartment,
    /// 4(1)① 地方公営企業 (水道局, 病院 …).
    PublicEnterprise,
    /// 4(1)② an organisation or facility connected to the city network outside the above (指定管理者 …).
    Connected,
}

impl OrganKind {
    pub const ALL: [OrganKind; 6] = [
        OrganKind::MayorsOffice,
        OrganKind::Committee,
        OrganKind::CouncilSecretariat,
        OrganKind::FireDepartment,
        OrganKind::PublicEnterprise,
        OrganKind::Connected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OrganKind::MayorsOffice => "mayors_office",
            OrganKind::Committee => "committee",
            OrganKind::CouncilSecretariat => "council_secretariat",
            OrganKind::FireDepartment => "fire_department",
            OrganKind::PublicEnterprise => "public_enterprise",
            OrganKind::Connected => "connected",
        }
    }

    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| UnknownCode {
                vocabulary: "organisation kind",
                value: code.to_owned(),
            })
    }

    /// The clause of the policy that brings this kind of organisation into scope.
    pub fn clause(self) -> &'static str {
        match self {
            OrganKind::Connected => "4(1)②",
            _ => "4(1)①",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_division_may_sit_under_a_bureau_or_an_organ_but_not_under_a_section() {
        assert!(UnitLevel::Division.may_sit_under(UnitLevel::Bureau));
        assert!(UnitLevel::Division.may_sit_under(UnitLevel::Organ));
        assert!(!UnitLevel::Division.may_sit_under(UnitLevel::Section));
        assert!(!UnitLevel::Division.may_sit_under(UnitLevel::Division));
        assert!(!UnitLevel::Municipality.may_sit_under(UnitLevel::Municipality));
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for level in UnitLevel::ALL {
            assert_eq!(UnitLevel::parse(level.code()).unwrap(), level);
        }
        for kind in OrganKind::ALL {
            assert_eq!(OrganKind::parse(kind.code()).unwrap(), kind);
        }
        assert!(UnitLevel::parse("department").is_err());
        assert_eq!(OrganKind::Connected.clause(), "4(1)②");
    }
}
