//! Who may do what, decided here and nowhere else (`docs/access-control.md` is the matrix in prose).
//!
//! An [`Actor`] is the signed-in account with its statutory roles as of today. Use cases that change or read
//! scoped data take a capability value (`OrgAdmin`, `AccountAdmin`, `AuditReader`) or a [`Reach`]; those can
//! only be had from an `Actor` here, so a handler that lacks the right cannot even call the operation.

use mamori_policy::StatutoryRole;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait,
};

use crate::tx::AuditActor;
use crate::{AppError, AppResult, today};
use mamori_store::entity::{account, account_scope, org_unit, role_assignment, staff};

/// A statutory role a person holds today, at a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRole {
    pub role: StatutoryRole,
    pub unit_id: i64,
    /// The post's `tree_path`, so its subtree is known without another query.
    pub tree_path: String,
}

/// The signed-in account and what it holds.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: i64,
    pub municipality_id: i64,
    pub login: String,
    pub display_name: String,
    pub staff_id: Option<i64>,
    pub system_admin: bool,
    pub outsider: bool,
    pub roles: Vec<HeldRole>,
    /// For an outsider: the `tree_path`s of the units named in their account.
    pub outsider_scope: Vec<String>,
    pub must_change_password: bool,
    pub mfa_enrolled: bool,
}

/// Which org units' data a person may read: everything, some subtrees, or only their own record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    All,
    /// The subtrees under these `tree_path` prefixes.
    Subtrees(Vec<String>),
    /// Nothing beyond the person's own staff record (if any).
    OwnOnly(Option<i64>),
}

impl Reach {
    /// Whether a unit (by its `tree_path`) is within reach.
    pub fn covers_unit(&self, tree_path: &str) -> bool {
        match self {
            Reach::All => true,
            Reach::Subtrees(prefixes) => prefixes.iter().any(|p| tree_path.starts_with(p.as_str())),
            Reach::OwnOnly(_) => false,
        }
    }
}

/// May change the organisation: units, facilities, staff, role assignments, change sets (情報政策課).
#[derive(Debug, Clone, Copy)]
pub struct OrgAdmin {
    pub municipality_id: i64,
}

/// May manage accounts and settings, and reset a second factor (system administrator).
#[derive(Debug, Clone, Copy)]
pub struct AccountAdmin {
    pub municipality_id: i64,
}

/// May read the whole audit trail (auditors, CISO, 統括, system administrators).
#[derive(Debug, Clone, Copy)]
pub struct AuditReader {
    pub municipality_id: i64,
}

/// May read the city's compliance state: the overview, every finding and 例外措置 (CISO, 統括, auditors,
/// system administrators).
#[derive(Debug, Clone, Copy)]
pub struct ComplianceReader {
    pub municipality_id: i64,
}

/// May record a 例外措置 approved by the CISO (or the 委員会) and revoke one (CISO, 統括, system administrators).
#[derive(Debug, Clone, Copy)]
pub struct ExceptionRecorder {
    pub municipality_id: i64,
}

/// May load the city's basic-policy text (統括, system administrators).
#[derive(Debug, Clone, Copy)]
pub struct PolicyAdmin {
    pub municipality_id: i64,
}

/// May register and change information systems, and declare the flows they send: of every unit (統括, system
/// administrators) or of some subtrees (情報セキュリティ責任者, 管理者), like the asset register.
#[derive(Debug, Clone)]
pub struct SystemEditor {
    pub municipality_id: i64,
    pub reach: Reach,
}

/// May read the network: the zone map, segments, device files and every netcheck run (CISO, 統括, auditors,
/// system administrators). Firewall rules show how to get through: they are not for everyone who sees a system.
#[derive(Debug, Clone, Copy)]
pub struct NetworkReader {
    pub municipality_id: i64,
}

/// May upload the zone map and device files, and run netcheck (統括, system administrators).
#[derive(Debug, Clone, Copy)]
pub struct NetworkOperator {
    pub municipality_id: i64,
}

/// May see what the mail relay holds for their own address and ask for a part (staff of the city with a staff
/// record; an outsider's account has no mailbox in the city's LGWAN).
#[derive(Debug, Clone, Copy)]
pub struct MailRecipient {
    pub municipality_id: i64,
    pub staff_id: i64,
}

/// May approve or refuse requests to release quarantined parts of the staff within reach: the CISO, 統括 and
/// system administrators for everyone; holders of the role the city names (情報セキュリティ管理者 by default)
/// for the staff of their units.
#[derive(Debug, Clone)]
pub struct ReleaseApprover {
    pub municipality_id: i64,
    pub reach: Reach,
    /// Their own staff record: nobody approves their own request.
    pub staff_id: Option<i64>,
}

