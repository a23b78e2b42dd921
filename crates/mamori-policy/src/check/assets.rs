//! 6(2) 情報資産の分類と管理, 2(9)–(12): checks on the 情報資産台帳 (asset register). Retired assets are skipped.

use super::{AssetFacts, Check, Context, Findings, Severity, Subject, SubjectKind};
use crate::{Axis, Lang, MyNumberWork, StaticText, Text, Zone};

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "asset.owner_missing",
        clause: "6(2)",
        severity: Severity::High,
        subject: SubjectKind::Asset,
        title: StaticText::new("所管課が未設定の資産", "Asset without an owning division"),
        rule: StaticText::new(
            "すべての情報資産には、管理に責任を持つ所管課を定める。",
            "Every information asset has an owning division (所管課) responsible for it.",
        ),
        fix: StaticText::new(
            "資産台帳で所管課を設定してください。",
            "Set the owning division in the asset register.",
        ),
        run: owner_missing,
    },
    Check {
        id: "asset.owner_abolished",
        clause: "6(2)",
        severity: Severity::High,
        subject: SubjectKind::Asset,
        title: StaticText::new(
            "所管課が廃止され後継のない資産",
            "Asset owned by an abolished division with no successor",
        ),
        rule: StaticText::new(
            "所管課が廃止されたときは、事務を引き継ぐ課に資産を移す。",
            "When the owning division is abolished, its assets pass to the division that takes over its work.",
        ),
        fix: StaticText::new(
            "現在の所管課を設定するか、組織の後継を登録してください。",
            "Set the current owning division, or record the abolished division's successor.",
        ),
        run: owner_abolished,
    },
    Check {
        id: "asset.manager_missing",
        clause: "6(2)",
        severity: Severity::Medium,
        subject: SubjectKind::Asset,
        title: StaticText::new(
            "管理者が未設定または不在の資産",
            "Asset without a serving manager",
        ),
        rule: StaticText::new(
            "すべての情報資産には、在職している職員を管理者として定める。",
            "Every information asset has a manager who is a serving member of staff.",
        ),
        fix: StaticText::new(
            "資産台帳で在職中の管理者を設定してください。",
            "Set a serving member of staff as the manager in the asset register.",
        ),
        run: manager_missing,
    },
    Check {
        id: "asset.unclassified",
        clause: "6(2)",
        severity: Severity::High,
        subject: SubjectKind::Asset,
        title: StaticText::new("分類が済んでいない資産", "Asset not fully classified"),
        rule: StaticText::new(
            "すべての情報資産を、機密性・完全性・可用性のそれぞれについて分類する。",
            "Every information asset is classified for confidentiality, integrity and availability.",
        ),
        fix: StaticText::new(
            "未分類の観点の区分を決めて登録してください。",
            "Decide and record the level of each unclassified axis.",
        ),
        run: unclassified,
    },
    Check {
        id: "asset.my_number_outside_zone",
        clause: "2(12)",
        severity: Severity::Critical,
        subject: SubjectKind::Asset,
        title: StaticText::new(
            "マイナンバー利用事務系の外にある特定個人情報",
            "Specific personal information outside the My Number zone",
        ),
        rule: StaticText::new(
            "個人番号利用事務で扱う特定個人情報は、マイナンバー利用事務系の中でだけ扱う。",
            "Specific personal information used in My Number utilisation work is handled only in the My Number zone.",
        ),
        fix: StaticText::new(
            "資産をマイナンバー利用事務系へ移すか、台帳のゾーン・事務区分の誤りを正してください。",
            "Move the asset into the My Number zone, or correct its zone or kind of work in the register.",
        ),
        run: my_number_outside_zone,
    },
    Check {
        id: "asset.personal_confidentiality_low",
        clause: "6(2)",
        severity: Severity::High,
        subject: SubjectKind::Asset,
        title: StaticText::new(
            "個人情報を含むのに機密性が低い資産",
            "Personal information classified too low",
        ),
        rule: StaticText::new(
            "個人情報（要配慮個人情報・特定個人情報を含む）を含む資産は、分類体系が定める機密性以上に分類する。特定個人情報にはその下限を使う。",
            "An asset holding personal information (sensitive or specific personal information included) is classified at least at the confidentiality the scheme requires; specific personal information uses its own minimum.",
        ),
        fix: StaticText::new(
            "機密性を必要な区分以上に引き上げるか、個人情報の有無の記録を正してください。",
            "Raise the confidentiality to the required level, or correct the record of personal information.",
        ),
        run: personal_confidentiality_low,
    },
    Check {
        id: "asset.review_overdue",
        clause: "6(2)",
        severity: Severity::Low,
        subject: SubjectKind::Asset,
        title: StaticText::new("見直し期限を過ぎた資産", "Asset review overdue"),
        rule: StaticText::new(
            "情報資産の分類と台帳の記載は、定めた期日までに見直す。",
            "An asset's classification and register entry are reviewed by the date set.",
        ),
        fix: StaticText::new(
            "資産を見直し、次回見直し日を更新してください。",
            "Review the asset and set the next review date.",
        ),
        run: review_overdue,
    },
];

