//! `lophoc demo --scale province`: a province's worth of data for
//! benchmarks, in minutes. [`Scale::PROVINCE`] makes 200 communes of 500
//! people, 25 sessions each: 100,000 people, 5,000 sessions and 1,000,000
//! places, with waitlists, cancellations and the marks of the sessions
//! already held.
//!
//! Units, accounts, courses and sessions go through the models as an admin
//! would make them. People, places and marks, a million rows and more, are
//! written in batches of rows straight into their tables (no rule is
//! checked there, so each is built to keep them: a commune's sessions never
//! overlap, seats before waitlists, positions dense, a mark only on a place
//! held in a session that is over), with no audit event for each; the
//! sessions' counts of places are computed from the places at the end.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::person_name;
use crate::attendance::AttendanceMark;
use crate::attendance::model::AttendanceChange;
use crate::audit::Actor;
use crate::auth::password;
use crate::config::Config;
use crate::courses::Course;
use crate::db::schema::{attendance_changes, attendance_marks, enrolments, participants, sessions};
use crate::db::{self, Db, DbConnection};
use crate::enrolments::Enrolment;
use crate::error::AppError;
use crate::id::Id;
use crate::local_time;
use crate::operations::accounts::{self, NewAccount};
use crate::organizations::{Organization, model as organizations};
use crate::outbox::model as outbox;
use crate::participants::Participant;
use crate::participants::search::search_name;
use crate::programmes::{Programme, model as programmes};
use crate::sessions::Session;
use crate::users::User;
use crate::vocab::{
    AttendanceStatus, Category, EnrolmentSource, EnrolmentStatus, Gender, MarkSource,
    OrganizationKind, Role, SessionStatus,
};
use crate::{courses, sessions as session_model};

/// How much to make.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub communes: usize,
    pub people_per_commune: usize,
    pub sessions_per_commune: usize,
    /// At most `sessions_per_commune`.
    pub places_per_person: usize,
}

impl Scale {
    /// 100,000 people, 5,000 sessions, 1,000,000 places.
    pub const PROVINCE: Self = Self {
        communes: 200,
        people_per_commune: 500,
        sessions_per_commune: 25,
        places_per_person: 10,
    };
}

/// What was made.
#[derive(Debug, Default)]
pub struct ProvinceFigures {
    pub units: usize,
    pub accounts: usize,
    pub people: usize,
    pub sessions: usize,
    pub places: usize,
    pub waiting: usize,
    pub cancelled: usize,
    pub marks: usize,
}

/// Rows per multi-row INSERT: under SQLite's 32,766 parameters for the
/// widest row (a profile, 15 columns).
const BATCH_ROWS: usize = 2000;

/// One place in twenty is cancelled.
const CANCELLED_EVERY: usize = 20;

/// How the marks of the sessions held fall: mostly present.
const MARKS: [AttendanceStatus; 20] = {
    use AttendanceStatus::{Absent, Excused, Late, Present};
    [
        Present, Present, Present, Late, Present, Present, Absent, Present, Present, Present,
        Excused, Present, Present, Late, Present, Absent, Present, Present, Absent, Present,
    ]
};

/// The audiences of a commune, by weight out of 20.
const AUDIENCE: [(Category, usize); 6] = [
    (Category::Student, 4),
    (Category::Learner, 5),
    (Category::Parent, 4),
    (Category::Official, 2),
    (Category::Worker, 4),
    (Category::Other, 1),
];

/// Inserts `rows` into `table` in batches, through the backend's own
/// connection: multi-row inserts do not compile through the connection
/// enum.
macro_rules! insert_batches {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut written = 0;
        for batch in $rows.chunks(BATCH_ROWS) {
            written += match &mut *$conn {
                DbConnection::Sqlite(inner) => {
                    diesel::insert_into($table).values(batch).execute(inner)?
                }
                DbConnection::Postgresql(inner) => {
                    diesel::insert_into($table).values(batch).execute(inner)?
                }
            };
        }
        written
    }};
}

