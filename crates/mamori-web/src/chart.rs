//! Server-side SVG charts for the compliance overview (policy clause 6(7) 遵守状況の確認): a heat map of
//! the open findings by unit and clause area, and the daily trend of the open findings over the last
//! twelve months.
//!
//! Each chart is a pure function from plain data to an SVG string that goes inline into a page (no XML
//! declaration, no DOCTYPE) and is also a well-formed standalone document (it carries its own `xmlns`).
//! The pages' CSP allows no inline style and no inline script, so the SVG has no `style` attribute or
//! element, no script, no event attribute and no reference to anything outside the page: colours and
//! fonts are presentation attributes. Every text that comes from data is XML-escaped here, and a link is
//! kept only when it is a path on this site. Every word shown comes from the caller, so the charts speak
//! whichever language the page does.

use std::fmt::{self, Write};

use chrono::{Datelike, Days, NaiveDate};
use mamori_policy::Severity;

// ---------------------------------------------------------------------------------------------------
// Heat map
// ---------------------------------------------------------------------------------------------------

/// Open findings by unit (rows: 部局, with their 課 indented under them) and clause area (columns).
pub struct HeatMap<'a> {
    /// Shown above the chart; also the chart's accessible name.
    pub title: &'a str,
    /// What the chart shows, for screen readers, e.g. "色が濃いほど未対応の指摘が多く…".
    pub desc: &'a str,
    pub columns: Vec<HeatColumn<'a>>,
    pub rows: Vec<HeatRow<'a>>,
    /// Written in a cell with no open finding: "" leaves it blank, or e.g. "0".
    pub empty_label: &'a str,
    /// Shown instead of the grid when there is no row or no column.
    pub no_data: &'a str,
    /// Caption of the legend, e.g. "未対応の指摘（件）".
    pub legend_caption: &'a str,
    /// Name of the critical severity, e.g. "重大": the legend's last entry and a cell's tooltip.
    pub critical_label: &'a str,
    /// The count as words, for tooltips: e.g. `&|n| format!("{n}件")`.
    pub count_text: &'a dyn Fn(u32) -> String,
}

/// A clause area.
pub struct HeatColumn<'a> {
    /// Short, shown as the column header, e.g. "6(2) 分類と管理".
    pub label: &'a str,
    /// Full, the header's tooltip, e.g. "6(2) 情報資産の分類と管理"; empty: the label.
    pub title: &'a str,
}

/// A unit.
pub struct HeatRow<'a> {
    pub label: &'a str,
    /// 0 = 部局, 1 = 課 (indented under its 部局); deeper levels indent further.
    pub depth: u8,
    /// One per column, in the columns' order; a missing cell counts as empty, an extra one is ignored.
    pub cells: Vec<HeatCell>,
    /// The unit's page; a path on this site (anything else is dropped).
    pub link: Option<String>,
}

/// The open findings of one unit in one clause area.
pub struct HeatCell {
    pub open: u32,
    /// The worst severity among them.
    pub worst: Option<Severity>,
    /// The findings list; a path on this site (anything else is dropped). Used only when `open > 0`.
    pub link: Option<String>,
}

/// Font size of the charts' ordinary text.
const FONT: f64 = 12.0;
/// Height of one heat-map row.
const ROW_H: f64 = 22.0;
/// Width of the viewBox while the content fits: every chart is drawn at the same scale.
const BASE_W: f64 = 800.0;
/// A row label longer than this many em is cut (a CJK character is 1 em, others 0.6 em).
const ROW_LABEL_EM: f64 = 16.0;
/// A column header longer than this many em is cut.
const COL_LABEL_EM: f64 = 11.0;
/// Indentation per depth level of a row label.
const INDENT: f64 = 14.0;
const COL_MIN_W: f64 = 36.0;
const COL_MAX_W: f64 = 60.0;
/// The column headers are turned by this much (counter-clockwise) so that many columns fit.
const HEADER_ANGLE: f64 = 45.0;

/// Text colour; on white it has a contrast of 17:1.
const INK: &str = "#1a1a1a";
/// Secondary text (axis labels, empty cells); 7:1 on white.
const INK_MUTED: &str = "#595959";
const GRID: &str = "#d0d0d0";

/// The colour of a cell, from light to dark. Text on each has a contrast of at least 4.5:1 (tested).
struct Shade {
    fill: &'static str,
    text: &'static str,
}

const SHADES: [Shade; 5] = [
    // no open finding
    Shade {
        fill: "#ffffff",
        text: INK_MUTED,
    },
    // a few
    Shade {
        fill: "#fee0b6",
        text: INK,
    },
    // several
    Shade {
        fill: "#fdae61",
        text: INK,
    },
    // many
    Shade {
        fill: "#d73027",
        text: "#ffffff",
    },
    // any critical finding, whatever the count
    Shade {
        fill: "#67000d",
        text: "#ffffff",
    },
];

/// The least count of shades 1, 2 and 3.
const BUCKETS: [u32; 3] = [1, 3, 10];

/// Index into `SHADES`: by the count, except that a critical finding always takes the darkest shade.
fn shade_of(open: u32, worst: Option<Severity>) -> usize {
    if open == 0 {
        0
    } else if worst == Some(Severity::Critical) {
        4
    } else if open >= BUCKETS[2] {
        3
    } else if open >= BUCKETS[1] {
        2
    } else {
        1
    }
}

/// The legend's words for shades 0 to 3: "0", "1–2", "3–9", "10+".
fn bucket_labels() -> [String; 4] {
    [
        "0".to_owned(),
        range_label(BUCKETS[0], BUCKETS[1]),
        range_label(BUCKETS[1], BUCKETS[2]),
        format!("{}+", BUCKETS[2]),
    ]
}

fn range_label(low: u32, next: u32) -> String {
    let high = next.saturating_sub(1);
    if high <= low {
        low.to_string()
    } else {
        format!("{low}–{high}")
    }
}

/// Renders the heat map as an inline SVG.
///
/// A cell shows its count on a colour from the count (0, 1–2, 3–9, 10+); a cell with a critical finding
/// is always the darkest red and has a white corner mark, so that it reads without colour too. A cell
/// with open findings links to its findings list and has a tooltip "unit / column: N件". Long labels are
/// cut with "…" and keep their full text in a tooltip. The headers are turned 45° so that ten or more
/// columns fit; the chart grows downwards with the rows.
pub fn heat_map(map: &HeatMap<'_>) -> String {
    let mut out = String::new();
    let drawn = if map.rows.is_empty() || map.columns.is_empty() {
        no_data_svg(&mut out, map.title, map.desc, map.no_data)
    } else {
        draw_heat_map(&mut out, map)
    };
    // Writing into a String cannot fail; should it ever, show nothing rather than half a chart.
    if drawn.is_err() {
        out.clear();
    }
    out
}

