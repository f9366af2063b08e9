//! The two languages people read lophoc in: English and Vietnamese, chosen
//! by `Accept-Language` (or `?lang=` for files).

use actix_web::http::header::{self, HeaderMap};
use utoipa::ToSchema;

/// The language of the messages a client reads, and of the files people
/// open (`?lang=en|vi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    En,
    Vi,
}

impl Lang {
    /// Picks the language from `Accept-Language`: Vietnamese when the client
    /// prefers it to English, English otherwise.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::En;
        };
        let mut best = (Lang::En, 0.0_f32);
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("vi") => Lang::Vi,
                Some("en") | Some("*") => Lang::En,
                _ => continue,
            };
            if quality > best.1 {
                best = (lang, quality);
            }
        }
        best.0
    }

    pub fn pick<'a>(self, en: &'a str, vi: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Vi => vi,
        }
    }
}
