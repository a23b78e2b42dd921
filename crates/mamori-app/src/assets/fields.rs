//! An asset as typed (form or sheet row), validated into the fields the register stores.

use std::collections::HashMap;

use chrono::NaiveDate;
use mamori_policy::{AssetKind, Axis, Lang, MyNumberWork, Scheme, Zone, parse_date};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

use crate::gram::FIELD_SEPARATOR;
use crate::{AppResult, FieldError, text};
use mamori_store::entity::{asset, org_unit, staff};

/// Longest 資産番号, in characters.
pub const MAX_ASSET_NO: usize = 40;
/// Longest 資産名.
pub const MAX_NAME: usize = 200;
/// Longest short text (保存場所, 媒体, 保存期間, 廃棄方法, 関連システム, references).
pub const MAX_TEXT: usize = 500;
/// Longest 備考 (line breaks allowed).
pub const MAX_NOTES: usize = 2_000;
/// How much of each field the search key keeps, in characters.
const MAX_KEY_FIELD: usize = 200;

/// An asset as typed. `None` is a column the sheet does not have: an existing asset keeps that value.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AssetInput {
    pub asset_no: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    /// 所管課コード.
    pub owner_code: Option<String>,
    /// 所管課: its path (部局/課) or, when unique, its name.
    pub owner: Option<String>,
    /// 管理者職員番号.
    pub manager_no: Option<String>,
    /// 管理者: a name, used when unique.
    pub manager: Option<String>,
    pub confidentiality: Option<String>,
    pub integrity: Option<String>,
    pub availability: Option<String>,
    pub personal: Option<String>,
    pub sensitive_personal: Option<String>,
    pub specific_personal: Option<String>,
    pub my_number_work: Option<String>,
    pub pif_ref: Option<String>,
    pub pia_ref: Option<String>,
    pub zone: Option<String>,
    pub storage: Option<String>,
    pub media: Option<String>,
    pub retention: Option<String>,
    pub disposal: Option<String>,
    pub related_systems: Option<String>,
    pub notes: Option<String>,
    pub next_review: Option<String>,
    pub retired_on: Option<String>,
}

impl AssetInput {
    /// A form sends every field; an unticked checkbox sends nothing, which means "no".
    pub fn from_form(mut self) -> Self {
        for field in [
            &mut self.asset_no,
            &mut self.name,
            &mut self.kind,
            &mut self.owner_code,
            &mut self.manager_no,
            &mut self.confidentiality,
            &mut self.integrity,
            &mut self.availability,
            &mut self.personal,
            &mut self.sensitive_personal,
            &mut self.specific_personal,
            &mut self.my_number_work,
            &mut self.pif_ref,
            &mut self.pia_ref,
            &mut self.zone,
            &mut self.storage,
            &mut self.media,
            &mut self.retention,
            &mut self.disposal,
            &mut self.related_systems,
            &mut self.notes,
            &mut self.next_review,
        ] {
            field.get_or_insert_with(String::new);
        }
        self
    }
}

/// A validated asset: what the register stores (keys are derived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFields {
    pub asset_no: String,
    pub name: String,
    pub kind: AssetKind,
    pub owner_unit_id: Option<i64>,
    pub manager_staff_id: Option<i64>,
    /// Level ids of the municipality's scheme (`3B`, `2` …).
    pub confidentiality: Option<String>,
    pub integrity: Option<String>,
    pub availability: Option<String>,
    pub personal: bool,
    pub sensitive_personal: bool,
    pub specific_personal: bool,
    pub my_number_work: Option<MyNumberWork>,
    pub pif_ref: String,
    pub pia_ref: String,
    pub zone: Option<Zone>,
    pub storage: String,
    pub media: String,
    pub retention: String,
    pub disposal: String,
    pub related_systems: String,
    pub notes: String,
    pub next_review: Option<NaiveDate>,
    pub retired_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
struct UnitRef {
    id: i64,
    tree_path: String,
    code: String,
    path: String,
    path_key: String,
    abolished: bool,
}

#[derive(Debug, Clone)]
struct StaffRef {
    id: i64,
    staff_no: String,
    name_key: String,
    active: bool,
}

