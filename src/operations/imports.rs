//! Importing a list of people from a spreadsheet (PRODUCT.md, "Importing
//! lists"): each row becomes a profile, or is matched to the person already
//! on file, and, when asked, takes a place in a session.
//!
//! The whole list is one transaction. Each row is checked whole before
//! anything of it is written, and a row that writes does so in a savepoint
//! of its own: a row that is refused leaves nothing behind and the others
//! go on. A dry run does everything and rolls it all back, so that it
//! answers exactly what the real import would. The people a list names are
//! found in one query; rows later in the list find the people that earlier
//! rows added, so a person twice in one file is created once.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::{ParticipantScope, Placement};
use crate::audit::Actor;
use crate::db::schema::{organizations, participants};
use crate::db::{self, DbConnection};
use crate::enrolments::model::{self as enrolments, EnrolOutcome, EnrolmentRules};
use crate::error::{AppError, FieldIssue, InvalidField};
use crate::id::Id;
use crate::lang::Lang;
use crate::on_own_connection;
use crate::participants::model::{self as profiles, ProfileFields, ProfileLinks, phone_key};
use crate::participants::search::search_name;
use crate::participants::{Participant, consent};
use crate::sessions;
use crate::sheets::read::{Entry, ReadRow, ReadTable, excel_day};
use crate::validation::Validator;
use crate::vocab::{Category, ConsentMethod, EnrolmentSource, EnrolmentStatus, Gender, Label};

/// The most rows a list may have under its header.
pub const MAX_ROWS: usize = 5_000;

/// The columns a list may have, each with the headers it is known by, in
/// Vietnamese and in English (compared without case, diacritics or extra
/// spaces; an underscore counts as a space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListColumn {
    FullName,
    Category,
    BirthDate,
    Gender,
    Phone,
    Email,
    Unit,
    GuardianPhone,
    GuardianConsent,
}

impl ListColumn {
    pub const ALL: [Self; 9] = [
        Self::FullName,
        Self::Category,
        Self::BirthDate,
        Self::Gender,
        Self::Phone,
        Self::Email,
        Self::Unit,
        Self::GuardianPhone,
        Self::GuardianConsent,
    ];

    /// The field name in the answer's `errors`, and the English header.
    pub fn field(self) -> &'static str {
        match self {
            Self::FullName => "full_name",
            Self::Category => "category",
            Self::BirthDate => "birth_date",
            Self::Gender => "gender",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Unit => "unit",
            Self::GuardianPhone => "guardian_phone",
            Self::GuardianConsent => "guardian_consent",
        }
    }

    /// The header of the template in `lang`.
    pub fn header(self, lang: Lang) -> &'static str {
        match self {
            Self::FullName => lang.pick("full_name", "Họ và tên"),
            Self::Category => lang.pick("category", "Đối tượng"),
            Self::BirthDate => lang.pick("birth_date", "Ngày sinh"),
            Self::Gender => lang.pick("gender", "Giới tính"),
            Self::Phone => lang.pick("phone", "Điện thoại"),
            Self::Email => lang.pick("email", "Email"),
            Self::Unit => lang.pick("unit", "Đơn vị"),
            Self::GuardianPhone => lang.pick("guardian_phone", "Điện thoại người giám hộ"),
            Self::GuardianConsent => lang.pick("guardian_consent", "Đồng ý của người giám hộ"),
        }
    }

    /// Other headers people write for the column, folded.
    fn other_headers(self) -> &'static [&'static str] {
        match self {
            // Not `Tên` alone: lists that split `Họ đệm` and `Tên` would be
            // read as given names only.
            Self::FullName => &["ho ten", "name", "full name"],
            Self::BirthDate => &["date of birth", "ngay thang nam sinh"],
            Self::Phone => &["so dien thoai", "sdt", "phone number"],
            Self::Email => &["e mail", "thu dien tu"],
            Self::GuardianPhone => &["sdt nguoi giam ho", "so dien thoai nguoi giam ho"],
            Self::GuardianConsent => &["consent", "dong y"],
            _ => &[],
        }
    }

    fn of_header(header: &str) -> Option<Self> {
        let folded = fold(header);
        Self::ALL.into_iter().find(|column| {
            fold(column.header(Lang::Vi)) == folded
                || fold(column.field()) == folded
                || column.other_headers().contains(&folded.as_str())
        })
    }
}

