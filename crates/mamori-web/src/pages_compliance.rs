//! 6(7) 遵守状況の確認 for the CISO and the 委員会: the overview (the policy as a tree of clauses with the state of
//! each, the heat map of units against clause areas, the trend), the findings list and its export, 例外措置, and
//! the city's own policy text in versions (8 見直し). `mamori-app` decides and counts; this module renders.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;

use crate::chart::{
    self, HeatCell, HeatColumn, HeatMap, HeatRow, SeriesKind, Trend, TrendPoint, TrendSeries,
};
use crate::ctx::{AppState, Ctx};
use crate::i18n::Tr;
use crate::page::{Cell, Field, FormPage, Page, TablePage, pagination, urlencode};
use crate::pages_changes::MAX_UPLOAD_BYTES;
use crate::{render, render_checked};
use mamori_app::access::ComplianceReader;
use mamori_app::compliance::{
    self, Counts, ExceptionForm, FindingQuery, FindingRow, FindingState, StateFilter, UnitNode,
};
use mamori_app::{AppError, FieldError, policy_doc, today};
use mamori_policy::check::{Severity, all_checks, check_by_id};
use mamori_policy::clause::{ClauseCatalog, ClauseId};
use mamori_policy::policy_text::ChangeKind;
use mamori_policy::{Nendo, UnitLevel};

/// Brings the findings up to date when anything changed since they were last evaluated, for a reader.
pub(crate) async fn fresh_for(state: &AppState, ctx: &Ctx) -> Result<ComplianceReader, AppError> {
    let cap = ctx.actor.compliance_reader().ok_or(AppError::Forbidden)?;
    compliance::ensure_fresh(&state.app, cap.municipality_id).await?;
    Ok(cap)
}

fn severity_name(tr: &Tr, s: Severity) -> String {
    s.name(tr.lang.policy()).to_owned()
}

fn state_name(tr: &Tr, s: FindingState) -> String {
    match s {
        FindingState::Open => tr.get("finding-state-open"),
        FindingState::Accepted(until) => {
            tr.with("finding-state-accepted", "until", &tr.date(&until))
        }
        FindingState::Resolved => tr.get("finding-state-resolved"),
    }
}

// ---- the overview ----

