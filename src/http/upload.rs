//! File uploads: a whole file in the request body (an imported list),
//! larger than a JSON body may be, still within a limit and a deadline.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use super::json::BodyDeadline;
use crate::error::AppError;

/// The body of `req` as bytes, refused with `413` past `limit` bytes (at
/// once when `Content-Length` says so) and with `408` when it is not all
/// there within the body deadline.
pub async fn file_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, AppError> {
    let too_large = AppError::PayloadTooLarge { limit };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large);
    }
    let deadline = req.app_data::<BodyDeadline>().map_or(Duration::from_secs(10), |d| d.0);
    let read = async {
        let mut body = web::BytesMut::with_capacity(announced.unwrap_or(0));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| AppError::MalformedRequest)?;
            if body.len() + chunk.len() > limit {
                return Err(AppError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(deadline, read).await.map_err(|_| AppError::RequestTimeout)?
}