/// Text compared as people mean it: lower case, no diacritics, single
/// spaces, punctuation as spaces.
fn fold(text: &str) -> String {
    search_name(text).trim_start().to_owned()
}

/// Where a list's columns are, from its header row.
struct Columns(HashMap<ListColumn, usize>);

impl Columns {
    /// `None` when no column holds names: then the header is not one.
    fn of(header: &ReadRow) -> Option<Self> {
        let mut found = HashMap::new();
        for (index, cell) in header.cells.iter().enumerate() {
            if let Some(column) = ListColumn::of_header(&cell.text()) {
                found.entry(column).or_insert(index);
            }
        }
        found.contains_key(&ListColumn::FullName).then_some(Self(found))
    }

    /// Whether a row has nothing in the columns read: a list's numbering
    /// (STT) filled in ahead, or a sheet's side notes, are no person.
    fn is_blank(&self, row: &ReadRow) -> bool {
        self.0.values().all(|index| row.cells.get(*index).is_none_or(|c| c.text().is_empty()))
    }

    fn entry<'r>(&self, row: &'r ReadRow, column: ListColumn) -> Option<&'r Entry> {
        self.0.get(&column).and_then(|index| row.cells.get(*index))
    }

    /// The cell's text, `None` when empty or absent.
    fn text(&self, row: &ReadRow, column: ListColumn) -> Option<String> {
        self.entry(row, column).map(Entry::text).filter(|text| !text.is_empty())
    }
}

/// What an import is asked to do.
pub struct ImportRequest {
    pub table: ReadTable,
    /// The unit of rows that name none.
    pub default_unit: Option<Id>,
    /// Enrol everyone imported in this session as well.
    pub session_id: Option<Id>,
    pub dry_run: bool,
    pub rules: EnrolmentRules,
    /// The language of the rows' error messages.
    pub lang: Lang,
}

