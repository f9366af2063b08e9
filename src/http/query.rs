//! The query-string extractor: like actix's, but a value that does not parse
//! answers 400 naming the parameter (`role`, `active`), not the whole query.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::json::without_position;
use crate::error::{AppError, FieldIssue, InvalidField};

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
