//! 和暦 (Japanese era dates) and 年度 (the fiscal year, April to March), as the city writes them.

use chrono::{Datelike, NaiveDate};

/// Eras from 明治 6 (the Gregorian calendar's adoption) on: (first day, Japanese name, English name).
const ERAS: [((i32, u32, u32), &str, &str); 5] = [
    ((2019, 5, 1), "令和", "Reiwa"),
    ((1989, 1, 8), "平成", "Heisei"),
    ((1926, 12, 25), "昭和", "Showa"),
    ((1912, 7, 30), "大正", "Taisho"),
    ((1873, 1, 1), "明治", "Meiji"),
];

/// A date shown in the Japanese era calendar, e.g. 令和8年5月19日.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarekiDate {
    era: usize,
    year: i32,
    month: u32,
    day: u32,
}

impl WarekiDate {
    /// The era date of a Gregorian date; `None` before 明治6年.
    pub fn from_date(date: NaiveDate) -> Option<Self> {
        ERAS.iter().enumerate().find_map(|(i, ((y, m, d), _, _))| {
            let start = NaiveDate::from_ymd_opt(*y, *m, *d)?;
            (date >= start).then(|| WarekiDate {
                era: i,
                year: date.year() - y + 1,
                month: date.month(),
                day: date.day(),
            })
        })
    }

    pub fn era_name(&self) -> &'static str {
        ERAS[self.era].1
    }

    pub fn era_year(&self) -> i32 {
        self.year
    }

    /// The Gregorian year in which this date's era began.
    fn era_start_year(&self) -> i32 {
        ERAS[self.era].0.0
    }

    /// 令和8年5月19日; the first year of an era is written 元年.
    pub fn to_japanese(&self) -> String {
        format!(
            "{}{}年{}月{}日",
            self.era_name(),
            year_ja(self.year),
            self.month,
            self.day
        )
    }
}

fn year_ja(year: i32) -> String {
    if year == 1 {
        "元".to_owned()
    } else {
        year.to_string()
    }
}

/// 年度: the fiscal year that starts on 1 April of `start_year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nendo {
    start_year: i32,
}

impl Nendo {
    pub fn of(date: NaiveDate) -> Self {
        let start_year = if date.month() >= 4 {
            date.year()
        } else {
            date.year() - 1
        };
        Nendo { start_year }
    }

    pub fn start_year(&self) -> i32 {
        self.start_year
    }

    pub fn first_day(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.start_year, 4, 1)
    }

    /// 令和8年度. A fiscal year that an era change cuts is named in the new era when the new era's first
    /// year is its start year (2019 → 令和元年度), otherwise in the era of its first day (1988 → 昭和63年度).
    pub fn to_japanese(&self) -> String {
        let last_day =
            NaiveDate::from_ymd_opt(self.start_year + 1, 3, 31).and_then(WarekiDate::from_date);
        let named = last_day
            .map(|w| (w.era_name(), self.start_year - w.era_start_year() + 1))
            .filter(|(_, year)| *year >= 1)
            .or_else(|| {
                self.first_day()
                    .and_then(WarekiDate::from_date)
                    .map(|w| (w.era_name(), w.era_year()))
            });
        match named {
            Some((era, year)) => format!("{era}{}年度", year_ja(year)),
            None => format!("{}年度", self.start_year),
        }
    }

    /// FY2026.
    pub fn to_english(&self) -> String {
        format!("FY{}", self.start_year)
    }
}

