//! Settings an administrator changes at run time, per municipality.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::access::AccountAdmin;
use crate::{App, AppResult, FieldError, error::Problems};
use mamori_store::audit::Action;
use mamori_store::entity::setting;

/// The security settings of a municipality, with the policy's defaults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecuritySettings {
    /// Require a second factor of every account, not only administrators, CISO and 統括.
    pub mfa_for_everyone: bool,
    /// Failed sign-ins in a row after which an account is locked.
    pub lockout_threshold: i32,
    /// How long a lock lasts, in minutes.
    pub lockout_minutes: i64,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            mfa_for_everyone: false,
            lockout_threshold: 5,
            lockout_minutes: 15,
        }
    }
}

const KEY: &str = "security";

pub async fn security(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<SecuritySettings> {
    let row = setting::Entity::find()
        .filter(setting::Column::MunicipalityId.eq(municipality_id))
        .filter(setting::Column::Key.eq(KEY))
        .one(db)
        .await?;
    Ok(row
        .and_then(|r| serde_json::from_str(&r.value).ok())
        .unwrap_or_default())
}

/// The settings form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SecuritySettingsForm {
    #[serde(default)]
    pub mfa_for_everyone: Option<String>,
    pub lockout_threshold: String,
    pub lockout_minutes: String,
}

pub async fn update_security(
    app: &App,
    cap: &AccountAdmin,
    actor: &crate::Actor,
    form: &SecuritySettingsForm,
) -> AppResult<SecuritySettings> {
    let mut problems = Problems::default();
    let threshold = problems.take(
        form.lockout_threshold
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                FieldError::new("lockout_threshold", "err-range")
                    .with("min", "1")
                    .with("max", "100")
            }),
    );
    let minutes = problems.take(
        form.lockout_minutes
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1440).contains(n))
            .ok_or_else(|| {
                FieldError::new("lockout_minutes", "err-range")
                    .with("min", "1")
                    .with("max", "1440")
            }),
    );
    problems.into_result()?;
    let new = SecuritySettings {
        mfa_for_everyone: crate::text::checked(&form.mfa_for_everyone),
        lockout_threshold: threshold.unwrap_or(5),
        lockout_minutes: minutes.unwrap_or(15),
    };
    let mut tx = app.write().await?;
    let old = security(tx.db(), cap.municipality_id).await?;
    let value =
        serde_json::to_string(&new).map_err(|e| crate::AppError::Internal(e.to_string()))?;
    put(tx.db(), cap.municipality_id, KEY, value).await?;
    tx.audit(
        cap.municipality_id,
        &actor.audit_actor(),
        Action::SettingsUpdated,
        ("settings", KEY.to_owned()),
        serde_json::json!({"before": old, "after": new}),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// Writes a setting, creating or replacing its row.
pub(crate) async fn put(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    key: &str,
    value: String,
) -> AppResult<()> {
    let existing = setting::Entity::find()
        .filter(setting::Column::MunicipalityId.eq(municipality_id))
        .filter(setting::Column::Key.eq(key))
        .one(db)
        .await?;
    match existing {
        Some(row) => {
            let mut row: setting::ActiveModel = row.into();
            row.value = Set(value);
            row.update(db).await?;
        }
        None => {
            setting::ActiveModel {
                municipality_id: Set(municipality_id),
                key: Set(key.to_owned()),
                value: Set(value),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

const SCHEME_KEY: &str = "classification_scheme";

/// The scheme a municipality classifies by when it has chosen none: the 2024 guideline's.
pub const DEFAULT_SCHEME: &str = "mic-2024";

/// The id of the classification scheme the municipality chose at set-up.
pub async fn classification_scheme(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<String> {
    let row = setting::Entity::find()
        .filter(setting::Column::MunicipalityId.eq(municipality_id))
        .filter(setting::Column::Key.eq(SCHEME_KEY))
        .one(db)
        .await?;
    Ok(row
        .map(|r| r.value)
        .unwrap_or_else(|| DEFAULT_SCHEME.to_owned()))
}

/// Chooses the classification scheme. Refused once any asset is classified: levels of one scheme do not
/// carry over to another by themselves.
pub async fn set_classification_scheme(
    app: &App,
    cap: &AccountAdmin,
    actor: &crate::AuditActor,
    scheme_id: &str,
) -> AppResult<()> {
    use mamori_store::entity::asset;
    use sea_orm::PaginatorTrait;
    if app.scheme(scheme_id).is_none() {
        return Err(crate::AppError::Invalid(vec![
            FieldError::new("scheme", "err-choice").with("value", scheme_id),
        ]));
    }
    let mut tx = app.write().await?;
    let before = classification_scheme(tx.db(), cap.municipality_id).await?;
    if before == scheme_id {
        return tx.rollback().await;
    }
    let classified = asset::Entity::find()
        .filter(asset::Column::MunicipalityId.eq(cap.municipality_id))
        .filter(
            sea_orm::Condition::any()
                .add(asset::Column::CLevel.is_not_null())
                .add(asset::Column::ILevel.is_not_null())
                .add(asset::Column::ALevel.is_not_null()),
        )
        .count(tx.db())
        .await?;
    if classified > 0 {
        return Err(crate::AppError::Invalid(vec![
            FieldError::new("scheme", "err-scheme-in-use").with("count", classified.to_string()),
        ]));
    }
    put(
        tx.db(),
        cap.municipality_id,
        SCHEME_KEY,
        scheme_id.to_owned(),
    )
    .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::SettingsUpdated,
        ("settings", SCHEME_KEY.to_owned()),
        serde_json::json!({"before": before, "after": scheme_id}),
    )
    .await?;
    tx.commit().await
}