fn subject(asset: &AssetFacts) -> Subject {
    let label = match (asset.asset_no.trim(), asset.name.trim()) {
        ("", name) => name.to_owned(),
        (no, "") => no.to_owned(),
        (no, name) => format!("{no} {name}"),
    };
    Subject {
        kind: SubjectKind::Asset,
        id: asset.id,
        label,
        unit_id: asset.owner_unit_id,
    }
}

fn link(asset: &AssetFacts) -> String {
    format!("/assets/{}", asset.id)
}

fn report(out: &mut Findings<'_>, asset: &AssetFacts, message: Text) {
    out.push(subject(asset), link(asset), message);
}

fn owner_missing(cx: &Context<'_>, out: &mut Findings<'_>) {
    for asset in cx.assets() {
        match asset.owner_unit_id {
            None => report(
                out,
                asset,
                Text::new(
                    "所管課が設定されていません。",
                    "No owning division is set.",
                ),
            ),
            Some(id) if cx.unit(id).is_none() => report(
                out,
                asset,
                Text::new(
                    format!("所管課（組織ID {id}）が組織にありません。"),
                    format!("The owning division (unit id {id}) does not exist."),
                ),
            ),
            Some(_) => {}
        }
    }
}

fn owner_abolished(cx: &Context<'_>, out: &mut Findings<'_>) {
    for asset in cx.assets() {
        let Some(unit) = asset.owner_unit_id.and_then(|id| cx.unit(id)) else {
            continue;
        };
        if unit.abolished && cx.unit_in_force(unit).is_none() {
            report(
                out,
                asset,
                Text::new(
                    format!(
                        "所管課「{}」は廃止され、事務を引き継いだ課がありません。",
                        unit.path
                    ),
                    format!(
                        "The owning division \"{}\" is abolished and no division has taken over its work.",
                        unit.path
                    ),
                ),
            );
        }
    }
}

fn manager_missing(cx: &Context<'_>, out: &mut Findings<'_>) {
    for asset in cx.assets() {
        let message = match asset.manager_staff_id {
            None => Text::new("管理者が設定されていません。", "No manager is set."),
            Some(id) => match cx.staff(id) {
                None => Text::new(
                    format!("管理者（職員ID {id}）が職員にいません。"),
                    format!("The manager (staff id {id}) is not on the staff list."),
                ),
                Some(staff) if !staff.active => Text::new(
                    format!("管理者（職員ID {id}）は在職していません。"),
                    format!("The manager (staff id {id}) is no longer serving."),
                ),
                Some(_) => continue,
            },
        };
        report(out, asset, message);
    }
}

fn unclassified(cx: &Context<'_>, out: &mut Findings<'_>) {
    for asset in cx.assets() {
        if asset.classification.is_complete() {
            continue;
        }
        let axes: Vec<Axis> = asset.classification.unclassified_axes().collect();
        let names = |lang: Lang, sep: &str| {
            axes.iter()
                .map(|a| a.name(lang))
                .collect::<Vec<_>>()
                .join(sep)
        };
        report(
            out,
            asset,
            Text::new(
                format!("{}が未分類です。", names(Lang::Ja, "・")),
                format!("Not yet classified for: {}.", names(Lang::En, ", ")),
            ),
        );
    }
}