fn draw_heat_map(out: &mut String, map: &HeatMap<'_>) -> fmt::Result {
    let sin = HEADER_ANGLE.to_radians().sin();
    let cos = HEADER_ANGLE.to_radians().cos();

    let rows: Vec<(Label, f64)> = map
        .rows
        .iter()
        .map(|r| {
            let indent = f64::from(r.depth.min(3)) * INDENT;
            (Label::cut(r.label, ROW_LABEL_EM - indent / FONT), indent)
        })
        .collect();
    let headers: Vec<Label> = map
        .columns
        .iter()
        .map(|c| Label::cut(c.label, COL_LABEL_EM))
        .collect();

    // Column of row labels: as wide as the widest label (bold labels a little wider).
    let label_w = rows
        .iter()
        .map(|(l, indent)| indent + text_em(&l.shown) * FONT * 1.08)
        .fold(60.0, f64::max)
        .ceil()
        + 16.0;
    let head_em = headers
        .iter()
        .map(|h| text_em(&h.shown))
        .fold(0.0, f64::max);
    let head_reach = head_em * FONT * cos;
    let ncols = map.columns.len() as f64;
    // An even width keeps every coordinate whole, which keeps a large chart small.
    let col_w = (((BASE_W - label_w - head_reach - 16.0) / ncols).clamp(COL_MIN_W, COL_MAX_W)
        / 2.0)
        .floor()
        * 2.0;
    let grid_x = label_w;
    let grid_w = col_w * ncols;
    let width = (grid_x + grid_w - col_w / 2.0 + head_reach + 12.0)
        .max(grid_x + grid_w + 8.0)
        .max(BASE_W);

    let legend_y = 48.0;
    let head_h = head_em * FONT * sin + FONT + 8.0;
    let grid_y = (legend_y + 16.0 + head_h).round();
    let grid_h = ROW_H * map.rows.len() as f64;
    let height = grid_y + grid_h + 12.0;

    // The links make the chart interactive: a group keeps them reachable to assistive technology,
    // where role="img" would hide everything inside it.
    let has_links = map.rows.iter().any(|r| {
        site_link(r.link.as_deref()).is_some()
            || r.cells
                .iter()
                .any(|c| c.open > 0 && site_link(c.link.as_deref()).is_some())
    });
    open_svg(
        out,
        width,
        height,
        if has_links { "group" } else { "img" },
        map.title,
        map.desc,
    )?;

    // Legend: caption, then a swatch per shade.
    let mut x = 8.0;
    out.push_str("<g>");
    if !map.legend_caption.is_empty() {
        write!(out, "<text x=\"{}\" y=\"{}\">", num(x), num(legend_y))?;
        esc(out, map.legend_caption);
        out.push_str("</text>");
        x += text_em(map.legend_caption) * FONT + 12.0;
    }
    let labels = bucket_labels();
    let legend: Vec<&str> = labels
        .iter()
        .map(String::as_str)
        .chain([map.critical_label])
        .collect();
    for (i, label) in legend.iter().enumerate() {
        let (sx, sy) = (x, legend_y - 11.0);
        write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"18\" height=\"14\" fill=\"{}\" stroke=\"#8c8c8c\"/>",
            num(sx),
            num(sy),
            SHADES[i].fill
        )?;
        if i == 4 {
            corner_mark(out, sx + 18.0, sy, 6.0)?;
        }
        write!(
            out,
            "<text x=\"{}\" y=\"{}\">",
            num(x + 23.0),
            num(legend_y)
        )?;
        esc(out, label);
        out.push_str("</text>");
        x += 23.0 + text_em(label) * FONT + 14.0;
    }
    out.push_str("</g>\n");

    // Column headers, turned so that they fit over narrow columns; each with its full name as tooltip.
    out.push_str("<g>");
    for (i, (col, head)) in map.columns.iter().zip(&headers).enumerate() {
        let cx = grid_x + col_w * (i as f64 + 0.5);
        let full = if col.title.is_empty() {
            col.label
        } else {
            col.title
        };
        out.push_str("<g><title>");
        esc(out, full);
        write!(
            out,
            "</title><text transform=\"translate({} {}) rotate(-{})\">",
            num(cx - 3.0),
            num(grid_y - 6.0),
            num(HEADER_ANGLE)
        )?;
        esc(out, &head.shown);
        out.push_str("</text></g>");
    }
    out.push_str("</g>\n");

    // The grid's background, then one group per row.
    write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
        num(grid_x),
        num(grid_y),
        num(grid_w),
        num(grid_h)
    )?;
    out.push('\n');
    // Each row's origin is the baseline of its text, so that its many texts need no y.
    let baseline = (ROW_H / 2.0 + FONT * 0.35).round();
    let top = -baseline;
    out.push_str("<g text-anchor=\"middle\">\n");
    let mut empties = String::new();
    for (r, (row, (label, indent))) in map.rows.iter().zip(&rows).enumerate() {
        let y = grid_y + ROW_H * r as f64 + baseline;
        write!(out, "<g transform=\"translate(0 {})\">", num(y))?;
        if row.depth == 0 {
            write!(
                out,
                "<rect y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f2f2f2\"/>",
                num(top),
                num(grid_x),
                num(ROW_H)
            )?;
        }
        let link = site_link(row.link.as_deref());
        if let Some(href) = link {
            out.push_str("<a href=\"");
            esc(out, href);
            out.push_str("\">");
        }
        if label.cut {
            out.push_str("<title>");
            esc(out, row.label);
            out.push_str("</title>");
        }
        write!(
            out,
            "<text x=\"{}\" text-anchor=\"start\"{}>",
            num(6.0 + indent),
            if row.depth == 0 {
                " font-weight=\"bold\""
            } else {
                ""
            }
        )?;
        esc(out, &label.shown);
        out.push_str("</text>");
        if link.is_some() {
            out.push_str("</a>");
        }

        empties.clear();
        for (c, col) in map.columns.iter().enumerate() {
            let x = grid_x + col_w * c as f64;
            let cx = x + col_w / 2.0;
            let Some(cell) = row.cells.get(c).filter(|cell| cell.open > 0) else {
                if !map.empty_label.is_empty() {
                    write!(empties, "<text x=\"{}\">", num(cx))?;
                    esc(&mut empties, map.empty_label);
                    empties.push_str("</text>");
                }
                continue;
            };
            let shade = shade_of(cell.open, cell.worst);
            let link = site_link(cell.link.as_deref());
            match link {
                Some(href) => {
                    out.push_str("<a href=\"");
                    esc(out, href);
                    out.push_str("\">");
                }
                None => out.push_str("<g>"),
            }
            out.push_str("<title>");
            esc(out, row.label);
            out.push_str(" / ");
            esc(out, col.label);
            out.push_str(": ");
            esc(out, &(map.count_text)(cell.open));
            if shade == 4 && !map.critical_label.is_empty() {
                out.push_str(" (");
                esc(out, map.critical_label);
                out.push(')');
            }
            write!(
                out,
                "</title><path d=\"M{}{}h{}v{}h-{}z\" fill=\"{}\"/>",
                num(x),
                num(top),
                num(col_w),
                num(ROW_H),
                num(col_w),
                SHADES[shade].fill
            )?;
            if shade == 4 {
                corner_mark(out, x + col_w, top, 8.0)?;
            }
            write!(out, "<text x=\"{}\"", num(cx))?;
            if SHADES[shade].text != INK {
                write!(out, " fill=\"{}\"", SHADES[shade].text)?;
            }
            write!(out, ">{}</text>", cell.open)?;
            out.push_str(if link.is_some() { "</a>" } else { "</g>" });
        }
        if !empties.is_empty() {
            write!(out, "<g fill=\"{}\">{empties}</g>", SHADES[0].text)?;
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");

    // Grid lines over the cells: light between rows and columns, darker above each 部局.
    write!(
        out,
        "<path fill=\"none\" stroke=\"{GRID}\" pointer-events=\"none\" d=\""
    )?;
    for r in 1..map.rows.len() {
        let y = grid_y + ROW_H * r as f64;
        write!(out, "M{} {}h{}", num(grid_x), num(y), num(grid_w))?;
    }
    for c in 1..map.columns.len() {
        let x = grid_x + col_w * c as f64;
        write!(out, "M{} {}v{}", num(x), num(grid_y), num(grid_h))?;
    }
    out.push_str("\"/>\n");
    write!(
        out,
        "<path fill=\"none\" stroke=\"#8c8c8c\" pointer-events=\"none\" d=\""
    )?;
    for (r, row) in map.rows.iter().enumerate() {
        if row.depth == 0 && r > 0 {
            let y = grid_y + ROW_H * r as f64;
            write!(out, "M0 {}H{}", num(y), num(grid_x + grid_w))?;
        }
    }
    write!(
        out,
        "M{} {}h{}v{}h-{}z\"/>",
        num(grid_x),
        num(grid_y),
        num(grid_w),
        num(grid_h),
        num(grid_w)
    )?;
    out.push_str("\n</svg>");
    Ok(())
}

/// A white triangle in the top right corner at (`right`, `top`): marks a cell with a critical finding.
fn corner_mark(out: &mut String, right: f64, top: f64, size: f64) -> fmt::Result {
    write!(
        out,
        "<path d=\"M{} {}h{}v{}z\" fill=\"#ffffff\"/>",
        num(right - size),
        num(top),
        num(size),
        num(size)
    )
}

// ---------------------------------------------------------------------------------------------------
// Trend
// ---------------------------------------------------------------------------------------------------

/// Daily counts over the twelve months that end today, one line per series.
pub struct Trend<'a, const N: usize> {
    /// Shown above the chart; also the chart's accessible name.
    pub title: &'a str,
    /// What the chart shows, for screen readers.
    pub desc: &'a str,
    /// The lines, e.g. 重大, 高, 中, 低, 例外承認中; the first is drawn on top.
    pub series: [TrendSeries<'a>; N],
    /// One per recorded day, `counts[i]` for `series[i]`. Days outside the window are ignored; a day
    /// may be missing; order does not matter, and of two points for the same day the later one counts.
    pub points: Vec<TrendPoint<N>>,
    /// The window's last day; it starts 365 days before.
    pub today: NaiveDate,
    /// Names of the months January to December, e.g. "1月" … "12月".
    pub months: [&'a str; 12],
    /// Name of the 年度 that starts on the given 1 April, e.g. `&|d| Nendo::of(d).to_japanese()`.
    pub fiscal_year_label: &'a dyn Fn(NaiveDate) -> String,
    /// Shown in a framed box when no point falls in the window.
    pub no_data: &'a str,
}

pub struct TrendSeries<'a> {
    pub label: &'a str,
    /// Chooses the line's colour and dash pattern.
    pub kind: SeriesKind,
}

/// What a series counts, which fixes its look: the same severity has the same colour on every chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// Open findings of this severity.
    Open(Severity),
    /// Findings whose exception is approved (例外承認中).
    Accepted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint<const N: usize> {
    pub day: NaiveDate,
    pub counts: [u32; N],
}

/// Colour, width and dash pattern of a line: distinct in colour and, for black-and-white print, in dash.
struct LineStyle {
    stroke: &'static str,
    width: &'static str,
    dash: Option<&'static str>,
}

fn line_style(kind: SeriesKind) -> LineStyle {
    let (stroke, width, dash) = match kind {
        SeriesKind::Open(Severity::Critical) => ("#b2182b", "2.5", None),
        SeriesKind::Open(Severity::High) => ("#e66101", "2", Some("10 4")),
        SeriesKind::Open(Severity::Medium) => ("#8c6d00", "2", Some("3 3")),
        SeriesKind::Open(Severity::Low) => ("#2166ac", "2", Some("10 3 2 3")),
        SeriesKind::Open(Severity::Info) => ("#5e5e5e", "1.5", Some("1 3")),
        SeriesKind::Accepted => ("#1b7837", "2", Some("10 3 2 3 2 3")),
    };
    LineStyle {
        stroke,
        width,
        dash,
    }
}

/// Two recorded days further apart than this are not joined: up to three missing days are bridged.
const MAX_JOIN_DAYS: i64 = 4;
/// The window: today and the 365 days before it.
const WINDOW_DAYS: u64 = 365;
const TREND_W: f64 = 800.0;
const PLOT_LEFT: f64 = 64.0;
/// Right of the plot, each line's name and latest count, so that the lines read without colour too.
const PLOT_RIGHT: f64 = TREND_W - 100.0;
const END_LABEL_EM: f64 = 7.5;
const END_FONT: f64 = 11.0;
const PLOT_H: f64 = 280.0;

/// Renders the trend as an inline SVG: a line per series over the last twelve months, month names under
/// the axis, a dashed line labelled with the 年度 at each 1 April in the window, and a legend. A line is
/// broken where more than three days are missing; a point with no neighbour is drawn as a dot.
pub fn trend<const N: usize>(chart: &Trend<'_, N>) -> String {
    let mut out = String::new();
    let start = chart
        .today
        .checked_sub_days(Days::new(WINDOW_DAYS))
        .unwrap_or(NaiveDate::MIN);
    let mut points: Vec<&TrendPoint<N>> = chart
        .points
        .iter()
        .filter(|p| p.day >= start && p.day <= chart.today)
        .collect();
    points.sort_by_key(|p| p.day);
    // Of two points for the same day keep the later one.
    points.reverse();
    points.dedup_by_key(|p| p.day);
    points.reverse();

    let drawn = if points.is_empty() || N == 0 {
        no_data_svg(&mut out, chart.title, chart.desc, chart.no_data)
    } else {
        draw_trend(&mut out, chart, start, &points)
    };
    if drawn.is_err() {
        out.clear();
    }
    out
}

fn draw_trend<const N: usize>(
    out: &mut String,
    chart: &Trend<'_, N>,
    start: NaiveDate,
    points: &[&TrendPoint<N>],
) -> fmt::Result {
    // Legend entries flow into as many lines as they need.
    let mut legend: Vec<(f64, f64)> = Vec::with_capacity(N);
    let (mut lx, mut line) = (12.0, 0.0);
    for s in &chart.series {
        let w = 36.0 + text_em(s.label) * FONT + 18.0;
        if lx + w > TREND_W - 8.0 && lx > 12.0 {
            lx = 12.0;
            line += 1.0;
        }
        legend.push((lx, 48.0 + line * 20.0));
        lx += w;
    }
    let top = 48.0 + line * 20.0 + 28.0;
    let bottom = top + PLOT_H;
    let height = bottom + 36.0;

    open_svg(out, TREND_W, height, "img", chart.title, chart.desc)?;

    out.push_str("<g>");
    for (s, (x, y)) in chart.series.iter().zip(&legend) {
        let style = line_style(s.kind);
        write!(
            out,
            "<path d=\"M{} {}h28\" fill=\"none\"",
            num(*x),
            num(y - 4.0)
        )?;
        stroke_attrs(out, &style)?;
        write!(out, "/><text x=\"{}\" y=\"{}\">", num(x + 34.0), num(*y))?;
        esc(out, s.label);
        out.push_str("</text>");
    }
    out.push_str("</g>\n");

    // Y axis: a rounded maximum, gridlines and their values.
    let peak = points
        .iter()
        .flat_map(|p| p.counts.iter().copied())
        .max()
        .unwrap_or(0);
    let (max, step) = nice_scale(peak);
    let y_of = |v: u32| bottom - f64::from(v) / f64::from(max) * PLOT_H;
    write!(out, "<g text-anchor=\"end\" fill=\"{INK_MUTED}\">")?;
    let mut v = 0;
    while v <= max {
        let y = y_of(v);
        write!(
            out,
            "<path d=\"M{} {}H{}\" stroke=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            num(PLOT_LEFT),
            num(y),
            num(PLOT_RIGHT),
            if v == 0 { "#767676" } else { GRID },
            num(PLOT_LEFT - 8.0),
            num(y + FONT * 0.35),
            thousands(v)
        )?;
        match v.checked_add(step.max(1)) {
            Some(next) => v = next,
            None => break,
        }
    }
    out.push_str("</g>\n");

    // X axis: a tick at each month's first day, the month's name in the middle of its part of the window.
    let span = WINDOW_DAYS as f64;
    let x_of =
        |d: NaiveDate| PLOT_LEFT + (d - start).num_days() as f64 / span * (PLOT_RIGHT - PLOT_LEFT);
    let mut firsts: Vec<NaiveDate> = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1);
    while let Some(m) = month.filter(|m| *m <= chart.today) {
        if m > start {
            firsts.push(m);
        }
        month = m.checked_add_months(chrono::Months::new(1));
    }
    write!(
        out,
        "<g text-anchor=\"middle\" fill=\"{INK_MUTED}\"><path stroke=\"#767676\" d=\""
    )?;
    for m in &firsts {
        write!(out, "M{} {}v6", num(x_of(*m)), num(bottom))?;
    }
    out.push_str("\"/>");
    let mut bounds = vec![start];
    bounds.extend(firsts.iter().copied());
    for (i, from) in bounds.iter().enumerate() {
        let to_x = bounds
            .get(i + 1)
            .map_or_else(|| x_of(chart.today), |next| x_of(*next));
        let from_x = x_of(*from);
        let name = chart
            .months
            .get(from.month0() as usize)
            .copied()
            .unwrap_or("");
        // A sliver of a month at either end of the window stays unnamed.
        if to_x - from_x >= text_em(name) * FONT + 4.0 {
            write!(
                out,
                "<text x=\"{}\" y=\"{}\">",
                num((from_x + to_x) / 2.0),
                num(bottom + 20.0)
            )?;
            esc(out, name);
            out.push_str("</text>");
        }
    }
    out.push_str("</g>\n");

    // The lines, the first series last so that it lies on top.
    for (i, s) in chart.series.iter().enumerate().rev() {
        let style = line_style(s.kind);
        for segment in segments(points) {
            if let [only] = segment {
                write!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>",
                    num(x_of(only.day)),
                    num(y_of(only.counts[i])),
                    style.stroke
                )?;
                continue;
            }
            out.push_str("<polyline fill=\"none\" stroke-linejoin=\"round\"");
            stroke_attrs(out, &style)?;
            out.push_str(" points=\"");
            for (k, p) in segment.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                write!(out, "{},{}", num(x_of(p.day)), num(y_of(p.counts[i])))?;
            }
            out.push_str("\"/>");
        }
        out.push('\n');
    }

    // At the right, each line's name and latest count, moved apart where they would overlap, each with a
    // short leader from the plot's edge.
    if let Some(last) = points.last() {
        let mut ends: Vec<(f64, f64, usize)> = (0..N)
            .map(|i| {
                let y = y_of(last.counts[i]);
                (y, y + END_FONT * 0.35, i)
            })
            .collect();
        ends.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        let gap = END_FONT + 1.0;
        for k in 1..ends.len() {
            ends[k].1 = ends[k].1.max(ends[k - 1].1 + gap);
        }
        let lowest = bottom + END_FONT * 0.35 + 6.0;
        for k in (0..ends.len()).rev() {
            let limit = ends.get(k + 1).map_or(lowest, |next| next.1 - gap);
            ends[k].1 = ends[k].1.min(limit);
        }
        write!(out, "<g font-size=\"{}\">", num(END_FONT))?;
        for (y, text_y, i) in ends {
            let style = line_style(chart.series[i].kind);
            let label_x = PLOT_RIGHT + 10.0;
            write!(
                out,
                "<path d=\"M{} {}L{} {}L{} {}\" fill=\"none\" stroke=\"{}\"/>",
                num(PLOT_RIGHT + 2.0),
                num(y),
                num(PLOT_RIGHT + 5.0),
                num(y),
                num(label_x - 2.0),
                num(text_y - END_FONT * 0.35),
                style.stroke
            )?;
            let count = thousands(last.counts[i]);
            let name = Label::cut(chart.series[i].label, END_LABEL_EM - text_em(&count) - 0.6);
            write!(out, "<text x=\"{}\" y=\"{}\">", num(label_x), num(text_y))?;
            if name.cut {
                out.push_str("<title>");
                esc(out, chart.series[i].label);
                out.push_str("</title>");
            }
            esc(out, &name.shown);
            write!(out, " {count}</text>")?;
        }
        out.push_str("</g>\n");
    }

    // 年度 boundaries: a dashed line at each 1 April in the window, labelled on a white ground.
    for year in start.year()..=chart.today.year() {
        let Some(april) = NaiveDate::from_ymd_opt(year, 4, 1) else {
            continue;
        };
        if april <= start || april > chart.today {
            continue;
        }
        let x = x_of(april);
        let label = (chart.fiscal_year_label)(april);
        let w = text_em(&label) * 11.0 + 8.0;
        let left_side = x + w + 2.0 > PLOT_RIGHT;
        let box_x = if left_side { x - w - 2.0 } else { x + 2.0 };
        write!(
            out,
            "<g><path d=\"M{} {}V{}\" stroke=\"#404040\" stroke-dasharray=\"5 4\"/>\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"16\" fill=\"#ffffff\" fill-opacity=\"0.85\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\">",
            num(x),
            num(top - 4.0),
            num(bottom),
            num(box_x),
            num(top),
            num(w),
            num(box_x + 4.0),
            num(top + 12.0)
        )?;
        esc(out, &label);
        out.push_str("</text></g>\n");
    }

    // The axis line on the left.
    write!(
        out,
        "<path d=\"M{} {}V{}\" stroke=\"#767676\"/>\n</svg>",
        num(PLOT_LEFT),
        num(top),
        num(bottom)
    )?;
    Ok(())
}

