//! Building the application: database, secrets, first admin, routes and the
//! HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_http::error::DispatchError;
use actix_service::{IntoServiceFactory, ServiceFactoryExt, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{
    AppConfig, Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse, fn_service,
};
use actix_web::http::header;
use actix_web::middleware::{Compress, Condition, from_fn};
use actix_web::{App, HttpResponse, web};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{AccessTokens, Passwords};
use crate::bootstrap::{self, AdminBootstrap};
use crate::config::Config;
use crate::db::{self, Backend, CommitWatch, Db, settings};
use crate::http::fallback::{self, RouteTable};
use crate::http::json::{BodyDeadline, BodyLimit};
use crate::http::{conventions, problems, wire};
use crate::idempotency;
use crate::notify::dispatcher::Dispatcher;
use crate::reports::cache::StatsCache;
use crate::reports::export;
use crate::state::AppState;
use crate::telemetry::RequestMetrics;
use crate::{crypto, devices, http, openapi, participants, routes, sessions, telemetry};

pub struct Application {
    port: u16,
    server: Server,
    admin_bootstrap: AdminBootstrap,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, String> {
        let prepared = {
            let config = config.clone();
            web::block(move || prepare_database(&config))
                .await
                .map_err(|err| format!("start-up task failed: {err}"))??
        };
        let Prepared { db, export_copy_url, passwords, jwt_secret, admin_bootstrap, commit_watch } =
            prepared;

        let listener = TcpListener::bind(&config.listen)
            .map_err(|err| format!("cannot listen on {}: {err}", config.listen))?;
        let port = listener.local_addr().map_err(|err| err.to_string())?.port();
        let export_slots = (config.db_pool_size as usize / 4).max(1);
        let state = web::Data::new(AppState {
            db,
            passwords,
            tokens: AccessTokens::new(&jwt_secret, config.access_token_ttl)?,
            // A quarter of the pool, so that exports never starve the API.
            export_slots: Arc::new(Semaphore::new(export_slots)),
            export_slots_total: export_slots,
            idempotency_secret: idempotency::digest_key(&jwt_secret),
            export_turns: Default::default(),
            export_copy_url,
            stats_cache: Arc::new(StatsCache::new(commit_watch)),
            config: config.clone(),
        });
        actix_web::rt::spawn(state.export_turns.clone().keep_renewing(state.db.clone()));
        let dispatcher = Dispatcher::new(state.db.clone(), config.notify.clone(), config.timezone)?;
        actix_web::rt::spawn(dispatcher.run());
        let document = openapi::document();
        // Served without indentation: a third smaller on the wire.
        let document_json =
            web::Data::new(DocumentJson(openapi::to_value(&document).to_string().into()));
        let route_table = web::Data::new(RouteTable::from_openapi(
            &document,
            &[
                ("/openapi.json", &["GET", "HEAD"]),
                ("/docs", &["GET", "HEAD"]),
                ("/docs/{tail}*", &["GET", "HEAD"]),
            ],
        ));
        // One count for all the workers.
        let request_metrics = web::Data::new(RequestMetrics::default());
        let body_limit = config.body_limit_bytes;
        let body_deadline = config.body_deadline;
        let cors_origins = config.cors_origins.clone();
        let cors_enabled = !cors_origins.is_empty();

        let app = move || {
            App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(request_metrics.clone())
                .app_data(route_table.clone())
                .app_data(document_json.clone())
                .app_data(BodyLimit(body_limit))
                .app_data(BodyDeadline(body_deadline))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(http::path_config())
                .configure(routes::routes)
                .into_app()
                .route("/openapi.json", web::get().to(serve_document))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        // Swagger UI would otherwise send the document to
                        // validator.swagger.io: the docs contact no one.
                        .config(
                            utoipa_swagger_ui::Config::new(["/openapi.json"]).validator_url("none"),
                        ),
                )
                .route("/docs", web::get().to(redirect_to_docs))
                .default_service(web::to(fallback::no_route))
                // The first `wrap` is the innermost: a request passes these
                // from the last to the first, its answer from the first out.
                .wrap(from_fn(devices::scope::marking_only))
                .wrap(from_fn(conventions::head_as_get))
                .wrap(from_fn(idempotency::replay_retries))
                .wrap(Condition::new(cors_enabled, conventions::cors(&cors_origins)))
                .wrap(from_fn(problems::render_problems))
                .wrap(from_fn(conventions::protective_headers))
                .wrap(Compress::default())
                .wrap(from_fn(telemetry::log_request))
        };
        let server = serve(listener, config.workers, app).map_err(|err| err.to_string())?;
        Ok(Self { port, server, admin_bootstrap })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn admin_bootstrap(&self) -> &AdminBootstrap {
        &self.admin_bootstrap
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Serves `app` on `listener` over HTTP/1.1, as actix-web's `HttpServer`
/// would, but on connections that answer the HTTP layer's own refusals with
/// problem documents (`http::wire`), which `HttpServer` gives no way to do.
fn serve<F, I, B>(listener: TcpListener, workers: Option<usize>, app: F) -> std::io::Result<Server>
where
    F: Fn() -> App<I> + Send + Clone + 'static,
    I: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let mut server = Server::build()
        // In-flight requests get this long to finish after SIGTERM/SIGINT.
        .shutdown_timeout(30);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    let local = listener.local_addr()?;
    let shutdown = server.graceful_shutdown_signal();
    let server = server.listen("lophoc", listener, move || {
        let shutdown = shutdown.clone();
        let http = HttpService::build()
            // Connections stop taking new requests once shutdown begins.
            .graceful_shutdown_signal(move || {
                let shutdown = shutdown.clone();
                async move { shutdown.notified().await }
            })
            // A request's line and headers must arrive within this (actix
            // answers 408 and closes); its body has `BodyDeadline`.
            .client_request_timeout(Duration::from_secs(5))
            // What actix-web's `HttpServer` gives a client that stops
            // reading an answer before the connection is dropped.
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(local)
            .h1(map_config(
                app().into_factory().map_err(|err: actix_web::Error| err.error_response()),
                // Its host and address serve `url_for` and `connection_info`
                // when a request lacks a `Host`; lophoc uses neither, and
                // actix-web keeps the constructor that sets them to itself.
                |_| AppConfig::default(),
            ));
        fn_service(|io: TcpStream| {
            let peer = io.peer_addr().ok();
            std::future::ready(Ok::<_, DispatchError>((wire::ProblemRefusals::new(io), peer)))
        })
        .and_then(http)
    })?;
    Ok(server.run())
}

/// The OpenAPI document, written once at start-up (shared, not copied, by
/// each answer).
struct DocumentJson(web::Bytes);

async fn serve_document(document: web::Data<DocumentJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.0.clone())
}

/// Swagger UI lives under `/docs/`; its relative asset links need the slash.
async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
}

