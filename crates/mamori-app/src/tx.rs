//! A write transaction that carries its audit entries: a change and its entry commit together or not at all,
//! and the new chain head is sealed outside the database once the commit has happened.

use mamori_store::audit::{self, Action, Head, NewEntry};
use sea_orm::DatabaseTransaction;

use crate::{App, AppResult};

/// Who an audit entry names as the actor.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub account_id: Option<i64>,
    pub label: String,
}

impl AuditActor {
    /// The command line, run by someone with access to the server.
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
        AuditActor {
            account_id: None,
            label: format!("cli:{user}"),
        }
    }

    /// Mamori itself (scheduled change sets).
    pub fn system() -> Self {
        AuditActor {
            account_id: None,
            label: "system".to_owned(),
        }
    }
}

pub struct Tx<'a> {
    app: &'a App,
    txn: DatabaseTransaction,
    heads: Vec<Head>,
}

impl<'a> Tx<'a> {
    pub(crate) async fn begin(app: &'a App) -> AppResult<Self> {
        let txn = app.store().begin_write().await?;
        Ok(Tx {
            app,
            txn,
            heads: Vec::new(),
        })
    }

    pub fn app(&self) -> &App {
        self.app
    }

    pub fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Appends an audit entry in this transaction.
    pub async fn audit(
        &mut self,
        municipality_id: i64,
        actor: &AuditActor,
        action: Action,
        target: (&'static str, String),
        summary: serde_json::Value,
    ) -> AppResult<()> {
        let head = audit::append(
            &self.txn,
            self.app.audit_key(),
            NewEntry {
                municipality_id,
                actor_account_id: actor.account_id,
                actor_label: actor.label.clone(),
                action,
                target_type: target.0,
                target_id: target.1,
                summary,
            },
        )
        .await?;
        self.heads
            .retain(|h| h.municipality_id != head.municipality_id);
        self.heads.push(head);
        Ok(())
    }

    /// Appends many entries of one municipality in this transaction (a sheet import: one per row).
    pub async fn audit_batch(
        &mut self,
        municipality_id: i64,
        entries: Vec<NewEntry>,
    ) -> AppResult<()> {
        if let Some(head) =
            audit::append_batch(&self.txn, self.app.audit_key(), municipality_id, entries).await?
        {
            self.heads
                .retain(|h| h.municipality_id != head.municipality_id);
            self.heads.push(head);
        }
        Ok(())
    }

    /// Abandons every change and audit entry of this transaction.
    pub async fn rollback(self) -> AppResult<()> {
        self.txn.rollback().await?;
        Ok(())
    }

    /// Commits, then seals the new heads. A seal that cannot be written is logged, not fatal: the entries are
    /// committed and still verify; only truncation after this point would go unnoticed until the next seal.
    pub async fn commit(self) -> AppResult<()> {
        self.txn.commit().await?;
        for head in &self.heads {
            if let Err(e) = self.app.audit_key().seal(head) {
                tracing::error!(
                    municipality = head.municipality_id,
                    seq = head.seq,
                    "audit seal not written: {e}"
                );
            }
        }
        Ok(())
    }
}
