//! 6(3) システム全体の強靱性 (三層の対策): the zone register.
//!
//! - [`systems`]: 情報システム — the zone each lives in (2(12)–(14)), its 所管課 and 情報システム管理者, where it is
//!   hosted, and whether 二要素認証 and 持ち出し不可設定 are in force (6(3)①);
//! - [`flows`]: the flows declared between systems, and the 無害化 system each passes through (2(15), 2(16));
//! - [`network`]: the zone map in versions, the devices' configuration files, and every `netcheck` run over
//!   them — the proof, from the configurations the city runs, that the zones are separated.
//!
//! Who may do what: systems and flows follow the asset register's reach (`SystemEditor`); the network — zone
//! map, device files, runs — is read by CISO, 統括, auditors and administrators (`NetworkReader`) and changed by
//! 統括 and administrators (`NetworkOperator`). A flow out of the マイナンバー利用事務系 may be accepted by a
//! 例外措置: the compliance exceptions cover flows like any other finding's subject.

pub mod flows;
pub mod network;
pub mod systems;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::AppResult;
use crate::access::Reach;
use crate::assets::HistoryEntry;
use crate::paging;
use mamori_store::entity::{audit_entry, info_system, org_unit};

/// Where a system is hosted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hosting {
    /// 庁内 (on premises).
    OnPremises,
    /// LGWAN-ASP.
    LgwanAsp,
    /// ガバメントクラウド.
    GovCloud,
    /// Another cloud service.
    OtherCloud,
}

impl Hosting {
    pub const ALL: [Hosting; 4] = [
        Hosting::OnPremises,
        Hosting::LgwanAsp,
        Hosting::GovCloud,
        Hosting::OtherCloud,
    ];

    /// `on_premises`, `lgwan_asp`, `gov_cloud`, `other_cloud`.
    pub fn code(self) -> &'static str {
        match self {
            Hosting::OnPremises => "on_premises",
            Hosting::LgwanAsp => "lgwan_asp",
            Hosting::GovCloud => "gov_cloud",
            Hosting::OtherCloud => "other_cloud",
        }
    }

    pub fn parse(code: &str) -> Option<Hosting> {
        Hosting::ALL.into_iter().find(|h| h.code() == code.trim())
    }
}

/// The zones the basic policy names (2(12)–(14)); a zone map may declare more.
pub const POLICY_ZONES: [&str; 3] = ["my_number", "lgwan", "internet"];

/// The systems a person may read: all, those of some subtrees, or those they are 情報システム管理者 of.
pub(crate) fn reach_condition(reach: &Reach) -> Condition {
    match reach {
        Reach::All => Condition::all(),
        Reach::OwnOnly(Some(staff_id)) => {
            Condition::all().add(info_system::Column::AdminStaffId.eq(*staff_id))
        }
        Reach::OwnOnly(None) => Condition::all().add(info_system::Column::Id.eq(-1)),
        Reach::Subtrees(prefixes) => Condition::all()
            .add(info_system::Column::OwnerUnitId.in_subquery(paging::units_under(prefixes))),
    }
}

/// Whether an owning unit (or none) lies within an editor's reach: only editors of every unit may keep a
/// system without an owner.
pub(crate) async fn unit_in_reach(
    db: &impl ConnectionTrait,
    reach: &Reach,
    unit_id: Option<i64>,
) -> AppResult<bool> {
    match (reach, unit_id) {
        (Reach::All, _) => Ok(true),
        (_, None) => Ok(false),
        (reach, Some(id)) => Ok(org_unit::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_some_and(|u| reach.covers_unit(&u.tree_path))),
    }
}

/// The history of one record, from the audit chain, newest first.
pub(crate) async fn history(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    target_type: &str,
    id: i64,
) -> AppResult<Vec<HistoryEntry>> {
    Ok(audit_entry::Entity::find()
        .filter(audit_entry::Column::MunicipalityId.eq(municipality_id))
        .filter(audit_entry::Column::TargetType.eq(target_type))
        .filter(audit_entry::Column::TargetId.eq(id.to_string()))
        .order_by_desc(audit_entry::Column::Seq)
        .limit(200)
        .all(db)
        .await?
        .into_iter()
        .map(|e| HistoryEntry {
            at: e.at,
            actor: e.actor_label,
            action: e.action,
            summary: serde_json::from_str(&e.summary).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}
