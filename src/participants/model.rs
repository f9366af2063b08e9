use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use serde::Serialize;

use super::search;
use crate::access::{ParticipantScope, linked_profile};
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::auth::logins::holds_live_session_as;
use crate::db::schema::participants;
use crate::db::{self, DbConnection};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::id::Id;
use crate::on_own_connection;
use crate::paging::{PageRequest, Paged};
use crate::rows::{self, SavedRow};
use crate::validation::Validator;
use crate::vocab::{Category, ConsentMethod, Gender};
use crate::{organizations, users};

/// A participant profile as stored. `Debug` shows no personal data; the
/// `Serialize` form is the audit trail's snapshot.
#[derive(Clone, Queryable, Insertable, Serialize)]
#[diesel(table_name = participants, treat_none_as_default_value = false)]
pub struct Participant {
    pub id: Id,
    pub full_name: String,
    pub category: Category,
    pub organization_id: Option<Id>,
    pub gender: Gender,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub guardian_id: Option<Id>,
    pub user_id: Option<Id>,
    pub created_by: Option<Id>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    #[serde(skip)]
    pub search_name: String,
    pub anonymized_at: Option<NaiveDateTime>,
    // The latest guardian consent on file: see `super::consent`.
    pub consent_guardian_id: Option<Id>,
    pub consent_method: Option<ConsentMethod>,
    pub consent_recorded_by: Option<Id>,
    pub consent_recorded_at: Option<NaiveDateTime>,
    pub consent_withdrawn_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for Participant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Participant").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The personal fields of a profile as a client sends them.
pub struct ProfileFields {
    pub full_name: String,
    pub category: Category,
    pub organization_id: Option<Id>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Earlier dates are typing mistakes (and some are beyond what PostgreSQL's
/// DATE holds).
const EARLIEST_BIRTH_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();

impl ProfileFields {
    /// The rules on a profile's own fields: students need a birth date
    /// (the guardian rule for minors depends on it), from 1900 to today; a phone number is digits, spaces, dots and dashes with an
    /// optional leading `+` (its length is checked where it is read, with
    /// `Validator::phone`).
    pub fn check(&self, v: &mut Validator) {
        match self.birth_date {
            None if self.category == Category::Student => v.add("birth_date", FieldIssue::Required),
            Some(date) if date < EARLIEST_BIRTH_DATE || date > latest_birth_date() => {
                v.add("birth_date", FieldIssue::BirthDateOutOfRange)
            }
            _ => {}
        }
        if let Some(phone) = &self.phone {
            let digits = phone.strip_prefix('+').unwrap_or(phone);
            let plausible = digits.chars().any(|c| c.is_ascii_digit())
                && digits.chars().all(|c| c.is_ascii_digit() || " .-".contains(c));
            if !plausible {
                v.add("phone", FieldIssue::NotPhoneNumber);
            }
        }
    }

    /// A new profile with these fields, not yet stored.
    pub fn into_new(self, links: ProfileLinks) -> Participant {
        let now = db::now();
        Participant {
            id: Id::new(),
            search_name: search::search_name(&self.full_name),
            full_name: self.full_name,
            category: self.category,
            organization_id: self.organization_id,
            gender: self.gender.unwrap_or(Gender::Unspecified),
            birth_date: self.birth_date,
            phone: self.phone,
            email: self.email,
            guardian_id: links.guardian_id,
            user_id: links.user_id,
            created_by: links.created_by,
            created_at: now,
            updated_at: now,
            anonymized_at: None,
            consent_guardian_id: None,
            consent_method: None,
            consent_recorded_by: None,
            consent_recorded_at: None,
            consent_withdrawn_at: None,
        }
    }

    /// The fields of a stored profile, to check it whole after a change.
    fn of(row: &Participant) -> Self {
        Self {
            full_name: row.full_name.clone(),
            category: row.category,
            organization_id: row.organization_id,
            gender: Some(row.gender),
            birth_date: row.birth_date,
            phone: row.phone.clone(),
            email: row.email.clone(),
        }
    }
}

/// Who a new profile is tied to: a guardian's profile, a login account,
/// and the account that created it.
#[derive(Debug, Default)]
pub struct ProfileLinks {
    pub guardian_id: Option<Id>,
    pub user_id: Option<Id>,
    pub created_by: Option<Id>,
}

/// The fields of a profile that the audit trail names without values, and
/// that anonymisation erases.
pub(super) const PERSONAL_FIELDS: &[&str] = &[
    "full_name",
    "birth_date",
    "phone",
    "email",
    "guardian_id",
    "user_id",
    "consent_guardian_id",
    "consent_recorded_by",
];

/// Creates a profile after checking what it refers to. Call inside a write
/// transaction.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    new: Participant,
) -> Result<Participant, AppError> {
    check_references(conn, new.id, new.organization_id, new.guardian_id, new.user_id)?;
    diesel::insert_into(participants::table).values(&new).execute(conn).map_err(link_conflict)?;
    let changes = FieldChange::diff(None::<&Participant>, &new, PERSONAL_FIELDS);
    audit::record(conn, actor, Action::Create, EntityType::Participant, new.id, changes)?;
    Ok(new)
}

/// A change to a profile; `None` leaves a field as it is, `Some(None)`
/// clears a nullable one.
pub struct ProfileUpdate {
    pub full_name: Option<String>,
    pub category: Option<Category>,
    pub organization_id: Option<Option<Id>>,
    pub gender: Option<Gender>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub guardian_id: Option<Option<Id>>,
    pub user_id: Option<Option<Id>>,
}

#[derive(AsChangeset)]
#[diesel(table_name = participants, treat_none_as_null = true)]
struct ParticipantRow<'a> {
    full_name: &'a str,
    search_name: &'a str,
    category: Category,
    organization_id: Option<Id>,
    gender: Gender,
    birth_date: Option<NaiveDate>,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    guardian_id: Option<Id>,
    user_id: Option<Id>,
    updated_at: NaiveDateTime,
    anonymized_at: Option<NaiveDateTime>,
    consent_guardian_id: Option<Id>,
    consent_method: Option<ConsentMethod>,
    consent_recorded_by: Option<Id>,
    consent_recorded_at: Option<NaiveDateTime>,
    consent_withdrawn_at: Option<NaiveDateTime>,
}

impl<'a> From<&'a Participant> for ParticipantRow<'a> {
    fn from(p: &'a Participant) -> Self {
        Self {
            full_name: &p.full_name,
            search_name: &p.search_name,
            category: p.category,
            organization_id: p.organization_id,
            gender: p.gender,
            birth_date: p.birth_date,
            phone: p.phone.as_deref(),
            email: p.email.as_deref(),
            guardian_id: p.guardian_id,
            user_id: p.user_id,
            updated_at: p.updated_at,
            anonymized_at: p.anonymized_at,
            consent_guardian_id: p.consent_guardian_id,
            consent_method: p.consent_method,
            consent_recorded_by: p.consent_recorded_by,
            consent_recorded_at: p.consent_recorded_at,
            consent_withdrawn_at: p.consent_withdrawn_at,
        }
    }
}

