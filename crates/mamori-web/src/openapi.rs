//! The OpenAPI 3.1 document of `/api/v1`. Kept beside the routes it describes; a test checks that every API
//! route is documented here and nothing else is.

use axum::Json;
use serde_json::{Value, json};

/// (method, path) of every API route, as documented.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/org-units"),
    ("post", "/api/v1/org-units"),
    ("get", "/api/v1/org-units/{id}"),
    ("put", "/api/v1/org-units/{id}"),
    ("get", "/api/v1/facilities"),
    ("post", "/api/v1/facilities"),
    ("get", "/api/v1/facilities/{id}"),
    ("put", "/api/v1/facilities/{id}"),
    ("get", "/api/v1/staff"),
    ("post", "/api/v1/staff"),
    ("get", "/api/v1/staff/{id}"),
    ("put", "/api/v1/staff/{id}"),
    ("get", "/api/v1/role-assignments"),
    ("post", "/api/v1/role-assignments"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/findings"),
    ("get", "/api/v1/assets"),
    ("post", "/api/v1/assets"),
    ("get", "/api/v1/assets/{id}"),
    ("put", "/api/v1/assets/{id}"),
    ("post", "/api/v1/assets/{id}/retire"),
    ("get", "/api/v1/systems"),
    ("post", "/api/v1/systems"),
    ("get", "/api/v1/systems/{id}"),
    ("put", "/api/v1/systems/{id}"),
    ("post", "/api/v1/systems/{id}/retire"),
    ("get", "/api/v1/flows"),
    ("post", "/api/v1/flows"),
    ("get", "/api/v1/flows/{id}"),
    ("put", "/api/v1/flows/{id}"),
    ("post", "/api/v1/flows/{id}/retire"),
    ("get", "/api/v1/netcheck-runs"),
    ("get", "/api/v1/netcheck-runs/{id}"),
];

/// The fields of an asset as typed (form, sheet row or JSON): every value a string.
const ASSET_INPUT_FIELDS: &[(&str, &str)] = &[
    (
        "asset_no",
        "資産番号 (required; 1–40 characters, no spaces; full-width letters and digits are folded)",
    ),
    ("name", "資産名 (required, up to 200 characters)"),
    (
        "kind",
        "種別: information, paper, system, network, media, system_document, or the Japanese name (情報（電子）, 情報（紙）, 情報システム, ネットワーク, 電磁的記録媒体, システム関連文書)",
    ),
    (
        "owner_code",
        "所管課の組織コード; must be within the caller's reach",
    ),
    (
        "owner",
        "所管課 by path (総務部/情報政策課) or, when unique, by name; used when owner_code is empty, checked against it otherwise",
    ),
    ("manager_no", "管理者の職員番号"),
    (
        "manager",
        "管理者 by name, used when unique and manager_no is empty",
    ),
    (
        "confidentiality",
        "機密性: a level id of the municipality's scheme (mic-2024: 1, 2, 3C, 3B, 3A); 機密性3B and C3B are read too; empty = unclassified",
    ),
    (
        "integrity",
        "完全性: a level id (mic-2024: 1, 2); empty = unclassified",
    ),
    (
        "availability",
        "可用性: a level id (mic-2024: 1, 2); empty = unclassified",
    ),
    (
        "personal",
        "個人情報: ○/×, はい/いいえ, yes/no, true/false, on/1 (empty = no)",
    ),
    (
        "sensitive_personal",
        "要配慮個人情報 (as personal; implies personal)",
    ),
    (
        "specific_personal",
        "特定個人情報 (as personal; implies personal)",
    ),
    (
        "my_number_work",
        "事務区分: use (個人番号利用事務) or related (個人番号関係事務); needs specific_personal",
    ),
    ("pif_ref", "個人情報ファイル簿 reference"),
    ("pia_ref", "特定個人情報保護評価 reference"),
    (
        "zone",
        "三層区分: my_number, lgwan, internet, paper_or_none, or the Japanese name (マイナンバー利用事務系, LGWAN接続系, インターネット接続系, 紙/対象外)",
    ),
    ("storage", "保存場所"),
    ("media", "媒体"),
    ("retention", "保存期間"),
    ("disposal", "廃棄方法"),
    ("related_systems", "関連システム"),
    (
        "notes",
        "備考 (line breaks allowed, up to 2,000 characters)",
    ),
    (
        "next_review",
        "次回見直し日: 2026-05-19, 2026/05/19, 令和8年5月19日, R8.5.19",
    ),
];

