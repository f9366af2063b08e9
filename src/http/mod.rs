//! HTTP plumbing shared by every resource: the JSON body extractor, the
//! parameter error handlers, the list convention and the fallback routes.

pub mod conditional;
pub mod conventions;
pub mod fallback;
pub mod json;
pub mod pagination;
pub mod problems;
pub mod query;
pub mod upload;
pub mod utc;
pub mod wire;

use actix_web::error::PathError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::error::{AppError, FieldIssue, InvalidField};
use crate::sheets::FileFormat;

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

/// `201 Created` with the new resource, and its path in `Location`
/// (`path` is under `/api/v1`, such as `/sessions/{id}`).
pub fn created<T: Serialize>(path: &str, resource: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1{path}")))
        .json(resource)
}

/// A `200` that downloads a file: its media type, `attachment` with its
/// name, and, for XLSX (a zip archive already), no second compression.
pub fn download(format: FileFormat, name: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header(header::ContentDisposition::attachment(name));
    if format == FileFormat::Xlsx {
        // Deflating an XLSX again for `Accept-Encoding: gzip` would cost
        // time and save nothing.
        response.insert_header((header::CONTENT_ENCODING, "identity"));
    }
    response
}
