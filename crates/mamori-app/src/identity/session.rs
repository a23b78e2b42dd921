//! Server-side sessions. The cookie holds a random token; the database holds only its SHA-256. A session ends
//! after 30 idle minutes or 12 hours (both configurable), at sign-out, or at "sign out everywhere".

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{random_secret, secret_hash};
use crate::access::{Actor, load_actor};
use crate::{App, AppResult, today};
use mamori_store::entity::{account, session};

/// How far a session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The password was right; the second factor is still to come.
    SecondFactor,
    /// Signed in.
    Full,
}

impl Stage {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Stage::SecondFactor => "mfa",
            Stage::Full => "full",
        }
    }
}

/// A live session and the person behind it.
#[derive(Debug, Clone)]
pub struct Current {
    pub session_id: i64,
    pub stage: Stage,
    pub lang: String,
    pub actor: Actor,
}

/// last_seen is written at most this often, not on every request.
const TOUCH_EVERY_SECS: i64 = 60;

pub(crate) async fn create(
    db: &impl sea_orm::ConnectionTrait,
    app: &App,
    account_id: i64,
    stage: Stage,
    lang: &str,
) -> AppResult<String> {
    let token = random_secret();
    let now = Utc::now();
    session::ActiveModel {
        account_id: Set(account_id),
        token_hash: Set(secret_hash(&token)),
        stage: Set(stage.code().to_owned()),
        lang: Set(lang.to_owned()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + app.config().session_absolute),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Whether an account may be used today: not disabled, inside its validity period.
pub(crate) fn account_usable(a: &account::Model) -> bool {
    let today = today();
    !a.disabled
        && a.valid_from.is_none_or(|from| from <= today)
        && a.valid_until.is_none_or(|until| until >= today)
}

/// The session a cookie token names, if it is live. Touches last_seen at most once a minute.
pub async fn current(app: &App, token: &str) -> AppResult<Option<Current>> {
    let db = app.store().conn();
    let found = session::Entity::find()
        .filter(session::Column::TokenHash.eq(secret_hash(token)))
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    let Some((s, Some(account))) = found else {
        return Ok(None);
    };
    let now = Utc::now();
    if s.expires_at <= now || s.last_seen_at + app.config().session_idle <= now {
        session::Entity::delete_by_id(s.id).exec(db).await?;
        return Ok(None);
    }
    if !account_usable(&account) {
        return Ok(None);
    }
    if (now - s.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        touch(db, s.id, now).await?;
    }
    let actor = load_actor(db, &account).await?;
    let stage = if s.stage == Stage::Full.code() {
        Stage::Full
    } else {
        Stage::SecondFactor
    };
    Ok(Some(Current {
        session_id: s.id,
        stage,
        lang: s.lang,
        actor,
    }))
}

async fn touch(db: &impl sea_orm::ConnectionTrait, id: i64, now: DateTime<Utc>) -> AppResult<()> {
    session::ActiveModel {
        id: Set(id),
        last_seen_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Remembers the language a person chose for the rest of the session.
pub async fn set_lang(app: &App, session_id: i64, lang: &str) -> AppResult<()> {
    session::ActiveModel {
        id: Set(session_id),
        lang: Set(lang.to_owned()),
        ..Default::default()
    }
    .update(app.store().conn())
    .await?;
    Ok(())
}
