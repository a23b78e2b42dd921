//! 6(1) 人事異動 and 組織改正 as dated change sets: prepared ahead (内示 in March), previewed change by change,
//! applied on their date (usually 4月1日) or at once, in one transaction. A set that cannot be applied
//! changes nothing.
//!
//! The preview is the real thing: the set is applied inside a transaction that is then rolled back, so what
//! a person approves is exactly what will happen (unless the organisation changes in between, in which case
//! applying re-validates and refuses).

use chrono::{NaiveDate, Utc};
use mamori_policy::{AssignmentKind, OrganKind, StatutoryRole, UnitLevel, parse_date};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use crate::access::OrgAdmin;
use crate::error::Problems;
use crate::org::{self, UnitForm};
use crate::roles::{self, AssignForm};
use crate::sheet::Sheet;
use crate::tx::AuditActor;
use crate::{App, AppError, AppResult, FieldError, Tx, today};
use mamori_sheet::ColumnSpec;
use mamori_store::audit::Action;
use mamori_store::entity::{change_set, org_unit};

/// What happens to a unit in a 組織改正.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitOp {
    /// 新設.
    Create,
    /// 名称変更 (and 組織名カナ).
    Rename,
    /// 移動: a new parent.
    Move,
    /// 統合: merged into the successor.
    Merge,
    /// 廃止: abolished; what it owned goes to the successor.
    Abolish,
}

impl UnitOp {
    pub fn parse(text: &str) -> Option<UnitOp> {
        match text.trim() {
            "新設" | "create" => Some(UnitOp::Create),
            "名称変更" | "改称" | "rename" => Some(UnitOp::Rename),
            "移動" | "move" => Some(UnitOp::Move),
            "統合" | "merge" => Some(UnitOp::Merge),
            "廃止" | "abolish" => Some(UnitOp::Abolish),
            _ => None,
        }
    }
}

/// One row of the 組織改正 sheet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnitChange {
    pub line: usize,
    pub op: UnitOp,
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub name_kana: String,
    #[serde(default)]
    pub parent_code: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub organ_kind: String,
    #[serde(default)]
    pub successor_code: String,
}

/// One row of the 人事異動 sheet: a person's new unit, and optionally a post they take.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaffChange {
    pub line: usize,
    pub staff_no: String,
    #[serde(default)]
    pub unit_code: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub role_unit_code: String,
    #[serde(default)]
    pub assignment_kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Payload {
    pub units: Vec<UnitChange>,
    pub staff: Vec<StaffChange>,
}

/// One change as the preview lists it: which sheet and row, and a message key with its values.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    pub sheet: &'static str,
    pub line: usize,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

/// Columns of the 組織改正 sheet: Japanese headings first, English aliases after.
pub const UNIT_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("op", &["操作", "operation", "op"]),
    ColumnSpec::required("code", &["組織コード", "code"]),
    ColumnSpec::optional("name", &["組織名", "name"]),
    ColumnSpec::optional("name_kana", &["組織名カナ", "カナ", "name_kana"]),
    ColumnSpec::optional("parent_code", &["上位組織コード", "parent_code", "parent"]),
    ColumnSpec::optional("level", &["階層", "level"]),
    ColumnSpec::optional("organ_kind", &["機関区分", "organ_kind"]),
    ColumnSpec::optional(
        "successor_code",
        &["後継組織コード", "successor_code", "successor"],
    ),
];

/// Columns of the 人事異動 sheet.
pub const STAFF_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("staff_no", &["職員番号", "staff_no"]),
    ColumnSpec::optional(
        "unit_code",
        &["異動先組織コード", "所属組織コード", "unit_code"],
    ),
    ColumnSpec::optional("kind", &["職員区分", "kind"]),
    ColumnSpec::optional("role", &["役割", "role"]),
    ColumnSpec::optional("role_unit_code", &["役割組織コード", "role_unit_code"]),
    ColumnSpec::optional("assignment_kind", &["任用区分", "assignment_kind"]),
];