/// The query parameters of `GET /api/v1/assets`.
const ASSET_FILTERS: &[(&str, &str, &str)] = &[
    (
        "q",
        "string",
        "Free text over 資産番号, 資産名, 保存場所, 媒体, 関連システム, 備考; one character (税) or more; hiragana matches katakana, full-width matches half-width; space-separated terms must all match",
    ),
    (
        "unit",
        "string",
        "A unit id or 組織コード: assets of that unit and every unit below it",
    ),
    ("kind", "string", "種別 (code or Japanese name)"),
    ("zone", "string", "三層区分 (code or Japanese name)"),
    (
        "c_min",
        "string",
        "機密性 at least this level (a level id of the scheme)",
    ),
    ("i_min", "string", "完全性 at least this level"),
    ("a_min", "string", "可用性 at least this level"),
    (
        "personal",
        "string",
        "personal (個人情報), sensitive (要配慮個人情報) or specific (特定個人情報)",
    ),
    (
        "overdue",
        "string",
        "on/1/true: only assets whose 次回見直し日 has passed",
    ),
    (
        "retired",
        "string",
        "on/1/true: include retired (廃止) assets",
    ),
    (
        "sort",
        "string",
        "asset_no (default), name, confidentiality (highest first), review (earliest first)",
    ),
    ("page", "integer", "Page, from 1"),
    ("per_page", "integer", "Rows a page, 1–200 (default 50)"),
];

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(method: &str, path: &str) -> Value {
    let (summary, body, response) = match (method, path) {
        ("get", "/api/v1/openapi.json") => ("This document", None, json!({"type": "object"})),
        ("get", "/api/v1/me") => (
            "The caller: account, staff record and statutory roles held today",
            None,
            json!({"type": "object"}),
        ),
        ("get", "/api/v1/org-units") => (
            "Org units within the caller's reach, in tree order",
            None,
            list_of("OrgUnit"),
        ),
        ("post", "/api/v1/org-units") => (
            "Create an org unit (情報政策課)",
            Some("UnitForm"),
            schema_ref("OrgUnit"),
        ),
        ("get", "/api/v1/org-units/{id}") => ("One org unit", None, schema_ref("OrgUnit")),
        ("put", "/api/v1/org-units/{id}") => (
            "Rename, move or re-classify an org unit",
            Some("UnitForm"),
            schema_ref("OrgUnit"),
        ),
        ("get", "/api/v1/facilities") => ("Facilities within reach", None, list_of("Facility")),
        ("post", "/api/v1/facilities") => (
            "Create a facility",
            Some("FacilityForm"),
            schema_ref("Facility"),
        ),
        ("get", "/api/v1/facilities/{id}") => ("One facility", None, schema_ref("Facility")),
        ("put", "/api/v1/facilities/{id}") => (
            "Update a facility",
            Some("FacilityForm"),
            schema_ref("Facility"),
        ),
        ("get", "/api/v1/staff") => (
            "Staff within reach: q, unit (and below), kind, all, sort, page, per_page (≤200)",
            None,
            list_of("Staff"),
        ),
        ("post", "/api/v1/staff") => (
            "Create a staff record",
            Some("StaffForm"),
            schema_ref("Staff"),
        ),
        ("get", "/api/v1/staff/{id}") => ("One staff record", None, schema_ref("Staff")),
        ("put", "/api/v1/staff/{id}") => (
            "Update a staff record",
            Some("StaffForm"),
            schema_ref("Staff"),
        ),
        ("get", "/api/v1/role-assignments") => (
            "Statutory role assignments in force on `on` (default today; `all` for history)",
            None,
            list_of("RoleAssignment"),
        ),
        ("post", "/api/v1/role-assignments") => (
            "Assign a statutory role",
            Some("AssignForm"),
            json!({"type": "object"}),
        ),
        ("get", "/api/v1/assets") => (
            "情報資産管理台帳: assets within the caller's reach, filtered, sorted and paginated on the server. The total is counted up to 1,000 (total_is_exact false beyond)",
            None,
            json!({"type": "object", "properties": {
                "rows": {"type": "array", "items": schema_ref("Asset")},
                "total": {"type": "integer"}, "total_is_exact": {"type": "boolean"},
                "page": {"type": "integer"}, "per_page": {"type": "integer"}}}),
        ),
        ("post", "/api/v1/assets") => (
            "Register an asset (情報セキュリティ責任者・管理者 in their units; 統括 and system administrators anywhere)",
            Some("AssetInput"),
            schema_ref("AssetDetail"),
        ),
        ("get", "/api/v1/assets/{id}") => (
            "One asset with its classification label, 取扱制限, the checks' findings and its history",
            None,
            schema_ref("AssetDetail"),
        ),
        ("put", "/api/v1/assets/{id}") => (
            "Replace an asset's fields, like the form: a field left out is emptied",
            Some("AssetInput"),
            schema_ref("AssetDetail"),
        ),
        ("post", "/api/v1/assets/{id}/retire") => (
            "Retire (廃止) an asset: it stays in the register with its history, out of the default list",
            Some("RetireInput"),
            schema_ref("AssetDetail"),
        ),
        ("get", "/api/v1/findings") => (
            "遵守状況: findings of the compliance checks (CISO, 統括, auditors, administrators): open and accepted by default; query clause (with its sub-clauses), check, severity (and above), state (current, open, accepted, resolved, all), unit (id or 組織コード, with its sub-units), page, per_page. Open first, most severe first",
            None,
            json!({"type": "object", "properties": {
                "rows": {"type": "array", "items": schema_ref("Finding")},
                "total": {"type": "integer", "description": "Counted up to 1,001"},
                "page": {"type": "integer"}, "per_page": {"type": "integer"}}}),
        ),
        ("get", "/api/v1/systems") => (
            "情報システム within the caller's reach (like assets: their units, or the systems they administer), by zone and name; retired=on includes retired ones",
            None,
            list_of("System"),
        ),
        ("post", "/api/v1/systems") => (
            "Register a system (情報セキュリティ責任者・管理者 in their units; 統括 and system administrators anywhere)",
            Some("SystemInput"),
            schema_ref("SystemDetail"),
        ),
        ("get", "/api/v1/systems/{id}") => (
            "One system with the checks' findings (6(3)①) and its history from the audit chain",
            None,
            schema_ref("SystemDetail"),
        ),
        ("put", "/api/v1/systems/{id}") => (
            "Replace a system's fields, like the form: a field left out is emptied",
            Some("SystemInput"),
            schema_ref("SystemDetail"),
        ),
        ("post", "/api/v1/systems/{id}/retire") => (
            "Retire (廃止) a system: it stays with its history; its flows are no longer checked",
            Some("RetireInput"),
            schema_ref("SystemDetail"),
        ),
        ("get", "/api/v1/flows") => (
            "Flows that leave or reach a system within the caller's reach; retired=on includes retired ones",
            None,
            list_of("Flow"),
        ),
        ("post", "/api/v1/flows") => (
            "Declare a flow (whoever may change the sending system)",
            Some("FlowInput"),
            schema_ref("FlowDetail"),
        ),
        ("get", "/api/v1/flows/{id}") => (
            "One flow with the checks' findings (6(3)①, 6(3)②) and its history",
            None,
            schema_ref("FlowDetail"),
        ),
        ("put", "/api/v1/flows/{id}") => (
            "Replace a flow's fields, like the form",
            Some("FlowInput"),
            schema_ref("FlowDetail"),
        ),
        ("post", "/api/v1/flows/{id}/retire") => (
            "Retire (廃止) a flow no longer used: it stays with its history and is no longer checked. No body",
            None,
            schema_ref("FlowDetail"),
        ),
        ("get", "/api/v1/netcheck-runs") => (
            "netcheck runs, newest first (CISO, 統括, auditors, administrators): who, when, the map version and every input's SHA-256, the verdict per zone pair",
            None,
            list_of("NetcheckRun"),
        ),
        ("get", "/api/v1/netcheck-runs/{id}") => (
            "One run with its whole report, as `mamori netcheck --format json` writes it",
            None,
            schema_ref("NetcheckRunDetail"),
        ),
        _ => (
            "Audit trail entries, newest first: action, actor, target_type, target_id, from, to, page, per_page",
            None,
            list_of("AuditEntry"),
        ),
    };
    let ok_status = if method == "post" && !path.ends_with("/retire") {
        "201"
    } else {
        "200"
    };
    let mut op = json!({
        "summary": summary,
        "responses": {
            ok_status: {"description": "OK", "content": {"application/json": {"schema": response}}},
            "401": {"description": "Not signed in", "content": {"application/problem+json": {"schema": schema_ref("Problem")}}},
            "403": {"description": "Not allowed, or outside the caller's scope", "content": {"application/problem+json": {"schema": schema_ref("Problem")}}},
            "422": {"description": "Invalid input; nothing was saved", "content": {"application/problem+json": {"schema": schema_ref("Problem")}}},
        },
    });
    if let (Some(body), Some(map)) = (body, op.as_object_mut()) {
        map.insert("requestBody".to_owned(), json!({"required": true, "content": {"application/json": {"schema": schema_ref(body)}}}));
    }
    if path.contains("{id}")
        && let Some(map) = op.as_object_mut()
    {
        map.insert(
            "parameters".to_owned(),
            json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]),
        );
    }
    if (method, path) == ("get", "/api/v1/assets")
        && let Some(map) = op.as_object_mut()
    {
        let params: Vec<Value> = ASSET_FILTERS
            .iter()
            .map(|(name, kind, description)| {
                json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": kind}})
            })
            .collect();
        map.insert("parameters".to_owned(), Value::Array(params));
    }
    op
}

