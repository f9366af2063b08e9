//! Answers for requests that match no route: `405` with `Allow` when the
//! path exists under other methods, `404` otherwise. The table of paths and
//! methods is read from the OpenAPI document, so it cannot drift from the
//! routes actually served.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use crate::error::AppError;

pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<&'static str>)>,
}

impl RouteTable {
    /// `extra` lists routes served outside the document (Swagger UI).
    pub fn from_openapi(doc: &OpenApi, extra: &[(&str, &[&'static str])]) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<&'static str>)> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                // `HEAD` is served wherever `GET` is (see `conventions`).
                let methods = [
                    ("GET", item.get.is_some()),
                    ("HEAD", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                let allowed = methods.iter().filter(|(_, has)| *has).map(|(m, _)| *m).collect();
                (ResourceDef::new(path.as_str()), allowed)
            })
            .collect();
        routes.extend(
            extra.iter().map(|(path, methods)| (ResourceDef::new(*path), methods.to_vec())),
        );
        Self { routes }
    }

    /// The methods a path is served under, joined for an `Allow` header. A
    /// path written out in full (`/participants/import`) is served by its
    /// own routes only, not also by a template it fits
    /// (`/participants/{id}`), as OpenAPI matches paths.
    fn allowed_methods(&self, path: &str) -> Option<String> {
        let matching: Vec<_> = self.routes.iter().filter(|(def, _)| def.is_match(path)).collect();
        let is_literal = |def: &ResourceDef| !def.pattern().is_some_and(|p| p.contains('{'));
        let literal = matching.iter().any(|(def, _)| is_literal(def));
        let mut methods: Vec<&str> = matching
            .iter()
            .filter(|(def, _)| !literal || is_literal(def))
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        if methods.is_empty() {
            return None;
        }
        methods.sort_unstable();
        methods.dedup();
        Some(methods.join(", "))
    }
}

pub async fn no_route(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<HttpResponse, AppError> {
    Err(match table.allowed_methods(req.path()) {
        Some(allow) => AppError::MethodNotAllowed { allow },
        None => AppError::NotFound,
    })
}
