//! `lophoc demo`: loads a demonstration week modelled on Trung Hội
//! commune's Lifelong Learning Week of October 2023: its units, a few
//! trainers and coordinators, courses on searching for, judging and using
//! information on the internet safely, two sessions a day, a few hundred
//! participants of every category, and what such a week leaves behind:
//! places, waitlists, cancellations, the roll-call of the sessions already
//! held and the people who walked in. The week runs from three days ago to
//! three days ahead, so that the first statistics an admin asks for show
//! figures, and the sessions still to come take enrolments.
//!
//! The people are invented. Everything is loaded in one transaction and only
//! when the demo programme is not there yet, so running it again changes
//! nothing.

pub mod province;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::access::{Marker, ParticipantScope};
use crate::attendance::model::NewMark;
use crate::audit::Actor;
use crate::auth::password;
use crate::config::Config;
use crate::db::schema::programmes;
use crate::db::{self, Db, DbConnection};
use crate::enrolments::model::{EnrolOutcome, EnrolmentRules, RosterFilter};
use crate::error::AppError;
use crate::id::Id;
use crate::operations::accounts::{self, NewAccount};
use crate::operations::walk_ins::{self, WalkInPerson};
use crate::organizations::Organization;
use crate::outbox::model as outbox;
use crate::paging::PageRequest;
use crate::participants::model::{ProfileFields, ProfileLinks};
use crate::programmes::Programme;
use crate::rows;
use crate::sessions::model::SessionUpdate;
use crate::sessions::{self, Session};
use crate::users::User;
use crate::vocab::AttendanceStatus::{Absent, Excused, Late, Present};
use crate::vocab::{
    Category, ConsentMethod, EnrolmentSource, EnrolmentStatus, Gender, MarkSource,
    OrganizationKind, Role, SessionStatus,
};
use crate::{
    attendance, courses, enrolments, local_time, operations, organizations, participants, users,
};

/// The demo programme's name, which also tells that the demo is loaded.
pub const PROGRAMME_NAME: &str = "Tuần lễ hưởng ứng học tập suốt đời (dữ liệu mẫu)";

/// The week starts this many days before the day the demo is loaded.
const DAYS_ALREADY_HELD: i64 = 3;
const EMAIL_DOMAIN: &str = "demo.lophoc.local";

/// What a run did.
#[derive(Debug)]
pub enum DemoOutcome {
    /// Loaded; every demo account has this password.
    Loaded {
        accounts: Vec<String>,
        password: String,
        participants: usize,
        week: WeekFigures,
    },
    AlreadyLoaded,
}

/// Migrates the database and loads the demo unless it is already there.
/// The accounts' password is `LOPHOC_DEMO_PASSWORD` if set, else generated.
pub fn load(config: &Config, password: Option<String>) -> Result<DemoOutcome, String> {
    let db = Db::connect(&config.database_url, 1).map_err(|err| err.to_string())?;
    let mut conn = db.get().map_err(|err| err.to_string())?;
    db::run_migrations(&mut conn).map_err(|err| format!("migrating the database failed: {err}"))?;
    if demo_loaded(&mut conn).map_err(|err| err.to_string())? {
        return Ok(DemoOutcome::AlreadyLoaded);
    }
    let password = password.unwrap_or_else(password::generate_password);
    let mut v = crate::validation::Validator::new();
    password::check_new_password(&mut v, "LOPHOC_DEMO_PASSWORD", &password);
    v.finish().map_err(|_| "LOPHOC_DEMO_PASSWORD must be 8 to 128 characters".to_owned())?;
    // One hash for every account: hashing is the slow part, and these
    // accounts are for trying the API out.
    let password_hash = password::hash_now(&password)?;
    let loaded = db::write_transaction(&mut conn, |conn| {
        // Checked again inside the transaction, after waiting for any other
        // run: two runs at once load once.
        db::serialize_with_others(conn, db::LockKey::Demo)?;
        if demo_loaded(conn)? {
            return Ok(None);
        }
        populate(conn, &password_hash, EnrolmentRules::of(config)).map(Some)
    })
    .map_err(|err: AppError| format!("loading the demo failed: {err}"))?;
    Ok(match loaded {
        Some((accounts, participants, week)) => {
            DemoOutcome::Loaded { accounts, password, participants, week }
        }
        None => DemoOutcome::AlreadyLoaded,
    })
}

