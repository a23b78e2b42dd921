//! Accounts: who can sign in. Linked to a staff record, or an outsider (委託先, external auditor) scoped to named
//! units; every account can have a validity period. Created one by one, or in bulk for a unit's staff with
//! one-time initial passwords that must be changed at first sign-in.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use crate::access::AccountAdmin;
use crate::error::Problems;
use crate::identity::{password, signin::normalise_login};
use crate::roles::parse_optional_date;
use crate::tx::AuditActor;
use crate::{App, AppError, AppResult, FieldError, Tx, text, today};
use mamori_store::audit::Action;
use mamori_store::entity::{account, account_scope, org_unit, recovery_code, staff};

/// A login: 3 to 64 characters of lower-case letters, digits, `.`, `-`, `_`, `@`.
pub fn parse_login(value: &str) -> Result<String, FieldError> {
    let v = normalise_login(value);
    let ok = (3..=64).contains(&v.chars().count())
        && v.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_' | '@')
        });
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new("login", "err-login-format").with("value", value))
    }
}

/// What an administrator types to create an account.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AccountForm {
    pub login: String,
    #[serde(default)]
    pub display_name: String,
    /// Staff id or 職員番号, for a member of staff.
    #[serde(default)]
    pub staff: String,
    #[serde(default)]
    pub system_admin: Option<String>,
    /// Outsider: scoped to the units in `scope_units` (comma-separated ids or 組織コード).
    #[serde(default)]
    pub outsider: Option<String>,
    #[serde(default)]
    pub scope_units: String,
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: String,
}

/// A new account and its one-time password.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    pub account_id: i64,
    pub login: String,
    pub display_name: String,
    pub initial_password: String,
}

/// Creates an account. Without `password` a one-time initial password is generated and must be changed at
/// first sign-in; with one (the CLI's `--password-stdin`) it is checked against the rules and kept.
pub async fn create(
    app: &App,
    cap: &AccountAdmin,
    actor: &AuditActor,
    form: &AccountForm,
    password_text: Option<&str>,
) -> AppResult<Created> {
    let mut tx = app.write().await?;
    let created = create_in(&mut tx, cap, actor, form, password_text).await?;
    tx.commit().await?;
    Ok(created)
}

async fn create_in(
    tx: &mut Tx<'_>,
    cap: &AccountAdmin,
    actor: &AuditActor,
    form: &AccountForm,
    password_text: Option<&str>,
) -> AppResult<Created> {
    let db = tx.db();
    let mut p = Problems::default();
    let login = p.take(parse_login(&form.login));
    if let Some(l) = &login
        && account::Entity::find()
            .filter(account::Column::Login.eq(l.as_str()))
            .one(db)
            .await?
            .is_some()
    {
        p.push(FieldError::new("login", "err-duplicate").with("value", l.clone()));
    }
    let person = if form.staff.trim().is_empty() {
        None
    } else {
        let found = crate::staff::find(db, cap.municipality_id, &form.staff).await?;
        if found.is_none() {
            p.push(FieldError::new("staff", "err-staff-unknown").with("value", form.staff.clone()));
        }
        found
    };
    let outsider = text::checked(&form.outsider);
    let system_admin = text::checked(&form.system_admin);
    if outsider && system_admin {
        p.push(FieldError::new("outsider", "err-outsider-admin"));
    }
    if outsider && person.is_some() {
        p.push(FieldError::new("staff", "err-outsider-staff"));
    }
    let scope = if outsider {
        scope_units(db, cap.municipality_id, &form.scope_units, &mut p).await?
    } else {
        Vec::new()
    };
    if outsider && scope.is_empty() {
        p.push(FieldError::new("scope_units", "err-required"));
    }
    let from = p.take(parse_optional_date("valid_from", &form.valid_from));
    let until = p.take(parse_optional_date("valid_until", &form.valid_until));
    if let Some(Some(u)) = until {
        if u < today() {
            p.push(FieldError::new("valid_until", "err-date-past"));
        }
        if let Some(Some(f)) = from
            && u < f
        {
            p.push(FieldError::new("valid_until", "err-date-order"));
        }
    }
    if outsider && matches!(until, Some(None)) {
        p.push(FieldError::new("valid_until", "err-outsider-expiry"));
    }
    let display = p
        .take(text::clean(&form.display_name, 100).map_err(|k| FieldError::new("display_name", k)));
    if let (Some(pw), Some(l)) = (password_text, &login) {
        p.take(password::check_new("password", pw, l));
    }
    p.into_result()?;
    let (Some(login), Some(from), Some(until), Some(display)) = (login, from, until, display)
    else {
        return Err(AppError::Internal(
            "validated account lost a field".to_owned(),
        ));
    };
    let display_name = match (&display, &person) {
        (d, _) if !d.is_empty() => d.clone(),
        (_, Some(s)) => s.name.clone(),
        _ => login.clone(),
    };
    let initial = password_text
        .map(str::to_owned)
        .unwrap_or_else(password::initial_password);
    let hash = password::hash_with(&app_params(tx), &initial)?;
    let now = Utc::now();
    let a = account::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        login: Set(login.clone()),
        display_name: Set(display_name.clone()),
        password_hash: Set(hash),
        staff_id: Set(person.as_ref().map(|s| s.id)),
        is_system_admin: Set(system_admin),
        is_outsider: Set(outsider),
        valid_from: Set(from),
        valid_until: Set(until),
        must_change_password: Set(password_text.is_none()),
        disabled: Set(false),
        totp_secret: Set(None),
        totp_last_step: Set(None),
        mfa_enrolled_at: Set(None),
        failed_attempts: Set(0),
        locked_until: Set(None),
        password_changed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    for unit in &scope {
        account_scope::ActiveModel {
            account_id: Set(a.id),
            org_unit_id: Set(unit.id),
            ..Default::default()
        }
        .insert(tx.db())
        .await?;
    }
    tx.audit(
        cap.municipality_id,
        actor,
        Action::AccountCreated,
        ("account", a.id.to_string()),
        json!({
            "login": login, "staff": a.staff_id, "system_admin": system_admin, "outsider": outsider,
            "scope": scope.iter().map(|u| u.id).collect::<Vec<_>>(),
            "valid_from": from.map(|d| d.to_string()), "valid_until": until.map(|d| d.to_string()),
        }),
    )
    .await?;
    Ok(Created {
        account_id: a.id,
        login,
        display_name,
        initial_password: initial,
    })
}

