//! A guardian's consent to processing a child's personal data (Decree
//! 13/2023/NĐ-CP, Art. 20; PRODUCT.md, "Importing lists"). The profile
//! holds the latest consent: which guardian gave it, how, who recorded it
//! and when, and when it was withdrawn. Each change is in the profile's
//! audit trail (the guardian's id redacted, as every link between people
//! is), so when earlier consents were given and withdrawn is kept there.
//!
//! Who may record or withdraw it is
//! [`crate::access::ParticipantScope::check_consent`]; what withdrawing
//! does to places is [`crate::operations::people::withdraw_consent`];
//! where it is required is the enrolment rules.

use super::Participant;
use super::model::{self, PERSONAL_FIELDS};
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::{self, DbConnection};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::vocab::ConsentMethod;

impl Participant {
    /// Whether a guardian's consent holds now: recorded, not withdrawn,
    /// and given by the guardian on file. A child given another guardian
    /// (or none, when theirs was anonymised) needs that guardian's consent.
    pub fn has_consent(&self) -> bool {
        self.consent_method.is_some()
            && self.consent_withdrawn_at.is_none()
            && self.consent_guardian_id.is_some()
            && self.consent_guardian_id == self.guardian_id
    }
}

/// Records the consent of the profile's guardian on file, given by
/// `method`, replacing any earlier one. A profile with no guardian on file
/// is refused (`422`, naming `guardian_id`): consent is a guardian's. Call
/// inside a write transaction, with the row locked.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    current: Participant,
    method: ConsentMethod,
) -> Result<Participant, AppError> {
    if current.anonymized_at.is_some() {
        return Err(AppError::Conflict(Conflict::Anonymized));
    }
    let Some(guardian) = current.guardian_id else {
        return Err(AppError::validation("guardian_id", FieldIssue::Required));
    };
    let now = db::now();
    let given = Participant {
        consent_guardian_id: Some(guardian),
        consent_method: Some(method),
        consent_recorded_by: actor.id(),
        consent_recorded_at: Some(now),
        consent_withdrawn_at: None,
        updated_at: now,
        ..current.clone()
    };
    save(conn, actor, &current, &given)?;
    Ok(given)
}

/// Marks the consent on file withdrawn. Withdrawing again changes nothing;
/// a profile with no consent ever recorded is `404`, an anonymised one
/// `409`. Call inside a write transaction, with the row locked; the places
/// are the caller's (see [`crate::operations::people::withdraw_consent`]).
pub fn withdraw(
    conn: &mut DbConnection,
    actor: &Actor,
    current: Participant,
) -> Result<Participant, AppError> {
    if current.anonymized_at.is_some() {
        return Err(AppError::Conflict(Conflict::Anonymized));
    }
    if current.consent_method.is_none() {
        return Err(AppError::NotFound);
    }
    if current.consent_withdrawn_at.is_some() {
        return Ok(current);
    }
    let now = db::now();
    let withdrawn =
        Participant { consent_withdrawn_at: Some(now), updated_at: now, ..current.clone() };
    save(conn, actor, &current, &withdrawn)?;
    Ok(withdrawn)
}

fn save(
    conn: &mut DbConnection,
    actor: &Actor,
    before: &Participant,
    after: &Participant,
) -> Result<(), AppError> {
    model::save(conn, after)?;
    let changes = FieldChange::diff(Some(before), after, PERSONAL_FIELDS);
    audit::record(conn, actor, Action::Update, EntityType::Participant, after.id, changes)?;
    Ok(())
}