fn demo_loaded(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        programmes::table.filter(programmes::name.eq(PROGRAMME_NAME)),
    ))
    .get_result(conn)
}

struct Units {
    centre: Id,
    committee: Id,
    school: Id,
    association: Id,
    cooperative: Id,
    hamlets: Vec<Id>,
}

fn populate(
    conn: &mut DbConnection,
    password_hash: &str,
    rules: EnrolmentRules,
) -> Result<(Vec<String>, usize, WeekFigures), AppError> {
    let actor = Actor::system();
    let units = create_units(conn, &actor)?;

    let mut accounts = Vec::new();
    let mut account =
        |conn: &mut DbConnection, local: &str, name: &str, role: Role, unit: Option<Id>| {
            let email = format!("{local}@{EMAIL_DOMAIN}");
            let mut user = User::new(email.clone(), password_hash.to_owned(), name.into(), role);
            user.organization_id = unit;
            let new = NewAccount { user, profile: None, created_by: actor.clone() };
            let (user, _) = accounts::create_account(conn, new)?;
            accounts.push(email);
            Ok::<_, AppError>(user.id)
        };
    let trainers = [
        account(conn, "gv.tuan", "Hoàng Minh Tuấn", Role::Trainer, None)?,
        account(conn, "gv.hang", "Lương Thị Hằng", Role::Trainer, None)?,
        account(conn, "gv.khanh", "Đặng Quốc Khánh", Role::Trainer, None)?,
    ];
    account(conn, "dieuphoi.thcs", "Ma Thị Dung", Role::Coordinator, Some(units.school))?;
    account(
        conn,
        "dieuphoi.khuyenhoc",
        "Nông Văn Sáu",
        Role::Coordinator,
        Some(units.association),
    )?;
    for (i, hamlet) in units.hamlets.iter().enumerate() {
        let local = format!("dieuphoi.xom{}", i + 1);
        account(
            conn,
            &local,
            &person_name(40 + i, Gender::Male),
            Role::Coordinator,
            Some(*hamlet),
        )?;
    }

    // A parent with an account, and two children on their profile.
    let parent_email = format!("phuhuynh@{EMAIL_DOMAIN}");
    let parent = User::new(
        parent_email.clone(),
        password_hash.to_owned(),
        "Triệu Thị Lan".into(),
        Role::Participant,
    );
    let profile = ProfileFields {
        full_name: parent.full_name.clone(),
        category: Category::Parent,
        organization_id: Some(units.hamlets[0]),
        gender: Some(Gender::Female),
        birth_date: NaiveDate::from_ymd_opt(1985, 3, 12),
        phone: Some("0912 000 101".into()),
        email: Some(parent_email.clone()),
    };
    let new = NewAccount { user: parent, profile: Some(profile), created_by: actor.clone() };
    let (_, parent_profile) = accounts::create_account(conn, new)?;
    accounts.push(parent_email);

    let people = create_participants(conn, &actor, &units, parent_profile)?;
    let week = create_programme(conn, &actor, &trainers, rules.zone)?;
    let figures = fill_week(conn, &actor, &week, &people, &units, rules)?;
    // Made-up people in made-up classes hear nothing: no email, no
    // webhook, no reminder.
    let sessions: Vec<Id> = week.iter().map(|w| w.id).collect();
    outbox::discard_for_sessions(conn, &sessions)?;
    Ok((accounts, people.len(), figures))
}