/// The answer to an import, also for a dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub summary: ImportSummary,
    /// One per row with something in it, in the file's order.
    pub rows: Vec<RowReport>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportSummary {
    pub created: usize,
    pub matched: usize,
    /// Rows that hold an enrolled place in the session (not waitlisted).
    pub enrolled: usize,
    pub refused: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// A new profile.
    Created,
    /// The person was already on file (or earlier in the list): nothing
    /// created.
    Matched,
    /// Nothing written for this row; `errors` says why.
    Refused,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowReport {
    /// The row's number in the spreadsheet (the header is usually 1).
    pub row: u32,
    pub outcome: RowOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<Id>,
    /// With `session_id`: the row's place, or why it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<RowEnrolment>,
    /// For a refused row: `validation_failed`, or `forbidden` for a unit
    /// that is not the caller's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RowError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowEnrolment {
    /// `enrolled`, `waitlisted`, or `refused`.
    #[schema(example = "enrolled")]
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolment_id: Option<Id>,
    /// Why it was refused: an enrolment refusal `code` such as
    /// `session_full` or `consent_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// The column, by its English header (`full_name`, `birth_date`, …).
    pub field: String,
    pub message: String,
}

/// Why a list could not be imported at all.
#[derive(Debug, PartialEq, Eq)]
pub enum ListRefusal {
    /// No header names a column of names.
    NoNameColumn,
}

/// Imports a list as `actor`, whose `scope` decides where people go and
/// whom they may match (admins anywhere; a coordinator only into their
/// unit, and matching only their unit's people). Call inside a write
/// transaction: the whole list runs in it (see the module documentation).
pub fn import(
    conn: &mut DbConnection,
    actor: &Actor,
    scope: &ParticipantScope,
    request: &ImportRequest,
) -> Result<Result<ImportReport, ListRefusal>, AppError> {
    let Some((header, rows)) = request.table.rows.split_first() else {
        return Ok(Err(ListRefusal::NoNameColumn));
    };
    let Some(columns) = Columns::of(header) else {
        return Ok(Err(ListRefusal::NoNameColumn));
    };
    if let Some(session) = request.session_id {
        // Taken first, before any person's row: the order enrolments lock
        // in (see `enrolments::model`).
        db::lock_row(conn, db::Table::Sessions, session)?;
        if sessions::model::find(conn, session)?.is_none() {
            return Err(AppError::validation("session_id", FieldIssue::UnknownReference));
        }
    }
    let names: Vec<String> = rows
        .iter()
        .filter_map(|row| columns.text(row, ListColumn::FullName))
        .map(|name| search_name(&name))
        .collect();
    let mut importer = Importer {
        actor,
        scope,
        request,
        columns,
        units: Units::load(conn)?,
        guardians: None,
        known: Known::load(conn, scope, names)?,
    };
    let run = |conn: &mut DbConnection| -> Result<ImportReport, Undo> {
        let mut report = ImportReport {
            dry_run: request.dry_run,
            summary: ImportSummary::default(),
            rows: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            if importer.columns.is_blank(row) {
                continue;
            }
            let done = importer.row(conn, row)?;
            report.summary.count(&done);
            report.rows.push(done);
        }
        if request.dry_run { Err(Undo::DryRun(report)) } else { Ok(report) }
    };
    match conn.transaction(run) {
        Ok(report) | Err(Undo::DryRun(report)) => Ok(Ok(report)),
        Err(Undo::Failed(err)) => Err(err),
        // A row's refusal ends at the row (`Importer::row`); were one to
        // get here, it would refuse the list, not pass unseen.
        Err(Undo::Row(problems)) => Err(AppError::Validation(problems)),
    }
}

impl ImportSummary {
    fn count(&mut self, row: &RowReport) {
        match row.outcome {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Matched => self.matched += 1,
            RowOutcome::Refused => self.refused += 1,
        }
        if row.enrolment.as_ref().is_some_and(|e| e.status == EnrolmentStatus::Enrolled.as_str()) {
            self.enrolled += 1;
        }
    }
}

/// Why a savepoint is rolled back: a refused row, the end of a dry run, or
/// a failure that ends the import.
enum Undo {
    Row(Vec<InvalidField>),
    DryRun(ImportReport),
    Failed(AppError),
}

impl From<diesel::result::Error> for Undo {
    fn from(err: diesel::result::Error) -> Self {
        Self::Failed(err.into())
    }
}

impl From<AppError> for Undo {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Validation(problems) => Self::Row(problems),
            other => Self::Failed(other),
        }
    }
}

/// The units a row may name, by code and by exact name.
struct Units {
    by_code: HashMap<String, Id>,
    by_name: HashMap<String, Id>,
}

impl Units {
    fn load(conn: &mut DbConnection) -> QueryResult<Self> {
        let all: Vec<(Id, String, Option<String>)> = organizations::table
            .select((organizations::id, organizations::name, organizations::code))
            .load(conn)?;
        let mut units = Self { by_code: HashMap::new(), by_name: HashMap::new() };
        for (id, name, code) in all {
            if let Some(code) = code {
                units.by_code.insert(code.trim().to_lowercase(), id);
            }
            units.by_name.entry(name.trim().to_lowercase()).or_insert(id);
        }
        Ok(units)
    }

    fn find(&self, written: &str) -> Option<Id> {
        let key = written.trim().to_lowercase();
        self.by_code.get(&key).or_else(|| self.by_name.get(&key)).copied()
    }
}

struct Importer<'a> {
    actor: &'a Actor,
    scope: &'a ParticipantScope,
    request: &'a ImportRequest,
    columns: Columns,
    units: Units,
    /// Whom a guardian's phone names (see [`by_phone`]).
    guardians: Option<HashMap<String, Id>>,
    known: Known,
}

/// The people a list's rows may name: the profiles the caller sees that
/// bear one of the list's names (folded), and those the list adds, by
/// folded name, oldest first.
struct Known {
    by_name: HashMap<String, Vec<Participant>>,
}

