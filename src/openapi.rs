//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::App;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{PROBLEM_CONTENT_TYPE, Problem};
use crate::idempotency;
use crate::lang::Lang;
use crate::notify::dispatcher::WebhookEvent;
use crate::outbox::model::{MarkData, PlaceData, SessionData};
use crate::reports::api::StatsFormat;
use crate::reports::stats::GroupKey;
use crate::sheets::FileFormat;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lophoc",
        description = "Enrolment and attendance for a community learning centre's classes on \
                       searching for, judging and using information on the internet safely. \
                       Every error is `application/problem+json`; send `Accept-Language: vi` \
                       for Vietnamese messages."
    ),
    servers((url = "/", description = "The server that serves this document")),
    components(schemas(
        Problem, FileFormat, StatsFormat, Lang, GroupKey, WebhookEvent, PlaceData, SessionData, MarkData
    )),
    modifiers(&BearerScheme, &Conditionals, &Links, &ProblemResponses, &Retries, &BinaryFiles),
    tags(
        (name = "auth", description = "Sign-up, login, tokens and the caller's own account"),
        (name = "users", description = "Accounts and roles (admins)"),
        (name = "organizations", description = "Units: schools, hamlets, agencies, associations"),
        (name = "participants", description = "People who attend, seen as each role may see them"),
        (name = "programmes", description = "Campaigns such as the Lifelong Learning Week"),
        (name = "courses", description = "What is taught, and to whom"),
        (name = "sessions", description = "Meetings of a course: time, place, trainers, seats"),
        (name = "enrolments", description = "Places in sessions: capacity, waitlists, refusals with reasons"),
        (name = "attendance", description = "Roll-call, self check-in, walk-ins and offline sync, with every change kept"),
        (name = "devices", description = "Trainers' tablets and phones, paired without a password, working for marking only"),
        (name = "calendars", description = "Sessions in a phone's calendar: a secret feed per person, and one session as a file"),
        (name = "webhooks", description = "Other systems told of each event as it happens: a signed POST per event, retried for a day (admins). A delivery's body is a `WebhookEvent`"),
        (name = "reports", description = "Statistics and exports: the figures each unit reports, as JSON, CSV or XLSX"),
        (name = "audit", description = "Who changed what, and when (admins)"),
        (name = "health", description = "Probes for orchestrators"),
    )
)]
struct ApiDoc;

/// The whole document: the annotations above plus every route registered
/// by [`crate::routes::routes`].
pub fn document() -> Document {
    let (_app, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::routes)
        .split_for_parts();
    // Modifiers run before routes are collected, so run them again now.
    BearerScheme.modify(&mut document);
    Conditionals.modify(&mut document);
    Links.modify(&mut document);
    ProblemResponses.modify(&mut document);
    Retries.modify(&mut document);
    BinaryFiles.modify(&mut document);
    document
}

/// The document as committed: [`to_value`], indented for reading and diffs.
pub fn to_json() -> String {
    serde_json::to_string_pretty(&to_value(&document())).expect("the document serialises")
}

/// The document as JSON, with one repair. utoipa 5 writes a link's fields
/// in Rust's spelling (`operation_id`); OpenAPI spells them `operationId`,
/// and a client or validator ignores the others.
pub fn to_value(document: &Document) -> serde_json::Value {
    let mut value = serde_json::to_value(document).expect("the document serialises");
    let responses = value["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation["responses"].as_object_mut())
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response.get_mut("links").and_then(|links| links.as_object_mut());
        for link in links.into_iter().flat_map(|links| links.values_mut()) {
            if let Some(link) = link.as_object_mut() {
                for (rust, openapi) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(field) = link.remove(rust) {
                        link.insert(openapi.to_owned(), field);
                    }
                }
            }
        }
    }
    value
}

/// The bearer scheme, and `security: []` on the operations that need no
/// token, so that a client knows which calls are public.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token (a JWT) from `POST /auth/login`; or a paired device's \
                         token (`lhd_…`, from `POST /devices/pair`), which only marking work \
                         accepts: any other request with it is `403`.",
                    ))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                operation.security.get_or_insert_with(Vec::new);
            }
        }
    }
}