/// Applies a change to `current` (read in this transaction) and checks the
/// result whole: a student keeps a birth date, references exist. An
/// anonymised profile cannot be changed. Call inside a write transaction.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    current: Participant,
    update: ProfileUpdate,
) -> Result<Participant, AppError> {
    if current.anonymized_at.is_some() {
        return Err(AppError::Conflict(Conflict::Anonymized));
    }
    let mut next = current.clone();
    if let Some(name) = update.full_name {
        next.search_name = search::search_name(&name);
        next.full_name = name;
    }
    next.category = update.category.unwrap_or(next.category);
    next.gender = update.gender.unwrap_or(next.gender);
    set(&mut next.organization_id, update.organization_id);
    set(&mut next.birth_date, update.birth_date);
    set(&mut next.phone, update.phone);
    set(&mut next.email, update.email);
    set(&mut next.guardian_id, update.guardian_id);
    set(&mut next.user_id, update.user_id);

    let mut v = Validator::new();
    ProfileFields::of(&next).check(&mut v);
    v.finish()?;
    check_references(conn, next.id, next.organization_id, next.guardian_id, next.user_id)?;
    rows::save_change(conn, actor, current, next)
}

/// Profiles are read through a caller's scope ([`find_visible`]) before
/// they change, so only the second half of the frame is theirs:
/// [`rows::save_change`].
impl SavedRow for Participant {
    const ENTITY: EntityType = EntityType::Participant;
    const PERSONAL_FIELDS: &'static [&'static str] = PERSONAL_FIELDS;

    fn id(&self) -> Id {
        self.id
    }

    fn stamp(&mut self, updated_at: NaiveDateTime) {
        self.updated_at = updated_at;
    }

    fn save(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        save(conn, self)
    }
}