impl NetworkOperator {
    /// The command line and the demo act with the server's own authority.
    pub fn for_cli(municipality_id: i64) -> Self {
        NetworkOperator { municipality_id }
    }

    /// An operator reads what they operate.
    pub fn reader(&self) -> NetworkReader {
        NetworkReader {
            municipality_id: self.municipality_id,
        }
    }
}

impl SystemEditor {
    /// The command line and the demo act with the server's own authority.
    pub fn for_cli(municipality_id: i64) -> Self {
        SystemEditor {
            municipality_id,
            reach: Reach::All,
        }
    }
}

impl ComplianceReader {
    /// `mamori check` acts with the server's own authority.
    pub fn for_cli(municipality_id: i64) -> Self {
        ComplianceReader { municipality_id }
    }
}

impl PolicyAdmin {
    /// `mamori policy import` acts with the server's own authority.
    pub fn for_cli(municipality_id: i64) -> Self {
        PolicyAdmin { municipality_id }
    }
}

impl AccountAdmin {
    /// The command line acts with the server's own authority (whoever runs it can read the database anyway).
    pub fn for_cli(municipality_id: i64) -> Self {
        AccountAdmin { municipality_id }
    }
}

impl Actor {
    pub fn holds(&self, role: StatutoryRole) -> bool {
        self.roles.iter().any(|r| r.role == role)
    }

    /// Whether this person must have a second factor (administrators, CISO, 統括; or everyone if the
    /// municipality says so).
    pub fn mfa_required(&self, everyone: bool) -> bool {
        everyone || self.system_admin || self.roles.iter().any(|r| r.role.requires_mfa())
    }

    fn reads_everything(&self) -> bool {
        self.system_admin
            || self.holds(StatutoryRole::Ciso)
            || self.holds(StatutoryRole::ChiefOfficer)
            || self.holds(StatutoryRole::Auditor)
    }

    pub fn org_admin(&self) -> Option<OrgAdmin> {
        (self.system_admin || self.holds(StatutoryRole::ChiefOfficer)).then_some(OrgAdmin {
            municipality_id: self.municipality_id,
        })
    }

    pub fn account_admin(&self) -> Option<AccountAdmin> {
        self.system_admin.then_some(AccountAdmin {
            municipality_id: self.municipality_id,
        })
    }

    pub fn audit_reader(&self) -> Option<AuditReader> {
        self.reads_everything().then_some(AuditReader {
            municipality_id: self.municipality_id,
        })
    }

    pub fn compliance_reader(&self) -> Option<ComplianceReader> {
        (!self.outsider && self.reads_everything()).then_some(ComplianceReader {
            municipality_id: self.municipality_id,
        })
    }

    pub fn exception_recorder(&self) -> Option<ExceptionRecorder> {
        (self.system_admin
            || self.holds(StatutoryRole::Ciso)
            || self.holds(StatutoryRole::ChiefOfficer))
        .then_some(ExceptionRecorder {
            municipality_id: self.municipality_id,
        })
    }

    pub fn policy_admin(&self) -> Option<PolicyAdmin> {
        (self.system_admin || self.holds(StatutoryRole::ChiefOfficer)).then_some(PolicyAdmin {
            municipality_id: self.municipality_id,
        })
    }

    /// Whether and where this person may change information systems and their flows (as for assets).
    pub fn system_editor(&self) -> Option<SystemEditor> {
        if self.outsider {
            return None;
        }
        if self.system_admin || self.holds(StatutoryRole::ChiefOfficer) {
            return Some(SystemEditor {
                municipality_id: self.municipality_id,
                reach: Reach::All,
            });
        }
        let posts: Vec<String> = self
            .roles
            .iter()
            .filter(|r| {
                matches!(
                    r.role,
                    StatutoryRole::BureauOfficer | StatutoryRole::DivisionManager
                )
            })
            .map(|r| r.tree_path.clone())
            .collect();
        (!posts.is_empty()).then_some(SystemEditor {
            municipality_id: self.municipality_id,
            reach: Reach::Subtrees(posts),
        })
    }

    pub fn network_reader(&self) -> Option<NetworkReader> {
        (!self.outsider && self.reads_everything()).then_some(NetworkReader {
            municipality_id: self.municipality_id,
        })
    }

    pub fn network_operator(&self) -> Option<NetworkOperator> {
        (!self.outsider && (self.system_admin || self.holds(StatutoryRole::ChiefOfficer)))
            .then_some(NetworkOperator {
                municipality_id: self.municipality_id,
            })
    }

    pub fn mail_recipient(&self) -> Option<MailRecipient> {
        match (self.outsider, self.staff_id) {
            (false, Some(staff_id)) => Some(MailRecipient {
                municipality_id: self.municipality_id,
                staff_id,
            }),
            _ => None,
        }
    }

