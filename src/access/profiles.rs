//! Who may see and change which participant profiles (PRODUCT.md, "Privacy
//! and access"). Reads and writes of profiles on a caller's behalf go
//! through here:
//!
//! - admins: every profile;
//! - coordinators: the profiles of their own unit;
//! - trainers: the people on the rosters of sessions they teach, without
//!   personal fields, and no writes;
//! - participants: their own profile and their dependants'.
//!
//! A profile outside the caller's scope answers 404, as if it did not exist.

use chrono::NaiveDate;
use diesel::backend::Backend;
use diesel::prelude::*;

use crate::db::schema::{enrolments, participants, session_trainers};
use crate::db::{self, DbConnection, Table};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::id::Id;
use crate::on_own_connection;
use crate::users::User;
use crate::vocab::{Category, ConsentMethod, EnrolmentStatus, Role};

/// A participant's own dependants are children: under this age.
pub const DEPENDANT_UNDER: u32 = 18;

#[derive(Clone, Debug)]
pub enum ParticipantScope {
    All,
    Unit(Id),
    Rosters { trainer_id: Id },
    SelfAndDependants { user_id: Id, profile_id: Option<Id> },
}

/// The profiles a [`ParticipantScope`] lets its caller see, as a query
/// on one backend. Implemented for each backend's
/// own query type by `narrows_profiles_on!`, so that the rule is written
/// once; callers go through [`ParticipantScope::visible_on`].
pub trait NarrowsProfiles<DB: Backend> {
    fn visible<'a>(&self) -> participants::BoxedQuery<'a, DB>;
}

macro_rules! narrows_profiles_on {
    ($($backend:ty),+) => {$(
        impl NarrowsProfiles<$backend> for ParticipantScope {
            fn visible<'a>(&self) -> participants::BoxedQuery<'a, $backend> {
                let query = participants::table.into_boxed();
                match self {
                    Self::All => query,
                    Self::Unit(unit) => query.filter(participants::organization_id.eq(*unit)),
                    Self::Rosters { trainer_id } => {
                        let on_rosters = enrolments::table
                            .inner_join(
                                session_trainers::table
                                    .on(session_trainers::session_id.eq(enrolments::session_id)),
                            )
                            .filter(session_trainers::user_id.eq(*trainer_id))
                            .filter(enrolments::status.ne(EnrolmentStatus::Cancelled))
                            .select(enrolments::participant_id);
                        query.filter(participants::id.eq_any(on_rosters))
                    }
                    Self::SelfAndDependants { user_id, profile_id } => {
                        let own = participants::user_id.eq(*user_id);
                        match profile_id {
                            Some(profile) => {
                                query.filter(own.or(participants::guardian_id.eq(*profile)))
                            }
                            None => query.filter(own),
                        }
                    }
                }
            }
        }
    )+};
}

narrows_profiles_on!(diesel::pg::Pg, diesel::sqlite::Sqlite);

/// Where a caller may put a profile they create or change.
#[derive(Debug, PartialEq, Eq)]
pub struct Placement {
    pub organization_id: Option<Id>,
    pub guardian_id: Option<Id>,
}

impl ParticipantScope {
    pub fn of(conn: &mut DbConnection, caller: &User) -> Result<Self, AppError> {
        match Self::of_role(caller.id, caller.role, caller.organization_id)? {
            Some(scope) => Ok(scope),
            None => Ok(Self::own(conn, caller)?),
        }
    }

    /// The scope of user `user_id` with `role` and `unit`, where it needs
    /// nothing more from the database: `None` for a participant, whose
    /// scope starts from their profile ([`Self::own`]).
    pub fn of_role(user_id: Id, role: Role, unit: Option<Id>) -> Result<Option<Self>, AppError> {
        Ok(match role {
            Role::Admin => Some(Self::All),
            // Coordinators always have a unit (a CHECK constraint); one
            // without would be refused everything.
            Role::Coordinator => Some(Self::Unit(unit.ok_or(AppError::Forbidden)?)),
            Role::Trainer => Some(Self::Rosters { trainer_id: user_id }),
            Role::Participant => None,
        })
    }

    /// The caller's own profile and their dependants, whatever their role:
    /// what `/me` shows, and whom they may check in.
    pub fn own(conn: &mut DbConnection, caller: &User) -> QueryResult<Self> {
        let profile_id = linked_profile(conn, caller.id)?;
        Ok(Self::SelfAndDependants { user_id: caller.id, profile_id })
    }

    /// Every profile the caller may see, as a query for the backend of
    /// `conn` itself (see [`crate::on_own_connection!`]): through the
    /// `DbConnection` wrapper diesel writes a boxed query out as SQL once
    /// more on each of its passes over it, which in a list of profiles
    /// costs more than reading the rows.
    pub fn visible_on<'a, C>(&self, _conn: &C) -> participants::BoxedQuery<'a, C::Backend>
    where
        C: Connection,
        Self: NarrowsProfiles<C::Backend>,
    {
        self.visible()
    }

