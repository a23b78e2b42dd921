//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps), replay-safe, and recovery codes.

use totp_rs::{Algorithm, Secret, TOTP};

use crate::{AppError, AppResult};

const STEP: u64 = 30;
const ISSUER: &str = "Mamori";

/// A new random secret, base32.
pub fn new_secret() -> String {
    Secret::Raw(rand::random::<[u8; 20]>().to_vec())
        .to_encoded()
        .to_string()
}

fn totp(secret_b32: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|_| AppError::Internal("stored TOTP secret is not base32".to_owned()))?;
    Ok(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP, bytes))
}

/// The time step a code is valid for, if it is valid now (one step of clock drift either way), and only
/// if that step is later than the last one accepted: a code is never accepted twice.
pub fn accept(
    secret_b32: &str,
    code: &str,
    now_unix: u64,
    last_step: Option<i64>,
) -> AppResult<Option<i64>> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret_b32)?;
    let now_step = (now_unix / STEP) as i64;
    for step in [now_step - 1, now_step, now_step + 1] {
        if step < 0 || last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let expected = totp.generate(step as u64 * STEP);
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into() {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// The code for a moment (used by tests and by the demo's documentation, never shown to users).
pub fn code_at(secret_b32: &str, unix: u64) -> AppResult<String> {
    Ok(totp(secret_b32)?.generate(unix))
}

/// The `otpauth://` URL an authenticator app reads from the QR code.
pub fn provisioning_url(secret_b32: &str, login: &str) -> String {
    let label = percent_encode(&format!("{ISSUER}:{login}"));
    format!(
        "otpauth://totp/{label}?secret={secret_b32}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP}"
    )
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The QR code of the provisioning URL, as an SVG document.
pub fn qr_svg(url: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Ten one-time recovery codes, `XXXXX-XXXXX` in an unambiguous alphabet.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..10)
        .map(|_| {
            let raw: String = (0..10)
                .map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect()
}

/// A recovery code as typed: case and hyphens do not matter.
pub fn normalise_recovery_code(code: &str) -> String {
    let raw: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    if raw.len() == 10 {
        format!("{}-{}", &raw[..5], &raw[5..])
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_code_is_accepted_once_and_never_replayed() {
        let secret = new_secret();
        let now = 1_780_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = accept(&secret, &code, now, None).unwrap().unwrap();
        assert_eq!(step, (now / 30) as i64);
        assert_eq!(accept(&secret, &code, now, Some(step)).unwrap(), None);
    }

    #[test]
    fn one_step_of_drift_is_tolerated_and_two_are_not() {
        let secret = new_secret();
        let now = 1_780_000_000;
        assert!(
            accept(&secret, &code_at(&secret, now - 30).unwrap(), now, None)
                .unwrap()
                .is_some()
        );
        assert!(
            accept(&secret, &code_at(&secret, now - 90).unwrap(), now, None)
                .unwrap()
                .is_none()
        );
        assert!(accept(&secret, "12a456", now, None).unwrap().is_none());
    }

    #[test]
    fn the_qr_code_is_svg_and_the_url_names_issuer_and_login() {
        let url = provisioning_url("JBSWY3DPEHPK3PXP", "tanaka taro");
        assert!(url.starts_with(
            "otpauth://totp/Mamori:tanaka%20taro?secret=JBSWY3DPEHPK3PXP&issuer=Mamori"
        ));
        assert!(qr_svg(&url).unwrap().contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_typed_forgivingly() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(
            normalise_recovery_code(&codes[0].to_lowercase().replace('-', "")),
            codes[0]
        );
    }
}