impl Known {
    /// One query for the whole list (in chunks within the backends' limit
    /// on parameters), not one a row.
    fn load(
        conn: &mut DbConnection,
        scope: &ParticipantScope,
        names: Vec<String>,
    ) -> QueryResult<Self> {
        let mut known = Self { by_name: HashMap::new() };
        for chunk in names.chunks(1_000) {
            let found: Vec<Participant> = on_own_connection!(conn, |c| scope
                .visible_on(c)
                .filter(participants::anonymized_at.is_null())
                .filter(participants::search_name.eq_any(chunk))
                .order(participants::id.asc())
                .load(c)?);
            for profile in found {
                known.remember(&profile);
            }
        }
        Ok(known)
    }

    /// The person a row describes, if known: the same name with the same
    /// birth date or phone ([`profiles::is_same_person`]); for a row with
    /// neither, the same name in the same unit with neither on file (lists
    /// of names only, imported again).
    fn same_person(&self, fields: &ProfileFields) -> Option<&Participant> {
        let namesakes = self.by_name.get(&search_name(&fields.full_name))?;
        if fields.birth_date.is_none() && fields.phone.is_none() {
            return namesakes.iter().find(|p| {
                p.birth_date.is_none()
                    && p.phone.is_none()
                    && p.organization_id == fields.organization_id
            });
        }
        namesakes.iter().find(|namesake| profiles::is_same_person(namesake, fields))
    }

    fn remember(&mut self, profile: &Participant) {
        let namesakes = self.by_name.entry(profile.search_name.clone()).or_default();
        match namesakes.iter_mut().find(|p| p.id == profile.id) {
            Some(stored) => *stored = profile.clone(),
            None => namesakes.push(profile.clone()),
        }
    }
}

/// What a checked row comes to.
struct Planned {
    person: Person,
    /// A consent to record, if the profile holds none.
    consent: Option<ConsentMethod>,
}

enum Person {
    /// On file, or made by an earlier row: nothing created.
    Known(Participant),
    /// A new profile, not yet stored.
    New(Participant),
}

/// A row read and checked, not yet written.
struct CheckedRow {
    fields: ProfileFields,
    guardian_id: Option<Id>,
    consent: Option<ConsentMethod>,
}

