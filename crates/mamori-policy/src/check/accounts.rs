//! 6(6) 技術的セキュリティ (access control) and 6(8) 業務委託: Mamori's own user accounts. Disabled accounts are
//! skipped: they cannot sign in.

use super::{AccountFacts, Check, Context, Findings, Severity, Subject, SubjectKind};
use crate::{StaticText, Text};

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "account.privileged_without_mfa",
        clause: "6(6)",
        severity: Severity::High,
        subject: SubjectKind::Account,
        title: StaticText::new(
            "二要素認証のない特権アカウント",
            "Privileged account without a second factor",
        ),
        rule: StaticText::new(
            "システム管理者、CISO、統括情報セキュリティ責任者のアカウントは二要素認証を使う。",
            "The accounts of system administrators, the CISO and the chief officer use a second factor.",
        ),
        fix: StaticText::new(
            "本人に次回のサインインで二要素認証を登録してもらってください。",
            "Have the account holder enrol a second factor at their next sign-in.",
        ),
        run: privileged_without_mfa,
    },
    Check {
        id: "account.not_linked_to_staff",
        clause: "6(6)",
        severity: Severity::Medium,
        subject: SubjectKind::Account,
        title: StaticText::new(
            "在職職員に結び付かないアカウント",
            "Account not linked to a serving member of staff",
        ),
        rule: StaticText::new(
            "職員のアカウントは在職している職員に結び付け、退職・異動で不要になったものは停止する。",
            "A staff account belongs to a serving member of staff; one no longer needed after leaving is disabled.",
        ),
        fix: StaticText::new(
            "アカウントを職員に結び付けるか、停止してください。",
            "Link the account to its member of staff, or disable it.",
        ),
        run: not_linked_to_staff,
    },
    Check {
        id: "account.outsider_expired",
        clause: "6(8)",
        severity: Severity::High,
        subject: SubjectKind::Account,
        title: StaticText::new(
            "有効期限を過ぎても使える外部の者のアカウント",
            "Outsider account still usable after its end date",
        ),
        rule: StaticText::new(
            "委託先など外部の者のアカウントは、契約等の期間が終われば停止する。",
            "An outsider's account (contractor, external auditor) is disabled when their engagement ends.",
        ),
        fix: StaticText::new(
            "アカウントを停止するか、延長が承認されていれば有効期限を改めてください。",
            "Disable the account, or if an extension was approved, set the new end date.",
        ),
        run: outsider_expired,
    },
];

fn report(cx: &Context<'_>, out: &mut Findings<'_>, account: &AccountFacts, message: Text) {
    out.push(
        Subject {
            kind: SubjectKind::Account,
            id: account.id,
            label: account.login.clone(),
            unit_id: account
                .staff_id
                .and_then(|id| cx.staff(id))
                .map(|s| s.unit_id),
        },
        format!("/accounts/{}", account.id),
        message,
    );
}

fn usable<'a>(cx: &Context<'a>) -> impl Iterator<Item = &'a AccountFacts> + 'a {
    cx.snapshot().accounts.iter().filter(|a| !a.disabled)
}

fn privileged_without_mfa(cx: &Context<'_>, out: &mut Findings<'_>) {
    for account in usable(cx).filter(|a| !a.mfa_enrolled) {
        let role = account
            .staff_id
            .and_then(|id| cx.roles_of(id).iter().find(|r| r.requires_mfa()));
        let message = match (account.system_admin, role) {
            (true, _) => Text::new(
                "システム管理者ですが、二要素認証が登録されていません。",
                "A system administrator with no second factor enrolled.",
            ),
            (false, Some(role)) => Text::new(
                format!(
                    "{}ですが、二要素認証が登録されていません。",
                    role.name(crate::Lang::Ja)
                ),
                format!(
                    "Held by the {}, with no second factor enrolled.",
                    role.name(crate::Lang::En)
                ),
            ),
            (false, None) => continue,
        };
        report(cx, out, account, message);
    }
}