fn list_of(name: &str) -> Value {
    json!({"type": "object", "properties": {"items": {"type": "array", "items": schema_ref(name)}}})
}

fn strings(names: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| ((*n).to_owned(), json!({"type": "string"})))
        .collect();
    json!({"type": "object", "properties": props})
}

pub fn spec() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path) in API_ROUTES {
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        if let Some(map) = entry.as_object_mut() {
            map.insert((*method).to_owned(), operation(method, path));
        }
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Mamori API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "情報セキュリティ基本方針の運用: organisation, staff, statutory roles, the information asset register, compliance findings, audit trail."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Personal API token (mamori admin token, or 自分のページ)"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "mamori_session"},
            },
            "schemas": {
                "OrgUnit": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}, "name_kana": {"type": "string"},
                    "level": {"enum": ["municipality", "organ", "bureau", "division", "section"]},
                    "organ_kind": {"type": ["string", "null"]}, "parent_id": {"type": ["integer", "null"]},
                    "path": {"type": "string"}, "in_scope": {"type": "boolean"},
                    "abolished_on": {"type": ["string", "null"], "format": "date"}, "successor_id": {"type": ["integer", "null"]}}},
                "Facility": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}, "address": {"type": "string"},
                    "org_unit_id": {"type": "integer"}, "connected_outside": {"type": "boolean"}, "note": {"type": "string"}}},
                "Staff": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "staff_no": {"type": "string"}, "name": {"type": "string"}, "name_kana": {"type": "string"},
                    "email": {"type": "string"}, "kind": {"type": "string"}, "org_unit_id": {"type": "integer"},
                    "org_unit_path": {"type": "string"}, "active": {"type": "boolean"}}},
                "RoleAssignment": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "role": {"enum": ["ciso", "chief_officer", "bureau_officer", "division_manager", "csirt_member", "auditor"]},
                    "kind": {"enum": ["primary", "concurrent", "acting"]}, "scope_unit_id": {"type": "integer"}, "staff_id": {"type": "integer"},
                    "valid_from": {"type": "string", "format": "date"}, "valid_to": {"type": ["string", "null"], "format": "date"}}},
                "Finding": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "check_id": {"type": "string"}, "clause": {"type": "string"},
                    "severity": {"enum": ["info", "low", "medium", "high", "critical"]},
                    "subject_kind": {"enum": ["asset", "org_unit", "staff", "account", "post", "system", "flow", "device", "municipality"]},
                    "subject_id": {"type": "integer"}, "subject_label": {"type": "string"},
                    "unit_id": {"type": ["integer", "null"]}, "unit_path": {"type": "string"},
                    "message": {"type": "object", "properties": {"ja": {"type": "string"}, "en": {"type": "string"}}},
                    "link": {"type": "string"},
                    "state": {"enum": ["open", "accepted", "resolved"]},
                    "until": {"type": "string", "format": "date", "description": "With state accepted: the exception's last day"},
                    "first_seen_at": {"type": "string", "format": "date-time"},
                    "opened_at": {"type": "string", "format": "date-time"},
                    "resolved_at": {"type": ["string", "null"], "format": "date-time"}}},
                "AuditEntry": {"type": "object", "properties": {
                    "seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                    "action": {"type": "string"}, "action_code": {"type": "integer"}, "target_type": {"type": "string"},
                    "target_id": {"type": "string"}, "summary": {"type": "object"}, "hash": {"type": "string"}, "prev_hash": {"type": "string"}}},
                "Asset": asset_schema(),
                "AssetDetail": asset_detail_schema(),
                "AssetInput": asset_input_schema(),
                "RetireInput": {"type": "object", "properties": {
                    "retired_on": {"type": "string", "description": "廃止日 (2026-05-19, 令和8年5月19日, R8.5.19); today when left out. The body may be left out."}}},
                "UnitForm": strings(&["code", "name", "name_kana", "level", "organ_kind", "parent_id", "in_scope"]),
                "FacilityForm": strings(&["code", "name", "address", "org_unit_id", "connected_outside", "note"]),
                "StaffForm": strings(&["staff_no", "name", "name_kana", "email", "kind", "org_unit_id", "active"]),
                "AssignForm": strings(&["role", "scope_unit_id", "staff", "kind", "valid_from", "valid_to", "note"]),
                "Problem": {"type": "object", "properties": {
                    "title": {"type": "string"}, "status": {"type": "integer"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {
                        "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}}},
            },
        },
    });
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in zone_schemas() {
            schemas.insert(name.to_owned(), schema);
        }
    }
    doc
}

