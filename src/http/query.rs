//! The query-string extractor: like actix's, but a value that does not parse
//! answers 400 naming the parameter (`role`, `active`), not the whole query.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use super::json::without_position;
use crate::error::{AppError, FieldIssue, InvalidField};
use crate::lang::Lang;

pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let issue = FieldIssue::Invalid(without_position(&err.inner().to_string()));
        AppError::BadParameter(vec![InvalidField::new(err.path().to_string(), issue)])
    })
}

/// `?lang=`, for files: a link opened in a browser carries no
/// `Accept-Language` of the reader's choosing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LanguageQuery {
    /// Headers and labels in Vietnamese (`vi`) or English (`en`). Without
    /// it `Accept-Language` decides: for a link opened in a browser, whose
    /// own language may not be the reader's.
    pub lang: Option<Lang>,
}

impl LanguageQuery {
    pub fn resolve(&self, req: &HttpRequest) -> Lang {
        self.lang.unwrap_or_else(|| Lang::from_headers(req.headers()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Filter {
        active: Option<bool>,
        limit: Option<u32>,
    }

    #[test]
    fn a_bad_value_names_its_parameter() {
        let Err(AppError::BadParameter(fields)) = parse::<Filter>("limit=5&active=maybe") else {
            panic!("expected 400");
        };
        assert_eq!(fields[0].field, "active");
        assert!(parse::<Filter>("active=true&unknown=1").is_ok());
    }
}
