//! What every page is made of: the frame (title, navigation, language switch) and the generic bodies — a form,
//! a table, a message. HTML comes only from askama templates, which escape every value.

use askama::Template;

use crate::i18n::{Lang, Tr};
use mamori_app::Actor;

/// The frame around every page.
pub struct Page {
    pub lang: &'static str,
    pub title: String,
    pub path: String,
    pub nav: Vec<(String, String)>,
    pub nav_label: String,
    pub user: Option<String>,
    pub logout_label: String,
    pub other_lang: &'static str,
    pub other_lang_label: &'static str,
    pub notice: Option<String>,
}

impl Page {
    pub fn new(tr: &Tr, actor: Option<&Actor>, path: &str, title: String) -> Page {
        let (other, other_label) = match tr.lang {
            Lang::Ja => ("en", "English"),
            Lang::En => ("ja", "日本語"),
        };
        Page {
            lang: tr.lang.code(),
            title,
            path: path.to_owned(),
            nav: actor.map(|a| nav(tr, a)).unwrap_or_default(),
            nav_label: tr.get("nav-label"),
            user: actor.map(|a| a.display_name.clone()),
            logout_label: tr.get("nav-logout"),
            other_lang: other,
            other_lang_label: other_label,
            notice: None,
        }
    }
}

/// The menu shows what the person may open (the server still decides each request on its own).
fn nav(tr: &Tr, a: &Actor) -> Vec<(String, String)> {
    let mut items = vec![("/org".to_owned(), tr.get("nav-org"))];
    if !a.outsider {
        items.push(("/staff".to_owned(), tr.get("nav-staff")));
        items.push(("/roles".to_owned(), tr.get("nav-roles")));
    }
    items.push(("/facilities".to_owned(), tr.get("nav-facilities")));
    // Everyone signed in has a register to see: the app scopes it (their units, what they manage, or none).
    items.push(("/assets".to_owned(), tr.get("nav-assets")));
    // Systems are scoped like assets; the network (zone map, firewall files, runs) only for its readers.
    items.push(("/systems".to_owned(), tr.get("nav-systems")));
    if a.network_reader().is_some() {
        items.push(("/network".to_owned(), tr.get("nav-network")));
    }
    // Mail the relay held back: everyone with a mailbox in the city (approvers find the requests there); an
    // administrator without one goes straight to the requests.
    if a.mail_recipient().is_some() {
        items.push(("/quarantine".to_owned(), tr.get("nav-quarantine")));
    } else if a.system_admin {
        items.push((
            "/quarantine/requests".to_owned(),
            tr.get("quarantine-requests-title"),
        ));
    }
    if a.compliance_reader().is_some() {
        items.push(("/compliance".to_owned(), tr.get("nav-compliance")));
    }
    if a.audit_reader().is_some() {
        items.push(("/audit".to_owned(), tr.get("nav-audit")));
    }
    if a.org_admin().is_some() {
        items.push(("/changes".to_owned(), tr.get("nav-changes")));
    }
    if a.account_admin().is_some() {
        items.push(("/accounts".to_owned(), tr.get("nav-accounts")));
        items.push(("/settings".to_owned(), tr.get("nav-settings")));
    }
    items.push(("/me".to_owned(), tr.get("nav-me")));
    items
}

/// One field of a form.
#[derive(Debug, Clone, Default)]
pub struct Field {
    pub name: String,
    pub label: String,
    /// text, password, email, date, select, checkbox, textarea, hidden, file.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
    pub error: Option<String>,
    pub hint: Option<String>,
}