/// The zone register's schemas (6(3)).
fn zone_schemas() -> Vec<(&'static str, Value)> {
    vec![
        ("System", system_schema()),
        (
            "SystemDetail",
            with_record_parts(
                system_schema(),
                &["system.created", "system.updated", "system.retired"],
            ),
        ),
        (
            "SystemInput",
            strings(&[
                "name",
                "zone",
                "owner_code",
                "admin_no",
                "hosting",
                "mfa",
                "no_export",
                "sanitiser",
                "notes",
            ]),
        ),
        ("Flow", flow_schema()),
        (
            "FlowDetail",
            with_record_parts(
                flow_schema(),
                &["flow.created", "flow.updated", "flow.retired"],
            ),
        ),
        (
            "FlowInput",
            strings(&[
                "from_system",
                "to_system",
                "protocol",
                "ports",
                "purpose",
                "via_system",
            ]),
        ),
        ("NetcheckRun", run_schema()),
        (
            "NetcheckRunDetail",
            json!({"allOf": [run_schema(), {"type": "object", "properties": {
                "report": {"type": "object", "description": "The netcheck JSON report: pairs (with counterexamples, hops and rules), established, pivots, dead_allowances, shadowed, warnings"}}}]}),
        ),
    ]
}

fn asset_input_schema() -> Value {
    let props: serde_json::Map<String, Value> = ASSET_INPUT_FIELDS
        .iter()
        .map(|(name, description)| {
            (
                (*name).to_owned(),
                json!({"type": "string", "description": description}),
            )
        })
        .collect();
    json!({"type": "object", "required": ["asset_no", "name", "kind"], "properties": props})
}

