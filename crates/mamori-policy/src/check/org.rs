//! 6(1) 組織体制: every 部局 has a 情報セキュリティ責任者, every 課 a 情報セキュリティ管理者, the city-wide posts are
//! filled, and nobody holds a post after leaving or moving away (人事異動). Only units within the policy's scope
//! (4(1)) that exist today are checked.

use super::{Check, Context, Findings, PostFacts, Severity, Subject, SubjectKind, UnitFacts};
use crate::{AssignmentKind, Lang, StaticText, StatutoryRole, Text, UnitLevel};

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "org.city_post_vacant",
        clause: "6(1)",
        severity: Severity::Critical,
        subject: SubjectKind::Municipality,
        title: StaticText::new(
            "CISO・統括情報セキュリティ責任者の不在",
            "CISO or chief officer not appointed",
        ),
        rule: StaticText::new(
            "最高情報セキュリティ責任者（CISO）と統括情報セキュリティ責任者を置く。",
            "The city appoints a Chief Information Security Officer (CISO) and a chief information security officer (統括).",
        ),
        fix: StaticText::new(
            "役割の任命で、空いている役職に職員を任命してください。",
            "Appoint a member of staff to the vacant post under roles.",
        ),
        run: city_post_vacant,
    },
    Check {
        id: "org.bureau_officer_missing",
        clause: "6(1)",
        severity: Severity::High,
        subject: SubjectKind::OrgUnit,
        title: StaticText::new(
            "情報セキュリティ責任者のいない部局",
            "部局 without an information security officer",
        ),
        rule: StaticText::new(
            "各部局に、その長を情報セキュリティ責任者として置く。",
            "Each 部局 has its head as its information security officer.",
        ),
        fix: StaticText::new(
            "部局の長を情報セキュリティ責任者に任命してください。",
            "Appoint the head of the 部局 as its information security officer.",
        ),
        run: bureau_officer_missing,
    },
    Check {
        id: "org.division_manager_missing",
        clause: "6(1)",
        severity: Severity::Medium,
        subject: SubjectKind::OrgUnit,
        title: StaticText::new(
            "情報セキュリティ管理者のいない課",
            "課 without an information security manager",
        ),
        rule: StaticText::new(
            "各課に、その長を情報セキュリティ管理者として置く。",
            "Each 課 has its head as its information security manager.",
        ),
        fix: StaticText::new(
            "課の長を情報セキュリティ管理者に任命してください。",
            "Appoint the head of the 課 as its information security manager.",
        ),
        run: division_manager_missing,
    },
    Check {
        id: "org.post_holder_left",
        clause: "6(1)",
        severity: Severity::High,
        subject: SubjectKind::Post,
        title: StaticText::new(
            "退職した職員が就いたままの役職",
            "Post held by someone who has left",
        ),
        rule: StaticText::new(
            "組織体制の役職には在職している職員が就く。退職したときは後任を任命する。",
            "Posts of the security organisation are held by serving staff; when a holder leaves, a successor is appointed.",
        ),
        fix: StaticText::new(
            "任命を終了し、後任を任命してください。",
            "End the appointment and appoint a successor.",
        ),
        run: post_holder_left,
    },
    Check {
        id: "org.post_holder_moved",
        clause: "6(1)",
        severity: Severity::Medium,
        subject: SubjectKind::Post,
        title: StaticText::new(
            "異動した職員が就いたままの役職",
            "Post held by someone who has moved",
        ),
        rule: StaticText::new(
            "部局・課の役職（本務）には、その部局・課に所属する職員が就く。人事異動の後は任命を改める。",
            "A 部局's or 課's post (as a primary appointment) is held by someone working in that unit; after 人事異動 the appointment is renewed.",
        ),
        fix: StaticText::new(
            "異動先の職員の任命を終了し、現在の長を任命してください（兼務・代理なら任命の種別を改めてください）。",
            "End the appointment of the person who moved and appoint the unit's current head (or record it as concurrent or acting).",
        ),
        run: post_holder_moved,
    },
];

fn unit_subject(unit: &UnitFacts) -> (Subject, String) {
    (
        Subject {
            kind: SubjectKind::OrgUnit,
            id: unit.id,
            label: unit.path.clone(),
            unit_id: Some(unit.id),
        },
        format!("/org/units/{}", unit.id),
    )
}

fn post_subject(cx: &Context<'_>, post: &PostFacts) -> (Subject, String) {
    let unit = cx.unit(post.unit_id).map_or("", |u| u.path.as_str());
    let holder = cx.staff(post.staff_id).map_or("", |s| s.label.as_str());
    let label = format!("{} {unit} {holder}", post.role.name(Lang::Ja));
    (
        Subject {
            kind: SubjectKind::Post,
            id: post.id,
            label: label.split_whitespace().collect::<Vec<_>>().join(" "),
            unit_id: Some(post.unit_id),
        },
        format!("/staff/{}", post.staff_id),
    )
}