fn create_units(conn: &mut DbConnection, actor: &Actor) -> Result<Units, AppError> {
    let mut unit = |kind, name: &str, code: &str, parent: Option<Id>| {
        let now = db::now();
        let unit = Organization {
            id: Id::new(),
            kind,
            name: name.into(),
            code: Some(code.into()),
            parent_id: parent,
            created_at: now,
            updated_at: now,
        };
        organizations::model::create(conn, actor, unit).map(|unit| unit.id)
    };
    let committee = unit(OrganizationKind::Agency, "UBND xã Trung Hội", "UBND-TH", None)?;
    let centre = unit(
        OrganizationKind::Other,
        "Trung tâm học tập cộng đồng xã Trung Hội",
        "TTHTCD-TH",
        Some(committee),
    )?;
    let school = unit(OrganizationKind::School, "Trường THCS Trung Hội", "THCS-TH", None)?;
    let association =
        unit(OrganizationKind::Association, "Hội Khuyến học xã Trung Hội", "HKH-TH", None)?;
    let cooperative =
        unit(OrganizationKind::Enterprise, "Hợp tác xã chè Trung Hội", "HTX-TH", None)?;
    let mut hamlets = Vec::new();
    for n in 1..=3 {
        hamlets.push(unit(
            OrganizationKind::Hamlet,
            &format!("Xóm {n}"),
            &format!("XOM{n}-TH"),
            Some(committee),
        )?);
    }
    Ok(Units { centre, committee, school, association, cooperative, hamlets })
}

const FAMILY_NAMES: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Hà", "Ma", "Lương", "Đặng", "Vũ", "Đỗ", "Bùi",
    "Dương", "Lý", "Triệu", "Nông",
];
const MIDDLE_NAMES: [(&str, &str); 5] =
    [("Thị", "Văn"), ("Thu", "Đức"), ("Thanh", "Minh"), ("Ngọc", "Quang"), ("Minh", "Hữu")];
const GIVEN_NAMES: [(&str, &str); 12] = [
    ("Hường", "An"),
    ("Lan", "Bình"),
    ("Mai", "Cường"),
    ("Hoa", "Dũng"),
    ("Hằng", "Hải"),
    ("Thảo", "Hùng"),
    ("Trang", "Khánh"),
    ("Linh", "Long"),
    ("Nga", "Nam"),
    ("Huyền", "Phúc"),
    ("Yến", "Quân"),
    ("Dung", "Tuấn"),
];

/// A deterministic, varied Vietnamese name for the `n`th invented person.
pub(crate) fn person_name(n: usize, gender: Gender) -> String {
    let pick = |(female, male): (&'static str, &'static str)| {
        if gender == Gender::Female { female } else { male }
    };
    let family = FAMILY_NAMES[(n * 7) % FAMILY_NAMES.len()];
    let middle = pick(MIDDLE_NAMES[(n / 3) % MIDDLE_NAMES.len()]);
    let given = pick(GIVEN_NAMES[(n * 5 + n / 12) % GIVEN_NAMES.len()]);
    format!("{family} {middle} {given}")
}

/// How many invented people of each category, and where they belong.
/// Parents come first, so that students can name them as guardians.
fn cohorts(units: &Units) -> [(Category, usize, Vec<Id>); 6] {
    let hamlets: Vec<Id> = units.hamlets.clone();
    [
        (Category::Parent, 70, hamlets.clone()),
        (Category::Student, 80, vec![units.school]),
        (Category::Learner, 60, [hamlets.as_slice(), &[units.association]].concat()),
        (Category::Official, 50, vec![units.committee, units.centre]),
        (Category::Worker, 60, vec![units.cooperative]),
        (Category::Other, 40, hamlets),
    ]
}