fn my_number_outside_zone(cx: &Context<'_>, out: &mut Findings<'_>) {
    for asset in cx.assets() {
        if !(asset.specific_personal && asset.my_number_work == Some(MyNumberWork::Use)) {
            continue;
        }
        let (ja, en) = match asset.zone {
            Some(Zone::MyNumber) => continue,
            Some(zone) => (zone.name(Lang::Ja), zone.name(Lang::En)),
            None => ("ゾーン未設定", "zone not set"),
        };
        report(
            out,
            asset,
            Text::new(
                format!(
                    "個人番号利用事務の特定個人情報を含む資産が、マイナンバー利用事務系の外（{ja}）にあります。"
                ),
                format!(
                    "The asset holds specific personal information for My Number utilisation work but is outside the My Number zone ({en})."
                ),
            ),
        );
    }
}

fn personal_confidentiality_low(cx: &Context<'_>, out: &mut Findings<'_>) {
    let scheme = cx.scheme();
    for asset in cx.assets() {
        let personal = asset.personal || asset.sensitive_personal || asset.specific_personal;
        let Some(required) = scheme.required_confidentiality(personal, asset.specific_personal)
        else {
            continue;
        };
        // An unclassified confidentiality is asset.unclassified's finding, not this one's.
        let Some(current) = asset.classification.c() else {
            continue;
        };
        if current.at_least(required) {
            continue;
        }
        let (what_ja, what_en) = if asset.specific_personal {
            ("特定個人情報", "specific personal information")
        } else if asset.sensitive_personal {
            ("要配慮個人情報", "sensitive personal information")
        } else {
            ("個人情報", "personal information")
        };
        report(
            out,
            asset,
            Text::new(
                format!(
                    "{what_ja}を含むのに{}です。{}以上が必要です。",
                    scheme.level_label(current, Lang::Ja),
                    scheme.level_label(required, Lang::Ja)
                ),
                format!(
                    "It holds {what_en} but is classified {}; {} or higher is required.",
                    scheme.level_label(current, Lang::En),
                    scheme.level_label(required, Lang::En)
                ),
            ),
        );
    }
}