/// An uploaded file: its name and bytes.
pub struct Upload<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Reads the 組織改正 and 人事異動 sheets (either may be absent) into a payload. Every problem of every row is
/// reported at once, naming the sheet, row and column; an unknown 操作 is a row error.
pub fn read_payload(units: Option<Upload<'_>>, staff: Option<Upload<'_>>) -> AppResult<Payload> {
    let mut problems = Problems::default();
    let mut payload = Payload::default();
    if let Some(u) = units {
        match Sheet::read("units_file", u.name, u.bytes, UNIT_COLUMNS) {
            Err(errs) => errs.into_iter().for_each(|e| problems.push(e)),
            Ok(sheet) => {
                for row in &sheet.table.rows {
                    let op_text = sheet.cell(row, "op");
                    let Some(op) = UnitOp::parse(&op_text) else {
                        problems.push(row_error(
                            "units",
                            row.line,
                            FieldError::new("op", "err-choice").with("value", op_text),
                        ));
                        continue;
                    };
                    payload.units.push(UnitChange {
                        line: row.line,
                        op,
                        code: sheet.cell(row, "code"),
                        name: sheet.cell(row, "name"),
                        name_kana: sheet.cell(row, "name_kana"),
                        parent_code: sheet.cell(row, "parent_code"),
                        level: sheet.cell(row, "level"),
                        organ_kind: sheet.cell(row, "organ_kind"),
                        successor_code: sheet.cell(row, "successor_code"),
                    });
                }
            }
        }
    }
    if let Some(s) = staff {
        match Sheet::read("staff_file", s.name, s.bytes, STAFF_COLUMNS) {
            Err(errs) => errs.into_iter().for_each(|e| problems.push(e)),
            Ok(sheet) => {
                for row in &sheet.table.rows {
                    payload.staff.push(StaffChange {
                        line: row.line,
                        staff_no: sheet.cell(row, "staff_no"),
                        unit_code: sheet.cell(row, "unit_code"),
                        kind: sheet.cell(row, "kind"),
                        role: sheet.cell(row, "role"),
                        role_unit_code: sheet.cell(row, "role_unit_code"),
                        assignment_kind: sheet.cell(row, "assignment_kind"),
                    });
                }
            }
        }
    }
    problems.into_result()?;
    Ok(payload)
}

/// A problem with a sheet row.
fn row_error(sheet: &str, line: usize, e: FieldError) -> FieldError {
    let mut out = FieldError::new(format!("{sheet}:{line}:{}", e.field), e.key);
    out.args = e.args;
    out
}

fn role_from_text(text: &str) -> Option<StatutoryRole> {
    let t = text.trim();
    StatutoryRole::parse(t).ok().or(match t {
        "CISO" | "最高情報セキュリティ責任者" => Some(StatutoryRole::Ciso),
        "統括情報セキュリティ責任者" | "統括" => Some(StatutoryRole::ChiefOfficer),
        "情報セキュリティ責任者" => Some(StatutoryRole::BureauOfficer),
        "情報セキュリティ管理者" => Some(StatutoryRole::DivisionManager),
        "CSIRT" | "CSIRT構成員" => Some(StatutoryRole::CsirtMember),
        "監査人" | "情報セキュリティ監査人" => Some(StatutoryRole::Auditor),
        _ => None,
    })
}

fn assignment_kind_from_text(text: &str) -> Option<AssignmentKind> {
    match text.trim() {
        "" | "本務" => Some(AssignmentKind::Primary),
        "兼務" => Some(AssignmentKind::Concurrent),
        "事務取扱" => Some(AssignmentKind::Acting),
        other => AssignmentKind::parse(other).ok(),
    }
}

/// Unit levels and organ kinds as sheets write them.
pub fn level_from_text(text: &str) -> Option<UnitLevel> {
    match text.trim() {
        "執行機関" | "機関" => Some(UnitLevel::Organ),
        "部局" | "部" => Some(UnitLevel::Bureau),
        "課" | "室" => Some(UnitLevel::Division),
        "係" | "担当" => Some(UnitLevel::Section),
        other => UnitLevel::parse(other).ok(),
    }
}

pub fn organ_kind_from_text(text: &str) -> Option<OrganKind> {
    match text.trim() {
        "市長部局" => Some(OrganKind::MayorsOffice),
        "委員会" => Some(OrganKind::Committee),
        "市議会事務局" | "議会事務局" => Some(OrganKind::CouncilSecretariat),
        "消防局" | "消防本部" => Some(OrganKind::FireDepartment),
        "地方公営企業" | "公営企業" => Some(OrganKind::PublicEnterprise),
        "接続組織" | "その他" => Some(OrganKind::Connected),
        other => OrganKind::parse(other).ok(),
    }
}