/// A clause of the tree as the page shows it.
struct ClauseLine {
    id: String,
    depth: usize,
    title: String,
    /// `clear`, `open`, `accepted`, `unmeasured`.
    state: &'static str,
    state_label: String,
    /// Open findings by severity, most severe first (empty strings for zero).
    counts: Vec<String>,
    accepted: String,
    href: String,
    checks: Vec<(String, String, String)>,
    /// The city's own text of this clause, from its latest imported version.
    city_text: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct OverviewPage {
    page: Page,
    tr: Tr,
    summary: String,
    evaluated: String,
    severity_headers: Vec<String>,
    totals: Vec<String>,
    total_accepted: String,
    clauses: Vec<ClauseLine>,
    heat_map: String,
    trend: String,
    actions: Vec<(String, String)>,
    policy_note: String,
}

/// Counts of the stored findings whose clause lies within `id`.
fn counts_within(by_clause: &BTreeMap<String, Counts>, id: ClauseId) -> Counts {
    let mut total = Counts::default();
    for (clause, counts) in by_clause {
        if ClauseId::parse(clause).is_ok_and(|c| c.is_within(id)) {
            total.add(counts);
        }
    }
    total
}

fn count_cells(c: &Counts) -> Vec<String> {
    Severity::ALL
        .into_iter()
        .rev()
        .map(|s| match c.open_at(s) {
            0 => String::new(),
            n => n.to_string(),
        })
        .collect()
}

/// `?bureau=ID` opens that 部局's 課 in the heat map.
#[derive(serde::Deserialize, Default)]
pub struct OverviewQuery {
    #[serde(default)]
    bureau: Option<i64>,
}

pub async fn overview(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let cap = match fresh_for(&state, &ctx).await {
        Ok(c) => c,
        Err(e) => return ctx.fail(e),
    };
    let tr = &ctx.tr;
    let app = &state.app;
    let loaded = async {
        let summary = compliance::summary(app, &cap).await?;
        let units = compliance::unit_counts(app, &cap).await?;
        let nodes = compliance::unit_nodes(app, &cap).await?;
        let since = today() - chrono::Days::new(365);
        let trend = compliance::trend(app, &cap, since).await?;
        let evaluated = compliance::evaluated_at(app, cap.municipality_id).await?;
        let city = policy_doc::latest(app, &cap).await?;
        Ok::<_, AppError>((summary, units, nodes, trend, evaluated, city))
    };
    let (summary, units, nodes, trend, evaluated, city) = match loaded.await {
        Ok(v) => v,
        Err(e) => return ctx.fail(e),
    };
    let catalog = match ClauseCatalog::builtin() {
        Ok(c) => c,
        Err(e) => return ctx.fail(AppError::Internal(e.to_string())),
    };
    let lang = tr.lang.policy();
    // The city's own clause for each catalogue clause, found by heading (cities number differently).
    let matched = city
        .as_ref()
        .map(|v| catalog.match_city_text(&v.text))
        .unwrap_or_default();
    let clauses = catalog
        .clauses()
        .iter()
        .map(|clause| {
            let checks = catalog.checks_for(clause.id);
            let counts = counts_within(&summary.by_clause, clause.id);
            let (state, key) = if checks.is_empty() {
                ("unmeasured", "clause-state-unmeasured")
            } else if counts.open_total() > 0 {
                ("open", "clause-state-open")
            } else if counts.accepted > 0 {
                ("accepted", "clause-state-accepted")
            } else {
                ("clear", "clause-state-clear")
            };
            let id = clause.id.to_string();
            ClauseLine {
                depth: std::iter::successors(clause.id.parent(), |p| p.parent()).count(),
                title: clause.title.get(lang).to_owned(),
                state,
                state_label: tr.get(key),
                counts: count_cells(&counts),
                accepted: match counts.accepted {
                    0 => String::new(),
                    n => n.to_string(),
                },
                href: format!("/compliance/findings?clause={}", urlencode(&id)),
                checks: checks
                    .iter()
                    .map(|c| {
                        (
                            c.id.to_owned(),
                            c.title.get(lang).to_owned(),
                            severity_name(tr, c.severity),
                        )
                    })
                    .collect(),
                city_text: city.as_ref().and_then(|v| {
                    let c = v.text.clauses.get(*matched.get(&clause.id)?)?;
                    Some((format!("{} {}", c.id, c.heading), c.body.clone()))
                }),
                id,
            }
        })
        .collect();
    let heat_map = heat_map_svg(tr, catalog, &units, &nodes, q.bureau);
    let trend = trend_svg(tr, &trend);
    let actions = vec![
        (
            "/compliance/findings".to_owned(),
            tr.get("compliance-findings"),
        ),
        (
            "/compliance/exceptions".to_owned(),
            tr.get("compliance-exceptions"),
        ),
        (
            "/compliance/findings/export".to_owned(),
            tr.get("compliance-export"),
        ),
        ("/policy".to_owned(), tr.get("policy-title")),
    ];
    let page = OverviewPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            "/compliance",
            tr.get("compliance-title"),
        ),
        summary: tr.args(
            "compliance-summary",
            &[
                ("open", summary.total.open_total().to_string()),
                ("accepted", summary.total.accepted.to_string()),
            ],
        ),
        evaluated: evaluated
            .map(|at| tr.with("compliance-evaluated", "at", &tr.time(&at)))
            .unwrap_or_default(),
        severity_headers: Severity::ALL
            .into_iter()
            .rev()
            .map(|s| severity_name(tr, s))
            .collect(),
        totals: count_cells(&summary.total),
        total_accepted: summary.total.accepted.to_string(),
        clauses,
        heat_map,
        trend,
        actions,
        policy_note: match &city {
            Some(v) => tr.args(
                "compliance-city-text",
                &[
                    ("title", v.row.title.clone()),
                    ("revised", v.row.revised_label.clone()),
                ],
            ),
            None => tr.get("compliance-no-city-text"),
        },
        tr: tr.clone(),
    };
    render(&page)
}

