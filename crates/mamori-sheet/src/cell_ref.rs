//! Column letters (列記号) and A1-style cell references (セル番地).

/// The column letter of a zero-based column index, as Excel shows it (列記号):
/// 0 → `A`, 25 → `Z`, 26 → `AA`, 701 → `ZZ`, 702 → `AAA`.
pub fn column_letter(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// The A1-style reference of a cell (セル番地) from a zero-based column index and
/// a one-based row number: (2, 12) → `C12`.
pub fn cell_ref(column: usize, line: usize) -> String {
    format!("{}{line}", column_letter(column))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn letters() {
        let cases = [
            (0, "A"),
            (5, "F"),
            (25, "Z"),
            (26, "AA"),
            (51, "AZ"),
            (52, "BA"),
            (199, "GR"),
            (701, "ZZ"),
            (702, "AAA"),
            (16_383, "XFD"),
        ];
        for (index, letter) in cases {
            assert_eq!(column_letter(index), letter, "index {index}");
        }
        assert_eq!(cell_ref(2, 12), "C12");
    }
}