/// Applies a payload inside `tx`, as of `on`. Returns the list of changes made. Any invalid row fails the
/// whole set with every problem found, each naming its sheet and row.
pub async fn apply_in(
    tx: &mut Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    payload: &Payload,
    on: NaiveDate,
) -> AppResult<Vec<Line>> {
    let mut lines = Vec::new();
    let mut problems = Problems::default();
    let mid = cap.municipality_id;
    // Creations first (a new unit may be the parent, destination or successor of another row), in sheet order.
    for u in payload.units.iter().filter(|u| u.op == UnitOp::Create) {
        let parent = org::unit_by_code(tx.db(), mid, &u.parent_code.trim().to_uppercase()).await?;
        let Some(parent) = parent else {
            problems.push(row_error(
                "units",
                u.line,
                FieldError::new("parent_code", "err-unit-unknown")
                    .with("value", u.parent_code.clone()),
            ));
            continue;
        };
        let form = UnitForm {
            code: u.code.clone(),
            name: u.name.clone(),
            name_kana: u.name_kana.clone(),
            level: level_from_text(&u.level)
                .map(|l| l.code().to_owned())
                .unwrap_or_else(|| u.level.clone()),
            organ_kind: organ_kind_from_text(&u.organ_kind)
                .map(|k| k.code().to_owned())
                .unwrap_or_else(|| u.organ_kind.clone()),
            parent_id: parent.id.to_string(),
            in_scope: Some(if parent.in_scope { "on" } else { "off" }.to_owned()),
        };
        match org::create_unit_in(tx, cap, actor, &form, Some(on)).await {
            Ok(created) => lines.push(Line {
                sheet: "units",
                line: u.line,
                key: "cs-unit-created",
                args: vec![("code", created.code), ("path", created.path)],
            }),
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .for_each(|e| problems.push(row_error("units", u.line, e))),
            Err(e) => return Err(e),
        }
    }
    for u in payload
        .units
        .iter()
        .filter(|u| matches!(u.op, UnitOp::Rename | UnitOp::Move))
    {
        let Some(unit) = live_unit(tx.db(), mid, &u.code).await? else {
            problems.push(row_error(
                "units",
                u.line,
                FieldError::new("code", "err-unit-unknown").with("value", u.code.clone()),
            ));
            continue;
        };
        let parent_id = if u.op == UnitOp::Move {
            match org::unit_by_code(tx.db(), mid, &u.parent_code.trim().to_uppercase()).await? {
                Some(p) => p.id.to_string(),
                None => {
                    problems.push(row_error(
                        "units",
                        u.line,
                        FieldError::new("parent_code", "err-unit-unknown")
                            .with("value", u.parent_code.clone()),
                    ));
                    continue;
                }
            }
        } else {
            unit.parent_id.map(|p| p.to_string()).unwrap_or_default()
        };
        let form = UnitForm {
            code: unit.code.clone(),
            name: if u.name.trim().is_empty() {
                unit.name.clone()
            } else {
                u.name.clone()
            },
            name_kana: if u.name_kana.trim().is_empty() {
                unit.name_kana.clone()
            } else {
                u.name_kana.clone()
            },
            level: unit.level.clone(),
            organ_kind: unit.organ_kind.clone().unwrap_or_default(),
            parent_id,
            in_scope: Some(if unit.in_scope { "on" } else { "off" }.to_owned()),
        };
        match update_unit_in(tx, cap, actor, unit.id, &form).await {
            Ok(after) => lines.push(Line {
                sheet: "units",
                line: u.line,
                key: if u.op == UnitOp::Move {
                    "cs-unit-moved"
                } else {
                    "cs-unit-renamed"
                },
                args: vec![
                    ("code", after.code.clone()),
                    ("before", unit.path.clone()),
                    ("after", after.path),
                ],
            }),
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .for_each(|e| problems.push(row_error("units", u.line, e))),
            Err(e) => return Err(e),
        }
    }
    // People move before units close, so nobody is left behind in an abolished unit by accident.
    for s in &payload.staff {
        if let Err(errs) = staff_row(tx, cap, actor, s, on, &mut lines).await {
            errs.into_iter()
                .for_each(|e| problems.push(row_error("staff", s.line, e)));
        }
    }
    for u in payload
        .units
        .iter()
        .filter(|u| matches!(u.op, UnitOp::Merge | UnitOp::Abolish))
    {
        let unit = live_unit(tx.db(), mid, &u.code).await?;
        let successor = live_unit(tx.db(), mid, &u.successor_code).await?;
        match (unit, successor) {
            (None, _) => problems.push(row_error(
                "units",
                u.line,
                FieldError::new("code", "err-unit-unknown").with("value", u.code.clone()),
            )),
            (_, None) => problems.push(row_error(
                "units",
                u.line,
                FieldError::new("successor_code", "err-successor-required")
                    .with("value", u.successor_code.clone()),
            )),
            (Some(unit), Some(successor))
                if successor.tree_path.starts_with(&unit.tree_path) || unit.parent_id.is_none() =>
            {
                problems.push(row_error(
                    "units",
                    u.line,
                    FieldError::new("successor_code", "err-cycle"),
                ));
            }
            (Some(unit), Some(successor)) => {
                let moved = org::abolish_in(tx, mid, actor, &unit, &successor, on).await?;
                lines.push(Line {
                    sheet: "units",
                    line: u.line,
                    key: if u.op == UnitOp::Merge {
                        "cs-unit-merged"
                    } else {
                        "cs-unit-abolished"
                    },
                    args: vec![
                        ("code", unit.code.clone()),
                        ("path", unit.path.clone()),
                        ("successor", successor.path.clone()),
                        ("staff", moved.staff.len().to_string()),
                        ("facilities", moved.facilities.len().to_string()),
                        ("units", moved.child_units.len().to_string()),
                        ("roles", moved.roles_ended.len().to_string()),
                    ],
                });
            }
        }
    }
    problems.into_result()?;
    Ok(lines)
}

