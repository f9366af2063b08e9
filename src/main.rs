use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use lophoc::bootstrap::AdminBootstrap;
use lophoc::config::Config;
use lophoc::demo::DemoOutcome;
use lophoc::demo::province::Scale;
use lophoc::startup::Application;

const USAGE: &str =
    "usage: lophoc [serve | demo [--scale province] | backup PATH | openapi | healthcheck]
  serve        serve the API (the default); configured by environment variables
  demo         load the demo Lifelong Learning Week into DATABASE_URL (once; the
               accounts' password is LOPHOC_DEMO_PASSWORD, or generated and printed)
  demo --scale province
               fill an empty DATABASE_URL with a province: 100,000 people, 5,000
               sessions, 1,000,000 places (for benchmarks)
  backup PATH  copy the SQLite database of DATABASE_URL, live, to the new file PATH
  openapi      print the OpenAPI document (to regenerate openapi/openapi.json)
  healthcheck  exit 0 when the server at LOPHOC_LISTEN is ready (for containers)";

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => actix_web::rt::System::new().block_on(serve()),
        Some("openapi") => {
            println!("{}", lophoc::openapi::to_json());
            ExitCode::SUCCESS
        }
        Some("demo") => {
            match (std::env::args().nth(2).as_deref(), std::env::args().nth(3).as_deref()) {
                (None, _) => demo(),
                (Some("--scale"), Some("province")) => province(),
                _ => {
                    eprintln!("{USAGE}");
                    ExitCode::from(2)
                }
            }
        }
        Some("backup") => match std::env::args().nth(2) {
            Some(target) if std::env::args().len() == 3 => backup(&target),
            _ => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("healthcheck") => healthcheck(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    if let Err(message) = lophoc::telemetry::init() {
        return fail(&message);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
    tracing::info!(database = %config.database_url, "starting");
    let application = match Application::build(config.clone()).await {
        Ok(application) => application,
        Err(message) => return fail(&message),
    };
    if let AdminBootstrap::Generated { email, password } = application.admin_bootstrap() {
        // Printed, not logged: shown this once and kept nowhere else.
        println!(
            "\nCreated the first admin.\n  email:    {email}\n  password: {password}\n\
             Log in and change it now; it will not be shown again.\n"
        );
    }
    let port = application.port();
    let server = actix_web::rt::spawn(application.run_until_stopped());
    // The server installs its SIGTERM/SIGINT handlers when first polled;
    // yield so that it is before anyone reads "serving" and signals us.
    actix_web::rt::task::yield_now().await;
    tracing::info!(address = %config.listen, port, "serving");
    match server.await.unwrap_or_else(|err| Err(std::io::Error::other(err))) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err.to_string()),
    }
}

fn backup(target: &str) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
    match lophoc::db::backup(&config.database_url, target) {
        Ok(()) => {
            println!("Copied {} to {target}.", config.database_url);
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}

fn demo() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
    let password = std::env::var("LOPHOC_DEMO_PASSWORD").ok().filter(|p| !p.is_empty());
    match lophoc::demo::load(&config, password) {
        Ok(DemoOutcome::AlreadyLoaded) => {
            println!("The demo programme is already loaded; nothing to do.");
            ExitCode::SUCCESS
        }
        Ok(DemoOutcome::Loaded { accounts, password, participants, week }) => {
            println!(
                "Loaded \"{}\" with {participants} participants: {} places taken, {} of them \
                 cancelled, {} people waiting, {} attendance marks, {} walk-ins.",
                lophoc::demo::PROGRAMME_NAME,
                week.places,
                week.cancelled,
                week.waiting,
                week.marks,
                week.walk_ins
            );
            println!("Demo accounts (password: {password}):");
            for email in accounts {
                println!("  {email}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}

fn province() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
    let password = std::env::var("LOPHOC_DEMO_PASSWORD").ok().filter(|p| !p.is_empty());
    let started = std::time::Instant::now();
    match lophoc::demo::province::load(&config, Scale::PROVINCE, password) {
        Ok((made, password)) => {
            println!(
                "Made a province in {:.0?}: {} units, {} staff accounts, {} people, {} \
                 sessions, {} places ({} waiting, {} cancelled), {} attendance marks.",
                started.elapsed(),
                made.units,
                made.accounts,
                made.people,
                made.sessions,
                made.places,
                made.waiting,
                made.cancelled,
                made.marks
            );
            println!(
                "Trainers are giangvien.xaN@province.lophoc.local and coordinators \
                 dieuphoi.xaN@province.lophoc.local (N = 1, 2, …), password: {password}"
            );
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lophoc: {message}");
    ExitCode::FAILURE
}

/// Asks the local server's readiness probe; no HTTP client needed in a
/// slim container image.
fn healthcheck() -> ExitCode {
    let listen = std::env::var("LOPHOC_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let target = listen.replace("0.0.0.0", "127.0.0.1");
    let probe = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(&target)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"GET /health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.ends_with(b" 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