/// A 部局 is a 部, or an organ (教育委員会, 消防局 …) that has no 部 of its own.
fn is_bureau(cx: &Context<'_>, unit: &UnitFacts) -> bool {
    match unit.level {
        UnitLevel::Bureau => true,
        UnitLevel::Organ => !cx.has_child_at(unit, UnitLevel::Bureau),
        _ => false,
    }
}

fn city_post_vacant(cx: &Context<'_>, out: &mut Findings<'_>) {
    let roots = cx
        .units_in_force()
        .filter(|u| u.level == UnitLevel::Municipality);
    for root in roots {
        for role in [StatutoryRole::Ciso, StatutoryRole::ChiefOfficer] {
            if cx.posts_at(role, root.id).is_empty() {
                let (subject, _) = unit_subject(root);
                out.push(
                    Subject {
                        kind: SubjectKind::Municipality,
                        ..subject
                    },
                    "/roles/new".to_owned(),
                    Text::new(
                        format!("{}が任命されていません。", role.name(Lang::Ja)),
                        format!("No {} is appointed.", role.name(Lang::En)),
                    ),
                );
            }
        }
    }
}

fn unit_without(
    cx: &Context<'_>,
    out: &mut Findings<'_>,
    role: StatutoryRole,
    applies: impl Fn(&UnitFacts) -> bool,
) {
    for unit in cx.units_in_force().filter(|u| applies(u)) {
        if cx.posts_at(role, unit.id).is_empty() {
            let (subject, link) = unit_subject(unit);
            out.push(
                subject,
                link,
                Text::new(
                    format!("{}に{}がいません。", unit.path, role.name(Lang::Ja)),
                    format!("{} has no {}.", unit.path, role.name(Lang::En)),
                ),
            );
        }
    }
}

fn bureau_officer_missing(cx: &Context<'_>, out: &mut Findings<'_>) {
    unit_without(cx, out, StatutoryRole::BureauOfficer, |u| is_bureau(cx, u));
}

fn division_manager_missing(cx: &Context<'_>, out: &mut Findings<'_>) {
    unit_without(cx, out, StatutoryRole::DivisionManager, |u| {
        u.level == UnitLevel::Division
    });
}

fn post_holder_left(cx: &Context<'_>, out: &mut Findings<'_>) {
    for post in &cx.snapshot().posts {
        if cx.staff(post.staff_id).is_some_and(|s| s.active) {
            continue;
        }
        let (subject, link) = post_subject(cx, post);
        out.push(
            subject,
            link,
            Text::new(
                format!(
                    "{}に就いている職員は在職していません。",
                    post.role.name(Lang::Ja)
                ),
                format!(
                    "The {} is held by someone no longer serving.",
                    post.role.name(Lang::En)
                ),
            ),
        );
    }
}