/// Fills an empty database (migrated here) with `scale`'s data set. The
/// accounts' password is `password`, or generated and given back.
pub fn load(
    config: &Config,
    scale: Scale,
    password: Option<String>,
) -> Result<(ProvinceFigures, String), String> {
    if scale.places_per_person > scale.sessions_per_commune {
        return Err("a person cannot hold more places than their commune has sessions".into());
    }
    let db = Db::connect(&config.database_url, 1).map_err(|err| err.to_string())?;
    let mut conn = db.get().map_err(|err| err.to_string())?;
    db::run_migrations(&mut conn).map_err(|err| format!("migrating the database failed: {err}"))?;
    let password = password.unwrap_or_else(password::generate_password);
    let password_hash = password::hash_now(&password)?;
    let figures = db::write_transaction(&mut conn, |conn| {
        db::serialize_with_others(conn, db::LockKey::Demo)?;
        if !is_empty(conn)? {
            return Ok(None);
        }
        populate(conn, scale, &password_hash, config.timezone).map(Some)
    })
    .map_err(|err: AppError| format!("loading the province failed: {err}"))?
    .ok_or("the province data set only fills an empty database (no people, no sessions)")?;
    Ok((figures, password))
}

fn is_empty(conn: &mut DbConnection) -> QueryResult<bool> {
    let people: i64 = participants::table.count().get_result(conn)?;
    let sessions: i64 = sessions::table.count().get_result(conn)?;
    Ok(people == 0 && sessions == 0)
}

/// A commune as made: its units, staff and sessions.
struct Commune {
    unit: Id,
    school: Id,
    hamlets: Vec<Id>,
    trainer: Id,
    sessions: Vec<Session>,
}