fn stroke_attrs(out: &mut String, style: &LineStyle) -> fmt::Result {
    write!(
        out,
        " stroke=\"{}\" stroke-width=\"{}\"",
        style.stroke, style.width
    )?;
    if let Some(dash) = style.dash {
        write!(out, " stroke-dasharray=\"{dash}\"")?;
    }
    Ok(())
}

/// Runs of points in which neighbours are at most `MAX_JOIN_DAYS` apart.
fn segments<'p, const N: usize>(
    points: &'p [&'p TrendPoint<N>],
) -> impl Iterator<Item = &'p [&'p TrendPoint<N>]> {
    points.chunk_by(|a, b| (b.day - a.day).num_days() <= MAX_JOIN_DAYS)
}

/// The y axis for counts up to `peak`: the least "nice" maximum at or above it — a whole number that is
/// 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 25, 30, 40, 50,
/// 60, 80, 100, 150, …) — and a whole step that cuts it into three to five intervals (1 and 2 into fewer).
fn nice_scale(peak: u32) -> (u32, u32) {
    // Tenths of the maximum's leading digits, and how many intervals that maximum is cut into.
    const NICE: [(u64, u64); 9] = [
        (10, 5),
        (15, 5),
        (20, 4),
        (25, 5),
        (30, 3),
        (40, 4),
        (50, 5),
        (60, 4),
        (80, 4),
    ];
    let least = u64::from(peak.max(1));
    let mut decade: u64 = 1;
    while decade <= u64::from(u32::MAX) {
        for (tenths, intervals) in NICE {
            let max = decade * tenths / 10;
            if !(decade * tenths).is_multiple_of(10) || max < least {
                continue;
            }
            let step = if max.is_multiple_of(intervals) {
                max / intervals
            } else if max <= 5 {
                // Below ten: 1, or 2 where 1 would give more than five intervals.
                1
            } else {
                2
            };
            if let (Ok(max), Ok(step)) = (u32::try_from(max), u32::try_from(step)) {
                return (max, step);
            }
        }
        decade *= 10;
    }
    (peak, peak.div_ceil(5).max(1))
}

