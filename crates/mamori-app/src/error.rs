//! Errors of the use cases. Each names what failed with a stable message key (translated by the web layer,
//! `locales/*/main.ftl`) and its parameters, so a person reads it in their own language.

use mamori_store::StoreError;

/// A problem with one input field: which field, a message key, and the values the message mentions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, key: &'static str) -> Self {
        FieldError {
            field: field.into(),
            key,
            args: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input was refused; nothing was saved.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    /// The caller lacks the capability. Also used when an object exists outside the caller's scope, so a
    /// refusal does not reveal whether it exists.
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    Unauthenticated,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Store(StoreError::Db(e))
    }
}

impl AppError {
    pub fn field(field: impl Into<String>, key: &'static str) -> Self {
        AppError::Invalid(vec![FieldError::new(field, key)])
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Collects field errors, so a form reports every problem at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// The value, or records the error and gives `None`.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}