fn not_linked_to_staff(cx: &Context<'_>, out: &mut Findings<'_>) {
    for account in usable(cx).filter(|a| !a.outsider) {
        let message = match account.staff_id.map(|id| cx.staff(id)) {
            None => Text::new(
                "どの職員にも結び付いていません。",
                "Not linked to any member of staff.",
            ),
            Some(None) => Text::new(
                "結び付いた職員の記録がありません。",
                "The linked staff record does not exist.",
            ),
            Some(Some(staff)) if !staff.active => Text::new(
                format!("結び付いた職員（{}）は在職していません。", staff.label),
                format!("The linked member of staff ({}) is no longer serving.", staff.label),
            ),
            Some(Some(_)) => continue,
        };
        report(cx, out, account, message);
    }
}

fn outsider_expired(cx: &Context<'_>, out: &mut Findings<'_>) {
    for account in usable(cx).filter(|a| a.outsider) {
        if let Some(until) = account.valid_until.filter(|d| *d < cx.today()) {
            report(
                cx,
                out,
                account,
                Text::new(
                    format!("有効期限（{until}）を過ぎていますが停止されていません。"),
                    format!("Its end date ({until}) has passed but it is not disabled."),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use chrono::NaiveDate;

    use super::super::{PostFacts, Snapshot, StaffFacts, check_by_id};
    use super::*;
    use crate::{AssignmentKind, Scheme, StatutoryRole};

    fn account(id: i64, staff_id: Option<i64>) -> AccountFacts {
        AccountFacts {
            id,
            login: format!("user{id}"),
            staff_id,
            mfa_enrolled: true,
            ..AccountFacts::default()
        }
    }

    fn snapshot(accounts: Vec<AccountFacts>) -> Snapshot<'static> {
        Snapshot {
            today: NaiveDate::from_ymd_opt(2026, 5, 19).unwrap(),
            scheme: Scheme::builtin_by_id("mic-2024").unwrap(),
            units: Vec::new(),
            staff: vec![
                StaffFacts {
                    id: 10,
                    label: "00010 副市長".into(),
                    active: true,
                    unit_id: 1,
                },
                StaffFacts {
                    id: 11,
                    label: "00011 退職者".into(),
                    active: false,
                    unit_id: 1,
                },
            ],
            posts: vec![PostFacts {
                id: 1,
                role: StatutoryRole::Ciso,
                unit_id: 1,
                staff_id: 10,
                kind: AssignmentKind::Primary,
            }],
            accounts,
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
    fn well_kept_accounts_have_no_findings() {
        let mut outsider = account(3, None);
        outsider.outsider = true;
        outsider.valid_until = NaiveDate::from_ymd_opt(2026, 5, 19); // today is its last day
        let snapshot = snapshot(vec![account(1, Some(10)), outsider]);
        for check in CHECKS {
            assert_eq!(check.evaluate(&snapshot), Vec::new(), "{}", check.id);
        }
    }

    #[test]
    fn a_privileged_account_without_a_second_factor_is_reported() {
        let mut ciso = account(1, Some(10));
        ciso.mfa_enrolled = false;
        let mut admin = account(2, None);
        admin.system_admin = true;
        admin.mfa_enrolled = false;
        let mut clerk = account(3, None);
        clerk.mfa_enrolled = false; // not privileged
        let mut disabled = admin.clone();
        disabled.id = 4;
        disabled.disabled = true;
        let snapshot = snapshot(vec![ciso, admin, clerk, disabled]);
        assert_eq!(ids(&snapshot, "account.privileged_without_mfa"), vec![1, 2]);
    }

    #[test]
    fn an_account_of_nobody_or_of_a_leaver_is_reported() {
        let mut outsider = account(5, None);
        outsider.outsider = true;
        let snapshot = snapshot(vec![
            account(1, Some(10)),
            account(2, None),
            account(3, Some(11)),
            account(4, Some(99)),
            outsider,
        ]);
        assert_eq!(ids(&snapshot, "account.not_linked_to_staff"), vec![2, 3, 4]);
    }

    #[test]
    fn an_outsider_account_past_its_end_date_is_reported_until_disabled() {
        let mut expired = account(1, None);
        expired.outsider = true;
        expired.valid_until = NaiveDate::from_ymd_opt(2026, 5, 18);
        let mut snapshot = snapshot(vec![expired]);
        assert_eq!(ids(&snapshot, "account.outsider_expired"), vec![1]);
        snapshot.accounts[0].disabled = true;
        assert!(ids(&snapshot, "account.outsider_expired").is_empty());
    }
}