/// The conditional requests of `http::conditional`: every read of one
/// resource (`GET …/{id}`) answers with an `ETag` and takes
/// `If-None-Match` (`304`); every `PATCH` takes `If-Match` (`412`).
struct Conditionals;

impl Modify for Conditionals {
    fn modify(&self, openapi: &mut Document) {
        let etag = || {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("The version of the resource shown; send it back in `If-None-Match` or `If-Match`"))
                .build()
        };
        let header_param = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(description))
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let reads_one = path.ends_with("/{id}");
            if let (true, Some(get)) = (reads_one, item.get.as_mut()) {
                get.parameters.get_or_insert_with(Vec::new).push(header_param(
                    "If-None-Match",
                    "The `ETag` of a copy the client holds: `304` with no body while it is current",
                ));
                add_etag(get, etag());
                let unchanged = ResponseBuilder::new()
                    .description("The copy named by `If-None-Match` is current; no body")
                    .header("ETag", etag())
                    .build();
                get.responses.responses.insert("304".to_owned(), unchanged.into());
            }
            if let Some(patch) = item.patch.as_mut() {
                patch.parameters.get_or_insert_with(Vec::new).push(header_param(
                    "If-Match",
                    "The `ETag` the change is based on: `412 precondition_failed`, changing \
                     nothing, when the resource has changed since",
                ));
                add_etag(patch, etag());
                let changed = ResponseBuilder::new()
                    .description("The resource changed since the `If-Match` version (`precondition_failed`); nothing was changed")
                    .build();
                patch.responses.responses.insert("412".to_owned(), changed.into());
            }
        }
    }
}

/// `Idempotency-Key` on every `POST` that takes it (`crate::idempotency`),
/// with the two answers it adds. After [`ProblemResponses`], so that the
/// answers every operation gives are there to be added to.
struct Retries;

impl Modify for Retries {
    fn modify(&self, openapi: &mut Document) {
        let key = ParameterBuilder::new()
            .name(idempotency::HEADER)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$")),
            ))
            .description(Some(
                "Any 1–255 visible ASCII characters, new for each action: the same request sent \
                 again with it within 24 hours gets the first answer again, with \
                 `Idempotent-Replayed: true`, and nothing is done twice",
            ))
            .build();
        let answers = [
            (
                "400",
                "an `Idempotency-Key` that is not 1–255 visible ASCII characters (`invalid_parameter`)",
            ),
            (
                "409",
                "the first request with this `Idempotency-Key` is still running (`idempotency_key_in_flight`)",
            ),
            (
                "422",
                "this `Idempotency-Key` was used for another path or body (`idempotency_key_reused`)",
            ),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(post) = item.post.as_mut() else { continue };
            if !idempotency::applies_to(&actix_web::http::Method::POST, path) {
                continue;
            }
            post.parameters.get_or_insert_with(Vec::new).push(key.clone());
            for (status, description) in answers {
                let responses = &mut post.responses.responses;
                match responses.get_mut(status) {
                    Some(RefOr::T(known)) => {
                        known.description = format!("{}; or {description}", known.description);
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        let (first, rest) = description.split_at(1);
                        let added = ResponseBuilder::new()
                            .description(format!("{}{rest}", first.to_uppercase()))
                            .content(PROBLEM_CONTENT_TYPE, problem_content())
                            .build();
                        responses.insert(status.to_owned(), added.into());
                    }
                }
            }
        }
    }
}

/// What a client can do next with what a create answers: each link passes
/// the new resource's `id` to another operation as its `id`. Clients and
/// schemathesis's stateful phase follow them.
struct Links;

