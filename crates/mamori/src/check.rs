//! `mamori check`: 6(7) 遵守状況の確認 from the command line (and from cron).

use anyhow::bail;
use mamori_app::App;
use mamori_app::access::ComplianceReader;
use mamori_app::compliance::{self, FindingQuery, FindingRow, FindingState, StateFilter};
use mamori_policy::{Lang, Severity};

/// How `mamori check` prints.
pub struct CheckOptions {
    pub format: String,
    pub min_severity: String,
    pub record: bool,
    pub lang: String,
}

/// Brings the findings up to date, prints those at or above the threshold, and answers 1 when any of them is
/// open (not accepted under an exception), 0 otherwise.
pub async fn run(
    app: &App,
    municipality_id: i64,
    options: &CheckOptions,
) -> anyhow::Result<std::process::ExitCode> {
    let Ok(min) = Severity::parse(&options.min_severity) else {
        bail!(
            "unknown severity {:?}: use info, low, medium, high or critical",
            options.min_severity
        );
    };
    let json = match options.format.as_str() {
        "text" => false,
        "json" => true,
        other => bail!("unknown format {other:?}: use text or json"),
    };
    let lang = Lang::parse(&options.lang).unwrap_or(Lang::Ja);
    let report = compliance::refresh_now(app, municipality_id).await?;
    if options.record {
        compliance::record_daily(app, municipality_id, mamori_app::today()).await?;
    }
    let cap = ComplianceReader::for_cli(municipality_id);
    let query = FindingQuery {
        severity: Some(min),
        state: StateFilter::Current,
        ..FindingQuery::default()
    };
    let findings = compliance::all_findings(app, &cap, &query).await?;
    let failing = findings
        .iter()
        .filter(|f| f.state == FindingState::Open)
        .count();
    if json {
        let out = serde_json::json!({
            "date": mamori_app::today(),
            "min_severity": min.code(),
            "open": failing,
            "accepted": findings.len() - failing,
            "changes": {
                "opened": report.opened,
                "reopened": report.reopened,
                "resolved": report.resolved,
            },
            "timing_ms": {
                "load": report.load_ms,
                "evaluate": report.evaluate_ms,
                "write": report.write_ms,
            },
            "findings": findings.iter().map(|f| as_json(f, lang)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_text(&findings, failing, min, lang);
    }
    Ok(if failing > 0 {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

fn as_json(f: &FindingRow, lang: Lang) -> serde_json::Value {
    let until = match f.state {
        FindingState::Accepted(until) => Some(until),
        _ => None,
    };
    serde_json::json!({
        "check_id": f.check_id,
        "clause": f.clause,
        "severity": f.severity.code(),
        "state": f.state.code(),
        "accepted_until": until,
        "subject": {
            "kind": f.subject_kind.code(),
            "id": f.subject_id,
            "label": f.subject_label,
        },
        "unit": f.unit_path,
        "message": f.message.get(lang),
        "link": f.link,
    })
}

fn print_text(findings: &[FindingRow], failing: usize, min: Severity, lang: Lang) {
    let accepted = findings.len() - failing;
    let mut by_severity = Vec::new();
    for s in Severity::ALL.into_iter().rev() {
        let n = findings
            .iter()
            .filter(|f| f.severity == s && f.state == FindingState::Open)
            .count();
        if n > 0 {
            by_severity.push(format!("{} {n}", s.name(lang)));
        }
    }
    match lang {
        Lang::Ja => println!(
            "{}以上の未対応の指摘: {failing}件{}、例外承認中: {accepted}件",
            min.name(lang),
            if by_severity.is_empty() {
                String::new()
            } else {
                format!("（{}）", by_severity.join("・"))
            }
        ),
        Lang::En => println!(
            "Open findings at {} or above: {failing}{}; accepted under an exception: {accepted}",
            min.name(lang),
            if by_severity.is_empty() {
                String::new()
            } else {
                format!(" ({})", by_severity.join(", "))
            }
        ),
    }
    for f in findings {
        let state = match (f.state, lang) {
            (FindingState::Accepted(until), Lang::Ja) => format!(" 例外承認中（{until}まで）"),
            (FindingState::Accepted(until), Lang::En) => format!(" accepted until {until}"),
            _ => String::new(),
        };
        println!(
            "\n[{}] {} {}{state}\n  {}: {}\n  {}\n  {}",
            f.severity.name(lang),
            f.clause,
            f.check_id,
            f.subject_kind.name(lang),
            f.subject_label,
            f.message.get(lang),
            f.link,
        );
    }
}