fn app_params(tx: &Tx<'_>) -> argon2::Params {
    tx.app().config().argon2.clone()
}

async fn scope_units(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    list: &str,
    p: &mut Problems,
) -> AppResult<Vec<org_unit::Model>> {
    let mut units = Vec::new();
    for item in list
        .split([',', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let by_code = crate::org::unit_by_code(db, municipality_id, &item.to_uppercase()).await?;
        let found = match by_code {
            Some(u) => Some(u),
            None => match item.parse::<i64>() {
                Ok(id) => org_unit::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .filter(|u| u.municipality_id == municipality_id),
                Err(_) => None,
            },
        };
        match found {
            Some(u) => units.push(u),
            None => p.push(FieldError::new("scope_units", "err-unit-unknown").with("value", item)),
        }
    }
    Ok(units)
}

/// An account as listed for administrators.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountRow {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub staff_id: Option<i64>,
    pub system_admin: bool,
    pub outsider: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub disabled: bool,
    pub locked: bool,
    pub mfa: bool,
    pub must_change_password: bool,
}

fn to_row(a: account::Model) -> AccountRow {
    AccountRow {
        id: a.id,
        locked: a.locked_until.is_some_and(|u| u > Utc::now()),
        mfa: a.mfa_enrolled_at.is_some(),
        login: a.login,
        display_name: a.display_name,
        staff_id: a.staff_id,
        system_admin: a.is_system_admin,
        outsider: a.is_outsider,
        valid_from: a.valid_from,
        valid_until: a.valid_until,
        disabled: a.disabled,
        must_change_password: a.must_change_password,
    }
}

pub async fn list(app: &App, cap: &AccountAdmin) -> AppResult<Vec<AccountRow>> {
    let rows = account::Entity::find()
        .filter(account::Column::MunicipalityId.eq(cap.municipality_id))
        .order_by_asc(account::Column::Login)
        .all(app.store().conn())
        .await?;
    Ok(rows.into_iter().map(to_row).collect())
}

pub async fn get(app: &App, cap: &AccountAdmin, id: i64) -> AppResult<AccountRow> {
    Ok(to_row(load(app.store().conn(), cap, id).await?))
}

async fn load(db: &impl ConnectionTrait, cap: &AccountAdmin, id: i64) -> AppResult<account::Model> {
    account::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|a| a.municipality_id == cap.municipality_id)
        .ok_or(AppError::Forbidden)
}

/// Administrative actions on one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Removes the second factor and its recovery codes; the person enrols again at next sign-in.
    ResetMfa,
    Unlock,
    Disable,
    Enable,
    /// A new one-time password; sessions end.
    ResetPassword,
}

