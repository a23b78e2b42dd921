//! 6(3) システム全体の強靱性 (三層の対策), over the zone register: flows out of the マイナンバー利用事務系 (6(3)①,
//! 2(12)), LGWAN接続系 ↔ インターネット接続系 flows that bypass 無害化 (6(3)②, 2(15)–(16)), the measures a My Number
//! system must have (6(3)① 二要素認証, 持ち出し不可設定), and whether the segmentation proof (`netcheck`) is
//! current and clean for every device between the zones. Retired systems and flows are skipped.

use std::collections::HashMap;

use super::{
    Check, Context, DeviceFacts, FlowFacts, Findings, Severity, Subject, SubjectKind, SystemFacts,
};
use crate::{Lang, StaticText, Text, Zone};

/// The zone ids the basic policy names (2(12)–(14)).
const MY_NUMBER: &str = "my_number";
const LGWAN: &str = "lgwan";
const INTERNET: &str = "internet";

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "flow.my_number_outbound",
        clause: "6(3)①",
        severity: Severity::High,
        subject: SubjectKind::Flow,
        title: StaticText::new(
            "マイナンバー利用事務系から他の系への通信",
            "Flow out of the My Number zone",
        ),
        rule: StaticText::new(
            "マイナンバー利用事務系は、原則として他の領域と通信できないようにする（2(12)）。例外は CISO が承認した例外措置による。",
            "The My Number zone does not communicate with other zones, in principle (2(12)); a departure needs an exception approved by the CISO.",
        ),
        fix: StaticText::new(
            "通信をやめるか、CISO の承認を得て例外措置を記録してください。",
            "Stop the flow, or record an exception approved by the CISO.",
        ),
        run: my_number_outbound,
    },
    Check {
        id: "flow.lgwan_internet_unsanitised",
        clause: "6(3)②",
        severity: Severity::Critical,
        subject: SubjectKind::Flow,
        title: StaticText::new(
            "無害化を経ない LGWAN接続系とインターネット接続系の通信",
            "LGWAN–Internet flow not through a sanitiser",
        ),
        rule: StaticText::new(
            "LGWAN接続系とインターネット接続系の間の通信は経路を分割し、無害化通信を経由させる（2(15)、2(16)）。",
            "Flows between the LGWAN and Internet zones are separated and pass through sanitisation (2(15), 2(16)).",
        ),
        fix: StaticText::new(
            "通信経路に無害化システムを指定するか、通信をやめてください。",
            "Route the flow through a sanitising system, or stop it.",
        ),
        run: lgwan_internet_unsanitised,
    },
    Check {
        id: "system.my_number_measures",
        clause: "6(3)①",
        severity: Severity::High,
        subject: SubjectKind::System,
        title: StaticText::new(
            "二要素認証・持ち出し不可設定のないマイナンバー利用事務系システム",
            "My Number system without two-factor authentication or export lock",
        ),
        rule: StaticText::new(
            "マイナンバー利用事務系の端末・サーバは二要素認証を使い、情報の持ち出し不可設定を行う。",
            "Systems of the My Number zone use two-factor authentication and block taking information out.",
        ),
        fix: StaticText::new(
            "二要素認証と持ち出し不可設定を導入し、台帳を更新してください。",
            "Put two-factor authentication and the export lock in place, then update the register.",
        ),
        run: my_number_measures,
    },
    Check {
        id: "device.netcheck_violation",
        clause: "6(3)",
        severity: Severity::Critical,
        subject: SubjectKind::Device,
        title: StaticText::new(
            "系の分離を破る通信を通す機器",
            "Device that lets traffic cross between zones",
        ),
        rule: StaticText::new(
            "系の間の機器は、ゾーン定義で許可した通信のほかは通さない。最新の netcheck で違反がないこと。",
            "Devices between zones pass only the services the zone map allows; the latest netcheck finds no violation.",
        ),
        fix: StaticText::new(
            "netcheck の反例が示すルールを直し、設定を取り込み直して netcheck を実行してください。",
            "Fix the rule the netcheck counterexample names, upload the configuration again and run netcheck.",
        ),
        run: netcheck_violation,
    },
    Check {
        id: "device.netcheck_stale",
        clause: "6(3)",
        severity: Severity::Medium,
        subject: SubjectKind::Device,
        title: StaticText::new(
            "netcheck が最新の設定・ゾーン定義より古い機器",
            "Device whose netcheck is older than its configuration or the zone map",
        ),
        rule: StaticText::new(
            "設定やゾーン定義を変えたら、netcheck で系の分離を確かめ直す。",
            "After a configuration or the zone map changes, the separation is proved again with netcheck.",
        ),
        fix: StaticText::new(
            "「netcheck を実行」で確かめ直してください。",
            "Run netcheck again.",
        ),
        run: netcheck_stale,
    },
];