/// The heat map: 部局 rows against the clause areas the checks measure; under the 部局 `expanded`, its 課 that
/// have open findings. A 部局's label opens it, so the map stays readable with a thousand 課.
fn heat_map_svg(
    tr: &Tr,
    catalog: &ClauseCatalog,
    counts: &[compliance::UnitCounts],
    nodes: &[UnitNode],
    expanded: Option<i64>,
) -> String {
    let lang = tr.lang.policy();
    let mut areas: Vec<ClauseId> = all_checks()
        .iter()
        .filter_map(|c| ClauseId::parse(c.clause).ok())
        .collect();
    areas.sort();
    areas.dedup();
    let titles: Vec<(String, String)> = areas
        .iter()
        .map(|id| {
            let title = catalog
                .get(*id)
                .map(|c| c.title.get(lang).to_owned())
                .unwrap_or_default();
            (format!("{id} {title}"), title)
        })
        .collect();
    let by_id: HashMap<i64, &UnitNode> = nodes.iter().map(|n| (n.id, n)).collect();
    let has_bureau_child: std::collections::HashSet<i64> = nodes
        .iter()
        .filter(|n| n.level == UnitLevel::Bureau)
        .filter_map(|n| n.parent_id)
        .collect();
    let is_bureau = |n: &UnitNode| {
        n.level == UnitLevel::Bureau
            || (n.level == UnitLevel::Organ && !has_bureau_child.contains(&n.id))
    };
    // The 部局 and the 課 a unit belongs to (itself when it is one).
    let place = |unit: i64| -> (Option<i64>, Option<i64>) {
        let mut bureau = None;
        let mut division = None;
        let mut current = by_id.get(&unit).copied();
        for _ in 0..64 {
            let Some(n) = current else { break };
            if division.is_none() && n.level == UnitLevel::Division {
                division = Some(n.id);
            }
            if bureau.is_none() && is_bureau(n) {
                bureau = Some(n.id);
            }
            current = n.parent_id.and_then(|p| by_id.get(&p).copied());
        }
        (bureau, division)
    };
    // Cells: (row unit, area index) → counts; `None` row for findings about no unit or the city as a whole.
    let mut cells: HashMap<(Option<i64>, usize), Counts> = HashMap::new();
    let mut divisions_of: BTreeMap<Option<i64>, Vec<i64>> = BTreeMap::new();
    for c in counts {
        let Some(col) = ClauseId::parse(&c.clause)
            .ok()
            .and_then(|id| areas.iter().position(|a| id.is_within(*a)))
        else {
            continue;
        };
        let (bureau, division) = c.unit_id.map(place).unwrap_or((None, None));
        cells.entry((bureau, col)).or_default().add(&c.counts);
        if let Some(d) = division
            && d != bureau.unwrap_or_default()
        {
            cells.entry((Some(d), col)).or_default().add(&c.counts);
            let list = divisions_of.entry(bureau).or_default();
            if !list.contains(&d) {
                list.push(d);
            }
        }
    }
    let cell = |row: Option<i64>, col: usize| {
        let counts = cells.get(&(row, col)).copied().unwrap_or_default();
        HeatCell {
            open: counts.open_total(),
            worst: counts.worst(),
            link: Some(format!(
                "/compliance/findings?clause={}{}",
                urlencode(&areas[col].to_string()),
                row.map(|u| format!("&unit={u}")).unwrap_or_default()
            )),
        }
    };
    let mut labels: Vec<(Option<i64>, u8, String)> = Vec::new();
    let whole = tr.get("compliance-heat-whole");
    labels.push((None, 0, whole));
    let mut bureaus: Vec<&UnitNode> = nodes.iter().filter(|n| is_bureau(n)).collect();
    bureaus.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    for b in bureaus {
        labels.push((Some(b.id), 0, b.name.clone()));
        if expanded != Some(b.id) {
            continue;
        }
        let mut divisions: Vec<&UnitNode> = divisions_of
            .get(&Some(b.id))
            .map(|ids| ids.iter().filter_map(|d| by_id.get(d).copied()).collect())
            .unwrap_or_default();
        divisions.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        for d in divisions {
            labels.push((Some(d.id), 1, d.name.clone()));
        }
    }
    let rows = labels
        .iter()
        .map(|(unit, depth, label)| HeatRow {
            label,
            depth: *depth,
            cells: (0..areas.len()).map(|col| cell(*unit, col)).collect(),
            link: unit.map(|u| {
                if *depth == 0 && expanded != Some(u) {
                    format!("/compliance?bureau={u}#heat-map")
                } else {
                    format!("/compliance/findings?unit={u}")
                }
            }),
        })
        .collect();
    let title = tr.get("compliance-heat-title");
    let desc = tr.get("compliance-heat-desc");
    let no_data = tr.get("compliance-no-data");
    let caption = tr.get("compliance-heat-legend");
    let critical = severity_name(tr, Severity::Critical);
    let count_text = |n: u32| tr.with("compliance-count", "n", &n.to_string());
    chart::heat_map(&HeatMap {
        title: &title,
        desc: &desc,
        columns: titles
            .iter()
            .map(|(label, title)| HeatColumn { label, title })
            .collect(),
        rows,
        empty_label: "",
        no_data: &no_data,
        legend_caption: &caption,
        critical_label: &critical,
        count_text: &count_text,
    })
}

/// The trend of the last twelve months: open findings by severity and the accepted ones.
fn trend_svg(tr: &Tr, days: &[compliance::DailyCounts]) -> String {
    let lang = tr.lang.policy();
    let months: Vec<String> = (1..=12)
        .map(|m| tr.with("month", "m", &m.to_string()))
        .collect();
    let month_refs: [&str; 12] = std::array::from_fn(|i| months[i].as_str());
    let accepted = tr.get("finding-accepted-series");
    let order = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    let series = [
        TrendSeries {
            label: order[0].name(lang),
            kind: SeriesKind::Open(order[0]),
        },
        TrendSeries {
            label: order[1].name(lang),
            kind: SeriesKind::Open(order[1]),
        },
        TrendSeries {
            label: order[2].name(lang),
            kind: SeriesKind::Open(order[2]),
        },
        TrendSeries {
            label: order[3].name(lang),
            kind: SeriesKind::Open(order[3]),
        },
        TrendSeries {
            label: &accepted,
            kind: SeriesKind::Accepted,
        },
    ];
    let points = days
        .iter()
        .map(|d| TrendPoint {
            day: d.day,
            counts: [
                d.counts.open_at(order[0]),
                d.counts.open_at(order[1]),
                d.counts.open_at(order[2]),
                d.counts.open_at(order[3]) + d.counts.open_at(Severity::Info),
                d.counts.accepted,
            ],
        })
        .collect();
    let title = tr.get("compliance-trend-title");
    let desc = tr.get("compliance-trend-desc");
    let no_data = tr.get("compliance-no-trend");
    let fiscal = |d: NaiveDate| {
        let n = Nendo::of(d);
        match tr.lang {
            crate::i18n::Lang::Ja => n.to_japanese(),
            crate::i18n::Lang::En => n.to_english(),
        }
    };
    chart::trend(&Trend {
        title: &title,
        desc: &desc,
        series,
        points,
        today: today(),
        months: month_refs,
        fiscal_year_label: &fiscal,
        no_data: &no_data,
    })
}