/// The blocking part of start-up: pool, migrations, JWT secret, first admin,
/// and the password hasher (which hashes its decoy once).
/// What start-up makes before the server can listen.
struct Prepared {
    db: Db,
    /// Where CSV exports are copied from (see `AppState`).
    export_copy_url: Option<String>,
    passwords: Passwords,
    jwt_secret: Vec<u8>,
    admin_bootstrap: AdminBootstrap,
    commit_watch: CommitWatch,
}

fn prepare_database(config: &Config) -> Result<Prepared, String> {
    let url = &config.database_url;
    db::keep_private(url)
        .map_err(|err| format!("cannot protect the database file at {url}: {err}"))?;
    let db = Db::connect(url, config.db_pool_size)
        .map_err(|err| format!("cannot open the database at {url}: {err}"))?;
    let mut conn = db.get().map_err(|err| format!("cannot open the database at {url}: {err}"))?;
    db::run_migrations(&mut conn).map_err(|err| format!("migrating the database failed: {err}"))?;
    participants::model::fill_missing_search_names(&mut conn)
        .map_err(|err| format!("indexing participant names failed: {err}"))?;
    sessions::model::fill_local_days(&mut conn, config.timezone)
        .map_err(|err| format!("computing sessions' local days failed: {err}"))?;
    let jwt_secret = match (&config.jwt_secret, db.backend()) {
        (Some(secret), _) => secret.expose().as_bytes().to_vec(),
        // One SQLite file means one server: a secret kept in the database
        // survives restarts without any setup.
        (None, Backend::Sqlite) => {
            let generated = || {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(crypto::random_bytes::<48>())
            };
            settings::get_or_insert(&mut conn, "jwt_secret", generated)
                .map_err(|err| format!("storing the JWT secret failed: {err}"))?
                .into_bytes()
        }
        // Several servers share a PostgreSQL database and must share the
        // secret too, so it has to come from their configuration.
        (None, Backend::Postgres) => {
            return Err("LOPHOC_JWT_SECRET is required with PostgreSQL: set it to at least 32 \
                        random bytes, the same on every server (for example `openssl rand -base64 48`)"
                .into());
        }
    };
    let admin_bootstrap = bootstrap::ensure_admin(&mut conn, config)?;
    let passwords = Passwords::new(config.hash_concurrency, config.hash_slot_wait)?;
    let commit_watch = CommitWatch::open(url)
        .map_err(|err| format!("cannot open the database at {url}: {err}"))?;
    let export_copy_url = url.postgres_url().filter(|_| {
        let alike = export::postgres_shows_times_alike(&mut conn, config.timezone);
        if !alike {
            tracing::warn!(
                zone = config.timezone.name(),
                "PostgreSQL shows times in this zone otherwise than lophoc: CSV exports are \
                 written by lophoc, more slowly, rather than by PostgreSQL's COPY"
            );
        }
        alike
    });
    Ok(Prepared {
        db,
        export_copy_url: export_copy_url.map(str::to_owned),
        passwords,
        jwt_secret,
        admin_bootstrap,
        commit_watch,
    })
}