fn set<T>(field: &mut Option<T>, change: Option<Option<T>>) {
    if let Some(value) = change {
        *field = value;
    }
}

pub(super) fn save(conn: &mut DbConnection, row: &Participant) -> Result<(), AppError> {
    diesel::update(participants::table.find(&row.id))
        .set(ParticipantRow::from(row))
        .execute(conn)
        .map_err(link_conflict)?;
    Ok(())
}

/// Erases a profile's personal data (name, contact, birth date, its links
/// to a guardian and an account), keeping category, unit and gender so that
/// statistics stay the same. The first half of anonymising a person: see
/// [`crate::operations::people::anonymize`], which then erases what other
/// tables hold of them and calls [`release_dependants`]. Call inside a
/// write transaction, with the row locked and not yet anonymised.
pub fn erase_personal_data(
    conn: &mut DbConnection,
    current: &Participant,
) -> Result<Participant, AppError> {
    let now = db::now();
    let erased = Participant {
        full_name: String::new(),
        search_name: String::new(),
        birth_date: None,
        phone: None,
        email: None,
        guardian_id: None,
        user_id: None,
        consent_guardian_id: None,
        consent_recorded_by: None,
        updated_at: now,
        anonymized_at: Some(now),
        ..current.clone()
    };
    save(conn, &erased)?;
    Ok(erased)
}

/// The last half of anonymising a person: their dependants lose them as
/// guardian (each change recorded), and the anonymisation is recorded.
pub fn release_dependants(
    conn: &mut DbConnection,
    actor: &Actor,
    current: &Participant,
    erased: &Participant,
) -> Result<(), AppError> {
    let dependants = participants::table.filter(participants::guardian_id.eq(current.id));
    let dependant_ids: Vec<Id> = dependants.select(participants::id).load(conn)?;
    diesel::update(dependants)
        .set((
            participants::guardian_id.eq(None::<Id>),
            participants::consent_guardian_id.eq(None::<Id>),
            participants::updated_at.eq(erased.updated_at),
        ))
        .execute(conn)?;
    for id in dependant_ids {
        let change = vec![FieldChange::redacted("guardian_id")];
        audit::record(conn, actor, Action::Update, EntityType::Participant, id, change)?;
    }
    let changes = FieldChange::diff(Some(current), erased, PERSONAL_FIELDS);
    audit::record(conn, actor, Action::Anonymize, EntityType::Participant, current.id, changes)?;
    Ok(())
}

/// Hands the dependants of profile `from` to profile `to` as their guardian
/// (two profiles of one person merged), and the consents `from` gave; each
/// change recorded. Refused (`422`, naming `into`) when `to` is below one of
/// them, which would make a loop. Call with both rows locked.
pub fn move_dependants(
    conn: &mut DbConnection,
    actor: &Actor,
    from: Id,
    to: Id,
) -> Result<(), AppError> {
    // As every change of guardians: one at a time, so that two changes
    // cannot each pass the loop check (see `check_references`).
    db::serialize_with_others(conn, db::LockKey::Guardians)?;
    let dependants: Vec<Id> = participants::table
        .filter(participants::guardian_id.eq(from))
        .order(participants::id.asc())
        .select(participants::id)
        .load(conn)?;
    if guardians_above(conn, to)?.iter().any(|above| dependants.contains(above)) {
        return Err(AppError::validation("into", FieldIssue::CreatesCycle));
    }
    for dependant in &dependants {
        db::lock_row(conn, db::Table::Participants, *dependant)?;
    }
    let now = db::now();
    let theirs = participants::table.filter(participants::guardian_id.eq(from));
    // The consent of a dependant that `from` gave holds as `to`'s.
    diesel::update(theirs.filter(participants::consent_guardian_id.eq(from)))
        .set(participants::consent_guardian_id.eq(to))
        .execute(conn)?;
    diesel::update(theirs)
        .set((participants::guardian_id.eq(to), participants::updated_at.eq(now)))
        .execute(conn)?;
    for id in dependants {
        let change = vec![FieldChange::redacted("guardian_id")];
        audit::record(conn, actor, Action::Update, EntityType::Participant, id, change)?;
    }
    Ok(())
}