impl Importer<'_> {
    /// One row: checked whole first, then written in a savepoint of its
    /// own (a row that only matches someone writes nothing and needs none).
    fn row(&mut self, conn: &mut DbConnection, row: &ReadRow) -> Result<RowReport, Undo> {
        let planned = match self.plan(conn, row) {
            Ok(planned) => planned,
            Err(Undo::Row(problems)) => {
                return Ok(self.refused(row, "validation_failed", problems));
            }
            Err(Undo::Failed(AppError::Forbidden)) => {
                let problem =
                    InvalidField::new(ListColumn::Unit.field(), FieldIssue::NotAllowedForRole);
                return Ok(self.refused(row, "forbidden", vec![problem]));
            }
            Err(other) => return Err(other),
        };
        let writes = match &planned.person {
            Person::Known(found) => {
                self.request.session_id.is_some()
                    || (planned.consent.is_some() && !found.has_consent())
            }
            Person::New(_) => true,
        };
        let report = if writes {
            conn.transaction(|conn| self.write_row(conn, row, planned))
        } else {
            self.write_row(conn, row, planned)
        };
        match report {
            Ok(report) => Ok(report),
            Err(Undo::Row(problems)) => Ok(self.refused(row, "validation_failed", problems)),
            Err(other) => Err(other),
        }
    }

    /// What a checked row comes to: the person on file it names, or the
    /// new profile it makes, and whether it records a consent.
    fn plan(&mut self, conn: &mut DbConnection, row: &ReadRow) -> Result<Planned, Undo> {
        let checked = self.check(conn, row)?;
        let placement = self.scope.place_new(Placement {
            organization_id: checked.fields.organization_id,
            guardian_id: checked.guardian_id,
        })?;
        let person = match self.known.same_person(&checked.fields) {
            Some(found) => Person::Known(found.clone()),
            None => {
                let links = ProfileLinks {
                    guardian_id: placement.guardian_id,
                    created_by: self.actor.id(),
                    ..ProfileLinks::default()
                };
                let fields =
                    ProfileFields { organization_id: placement.organization_id, ..checked.fields };
                Person::New(fields.into_new(links))
            }
        };
        // Consent is a guardian's: a row that gives it names one.
        let guardian = match &person {
            Person::Known(found) => found.guardian_id,
            Person::New(new) => new.guardian_id,
        };
        let named = checked.guardian_id;
        if checked.consent.is_some()
            && (guardian.is_none() || named.is_some_and(|g| Some(g) != guardian))
        {
            // None on file, or the row names another guardian than the one
            // on file (whose consent it would record).
            let issue =
                if guardian.is_none() { FieldIssue::Required } else { FieldIssue::Incorrect };
            let problem = InvalidField::new(ListColumn::GuardianPhone.field(), issue);
            return Err(Undo::Row(vec![problem]));
        }
        Ok(Planned { person, consent: checked.consent })
    }

    fn write_row(
        &mut self,
        conn: &mut DbConnection,
        row: &ReadRow,
        planned: Planned,
    ) -> Result<RowReport, Undo> {
        let (profile, outcome) = match planned.person {
            Person::Known(found) => (found, RowOutcome::Matched),
            Person::New(new) => (profiles::create(conn, self.actor, new)?, RowOutcome::Created),
        };
        let profile = match planned.consent {
            Some(method) if !profile.has_consent() => {
                consent::record(conn, self.actor, profile, method)?
            }
            _ => profile,
        };
        // Later rows find this person, as they find those on file, also
        // as a guardian by their phone.
        self.known.remember(&profile);
        if let (Some(by_phone), Some(key)) =
            (self.guardians.as_mut(), profile.phone.as_deref().and_then(phone_key))
        {
            by_phone.entry(key).or_insert(profile.id);
        }
        let enrolment = match self.request.session_id {
            Some(session) => Some(self.enrol(conn, session, profile.id)?),
            None => None,
        };
        Ok(RowReport {
            row: row.number,
            outcome,
            participant_id: Some(profile.id),
            enrolment,
            reason: None,
            errors: Vec::new(),
        })
    }

    fn refused(&self, row: &ReadRow, reason: &str, problems: Vec<InvalidField>) -> RowReport {
        let lang = self.request.lang;
        RowReport {
            row: row.number,
            outcome: RowOutcome::Refused,
            participant_id: None,
            enrolment: None,
            reason: Some(reason.to_owned()),
            errors: problems
                .into_iter()
                .map(|p| RowError { message: p.issue.message(lang), field: p.field })
                .collect(),
        }
    }

    /// The row's values, or every problem with them (`Undo::Row`).
    fn check(&mut self, conn: &mut DbConnection, row: &ReadRow) -> Result<CheckedRow, Undo> {
        let Self { columns, units, guardians, scope, request, .. } = self;
        let mut v = Validator::new();
        let full_name = match columns.text(row, ListColumn::FullName) {
            Some(name) => v.name(ListColumn::FullName.field(), &name),
            None => {
                v.add(ListColumn::FullName.field(), FieldIssue::Required);
                String::new()
            }
        };
        let category = match columns.text(row, ListColumn::Category) {
            Some(text) => one_of::<Category>(&mut v, ListColumn::Category, &text),
            None => {
                v.add(ListColumn::Category.field(), FieldIssue::Required);
                None
            }
        };
        let gender = columns
            .text(row, ListColumn::Gender)
            .and_then(|text| one_of::<Gender>(&mut v, ListColumn::Gender, &text));
        let birth_date = columns.entry(row, ListColumn::BirthDate).and_then(|entry| {
            let day = day_of(entry, request.table.days_from_1904);
            if day.is_none() && !entry.text().is_empty() {
                v.add(ListColumn::BirthDate.field(), FieldIssue::NotADay);
            }
            day
        });
        let phone = columns.entry(row, ListColumn::Phone).and_then(phone_text);
        let phone = v.phone(ListColumn::Phone.field(), phone.as_deref());
        let email = columns
            .text(row, ListColumn::Email)
            .map(|email| v.email(ListColumn::Email.field(), &email));
        let organization_id = match columns.text(row, ListColumn::Unit) {
            Some(written) => units.find(&written).or_else(|| {
                v.add(ListColumn::Unit.field(), FieldIssue::UnknownReference);
                None
            }),
            None => request.default_unit,
        };
        let guardian_id = match columns.entry(row, ListColumn::GuardianPhone).and_then(phone_text) {
            Some(phone) => {
                let known = match phone_key(&phone) {
                    Some(key) => by_phone(conn, scope, guardians)?.get(&key).copied(),
                    None => None,
                };
                if known.is_none() {
                    v.add(ListColumn::GuardianPhone.field(), FieldIssue::UnknownReference);
                }
                known
            }
            None => None,
        };
        let consent = columns
            .text(row, ListColumn::GuardianConsent)
            .and_then(|text| consent_of(&mut v, &text));
        let fields = ProfileFields {
            full_name,
            category: category.unwrap_or(Category::Other),
            organization_id,
            gender,
            birth_date,
            phone,
            email,
        };
        if category.is_some() {
            fields.check(&mut v);
        }
        if v.has_problems() {
            // One problem a column: a day that cannot be read is not also
            // a missing one.
            let mut problems = v.into_problems();
            let mut seen = Vec::new();
            problems.retain(|p| {
                let first = !seen.contains(&p.field);
                seen.push(p.field.clone());
                first
            });
            return Err(Undo::Row(problems));
        }
        Ok(CheckedRow { fields, guardian_id, consent })
    }

    fn enrol(
        &self,
        conn: &mut DbConnection,
        session: Id,
        person: Id,
    ) -> Result<RowEnrolment, Undo> {
        let outcome = enrolments::enrol(
            conn,
            self.actor,
            self.scope,
            session,
            person,
            EnrolmentSource::Import,
            self.request.rules,
        );
        let place = match outcome {
            Ok(EnrolOutcome::Created(place) | EnrolOutcome::AlreadyHeld(place)) => place,
            Err(AppError::Refused(refusal)) => {
                return Ok(RowEnrolment {
                    status: "refused".into(),
                    enrolment_id: None,
                    reason: Some(refusal.code().into()),
                });
            }
            Err(other) => return Err(Undo::Failed(other)),
        };
        Ok(RowEnrolment {
            status: place.status.as_str().into(),
            enrolment_id: Some(place.id),
            reason: None,
        })
    }
}