impl Field {
    pub fn new(name: &str, label: String, kind: &'static str, value: impl Into<String>) -> Field {
        Field {
            name: name.to_owned(),
            label,
            kind,
            value: value.into(),
            ..Default::default()
        }
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Field {
        self.options = options;
        self
    }

    pub fn hint(mut self, hint: String) -> Field {
        self.hint = Some(hint);
        self
    }
}

#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage {
    pub page: Page,
    pub action: String,
    pub multipart: bool,
    pub intro: Option<String>,
    pub qr_svg: Option<String>,
    /// A secret to show as text beside the QR code (for authenticator apps without a camera).
    pub secret: Option<String>,
    pub secret_label: String,
    pub fields: Vec<Field>,
    pub errors: Vec<String>,
    pub submit: String,
    pub links: Vec<(String, String)>,
}

impl FormPage {
    pub fn new(page: Page, action: &str, fields: Vec<Field>, submit: String) -> FormPage {
        FormPage {
            page,
            action: action.to_owned(),
            multipart: false,
            intro: None,
            qr_svg: None,
            secret: None,
            secret_label: String::new(),
            fields,
            errors: Vec::new(),
            submit,
            links: Vec::new(),
        }
    }

    /// Puts each error next to its field (or at the top when no field has its name).
    pub fn with_errors(mut self, tr: &Tr, errors: &[mamori_app::FieldError]) -> FormPage {
        for e in errors {
            let label = self
                .fields
                .iter()
                .find(|f| f.name == e.field)
                .map(|f| f.label.clone());
            let message = crate::error::field_message(tr, e);
            match self.fields.iter_mut().find(|f| f.name == e.field) {
                Some(f) if f.error.is_none() => f.error = Some(message.clone()),
                _ => {}
            }
            self.errors.push(match label {
                Some(l) => format!("{l}: {message}"),
                None if e.field.contains(':') => {
                    format!("{}: {message}", crate::error::field_place(tr, &e.field))
                }
                None => message,
            });
        }
        self
    }
}

/// One cell of a table.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub indent: usize,
    /// A class from the stylesheet (`overdue`), or empty.
    pub class: &'static str,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Default::default()
        }
    }

    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            href: Some(href.into()),
            ..Default::default()
        }
    }

    /// The same cell, styled with a class of the stylesheet.
    pub fn class(mut self, class: &'static str) -> Cell {
        self.class = class;
        self
    }
}

/// A button that posts a small form.
pub struct PostButton {
    pub action: String,
    pub label: String,
    pub hidden: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "table.html")]
pub struct TablePage {
    pub page: Page,
    pub actions: Vec<(String, String)>,
    pub filters: Vec<Field>,
    pub filter_label: String,
    /// Problems with the request (a filter value not understood), shown above the table.
    pub errors: Vec<String>,
    pub summary: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// (label, current, href)
    pub pages: Vec<(u64, bool, String)>,
    pub post_forms: Vec<PostButton>,
}

impl TablePage {
    pub fn new(tr: &Tr, page: Page, columns: Vec<String>, rows: Vec<Vec<Cell>>) -> TablePage {
        TablePage {
            page,
            actions: Vec::new(),
            filters: Vec::new(),
            filter_label: tr.get("action-filter"),
            errors: Vec::new(),
            summary: None,
            columns,
            rows,
            pages: Vec::new(),
            post_forms: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub page: Page,
    pub paragraphs: Vec<String>,
    pub secret_columns: Vec<String>,
    pub secrets: Vec<Vec<String>>,
    pub links: Vec<(String, String)>,
}

/// Page links for a list: the first, the last, and those near the current one.
pub fn pagination(
    base: &str,
    query_without_page: &str,
    page: u64,
    per_page: u64,
    total: u64,
) -> Vec<(u64, bool, String)> {
    let last = total.div_ceil(per_page).max(1);
    if last == 1 {
        return Vec::new();
    }
    let sep = if query_without_page.is_empty() {
        String::new()
    } else {
        format!("{query_without_page}&")
    };
    (1..=last)
        .filter(|p| *p == 1 || *p == last || p.abs_diff(page) <= 3)
        .map(|p| (p, p == page, format!("{base}?{sep}page={p}")))
        .collect()
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
