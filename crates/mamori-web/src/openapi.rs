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
        _ => (
            "Audit trail entries, newest first: action, actor, target_type, target_id, from, to, page, per_page",
            None,
            list_of("AuditEntry"),
        ),
    };
    let ok_status = if method == "post" { "201" } else { "200" };
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
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Mamori API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "情報セキュリティ基本方針の運用: organisation, staff, statutory roles, audit trail."},
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
                "AuditEntry": {"type": "object", "properties": {
                    "seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                    "action": {"type": "string"}, "action_code": {"type": "integer"}, "target_type": {"type": "string"},
                    "target_id": {"type": "string"}, "summary": {"type": "object"}, "hash": {"type": "string"}, "prev_hash": {"type": "string"}}},
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
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