// ---------------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------------

fn open_svg(
    out: &mut String,
    width: f64,
    height: f64,
    role: &str,
    title: &str,
    desc: &str,
) -> fmt::Result {
    write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"{role}\" \
         aria-label=\"",
        num(width),
        num(height)
    )?;
    esc(out, title);
    write!(
        out,
        "\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"{INK}\"><title>",
        num(FONT)
    )?;
    esc(out, title);
    out.push_str("</title><desc>");
    esc(out, desc);
    out.push_str("</desc>\n");
    if !title.is_empty() {
        out.push_str("<text x=\"8\" y=\"22\" font-size=\"15\" font-weight=\"bold\">");
        esc(out, title);
        out.push_str("</text>\n");
    }
    Ok(())
}

/// A chart with nothing to show: its title and the no-data text in a framed box.
fn no_data_svg(out: &mut String, title: &str, desc: &str, no_data: &str) -> fmt::Result {
    let desc = if desc.is_empty() { no_data } else { desc };
    open_svg(out, BASE_W, 140.0, "img", title, desc)?;
    write!(
        out,
        "<rect x=\"8.5\" y=\"36.5\" width=\"{}\" height=\"90\" fill=\"#fafafa\" stroke=\"#8c8c8c\"/>\
         <text x=\"{}\" y=\"86\" text-anchor=\"middle\" fill=\"{INK_MUTED}\" font-size=\"14\">",
        num(BASE_W - 17.0),
        num(BASE_W / 2.0)
    )?;
    esc(out, no_data);
    out.push_str("</text>\n</svg>");
    Ok(())
}

/// A label as shown, and whether it was cut.
struct Label {
    shown: String,
    cut: bool,
}

impl Label {
    /// Cuts `text` to at most `max_em` wide, ending in "…" when cut; never splits a character.
    fn cut(text: &str, max_em: f64) -> Label {
        if text_em(text) <= max_em {
            return Label {
                shown: text.to_owned(),
                cut: false,
            };
        }
        let mut shown = String::new();
        let mut used = 0.0;
        for c in text.chars() {
            // Room for the ellipsis, which Japanese fonts draw a full em wide.
            if used + char_em(c) > max_em - 1.0 {
                break;
            }
            used += char_em(c);
            shown.push(c);
        }
        shown.push('…');
        Label { shown, cut: true }
    }
}

/// Approximate width of a text in em, for layout: CJK and full-width characters 1, others 0.6.
fn text_em(text: &str) -> f64 {
    text.chars().map(char_em).sum()
}

fn char_em(c: char) -> f64 {
    let wide = matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD
    );
    if wide { 1.0 } else { 0.6 }
}

