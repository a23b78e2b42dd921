//! Keys for searching and sorting Japanese text the same way on every database: NFKC, hiragana folded to
//! katakana, case folded. The database compares these keys byte for byte, never by its own collation.

use unicode_normalization::UnicodeNormalization;

/// The search form of a text: `ｻﾝﾌﾟﾙ`, `さんぷる` and `サンプル` all become `サンプル`; `ＡＢＣ` becomes `abc`;
/// 異体字 fold to their usual form (`髙橋` → `高橋`, the table in `catalog/itaiji.toml`).
pub fn search_key(text: &str) -> String {
    let variants = mamori_policy::VariantTable::builtin();
    text.nfkc()
        .map(|c| match c {
            'ぁ'..='ゖ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            _ => variants.fold_char(c),
        })
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A LIKE pattern matching `needle` anywhere, with LIKE's own wildcards escaped by `\`.
pub fn contains_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Whether an HTML checkbox (or a JSON "true", or a query's `1` / `yes`) was ticked.
pub fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| matches!(v, "on" | "true" | "1" | "yes"))
}

/// Trims a field and refuses control characters; the limit is in characters.
pub fn clean(value: &str, max_chars: usize) -> Result<String, &'static str> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err("err-too-long");
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err("err-control-chars");
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hiragana_half_width_and_full_width_fold_to_one_key() {
        assert_eq!(search_key("さんぷる"), "サンプル");
        assert_eq!(search_key("ｻﾝﾌﾟﾙ"), "サンプル");
        assert_eq!(search_key("ＡＢＣ 情報"), "abc情報");
        assert_eq!(search_key("髙橋 山﨑"), "高橋山崎");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn control_characters_and_overlong_values_are_refused() {
        assert_eq!(clean("  総務課 ", 10), Ok("総務課".to_owned()));
        assert_eq!(clean("a\u{0}b", 10), Err("err-control-chars"));
        assert_eq!(clean("あいうえお", 4), Err("err-too-long"));
    }
}
