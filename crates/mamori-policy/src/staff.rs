//! 5 職員等の遵守義務: the kinds of staff the policy binds. The list is extensible per municipality;
//! these are the kinds every installation starts with.

/// (code, Japanese name, English name) of the staff kinds clause 5 names, plus 会計年度任用職員
/// (the successor of most 嘱託・臨時 posts since 2020).
pub const DEFAULT_STAFF_KINDS: [(&str, &str, &str); 6] = [
    ("regular", "職員", "Regular staff"),
    ("reappointed", "再任用職員", "Reappointed staff"),
    (
        "fiscal_year",
        "会計年度任用職員",
        "Fiscal-year appointed staff",
    ),
    ("commissioned", "嘱託職員", "Commissioned staff"),
    ("temporary", "臨時職員", "Temporary staff"),
    ("dispatched", "派遣社員", "Dispatched worker"),
];