fn review_overdue(cx: &Context<'_>, out: &mut Findings<'_>) {
    let today = cx.today();
    for asset in cx.assets() {
        let Some(due) = asset.next_review.filter(|due| *due < today) else {
            continue;
        };
        let days = (today - due).num_days();
        report(
            out,
            asset,
            Text::new(
                format!("見直し期限（{due}）を{days}日過ぎています。"),
                format!("The review was due on {due}, {days} days ago."),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use chrono::NaiveDate;

    use super::super::{
        AssetFacts, Finding, Snapshot, StaffFacts, UnitFacts, all_checks, check_by_id, evaluate,
    };
    use super::*;
    use crate::{Classification, Scheme};

    fn scheme() -> &'static Scheme {
        Scheme::builtin_by_id("mic-2024").unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn classification(c: &str, i: &str, a: &str) -> Classification {
        scheme().classification(Some(c), Some(i), Some(a)).unwrap()
    }

    /// An asset that breaks no rule.
    fn good_asset(id: i64) -> AssetFacts {
        AssetFacts {
            id,
            asset_no: format!("A-{id:05}"),
            name: "住民記録".into(),
            owner_unit_id: Some(1),
            manager_staff_id: Some(10),
            classification: classification("2", "1", "1"),
            zone: Some(Zone::Lgwan),
            next_review: Some(day(2027, 3, 31)),
            ..AssetFacts::default()
        }
    }

    fn snapshot(assets: Vec<AssetFacts>) -> Snapshot<'static> {
        Snapshot {
            today: day(2026, 5, 19),
            scheme: scheme(),
            units: vec![
                UnitFacts {
                    id: 1,
                    code: "110".into(),
                    path: "総務部/情報政策課".into(),
                    ..UnitFacts::default()
                },
                UnitFacts {
                    id: 2,
                    code: "120".into(),
                    path: "総務部/電算課".into(),
                    abolished: true,
                    successor_id: Some(1),
                    ..UnitFacts::default()
                },
                UnitFacts {
                    id: 3,
                    code: "130".into(),
                    path: "総務部/統計課".into(),
                    abolished: true,
                    successor_id: None,
                    ..UnitFacts::default()
                },
                UnitFacts {
                    id: 4,
                    code: "140".into(),
                    path: "企画部/旧企画課".into(),
                    abolished: true,
                    successor_id: Some(3),
                    ..UnitFacts::default()
                },
                UnitFacts {
                    id: 5,
                    code: "150".into(),
                    path: "企画部/循環課".into(),
                    abolished: true,
                    successor_id: Some(6),
                    ..UnitFacts::default()
                },
                UnitFacts {
                    id: 6,
                    code: "160".into(),
                    path: "企画部/循環課2".into(),
                    abolished: true,
                    successor_id: Some(5),
                    ..UnitFacts::default()
                },
            ],
            staff: vec![
                StaffFacts {
                    id: 10,
                    active: true,
                    ..StaffFacts::default()
                },
                StaffFacts {
                    id: 11,
                    active: false,
                    ..StaffFacts::default()
                },
            ],
            posts: Vec::new(),
            accounts: Vec::new(),
            assets,
            network: Default::default(),
        }
    }

    /// The findings of one check for one asset.
    fn run(check_id: &str, asset: AssetFacts) -> Vec<Finding> {
        let check = check_by_id(check_id).unwrap();
        check.evaluate(&snapshot(vec![asset]))
    }

    /// Asserts that `check_id` fires for `asset`, and not once it is retired; returns the English message.
    fn fires(check_id: &str, asset: AssetFacts) -> String {
        let findings = run(check_id, asset.clone());
        assert_eq!(findings.len(), 1, "{check_id} did not fire once: {findings:?}");
        let f = &findings[0];
        assert_eq!(f.check_id, check_id);
        assert_eq!(f.subject.kind, SubjectKind::Asset);
        assert_eq!(f.subject.id, asset.id);
        assert_eq!(f.subject.label, format!("A-{:05} 住民記録", asset.id));
        assert_eq!(f.link, format!("/assets/{}", asset.id));
        assert!(!f.message.ja.is_empty());
        let retired = AssetFacts {
            retired: true,
            ..asset
        };
        assert!(run(check_id, retired).is_empty(), "{check_id} fired for a retired asset");
        f.message.en.clone() + " / " + &f.message.ja
    }

    fn silent(check_id: &str, asset: AssetFacts) {
        let findings = run(check_id, asset);
        assert!(findings.is_empty(), "{check_id} fired: {findings:?}");
    }

    #[test]
    fn a_good_asset_breaks_no_rule() {
        assert!(evaluate(&snapshot(vec![good_asset(1)])).is_empty());
    }

    #[test]
    fn owner_missing() {
        let m = fires(
            "asset.owner_missing",
            AssetFacts {
                owner_unit_id: None,
                ..good_asset(1)
            },
        );
        assert!(m.contains("No owning division"), "{m}");
        let m = fires(
            "asset.owner_missing",
            AssetFacts {
                owner_unit_id: Some(99),
                ..good_asset(1)
            },
        );
        assert!(m.contains("unit id 99"), "{m}");
        silent("asset.owner_missing", good_asset(1));
    }

    #[test]
    fn owner_abolished() {
        let m = fires(
            "asset.owner_abolished",
            AssetFacts {
                owner_unit_id: Some(3),
                ..good_asset(1)
            },
        );
        assert!(m.contains("総務部/統計課"), "{m}");
        // The successor is abolished too, without a successor of its own.
        fires(
            "asset.owner_abolished",
            AssetFacts {
                owner_unit_id: Some(4),
                ..good_asset(1)
            },
        );
        // Successors that loop.
        fires(
            "asset.owner_abolished",
            AssetFacts {
                owner_unit_id: Some(5),
                ..good_asset(1)
            },
        );
        // Abolished, but a unit in force took over.
        silent(
            "asset.owner_abolished",
            AssetFacts {
                owner_unit_id: Some(2),
                ..good_asset(1)
            },
        );
        silent("asset.owner_abolished", good_asset(1));
    }

    #[test]
    fn manager_missing() {
        let m = fires(
            "asset.manager_missing",
            AssetFacts {
                manager_staff_id: None,
                ..good_asset(1)
            },
        );
        assert!(m.contains("No manager is set"), "{m}");
        let m = fires(
            "asset.manager_missing",
            AssetFacts {
                manager_staff_id: Some(11),
                ..good_asset(1)
            },
        );
        assert!(m.contains("no longer serving") && m.contains("在職していません"), "{m}");
        let m = fires(
            "asset.manager_missing",
            AssetFacts {
                manager_staff_id: Some(12),
                ..good_asset(1)
            },
        );
        assert!(m.contains("not on the staff list"), "{m}");
        silent("asset.manager_missing", good_asset(1));
    }

    #[test]
    fn unclassified() {
        let partial = scheme().classification(Some("2"), None, None).unwrap();
        let m = fires(
            "asset.unclassified",
            AssetFacts {
                classification: partial,
                ..good_asset(1)
            },
        );
        assert!(m.contains("Not yet classified for: Integrity, Availability."), "{m}");
        assert!(m.contains("完全性・可用性が未分類です。"), "{m}");
        let m = fires(
            "asset.unclassified",
            AssetFacts {
                classification: Classification::UNCLASSIFIED,
                ..good_asset(1)
            },
        );
        assert!(m.contains("機密性・完全性・可用性"), "{m}");
        silent("asset.unclassified", good_asset(1));
    }

    #[test]
    fn my_number_outside_zone() {
        let my_number_asset = AssetFacts {
            specific_personal: true,
            personal: true,
            my_number_work: Some(MyNumberWork::Use),
            classification: classification("3B", "2", "2"),
            zone: Some(Zone::MyNumber),
            ..good_asset(1)
        };
        silent("asset.my_number_outside_zone", my_number_asset.clone());
        let m = fires(
            "asset.my_number_outside_zone",
            AssetFacts {
                zone: Some(Zone::Lgwan),
                ..my_number_asset.clone()
            },
        );
        assert!(m.contains("LGWAN zone") && m.contains("LGWAN接続系"), "{m}");
        let m = fires(
            "asset.my_number_outside_zone",
            AssetFacts {
                zone: None,
                ..my_number_asset.clone()
            },
        );
        assert!(m.contains("zone not set"), "{m}");
        // 個人番号関係事務 (payroll …) may sit in the LGWAN zone.
        silent(
            "asset.my_number_outside_zone",
            AssetFacts {
                zone: Some(Zone::Lgwan),
                my_number_work: Some(MyNumberWork::Related),
                ..my_number_asset
            },
        );
    }

    #[test]
    fn personal_confidentiality_low() {
        let personal = AssetFacts {
            personal: true,
            ..good_asset(1)
        };
        let m = fires("asset.personal_confidentiality_low", personal.clone());
        assert!(
            m.contains("It holds personal information but is classified Confidentiality 2; Confidentiality 3C or higher is required."),
            "{m}"
        );
        assert!(m.contains("個人情報を含むのに機密性2です。機密性3C以上が必要です。"), "{m}");
        silent(
            "asset.personal_confidentiality_low",
            AssetFacts {
                classification: classification("3C", "1", "1"),
                ..personal.clone()
            },
        );
        let m = fires(
            "asset.personal_confidentiality_low",
            AssetFacts {
                sensitive_personal: true,
                personal: false,
                ..good_asset(1)
            },
        );
        assert!(m.contains("sensitive personal information"), "{m}");
        // Specific personal information needs 3B: 3C is not enough, 3A is.
        let specific = AssetFacts {
            specific_personal: true,
            classification: classification("3C", "1", "1"),
            ..good_asset(1)
        };
        let m = fires("asset.personal_confidentiality_low", specific.clone());
        assert!(m.contains("3C") && m.contains("3B or higher"), "{m}");
        silent(
            "asset.personal_confidentiality_low",
            AssetFacts {
                classification: classification("3A", "1", "1"),
                ..specific
            },
        );
        // No personal information, or confidentiality not yet classified (asset.unclassified reports that).
        silent("asset.personal_confidentiality_low", good_asset(1));
        silent(
            "asset.personal_confidentiality_low",
            AssetFacts {
                classification: Classification::UNCLASSIFIED,
                ..personal
            },
        );
    }

    #[test]
    fn personal_minimum_follows_the_scheme() {
        let legacy = Scheme::builtin_by_id("mic-legacy").unwrap();
        let asset = AssetFacts {
            personal: true,
            classification: legacy.classification(Some("2"), Some("1"), Some("1")).unwrap(),
            ..good_asset(1)
        };
        let snap = Snapshot {
            scheme: legacy,
            ..snapshot(vec![asset])
        };
        assert!(evaluate(&snap).is_empty());
    }

    #[test]
    fn review_overdue() {
        let m = fires(
            "asset.review_overdue",
            AssetFacts {
                next_review: Some(day(2026, 5, 18)),
                ..good_asset(1)
            },
        );
        assert!(m.contains("2026-05-18, 1 days ago"), "{m}");
        silent(
            "asset.review_overdue",
            AssetFacts {
                next_review: Some(day(2026, 5, 19)),
                ..good_asset(1)
            },
        );
        silent(
            "asset.review_overdue",
            AssetFacts {
                next_review: None,
                ..good_asset(1)
            },
        );
    }

    #[test]
    fn checks_are_well_formed() {
        let checks = all_checks();
        assert!(checks.len() >= 7);
        let mut ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), checks.len(), "duplicate check ids");
        for c in checks {
            assert!(
                c.id.split_once('.').is_some_and(|(area, rule)| !area.is_empty()
                    && !rule.is_empty()
                    && c.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')),
                "{}",
                c.id
            );
            assert!(!c.clause.is_empty());
            for t in [c.title, c.rule, c.fix] {
                assert!(!t.ja.is_empty() && !t.en.is_empty(), "{}", c.id);
            }
        }
        assert_eq!(
            check_by_id("asset.my_number_outside_zone").map(|c| c.severity),
            Some(Severity::Critical)
        );
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.code()).unwrap(), s);
        }
        for k in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(k.code()).unwrap(), k);
        }
    }

    #[test]
    fn findings_come_check_by_check_with_their_clause_and_severity() {
        let bad = AssetFacts {
            owner_unit_id: None,
            manager_staff_id: None,
            classification: Classification::UNCLASSIFIED,
            next_review: Some(day(2020, 4, 1)),
            ..good_asset(2)
        };
        let findings = evaluate(&snapshot(vec![good_asset(1), bad]));
        let got: Vec<(&str, &str, Severity)> = findings
            .iter()
            .map(|f| (f.check_id, f.clause, f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("asset.owner_missing", "6(2)", Severity::High),
                ("asset.manager_missing", "6(2)", Severity::Medium),
                ("asset.unclassified", "6(2)", Severity::High),
                ("asset.review_overdue", "6(2)", Severity::Low),
            ]
        );
    }

    /// 100,000 assets, a fifth of them with something wrong: no quadratic work.
    #[test]
    fn a_large_register_is_checked_quickly() {
        let assets: Vec<AssetFacts> = (0..100_000)
            .map(|i| {
                let mut a = good_asset(i);
                match i % 10 {
                    0 => a.owner_unit_id = Some(3),
                    1 => a.manager_staff_id = Some(11),
                    2 => a.personal = true,
                    _ => {}
                }
                a
            })
            .collect();
        let snap = snapshot(assets);
        let start = std::time::Instant::now();
        let findings = evaluate(&snap);
        let elapsed = start.elapsed();
        assert_eq!(findings.len(), 30_000);
        // Generous for an unoptimised test build on a busy machine; a release build takes a few ms.
        assert!(elapsed.as_secs_f64() < 2.0, "took {elapsed:?}");
        eprintln!("evaluate(100,000 assets): {elapsed:?}");
    }
}