fn populate(
    conn: &mut DbConnection,
    scale: Scale,
    password_hash: &str,
    zone: Tz,
) -> Result<ProvinceFigures, AppError> {
    let admin = Actor::system();
    let now = db::now();
    let today = local_time::local_day(now, zone);
    let mut figures = ProvinceFigures::default();
    let mut units = 0;
    let mut unit = |conn: &mut DbConnection, kind, name: String, parent| {
        let row = Organization {
            id: Id::new(),
            kind,
            name,
            code: None,
            parent_id: parent,
            created_at: now,
            updated_at: now,
        };
        units += 1;
        organizations::create(conn, &admin, row).map(|u| u.id)
    };
    let province = unit(conn, OrganizationKind::Agency, "Sở Giáo dục và Đào tạo".into(), None)?;

    // Sessions run weekly in each commune, from 18 weeks ago onwards, so
    // that most are over (with marks) and some still take enrolments.
    let first_day = today - Duration::weeks(18);
    let last_day = first_day + Duration::weeks(scale.sessions_per_commune as i64);
    let programme = programmes::create(
        conn,
        &admin,
        Programme {
            id: Id::new(),
            name: format!("Kỹ năng số cho mọi người, năm {}", today.year()),
            theme: Some("Tìm kiếm, đánh giá và sử dụng thông tin trên Internet an toàn".into()),
            starts_on: first_day,
            ends_on: last_day,
            created_at: now,
            updated_at: now,
        },
    )?;
    let titles = [
        "Tìm kiếm thông tin hiệu quả",
        "Nhận biết tin giả",
        "Bảo vệ tài khoản và dữ liệu cá nhân",
        "Dịch vụ công trực tuyến",
        "An toàn cho trẻ em trên mạng",
    ];
    let mut course_ids = Vec::new();
    for title in titles {
        let course = Course {
            id: Id::new(),
            title: title.into(),
            summary: None,
            topics: String::new(),
            target_categories: Category::join(Category::VARIANTS),
            duration_minutes: 120,
            programme_id: Some(programme.id),
            created_at: now,
            updated_at: now,
        };
        course_ids.push(courses::model::create(conn, &admin, course)?.id);
    }

    let places_per_session =
        scale.people_per_commune * scale.places_per_person / scale.sessions_per_commune;
    // A tenth of each session's people wait for a seat.
    let capacity = (places_per_session * 9 / 10).max(1) as i32;
    let mut communes = Vec::with_capacity(scale.communes);
    for c in 0..scale.communes {
        let name = format!("xã {}", c + 1);
        let commune = unit(conn, OrganizationKind::Agency, format!("UBND {name}"), Some(province))?;
        let school =
            unit(conn, OrganizationKind::School, format!("Trường THCS {name}"), Some(commune))?;
        let mut hamlets = Vec::new();
        for h in 1..=3 {
            let hamlet = format!("Thôn {h}, {name}");
            hamlets.push(unit(conn, OrganizationKind::Hamlet, hamlet, Some(commune))?);
        }
        let mut account = |local: String, role, organization_id| {
            let email = format!("{local}@province.lophoc.local");
            let full_name = person_name(c * 2 + usize::from(role == Role::Trainer), Gender::Male);
            let mut user = User::new(email, password_hash.to_owned(), full_name, role);
            user.organization_id = organization_id;
            let new = NewAccount { user, profile: None, created_by: admin.clone() };
            accounts::create_account(conn, new).map(|(user, _)| user.id)
        };
        let trainer = account(format!("giangvien.xa{}", c + 1), Role::Trainer, None)?;
        account(format!("dieuphoi.xa{}", c + 1), Role::Coordinator, Some(commune))?;
        figures.accounts += 2;

        let mut sessions = Vec::with_capacity(scale.sessions_per_commune);
        for k in 0..scale.sessions_per_commune {
            // Communes meet on different weekdays, at 7:30 or 14:00.
            let day = first_day + Duration::weeks(k as i64) + Duration::days((c % 6) as i64);
            let time = if c % 2 == 0 { (7, 30) } else { (14, 0) };
            let local = day.and_time(NaiveTime::from_hms_opt(time.0, time.1, 0).expect("a time"));
            let starts_at = local_time::to_stored(local, zone);
            let session = Session {
                id: Id::new(),
                course_id: course_ids[k % course_ids.len()],
                starts_at,
                ends_at: starts_at + Duration::hours(2),
                venue: format!("Hội trường {name}"),
                capacity,
                status: SessionStatus::Scheduled,
                enrolment_opens_at: None,
                enrolment_closes_at: None,
                eligible_categories: None,
                waitlist: true,
                enrolled_count: 0,
                waitlisted_count: 0,
                created_at: now,
                updated_at: now,
            };
            let made = session_model::model::create(conn, &admin, session, &[trainer], zone)?;
            sessions.push(made.session);
        }
        figures.sessions += sessions.len();
        // Made-up classes remind no one.
        let ids: Vec<Id> = sessions.iter().map(|s| s.id).collect();
        outbox::discard_for_sessions(conn, &ids)?;
        communes.push(Commune { unit: commune, school, hamlets, trainer, sessions });
    }

    figures.units = units;
    for (c, commune) in communes.iter().enumerate() {
        let people = people_of(commune, c, scale.people_per_commune, today, now);
        figures.people += insert_batches!(conn, participants::table, people);
        let (places, marks, changes) = places_of(commune, &people, scale, capacity, now);
        figures.places += insert_batches!(conn, enrolments::table, places);
        figures.waiting +=
            places.iter().filter(|p| p.status == EnrolmentStatus::Waitlisted).count();
        figures.cancelled +=
            places.iter().filter(|p| p.status == EnrolmentStatus::Cancelled).count();
        figures.marks += insert_batches!(conn, attendance_marks::table, marks);
        insert_batches!(conn, attendance_changes::table, changes);
    }
    count_places(conn)?;
    // Records the zone the sessions' local days were written in, so that
    // the first start does not write them all again.
    session_model::model::fill_local_days(conn, zone)?;
    Ok(figures)
}