/// The municipality's units and staff, for matching what a sheet names (組織コード, paths, names, 職員番号).
pub struct Lookup {
    units_by_id: HashMap<i64, UnitRef>,
    units_by_code: HashMap<String, UnitRef>,
    units_by_path: HashMap<String, UnitRef>,
    /// Every tail of two or more segments of every path (`市民部/市民課` of `市長部局/市民部/市民課`).
    units_by_tail: HashMap<String, Vec<UnitRef>>,
    units_by_name: HashMap<String, Vec<UnitRef>>,
    staff_by_no: HashMap<String, StaffRef>,
    staff_by_name: HashMap<String, Vec<StaffRef>>,
}

impl Lookup {
    pub async fn load(db: &impl ConnectionTrait, municipality_id: i64) -> AppResult<Lookup> {
        let units = org_unit::Entity::find()
            .filter(org_unit::Column::MunicipalityId.eq(municipality_id))
            .all(db)
            .await?;
        let mut lookup = Lookup {
            units_by_id: HashMap::new(),
            units_by_code: HashMap::new(),
            units_by_path: HashMap::new(),
            units_by_tail: HashMap::new(),
            units_by_name: HashMap::new(),
            staff_by_no: HashMap::new(),
            staff_by_name: HashMap::new(),
        };
        for u in units {
            if u.parent_id.is_none() {
                // The municipality itself owns no assets directly through a sheet.
                continue;
            }
            let r = UnitRef {
                id: u.id,
                tree_path: u.tree_path.clone(),
                code: u.code.clone(),
                path_key: path_key(&u.path),
                path: u.path.clone(),
                abolished: u.abolished_on.is_some(),
            };
            lookup.units_by_id.insert(u.id, r.clone());
            lookup.units_by_code.insert(u.code.clone(), r.clone());
            lookup.units_by_path.insert(r.path_key.clone(), r.clone());
            let segments: Vec<&str> = r.path_key.split('/').collect();
            for start in 1..segments.len().saturating_sub(1) {
                lookup
                    .units_by_tail
                    .entry(segments[start..].join("/"))
                    .or_default()
                    .push(r.clone());
            }
            lookup
                .units_by_name
                .entry(text::search_key(&u.name))
                .or_default()
                .push(r);
        }
        let people: Vec<(i64, String, String, bool)> = staff::Entity::find()
            .select_only()
            .columns([
                staff::Column::Id,
                staff::Column::StaffNo,
                staff::Column::Name,
                staff::Column::Active,
            ])
            .filter(staff::Column::MunicipalityId.eq(municipality_id))
            .into_tuple()
            .all(db)
            .await?;
        for (id, staff_no, name, active) in people {
            let r = StaffRef {
                id,
                staff_no: staff_no.clone(),
                name_key: text::search_key(&name),
                active,
            };
            lookup
                .staff_by_name
                .entry(r.name_key.clone())
                .or_default()
                .push(r.clone());
            lookup.staff_by_no.insert(staff_no, r);
        }
        Ok(lookup)
    }

    /// The `tree_path` of a unit, to decide whether it lies within an editor's reach.
    pub fn tree_path(&self, unit_id: i64) -> Option<&str> {
        self.units_by_id.get(&unit_id).map(|u| u.tree_path.as_str())
    }

    fn unit(
        &self,
        code: &str,
        owner: &str,
        current: Option<i64>,
    ) -> Result<Option<i64>, FieldError> {
        let code = code.trim();
        let owner = owner.trim();
        let found = if !code.is_empty() {
            let normalised = crate::org::parse_unit_code("owner_code", code)?;
            let unit = self.units_by_code.get(&normalised).ok_or_else(|| {
                FieldError::new("owner_code", "err-unit-unknown").with("value", code)
            })?;
            if !owner.is_empty()
                && path_key(owner) != unit.path_key
                && !unit.path_key.ends_with(&format!("/{}", path_key(owner)))
                && text::search_key(owner) != text::search_key(last_segment(&unit.path))
            {
                return Err(FieldError::new("owner", "err-owner-mismatch")
                    .with("value", owner)
                    .with("code", unit.code.clone())
                    .with("path", unit.path.clone()));
            }
            unit
        } else if !owner.is_empty() {
            let key = path_key(owner);
            if let Some(unit) = self.units_by_path.get(&key) {
                unit
            } else {
                let candidates = if key.contains('/') {
                    self.units_by_tail.get(&key)
                } else {
                    self.units_by_name.get(&key)
                };
                match candidates.map(Vec::as_slice) {
                    Some([unit]) => unit,
                    Some(many) if !many.is_empty() => {
                        let candidates: Vec<String> = many
                            .iter()
                            .map(|u| format!("{} {}", u.code, u.path))
                            .collect();
                        return Err(FieldError::new("owner", "err-unit-ambiguous")
                            .with("value", owner)
                            .with("candidates", candidates.join("、")));
                    }
                    _ => {
                        return Err(
                            FieldError::new("owner", "err-unit-unknown").with("value", owner)
                        );
                    }
                }
            }
        } else {
            return Ok(None);
        };
        if found.abolished && current != Some(found.id) {
            return Err(FieldError::new("owner", "err-unit-abolished")
                .with("value", format!("{} {}", found.code, found.path)));
        }
        Ok(Some(found.id))
    }

