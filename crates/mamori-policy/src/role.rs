//! 6(1) 組織体制: the statutory roles of the security organisation and where each may be posted.

use crate::{UnitLevel, UnknownCode};

/// A role the policy's organisation defines. Each is held by a person at a post (a scope).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StatutoryRole {
    /// 最高情報セキュリティ責任者 (CISO), usually the 副市長.
    Ciso,
    /// 統括情報セキュリティ責任者, usually the head of the 情報政策課.
    ChiefOfficer,
    /// 情報セキュリティ責任者, the head of a 部局.
    BureauOfficer,
    /// 情報セキュリティ管理者, the head of a 課.
    DivisionManager,
    /// CSIRT の構成員.
    CsirtMember,
    /// 情報セキュリティ監査人 (監査責任者 and the auditors).
    Auditor,
}

impl StatutoryRole {
    pub const ALL: [StatutoryRole; 6] = [
        StatutoryRole::Ciso,
        StatutoryRole::ChiefOfficer,
        StatutoryRole::BureauOfficer,
        StatutoryRole::DivisionManager,
        StatutoryRole::CsirtMember,
        StatutoryRole::Auditor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            StatutoryRole::Ciso => "ciso",
            StatutoryRole::ChiefOfficer => "chief_officer",
            StatutoryRole::BureauOfficer => "bureau_officer",
            StatutoryRole::DivisionManager => "division_manager",
            StatutoryRole::CsirtMember => "csirt_member",
            StatutoryRole::Auditor => "auditor",
        }
    }

    /// The post's name: 最高情報セキュリティ責任者 (CISO) … / Chief Information Security Officer …
    pub fn name(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::{En, Ja};
        match (self, lang) {
            (StatutoryRole::Ciso, Ja) => "最高情報セキュリティ責任者（CISO）",
            (StatutoryRole::ChiefOfficer, Ja) => "統括情報セキュリティ責任者",
            (StatutoryRole::BureauOfficer, Ja) => "情報セキュリティ責任者",
            (StatutoryRole::DivisionManager, Ja) => "情報セキュリティ管理者",
            (StatutoryRole::CsirtMember, Ja) => "CSIRT構成員",
            (StatutoryRole::Auditor, Ja) => "情報セキュリティ監査人",
            (StatutoryRole::Ciso, En) => "Chief Information Security Officer (CISO)",
            (StatutoryRole::ChiefOfficer, En) => "Chief information security officer (統括)",
            (StatutoryRole::BureauOfficer, En) => "Information security officer (部局)",
            (StatutoryRole::DivisionManager, En) => "Information security manager (課)",
            (StatutoryRole::CsirtMember, En) => "CSIRT member",
            (StatutoryRole::Auditor, En) => "Information security auditor",
        }
    }

    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == code)
            .ok_or_else(|| UnknownCode {
                vocabulary: "statutory role",
                value: code.to_owned(),
            })
    }

    /// The levels of org unit at which this role may be posted.
    pub fn post_levels(self) -> &'static [UnitLevel] {
        match self {
            StatutoryRole::Ciso
            | StatutoryRole::ChiefOfficer
            | StatutoryRole::CsirtMember
            | StatutoryRole::Auditor => &[UnitLevel::Municipality],
            // A 部局 is a 部, or an organ that has no 部 of its own (教育委員会, 消防局 …).
            StatutoryRole::BureauOfficer => &[UnitLevel::Organ, UnitLevel::Bureau],
            StatutoryRole::DivisionManager => &[UnitLevel::Division],
        }
    }

    /// Whether the role carries the duty to use a second factor at sign-in.
    pub fn requires_mfa(self) -> bool {
        matches!(self, StatutoryRole::Ciso | StatutoryRole::ChiefOfficer)
    }

    /// Whether a post may hold more than one person at a time (CSIRT, auditors).
    pub fn is_collective(self) -> bool {
        matches!(self, StatutoryRole::CsirtMember | StatutoryRole::Auditor)
    }
}

/// How a person holds a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// 本務.
    Primary,
    /// 兼務: held beside the person's own post.
    Concurrent,
    /// 事務取扱: acting while the post is vacant.
    Acting,
}

impl AssignmentKind {
    pub const ALL: [AssignmentKind; 3] = [
        AssignmentKind::Primary,
        AssignmentKind::Concurrent,
        AssignmentKind::Acting,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AssignmentKind::Primary => "primary",
            AssignmentKind::Concurrent => "concurrent",
            AssignmentKind::Acting => "acting",
        }
    }

    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| UnknownCode {
                vocabulary: "assignment kind",
                value: code.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_division_manager_is_posted_only_at_a_division() {
        assert_eq!(
            StatutoryRole::DivisionManager.post_levels(),
            &[UnitLevel::Division]
        );
        assert!(
            StatutoryRole::BureauOfficer
                .post_levels()
                .contains(&UnitLevel::Bureau)
        );
        assert!(
            !StatutoryRole::Ciso
                .post_levels()
                .contains(&UnitLevel::Bureau)
        );
    }

    #[test]
    fn role_codes_round_trip() {
        for role in StatutoryRole::ALL {
            assert_eq!(StatutoryRole::parse(role.code()).unwrap(), role);
        }
        for kind in AssignmentKind::ALL {
            assert_eq!(AssignmentKind::parse(kind.code()).unwrap(), kind);
        }
        assert!(StatutoryRole::parse("mayor").is_err());
    }
}