fn post_holder_moved(cx: &Context<'_>, out: &mut Findings<'_>) {
    let unit_posts = cx.snapshot().posts.iter().filter(|p| {
        p.kind == AssignmentKind::Primary
            && matches!(
                p.role,
                StatutoryRole::BureauOfficer | StatutoryRole::DivisionManager
            )
    });
    for post in unit_posts {
        let Some(holder) = cx.staff(post.staff_id).filter(|s| s.active) else {
            continue; // left: post_holder_left reports it
        };
        if cx.is_within(holder.unit_id, post.unit_id) {
            continue;
        }
        let post_unit = cx.unit(post.unit_id).map_or("", |u| u.path.as_str());
        let now_in = cx.unit(holder.unit_id).map_or("", |u| u.path.as_str());
        let (subject, link) = post_subject(cx, post);
        out.push(
            subject,
            link,
            Text::new(
                format!(
                    "{post_unit}の{}（本務）は、{now_in}に所属する職員のままです。",
                    post.role.name(Lang::Ja)
                ),
                format!(
                    "The {} of {post_unit} (primary) is held by someone now working in {now_in}.",
                    post.role.name(Lang::En)
                ),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use chrono::NaiveDate;

    use super::super::{Snapshot, StaffFacts, check_by_id};
    use super::*;
    use crate::Scheme;

    fn unit(id: i64, parent: Option<i64>, level: UnitLevel, path: &str) -> UnitFacts {
        UnitFacts {
            id,
            code: id.to_string(),
            path: path.into(),
            parent_id: parent,
            level,
            in_scope: true,
            ..UnitFacts::default()
        }
    }

    fn staff(id: i64, unit_id: i64, active: bool) -> StaffFacts {
        StaffFacts {
            id,
            label: format!("{id:05} 職員{id}"),
            active,
            unit_id,
        }
    }

    fn post(id: i64, role: StatutoryRole, unit_id: i64, staff_id: i64) -> PostFacts {
        PostFacts {
            id,
            role,
            unit_id,
            staff_id,
            kind: AssignmentKind::Primary,
        }
    }

    /// A city that breaks no rule: root 1; 市長部局 2 (organ) with 総務部 3 and its 情報政策課 4; 教育委員会 5
    /// (an organ with no 部) and its 学校教育課 6; a 係 7 under 4.
    fn city() -> Snapshot<'static> {
        use StatutoryRole::*;
        Snapshot {
            today: NaiveDate::from_ymd_opt(2026, 5, 19).unwrap(),
            scheme: Scheme::builtin_by_id("mic-2024").unwrap(),
            units: vec![
                unit(1, None, UnitLevel::Municipality, "サンプル市"),
                unit(2, Some(1), UnitLevel::Organ, "市長部局"),
                unit(3, Some(2), UnitLevel::Bureau, "市長部局/総務部"),
                unit(4, Some(3), UnitLevel::Division, "市長部局/総務部/情報政策課"),
                unit(5, Some(1), UnitLevel::Organ, "教育委員会"),
                unit(6, Some(5), UnitLevel::Division, "教育委員会/学校教育課"),
                unit(7, Some(4), UnitLevel::Section, "市長部局/総務部/情報政策課/情報係"),
            ],
            staff: vec![
                staff(10, 1, true),
                staff(11, 4, true),
                staff(12, 3, true),
                staff(13, 7, true),
                staff(14, 5, true),
                staff(15, 6, true),
            ],
            posts: vec![
                post(100, Ciso, 1, 10),
                post(101, ChiefOfficer, 1, 11),
                post(102, BureauOfficer, 3, 12),
                post(103, DivisionManager, 4, 13),
                post(104, BureauOfficer, 5, 14),
                post(105, DivisionManager, 6, 15),
            ],
            accounts: Vec::new(),
            assets: Vec::new(),
            network: Default::default(),
        }
    }

    fn ids(snapshot: &Snapshot<'_>, check: &str) -> Vec<i64> {
        check_by_id(check)
            .unwrap()
            .evaluate(snapshot)
            .iter()
            .map(|f| f.subject.id)
            .collect()
    }

    #[test]
    fn a_complete_organisation_has_no_findings() {
        let snapshot = city();
        for check in CHECKS {
            assert_eq!(check.evaluate(&snapshot), Vec::new(), "{}", check.id);
        }
    }

    #[test]
    fn a_vacant_city_wide_post_is_reported_against_the_municipality() {
        let mut snapshot = city();
        snapshot.posts.retain(|p| p.role != StatutoryRole::Ciso);
        let findings = check_by_id("org.city_post_vacant")
            .unwrap()
            .evaluate(&snapshot);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject.kind, SubjectKind::Municipality);
        assert!(findings[0].message.get(Lang::Ja).contains("CISO"));
    }

    #[test]
    fn a_bureau_or_an_organ_without_bureaus_needs_an_officer() {
        let mut snapshot = city();
        snapshot.posts.retain(|p| p.role != StatutoryRole::BureauOfficer);
        // 総務部 and 教育委員会 (no 部 of its own); not 市長部局, which has 部.
        assert_eq!(ids(&snapshot, "org.bureau_officer_missing"), vec![3, 5]);
    }

    #[test]
    fn a_division_without_a_manager_is_reported_unless_abolished_or_out_of_scope() {
        let mut snapshot = city();
        snapshot
            .posts
            .retain(|p| p.role != StatutoryRole::DivisionManager);
        assert_eq!(ids(&snapshot, "org.division_manager_missing"), vec![4, 6]);
        snapshot.units[3].abolished = true;
        snapshot.units[5].in_scope = false;
        assert!(ids(&snapshot, "org.division_manager_missing").is_empty());
    }

    #[test]
    fn a_post_holder_who_left_is_reported() {
        let mut snapshot = city();
        snapshot.staff[3].active = false; // staff 13, manager of 情報政策課
        assert_eq!(ids(&snapshot, "org.post_holder_left"), vec![103]);
        // The post is still filled, so the 課 itself is not reported twice.
        assert!(ids(&snapshot, "org.division_manager_missing").is_empty());
        // Unknown staff counts as gone.
        snapshot.posts[0].staff_id = 999;
        assert_eq!(ids(&snapshot, "org.post_holder_left"), vec![100, 103]);
    }

    #[test]
    fn a_primary_post_holder_who_moved_is_reported_but_not_a_concurrent_one() {
        let mut snapshot = city();
        snapshot.staff[3].unit_id = 6; // manager of 情報政策課 moved to 学校教育課
        let findings = check_by_id("org.post_holder_moved")
            .unwrap()
            .evaluate(&snapshot);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject.id, 103);
        assert!(findings[0].message.get(Lang::Ja).contains("学校教育課"));
        snapshot.posts[3].kind = AssignmentKind::Concurrent;
        assert!(ids(&snapshot, "org.post_holder_moved").is_empty());
        // Working in a 係 under the 課 is within it; city-wide posts are never "moved".
        snapshot.staff[0].unit_id = 6;
        assert!(ids(&snapshot, "org.post_holder_moved").is_empty());
    }
}