/// Creates the invented people; gives each one's id and category.
fn create_participants(
    conn: &mut DbConnection,
    actor: &Actor,
    units: &Units,
    demo_parent: Option<Id>,
) -> Result<Vec<(Id, Category)>, AppError> {
    let mut created = Vec::new();
    let mut parents = Vec::new();
    let mut n = 0;
    for (category, count, places) in cohorts(units) {
        for i in 0..count {
            n += 1;
            let gender = if n % 2 == 0 { Gender::Female } else { Gender::Male };
            let birth_date = match category {
                Category::Student => NaiveDate::from_ymd_opt(
                    2009 + (i % 4) as i32,
                    1 + (i % 12) as u32,
                    1 + (i % 28) as u32,
                ),
                _ if i % 3 == 0 => None,
                _ => NaiveDate::from_ymd_opt(
                    1960 + (n % 40) as i32,
                    1 + (n % 12) as u32,
                    1 + (n % 28) as u32,
                ),
            };
            let fields = ProfileFields {
                full_name: person_name(n, gender),
                category,
                organization_id: Some(places[i % places.len()]),
                gender: Some(gender),
                birth_date,
                phone: (i % 4 != 0).then(|| {
                    format!("09{:02} {:03} {:03}", n % 100, (n * 37) % 1000, (n * 91) % 1000)
                }),
                email: None,
            };
            // Most students have a parent on file; two belong to the demo
            // parent's account.
            let guardian_id = match (category, i) {
                (Category::Student, 0 | 1) => demo_parent,
                (Category::Student, i) if i % 5 != 4 => {
                    parents.get(i % parents.len().max(1)).cloned()
                }
                _ => None,
            };
            let links = ProfileLinks { guardian_id, ..ProfileLinks::default() };
            let mut row = participants::model::create(conn, actor, fields.into_new(links))?;
            // Their parents signed the paper consent form. The demo
            // parent's two children have none yet: theirs is to give in
            // the app (with LOPHOC_REQUIRE_CONSENT, they take no places).
            if guardian_id.is_some() && guardian_id != demo_parent {
                row = participants::consent::record(conn, actor, row, ConsentMethod::Paper)?;
            }
            if category == Category::Parent {
                parents.push(row.id);
            }
            created.push((row.id, category));
        }
    }
    Ok(created)
}

struct DemoCourse {
    title: &'static str,
    summary: &'static str,
    topics: &'static [&'static str],
    targets: &'static [Category],
    minutes: i32,
}

/// One session of the week as loaded: where it really falls, and who
/// teaches it.
struct WeekSession {
    id: Id,
    trainer: Id,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    capacity: i32,
    waitlist: bool,
    audience: &'static [Category],
}

/// How far ahead the sessions stand while their places are taken. Places
/// are made through the same rules as requests (an open window, the
/// audience, no overlap, a guardian on file), and those take places only
/// in sessions still to come; the week then moves back to its real days.
const ENROLMENT_LEAD: Duration = Duration::days(60);