fn asset_schema() -> Value {
    let s = json!({"type": "string"});
    let ns = json!({"type": ["string", "null"]});
    let b = json!({"type": "boolean"});
    let ni = json!({"type": ["integer", "null"]});
    let nd = json!({"type": ["string", "null"], "format": "date"});
    json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "asset_no": s, "name": s,
        "kind": {"enum": ["information", "paper", "system", "network", "media", "system_document"]},
        "owner_unit_id": ni, "owner_code": s, "owner_path": s,
        "manager_staff_id": ni, "manager_no": s, "manager_name": s,
        "confidentiality": ns, "integrity": ns, "availability": ns,
        "label": {"type": "string", "description": "C3B-I2-A2; C? for an axis not classified"},
        "personal": b, "sensitive_personal": b, "specific_personal": b,
        "my_number_work": {"enum": ["use", "related", null]},
        "pif_ref": s, "pia_ref": s,
        "zone": {"enum": ["my_number", "lgwan", "internet", "paper_or_none", null]},
        "storage": s, "media": s, "retention": s, "disposal": s, "related_systems": s, "notes": s,
        "next_review": nd, "review_overdue": b, "retired": b, "retired_on": nd,
        "updated_at": {"type": "string", "format": "date-time"}}})
}

fn asset_detail_schema() -> Value {
    let mut v = asset_schema();
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        let text = json!({"type": "object", "properties": {"ja": {"type": "string"}, "en": {"type": "string"}}});
        props.insert(
            "label_ja".to_owned(),
            json!({"type": "string", "description": "機密性3B・完全性2・可用性2"}),
        );
        props.insert("label_en".to_owned(), json!({"type": "string"}));
        props.insert("restrictions".to_owned(), json!({"type": "array", "description": "取扱制限 the classification brings", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "axis": {"enum": ["confidentiality", "integrity", "availability"]},
            "min_level": {"type": "string"}, "text": text, "example": {"type": "boolean", "description": "an example text the city must adapt"}}}}));
        props.insert(
            "findings".to_owned(),
            json!({"type": "array", "items": {"type": "object", "properties": {
            "check_id": {"type": "string"}, "clause": {"type": "string"},
            "severity": {"enum": ["info", "low", "medium", "high", "critical"]},
            "subject": {"type": "object"}, "message": text, "link": {"type": "string"}}}}),
        );
        props.insert("history".to_owned(), json!({"type": "array", "description": "From the audit chain, newest first", "items": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
            "action": {"enum": ["asset.created", "asset.updated", "asset.retired"]},
            "summary": {"type": "object", "description": "created: {field: value}; changed: {field: [before, after]}"}}}}));
        props.insert("editable".to_owned(), json!({"type": "boolean"}));
    }
    v
}