/// Moves the login account linked to `from` to `to` (two profiles of one
/// person merged); `to` must have none. Answers both as they are after.
/// Call with both rows locked.
pub fn move_account(
    conn: &mut DbConnection,
    actor: &Actor,
    from: Participant,
    to: Participant,
) -> Result<(Participant, Participant), AppError> {
    let Some(account) = from.user_id else {
        return Ok((from, to));
    };
    let now = db::now();
    let unlinked = Participant { user_id: None, updated_at: now, ..from.clone() };
    save(conn, &unlinked)?;
    let linked = Participant { user_id: Some(account), updated_at: now, ..to.clone() };
    save(conn, &linked)?;
    for (before, after) in [(&from, &unlinked), (&to, &linked)] {
        let changes = FieldChange::diff(Some(before), after, PERSONAL_FIELDS);
        audit::record(conn, actor, Action::Update, EntityType::Participant, after.id, changes)?;
    }
    Ok((unlinked, linked))
}

/// Checks that the unit, guardian and account a profile names exist; a
/// guardian is another profile that is not this one's own dependant, and
/// an account is linked to one profile at most.
fn check_references(
    conn: &mut DbConnection,
    id: Id,
    organization_id: Option<Id>,
    guardian_id: Option<Id>,
    user_id: Option<Id>,
) -> Result<(), AppError> {
    let mut v = Validator::new();
    if let Some(unit) = organization_id
        && !organizations::model::exists(conn, unit)?
    {
        v.add("organization_id", FieldIssue::UnknownReference);
    }
    if let Some(guardian_id) = guardian_id {
        // Two profiles each made the other's guardian at once must not both
        // pass the loop check; a guardian anonymised meanwhile must not get
        // a new dependant.
        db::serialize_with_others(conn, db::LockKey::Guardians)?;
        db::lock_row(conn, db::Table::Participants, guardian_id)?;
        match find(conn, guardian_id)? {
            None => v.add("guardian_id", FieldIssue::UnknownReference),
            Some(guardian) if guardian.anonymized_at.is_some() => {
                v.add("guardian_id", FieldIssue::UnknownReference)
            }
            Some(_) if guardians_above(conn, guardian_id)?.contains(&id) => {
                v.add("guardian_id", FieldIssue::CreatesCycle)
            }
            Some(_) => {}
        }
    }
    if let Some(user_id) = user_id {
        if users::model::find(conn, user_id)?.is_none() {
            v.add("user_id", FieldIssue::UnknownReference);
        } else if linked_profile(conn, user_id)?.is_some_and(|linked| linked != id) {
            v.add("user_id", FieldIssue::AlreadyLinked);
        }
    }
    v.finish()
}

/// `id` and its guardian, the guardian's guardian, and so on. Chains are
/// short (a child, a parent); a loop, which `check_references` prevents,
/// would stop the walk.
fn guardians_above(conn: &mut DbConnection, id: Id) -> QueryResult<Vec<Id>> {
    let mut chain = vec![id];
    while let Some(guardian) = participants::table
        .find(*chain.last().expect("starts with one"))
        .select(participants::guardian_id)
        .first::<Option<Id>>(conn)
        .optional()?
        .flatten()
    {
        if chain.contains(&guardian) {
            break;
        }
        chain.push(guardian);
    }
    Ok(chain)
}

/// A unique violation on `user_id`: a concurrent write linked the account.
fn link_conflict(err: diesel::result::Error) -> AppError {
    if db::is_unique_violation(&err) {
        AppError::validation("user_id", FieldIssue::AlreadyLinked)
    } else {
        err.into()
    }
}

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Participant>> {
    participants::table.find(id).first(conn).optional()
}

/// The profiles whose guardian is `guardian_id`, oldest first.
pub fn dependants(conn: &mut DbConnection, guardian_id: Id) -> QueryResult<Vec<Participant>> {
    participants::table
        .filter(participants::guardian_id.eq(guardian_id))
        .order(participants::id.asc())
        .load(conn)
}