fn create_programme(
    conn: &mut DbConnection,
    actor: &Actor,
    trainers: &[Id],
    zone: Tz,
) -> Result<Vec<WeekSession>, AppError> {
    let now = db::now();
    let first_day = local_time::local_day(now, zone) - Duration::days(DAYS_ALREADY_HELD);
    let programme = Programme {
        id: Id::new(),
        name: PROGRAMME_NAME.into(),
        theme: Some("Xây dựng năng lực tự học trong kỷ nguyên số".into()),
        starts_on: first_day,
        ends_on: first_day + Duration::days(6),
        created_at: now,
        updated_at: now,
    };
    let programme = crate::programmes::model::create(conn, actor, programme)?;

    use Category::*;
    let catalogue = [
        DemoCourse {
            title: "Tìm kiếm thông tin hiệu quả trên Internet",
            summary: "Dùng công cụ tìm kiếm, từ khoá và bộ lọc để tìm đúng thông tin cần cho học tập và công việc.",
            topics: &["Công cụ tìm kiếm", "Từ khoá và toán tử", "Lưu và sắp xếp nguồn"],
            targets: &[Student, Learner, Official, Worker],
            minutes: 90,
        },
        DemoCourse {
            title: "Nhận diện tin giả và đánh giá nguồn tin",
            summary: "Kiểm tra nguồn, ngày đăng và bằng chứng trước khi tin và chia sẻ.",
            topics: &["Tin giả", "Đánh giá nguồn", "Chia sẻ có trách nhiệm"],
            targets: &[Student, Learner, Parent, Official, Worker, Other],
            minutes: 90,
        },
        DemoCourse {
            title: "An toàn trên mạng cho học sinh và phụ huynh",
            summary: "Bảo vệ trẻ em trên mạng: quyền riêng tư, bắt nạt trực tuyến, thời gian dùng thiết bị.",
            topics: &["Quyền riêng tư", "Bắt nạt trực tuyến", "Cài đặt an toàn"],
            targets: &[Student, Parent],
            minutes: 120,
        },
        DemoCourse {
            title: "Bảo vệ tài khoản và dữ liệu cá nhân",
            summary: "Mật khẩu mạnh, xác thực hai lớp và nhận diện lừa đảo qua điện thoại, tin nhắn.",
            topics: &["Mật khẩu", "Xác thực hai lớp", "Lừa đảo trực tuyến"],
            targets: &[Learner, Official, Worker, Other],
            minutes: 90,
        },
    ];
    let mut courses = Vec::new();
    for demo in &catalogue {
        let course = courses::Course {
            id: Id::new(),
            title: demo.title.into(),
            summary: Some(demo.summary.into()),
            topics: db::join_lines(demo.topics),
            target_categories: Category::join(demo.targets),
            duration_minutes: demo.minutes,
            programme_id: Some(programme.id),
            created_at: now,
            updated_at: now,
        };
        courses.push(courses::model::create(conn, actor, course)?);
    }

    // Two sessions a day: mornings at the school or the commune hall,
    // evenings in a hamlet's culture house, when people are back from work.
    let venues = ["Trường THCS Trung Hội", "Hội trường UBND xã Trung Hội"];
    let mut week = Vec::new();
    for n in 0..7 {
        let day = first_day + Duration::days(n as i64);
        for (slot, (hour, minute)) in [(8, 0), (19, 30)].into_iter().enumerate() {
            let index = n * 2 + slot;
            let (course, demo) =
                (&courses[index % courses.len()], &catalogue[index % courses.len()]);
            let starts_at =
                local_time::to_stored(day.and_hms_opt(hour, minute, 0).unwrap_or_default(), zone);
            let ends_at = starts_at + Duration::minutes(course.duration_minutes.into());
            let venue = match slot {
                0 => venues[n % venues.len()].to_owned(),
                _ => format!("Nhà văn hoá Xóm {}", 1 + n % 3),
            };
            let planned = WeekSession {
                id: Id::new(),
                trainer: trainers[index % trainers.len()],
                starts_at,
                ends_at,
                capacity: if slot == 0 { 40 } else { 25 },
                waitlist: slot == 1,
                audience: demo.targets,
            };
            let session = Session {
                id: planned.id,
                course_id: course.id,
                starts_at: starts_at + ENROLMENT_LEAD,
                ends_at: ends_at + ENROLMENT_LEAD,
                venue,
                capacity: planned.capacity,
                status: SessionStatus::Scheduled,
                enrolment_opens_at: None,
                enrolment_closes_at: None,
                eligible_categories: None,
                waitlist: planned.waitlist,
                enrolled_count: 0,
                waitlisted_count: 0,
                created_at: now,
                updated_at: now,
            };
            let trainers = std::slice::from_ref(&planned.trainer);
            sessions::model::create(conn, actor, session, trainers, zone)?;
            week.push(planned);
        }
    }
    Ok(week)
}

/// What the week holds once loaded, for the command to report.
#[derive(Debug, Default)]
pub struct WeekFigures {
    /// Places taken before the walk-ins, cancelled ones included.
    pub places: usize,
    /// People still on a waitlist.
    pub waiting: usize,
    pub cancelled: usize,
    pub marks: usize,
    pub walk_ins: usize,
}

