//! Personal API tokens: `Authorization: Bearer mmr_…`. Shown once at creation; stored as a SHA-256.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

use super::session::account_usable;
use super::{random_secret, secret_hash};
use crate::access::{Actor, load_actor};
use crate::tx::AuditActor;
use crate::{App, AppError, AppResult, text, today};
use mamori_store::audit::Action;
use mamori_store::entity::{account, api_token};

const PREFIX: &str = "mmr_";

/// A token as listed: never the token itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: Option<chrono::DateTime<Utc>>,
    pub expires_on: Option<NaiveDate>,
    pub revoked: bool,
}

/// Creates a token for an account; returns the token (to show once).
pub async fn create(
    app: &App,
    account_id: i64,
    by: &AuditActor,
    name: &str,
    expires_on: Option<NaiveDate>,
) -> AppResult<String> {
    let name = text::clean(name, 100).map_err(|k| AppError::field("name", k))?;
    if name.is_empty() {
        return Err(AppError::field("name", "err-required"));
    }
    if expires_on.is_some_and(|d| d < today()) {
        return Err(AppError::field("expires_on", "err-date-past"));
    }
    let mut tx = app.write().await?;
    let acct = account::Entity::find_by_id(account_id)
        .one(tx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    let token = format!("{PREFIX}{}", random_secret());
    let model = api_token::ActiveModel {
        account_id: Set(acct.id),
        name: Set(name.clone()),
        token_hash: Set(secret_hash(&token)),
        prefix: Set(token.chars().take(10).collect()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        expires_on: Set(expires_on),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        acct.municipality_id,
        by,
        Action::TokenCreated,
        ("api_token", model.id.to_string()),
        json!({"account": acct.id, "name": name, "expires_on": expires_on}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn list(app: &App, account_id: i64) -> AppResult<Vec<TokenInfo>> {
    let rows = api_token::Entity::find()
        .filter(api_token::Column::AccountId.eq(account_id))
        .order_by_desc(api_token::Column::Id)
        .all(app.store().conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|t| TokenInfo {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_on: t.expires_on,
            revoked: t.revoked_at.is_some(),
        })
        .collect())
}

/// Revokes one of the actor's own tokens.
pub async fn revoke(app: &App, actor: &Actor, token_id: i64) -> AppResult<()> {
    let mut tx = app.write().await?;
    let token = api_token::Entity::find_by_id(token_id)
        .one(tx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    if token.account_id != actor.account_id {
        return Err(AppError::Forbidden);
    }
    api_token::ActiveModel {
        id: Set(token.id),
        revoked_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    tx.audit(
        actor.municipality_id,
        &actor.audit_actor(),
        Action::TokenRevoked,
        ("api_token", token.id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await
}

/// The actor a Bearer token stands for, if the token is live and its account usable. A token does not
/// stand in for a missing second factor: an account that must enrol cannot use the API until it has.
pub async fn authenticate(app: &App, token: &str) -> AppResult<Option<Actor>> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let db = app.store().conn();
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(secret_hash(token)))
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    let Some((t, Some(acct))) = found else {
        return Ok(None);
    };
    if t.revoked_at.is_some() || t.expires_on.is_some_and(|d| d < today()) {
        return Ok(None);
    }
    if !account_usable(&acct) {
        return Ok(None);
    }
    let now = Utc::now();
    if t.last_used_at
        .is_none_or(|at| (now - at).num_seconds() >= 60)
    {
        api_token::ActiveModel {
            id: Set(t.id),
            last_used_at: Set(Some(now)),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    Ok(Some(load_actor(db, &acct).await?))
}