/// A day as the list gives it: a workbook's day, `YYYY-MM-DD`, or
/// `DD/MM/YYYY` (also with `-` or `.`), as Vietnamese lists write it.
fn day_of(entry: &Entry, days_from_1904: bool) -> Option<NaiveDate> {
    match entry {
        Entry::Number(serial) => excel_day(*serial, days_from_1904),
        Entry::Text(text) => {
            let text = text.trim();
            ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        }
    }
}

/// The profiles `scope` sees, by their phone's national digits: whom a
/// guardian's phone names. Read once, at the first row that needs it; the
/// oldest profile with a number keeps it.
fn by_phone<'c>(
    conn: &mut DbConnection,
    scope: &ParticipantScope,
    cache: &'c mut Option<HashMap<String, Id>>,
) -> QueryResult<&'c HashMap<String, Id>> {
    if cache.is_none() {
        let phones: Vec<(Id, Option<String>)> = on_own_connection!(conn, |c| scope
            .visible_on(c)
            .filter(participants::phone.is_not_null())
            .filter(participants::anonymized_at.is_null())
            .order(participants::id.asc())
            .select((participants::id, participants::phone))
            .load(c)?);
        let mut found = HashMap::new();
        for (id, phone) in phones {
            if let Some(key) = phone.as_deref().and_then(phone_key) {
                found.entry(key).or_insert(id);
            }
        }
        *cache = Some(found);
    }
    Ok(cache.get_or_insert_default())
}