    /// Whether the caller sees phone, email, birth date, gender and links;
    /// trainers see only name, category and unit.
    pub fn shows_personal_fields(&self) -> bool {
        !matches!(self, Self::Rosters { .. })
    }

    /// Where a new profile goes, or 403. Coordinators create in their own
    /// unit (the default); a participant's new profile is their dependant
    /// (a child), with them as guardian; trainers create none here.
    pub fn place_new(&self, requested: Placement) -> Result<Placement, AppError> {
        match self {
            Self::All => Ok(requested),
            Self::Unit(unit) => match requested.organization_id {
                Some(other) if other != *unit => Err(AppError::Forbidden),
                _ => Ok(Placement { organization_id: Some(*unit), ..requested }),
            },
            Self::SelfAndDependants { profile_id: Some(profile), .. } => {
                match requested.guardian_id {
                    Some(other) if other != *profile => Err(AppError::Forbidden),
                    _ => Ok(Placement { guardian_id: Some(*profile), ..requested }),
                }
            }
            Self::SelfAndDependants { profile_id: None, .. } | Self::Rosters { .. } => {
                Err(AppError::Forbidden)
            }
        }
    }

    /// Checks a change to a profile in scope, or 403: coordinators cannot
    /// move a profile out of their unit; participants cannot hand a
    /// dependant to another guardian; trainers change nothing.
    pub fn check_change(
        &self,
        organization_id: Option<&Option<Id>>,
        guardian_id: Option<&Option<Id>>,
    ) -> Result<(), AppError> {
        match self {
            Self::All => Ok(()),
            Self::Unit(unit) => match organization_id {
                Some(new_unit) if *new_unit != Some(*unit) => Err(AppError::Forbidden),
                _ => Ok(()),
            },
            Self::SelfAndDependants { profile_id, .. } => match guardian_id {
                Some(Some(guardian)) if Some(*guardian) == *profile_id => Ok(()),
                Some(_) => Err(AppError::Forbidden),
                None => Ok(()),
            },
            Self::Rosters { .. } => Err(AppError::Forbidden),
        }
    }

    /// A guardian named by a coordinator must be a profile they can see:
    /// naming one elsewhere would open a profile of their unit to that
    /// person's account, and the answer would tell whether an id they
    /// cannot see exists. Unseen guardians are answered as unknown (422).
    /// Participants name only themselves (see [`Self::place_new`]).
    pub fn check_guardian(&self, conn: &mut DbConnection, guardian_id: Id) -> Result<(), AppError> {
        if !matches!(self, Self::Unit(_)) {
            return Ok(());
        }
        let seen = on_own_connection!(conn, |c| self
            .visible_on(c)
            .filter(participants::id.eq(guardian_id))
            .select(participants::id)
            .first::<Id>(c)
            .optional()?);
        match seen {
            Some(_) => Ok(()),
            None => Err(AppError::validation("guardian_id", FieldIssue::UnknownReference)),
        }
    }

    /// A participant's own new dependant is a child, with a birth date and
    /// under [`DEPENDANT_UNDER`] on `today` (`422` naming `birth_date`),
    /// and they may have at most `limit` (`409 too_many_dependants`): a
    /// participant cannot fill a session with made-up people. Others'
    /// creations pass. Takes the guardian's row lock, so that adds made at
    /// the same moment count each other.
    pub fn check_new_dependant(
        &self,
        conn: &mut DbConnection,
        birth_date: Option<NaiveDate>,
        today: NaiveDate,
        limit: i64,
    ) -> Result<(), AppError> {
        let Self::SelfAndDependants { profile_id: Some(guardian), .. } = self else {
            return Ok(());
        };
        check_child(birth_date, today)?;
        db::lock_row(conn, Table::Participants, *guardian)?;
        let dependants: i64 = participants::table
            .filter(participants::guardian_id.eq(guardian))
            .filter(participants::anonymized_at.is_null())
            .count()
            .get_result(conn)?;
        if dependants >= limit {
            return Err(AppError::Conflict(Conflict::TooManyDependants));
        }
        Ok(())
    }

