//! 例外措置: a departure from the policy approved (by the CISO or the 委員会) for one subject of one check,
//! until an end date. While one holds, the finding it covers counts as accepted; when it ends or is revoked the
//! finding is open again. Recording and revoking are changes in the audit chain.

use chrono::{DateTime, NaiveDate, Utc};
use mamori_policy::check::SubjectKind;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use crate::access::{ComplianceReader, ExceptionRecorder};
use crate::error::Problems;
use crate::org::required_text;
use crate::roles::parse_optional_date;
use crate::{App, AppError, AppResult, AuditActor, FieldError};
use mamori_store::audit::Action;
use mamori_store::entity::{finding, policy_exception, staff};

/// The longest an exception may last from its approval: the policy is reviewed at least yearly (8), and an
/// exception that outlives three reviews is a rule the city should change instead.
pub const MAX_YEARS: i32 = 3;

/// The longest reason kept.
pub const MAX_REASON: usize = 2000;

/// The form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ExceptionForm {
    /// The finding the exception covers (its check and subject are taken from it).
    pub finding_id: i64,
    /// Why the departure is acceptable and what compensates for it.
    pub reason: String,
    /// 職員番号 of the person who approved it (CISO, or the chair of the 委員会).
    pub approver: String,
    pub approved_on: String,
    /// The last day it holds.
    pub ends_on: String,
}

/// An exception as shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExceptionRow {
    pub id: i64,
    pub check_id: String,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub subject_label: String,
    pub reason: String,
    pub approver_staff_id: i64,
    /// 職員番号 and name.
    pub approver: String,
    pub approved_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: String,
}

impl ExceptionRow {
    /// Holds on `day`: approved by then, not ended, not revoked.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.revoked_at.is_none() && self.approved_on <= day && day <= self.ends_on
    }
}

/// The condition "this exception holds on `day`", for queries.
pub(crate) fn in_force(day: NaiveDate) -> Condition {
    Condition::all()
        .add(policy_exception::Column::RevokedAt.is_null())
        .add(policy_exception::Column::ApprovedOn.lte(day))
        .add(policy_exception::Column::EndsOn.gte(day))
}