/// A zone as people read it: the policy's name for its three zones, the id for others the map declares.
fn zone_label(id: &str, lang: Lang) -> String {
    Zone::parse(id).map_or_else(|_| id.to_owned(), |z| z.name(lang).to_owned())
}

fn systems<'a>(cx: &Context<'a>) -> HashMap<i64, &'a SystemFacts> {
    cx.snapshot()
        .network
        .systems
        .iter()
        .map(|s| (s.id, s))
        .collect()
}

/// Flows in force between systems in force, with both ends.
fn live_flows<'a>(
    cx: &Context<'a>,
    systems: &HashMap<i64, &'a SystemFacts>,
) -> Vec<(&'a FlowFacts, &'a SystemFacts, &'a SystemFacts)> {
    cx.snapshot()
        .network
        .flows
        .iter()
        .filter(|f| !f.retired)
        .filter_map(|f| {
            let from = systems.get(&f.from_system_id).filter(|s| !s.retired)?;
            let to = systems.get(&f.to_system_id).filter(|s| !s.retired)?;
            Some((f, *from, *to))
        })
        .collect()
}

fn report_flow(
    out: &mut Findings<'_>,
    flow: &FlowFacts,
    from: &SystemFacts,
    to: &SystemFacts,
    message: Text,
) {
    out.push(
        Subject {
            kind: SubjectKind::Flow,
            id: flow.id,
            label: format!("{} → {} ({})", from.name, to.name, flow.service),
            unit_id: from.owner_unit_id,
        },
        format!("/flows/{}", flow.id),
        message,
    );
}

fn my_number_outbound(cx: &Context<'_>, out: &mut Findings<'_>) {
    let systems = systems(cx);
    for (flow, from, to) in live_flows(cx, &systems) {
        if from.zone == MY_NUMBER && to.zone != MY_NUMBER {
            report_flow(
                out,
                flow,
                from,
                to,
                Text::new(
                    format!(
                        "マイナンバー利用事務系の「{}」から{}の「{}」への通信です。",
                        from.name,
                        zone_label(&to.zone, Lang::Ja),
                        to.name
                    ),
                    format!(
                        "A flow from {} in the My Number zone to {} in the {}.",
                        from.name,
                        to.name,
                        zone_label(&to.zone, Lang::En)
                    ),
                ),
            );
        }
    }
}

fn lgwan_internet_unsanitised(cx: &Context<'_>, out: &mut Findings<'_>) {
    let systems = systems(cx);
    for (flow, from, to) in live_flows(cx, &systems) {
        let crosses = matches!(
            (from.zone.as_str(), to.zone.as_str()),
            (LGWAN, INTERNET) | (INTERNET, LGWAN)
        );
        let sanitised = flow
            .via_system_id
            .and_then(|id| systems.get(&id))
            .is_some_and(|via| via.sanitiser && !via.retired);
        if crosses && !sanitised {
            report_flow(
                out,
                flow,
                from,
                to,
                Text::new(
                    format!(
                        "「{}」（{}）から「{}」（{}）への通信が無害化システムを経由していません。",
                        from.name,
                        zone_label(&from.zone, Lang::Ja),
                        to.name,
                        zone_label(&to.zone, Lang::Ja)
                    ),
                    format!(
                        "The flow from {} ({}) to {} ({}) does not pass through a sanitising system.",
                        from.name,
                        zone_label(&from.zone, Lang::En),
                        to.name,
                        zone_label(&to.zone, Lang::En)
                    ),
                ),
            );
        }
    }
}