/// A commune's people: students at its school, officials at the commune,
/// everyone else in a hamlet. Students are 16 or 17, so need no guardian.
fn people_of(
    commune: &Commune,
    c: usize,
    count: usize,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Vec<Participant> {
    let audience: Vec<Category> =
        AUDIENCE.iter().flat_map(|&(category, weight)| vec![category; weight]).collect();
    (0..count)
        .map(|i| {
            let n = c * count + i;
            let category = audience[i % audience.len()];
            let gender = match i % 11 {
                0 => Gender::Unspecified,
                k if k % 2 == 0 => Gender::Female,
                _ => Gender::Male,
            };
            let (unit, age) = match category {
                Category::Student => (commune.school, 16 + (i % 2) as i32),
                Category::Official => (commune.unit, 25 + (i % 35) as i32),
                _ => (commune.hamlets[i % commune.hamlets.len()], 18 + (i % 50) as i32),
            };
            let full_name =
                person_name(n, if gender == Gender::Female { gender } else { Gender::Male });
            // The first of this month `age` years ago, or a little before.
            let born = NaiveDate::from_ymd_opt(today.year() - age, today.month(), 1)
                .unwrap_or(today)
                - Duration::days((i % 300) as i64);
            Participant {
                id: Id::new(),
                search_name: search_name(&full_name),
                full_name,
                category,
                organization_id: Some(unit),
                gender,
                birth_date: Some(born),
                phone: (i % 3 == 0).then(|| format!("09{:08}", n % 100_000_000)),
                email: None,
                guardian_id: None,
                user_id: None,
                created_by: None,
                created_at: now,
                updated_at: now,
                anonymized_at: None,
                consent_guardian_id: None,
                consent_method: None,
                consent_recorded_by: None,
                consent_recorded_at: None,
                consent_withdrawn_at: None,
            }
        })
        .collect()
}

/// The places of a commune's people, in the order they were taken, and the
/// marks (with their first history entry) of the places held in sessions
/// that are over. Person `i` takes sessions `i`, `i + 1`, … of the commune
/// (wrapping): as many per session, and never two at once, since a
/// commune's sessions are a week apart.
fn places_of(
    commune: &Commune,
    people: &[Participant],
    scale: Scale,
    capacity: i32,
    now: NaiveDateTime,
) -> (Vec<Enrolment>, Vec<AttendanceMark>, Vec<AttendanceChange>) {
    let sessions = &commune.sessions;
    let mut enrolled = vec![0i32; sessions.len()];
    let mut waiting = vec![0i32; sessions.len()];
    let (mut places, mut marks, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    let sources =
        [EnrolmentSource::SelfService, EnrolmentSource::Coordinator, EnrolmentSource::Import];
    for j in 0..scale.places_per_person {
        for (i, person) in people.iter().enumerate() {
            let s = (i + j) % sessions.len();
            let session = &sessions[s];
            let n = places.len();
            let taken_at = (session.starts_at - Duration::days(7)).min(now);
            // Spread over people and rounds: nobody loses every place.
            let cancelled = (i * 7 + j * 13) % CANCELLED_EVERY == CANCELLED_EVERY - 1;
            let (status, position, cancelled_at) = if cancelled {
                (EnrolmentStatus::Cancelled, None, Some(taken_at + Duration::days(1)))
            } else if enrolled[s] < capacity {
                enrolled[s] += 1;
                (EnrolmentStatus::Enrolled, None, None)
            } else {
                waiting[s] += 1;
                (EnrolmentStatus::Waitlisted, Some(waiting[s]), None)
            };
            let place = Enrolment {
                id: Id::new(),
                session_id: session.id,
                participant_id: person.id,
                status,
                waitlist_position: position,
                source: sources[n % sources.len()],
                created_by: None,
                created_at: taken_at,
                updated_at: cancelled_at.unwrap_or(taken_at),
                cancelled_at: cancelled_at.map(|t| t.min(now)),
            };
            if status == EnrolmentStatus::Enrolled && session.ends_at <= now {
                let mark = MARKS[n % MARKS.len()];
                let marked_at = session.starts_at + Duration::minutes(10);
                changes.push(AttendanceChange {
                    id: Id::new(),
                    enrolment_id: place.id,
                    session_id: session.id,
                    participant_id: person.id,
                    from_status: None,
                    to_status: mark,
                    note: None,
                    source: MarkSource::Trainer,
                    changed_by: Some(commune.trainer),
                    recorded_at: marked_at,
                    changed_at: marked_at,
                    superseded: false,
                    device_id: None,
                });
                marks.push(AttendanceMark {
                    enrolment_id: place.id,
                    session_id: session.id,
                    participant_id: person.id,
                    status: mark,
                    note: None,
                    source: MarkSource::Trainer,
                    marked_by: Some(commune.trainer),
                    recorded_at: marked_at,
                    marked_at,
                    device_id: None,
                });
            }
            places.push(place);
        }
    }
    (places, marks, changes)
}

/// Sets every session's counts of places from its places: the counts the
/// enrolment transactions keep, computed once for rows written in bulk.
fn count_places(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE sessions SET
           enrolled_count = (SELECT COUNT(*) FROM enrolments e
                             WHERE e.session_id = sessions.id AND e.status = 'enrolled'),
           waitlisted_count = (SELECT COUNT(*) FROM enrolments e
                               WHERE e.session_id = sessions.id AND e.status = 'waitlisted')",
    )
    .execute(conn)
    .map(drop)
}