#[derive(Default)]
pub struct ParticipantFilter {
    pub organization_id: Option<Id>,
    pub category: Option<Category>,
    pub guardian_id: Option<Id>,
    /// A name search; see [`search`].
    pub q: Option<String>,
}

/// A page of the profiles that `scope` lets the caller see; with `caller`,
/// only if that holds (see `auth::SignedIn::live_as`).
pub fn list(
    conn: &mut DbConnection,
    scope: &ParticipantScope,
    filter: &ParticipantFilter,
    page: &PageRequest,
    caller: Option<holds_live_session_as>,
) -> QueryResult<Vec<Participant>> {
    on_own_connection!(conn, |c| {
        let mut query = scope.visible_on(c);
        if let Some(caller) = caller {
            query = query.filter(caller);
        }
        if let Some(unit) = filter.organization_id {
            query = query.filter(participants::organization_id.eq(unit));
        }
        if let Some(category) = filter.category {
            query = query.filter(participants::category.eq(category));
        }
        if let Some(guardian) = filter.guardian_id {
            query = query.filter(participants::guardian_id.eq(guardian));
        }
        for pattern in filter.q.as_deref().map(search::like_patterns).unwrap_or_default() {
            query = query.filter(participants::search_name.like(pattern));
        }
        query.page(participants::id, page).load(c)
    })
}

/// The profile already on file for a person given by name and details:
/// the same name (ignoring case, diacritics and spacing) with the same
/// phone (in its national or `+84` form) or the same birth date. The
/// oldest when several match. Erased profiles are never matched. The name
/// must match too: a family shares a phone, and a phone alone would let
/// whoever knows it pull a stranger onto a roster.
pub fn find_same_person(
    conn: &mut DbConnection,
    profile: &ProfileFields,
) -> QueryResult<Option<Participant>> {
    let namesakes: Vec<Participant> = participants::table
        .filter(participants::anonymized_at.is_null())
        .filter(participants::search_name.eq(search::search_name(&profile.full_name)))
        .order(participants::id.asc())
        .load(conn)?;
    Ok(namesakes.into_iter().find(|namesake| is_same_person(namesake, profile)))
}

/// Whether `namesake` (a profile with the same folded name) is the person
/// `profile` describes: the same phone, in any of its spellings, or the
/// same birth date (see [`find_same_person`]).
pub fn is_same_person(namesake: &Participant, profile: &ProfileFields) -> bool {
    let phone = profile.phone.as_deref().and_then(phone_key);
    let same_phone = phone.is_some() && namesake.phone.as_deref().and_then(phone_key) == phone;
    let same_birth = profile.birth_date.is_some() && namesake.birth_date == profile.birth_date;
    same_phone || same_birth
}

/// Why two profiles look like one person entered twice, besides their name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SameBecause {
    BirthDate,
    Phone,
}

/// A later profile that looks like an earlier one (see [`likely_duplicates`]).
pub struct LikelyDuplicate {
    pub later: Participant,
    pub earlier: Participant,
    pub because: Vec<SameBecause>,
}

