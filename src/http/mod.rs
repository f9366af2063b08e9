//! HTTP plumbing shared by every resource: the JSON body extractor, the
//! parameter error handlers, the list convention and the fallback routes.

pub mod fallback;
pub mod json;
pub mod pagination;
pub mod query;

use actix_web::error::PathError;
use actix_web::{HttpRequest, web};

use crate::error::{AppError, FieldIssue, InvalidField};

/// Path parameters that do not parse answer 400 with a problem document.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, req: &HttpRequest| {
        let issue = match err {
            PathError::Deserialize(err) if err.to_string().contains("UUID") => FieldIssue::NotUuid,
            PathError::Deserialize(err) => FieldIssue::Invalid(err.to_string()),
            _ => FieldIssue::Invalid(err.to_string()),
        };
        let field = req.match_info().iter().map(|(name, _)| name).next().unwrap_or("path");
        AppError::BadParameter(vec![InvalidField::new(field, issue)]).into()
    })
}
