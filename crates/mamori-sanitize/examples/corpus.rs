//! Writes a generated corpus of mail for the sanitiser benchmark: `corpus DIR [COUNT]` (default 200).
//!
//! Japanese business mail in the shapes real mailers send: plain text in ISO-2022-JP, HTML in UTF-8 or
//! Shift_JIS with a plain alternative, and attachments (PDF-, Office- and image-like bytes, base64) that make
//! the sizes range from about 5 KB to 5 MB: most messages small, some of a few hundred KB, a few of megabytes.
//! Deterministic: the same COUNT always writes the same files.

use std::fmt::Write as _;

use base64::Engine as _;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const LINES: [&str; 8] = [
    "いつもお世話になっております。株式会社サンプルの髙橋です。",
    "令和8年度の保守契約について、お見積書をお送りいたします。",
    "ご確認のほど、よろしくお願い申し上げます。",
    "なお、詳細は https://example.co.jp/support/maintenance をご覧ください。",
    "ご不明な点がございましたら、03-1234-5678 までご連絡ください。",
    "①見積書 ②仕様書 ③スケジュール表 を添付しております。",
    "会議は11月28日（金）14時から第3会議室にて開催いたします。",
    "以上、取り急ぎご連絡申し上げます。",
];

fn body_text(rng: &mut Rng, paragraphs: usize) -> String {
    let mut text = String::from("サンプル市 情報政策課 御中\n\n");
    for _ in 0..paragraphs {
        for _ in 0..4 {
            text.push_str(LINES[usize::try_from(rng.below(LINES.len() as u64)).unwrap_or(0)]);
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str("--\n株式会社サンプル 営業部 髙橋 一郎\n");
    text
}

fn html_of(text: &str) -> String {
    let mut html =
        String::from("<html><head><style>p{margin:0}</style><script>track()</script></head><body>");
    for line in text.lines() {
        let _ = write!(
            html,
            "<p>{}</p>",
            line.replace(
                "https://example.co.jp/support/maintenance",
                "<a href=\"https://example.co.jp/support/maintenance\">保守のご案内</a>"
            )
        );
    }
    html.push_str("<img src=\"cid:logo@example\"></body></html>");
    html
}

fn b64_lines(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 76 * 2);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

fn encoded_word(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    )
}

fn attachment(rng: &mut Rng, size: usize) -> (String, &'static str, Vec<u8>) {
    let kind = rng.below(3);
    let (name, ty, magic): (&str, &str, &[u8]) = match kind {
        0 => ("見積書_令和8年度.pdf", "application/pdf", b"%PDF-1.7\n"),
        1 => (
            "仕様書.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK\x03\x04",
        ),
        _ => ("会場写真.jpg", "image/jpeg", b"\xff\xd8\xff\xe0"),
    };
    let mut bytes = magic.to_vec();
    while bytes.len() < size {
        bytes.extend_from_slice(&rng.next().to_le_bytes());
    }
    bytes.truncate(size);
    (name.to_owned(), ty, bytes)
}

fn message(rng: &mut Rng, n: usize) -> Vec<u8> {
    // Sizes: 60% small (5–20 KB), 30% medium (100 KB–1 MB), 10% large (2–5 MB).
    let class = rng.below(10);
    let attach = match class {
        0..=5 => 0,
        6..=8 => 100_000 + usize::try_from(rng.below(900_000)).unwrap_or(0),
        _ => 2_000_000 + usize::try_from(rng.below(3_000_000)).unwrap_or(0),
    };
    let paragraphs = 8 + usize::try_from(rng.below(30)).unwrap_or(0);
    let text = body_text(rng, paragraphs);
    let mut m = String::new();
    let _ = write!(
        m,
        "From: {} <takahashi@example.co.jp>\r\nTo: johoseisaku@city.example.lg.jp\r\nSubject: {}\r\nDate: Thu, 26 Nov 2026 10:{:02}:00 +0900\r\nMessage-ID: <bench-{n}@example.co.jp>\r\nMIME-Version: 1.0\r\n",
        encoded_word("髙橋 一郎"),
        encoded_word(&format!("【ご連絡】令和8年度 保守契約のお見積り ({n})")),
        n % 60
    );
    let shape = rng.below(3);
    let boundary = format!("----=_Part_{n}_{}", rng.next());
    let alt = format!("----=_Alt_{n}_{}", rng.next());
    let plain_part = |m: &mut String| {
        let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(&text);
        let _ = write!(
            m,
            "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{}\r\n",
            String::from_utf8_lossy(&bytes).replace('\n', "\r\n")
        );
    };
    let html_part = |m: &mut String, sjis: bool| {
        let html = html_of(&text);
        if sjis {
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&html);
            let _ = write!(
                m,
                "Content-Type: text/html; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                b64_lines(&bytes)
            );
        } else {
            let _ = write!(
                m,
                "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                b64_lines(html.as_bytes())
            );
        }
    };
    let _ = write!(
        m,
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    );
    let _ = write!(m, "--{boundary}\r\n");
    match shape {
        0 => plain_part(&mut m),
        _ => {
            let _ = write!(
                m,
                "Content-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n--{alt}\r\n"
            );
            plain_part(&mut m);
            let _ = write!(m, "--{alt}\r\n");
            html_part(&mut m, shape == 2);
            let _ = write!(m, "--{alt}--\r\n");
        }
    }
    if attach > 0 {
        let (name, ty, bytes) = attachment(rng, attach);
        let _ = write!(
            m,
            "--{boundary}\r\nContent-Type: {ty}; name=\"{0}\"\r\nContent-Disposition: attachment; filename=\"{0}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{1}",
            encoded_word(&name),
            b64_lines(&bytes)
        );
    }
    let _ = write!(m, "--{boundary}--\r\n");
    m.into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: corpus DIR [COUNT]")?;
    let count: usize = args.next().as_deref().unwrap_or("200").parse()?;
    std::fs::create_dir_all(&dir)?;
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut total = 0usize;
    for n in 0..count {
        let m = message(&mut rng, n);
        total += m.len();
        std::fs::write(format!("{dir}/{n:05}.eml"), &m)?;
    }
    println!("wrote {count} messages, {total} bytes, into {dir}");
    Ok(())
}