    fn manager(
        &self,
        number: &str,
        name: &str,
        current: Option<i64>,
    ) -> Result<Option<i64>, FieldError> {
        let number = number.trim();
        let name = name.trim();
        let found = if !number.is_empty() {
            let normalised = crate::staff::parse_staff_no("manager_no", number)?;
            let person = self.staff_by_no.get(&normalised).ok_or_else(|| {
                FieldError::new("manager_no", "err-staff-unknown").with("value", number)
            })?;
            if !name.is_empty() && text::search_key(name) != person.name_key {
                return Err(FieldError::new("manager", "err-manager-mismatch")
                    .with("value", name)
                    .with("staff_no", person.staff_no.clone()));
            }
            person
        } else if !name.is_empty() {
            let key = text::search_key(name);
            let candidates: Vec<&StaffRef> = self
                .staff_by_name
                .get(&key)
                .map(|v| {
                    let active: Vec<&StaffRef> = v.iter().filter(|s| s.active).collect();
                    if active.is_empty() {
                        v.iter().collect()
                    } else {
                        active
                    }
                })
                .unwrap_or_default();
            match candidates.as_slice() {
                [person] => *person,
                [] => {
                    return Err(FieldError::new("manager", "err-staff-unknown").with("value", name));
                }
                many => {
                    let numbers: Vec<String> = many.iter().map(|s| s.staff_no.clone()).collect();
                    return Err(FieldError::new("manager", "err-staff-ambiguous")
                        .with("value", name)
                        .with("candidates", numbers.join("、")));
                }
            }
        } else {
            return Ok(None);
        };
        if !found.active && current != Some(found.id) {
            return Err(
                FieldError::new("manager", "err-staff-left").with("value", found.staff_no.clone())
            );
        }
        Ok(Some(found.id))
    }
}

/// A unit path compared the way people write it: `総務部／情報政策課`, `総務部/情報政策課 ` and
/// `総務部 / 情報政策課` are one path.
fn path_key(path: &str) -> String {
    path.split(['/', '／', '＞', '>'])
        .map(text::search_key)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// ○ / × and their friends, as Japanese sheets mark a yes or a no.
pub fn parse_flag(field: &str, value: &str) -> Result<bool, FieldError> {
    let v = text::search_key(value);
    match v.as_str() {
        "" | "×" | "✕" | "-" | "ー" | "いいえ" | "イイエ" | "無" | "なし" | "ナシ" | "no" | "n"
        | "false" | "0" | "off" => Ok(false),
        "○" | "◯" | "〇" | "●" | "✓" | "✔" | "はい" | "ハイ" | "有" | "あり" | "アリ" | "yes"
        | "y" | "true" | "1" | "on" | "対象" => Ok(true),
        _ => Err(FieldError::new(field, "err-flag").with("value", value)),
    }
}

/// How a flag is written in a sheet: ○ for yes, nothing for no.
pub fn flag_text(v: bool) -> &'static str {
    if v { "○" } else { "" }
}

fn text_field(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    text::clean(value, max).map_err(|k| FieldError::new(field, k).with("max", max.to_string()))
}

/// 備考 may hold line breaks (Alt+Enter in Excel); other control characters are refused.
fn notes_field(value: &str) -> Result<String, FieldError> {
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed = normalised.trim();
    if trimmed.chars().count() > MAX_NOTES {
        return Err(FieldError::new("notes", "err-too-long").with("max", MAX_NOTES.to_string()));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new("notes", "err-control-chars"));
    }
    Ok(trimmed.to_owned())
}

fn date_field(field: &str, value: &str) -> Result<Option<NaiveDate>, FieldError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    parse_date(value)
        .map(Some)
        .ok_or_else(|| FieldError::new(field, "err-date").with("value", value))
}