    /// A participant's change to the fields that decide which sessions a
    /// person may take and whether a guardian must be on file (unit,
    /// category, birth date): refused (`403`) once the profile has a place,
    /// when only a coordinator of the unit or an admin changes them, or a
    /// participant could move into another unit's sessions or relabel a
    /// child out of the guardian rule. A dependant's birth date stays a
    /// child's (`422`). Others' changes pass.
    pub fn check_eligibility_change(
        &self,
        conn: &mut DbConnection,
        profile: &EligibilityFields,
        changes: &EligibilityFields,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let Self::SelfAndDependants { profile_id, .. } = self else {
            return Ok(());
        };
        if profile == changes {
            return Ok(());
        }
        let has_places = enrolments::table
            .filter(enrolments::participant_id.eq(profile.id))
            .select(enrolments::id)
            .first::<Id>(conn)
            .optional()?
            .is_some();
        if has_places {
            return Err(AppError::Forbidden);
        }
        let is_dependant = profile.guardian_id.is_some() && profile.guardian_id == *profile_id;
        if is_dependant && changes.birth_date != profile.birth_date {
            check_child(changes.birth_date, today)?;
        }
        Ok(())
    }

    /// Whether the caller keeps a unit's lists of people (admins anywhere,
    /// coordinators in their unit): imports, likely duplicates, merges.
    pub fn manages_lists(&self) -> bool {
        matches!(self, Self::All | Self::Unit(_))
    }

    /// Only admins link profiles to accounts and anonymize them.
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::All)
    }

    /// Who records or withdraws a guardian's consent for a profile in this
    /// scope (PRODUCT.md, "Importing lists"), and how it may have been
    /// given: staff (an admin, a coordinator of the profile's unit) record
    /// a paper form or a text message; the guardian on file gives it in
    /// the app, from an account whose own scope this is. Anyone else, the
    /// child included, `403`.
    pub fn check_consent(
        &self,
        guardian_id: Option<Id>,
        method: Option<ConsentMethod>,
    ) -> Result<(), AppError> {
        let allowed: &[ConsentMethod] = match self {
            Self::All | Self::Unit(_) => &[ConsentMethod::Paper, ConsentMethod::Sms],
            Self::SelfAndDependants { profile_id: Some(own), .. } if guardian_id == Some(*own) => {
                &[ConsentMethod::InApp]
            }
            _ => return Err(AppError::Forbidden),
        };
        match method {
            Some(method) if !allowed.contains(&method) => {
                Err(AppError::validation("method", FieldIssue::NotAllowedForRole))
            }
            _ => Ok(()),
        }
    }
}

/// A profile's unit, category and birth date, as stored or as a change
/// would leave them (with its id and guardian, which do not change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EligibilityFields {
    pub id: Id,
    pub guardian_id: Option<Id>,
    pub organization_id: Option<Id>,
    pub category: Category,
    pub birth_date: Option<NaiveDate>,
}

/// A participant's own dependant is a child: a birth date under
/// [`DEPENDANT_UNDER`] years before `today` (`422` naming `birth_date`).
fn check_child(birth_date: Option<NaiveDate>, today: NaiveDate) -> Result<(), AppError> {
    let Some(born) = birth_date else {
        return Err(AppError::validation("birth_date", FieldIssue::Required));
    };
    if today.years_since(born).is_some_and(|age| age >= DEPENDANT_UNDER) {
        return Err(AppError::validation("birth_date", FieldIssue::NotAChild));
    }
    Ok(())
}

/// The id of the participant profile linked to an account: whose profile
/// a caller acts as.
pub fn linked_profile(conn: &mut DbConnection, user_id: Id) -> QueryResult<Option<Id>> {
    participants::table
        .filter(participants::user_id.eq(user_id))
        .select(participants::id)
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(unit: Option<Id>, guardian: Option<Id>) -> Placement {
        Placement { organization_id: unit, guardian_id: guardian }
    }

    #[test]
    fn coordinators_create_in_their_own_unit() {
        let (school, hamlet) = (Id::new(), Id::new());
        let scope = ParticipantScope::Unit(school);
        assert_eq!(scope.place_new(placement(None, None)).unwrap(), placement(Some(school), None));
        assert_eq!(scope.place_new(placement(Some(hamlet), None)), Err(AppError::Forbidden));
        assert!(scope.check_change(Some(&Some(hamlet)), None).is_err());
        assert!(scope.check_change(Some(&None), None).is_err());
        assert!(scope.check_change(Some(&Some(school)), None).is_ok());
    }

    #[test]
    fn participants_create_their_own_dependants() {
        let (school, parent, other) = (Id::new(), Id::new(), Id::new());
        let scope =
            ParticipantScope::SelfAndDependants { user_id: Id::new(), profile_id: Some(parent) };
        let child = scope.place_new(placement(Some(school), None)).unwrap();
        assert_eq!(child, placement(Some(school), Some(parent)));
        assert_eq!(scope.place_new(placement(None, Some(other))), Err(AppError::Forbidden));
        assert!(scope.check_change(None, Some(&None)).is_err());
        let trainer = ParticipantScope::Rosters { trainer_id: Id::new() };
        assert!(trainer.place_new(placement(None, None)).is_err());
        assert!(!trainer.shows_personal_fields());
    }
}