/// Parses a date the way Japanese sheets write it: 2026-05-19, 2026/5/19, 2026.5.19, 令和8年5月19日, 令和元年5月1日,
/// R8.5.19, R8/5/19, H31.4.30. Full-width digits are accepted. Anything else, or a day that does not exist, is `None`.
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    let s: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '／' => '/',
            '－' => '-',
            '．' => '.',
            _ => c,
        })
        .collect();
    let (era_start, rest) = era_prefix(&s);
    let parts: Vec<&str> = rest
        .trim_end_matches('日')
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let year: i32 = if *y == "元" { 1 } else { y.parse().ok()? };
    let (month, day): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    let year = match era_start {
        Some(start) if year >= 1 => start + year - 1,
        Some(_) => return None,
        None if y.len() == 4 => year,
        None => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    // An era date must fall inside that era's span (令和1年4月1日 does not exist).
    if era_start.is_some() {
        let w = WarekiDate::from_date(date)?;
        if w.era_year() != year - era_start.unwrap_or(year) + 1 {
            return None;
        }
    }
    Some(date)
}

fn era_prefix(s: &str) -> (Option<i32>, &str) {
    for ((y, _, _), ja, en) in ERAS {
        if let Some(rest) = s.strip_prefix(ja) {
            return (Some(y), rest);
        }
        let initial = &en[..1];
        if let Some(rest) = s
            .strip_prefix(initial)
            .or_else(|| s.strip_prefix(&initial.to_lowercase()))
        {
            return (Some(y), rest);
        }
    }
    (None, s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_policy_revision_date_reads_reiwa_8_may_19() {
        assert_eq!(
            WarekiDate::from_date(d(2026, 5, 19)).unwrap().to_japanese(),
            "令和8年5月19日"
        );
    }

    #[test]
    fn era_boundaries_and_first_years() {
        assert_eq!(
            WarekiDate::from_date(d(2019, 4, 30)).unwrap().to_japanese(),
            "平成31年4月30日"
        );
        assert_eq!(
            WarekiDate::from_date(d(2019, 5, 1)).unwrap().to_japanese(),
            "令和元年5月1日"
        );
        assert_eq!(
            WarekiDate::from_date(d(1989, 1, 7)).unwrap().to_japanese(),
            "昭和64年1月7日"
        );
        assert_eq!(
            WarekiDate::from_date(d(1989, 1, 8)).unwrap().to_japanese(),
            "平成元年1月8日"
        );
        assert!(WarekiDate::from_date(d(1800, 1, 1)).is_none());
    }

    #[test]
    fn dates_parse_in_the_forms_japanese_sheets_use() {
        let want = d(2026, 5, 19);
        for text in [
            "2026-05-19",
            "2026/05/19",
            "2026/5/19",
            "令和8年5月19日",
            "R8.5.19",
            "r8/5/19",
            "２０２６／０５／１９",
        ] {
            assert_eq!(parse_date(text), Some(want), "{text}");
        }
        assert_eq!(parse_date("令和元年5月1日"), Some(d(2019, 5, 1)));
        assert_eq!(parse_date("H31.4.30"), Some(d(2019, 4, 30)));
    }

    #[test]
    fn impossible_dates_are_refused() {
        for text in [
            "2026-02-30",
            "令和8年13月1日",
            "R0.5.1",
            "5/19",
            "26-05-19",
            "tomorrow",
            "",
            "平成40年1月1日",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }

    #[test]
    fn the_fiscal_year_runs_from_april_to_march() {
        assert_eq!(Nendo::of(d(2026, 3, 31)).start_year(), 2025);
        assert_eq!(Nendo::of(d(2026, 4, 1)).start_year(), 2026);
        assert_eq!(Nendo::of(d(2026, 5, 19)).to_japanese(), "令和8年度");
        assert_eq!(Nendo::of(d(2019, 6, 1)).to_japanese(), "令和元年度");
        assert_eq!(Nendo::of(d(2019, 2, 1)).to_japanese(), "平成30年度");
        assert_eq!(Nendo::of(d(1988, 6, 1)).to_japanese(), "昭和63年度");
        assert_eq!(Nendo::of(d(1989, 6, 1)).to_japanese(), "平成元年度");
        assert_eq!(Nendo::of(d(2026, 5, 19)).to_english(), "FY2026");
    }
}
