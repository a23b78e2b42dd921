//! Signing in and out: password, then the second factor; lockout after repeated failures; every attempt audited.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::session::{self, Stage, account_usable};
use super::{password, secret_hash, totp};
use crate::tx::AuditActor;
use crate::{App, AppError, AppResult, Tx, settings};
use mamori_store::audit::Action;
use mamori_store::entity::{account, municipality, recovery_code, session as session_entity};
use sea_orm::PaginatorTrait;

/// What a sign-in attempt gives.
#[derive(Debug)]
pub enum SignIn {
    /// A new session (its token for the cookie) at this stage.
    Session { token: String, stage: Stage },
    /// Wrong login or password, locked, disabled or expired: one answer for all, so nothing is revealed.
    Refused,
}

fn attempt_actor(a: &account::Model) -> AuditActor {
    AuditActor {
        account_id: Some(a.id),
        label: a.login.clone(),
    }
}

/// Logins are compared case-insensitively and without surrounding space.
pub fn normalise_login(login: &str) -> String {
    login.trim().to_lowercase()
}

/// Checks a login and password. Unknown logins cost the same time as known ones (a dummy hash is verified).
pub async fn sign_in(app: &App, login: &str, password_text: &str, lang: &str) -> AppResult<SignIn> {
    let mut tx = app.write().await?;
    let login = normalise_login(login);
    let found = account::Entity::find()
        .filter(account::Column::Login.eq(login.as_str()))
        .one(tx.db())
        .await?;
    let Some(acct) = found else {
        password::verify(app.dummy_hash(), password_text);
        // The typed login is not recorded: a password typed into the wrong field would land in the trail.
        if let Some(only) = sole_municipality(tx.db()).await? {
            let who = AuditActor {
                account_id: None,
                label: "(unknown login)".to_owned(),
            };
            tx.audit(
                only,
                &who,
                Action::SignInFailed,
                ("account", String::new()),
                json!({"reason": "unknown_login"}),
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(SignIn::Refused);
    };
    let now = Utc::now();
    let locked = acct.locked_until.is_some_and(|until| until > now);
    let right = password::verify(&acct.password_hash, password_text);
    let reason = if locked {
        Some("locked")
    } else if !right {
        Some("wrong_password")
    } else if !account_usable(&acct) {
        Some("disabled_or_expired")
    } else {
        None
    };
    if let Some(reason) = reason {
        if reason == "wrong_password" {
            record_failure(&mut tx, &acct).await?;
        }
        tx.audit(
            acct.municipality_id,
            &attempt_actor(&acct),
            Action::SignInFailed,
            ("account", acct.id.to_string()),
            json!({"reason": reason}),
        )
        .await?;
        tx.commit().await?;
        return Ok(SignIn::Refused);
    }
    let stage = if acct.mfa_enrolled_at.is_some() {
        Stage::SecondFactor
    } else {
        Stage::Full
    };
    clear_failures(tx.db(), &acct).await?;
    let token = session::create(tx.db(), app, acct.id, stage, lang).await?;
    if stage == Stage::Full {
        tx.audit(
            acct.municipality_id,
            &attempt_actor(&acct),
            Action::SignInSucceeded,
            ("account", acct.id.to_string()),
            json!({"mfa": false}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(SignIn::Session { token, stage })
}

async fn sole_municipality(db: &impl ConnectionTrait) -> AppResult<Option<i64>> {
    if municipality::Entity::find().count(db).await? != 1 {
        return Ok(None);
    }
    Ok(municipality::Entity::find().one(db).await?.map(|m| m.id))
}

async fn record_failure(tx: &mut Tx<'_>, acct: &account::Model) -> AppResult<()> {
    let policy = settings::security(tx.db(), acct.municipality_id).await?;
    let failures = acct.failed_attempts + 1;
    let mut update = account::ActiveModel {
        id: Set(acct.id),
        failed_attempts: Set(failures),
        ..Default::default()
    };
    if failures >= policy.lockout_threshold {
        let until = Utc::now() + chrono::Duration::minutes(policy.lockout_minutes);
        update.locked_until = Set(Some(until));
        update.failed_attempts = Set(0);
        tx.audit(
            acct.municipality_id,
            &attempt_actor(acct),
            Action::AccountLocked,
            ("account", acct.id.to_string()),
            json!({"failures": failures, "minutes": policy.lockout_minutes}),
        )
        .await?;
    }
    update.update(tx.db()).await?;
    Ok(())
}

async fn clear_failures(db: &impl ConnectionTrait, acct: &account::Model) -> AppResult<()> {
    if acct.failed_attempts != 0 || acct.locked_until.is_some() {
        account::ActiveModel {
            id: Set(acct.id),
            failed_attempts: Set(0),
            locked_until: Set(None),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    Ok(())
}

/// The second step: a TOTP code or a recovery code. On success the half-open session is replaced by a new,
/// full one (the token changes); failures count towards the lockout like wrong passwords.
pub async fn second_factor(app: &App, token: &str, code: &str) -> AppResult<SignIn> {
    let mut tx = app.write().await?;
    let Some(s) = session_entity::Entity::find()
        .filter(session_entity::Column::TokenHash.eq(secret_hash(token)))
        .one(tx.db())
        .await?
    else {
        return Ok(SignIn::Refused);
    };
    let acct = account::Entity::find_by_id(s.account_id)
        .one(tx.db())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let now = Utc::now();
    if s.stage != Stage::SecondFactor.code()
        || s.expires_at <= now
        || acct.locked_until.is_some_and(|u| u > now)
        || !account_usable(&acct)
    {
        return Ok(SignIn::Refused);
    }
    let Some(secret) = acct.totp_secret.clone() else {
        return Ok(SignIn::Refused);
    };
    let step = totp::accept(
        &secret,
        code,
        now.timestamp().max(0) as u64,
        acct.totp_last_step,
    )?;
    let via_recovery = if step.is_none() {
        use_recovery_code(&mut tx, &acct, code).await?
    } else {
        false
    };
    if step.is_none() && !via_recovery {
        record_failure(&mut tx, &acct).await?;
        tx.audit(
            acct.municipality_id,
            &attempt_actor(&acct),
            Action::SignInFailed,
            ("account", acct.id.to_string()),
            json!({"reason": "wrong_second_factor"}),
        )
        .await?;
        tx.commit().await?;
        return Ok(SignIn::Refused);
    }
    if let Some(step) = step {
        account::ActiveModel {
            id: Set(acct.id),
            totp_last_step: Set(Some(step)),
            ..Default::default()
        }
        .update(tx.db())
        .await?;
    }
    clear_failures(tx.db(), &acct).await?;
    session_entity::Entity::delete_by_id(s.id)
        .exec(tx.db())
        .await?;
    let new_token = session::create(tx.db(), app, acct.id, Stage::Full, &s.lang).await?;
    tx.audit(
        acct.municipality_id,
        &attempt_actor(&acct),
        Action::SignInSucceeded,
        ("account", acct.id.to_string()),
        json!({"mfa": true, "recovery_code": via_recovery}),
    )
    .await?;
    tx.commit().await?;
    Ok(SignIn::Session {
        token: new_token,
        stage: Stage::Full,
    })
}

async fn use_recovery_code(tx: &mut Tx<'_>, acct: &account::Model, code: &str) -> AppResult<bool> {
    let hash = secret_hash(&totp::normalise_recovery_code(code));
    let found = recovery_code::Entity::find()
        .filter(recovery_code::Column::AccountId.eq(acct.id))
        .filter(recovery_code::Column::CodeHash.eq(hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .one(tx.db())
        .await?;
    let Some(found) = found else { return Ok(false) };
    recovery_code::ActiveModel {
        id: Set(found.id),
        used_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    tx.audit(
        acct.municipality_id,
        &attempt_actor(acct),
        Action::RecoveryCodeUsed,
        ("account", acct.id.to_string()),
        json!({}),
    )
    .await?;
    Ok(true)
}

/// Ends one session.
pub async fn sign_out(app: &App, current: &session::Current) -> AppResult<()> {
    let mut tx = app.write().await?;
    session_entity::Entity::delete_by_id(current.session_id)
        .exec(tx.db())
        .await?;
    let actor = &current.actor;
    tx.audit(
        actor.municipality_id,
        &actor.audit_actor(),
        Action::SignedOut,
        ("account", actor.account_id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await
}

/// Ends every session of the account, this one included.
pub async fn sign_out_everywhere(app: &App, actor: &crate::Actor) -> AppResult<u64> {
    let mut tx = app.write().await?;
    let ended = end_all_sessions(tx.db(), actor.account_id).await?;
    tx.audit(
        actor.municipality_id,
        &actor.audit_actor(),
        Action::SignedOutEverywhere,
        ("account", actor.account_id.to_string()),
        json!({"sessions": ended}),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

pub(crate) async fn end_all_sessions(db: &impl ConnectionTrait, account_id: i64) -> AppResult<u64> {
    let result = session_entity::Entity::delete_many()
        .filter(session_entity::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Changes one's own password. The current password is required; other sessions end.
pub async fn change_password(
    app: &App,
    current: &session::Current,
    old: &str,
    new: &str,
    confirm: &str,
) -> AppResult<()> {
    let actor = &current.actor;
    let mut tx = app.write().await?;
    let acct = account::Entity::find_by_id(actor.account_id)
        .one(tx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    if !password::verify(&acct.password_hash, old) {
        return Err(AppError::field("current_password", "err-password-wrong"));
    }
    password::check_new("new_password", new, &acct.login)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    if new != confirm {
        return Err(AppError::field("confirm_password", "err-password-mismatch"));
    }
    if new == old {
        return Err(AppError::field("new_password", "err-password-unchanged"));
    }
    let hash = password::hash_with(&app.config().argon2, new)?;
    let now = Utc::now();
    account::ActiveModel {
        id: Set(acct.id),
        password_hash: Set(hash),
        must_change_password: Set(false),
        password_changed_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    session_entity::Entity::delete_many()
        .filter(session_entity::Column::AccountId.eq(acct.id))
        .filter(session_entity::Column::Id.ne(current.session_id))
        .exec(tx.db())
        .await?;
    tx.audit(
        acct.municipality_id,
        &actor.audit_actor(),
        Action::PasswordChanged,
        ("account", acct.id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await
}

/// A second factor being set up: a new secret, pending (stored, but not in force) until a first code confirms it.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    pub url: String,
    pub qr_svg: String,
}

/// Starts (or restarts) enrolment for an account that has no second factor yet.
pub async fn begin_enrolment(app: &App, actor: &crate::Actor) -> AppResult<Enrolment> {
    if actor.mfa_enrolled {
        return Err(AppError::field("totp", "err-mfa-already"));
    }
    let secret = totp::new_secret();
    account::ActiveModel {
        id: Set(actor.account_id),
        totp_secret: Set(Some(secret.clone())),
        ..Default::default()
    }
    .update(app.store().conn())
    .await?;
    let url = totp::provisioning_url(&secret, &actor.login);
    let qr_svg = totp::qr_svg(&url)?;
    Ok(Enrolment {
        secret,
        url,
        qr_svg,
    })
}

/// Confirms enrolment with a first code; puts the secret in force and returns the recovery codes (shown once).
pub async fn confirm_enrolment(
    app: &App,
    actor: &crate::Actor,
    code: &str,
) -> AppResult<Vec<String>> {
    let now = Utc::now();
    let mut tx = app.write().await?;
    let acct = account::Entity::find_by_id(actor.account_id)
        .one(tx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    if acct.mfa_enrolled_at.is_some() {
        return Err(AppError::field("totp", "err-mfa-already"));
    }
    let secret = acct
        .totp_secret
        .ok_or_else(|| AppError::field("totp", "err-totp-wrong"))?;
    let step = totp::accept(&secret, code, now.timestamp().max(0) as u64, None)?
        .ok_or_else(|| AppError::field("totp", "err-totp-wrong"))?;
    account::ActiveModel {
        id: Set(actor.account_id),
        totp_last_step: Set(Some(step)),
        mfa_enrolled_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::AccountId.eq(actor.account_id))
        .exec(tx.db())
        .await?;
    let codes = totp::recovery_codes();
    for code in &codes {
        recovery_code::ActiveModel {
            account_id: Set(actor.account_id),
            code_hash: Set(secret_hash(code)),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(tx.db())
        .await?;
    }
    tx.audit(
        actor.municipality_id,
        &actor.audit_actor(),
        Action::MfaEnrolled,
        ("account", actor.account_id.to_string()),
        json!({"recovery_codes": codes.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}