/// Carries out an administrative action; returns a new one-time password for `ResetPassword`.
pub async fn act(
    app: &App,
    cap: &AccountAdmin,
    actor: &AuditActor,
    id: i64,
    action: AdminAction,
) -> AppResult<Option<String>> {
    let mut tx = app.write().await?;
    let a = load(tx.db(), cap, id).await?;
    let mut update = account::ActiveModel {
        id: Set(a.id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut new_password = None;
    let (audit_action, summary) = match action {
        AdminAction::ResetMfa => {
            update.totp_secret = Set(None);
            update.totp_last_step = Set(None);
            update.mfa_enrolled_at = Set(None);
            recovery_code::Entity::delete_many()
                .filter(recovery_code::Column::AccountId.eq(a.id))
                .exec(tx.db())
                .await?;
            crate::identity::signin::end_all_sessions(tx.db(), a.id).await?;
            (
                Action::MfaReset,
                json!({"had_mfa": a.mfa_enrolled_at.is_some()}),
            )
        }
        AdminAction::Unlock => {
            update.locked_until = Set(None);
            update.failed_attempts = Set(0);
            (Action::AccountUnlocked, json!({}))
        }
        AdminAction::Disable | AdminAction::Enable => {
            let disabled = action == AdminAction::Disable;
            update.disabled = Set(disabled);
            if disabled {
                crate::identity::signin::end_all_sessions(tx.db(), a.id).await?;
            }
            (
                Action::AccountUpdated,
                json!({"disabled": [a.disabled, disabled]}),
            )
        }
        AdminAction::ResetPassword => {
            let pw = password::initial_password();
            update.password_hash = Set(password::hash_with(&app.config().argon2, &pw)?);
            update.must_change_password = Set(true);
            crate::identity::signin::end_all_sessions(tx.db(), a.id).await?;
            new_password = Some(pw);
            (Action::AccountUpdated, json!({"password_reset": true}))
        }
    };
    update.update(tx.db()).await?;
    tx.audit(
        cap.municipality_id,
        actor,
        audit_action,
        ("account", a.id.to_string()),
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(new_password)
}

/// Sets the validity period of an account.
pub async fn set_validity(
    app: &App,
    cap: &AccountAdmin,
    actor: &AuditActor,
    id: i64,
    from: &str,
    until: &str,
) -> AppResult<()> {
    let mut p = Problems::default();
    let from = p.take(parse_optional_date("valid_from", from));
    let until = p.take(parse_optional_date("valid_until", until));
    if let (Some(Some(f)), Some(Some(u))) = (from, until)
        && u < f
    {
        p.push(FieldError::new("valid_until", "err-date-order"));
    }
    p.into_result()?;
    let (Some(from), Some(until)) = (from, until) else {
        return Err(AppError::Internal("validity lost".to_owned()));
    };
    let mut tx = app.write().await?;
    let a = load(tx.db(), cap, id).await?;
    if a.is_outsider && until.is_none() {
        return Err(AppError::field("valid_until", "err-outsider-expiry"));
    }
    account::ActiveModel {
        id: Set(a.id),
        valid_from: Set(from),
        valid_until: Set(until),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::AccountUpdated,
        ("account", a.id.to_string()),
        json!({"valid_from": [a.valid_from.map(|d| d.to_string()), from.map(|d| d.to_string())], "valid_until": [a.valid_until.map(|d| d.to_string()), until.map(|d| d.to_string())]}),
    )
    .await?;
    tx.commit().await
}

/// Creates accounts for every active member of staff in a unit (and below) who has none yet. The login is
/// the 職員番号 in lower case. All or nothing: one failure and no account is created.
pub async fn bulk_create(
    app: &App,
    cap: &AccountAdmin,
    actor: &AuditActor,
    unit_id: i64,
) -> AppResult<Vec<Created>> {
    let mut tx = app.write().await?;
    let unit = org_unit::Entity::find_by_id(unit_id)
        .one(tx.db())
        .await?
        .filter(|u| u.municipality_id == cap.municipality_id)
        .ok_or_else(|| AppError::field("unit", "err-unit-unknown"))?;
    let units: Vec<i64> = crate::org::all_units(tx.db(), cap.municipality_id)
        .await?
        .into_iter()
        .filter(|u| u.tree_path.starts_with(&unit.tree_path))
        .map(|u| u.id)
        .collect();
    let people = staff::Entity::find()
        .filter(staff::Column::OrgUnitId.is_in(units))
        .filter(staff::Column::Active.eq(true))
        .order_by_asc(staff::Column::SortKey)
        .all(tx.db())
        .await?;
    let with_account: std::collections::HashSet<i64> = account::Entity::find()
        .filter(account::Column::StaffId.is_in(people.iter().map(|s| s.id).collect::<Vec<_>>()))
        .all(tx.db())
        .await?
        .into_iter()
        .filter_map(|a| a.staff_id)
        .collect();
    let mut created = Vec::new();
    for person in people.iter().filter(|s| !with_account.contains(&s.id)) {
        let form = AccountForm {
            login: person.staff_no.to_lowercase(),
            staff: person.staff_no.clone(),
            ..Default::default()
        };
        created.push(create_in(&mut tx, cap, actor, &form, None).await?);
    }
    tx.audit(
        cap.municipality_id,
        actor,
        Action::AccountsBulkCreated,
        ("org_unit", unit.id.to_string()),
        json!({"created": created.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// The account whose login is given (for the CLI).
pub async fn by_login(db: &impl ConnectionTrait, login: &str) -> AppResult<Option<account::Model>> {
    Ok(account::Entity::find()
        .filter(account::Column::Login.eq(normalise_login(login)))
        .one(db)
        .await?)
}