fn system_schema() -> Value {
    let s = json!({"type": "string"});
    let b = json!({"type": "boolean"});
    let ni = json!({"type": ["integer", "null"]});
    json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "name": s,
        "zone": {"type": "string", "description": "my_number, lgwan, internet, or another zone id of the zone map"},
        "owner_unit_id": ni, "owner_code": s, "owner_path": s,
        "admin_staff_id": ni, "admin_no": s, "admin_name": s,
        "hosting": {"enum": ["on_premises", "lgwan_asp", "gov_cloud", "other_cloud"]},
        "mfa": b, "no_export": b, "sanitiser": b, "notes": s, "retired": b,
        "retired_on": {"type": ["string", "null"], "format": "date"},
        "updated_at": {"type": "string", "format": "date-time"}}})
}

fn flow_schema() -> Value {
    let s = json!({"type": "string"});
    json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "from_system_id": {"type": "integer"}, "from_name": s, "from_zone": s,
        "to_system_id": {"type": "integer"}, "to_name": s, "to_zone": s,
        "protocol": {"enum": ["tcp", "udp", "icmp", "any"]},
        "ports": {"type": "string", "description": "25,587,8000-8080; empty for every port"},
        "purpose": s, "via_system_id": {"type": ["integer", "null"]}, "via_name": s,
        "retired": {"type": "boolean"}}})
}

fn run_schema() -> Value {
    let s = json!({"type": "string"});
    json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "ran_at": {"type": "string", "format": "date-time"}, "ran_by": s,
        "map_version_id": {"type": "integer"}, "map_sha256": s, "violation": {"type": "boolean"},
        "violating_devices": {"type": "array", "items": s},
        "verdicts": {"type": "array", "items": {"type": "object", "properties": {
            "from": s, "to": s, "verdict": {"enum": ["isolated", "allowed_only", "violation"]}}}},
        "inputs": {"type": "array", "items": {"type": "object", "properties": {
            "device": s, "file_name": s, "config_id": {"type": "integer"}, "sha256": s}}}}})
}

/// A record's schema with the checks' findings, its history from the audit chain and whether the caller may
/// change it.
fn with_record_parts(mut v: Value, actions: &[&str]) -> Value {
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "findings".to_owned(),
            json!({"type": "array", "items": {"type": "object"}}),
        );
        props.insert("history".to_owned(), json!({"type": "array", "description": "From the audit chain, newest first", "items": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
            "action": {"enum": actions}, "summary": {"type": "object"}}}}));
        props.insert("editable".to_owned(), json!({"type": "boolean"}));
    }
    v
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