    /// Who decides releases from the quarantine, given the role the city names as approver
    /// (`quarantine::Settings::approver_role`).
    pub fn release_approver(&self, approver_role: StatutoryRole) -> Option<ReleaseApprover> {
        if self.outsider {
            return None;
        }
        let everyone = self.system_admin
            || self.holds(StatutoryRole::Ciso)
            || self.holds(StatutoryRole::ChiefOfficer)
            || (self.holds(approver_role)
                && !matches!(
                    approver_role,
                    StatutoryRole::BureauOfficer | StatutoryRole::DivisionManager
                ));
        let reach = if everyone {
            Reach::All
        } else {
            let posts: Vec<String> = self
                .roles
                .iter()
                .filter(|r| r.role == approver_role)
                .map(|r| r.tree_path.clone())
                .collect();
            if posts.is_empty() {
                return None;
            }
            Reach::Subtrees(posts)
        };
        Some(ReleaseApprover {
            municipality_id: self.municipality_id,
            reach,
            staff_id: self.staff_id,
        })
    }

    /// Whose staff records, role assignments and facilities this person may read.
    pub fn reach(&self) -> Reach {
        if self.outsider {
            return Reach::Subtrees(self.outsider_scope.clone());
        }
        if self.reads_everything() {
            return Reach::All;
        }
        let posts: Vec<String> = self
            .roles
            .iter()
            .filter(|r| {
                matches!(
                    r.role,
                    StatutoryRole::BureauOfficer | StatutoryRole::DivisionManager
                )
            })
            .map(|r| r.tree_path.clone())
            .collect();
        if posts.is_empty() {
            Reach::OwnOnly(self.staff_id)
        } else {
            Reach::Subtrees(posts)
        }
    }

    /// Which org units appear in this person's org tree: staff of the city see the whole tree (it is the
    /// city's published organisation); an outsider sees only the units named in their account.
    pub fn tree_reach(&self) -> Reach {
        if self.outsider {
            Reach::Subtrees(self.outsider_scope.clone())
        } else {
            Reach::All
        }
    }

    pub fn audit_actor(&self) -> AuditActor {
        AuditActor {
            account_id: Some(self.account_id),
            label: self.login.clone(),
        }
    }
}

/// Loads the actor for an account, with the roles its staff member holds today.
pub async fn load_actor(db: &impl ConnectionTrait, account: &account::Model) -> AppResult<Actor> {
    let mut roles = Vec::new();
    if let Some(staff_id) = account.staff_id {
        let today = today();
        // A person who has left keeps no role, whatever the assignments say: the join on an active staff
        // record decides that in the same query.
        let held = role_assignment::Entity::find()
            .filter(role_assignment::Column::StaffId.eq(staff_id))
            .filter(role_assignment::Column::ValidFrom.lte(today))
            .filter(
                sea_orm::Condition::any()
                    .add(role_assignment::Column::ValidTo.is_null())
                    .add(role_assignment::Column::ValidTo.gte(today)),
            )
            .join(JoinType::InnerJoin, role_assignment::Relation::Staff.def())
            .filter(staff::Column::Active.eq(true))
            .find_also_related(org_unit::Entity)
            .all(db)
            .await?;
        for (assignment, unit) in held {
            let (Ok(role), Some(unit)) = (StatutoryRole::parse(&assignment.role), unit) else {
                continue;
            };
            roles.push(HeldRole {
                role,
                unit_id: unit.id,
                tree_path: unit.tree_path,
            });
        }
    }
    let mut outsider_scope = Vec::new();
    if account.is_outsider {
        let scopes = account_scope::Entity::find()
            .filter(account_scope::Column::AccountId.eq(account.id))
            .find_also_related(org_unit::Entity)
            .all(db)
            .await?;
        outsider_scope = scopes
            .into_iter()
            .filter_map(|(_, u)| u.map(|u| u.tree_path))
            .collect();
    }
    Ok(Actor {
        account_id: account.id,
        municipality_id: account.municipality_id,
        login: account.login.clone(),
        display_name: account.display_name.clone(),
        staff_id: account.staff_id,
        system_admin: account.is_system_admin,
        outsider: account.is_outsider,
        roles,
        outsider_scope,
        must_change_password: account.must_change_password,
        mfa_enrolled: account.mfa_enrolled_at.is_some(),
    })
}

/// Refuses an object that belongs to another municipality or lies outside the reach, as "not found" would
/// leak that it exists: both answer Forbidden.
pub fn check_unit(actor_municipality: i64, reach: &Reach, unit: &org_unit::Model) -> AppResult<()> {
    if unit.municipality_id != actor_municipality || !reach.covers_unit(&unit.tree_path) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}