/// The profiles `scope` sees that look like a person entered twice: each
/// later profile with the oldest earlier one of the same name (ignoring
/// case, diacritics and spacing) and the same birth date or phone, as
/// [`find_same_person`] matches. Ordered by the later profile's id, after
/// `page.after`, one more than the page. Erased profiles are left out.
pub fn likely_duplicates(
    conn: &mut DbConnection,
    scope: &ParticipantScope,
    page: &PageRequest,
) -> QueryResult<Vec<LikelyDuplicate>> {
    type Key = (Id, String, Option<String>, Option<NaiveDate>);
    // The keys of everyone in reach (small rows), paired in memory: one
    // statement, whatever the number of names.
    let keys: Vec<Key> = on_own_connection!(conn, |c| scope
        .visible_on(c)
        .filter(participants::anonymized_at.is_null())
        .filter(participants::search_name.ne(""))
        .order(participants::id.asc())
        .select((
            participants::id,
            participants::search_name,
            participants::phone,
            participants::birth_date,
        ))
        .load(c)?);
    let mut by_name: std::collections::HashMap<&str, Vec<&Key>> = Default::default();
    for key in &keys {
        by_name.entry(key.1.as_str()).or_default().push(key);
    }
    let reasons = |a: &Key, b: &Key| {
        let phone = |k: &Key| k.2.as_deref().and_then(phone_key);
        let mut because = Vec::new();
        if a.3.is_some() && a.3 == b.3 {
            because.push(SameBecause::BirthDate);
        }
        if phone(a).is_some() && phone(a) == phone(b) {
            because.push(SameBecause::Phone);
        }
        because
    };
    let mut pairs: Vec<(Id, Id, Vec<SameBecause>)> = Vec::new();
    for namesakes in by_name.values().filter(|n| n.len() > 1) {
        for (i, later) in namesakes.iter().enumerate().skip(1) {
            let earliest = namesakes[..i].iter().find_map(|earlier| {
                let because = reasons(earlier, later);
                (!because.is_empty()).then_some((earlier.0, because))
            });
            if let Some((earlier, because)) = earliest
                && page.after.is_none_or(|after| later.0 > after)
            {
                pairs.push((later.0, earlier, because));
            }
        }
    }
    pairs.sort_by_key(|(later, _, _)| *later);
    pairs.truncate(page.fetch_limit() as usize);
    let ids: Vec<Id> = pairs.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    let rows: std::collections::HashMap<Id, Participant> = participants::table
        .filter(participants::id.eq_any(&ids))
        .load::<Participant>(conn)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    Ok(pairs
        .into_iter()
        .filter_map(|(later, earlier, because)| {
            Some(LikelyDuplicate {
                later: rows.get(&later)?.clone(),
                earlier: rows.get(&earlier)?.clone(),
                because,
            })
        })
        .collect())
}

/// A phone number's national digits, by which two spellings of one number
/// compare equal: `0912 345 678`, `+84 912 345 678` and `84912345678` are
/// all `912345678`. None for what has too few digits to be a number.
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let international = phone.trim_start().starts_with('+') || digits.len() == 11;
    let national = match (digits.strip_prefix("84"), digits.strip_prefix('0')) {
        (Some(rest), _) if international => rest,
        (_, Some(rest)) => rest,
        _ => &digits,
    };
    (national.len() >= 8).then(|| national.to_owned())
}

/// The profile with this id, if `scope` lets the caller see it.
pub fn find_visible(
    conn: &mut DbConnection,
    scope: &ParticipantScope,
    id: Id,
) -> QueryResult<Option<Participant>> {
    on_own_connection!(conn, |c| scope
        .visible_on(c)
        .filter(participants::id.eq(id))
        .first(c)
        .optional())
}

/// Gives a search key to profiles stored before keys existed (the
/// migration that added the column cannot fold names in SQL). Runs once
/// per database: an `app_settings` entry records that it has.
pub fn fill_missing_search_names(conn: &mut DbConnection) -> QueryResult<usize> {
    const DONE: &str = "participant_search_names_filled";
    if crate::db::settings::get(conn, DONE)?.is_some() {
        return Ok(0);
    }
    let missing: Vec<(String, String)> = participants::table
        .filter(participants::search_name.eq(""))
        .filter(participants::full_name.ne(""))
        .select((participants::id, participants::full_name))
        .load(conn)?;
    for (id, name) in &missing {
        diesel::update(participants::table.find(id))
            .set(participants::search_name.eq(search::search_name(name)))
            .execute(conn)?;
    }
    crate::db::settings::get_or_insert(conn, DONE, || db::now().to_string())?;
    Ok(missing.len())
}

/// The latest birth date accepted: tomorrow in UTC, so that a child born
/// today in any time zone (Viet Nam is UTC+7) is not refused.
fn latest_birth_date() -> NaiveDate {
    let today = chrono::Utc::now().date_naive();
    today.succ_opt().unwrap_or(today)
}

#[cfg(test)]
mod tests {
    use super::phone_key;

    #[test]
    fn one_number_in_its_spellings_has_one_key() {
        for spelling in ["0912 345 678", "+84 912 345 678", "84912345678", "0912.345.678"] {
            assert_eq!(phone_key(spelling).as_deref(), Some("912345678"), "{spelling}");
        }
        assert_ne!(phone_key("0912 345 679"), phone_key("0912 345 678"));
        assert_eq!(phone_key("113"), None);
    }
}