/// A link is kept only when it is a path on this site: the chart refers to nothing outside the page's
/// origin (and so never to a `javascript:` URL).
fn site_link(href: Option<&str>) -> Option<&str> {
    href.filter(|h| {
        let mut chars = h.chars();
        chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'))
    })
}

/// Appends `text` XML-escaped, for text and attribute values alike. Characters that XML 1.0 does not
/// allow (most control characters) are dropped, so that the output stays well-formed.
fn esc(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// A coordinate with at most one decimal, the same on every machine: 12, 12.5, -3.
fn num(value: f64) -> String {
    let tenths = (value * 10.0).round();
    if tenths == 0.0 || !tenths.is_finite() {
        return "0".to_owned();
    }
    if tenths % 10.0 == 0.0 {
        format!("{}", tenths / 10.0)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// 12345 → "12,345".
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(\"x\")</script> & 'q'";

    fn ken(n: u32) -> String {
        format!("{n}件")
    }

    fn fiscal(d: NaiveDate) -> String {
        mamori_policy::Nendo::of(d).to_japanese()
    }

    const MONTHS: [&str; 12] = [
        "1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月",
    ];

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn cell(open: u32, worst: Option<Severity>, link: &str) -> HeatCell {
        HeatCell {
            open,
            worst,
            link: Some(link.to_owned()),
        }
    }

    fn columns() -> Vec<HeatColumn<'static>> {
        [
            ("6(1) 組織体制", "6(1) 組織体制と責任"),
            ("6(2) 分類と管理", "6(2) 情報資産の分類と管理"),
            ("6(3) 物理的対策", "6(3) 物理的セキュリティ対策"),
            ("6(4) 人的対策", "6(4) 人的セキュリティ対策"),
            ("6(5) 技術的対策", "6(5) 技術的セキュリティ対策"),
            ("6(6) 運用", "6(6) 運用"),
            ("6(7) 遵守状況", "6(7) 遵守状況の確認"),
            ("6(8) 外部委託", "6(8) 外部委託とクラウドサービスの利用"),
            ("6(9) 事故対応", "6(9) 情報セキュリティインシデントへの対応"),
            ("6(10) 評価・見直し", "6(10) 評価と見直し"),
        ]
        .into_iter()
        .map(|(label, title)| HeatColumn { label, title })
        .collect()
    }

    fn heat<'a>(rows: Vec<HeatRow<'a>>, columns: Vec<HeatColumn<'a>>) -> HeatMap<'a> {
        HeatMap {
            title: "部局・課別の未対応の指摘",
            desc: "行は部局と課、列は条項。色が濃いほど未対応の指摘が多く、重大な指摘を含むマスは暗い赤で右上に白い印があります。",
            columns,
            rows,
            empty_label: "",
            no_data: "表示できるデータがありません",
            legend_caption: "未対応の指摘（件）",
            critical_label: "重大",
            count_text: &ken,
        }
    }

    /// A city's units with a spread of counts and severities.
    fn sample_rows() -> Vec<HeatRow<'static>> {
        let units: [(&str, &[&str]); 4] = [
            ("総務部", &["総務課", "情報政策課", "人事課"]),
            ("市民生活部", &["市民課", "保険年金課"]),
            (
                "健康福祉部",
                &[
                    "福祉総務課",
                    "障がい福祉課",
                    "こども家庭課と子育て支援センター運営室",
                ],
            ),
            ("教育委員会事務局", &["学校教育課"]),
        ];
        let mut rows = Vec::new();
        let mut seed = 7u32;
        for (dept, sections) in units {
            let mut dept_cells = [0u32; 10];
            let mut section_rows = Vec::new();
            for section in sections {
                let cells: Vec<HeatCell> = (0..10u32)
                    .map(|c| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        let r = (seed >> 16) % 20;
                        let open = match r {
                            0..=8 => 0,
                            9..=13 => 1 + r % 2,
                            14..=17 => 3 + r % 5,
                            _ => 10 + r,
                        };
                        dept_cells[c as usize] += open;
                        let worst = match (open, r % 5) {
                            (0, _) => None,
                            (_, 0) => Some(Severity::Critical),
                            (_, 1) => Some(Severity::High),
                            _ => Some(Severity::Medium),
                        };
                        cell(
                            open,
                            worst,
                            &format!("/compliance/findings?unit={section}&area={c}"),
                        )
                    })
                    .collect();
                section_rows.push(HeatRow {
                    label: section,
                    depth: 1,
                    cells,
                    link: Some(format!("/org/units/{section}")),
                });
            }
            rows.push(HeatRow {
                label: dept,
                depth: 0,
                cells: dept_cells
                    .iter()
                    .map(|&open| cell(open, None, "/compliance/findings?dept=1"))
                    .collect(),
                link: Some("/org/units/1".to_owned()),
            });
            rows.extend(section_rows);
        }
        rows
    }

    fn series() -> [TrendSeries<'static>; 5] {
        [
            ("重大", SeriesKind::Open(Severity::Critical)),
            ("高", SeriesKind::Open(Severity::High)),
            ("中", SeriesKind::Open(Severity::Medium)),
            ("低", SeriesKind::Open(Severity::Low)),
            ("例外承認中", SeriesKind::Accepted),
        ]
        .map(|(label, kind)| TrendSeries { label, kind })
    }

    fn trend_of(today: NaiveDate, points: Vec<TrendPoint<5>>) -> Trend<'static, 5> {
        Trend {
            title: "未対応の指摘の推移（件）",
            desc: "過去12か月の日ごとの未対応の指摘の件数を重要度別に示します。",
            series: series(),
            points,
            today,
            months: MONTHS,
            fiscal_year_label: &fiscal,
            no_data: "この期間の記録はありません",
        }
    }

    fn point(d: NaiveDate, counts: [u32; 5]) -> TrendPoint<5> {
        TrendPoint { day: d, counts }
    }

    /// A year of daily records with a gap in the summer.
    fn sample_points(today: NaiveDate) -> Vec<TrendPoint<5>> {
        (0..=365u64)
            .rev()
            .map(|back| today - Days::new(back))
            .filter(|d| !(*d >= day(2026, 8, 10) && *d <= day(2026, 8, 20)))
            .map(|d| {
                let t = f64::from(d.ordinal());
                let wave = |a: f64, b: f64| (a + b * (t / 30.0).sin()).max(0.0).round() as u32;
                point(
                    d,
                    [
                        wave(2.0, 2.0),
                        wave(14.0, 6.0),
                        wave(40.0, 12.0),
                        wave(25.0, 9.0),
                        wave(8.0, 3.0),
                    ],
                )
            })
            .collect()
    }

    // --- a small well-formedness check: balanced tags, quoted attributes, known entities ----------

    struct Parsed {
        elements: Vec<(String, Vec<(String, String)>)>,
    }

    fn parse_xml(s: &str) -> Result<Parsed, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut stack: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut roots = 0;
        let name_at = |i: &mut usize| {
            let start = *i;
            while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b"-_:".contains(&b[*i])) {
                *i += 1;
            }
            String::from_utf8_lossy(&b[start..*i]).into_owned()
        };
        let entity_at = |i: usize| -> Result<usize, String> {
            let end = s[i..].find(';').ok_or("unterminated entity")?;
            let name = &s[i + 1..i + end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
            if ok {
                Ok(i + end + 1)
            } else {
                Err(format!("bad entity &{name};"))
            }
        };
        while i < b.len() {
            match b[i] {
                b'<' if b.get(i + 1) == Some(&b'/') => {
                    i += 2;
                    let name = name_at(&mut i);
                    if b.get(i) != Some(&b'>') {
                        return Err(format!("bad end tag </{name}"));
                    }
                    i += 1;
                    if stack.pop().as_deref() != Some(name.as_str()) {
                        return Err(format!("unbalanced </{name}>"));
                    }
                }
                b'<' => {
                    i += 1;
                    let name = name_at(&mut i);
                    if name.is_empty() {
                        return Err(format!("bad tag at {i}"));
                    }
                    if stack.is_empty() {
                        roots += 1;
                    }
                    let mut attrs: Vec<(String, String)> = Vec::new();
                    loop {
                        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                            i += 1;
                        }
                        match b.get(i) {
                            Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                                i += 2;
                                break;
                            }
                            Some(b'>') => {
                                i += 1;
                                stack.push(name.clone());
                                break;
                            }
                            Some(_) => {
                                let attr = name_at(&mut i);
                                if attr.is_empty()
                                    || b.get(i) != Some(&b'=')
                                    || b.get(i + 1) != Some(&b'"')
                                {
                                    return Err(format!("bad attribute in <{name}> at {i}"));
                                }
                                i += 2;
                                let start = i;
                                while i < b.len() && b[i] != b'"' {
                                    match b[i] {
                                        b'<' => return Err(format!("< in attribute {attr}")),
                                        b'&' => i = entity_at(i)?,
                                        _ => i += 1,
                                    }
                                }
                                if i >= b.len() {
                                    return Err("unterminated attribute".into());
                                }
                                if attrs.iter().any(|(a, _)| *a == attr) {
                                    return Err(format!("duplicate attribute {attr}"));
                                }
                                attrs.push((attr, s[start..i].to_owned()));
                                i += 1;
                            }
                            None => return Err("unterminated tag".into()),
                        }
                    }
                    elements.push((name, attrs));
                }
                b'&' => i = entity_at(i)?,
                c => {
                    if stack.is_empty() && !c.is_ascii_whitespace() {
                        return Err(format!("text outside the root at {i}"));
                    }
                    i += 1;
                }
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(Parsed { elements })
    }

    /// Well-formed, a standalone SVG, and nothing the page's CSP or an inline embedding forbids.
    fn assert_safe_svg(svg: &str) -> Parsed {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" "),
            "{}",
            &svg[..svg.len().min(80)]
        );
        assert!(!svg.contains("<?xml") && !svg.contains("<!"));
        let lower = svg.to_ascii_lowercase();
        for banned in [
            "style=",
            "<style",
            "<script",
            "javascript:",
            "url(",
            "<foreignobject",
            "<image",
        ] {
            assert!(!lower.contains(banned), "{banned} in output");
        }
        let parsed = parse_xml(svg);
        assert!(
            parsed.is_ok(),
            "not well-formed: {:?}",
            parsed.as_ref().err()
        );
        let parsed = parsed.unwrap_or(Parsed {
            elements: Vec::new(),
        });
        let root = &parsed.elements[0];
        for key in ["role", "aria-label", "viewBox", "width"] {
            assert!(root.1.iter().any(|(a, _)| a == key), "root lacks {key}");
        }
        assert_eq!(parsed.elements[1].0, "title");
        assert_eq!(parsed.elements[2].0, "desc");
        for (name, attrs) in &parsed.elements {
            for (attr, value) in attrs {
                assert!(
                    !attr.starts_with("on"),
                    "event attribute {attr} on <{name}>"
                );
                assert!(attr != "style" && !attr.contains(':'), "{attr} on <{name}>");
                if attr == "href" {
                    assert!(
                        value.starts_with('/') && !value.starts_with("//"),
                        "{value}"
                    );
                }
            }
        }
        parsed
    }

    fn count(hay: &str, needle: &str) -> usize {
        hay.matches(needle).count()
    }

    // --- heat map ------------------------------------------------------------------------------------

    #[test]
    fn heat_map_is_safe_well_formed_svg() {
        let svg = heat_map(&heat(sample_rows(), columns()));
        let parsed = assert_safe_svg(&svg);
        assert!(parsed.elements.iter().any(|(n, _)| n == "a"));
        assert!(svg.contains("role=\"group\""));
        assert!(svg.contains("font-family=\"sans-serif\""));
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let hostile_count = |_: u32| HOSTILE.to_owned();
        let columns = vec![HeatColumn {
            label: HOSTILE,
            title: HOSTILE,
        }];
        let rows = vec![
            HeatRow {
                label: HOSTILE,
                depth: 0,
                cells: vec![cell(3, Some(Severity::Critical), "/f?a=1&b=\"><script>")],
                link: Some("/u?x=<b>&y='1'".to_owned()),
            },
            HeatRow {
                label: "x\u{0}y\u{1b}z\u{FFFF}",
                depth: 1,
                cells: vec![cell(0, None, "/f")],
                link: None,
            },
        ];
        let map = HeatMap {
            title: HOSTILE,
            desc: HOSTILE,
            empty_label: HOSTILE,
            legend_caption: HOSTILE,
            critical_label: HOSTILE,
            count_text: &hostile_count,
            ..heat(rows, columns)
        };
        let empty = HeatMap {
            no_data: HOSTILE,
            ..heat(Vec::new(), Vec::new())
        };
        let mut chart = trend_of(day(2026, 11, 26), vec![point(day(2026, 6, 1), [1; 5])]);
        chart.title = HOSTILE;
        chart.desc = HOSTILE;
        chart.months = [HOSTILE; 12];
        chart.series = series().map(|s| TrendSeries {
            label: HOSTILE,
            ..s
        });
        let hostile_fiscal = |_: NaiveDate| HOSTILE.to_owned();
        chart.fiscal_year_label = &hostile_fiscal;
        let mut none = trend_of(day(2026, 11, 26), Vec::new());
        none.no_data = HOSTILE;

        for svg in [
            heat_map(&map),
            heat_map(&empty),
            trend(&chart),
            trend(&none),
        ] {
            assert_safe_svg(&svg);
            for raw in [
                "<script", "\"x\"", "& ", "'q'", "<b>", "'1'", "\u{0}", "\u{1b}",
            ] {
                assert!(!svg.contains(raw), "raw {raw:?} in output");
            }
            assert!(
                svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;")
            );
        }
        let svg = heat_map(&map);
        assert!(svg.contains("href=\"/f?a=1&amp;b=&quot;&gt;&lt;script&gt;\""));
        assert!(svg.contains("xyz"));
    }

    #[test]
    fn only_links_to_this_site_are_kept() {
        let links = [
            "https://example.com/x",
            "//example.com/x",
            "/\\example.com",
            "javascript:alert(1)",
            "data:text/html,x",
            "/compliance/findings?unit=1",
        ];
        let rows = vec![HeatRow {
            label: "総務課",
            depth: 1,
            cells: links.iter().map(|l| cell(1, None, l)).collect(),
            link: Some("https://example.com".to_owned()),
        }];
        let cols: Vec<HeatColumn> = (0..links.len())
            .map(|_| HeatColumn {
                label: "6(1)",
                title: "",
            })
            .collect();
        let svg = heat_map(&heat(rows, cols));
        assert_safe_svg(&svg);
        assert_eq!(count(&svg, "<a href="), 1);
        assert!(svg.contains("<a href=\"/compliance/findings?unit=1\">"));
        assert!(!svg.contains("example.com"));
    }

    #[test]
    fn cell_shades_differ_by_count_and_critical() {
        assert_eq!(shade_of(0, None), 0);
        assert_eq!(shade_of(0, Some(Severity::Critical)), 0);
        assert_eq!(shade_of(1, Some(Severity::Low)), 1);
        assert_eq!(shade_of(2, Some(Severity::High)), 1);
        assert_eq!(shade_of(3, Some(Severity::Medium)), 2);
        assert_eq!(shade_of(9, None), 2);
        assert_eq!(shade_of(10, Some(Severity::High)), 3);
        assert_eq!(shade_of(500, Some(Severity::High)), 3);
        assert_eq!(shade_of(1, Some(Severity::Critical)), 4);
        assert_eq!(shade_of(500, Some(Severity::Critical)), 4);
        let fills: Vec<&str> = SHADES.iter().map(|s| s.fill).collect();
        for (i, a) in fills.iter().enumerate() {
            for b in &fills[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Darker with each shade: luminance falls.
        for pair in SHADES.windows(2) {
            assert!(luminance(pair[0].fill) > luminance(pair[1].fill));
        }
        assert_eq!(
            bucket_labels(),
            ["0", "1–2", "3–9", "10+"].map(str::to_owned)
        );

        let rows = vec![HeatRow {
            label: "情報政策課",
            depth: 1,
            cells: vec![
                cell(0, None, "/a"),
                cell(2, Some(Severity::Low), "/b"),
                cell(12, Some(Severity::High), "/c"),
                cell(1, Some(Severity::Critical), "/d"),
            ],
            link: None,
        }];
        let cols = columns().into_iter().take(4).collect();
        let svg = heat_map(&heat(rows, cols));
        let fill_of = |href: &str| {
            let at = svg.find(&format!("<a href=\"{href}\">"))?;
            let rest = &svg[at..];
            let f = rest.find(" fill=\"")? + 7;
            Some(rest[f..f + 7].to_owned())
        };
        assert_eq!(fill_of("/a"), None, "an empty cell has no link");
        assert_eq!(fill_of("/b").as_deref(), Some(SHADES[1].fill));
        assert_eq!(fill_of("/c").as_deref(), Some(SHADES[3].fill));
        assert_eq!(fill_of("/d").as_deref(), Some(SHADES[4].fill));
        assert!(svg.contains("<title>情報政策課 / 6(4) 人的対策: 1件 (重大)</title>"));
        assert!(svg.contains("<title>情報政策課 / 6(3) 物理的対策: 12件</title>"));
        assert!(svg.contains(">12</text>"));
    }

    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn text_and_lines_have_enough_contrast() {
        for shade in &SHADES {
            let ratio = contrast(shade.fill, shade.text);
            assert!(ratio >= 4.5, "{} on {}: {ratio:.2}", shade.text, shade.fill);
        }
        assert!(contrast(INK, "#f2f2f2") >= 4.5);
        for kind in [
            SeriesKind::Open(Severity::Critical),
            SeriesKind::Open(Severity::High),
            SeriesKind::Open(Severity::Medium),
            SeriesKind::Open(Severity::Low),
            SeriesKind::Open(Severity::Info),
            SeriesKind::Accepted,
        ] {
            let ratio = contrast(line_style(kind).stroke, "#ffffff");
            assert!(ratio >= 3.0, "{kind:?}: {ratio:.2}");
        }
    }

    #[test]
    fn lines_differ_in_colour_and_dash() {
        let kinds = [
            SeriesKind::Open(Severity::Critical),
            SeriesKind::Open(Severity::High),
            SeriesKind::Open(Severity::Medium),
            SeriesKind::Open(Severity::Low),
            SeriesKind::Open(Severity::Info),
            SeriesKind::Accepted,
        ];
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                let (a, b) = (line_style(*a), line_style(*b));
                assert_ne!(a.stroke, b.stroke);
                assert_ne!(a.dash, b.dash);
            }
        }
    }

    #[test]
    fn links_only_on_cells_with_open_findings() {
        let rows = vec![
            HeatRow {
                label: "総務部",
                depth: 0,
                cells: vec![cell(0, None, "/zero"), cell(4, None, "/four")],
                link: Some("/org/1".to_owned()),
            },
            HeatRow {
                label: "総務課",
                depth: 1,
                cells: vec![
                    cell(0, Some(Severity::Critical), "/zero-critical"),
                    HeatCell {
                        open: 2,
                        worst: None,
                        link: None,
                    },
                ],
                link: None,
            },
        ];
        let svg = heat_map(&HeatMap {
            empty_label: "0",
            ..heat(rows, columns().into_iter().take(2).collect())
        });
        assert_safe_svg(&svg);
        assert!(!svg.contains("/zero"));
        assert!(svg.contains("<a href=\"/four\">"));
        assert!(svg.contains("<a href=\"/org/1\">"));
        assert_eq!(count(&svg, "<a href="), 2);
        // The unlinked cell still shows its count and tooltip; the empty ones their label.
        assert!(svg.contains("<title>総務課 / 6(2) 分類と管理: 2件</title>"));
        // Two empty cells and the legend.
        assert_eq!(count(&svg, ">0</text>"), 3);
        assert!(svg.contains(&format!("<g fill=\"{INK_MUTED}\"><text")));
    }

    #[test]
    fn missing_and_extra_cells_are_tolerated() {
        let rows = vec![HeatRow {
            label: "総務課",
            depth: 1,
            cells: vec![
                cell(1, None, "/a"),
                cell(1, None, "/b"),
                cell(1, None, "/c"),
            ],
            link: None,
        }];
        let svg = heat_map(&heat(rows, columns().into_iter().take(2).collect()));
        assert_safe_svg(&svg);
        assert!(svg.contains("/b\"") && !svg.contains("/c\""));
        let rows = vec![HeatRow {
            label: "総務課",
            depth: 1,
            cells: Vec::new(),
            link: None,
        }];
        assert_safe_svg(&heat_map(&heat(rows, columns())));
    }

    #[test]
    fn long_labels_are_cut_by_characters_and_kept_in_a_tooltip() {
        let long =
            "市民生活部市民課住民記録係及び戸籍係ならびに証明書交付窓口担当と臨時給付金事務室";
        assert_eq!(long.chars().count(), 40);
        let cut = Label::cut(long, ROW_LABEL_EM);
        assert!(cut.cut);
        let expected: String = long.chars().take(15).chain(['…']).collect();
        assert_eq!(cut.shown, expected);
        assert_eq!(cut.shown.chars().count(), 16);
        // A short label, and a Latin one that fits the same width, stay whole.
        assert!(!Label::cut("総務課", ROW_LABEL_EM).cut);
        assert!(!Label::cut("General Affairs Division", ROW_LABEL_EM).cut);
        assert_eq!(Label::cut("", ROW_LABEL_EM).shown, "");

        let rows = vec![HeatRow {
            label: long,
            depth: 1,
            cells: vec![cell(1, None, "/a")],
            link: None,
        }];
        let svg = heat_map(&heat(rows, columns().into_iter().take(1).collect()));
        assert_safe_svg(&svg);
        // Indented a level, the label has a little less room.
        let shown: String = long.chars().take(13).chain(['…']).collect();
        assert!(svg.contains(&format!(">{shown}</text>")), "{svg}");
        assert!(svg.contains(&format!("<title>{long}</title>")));
        assert!(svg.contains(&format!("<title>{long} / 6(1) 組織体制: 1件</title>")));
        // The header is cut too; its tooltip has the full title.
        let cols = vec![HeatColumn {
            label: "6(8) 外部委託とクラウドサービスの利用",
            title: "",
        }];
        let svg = heat_map(&heat(
            Vec::from([HeatRow {
                label: "総務課",
                depth: 1,
                cells: Vec::new(),
                link: None,
            }]),
            cols,
        ));
        assert!(svg.contains("<title>6(8) 外部委託とクラウドサービスの利用</title>"));
        assert!(svg.contains(">6(8) 外部委託とクラ…</text>"), "{svg}");
    }

    #[test]
    fn no_rows_or_no_columns_show_the_no_data_text() {
        for map in [heat(Vec::new(), columns()), heat(sample_rows(), Vec::new())] {
            let svg = heat_map(&map);
            assert_safe_svg(&svg);
            assert!(svg.contains(">表示できるデータがありません</text>"));
            assert!(svg.contains("role=\"img\""));
            assert!(!svg.contains("<a "));
        }
    }

    /// 1,000 rows (100 部局 of 9 課 each) × 10 columns, a cell open where `open(row, column)` says.
    fn thousand_rows(empty_label: &str, open: impl Fn(u32, u32) -> bool) -> String {
        let names: Vec<String> = (0..1_000).map(|i| format!("市民生活部第{i}課")).collect();
        let rows: Vec<HeatRow> = (0..1_000u32)
            .zip(&names)
            .map(|(r, name)| HeatRow {
                label: name,
                depth: u8::from(r % 10 != 0),
                cells: (0..10u32)
                    .map(|c| {
                        let n = if open(r, c) { 1 + (r + c) % 12 } else { 0 };
                        let worst = if r % 50 == 0 {
                            Severity::Critical
                        } else {
                            Severity::High
                        };
                        cell(
                            n,
                            Some(worst),
                            &format!("/compliance/findings?unit={r}&area={c}"),
                        )
                    })
                    .collect(),
                link: Some(format!("/org/units/{r}")),
            })
            .collect();
        heat_map(&HeatMap {
            empty_label,
            ..heat(rows, columns())
        })
    }

    #[test]
    fn a_thousand_rows_stay_small() {
        // Most cells empty, as in a city that mostly complies: one in ten open.
        let svg = thousand_rows("", |r, c| (r + c) % 10 == 0);
        assert_safe_svg(&svg);
        assert_eq!(count(&svg, "<g transform="), 1_000);
        assert!(svg.len() < 450_000, "{} bytes", svg.len());
        // The same with every empty cell showing "0".
        let zeros = thousand_rows("0", |r, c| (r + c) % 10 == 0);
        assert_safe_svg(&zeros);
        assert!(zeros.len() < 650_000, "{} bytes", zeros.len());
        // One in three open.
        let third = thousand_rows("", |r, c| (r + c) % 3 == 0);
        assert!(third.len() < 850_000, "{} bytes", third.len());
        // Every cell open, each with its link and tooltip (about 190 bytes, more than half of them
        // the link and the tooltip's text): the worst case.
        let all = thousand_rows("", |_, _| true);
        assert!(all.len() < 2_200_000, "{} bytes", all.len());
    }

    // --- trend ---------------------------------------------------------------------------------------

    #[test]
    fn trend_is_safe_well_formed_svg() {
        let today = day(2026, 11, 26);
        let svg = trend(&trend_of(today, sample_points(today)));
        assert_safe_svg(&svg);
        assert!(svg.contains("role=\"img\""));
        for label in [
            "重大",
            "高",
            "中",
            "低",
            "例外承認中",
            "12月",
            "4月",
            "10月",
        ] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
    }

    #[test]
    fn fiscal_year_line_exactly_when_april_first_is_in_the_window() {
        let points = |today: NaiveDate| vec![point(today, [1, 2, 3, 4, 5])];
        let lines = |svg: &str| count(svg, "stroke-dasharray=\"5 4\"");

        // 2025-11-26 .. 2026-11-26 holds 2026-04-01 only.
        let today = day(2026, 11, 26);
        let svg = trend(&trend_of(today, points(today)));
        assert_eq!(lines(&svg), 1);
        assert!(svg.contains(">令和8年度</text>"));
        assert!(!svg.contains("令和7年度"));

        // 2025-03-31 .. 2026-03-31 holds 2025-04-01.
        let today = day(2026, 3, 31);
        let svg = trend(&trend_of(today, points(today)));
        assert_eq!(lines(&svg), 1);
        assert!(svg.contains(">令和7年度</text>"));
        assert!(!svg.contains("令和8年度"));

        // On 1 April itself the new 年度 has begun and is marked at the right edge; the window's first
        // day is not marked.
        let today = day(2026, 4, 1);
        let svg = trend(&trend_of(today, points(today)));
        assert_eq!(lines(&svg), 1);
        assert!(svg.contains(">令和8年度</text>"));
        assert!(!svg.contains("令和7年度"));
    }

    #[test]
    fn y_axis_maximum_is_rounded_up_to_a_nice_number() {
        let cases = [
            (0, (1, 1)),
            (1, (1, 1)),
            (2, (2, 1)),
            (3, (3, 1)),
            (5, (5, 1)),
            (6, (6, 2)),
            (7, (8, 2)),
            (10, (10, 2)),
            (12, (15, 3)),
            (16, (20, 5)),
            (21, (25, 5)),
            (26, (30, 10)),
            (31, (40, 10)),
            (52, (60, 15)),
            (61, (80, 20)),
            (99, (100, 20)),
            (230, (250, 50)),
            (260, (300, 100)),
            (4_100, (5_000, 1_000)),
            (4_000_000_001, (4_000_000_001, 800_000_001)),
        ];
        for (peak, expected) in cases {
            assert_eq!(nice_scale(peak), expected, "{peak}");
        }
        for peak in 0..=3_000 {
            let (max, step) = nice_scale(peak);
            assert!(max >= peak && max % step == 0);
            assert!((1..=5).contains(&(max / step)), "{peak}");
            // Never more than half again as high as needed, above ten.
            assert!(
                peak < 10 || f64::from(max) <= f64::from(peak) * 1.5,
                "{peak}"
            );
        }
        assert_eq!(nice_scale(u32::MAX).0, u32::MAX);

        let today = day(2026, 11, 26);
        let svg = trend(&trend_of(today, vec![point(today, [230, 0, 0, 0, 0])]));
        // Six gridlines: 0, 50, … 250.
        assert_eq!(count(&svg, &format!("H{}\" stroke=", num(PLOT_RIGHT))), 6);
        for label in ["0", "50", "100", "150", "200", "250"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        assert!(!svg.contains(">300</text>"));
        let svg = trend(&trend_of(today, vec![point(today, [1_200, 0, 0, 0, 0])]));
        assert!(svg.contains(">1,200</text>") && svg.contains(">1,500</text>"));
        // The largest count draws: its gridlines stop at the top without overflowing.
        let svg = trend(&trend_of(today, vec![point(today, [u32::MAX; 5])]));
        assert!(svg.contains(">4,294,967,295</text>"));
    }

    #[test]
    fn gaps_of_more_than_three_days_break_the_lines() {
        let today = day(2026, 11, 26);
        let p = |d: NaiveDate| point(d, [1, 2, 3, 4, 5]);
        // 1–5 Nov, then 9 Nov (three days missing: joined), then 20–22 Nov (ten missing: broken).
        let mut points: Vec<_> = (1..=5).map(|d| p(day(2026, 11, d))).collect();
        points.push(p(day(2026, 11, 9)));
        points.extend((20..=22).map(|d| p(day(2026, 11, d))));
        let svg = trend(&trend_of(today, points.clone()));
        assert_safe_svg(&svg);
        assert_eq!(count(&svg, "<polyline"), 2 * 5);
        assert_eq!(count(&svg, "<circle"), 0);
        // Order does not matter.
        points.reverse();
        assert_eq!(trend(&trend_of(today, points)), svg);

        // Four days missing break the line.
        let points = vec![
            p(day(2026, 11, 1)),
            p(day(2026, 11, 6)),
            p(day(2026, 11, 7)),
        ];
        let svg = trend(&trend_of(today, points));
        assert_eq!(count(&svg, "<polyline"), 5);
        assert_eq!(count(&svg, "<circle"), 5);
    }

    #[test]
    fn a_single_point_is_a_dot() {
        let today = day(2026, 11, 26);
        let svg = trend(&trend_of(
            today,
            vec![point(day(2026, 7, 1), [0, 1, 2, 3, 4])],
        ));
        assert_safe_svg(&svg);
        assert_eq!(count(&svg, "<circle"), 5);
        assert_eq!(count(&svg, "<polyline"), 0);
        assert!(!svg.contains("この期間の記録はありません"));
    }

    #[test]
    fn points_outside_the_window_are_ignored() {
        let today = day(2026, 11, 26);
        let outside = vec![
            point(day(2025, 11, 25), [9; 5]),
            point(day(2026, 11, 27), [9; 5]),
        ];
        let svg = trend(&trend_of(today, outside.clone()));
        assert_safe_svg(&svg);
        assert!(svg.contains(">この期間の記録はありません</text>"));
        assert!(!svg.contains("<polyline") && !svg.contains("<circle"));

        let mut points = outside;
        points.push(point(day(2025, 11, 26), [1; 5]));
        points.push(point(today, [1; 5]));
        let svg = trend(&trend_of(today, points));
        assert_eq!(count(&svg, "<circle"), 10);
        assert!(!svg.contains(">9</text>") && svg.contains(">1</text>"));
        // The window's ends are the plot's edges.
        assert!(svg.contains(&format!("cx=\"{}\"", num(PLOT_LEFT))));
        assert!(svg.contains(&format!("cx=\"{}\"", num(PLOT_RIGHT))));
    }

    #[test]
    fn same_day_twice_keeps_the_later_point() {
        let today = day(2026, 11, 26);
        let svg = trend(&trend_of(
            today,
            vec![point(today, [100; 5]), point(today, [3; 5])],
        ));
        assert!(svg.contains(">3</text>") && !svg.contains(">100</text>"));
    }

    #[test]
    fn long_legends_wrap() {
        let today = day(2026, 11, 26);
        let mut chart = trend_of(today, vec![point(today, [1; 5])]);
        chart.series = series().map(|s| TrendSeries {
            label: "Open findings of this severity, long",
            ..s
        });
        let svg = trend(&chart);
        assert_safe_svg(&svg);
        let short = trend(&trend_of(today, vec![point(today, [1; 5])]));
        assert!(svg.len() > short.len());
        let height = |s: &str| -> Option<f64> {
            let v = s.split("viewBox=\"0 0 800 ").nth(1)?;
            v.split('"').next()?.parse().ok()
        };
        assert!(height(&svg) > height(&short));
    }

    // --- helpers -------------------------------------------------------------------------------------

    #[test]
    fn numbers_are_deterministic() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(12.36), "12.4");
        assert_eq!(num(-3.0), "-3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(4_294_967_295), "4,294,967,295");
    }
}