/// Takes places in every session (filling the evening ones past their
/// seats, onto the waitlist), cancels a few (the first people waiting move
/// up), moves the week to its real days, then takes the roll-call of the
/// sessions already held and adds the people who walked in.
fn fill_week(
    conn: &mut DbConnection,
    actor: &Actor,
    week: &[WeekSession],
    people: &[(Id, Category)],
    units: &Units,
    rules: EnrolmentRules,
) -> Result<WeekFigures, AppError> {
    let mut figures = WeekFigures::default();
    let everyone = ParticipantScope::All;
    let sources =
        [EnrolmentSource::Coordinator, EnrolmentSource::SelfService, EnrolmentSource::Admin];
    // Steps of 7 through the people (a number prime to their count) mix
    // categories and units from one session to the next.
    let mut turn = 0;
    for (n, session) in week.iter().enumerate() {
        let wanted = if session.waitlist {
            session.capacity + 6
        } else {
            session.capacity - 4 * (n as i32 % 3)
        };
        let mut placed = Vec::new();
        for _ in 0..people.len() {
            if placed.len() as i32 >= wanted {
                break;
            }
            turn += 7;
            let (person, category) = &people[turn % people.len()];
            if !session.audience.contains(category) {
                continue;
            }
            let source = sources[turn % sources.len()];
            match enrolments::model::enrol(
                conn, actor, &everyone, session.id, *person, source, rules,
            ) {
                Ok(EnrolOutcome::Created(place)) => placed.push(place),
                // A person already placed, or refused as a request would be
                // (an overlapping class, a child with no guardian on file).
                Ok(EnrolOutcome::AlreadyHeld(_)) | Err(AppError::Refused(_)) => {}
                Err(other) => return Err(other),
            }
        }
        figures.places += placed.len();
        let held = placed.iter().filter(|p| p.status == EnrolmentStatus::Enrolled);
        for place in held.step_by(11).take(2) {
            enrolments::model::cancel(conn, actor, place.id)?;
            figures.cancelled += 1;
        }
        // Who is still waiting once the first in line have moved up.
        let details = sessions::model::find(conn, session.id)?.ok_or(AppError::NotFound)?;
        figures.waiting += details.session.waitlisted_count as usize;
    }

    // Back to the real days, through the same change an admin would make
    // (so the audit trail shows the move).
    let opens_at = week.first().map(|s| s.starts_at - Duration::days(14));
    for session in week {
        let moved = SessionUpdate {
            starts_at: Some(session.starts_at),
            ends_at: Some(session.ends_at),
            enrolment_opens_at: Some(opens_at),
            enrolment_closes_at: Some(Some(session.starts_at - Duration::hours(12))),
            ..SessionUpdate::default()
        };
        operations::sessions::change_session(
            conn,
            actor,
            session.id,
            rows::any_version,
            moved,
            rules.zone,
        )?;
    }

    // Most came; some late, a few excused or absent.
    let marks =
        [Present, Present, Present, Late, Present, Present, Absent, Present, Excused, Present];
    let hamlets = &units.hamlets;
    let now = db::now();
    for (n, session) in week.iter().enumerate().filter(|(_, s)| s.ends_at <= now) {
        let trainer = Actor::user(session.trainer);
        let held = RosterFilter { status: Some(EnrolmentStatus::Enrolled), organization_id: None };
        let whole = PageRequest::first(session.capacity.into());
        let roster = enrolments::model::roster(conn, session.id, &held, &whole)?;
        for (i, (place, _)) in roster.iter().enumerate() {
            let mark = NewMark {
                participant_id: place.participant_id,
                status: marks[(i + n) % marks.len()],
                note: None,
                source: MarkSource::Trainer,
                recorded_at: session.starts_at + Duration::minutes(10),
            };
            attendance::model::record_mark(conn, &trainer, session.id, mark)?;
            figures.marks += 1;
        }
        // Two people who heard of the class and came: new profiles.
        let trainer_user = users::model::find(conn, session.trainer)?.ok_or(AppError::NotFound)?;
        let marker = Marker::person(trainer_user);
        for w in 0..2 {
            let k = 500 + n * 2 + w;
            let gender = if k % 2 == 0 { Gender::Female } else { Gender::Male };
            let fields = ProfileFields {
                full_name: person_name(k, gender),
                category: if w == 0 { Category::Worker } else { Category::Other },
                organization_id: Some(hamlets[k % hamlets.len()]),
                gender: Some(gender),
                birth_date: None,
                phone: None,
                email: None,
            };
            walk_ins::walk_in(conn, &marker, session.id, WalkInPerson::New(fields))?;
            figures.walk_ins += 1;
        }
    }
    Ok(figures)
}
