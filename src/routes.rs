//! Every route of the API, composed from each resource's own `routes()`.
//! Registered through utoipa-actix-web, so that the OpenAPI document
//! (`openapi.rs`) is built from these same routes.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::{
    attendance, audit, auth, calendars, courses, devices, enrolments, health, metrics,
    organizations, participants, programmes, reports, rosters, sessions, users, webhooks,
};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.configure(health::routes).configure(metrics::routes).service(
        scope::scope("/api/v1")
            .configure(auth::api::routes)
            .configure(users::api::routes)
            .configure(organizations::api::routes)
            // Before `/participants/{id}`, which would take `import` for an id.
            .configure(participants::imports::routes)
            .configure(participants::api::routes)
            .configure(programmes::api::routes)
            .configure(courses::api::routes)
            .configure(sessions::api::routes)
            .configure(enrolments::api::routes)
            .configure(attendance::api::routes)
            .configure(devices::api::routes)
            .configure(rosters::api::routes)
            .configure(calendars::api::routes)
            .configure(webhooks::api::routes)
            .configure(reports::api::routes)
            .configure(audit::api::routes),
    );
}