async fn live_unit(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    code: &str,
) -> AppResult<Option<org_unit::Model>> {
    Ok(
        org::unit_by_code(db, municipality_id, &code.trim().to_uppercase())
            .await?
            .filter(|u| u.abolished_on.is_none()),
    )
}

async fn update_unit_in(
    tx: &mut Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
    form: &UnitForm,
) -> AppResult<org_unit::Model> {
    org::update_unit_tx(tx, cap, actor, id, form).await
}

async fn staff_row(
    tx: &mut Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    s: &StaffChange,
    on: NaiveDate,
    lines: &mut Vec<Line>,
) -> Result<(), Vec<FieldError>> {
    let mid = cap.municipality_id;
    let internal =
        |e: AppError| vec![FieldError::new("", "err-internal").with("detail", e.to_string())];
    let no = crate::staff::parse_staff_no("staff_no", &s.staff_no).map_err(|e| vec![e])?;
    let person = crate::staff::by_no(tx.db(), mid, &no)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            vec![FieldError::new("staff_no", "err-staff-unknown").with("value", no.clone())]
        })?;
    let mut errs = Vec::new();
    let mut unit = None;
    if !s.unit_code.trim().is_empty() {
        match live_unit(tx.db(), mid, &s.unit_code)
            .await
            .map_err(internal)?
        {
            Some(u) => unit = Some(u),
            None => errs.push(
                FieldError::new("unit_code", "err-unit-unknown").with("value", s.unit_code.clone()),
            ),
        }
    }
    let mut kind_id = None;
    if !s.kind.trim().is_empty() {
        let kinds = crate::staff::kinds(tx.db(), mid).await.map_err(internal)?;
        match kinds
            .iter()
            .find(|k| k.code == s.kind.trim() || k.name_ja == s.kind.trim())
        {
            Some(k) => kind_id = Some(k.id),
            None => errs.push(FieldError::new("kind", "err-choice").with("value", s.kind.clone())),
        }
    }
    let role = if s.role.trim().is_empty() {
        None
    } else {
        let r = role_from_text(&s.role);
        if r.is_none() {
            errs.push(FieldError::new("role", "err-choice").with("value", s.role.clone()));
        }
        r
    };
    let assignment_kind = assignment_kind_from_text(&s.assignment_kind);
    if assignment_kind.is_none() {
        errs.push(
            FieldError::new("assignment_kind", "err-choice")
                .with("value", s.assignment_kind.clone()),
        );
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    if let Some(u) = &unit
        && (u.id != person.org_unit_id || kind_id.is_some_and(|k| k != person.kind_id))
    {
        crate::staff::move_to(tx.db(), person.id, u.id, kind_id)
            .await
            .map_err(internal)?;
        tx.audit(
            mid,
            actor,
            Action::StaffUpdated,
            ("staff", person.id.to_string()),
            json!({"org_unit": [person.org_unit_id, u.id], "change_set": true}),
        )
        .await
        .map_err(internal)?;
        lines.push(Line {
            sheet: "staff",
            line: s.line,
            key: "cs-staff-moved",
            args: vec![("staff_no", no.clone()), ("unit", u.path.clone())],
        });
    }
    if let (Some(role), Some(kind)) = (role, assignment_kind) {
        let post_code = if s.role_unit_code.trim().is_empty() {
            unit.as_ref().map(|u| u.code.clone()).unwrap_or_default()
        } else {
            s.role_unit_code.clone()
        };
        let post = if role.post_levels() == [UnitLevel::Municipality] {
            org::all_units(tx.db(), mid)
                .await
                .map_err(internal)?
                .into_iter()
                .find(|u| u.parent_id.is_none())
        } else {
            live_unit(tx.db(), mid, &post_code)
                .await
                .map_err(internal)?
        };
        let Some(post) = post else {
            return Err(vec![
                FieldError::new("role_unit_code", "err-unit-unknown").with("value", post_code),
            ]);
        };
        let form = AssignForm {
            role: role.code().to_owned(),
            scope_unit_id: post.id.to_string(),
            staff: person.id.to_string(),
            kind: kind.code().to_owned(),
            valid_from: on.to_string(),
            valid_to: String::new(),
            note: String::new(),
        };
        match roles::assign_in(tx, cap, actor, &form, true).await {
            Ok(_) => lines.push(Line {
                sheet: "staff",
                line: s.line,
                key: "cs-role-assigned",
                args: vec![
                    ("staff_no", no),
                    ("role", role.code().to_owned()),
                    (
                        "unit",
                        if post.path.is_empty() {
                            post.name
                        } else {
                            post.path
                        },
                    ),
                ],
            }),
            Err(AppError::Invalid(e)) => return Err(e),
            Err(e) => return Err(internal(e)),
        }
    }
    Ok(())
}