/// Records an approved exception for the subject of one finding.
pub async fn grant_exception(
    app: &App,
    cap: &ExceptionRecorder,
    by: &AuditActor,
    form: &ExceptionForm,
) -> AppResult<i64> {
    let db = app.store().conn();
    let mid = cap.municipality_id;
    let covered = finding::Entity::find_by_id(form.finding_id)
        .one(db)
        .await?
        .filter(|f| f.municipality_id == mid)
        .ok_or(AppError::NotFound)?;
    let today = crate::today();
    let mut problems = Problems::default();
    let reason = problems.take(required_text("reason", &form.reason, MAX_REASON));
    let approver = problems.take(approver(db, mid, &form.approver).await?);
    let approved_on = problems.take(
        parse_optional_date("approved_on", &form.approved_on).and_then(|d| {
            d.filter(|d| *d <= today).ok_or_else(|| match d {
                None => FieldError::new("approved_on", "err-required"),
                Some(_) => FieldError::new("approved_on", "err-date-future"),
            })
        }),
    );
    let ends_on = problems.take(
        parse_optional_date("ends_on", &form.ends_on)
            .and_then(|d| d.ok_or_else(|| FieldError::new("ends_on", "err-required"))),
    );
    if let (Some(from), Some(to)) = (approved_on, ends_on) {
        let limit = from
            .checked_add_months(chrono::Months::new(12 * MAX_YEARS.unsigned_abs()))
            .unwrap_or(from);
        if to < today {
            problems.push(FieldError::new("ends_on", "err-date-past"));
        } else if to > limit {
            problems.push(
                FieldError::new("ends_on", "err-exception-too-long")
                    .with("years", MAX_YEARS.to_string()),
            );
        }
    }
    problems.into_result()?;
    let (Some(reason), Some(approver), Some(approved_on), Some(ends_on)) =
        (reason, approver, approved_on, ends_on)
    else {
        return Err(AppError::Internal(
            "validated exception lost a field".to_owned(),
        ));
    };

    let mut tx = app.write().await?;
    let row = policy_exception::ActiveModel {
        municipality_id: Set(mid),
        check_id: Set(covered.check_id.clone()),
        subject_kind: Set(covered.subject_kind.clone()),
        subject_id: Set(covered.subject_id),
        subject_label: Set(covered.subject_label.clone()),
        reason: Set(reason),
        approver_staff_id: Set(approver.id),
        approved_on: Set(approved_on),
        ends_on: Set(ends_on),
        recorded_by: Set(by.account_id),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        revoked_reason: Set(String::new()),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        mid,
        by,
        Action::ExceptionGranted,
        ("policy_exception", row.id.to_string()),
        json!({
            "check_id": row.check_id,
            "subject_kind": row.subject_kind,
            "subject_id": row.subject_id,
            "approver_staff_id": row.approver_staff_id,
            "approved_on": row.approved_on,
            "ends_on": row.ends_on,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

async fn approver(
    db: &impl ConnectionTrait,
    mid: i64,
    value: &str,
) -> AppResult<Result<staff::Model, FieldError>> {
    if value.trim().is_empty() {
        return Ok(Err(FieldError::new("approver", "err-required")));
    }
    Ok(match crate::staff::find(db, mid, value).await? {
        None => Err(FieldError::new("approver", "err-staff-unknown").with("value", value.trim())),
        Some(s) if !s.active => {
            Err(FieldError::new("approver", "err-staff-inactive").with("value", value.trim()))
        }
        Some(s) => Ok(s),
    })
}

/// Ends an exception before its end date; the finding it covered is open again.
pub async fn revoke_exception(
    app: &App,
    cap: &ExceptionRecorder,
    by: &AuditActor,
    id: i64,
    reason: &str,
) -> AppResult<()> {
    let reason = required_text("revoked_reason", reason, MAX_REASON)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let mut tx = app.write().await?;
    let row = policy_exception::Entity::find_by_id(id)
        .one(tx.db())
        .await?
        .filter(|e| e.municipality_id == cap.municipality_id)
        .ok_or(AppError::NotFound)?;
    if row.revoked_at.is_some() {
        return Err(AppError::field("revoked_reason", "err-exception-revoked"));
    }
    let mut active: policy_exception::ActiveModel = row.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.revoked_reason = Set(reason);
    active.update(tx.db()).await?;
    tx.audit(
        cap.municipality_id,
        by,
        Action::ExceptionRevoked,
        ("policy_exception", id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Exceptions, newest first; with `current_only`, those in force today.
pub async fn list_exceptions(
    app: &App,
    cap: &ComplianceReader,
    current_only: bool,
) -> AppResult<Vec<ExceptionRow>> {
    let db = app.store().conn();
    let mut q = policy_exception::Entity::find()
        .filter(policy_exception::Column::MunicipalityId.eq(cap.municipality_id))
        .order_by_desc(policy_exception::Column::Id);
    if current_only {
        q = q.filter(in_force(crate::today()));
    }
    let rows = q.all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let approver = staff::Entity::find_by_id(r.approver_staff_id)
            .one(db)
            .await?
            .map(|s| format!("{} {}", s.staff_no, s.name))
            .unwrap_or_default();
        out.push(ExceptionRow {
            id: r.id,
            check_id: r.check_id,
            subject_kind: super::kind_of(&r.subject_kind),
            subject_id: r.subject_id,
            subject_label: r.subject_label,
            reason: r.reason,
            approver_staff_id: r.approver_staff_id,
            approver,
            approved_on: r.approved_on,
            ends_on: r.ends_on,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            revoked_reason: r.revoked_reason,
        });
    }
    Ok(out)
}
