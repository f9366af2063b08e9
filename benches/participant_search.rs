//! How long a participant name search takes over 100,000 profiles.
//!
//! `cargo bench --bench participant_search` runs it on a temporary SQLite
//! file; with `BENCH_DATABASE_URL=postgres://…/db` (an empty database it
//! may fill) on PostgreSQL. It prints the median and slowest of 50 runs of
//! each query, as the API runs them (first page of 50, admin scope).

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use lophoc::access::ParticipantScope;
use lophoc::db::{self, DatabaseUrl, Db, DbConnection};
use lophoc::paging::PageRequest;
use lophoc::participants::model::{self, ParticipantFilter};
use lophoc::participants::search::search_name;

const PROFILES: usize = 100_000;
const RUNS: usize = 50;

const FAMILY: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô",
];
const MIDDLE: [&str; 8] = ["Thị", "Văn", "Đức", "Thanh", "Minh", "Ngọc", "Quang", "Hữu"];
const GIVEN: [&str; 24] = [
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hằng", "Hiếu", "Hoa", "Hùng", "Hường",
    "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Thảo", "Trang", "Tuấn",
];

fn main() {
    let dir = std::env::temp_dir().join(format!("lophoc-bench-{}", uuid::Uuid::now_v7()));
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir.join("bench.db").display().to_string()
    });
    let db = Db::connect(&DatabaseUrl::parse(&url), 1).expect("the database opens");
    let mut conn = db.get().expect("a connection");
    db::run_migrations(&mut conn).expect("migrations run");
    fill(&mut conn);

    let queries = [
        ("common family name", "nguyen"),
        ("one letter", "h"),
        ("full name", "nguyễn thị hường"),
        ("given name, upper case", "HUONG"),
        ("two prefixes", "ng hu"),
        ("no match", "zzz"),
    ];
    println!("{PROFILES} profiles on {:?}", db.backend());
    for (label, q) in queries {
        let filter = ParticipantFilter { q: Some(q.into()), ..ParticipantFilter::default() };
        let page = PageRequest::first(50);
        let mut times = Vec::with_capacity(RUNS);
        let mut found = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            found = model::list(&mut conn, &ParticipantScope::All, &filter, &page, None)
                .expect("search")
                .len();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{label:<24} q={q:<18} {found:>3} rows  median {:>7.2} ms  max {:>7.2} ms",
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1])
        );
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Inserts the profiles in one transaction, as one batch of statements.
fn fill(conn: &mut DbConnection) {
    let now = "2026-01-01 00:00:00";
    let mut sql = String::from("BEGIN;");
    for n in 0..PROFILES {
        let name = format!(
            "{} {} {}",
            FAMILY[n % FAMILY.len()],
            MIDDLE[(n / FAMILY.len()) % MIDDLE.len()],
            GIVEN[(n / (FAMILY.len() * MIDDLE.len())) % GIVEN.len()]
        );
        let id = uuid::Uuid::now_v7();
        sql.push_str(&format!(
            "INSERT INTO participants (id, full_name, search_name, category, gender, created_at, updated_at)
             VALUES ('{id}', '{name}', '{}', 'learner', 'unspecified', '{now}', '{now}');",
            search_name(&name)
        ));
    }
    sql.push_str("COMMIT;");
    conn.batch_execute(&sql).expect("the profiles are inserted");
    // As PostgreSQL's autovacuum would soon do on a live database.
    conn.batch_execute("ANALYZE").expect("statistics are gathered");
}