/// A phone cell as text. A workbook that took `0912 345 678` for a number
/// kept `912345678`: the national 0 goes back in front.
fn phone_text(entry: &Entry) -> Option<String> {
    let text = entry.text();
    match entry {
        _ if text.is_empty() => None,
        Entry::Number(_) if text.len() == 9 => Some(format!("0{text}")),
        _ => Some(text),
    }
}

/// A value of a closed set, by its code or its label in either language.
fn one_of<T>(v: &mut Validator, column: ListColumn, text: &str) -> Option<T>
where
    T: Label + TextValues,
{
    let folded = fold(text);
    let found = T::values().iter().copied().find(|value| {
        [value.code(), value.label(Lang::Vi), value.label(Lang::En)]
            .iter()
            .any(|word| fold(word) == folded)
    });
    if found.is_none() {
        v.add(column.field(), FieldIssue::UnknownValue);
    }
    found
}

/// The closed sets a list's cells name.
pub trait TextValues: Sized + Copy + 'static {
    fn values() -> &'static [Self];
    fn code(self) -> &'static str;
}

impl TextValues for Category {
    fn values() -> &'static [Self] {
        Self::VARIANTS
    }
    fn code(self) -> &'static str {
        self.as_str()
    }
}

impl TextValues for Gender {
    fn values() -> &'static [Self] {
        Self::VARIANTS
    }
    fn code(self) -> &'static str {
        self.as_str()
    }
}

/// The consent column: how the guardian consented, `None` for a blank or
/// a no. `có`/`yes`/`x` is the school's signed form.
fn consent_of(v: &mut Validator, text: &str) -> Option<ConsentMethod> {
    match fold(text).as_str() {
        "khong" | "no" | "0" => None,
        "paper" | "giay" | "phieu giay" | "co" | "yes" | "x" | "1" => Some(ConsentMethod::Paper),
        "sms" | "tin nhan" => Some(ConsentMethod::Sms),
        _ => {
            v.add(ListColumn::GuardianConsent.field(), FieldIssue::UnknownValue);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_known_in_either_language_whatever_their_spelling() {
        assert_eq!(ListColumn::of_header("Họ và tên"), Some(ListColumn::FullName));
        assert_eq!(ListColumn::of_header("  HỌ VÀ  TÊN "), Some(ListColumn::FullName));
        assert_eq!(ListColumn::of_header("full_name"), Some(ListColumn::FullName));
        assert_eq!(ListColumn::of_header("Ngày sinh"), Some(ListColumn::BirthDate));
        assert_eq!(
            ListColumn::of_header("Điện thoại người giám hộ"),
            Some(ListColumn::GuardianPhone)
        );
        assert_eq!(ListColumn::of_header("Điện thoại"), Some(ListColumn::Phone));
        assert_eq!(ListColumn::of_header("STT"), None);
    }

    #[test]
    fn closed_sets_are_read_by_code_or_label() {
        let mut v = Validator::new();
        assert_eq!(one_of(&mut v, ListColumn::Category, "Học sinh"), Some(Category::Student));
        assert_eq!(one_of(&mut v, ListColumn::Category, "hoc sinh"), Some(Category::Student));
        assert_eq!(one_of(&mut v, ListColumn::Category, "official"), Some(Category::Official));
        assert_eq!(one_of(&mut v, ListColumn::Gender, "Nữ"), Some(Gender::Female));
        assert!(!v.has_problems());
        assert_eq!(one_of::<Gender>(&mut v, ListColumn::Gender, "nu sinh"), None);
        assert!(v.has_problems());
    }

    #[test]
    fn a_phone_that_a_workbook_took_for_a_number_gets_its_zero_back() {
        assert_eq!(phone_text(&Entry::Number(912_345_678.0)).as_deref(), Some("0912345678"));
        assert_eq!(
            phone_text(&Entry::Text("0912 345 678".into())).as_deref(),
            Some("0912 345 678")
        );
        assert_eq!(phone_text(&Entry::Text("  ".into())), None);
    }
}