// ---- the findings ----

/// The list's filters as the form sends them.
#[derive(serde::Deserialize, Default, Clone)]
pub struct FindingsQuery {
    #[serde(default)]
    clause: String,
    #[serde(default)]
    check: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    page: String,
    /// API only: rows a page (at most 200).
    #[serde(default)]
    per_page: String,
}

impl FindingsQuery {
    fn query_string(&self) -> String {
        [
            ("clause", &self.clause),
            ("check", &self.check),
            ("severity", &self.severity),
            ("state", &self.state),
            ("unit", &self.unit),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }

    /// The typed query (with the unit already resolved from its code), or the problems with the filters.
    fn parse(&self, unit: Option<i64>) -> Result<FindingQuery, Vec<FieldError>> {
        let mut errors = Vec::new();
        let clause = self.clause.trim();
        let clause = if clause.is_empty() {
            None
        } else {
            match ClauseId::parse(clause) {
                Ok(id) => Some(id.to_string()),
                Err(_) => {
                    errors.push(FieldError::new("clause", "err-clause").with("value", clause));
                    None
                }
            }
        };
        let severity = match self.severity.trim() {
            "" => None,
            s => match Severity::parse(s) {
                Ok(s) => Some(s),
                Err(_) => {
                    errors.push(FieldError::new("severity", "err-choice"));
                    None
                }
            },
        };
        let state = match self.state.trim() {
            "" => StateFilter::Current,
            s => match StateFilter::ALL.into_iter().find(|f| f.code() == s) {
                Some(f) => f,
                None => {
                    errors.push(FieldError::new("state", "err-choice"));
                    StateFilter::Current
                }
            },
        };
        let check = match self.check.trim() {
            "" => None,
            c if check_by_id(c).is_some() => Some(c.to_owned()),
            _ => {
                errors.push(FieldError::new("check", "err-choice"));
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(FindingQuery {
            clause,
            check,
            severity,
            state,
            unit,
            page: self.page.trim().parse().ok(),
            per_page: self.per_page.trim().parse().ok(),
        })
    }
}

/// The filters typed, the unit found by its code (or id).
pub(crate) async fn parse_query(
    state: &AppState,
    ctx: &Ctx,
    raw: &FindingsQuery,
) -> mamori_app::AppResult<Result<FindingQuery, Vec<FieldError>>> {
    Ok(
        match crate::pages_assets::resolve_unit(state, ctx, &raw.unit).await? {
            Ok(unit) => raw.parse(unit.map(|u| u.id)),
            Err(e) => Err(vec![e]),
        },
    )
}

fn filter_fields(tr: &Tr, raw: &FindingsQuery) -> Vec<Field> {
    let lang = tr.lang.policy();
    let mut severities = vec![(String::new(), tr.get("filter-any"))];
    severities.extend(Severity::ALL.into_iter().rev().map(|s| {
        (
            s.code().to_owned(),
            tr.with("severity-at-least", "severity", s.name(lang)),
        )
    }));
    let states = StateFilter::ALL
        .into_iter()
        .map(|s| {
            (
                s.code().to_owned(),
                tr.get(&format!("finding-filter-{}", s.code())),
            )
        })
        .collect();
    let mut checks = vec![(String::new(), tr.get("filter-any"))];
    checks.extend(all_checks().iter().map(|c| {
        (
            c.id.to_owned(),
            format!("{} {}", c.clause, c.title.get(lang)),
        )
    }));
    let field = |name: &str, label: &str, kind: &'static str, value: &str| Field {
        name: name.to_owned(),
        label: tr.get(label),
        kind,
        value: value.to_owned(),
        ..Field::default()
    };
    vec![
        field("clause", "finding-clause", "text", &raw.clause),
        Field {
            options: checks,
            ..field("check", "finding-check", "select", &raw.check)
        },
        Field {
            options: severities,
            ..field("severity", "finding-severity", "select", &raw.severity)
        },
        Field {
            options: states,
            ..field(
                "state",
                "finding-state",
                "select",
                if raw.state.is_empty() {
                    "current"
                } else {
                    &raw.state
                },
            )
        },
        field("unit", "field-owner-code-below", "text", &raw.unit),
    ]
}

fn finding_row(tr: &Tr, f: &FindingRow, may_accept: bool) -> Vec<Cell> {
    let lang = tr.lang.policy();
    let state = match f.state {
        FindingState::Open if may_accept => Cell::link(
            state_name(tr, f.state),
            format!("/compliance/exceptions/new?finding={}", f.id),
        ),
        s => Cell::text(state_name(tr, s)),
    };
    vec![
        Cell::text(severity_name(tr, f.severity)).class(severity_class(f.severity)),
        Cell::link(
            f.clause.clone(),
            format!("/compliance/findings?clause={}", urlencode(&f.clause)),
        ),
        Cell::text(
            check_by_id(&f.check_id)
                .map_or_else(|| f.check_id.clone(), |c| c.title.get(lang).to_owned()),
        ),
        Cell::link(
            format!("{}: {}", f.subject_kind.name(lang), f.subject_label),
            f.link.clone(),
        ),
        Cell::text(f.unit_path.clone()),
        Cell::text(f.message.get(lang)),
        state,
        Cell::text(tr.time(&f.first_seen_at)),
    ]
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "severity-critical",
        Severity::High => "severity-high",
        Severity::Medium => "severity-medium",
        Severity::Low => "severity-low",
        Severity::Info => "severity-info",
    }
}

pub async fn findings(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(raw): Query<FindingsQuery>,
) -> Response {
    let cap = match fresh_for(&state, &ctx).await {
        Ok(c) => c,
        Err(e) => return ctx.fail(e),
    };
    let tr = &ctx.tr;
    let parsed = match parse_query(&state, &ctx, &raw).await {
        Ok(p) => p,
        Err(e) => return ctx.fail(e),
    };
    let (list, errors) = match parsed {
        Ok(q) => match compliance::findings(&state.app, &cap, &q).await {
            Ok(list) => (Some(list), Vec::new()),
            Err(AppError::NotFound) => (None, vec![FieldError::new("unit", "err-choice")]),
            Err(e) => return ctx.fail(e),
        },
        Err(errors) => (None, errors),
    };
    let may_accept = ctx.actor.exception_recorder().is_some();
    let rows = list
        .as_ref()
        .map(|l| {
            l.rows
                .iter()
                .map(|f| finding_row(tr, f, may_accept))
                .collect()
        })
        .unwrap_or_default();
    let mut page = TablePage::new(
        tr,
        Page::new(
            tr,
            Some(&ctx.actor),
            "/compliance/findings",
            tr.get("compliance-findings"),
        ),
        vec![
            tr.get("finding-severity"),
            tr.get("finding-clause"),
            tr.get("finding-check"),
            tr.get("finding-subject"),
            tr.get("finding-unit"),
            tr.get("finding-message"),
            tr.get("finding-state"),
            tr.get("finding-first-seen"),
        ],
        rows,
    );
    page.filters = filter_fields(tr, &raw);
    page.errors = errors
        .iter()
        .map(|e| crate::error::field_message(tr, e))
        .collect();
    let filters = raw.query_string();
    if let Some(list) = &list {
        let key = if list.total > mamori_app::paging::COUNT_LIMIT {
            "list-count-over"
        } else {
            "list-count"
        };
        page.summary = Some(tr.with(
            key,
            "count",
            &list.total.min(mamori_app::paging::COUNT_LIMIT).to_string(),
        ));
        page.pages = pagination(
            "/compliance/findings",
            &filters,
            list.page,
            list.per_page,
            list.total,
        );
    }
    let sep = if filters.is_empty() { "" } else { "?" };
    page.actions = vec![
        ("/compliance".to_owned(), tr.get("compliance-title")),
        (
            format!("/compliance/findings/export{sep}{filters}"),
            tr.get("compliance-export"),
        ),
    ];
    render_checked(errors.is_empty(), &page)
}

pub async fn export(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(raw): Query<FindingsQuery>,
) -> Response {
    let cap = match fresh_for(&state, &ctx).await {
        Ok(c) => c,
        Err(e) => return ctx.fail(e),
    };
    let tr = ctx.tr.clone();
    let q = match parse_query(&state, &ctx, &raw).await {
        Ok(Ok(q)) => q,
        Ok(Err(errors)) => return ctx.fail(AppError::Invalid(errors)),
        Err(e) => return ctx.fail(e),
    };
    let names = |s: FindingState| state_name(&tr, s);
    match compliance::export_findings(&state.app, &cap, &q, tr.lang.policy(), names).await {
        Ok((bytes, _)) => {
            let day = today().format("%Y%m%d");
            let disposition = format!(
                "attachment; filename=\"findings-{day}.xlsx\"; filename*=UTF-8''{}",
                urlencode(&format!("{}_{day}.xlsx", tr.get("compliance-export-name")))
            );
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_owned(),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => ctx.fail(e),
    }
}

// ---- 例外措置 ----

pub async fn exceptions(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.compliance_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let rows = match compliance::list_exceptions(&state.app, &cap, false).await {
        Ok(r) => r,
        Err(e) => return ctx.fail(e),
    };
    let day = today();
    let lang = tr.lang.policy();
    let rows = rows
        .iter()
        .map(|e| {
            let state = if e.revoked_at.is_some() {
                tr.get("exception-revoked")
            } else if e.in_force_on(day) {
                tr.get("exception-in-force")
            } else if e.ends_on < day {
                tr.get("exception-ended")
            } else {
                tr.get("exception-not-yet")
            };
            vec![
                Cell::link(e.id.to_string(), format!("/compliance/exceptions/{}", e.id)),
                Cell::text(
                    check_by_id(&e.check_id)
                        .map_or_else(|| e.check_id.clone(), |c| c.title.get(lang).to_owned()),
                ),
                Cell::text(format!(
                    "{}: {}",
                    e.subject_kind.name(lang),
                    e.subject_label
                )),
                Cell::text(e.reason.clone()),
                Cell::text(e.approver.clone()),
                Cell::text(tr.date(&e.approved_on)),
                Cell::text(tr.date(&e.ends_on)),
                Cell::text(state),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(
            tr,
            Some(&ctx.actor),
            "/compliance/exceptions",
            tr.get("compliance-exceptions"),
        ),
        vec![
            tr.get("exception-id"),
            tr.get("finding-check"),
            tr.get("finding-subject"),
            tr.get("field-exception-reason"),
            tr.get("field-exception-approver"),
            tr.get("field-exception-approved-on"),
            tr.get("field-exception-ends-on"),
            tr.get("finding-state"),
        ],
        rows,
    );
    page.summary = Some(tr.get("exception-intro"));
    page.actions = vec![("/compliance".to_owned(), tr.get("compliance-title"))];
    render(&page)
}

#[derive(serde::Deserialize)]
pub struct NewExceptionQuery {
    #[serde(default)]
    finding: i64,
}

/// The raw form, every value text.
#[derive(serde::Deserialize, Default)]
pub struct ExceptionFormRaw {
    #[serde(default)]
    finding_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    approver: String,
    #[serde(default)]
    approved_on: String,
    #[serde(default)]
    ends_on: String,
}

async fn exception_form(
    state: &AppState,
    ctx: &Ctx,
    form: &ExceptionFormRaw,
    errors: &[FieldError],
) -> Response {
    let Some(_) = ctx.actor.exception_recorder() else {
        return ctx.fail(AppError::Forbidden);
    };
    let Some(cap) = ctx.actor.compliance_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let Ok(finding_id) = form.finding_id.trim().parse::<i64>() else {
        return ctx.fail(AppError::NotFound);
    };
    let all = FindingQuery {
        state: StateFilter::All,
        ..FindingQuery::default()
    };
    let found = match compliance::all_findings(&state.app, &cap, &all).await {
        Ok(rows) => rows.into_iter().find(|f| f.id == finding_id),
        Err(e) => return ctx.fail(e),
    };
    let Some(finding) = found else {
        return ctx.fail(AppError::NotFound);
    };
    let lang = tr.lang.policy();
    let field =
        |name: &str, label: &str, kind: &'static str, value: &str, hint: Option<String>| Field {
            name: name.to_owned(),
            label: tr.get(label),
            kind,
            value: value.to_owned(),
            required: kind != "hidden",
            hint,
            ..Field::default()
        };
    let fields = vec![
        field("finding_id", "finding-id", "hidden", &form.finding_id, None),
        field(
            "reason",
            "field-exception-reason",
            "textarea",
            &form.reason,
            Some(tr.get("hint-exception-reason")),
        ),
        field(
            "approver",
            "field-exception-approver",
            "text",
            &form.approver,
            Some(tr.get("hint-exception-approver")),
        ),
        field(
            "approved_on",
            "field-exception-approved-on",
            "date",
            &form.approved_on,
            None,
        ),
        field(
            "ends_on",
            "field-exception-ends-on",
            "date",
            &form.ends_on,
            Some(tr.with(
                "hint-exception-ends-on",
                "years",
                &compliance::EXCEPTION_MAX_YEARS.to_string(),
            )),
        ),
    ];
    let mut page = FormPage::new(
        Page::new(
            tr,
            Some(&ctx.actor),
            "/compliance/exceptions/new",
            tr.get("exception-new"),
        ),
        "/compliance/exceptions",
        fields,
        tr.get("exception-submit"),
    )
    .with_errors(tr, errors);
    page.intro = Some(format!(
        "{} {} — {}: {} — {}",
        finding.clause,
        check_by_id(&finding.check_id).map_or("", |c| c.title.get(lang)),
        finding.subject_kind.name(lang),
        finding.subject_label,
        finding.message.get(lang)
    ));
    render_checked(errors.is_empty(), &page)
}

pub async fn new_exception(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<NewExceptionQuery>,
) -> Response {
    let form = ExceptionFormRaw {
        finding_id: q.finding.to_string(),
        approved_on: today().to_string(),
        ..ExceptionFormRaw::default()
    };
    exception_form(&state, &ctx, &form, &[]).await
}

pub async fn create_exception(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(raw): Form<ExceptionFormRaw>,
) -> Response {
    let Some(cap) = ctx.actor.exception_recorder() else {
        return ctx.fail(AppError::Forbidden);
    };
    let Ok(finding_id) = raw.finding_id.trim().parse::<i64>() else {
        return ctx.fail(AppError::NotFound);
    };
    let form = ExceptionForm {
        finding_id,
        reason: raw.reason.clone(),
        approver: raw.approver.clone(),
        approved_on: raw.approved_on.clone(),
        ends_on: raw.ends_on.clone(),
    };
    match compliance::grant_exception(&state.app, &cap, &ctx.actor.audit_actor(), &form).await {
        Ok(id) => Redirect::to(&format!("/compliance/exceptions/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => exception_form(&state, &ctx, &raw, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct RevokeForm {
    #[serde(default)]
    revoked_reason: String,
}

async fn exception_page(state: &AppState, ctx: &Ctx, id: i64, errors: &[FieldError]) -> Response {
    let Some(cap) = ctx.actor.compliance_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let lang = tr.lang.policy();
    let found = match compliance::list_exceptions(&state.app, &cap, false).await {
        Ok(rows) => rows.into_iter().find(|e| e.id == id),
        Err(e) => return ctx.fail(e),
    };
    let Some(e) = found else {
        return ctx.fail(AppError::NotFound);
    };
    let item = |label: &str, value: String| vec![Cell::text(tr.get(label)), Cell::text(value)];
    let mut rows = vec![
        item(
            "finding-check",
            check_by_id(&e.check_id)
                .map_or_else(|| e.check_id.clone(), |c| c.title.get(lang).to_owned()),
        ),
        item(
            "finding-subject",
            format!("{}: {}", e.subject_kind.name(lang), e.subject_label),
        ),
        item("field-exception-reason", e.reason.clone()),
        item("field-exception-approver", e.approver.clone()),
        item("field-exception-approved-on", tr.date(&e.approved_on)),
        item("field-exception-ends-on", tr.date(&e.ends_on)),
        item("exception-recorded-at", tr.time(&e.created_at)),
    ];
    if let Some(at) = &e.revoked_at {
        rows.push(item("exception-revoked-at", tr.time(at)));
        rows.push(item("field-revoked-reason", e.revoked_reason.clone()));
    }
    let mut page = TablePage::new(
        tr,
        Page::new(
            tr,
            Some(&ctx.actor),
            "/compliance/exceptions",
            tr.with("exception-title", "id", &id.to_string()),
        ),
        vec![tr.get("column-item"), tr.get("column-value")],
        rows,
    );
    page.errors = errors
        .iter()
        .map(|e| crate::error::field_message(tr, e))
        .collect();
    page.actions = vec![(
        "/compliance/exceptions".to_owned(),
        tr.get("compliance-exceptions"),
    )];
    if e.revoked_at.is_none() && ctx.actor.exception_recorder().is_some() {
        page.filters = Vec::new();
        page.post_forms.push(crate::page::PostButton {
            action: format!("/compliance/exceptions/{id}/revoke"),
            label: tr.get("exception-revoke"),
            hidden: Vec::new(),
        });
    }
    render_checked(errors.is_empty(), &page)
}

pub async fn exception(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    exception_page(&state, &ctx, id, &[]).await
}

pub async fn revoke_exception(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Some(cap) = ctx.actor.exception_recorder() else {
        return ctx.fail(AppError::Forbidden);
    };
    let reason = if form.revoked_reason.trim().is_empty() {
        ctx.tr.get("exception-revoked-default-reason")
    } else {
        form.revoked_reason
    };
    match compliance::revoke_exception(&state.app, &cap, &ctx.actor.audit_actor(), id, &reason)
        .await
    {
        Ok(()) => Redirect::to(&format!("/compliance/exceptions/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => exception_page(&state, &ctx, id, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

// ---- the city's policy text ----

pub async fn policy_versions(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.compliance_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let versions = match policy_doc::versions(&state.app, &cap).await {
        Ok(v) => v,
        Err(e) => return ctx.fail(e),
    };
    let rows = versions
        .iter()
        .map(|v| {
            vec![
                Cell::link(v.revised_label.clone(), format!("/policy/{}", v.id)),
                Cell::text(v.title.clone()),
                Cell::text(v.clauses.to_string()),
                Cell::text(v.source_name.clone()),
                Cell::text(tr.time(&v.imported_at)),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/policy", tr.get("policy-title")),
        vec![
            tr.get("policy-revised"),
            tr.get("policy-name"),
            tr.get("policy-clauses"),
            tr.get("policy-file"),
            tr.get("policy-imported-at"),
        ],
        rows,
    );
    page.summary = Some(tr.get("policy-intro"));
    if ctx.actor.policy_admin().is_some() {
        page.actions
            .push(("/policy/import".to_owned(), tr.get("policy-import")));
    }
    render(&page)
}

fn import_form(ctx: &Ctx, errors: &[FieldError]) -> Response {
    let tr = &ctx.tr;
    let fields = vec![Field {
        name: "file".to_owned(),
        label: tr.get("field-file"),
        kind: "file",
        required: true,
        hint: Some(tr.get("hint-policy-file")),
        ..Field::default()
    }];
    let mut page = FormPage::new(
        Page::new(
            tr,
            Some(&ctx.actor),
            "/policy/import",
            tr.get("policy-import"),
        ),
        "/policy/import",
        fields,
        tr.get("policy-import"),
    )
    .with_errors(tr, errors);
    page.multipart = true;
    page.intro = Some(tr.get("policy-import-intro"));
    render_checked(errors.is_empty(), &page)
}

pub async fn policy_import_form(ctx: Ctx) -> Response {
    if ctx.actor.policy_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    import_form(&ctx, &[])
}

pub async fn policy_import(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Response {
    let Some(cap) = ctx.actor.policy_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(b) if b.len() <= MAX_UPLOAD_BYTES => file = Some((name, b.to_vec())),
                    Ok(_) => {
                        return import_form(
                            &ctx,
                            &[FieldError::new("file", "err-upload").with("reason", "too large")],
                        );
                    }
                    Err(e) => {
                        return import_form(
                            &ctx,
                            &[FieldError::new("file", "err-upload").with("reason", e.body_text())],
                        );
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                return import_form(
                    &ctx,
                    &[FieldError::new("file", "err-upload").with("reason", e.body_text())],
                );
            }
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return import_form(&ctx, &[FieldError::new("file", "err-required")]);
    };
    match policy_doc::import(&state.app, &cap, &ctx.actor.audit_actor(), &name, &bytes).await {
        Ok(id) => Redirect::to(&format!("/policy/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => import_form(&ctx, &errors),
        Err(e) => ctx.fail(e),
    }
}

pub async fn policy_version(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let Some(cap) = ctx.actor.compliance_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let loaded = async {
        let v = policy_doc::version(&state.app, &cap, id).await?;
        let all = policy_doc::versions(&state.app, &cap).await?;
        Ok::<_, AppError>((v, all))
    };
    let (v, all) = match loaded.await {
        Ok(x) => x,
        Err(e) => return ctx.fail(e),
    };
    let depth = |id: &str| {
        ClauseId::parse(id).map_or(0, |c| {
            std::iter::successors(c.parent(), |p| p.parent()).count()
        })
    };
    let rows = v
        .text
        .clauses
        .iter()
        .map(|c| {
            vec![
                Cell::link(
                    c.id.clone(),
                    format!("/compliance/findings?clause={}", urlencode(&c.id)),
                ),
                Cell {
                    indent: depth(&c.id),
                    ..Cell::text(c.heading.clone())
                },
                Cell::text(c.body.clone()),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(
            tr,
            Some(&ctx.actor),
            "/policy",
            format!("{}（{}）", v.row.title, v.row.revised_label),
        ),
        vec![
            tr.get("finding-clause"),
            tr.get("policy-heading"),
            tr.get("policy-body"),
        ],
        rows,
    );
    page.actions
        .push(("/policy".to_owned(), tr.get("policy-title")));
    // Versions are listed latest first: the one after this in the list is the one before it in time.
    if let Some(pos) = all.iter().position(|x| x.id == id)
        && let Some(previous) = all.get(pos + 1)
    {
        page.actions.push((
            format!("/policy/diff?from={}&to={id}", previous.id),
            tr.with("policy-compare", "revised", &previous.revised_label),
        ));
    }
    render(&page)
}

#[derive(serde::Deserialize)]
pub struct DiffQuery {
    from: i64,
    to: i64,
}

pub async fn policy_diff(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<DiffQuery>,
) -> Response {
    let Some(cap) = ctx.actor.compliance_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let (old, new, changes) = match policy_doc::diff(&state.app, &cap, q.from, q.to).await {
        Ok(d) => d,
        Err(e) => return ctx.fail(e),
    };
    let text = |c: &Option<mamori_policy::policy_text::ParsedClause>| {
        c.as_ref()
            .map(|c| format!("{}\n{}", c.heading, c.body))
            .unwrap_or_default()
    };
    let rows = changes
        .iter()
        .map(|c| {
            let (label, class) = match c.kind {
                ChangeKind::Added => (tr.get("policy-added"), "added"),
                ChangeKind::Removed => (tr.get("policy-removed"), "removed"),
                ChangeKind::Changed => (tr.get("policy-changed"), "changed"),
            };
            vec![
                Cell::text(c.id.clone()),
                Cell::text(label).class(class),
                Cell::text(text(&c.old)),
                Cell::text(text(&c.new)),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/policy", tr.get("policy-diff-title")),
        vec![
            tr.get("finding-clause"),
            tr.get("policy-change"),
            format!("{}（{}）", old.title, old.revised_label),
            format!("{}（{}）", new.title, new.revised_label),
        ],
        rows,
    );
    page.summary = Some(tr.with("policy-diff-count", "n", &changes.len().to_string()));
    page.actions
        .push(("/policy".to_owned(), tr.get("policy-title")));
    render(&page)
}