fn my_number_measures(cx: &Context<'_>, out: &mut Findings<'_>) {
    let live = cx
        .snapshot()
        .network
        .systems
        .iter()
        .filter(|s| !s.retired && s.zone == MY_NUMBER);
    for system in live {
        let message = match (system.mfa, system.no_export) {
            (true, true) => continue,
            (false, true) => Text::new("二要素認証が導入されていません。", "No two-factor authentication."),
            (true, false) => Text::new(
                "持ち出し不可設定が行われていません。",
                "Taking information out is not blocked.",
            ),
            (false, false) => Text::new(
                "二要素認証も持ち出し不可設定もありません。",
                "Neither two-factor authentication nor the export lock.",
            ),
        };
        out.push(
            Subject {
                kind: SubjectKind::System,
                id: system.id,
                label: system.name.clone(),
                unit_id: system.owner_unit_id,
            },
            format!("/systems/{}", system.id),
            message,
        );
    }
}

fn report_device(out: &mut Findings<'_>, device: &DeviceFacts, message: Text) {
    out.push(
        Subject {
            kind: SubjectKind::Device,
            id: device.id,
            label: device.name.clone(),
            unit_id: None,
        },
        "/network".to_owned(),
        message,
    );
}

fn netcheck_violation(cx: &Context<'_>, out: &mut Findings<'_>) {
    for device in &cx.snapshot().network.devices {
        if let Some((at, true)) = device.checked {
            report_device(
                out,
                device,
                Text::new(
                    format!(
                        "{} の netcheck で、許可されていない通信がこの機器を通ることが示されました。",
                        at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    format!(
                        "The netcheck of {} shows traffic the zone map does not allow passing through this device.",
                        at.format("%Y-%m-%d %H:%M UTC")
                    ),
                ),
            );
        }
    }
}

fn netcheck_stale(cx: &Context<'_>, out: &mut Findings<'_>) {
    let network = &cx.snapshot().network;
    for device in &network.devices {
        let message = match (device.checked, device.config_uploaded) {
            (None, _) => Text::new(
                "netcheck がまだ実行されていません。",
                "netcheck has not been run for it yet.",
            ),
            (Some((at, _)), Some(uploaded)) if uploaded > at => Text::new(
                "最後の netcheck の後に設定が取り込まれています。",
                "A configuration was uploaded after its last netcheck.",
            ),
            (Some((at, _)), _) if network.map_uploaded.is_some_and(|m| m > at) => Text::new(
                "最後の netcheck の後にゾーン定義が変わっています。",
                "The zone map changed after its last netcheck.",
            ),
            _ => continue,
        };
        report_device(out, device, message);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};

    use super::super::{NetworkFacts, Snapshot, check_by_id};
    use super::*;
    use crate::Scheme;

    fn system(id: i64, zone: &str) -> SystemFacts {
        SystemFacts {
            id,
            name: format!("system{id}"),
            zone: zone.to_owned(),
            mfa: true,
            no_export: true,
            ..SystemFacts::default()
        }
    }

    fn flow(id: i64, from: i64, to: i64, via: Option<i64>) -> FlowFacts {
        FlowFacts {
            id,
            from_system_id: from,
            to_system_id: to,
            service: "tcp 25".to_owned(),
            via_system_id: via,
            retired: false,
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 19, hour, 0, 0).unwrap()
    }

    fn snapshot(network: NetworkFacts) -> Snapshot<'static> {
        Snapshot {
            today: NaiveDate::from_ymd_opt(2026, 5, 19).unwrap(),
            scheme: Scheme::builtin_by_id("mic-2024").unwrap(),
            units: Vec::new(),
            staff: Vec::new(),
            posts: Vec::new(),
            accounts: Vec::new(),
            assets: Vec::new(),
            network,
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

    /// 1 住民記録 (my_number), 2 財務会計 (lgwan), 3 Web (internet), 4 無害化中継 (sanitiser zone), 5 another
    /// my_number system.
    fn city() -> Vec<SystemFacts> {
        let mut relay = system(4, "sanitiser");
        relay.sanitiser = true;
        vec![
            system(1, "my_number"),
            system(2, "lgwan"),
            system(3, "internet"),
            relay,
            system(5, "my_number"),
        ]
    }

    #[test]
    fn a_well_kept_register_has_no_findings() {
        let snapshot = snapshot(NetworkFacts {
            systems: city(),
            flows: vec![
                flow(1, 1, 5, None),    // within the My Number zone
                flow(2, 3, 2, Some(4)), // internet → LGWAN through the relay
                flow(3, 2, 1, None),    // into the My Number zone is not "out of" it
            ],
            devices: vec![DeviceFacts {
                id: 7,
                name: "core-fw".to_owned(),
                config_uploaded: Some(at(9)),
                checked: Some((at(10), false)),
            }],
            map_uploaded: Some(at(8)),
        });
        for check in CHECKS {
            assert_eq!(check.evaluate(&snapshot), Vec::new(), "{}", check.id);
        }
    }

    #[test]
    fn a_flow_out_of_the_my_number_zone_is_a_finding() {
        let mut retired = flow(3, 1, 3, None);
        retired.retired = true;
        let snapshot = snapshot(NetworkFacts {
            systems: city(),
            flows: vec![flow(1, 1, 2, None), flow(2, 1, 5, None), retired],
            ..NetworkFacts::default()
        });
        assert_eq!(ids(&snapshot, "flow.my_number_outbound"), vec![1]);
    }

    #[test]
    fn lgwan_to_internet_flow_without_sanitiser_is_a_finding_either_way() {
        let mut systems = city();
        systems.push(system(6, "lgwan")); // not a sanitiser
        let snapshot = snapshot(NetworkFacts {
            systems,
            flows: vec![
                flow(1, 2, 3, None),
                flow(2, 3, 2, None),
                flow(3, 2, 3, Some(6)),
                flow(4, 2, 3, Some(4)),
            ],
            ..NetworkFacts::default()
        });
        assert_eq!(
            ids(&snapshot, "flow.lgwan_internet_unsanitised"),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn a_flow_finding_names_the_zones_as_the_policy_does() {
        let snapshot = snapshot(NetworkFacts {
            systems: city(),
            flows: vec![flow(1, 2, 3, None)],
            ..NetworkFacts::default()
        });
        let found = check_by_id("flow.lgwan_internet_unsanitised")
            .unwrap()
            .evaluate(&snapshot);
        let message = found[0].message.get(Lang::Ja);
        assert!(message.contains("LGWAN接続系") && message.contains("インターネット接続系"), "{message}");
    }

    #[test]
    fn a_retired_sanitiser_no_longer_covers_a_flow() {
        let mut systems = city();
        systems[3].retired = true;
        let snapshot = snapshot(NetworkFacts {
            systems,
            flows: vec![flow(1, 3, 2, Some(4))],
            ..NetworkFacts::default()
        });
        assert_eq!(ids(&snapshot, "flow.lgwan_internet_unsanitised"), vec![1]);
    }

    #[test]
    fn a_my_number_system_without_mfa_or_export_lock_is_a_finding() {
        let mut systems = city();
        systems[0].mfa = false;
        systems[4].no_export = false;
        let mut lgwan = system(8, "lgwan");
        lgwan.mfa = false; // only the My Number zone requires it
        systems.push(lgwan);
        let snapshot = snapshot(NetworkFacts {
            systems,
            ..NetworkFacts::default()
        });
        assert_eq!(ids(&snapshot, "system.my_number_measures"), vec![1, 5]);
    }

    #[test]
    fn a_device_whose_latest_netcheck_found_a_violation_is_a_finding() {
        let device = |id, violation| DeviceFacts {
            id,
            name: format!("fw{id}"),
            config_uploaded: Some(at(9)),
            checked: Some((at(10), violation)),
        };
        let snapshot = snapshot(NetworkFacts {
            devices: vec![device(1, true), device(2, false)],
            ..NetworkFacts::default()
        });
        assert_eq!(ids(&snapshot, "device.netcheck_violation"), vec![1]);
        assert!(ids(&snapshot, "device.netcheck_stale").is_empty());
    }

    #[test]
    fn a_netcheck_older_than_a_config_or_the_map_or_missing_is_a_finding() {
        let device = |id, uploaded, checked: Option<u32>| DeviceFacts {
            id,
            name: format!("fw{id}"),
            config_uploaded: Some(at(uploaded)),
            checked: checked.map(|h| (at(h), false)),
        };
        let snapshot = snapshot(NetworkFacts {
            devices: vec![
                device(1, 11, Some(10)), // config newer than the run
                device(2, 9, Some(10)),  // the map is newer than the run
                device(3, 9, None),      // never checked
            ],
            map_uploaded: Some(at(12)),
            ..NetworkFacts::default()
        });
        assert_eq!(ids(&snapshot, "device.netcheck_stale"), vec![1, 2, 3]);
        let current = Snapshot {
            network: NetworkFacts {
                devices: vec![device(4, 9, Some(13))],
                map_uploaded: Some(at(12)),
                ..NetworkFacts::default()
            },
            ..snapshot
        };
        assert!(ids(&current, "device.netcheck_stale").is_empty());
    }
}