/// For each create (its operation id): the operations its `id` leads to.
const NEXT_STEPS: &[(&str, &[&str])] = &[
    ("create_user", &["get_user", "update_user"]),
    ("create_organization", &["get_organization", "update_organization"]),
    ("create_participant", &["get_participant", "update_participant", "anonymize_participant"]),
    ("create_programme", &["get_programme", "update_programme"]),
    ("create_course", &["get_course", "update_course"]),
    (
        "create_session",
        &[
            "get_session",
            "update_session",
            "enrol",
            "enrol_many",
            "roster",
            "roll_call",
            "put_attendance",
            "attendance_history",
            "open_check_in",
            "check_in",
            "add_walk_in",
            "sign_in_sheet",
        ],
    ),
    ("enrol", &["get_enrolment", "cancel_enrolment"]),
];

impl Modify for Links {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                let Some((_, next)) = NEXT_STEPS.iter().find(|(create, _)| *create == id) else {
                    continue;
                };
                let Some(RefOr::T(created)) = operation.responses.responses.get_mut("201") else {
                    continue;
                };
                for step in *next {
                    let link = LinkBuilder::new()
                        .operation_id(*step)
                        .parameter("id", "$response.body#/id")
                        .build();
                    created.links.insert(step.to_string(), link.into());
                }
            }
        }
    }
}

fn add_etag(operation: &mut Operation, etag: Header) {
    if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") {
        ok.headers.insert("ETag".to_owned(), etag);
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
        .into_iter()
        .flatten()
}

/// Adds the error answers every operation can give, so that each handler
/// lists only the ones particular to it: 400 for unreadable parameters, 401
/// where a token is needed, 408/413/415/422 where a body is read, 500 and 503
/// always. Then gives every error answer its problem+json body.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let has_body = operation.request_body.is_some();
                // A file upload takes any media type and reads what it is.
                let has_json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let needs_token = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let answers = [
                    ("400", has_body || has_params, "Malformed JSON or an unreadable parameter"),
                    ("401", needs_token, "Missing, invalid or expired access token"),
                    (
                        "408",
                        has_body,
                        "The body did not arrive within the deadline (`request_timeout`)",
                    ),
                    ("413", has_body, "Body larger than the configured limit"),
                    ("415", has_json_body, "Body is not `application/json`"),
                    ("422", has_body, "Invalid fields, listed in `errors`"),
                    ("500", true, "Internal error (logged, never detailed)"),
                    ("503", true, "Busy hashing or the database is unreachable; see `Retry-After`"),
                ];
                for (status, applies, description) in answers {
                    if applies && !operation.responses.responses.contains_key(status) {
                        let response = ResponseBuilder::new().description(description).build();
                        operation.responses.responses.insert(status.to_owned(), response.into());
                    }
                }
                // Every error answer is a problem document: handlers name
                // the status and what it means, the body is added here.
                for (status, response) in operation.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(response)) = (is_error, response) {
                        response.content.insert(PROBLEM_CONTENT_TYPE.to_owned(), problem_content());
                    }
                }
            }
        }
    }
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build()
}

/// Describes files as what they are: CSV and XLSX downloads and uploads as
/// binary strings (a CSV is bytes in an encoding; clients save or read it
/// as a file). The path macro can name the media type
/// but has no type for raw bytes.
struct BinaryFiles;

impl Modify for BinaryFiles {
    fn modify(&self, openapi: &mut Document) {
        let xlsx = FileFormat::Xlsx.content_type();
        let binary = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                if let Some(body) = operation.request_body.as_mut() {
                    for (media_type, content) in body.content.iter_mut() {
                        // A CSV is sent as bytes too, as saved, in
                        // whatever encoding (UTF-8 is asked for).
                        if media_type.as_str() == xlsx || media_type.as_str() == "text/csv" {
                            content.schema = Some(binary().into());
                        }
                    }
                }
                for response in operation.responses.responses.values_mut() {
                    let RefOr::T(response) = response else { continue };
                    for (media_type, content) in response.content.iter_mut() {
                        if media_type.as_str() == xlsx || media_type.starts_with("text/csv") {
                            content.schema = Some(binary().into());
                        }
                    }
                }
            }
        }
    }
}
