//! `mamori policy`: the city's own basic-policy text, version by version (8 見直し).

use std::path::Path;

use anyhow::Context;
use mamori_app::access::{ComplianceReader, PolicyAdmin};
use mamori_app::{App, AppError, AuditActor, policy_doc};
use mamori_policy::policy_text::ChangeKind;

/// Reads a policy text and stores it as a new version; exit 1 (nothing stored) when it cannot be read.
pub async fn import(
    app: &App,
    municipality_id: i64,
    file: &Path,
    lang: &str,
) -> anyhow::Result<std::process::ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let cap = PolicyAdmin::for_cli(municipality_id);
    match policy_doc::import(app, &cap, &AuditActor::cli(), &name, &bytes).await {
        Ok(id) => {
            let reader = ComplianceReader::for_cli(municipality_id);
            let v = policy_doc::version(app, &reader, id).await?;
            println!(
                "{} ({}): {} clauses, version {id}",
                v.row.title, v.row.revised_label, v.row.clauses
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(AppError::Invalid(errors)) => {
            for e in &errors {
                eprintln!(
                    "{}: {}",
                    file.display(),
                    mamori_web::i18n::message(lang, e.key, &e.args)
                );
            }
            Ok(std::process::ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// Lists the versions, latest 改正 first.
pub async fn versions(app: &App, municipality_id: i64) -> anyhow::Result<()> {
    let reader = ComplianceReader::for_cli(municipality_id);
    for v in policy_doc::versions(app, &reader).await? {
        println!(
            "{}\t{}\t{}\t{} clauses\t{}",
            v.id, v.revised_label, v.title, v.clauses, v.source_name
        );
    }
    Ok(())
}

/// Prints what changed between two versions, clause by clause.
pub async fn diff(app: &App, municipality_id: i64, from: i64, to: i64) -> anyhow::Result<()> {
    let reader = ComplianceReader::for_cli(municipality_id);
    let (old, new, changes) = policy_doc::diff(app, &reader, from, to).await?;
    println!(
        "{} ({}) → {} ({}): {} clauses changed",
        old.title,
        old.revised_label,
        new.title,
        new.revised_label,
        changes.len()
    );
    for c in changes {
        let mark = match c.kind {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        };
        println!("\n{mark} {}", c.id);
        if let Some(old) = &c.old {
            println!("  - {} {}", old.heading, old.body.replace('\n', " "));
        }
        if let Some(new) = &c.new {
            println!("  + {} {}", new.heading, new.body.replace('\n', " "));
        }
    }
    Ok(())
}