/// 資産番号: NFKC, 1 to 40 characters, no spaces or control characters; kept as text.
pub fn parse_asset_no(value: &str) -> Result<String, FieldError> {
    use unicode_normalization::UnicodeNormalization;
    let v: String = value.trim().nfkc().collect();
    if v.is_empty() {
        return Err(FieldError::new("asset_no", "err-required"));
    }
    if v.chars().count() > MAX_ASSET_NO || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new("asset_no", "err-asset-no-format")
            .with("value", value)
            .with("max", MAX_ASSET_NO.to_string()));
    }
    Ok(v)
}

/// A sort key that orders numbers by value: `A-2` before `A-10`.
fn natural_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if !digits.is_empty() {
            let trimmed = digits.trim_start_matches('0');
            let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
            out.push_str(&format!("{:0>12}", trimmed));
            digits.clear();
        }
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn key_part(s: &str) -> String {
    text::search_key(s).chars().take(MAX_KEY_FIELD).collect()
}

impl AssetFields {
    /// Validates `input` over `base` (the asset as it is, for an update; absent columns keep its values).
    /// Every problem is reported, each naming its field.
    pub fn validate(
        scheme: &Scheme,
        lookup: &Lookup,
        input: &AssetInput,
        base: Option<&AssetFields>,
    ) -> Result<AssetFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut take = |r: Result<(), FieldError>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        let mut f = base.cloned().unwrap_or(AssetFields {
            asset_no: String::new(),
            name: String::new(),
            kind: AssetKind::Information,
            owner_unit_id: None,
            manager_staff_id: None,
            confidentiality: None,
            integrity: None,
            availability: None,
            personal: false,
            sensitive_personal: false,
            specific_personal: false,
            my_number_work: None,
            pif_ref: String::new(),
            pia_ref: String::new(),
            zone: None,
            storage: String::new(),
            media: String::new(),
            retention: String::new(),
            disposal: String::new(),
            related_systems: String::new(),
            notes: String::new(),
            next_review: None,
            retired_on: None,
        });
        let is_new = base.is_none();
        match (&input.asset_no, is_new) {
            (Some(v), _) => take(parse_asset_no(v).map(|v| f.asset_no = v)),
            (None, true) => take(Err(FieldError::new("asset_no", "err-required"))),
            (None, false) => {}
        }
        match (&input.name, is_new) {
            (Some(v), _) => take(text_field("name", v, MAX_NAME).and_then(|v| {
                if v.is_empty() {
                    Err(FieldError::new("name", "err-required"))
                } else {
                    f.name = v;
                    Ok(())
                }
            })),
            (None, true) => take(Err(FieldError::new("name", "err-required"))),
            (None, false) => {}
        }
        match (&input.kind, is_new) {
            (Some(v), _) if !v.trim().is_empty() => {
                take(AssetKind::parse(v).map(|k| f.kind = k).map_err(|_| {
                    FieldError::new("kind", "err-choice")
                        .with("value", v.as_str())
                        .with(
                            "choices",
                            AssetKind::ALL
                                .iter()
                                .map(|k| k.name(Lang::Ja))
                                .collect::<Vec<_>>()
                                .join("、"),
                        )
                }))
            }
            (Some(_), _) | (None, true) => take(Err(FieldError::new("kind", "err-required"))),
            (None, false) => {}
        }
        if input.owner_code.is_some() || input.owner.is_some() {
            let code = input.owner_code.as_deref().unwrap_or_default();
            let owner = input.owner.as_deref().unwrap_or_default();
            take(
                lookup
                    .unit(code, owner, f.owner_unit_id)
                    .map(|u| f.owner_unit_id = u),
            );
        }
        if input.manager_no.is_some() || input.manager.is_some() {
            let number = input.manager_no.as_deref().unwrap_or_default();
            let name = input.manager.as_deref().unwrap_or_default();
            take(
                lookup
                    .manager(number, name, f.manager_staff_id)
                    .map(|m| f.manager_staff_id = m),
            );
        }
        for (axis, field, value, slot) in [
            (
                Axis::Confidentiality,
                "confidentiality",
                &input.confidentiality,
                &mut f.confidentiality,
            ),
            (
                Axis::Integrity,
                "integrity",
                &input.integrity,
                &mut f.integrity,
            ),
            (
                Axis::Availability,
                "availability",
                &input.availability,
                &mut f.availability,
            ),
        ] {
            let Some(value) = value else { continue };
            if value.trim().is_empty() {
                *slot = None;
                continue;
            }
            match scheme.parse_level(axis, value) {
                Ok(level) => *slot = Some(scheme.level_id(level).to_owned()),
                Err(e) => take(Err(FieldError::new(field, "err-level")
                    .with("value", value.as_str())
                    .with("levels", e.levels().to_owned()))),
            }
        }
        for (field, value, slot) in [
            ("personal", &input.personal, &mut f.personal),
            (
                "sensitive_personal",
                &input.sensitive_personal,
                &mut f.sensitive_personal,
            ),
            (
                "specific_personal",
                &input.specific_personal,
                &mut f.specific_personal,
            ),
        ] {
            if let Some(v) = value {
                take(parse_flag(field, v).map(|b| *slot = b));
            }
        }
        // 2(10)–(11): 要配慮個人情報 and 特定個人情報 are 個人情報.
        if f.sensitive_personal || f.specific_personal {
            f.personal = true;
        }
        if let Some(v) = &input.my_number_work {
            if v.trim().is_empty() {
                f.my_number_work = None;
            } else {
                take(
                    MyNumberWork::parse(v)
                        .map(|w| f.my_number_work = Some(w))
                        .map_err(|_| {
                            FieldError::new("my_number_work", "err-choice")
                                .with("value", v.as_str())
                        }),
                );
            }
        }
        if f.my_number_work.is_some() && !f.specific_personal {
            take(Err(FieldError::new(
                "my_number_work",
                "err-work-without-specific",
            )));
        }
        if let Some(v) = &input.zone {
            if v.trim().is_empty() {
                f.zone = None;
            } else {
                take(Zone::parse(v).map(|z| f.zone = Some(z)).map_err(|_| {
                    FieldError::new("zone", "err-choice")
                        .with("value", v.as_str())
                        .with(
                            "choices",
                            Zone::ALL
                                .iter()
                                .map(|z| z.name(Lang::Ja))
                                .collect::<Vec<_>>()
                                .join("、"),
                        )
                }));
            }
        }
        for (field, value, slot) in [
            ("pif_ref", &input.pif_ref, &mut f.pif_ref),
            ("pia_ref", &input.pia_ref, &mut f.pia_ref),
            ("storage", &input.storage, &mut f.storage),
            ("media", &input.media, &mut f.media),
            ("retention", &input.retention, &mut f.retention),
            ("disposal", &input.disposal, &mut f.disposal),
            (
                "related_systems",
                &input.related_systems,
                &mut f.related_systems,
            ),
        ] {
            if let Some(v) = value {
                take(text_field(field, v, MAX_TEXT).map(|v| *slot = v));
            }
        }
        if let Some(v) = &input.notes {
            take(notes_field(v).map(|v| f.notes = v));
        }
        if let Some(v) = &input.next_review {
            take(date_field("next_review", v).map(|d| f.next_review = d));
        }
        if let Some(v) = &input.retired_on {
            take(date_field("retired_on", v).map(|d| f.retired_on = d));
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(errors)
        }
    }

    /// The fields of a stored asset.
    pub fn from_model(m: &asset::Model) -> AssetFields {
        AssetFields {
            asset_no: m.asset_no.clone(),
            name: m.name.clone(),
            kind: super::stored_kind(&m.kind).unwrap_or(AssetKind::Information),
            owner_unit_id: m.owner_unit_id,
            manager_staff_id: m.manager_staff_id,
            confidentiality: m.c_level.clone(),
            integrity: m.i_level.clone(),
            availability: m.a_level.clone(),
            personal: m.personal,
            sensitive_personal: m.sensitive_personal,
            specific_personal: m.specific_personal,
            my_number_work: m.my_number_work.as_deref().and_then(super::stored_work),
            pif_ref: m.pif_ref.clone(),
            pia_ref: m.pia_ref.clone(),
            zone: m.zone.as_deref().and_then(super::stored_zone),
            storage: m.storage.clone(),
            media: m.media.clone(),
            retention: m.retention.clone(),
            disposal: m.disposal.clone(),
            related_systems: m.related_systems.clone(),
            notes: m.notes.clone(),
            next_review: m.next_review,
            retired_on: m.retired_on,
        }
    }

    pub(crate) fn sort_key(&self) -> String {
        natural_key(&text::search_key(&self.asset_no))
    }

    pub(crate) fn name_key(&self) -> String {
        format!(
            "{}{FIELD_SEPARATOR}{}",
            text::search_key(&self.name),
            self.sort_key()
        )
    }

    pub(crate) fn search_key(&self) -> String {
        [
            &self.asset_no,
            &self.name,
            &self.storage,
            &self.media,
            &self.related_systems,
            &self.notes,
        ]
        .iter()
        .map(|v| key_part(v))
        .collect::<Vec<_>>()
        .join(&FIELD_SEPARATOR.to_string())
    }

    /// Each field as the audit trail records it (備考 is named, never copied: it may hold anything).
    fn audit_values(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("asset_no", self.asset_no.clone()),
            ("name", self.name.clone()),
            ("kind", self.kind.code().to_owned()),
            (
                "owner_unit",
                self.owner_unit_id
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            ),
            (
                "manager_staff",
                self.manager_staff_id
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            ),
            ("confidentiality", opt(&self.confidentiality)),
            ("integrity", opt(&self.integrity)),
            ("availability", opt(&self.availability)),
            ("personal", self.personal.to_string()),
            ("sensitive_personal", self.sensitive_personal.to_string()),
            ("specific_personal", self.specific_personal.to_string()),
            (
                "my_number_work",
                self.my_number_work
                    .map(|w| w.code().to_owned())
                    .unwrap_or_default(),
            ),
            ("pif_ref", self.pif_ref.clone()),
            ("pia_ref", self.pia_ref.clone()),
            (
                "zone",
                self.zone.map(|z| z.code().to_owned()).unwrap_or_default(),
            ),
            ("storage", self.storage.clone()),
            ("media", self.media.clone()),
            ("retention", self.retention.clone()),
            ("disposal", self.disposal.clone()),
            ("related_systems", self.related_systems.clone()),
            (
                "next_review",
                self.next_review.map(|d| d.to_string()).unwrap_or_default(),
            ),
            (
                "retired_on",
                self.retired_on.map(|d| d.to_string()).unwrap_or_default(),
            ),
        ]
    }

    /// What an audit entry says of a new asset.
    pub(crate) fn summary(&self) -> serde_json::Value {
        let mut map: serde_json::Map<String, serde_json::Value> = self
            .audit_values()
            .into_iter()
            .filter(|(_, v)| !v.is_empty() && v != "false")
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        if !self.notes.is_empty() {
            map.insert("notes_set".to_owned(), json!(true));
        }
        serde_json::Value::Object(map)
    }

    /// `{"field": [before, after]}` for what changed.
    pub(crate) fn changes_to(&self, after: &AssetFields) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for ((k, before), (_, now)) in self.audit_values().into_iter().zip(after.audit_values()) {
            if before != now {
                map.insert(k.to_owned(), json!([before, now]));
            }
        }
        if self.notes != after.notes {
            map.insert("notes_changed".to_owned(), json!(true));
        }
        map.insert("asset_no_now".to_owned(), json!(after.asset_no));
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_asset_numbers_sort_by_value() {
        assert!(natural_key("a-2") < natural_key("a-10"));
        assert!(natural_key("a-0010") == natural_key("a-10"));
        assert!(natural_key("b-1") > natural_key("a-99"));
    }

    #[test]
    fn flags_read_the_marks_japanese_sheets_use() {
        for yes in ["○", "◯", "〇", "はい", "有", "yes", "TRUE", "1", "✓"] {
            assert_eq!(parse_flag("f", yes), Ok(true), "{yes}");
        }
        for no in ["", " ", "×", "いいえ", "無", "no", "0", "-"] {
            assert_eq!(parse_flag("f", no), Ok(false), "{no}");
        }
        assert_eq!(
            parse_flag("f", "たぶん").map_err(|e| e.key),
            Err("err-flag")
        );
    }

    #[test]
    fn unit_paths_compare_the_way_people_write_them() {
        assert_eq!(
            path_key("総務部／情報政策課 "),
            path_key("総務部 / 情報政策課")
        );
        assert_ne!(path_key("総務部/情報政策課"), path_key("総務部/契約課"));
    }

    #[test]
    fn asset_numbers_are_folded_and_limited() {
        assert_eq!(parse_asset_no(" ＡＢ－００１ "), Ok("AB-001".to_owned()));
        assert_eq!(parse_asset_no("").map_err(|e| e.key), Err("err-required"));
        assert_eq!(
            parse_asset_no("A 1").map_err(|e| e.key),
            Err("err-asset-no-format")
        );
        assert_eq!(
            parse_asset_no(&"9".repeat(41)).map_err(|e| e.key),
            Err("err-asset-no-format")
        );
    }
}