/// A change set's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Scheduled,
    Applied,
    Cancelled,
    Failed,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Applied => "applied",
            Status::Cancelled => "cancelled",
            Status::Failed => "failed",
        }
    }
}

/// Saves an uploaded change set as a draft.
pub async fn create(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    title: &str,
    effective_on: &str,
    source: &str,
    payload: &Payload,
) -> AppResult<change_set::Model> {
    let mut p = Problems::default();
    let title = p.take(org::required_text("title", title, 200));
    let on = p
        .take(parse_date(effective_on).ok_or_else(|| {
            FieldError::new("effective_on", "err-date").with("value", effective_on)
        }));
    if payload.units.is_empty() && payload.staff.is_empty() {
        p.push(FieldError::new("file", "err-sheet-empty"));
    }
    p.into_result()?;
    let (Some(title), Some(on)) = (title, on) else {
        return Err(AppError::Internal("change set lost a field".to_owned()));
    };
    let mut tx = app.write().await?;
    let saved =
        change_set::ActiveModel {
            municipality_id: Set(cap.municipality_id),
            title: Set(title.clone()),
            effective_on: Set(on),
            status: Set(Status::Draft.code().to_owned()),
            source_name: Set(source.chars().take(200).collect()),
            payload: Set(
                serde_json::to_string(payload).map_err(|e| AppError::Internal(e.to_string()))?
            ),
            result: Set(String::new()),
            created_by: Set(actor.account_id),
            created_at: Set(Utc::now()),
            applied_at: Set(None),
            ..Default::default()
        }
        .insert(tx.db())
        .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::ChangeSetCreated,
        ("change_set", saved.id.to_string()),
        json!({"title": title, "effective_on": on.to_string(), "units": payload.units.len(), "staff": payload.staff.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn list(app: &App, cap: &OrgAdmin) -> AppResult<Vec<change_set::Model>> {
    Ok(change_set::Entity::find()
        .filter(change_set::Column::MunicipalityId.eq(cap.municipality_id))
        .order_by_desc(change_set::Column::Id)
        .all(app.store().conn())
        .await?)
}

pub async fn get(app: &App, cap: &OrgAdmin, id: i64) -> AppResult<(change_set::Model, Payload)> {
    let cs = change_set::Entity::find_by_id(id)
        .one(app.store().conn())
        .await?
        .filter(|c| c.municipality_id == cap.municipality_id)
        .ok_or(AppError::Forbidden)?;
    let payload = serde_json::from_str(&cs.payload)
        .map_err(|e| AppError::Internal(format!("stored change set: {e}")))?;
    Ok((cs, payload))
}

/// What applying would do now, without doing it.
pub async fn preview(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
) -> AppResult<Vec<Line>> {
    let (cs, payload) = get(app, cap, id).await?;
    let mut tx = app.write().await?;
    let result = apply_in(&mut tx, cap, actor, &payload, cs.effective_on).await;
    tx.rollback().await?;
    result
}

/// Applies a draft or scheduled set now. On failure nothing changes, and the set records why.
pub async fn apply(app: &App, cap: &OrgAdmin, actor: &AuditActor, id: i64) -> AppResult<Vec<Line>> {
    let (cs, payload) = get(app, cap, id).await?;
    if cs.status != Status::Draft.code() && cs.status != Status::Scheduled.code() {
        return Err(AppError::field("status", "err-change-set-state"));
    }
    let mut tx = app.write().await?;
    match apply_in(&mut tx, cap, actor, &payload, cs.effective_on).await {
        Ok(lines) => {
            set_status(
                tx.db(),
                cs.id,
                Status::Applied,
                &json!({"changes": lines.len()}),
            )
            .await?;
            tx.audit(
                cap.municipality_id,
                actor,
                Action::ChangeSetApplied,
                ("change_set", cs.id.to_string()),
                json!({"changes": lines.len()}),
            )
            .await?;
            tx.commit().await?;
            Ok(lines)
        }
        Err(e) => {
            tx.rollback().await?;
            if let AppError::Invalid(errs) = &e {
                let tx = app.write().await?;
                set_status(tx.db(), cs.id, Status::Failed, &json!({"errors": errs})).await?;
                tx.commit().await?;
            }
            Err(e)
        }
    }
}

async fn set_status(
    db: &impl ConnectionTrait,
    id: i64,
    status: Status,
    result: &serde_json::Value,
) -> AppResult<()> {
    let mut m = change_set::ActiveModel {
        id: Set(id),
        status: Set(status.code().to_owned()),
        result: Set(result.to_string()),
        ..Default::default()
    };
    if status == Status::Applied {
        m.applied_at = Set(Some(Utc::now()));
    }
    m.update(db).await?;
    Ok(())
}

/// Marks a draft to be applied on its date, or withdraws it.
pub async fn set_scheduled(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
    scheduled: bool,
) -> AppResult<()> {
    let (cs, _) = get(app, cap, id).await?;
    let allowed = if scheduled {
        cs.status == Status::Draft.code() || cs.status == Status::Failed.code()
    } else {
        cs.status != Status::Applied.code()
    };
    if !allowed {
        return Err(AppError::field("status", "err-change-set-state"));
    }
    let status = if scheduled {
        Status::Scheduled
    } else {
        Status::Cancelled
    };
    let mut tx = app.write().await?;
    set_status(tx.db(), cs.id, status, &json!({})).await?;
    let action = if scheduled {
        Action::ChangeSetScheduled
    } else {
        Action::ChangeSetCancelled
    };
    tx.audit(
        cap.municipality_id,
        actor,
        action,
        ("change_set", cs.id.to_string()),
        json!({"status": status.code()}),
    )
    .await?;
    tx.commit().await
}

/// Applies every scheduled set whose date has come. Run by the server every minute; returns how many ran.
pub async fn apply_due(app: &App) -> AppResult<usize> {
    let due = change_set::Entity::find()
        .filter(change_set::Column::Status.eq(Status::Scheduled.code()))
        .filter(change_set::Column::EffectiveOn.lte(today()))
        .order_by_asc(change_set::Column::EffectiveOn)
        .all(app.store().conn())
        .await?;
    let mut ran = 0;
    for cs in due {
        let cap = OrgAdmin {
            municipality_id: cs.municipality_id,
        };
        match apply(app, &cap, &AuditActor::system(), cs.id).await {
            Ok(_) => ran += 1,
            Err(e) => tracing::warn!(change_set = cs.id, "scheduled change set not applied: {e}"),
        }
    }
    Ok(ran)
}
