use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::schema::audit_events;
use crate::db::{self, DbConnection};
use crate::id::Id;
use crate::paging::{PageRequest, Paged};
use crate::vocab::text_enum::text_enum;

text_enum! {
    /// What kind of thing was written.
    pub enum EntityType {
        User => "user",
        Organization => "organization",
        Participant => "participant",
        Programme => "programme",
        Course => "course",
        Session => "session",
        Enrolment => "enrolment",
        Device => "device",
        Webhook => "webhook",
    }
}

text_enum! {
    /// `promote`: a waitlisted place became an enrolled one; `mark`: an
    /// attendance mark on a place changed; `export`: a user (the entity)
    /// downloaded the enrolment export, with the filters in `changes`;
    /// `merge`: a profile (the entity) was merged into the one `changes`
    /// names; `pair` and `revoke`: a device (the entity) was paired with
    /// its code, or its token revoked; `delete`: a webhook (the entity) was
    /// removed.
    pub enum Action {
        Create => "create",
        Update => "update",
        Anonymize => "anonymize",
        Cancel => "cancel",
        Promote => "promote",
        Mark => "mark",
        OpenCheckIn => "open_check_in",
        Login => "login",
        Logout => "logout",
        ChangePassword => "change_password",
        Export => "export",
        Merge => "merge",
        Pair => "pair",
        Revoke => "revoke",
        Delete => "delete",
    }
}

/// Who makes a change: a signed-in user, a paired device acting for its
/// user, or lophoc itself (start-up, the demo data).
#[derive(Clone, Debug)]
pub struct Actor {
    user: Option<Id>,
    device: Option<Id>,
}

impl Actor {
    pub fn user(id: Id) -> Self {
        Self { user: Some(id), device: None }
    }

    /// `user`, through the device `device` (if any) that acts for them.
    pub fn user_on(id: Id, device: Option<Id>) -> Self {
        Self { user: Some(id), device }
    }

    pub fn system() -> Self {
        Self { user: None, device: None }
    }

    pub fn id(&self) -> Option<Id> {
        self.user
    }

    /// The device the change came from.
    pub fn device(&self) -> Option<Id> {
        self.device
    }
}

/// One changed field. Personal fields (names, contact details, birth dates,
/// passwords) are named with `redacted: true` and without their values, so
/// that the trail never holds what anonymisation erases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
    pub redacted: bool,
}

impl FieldChange {
    pub fn redacted(field: &str) -> Self {
        Self { field: field.to_owned(), from: Value::Null, to: Value::Null, redacted: true }
    }

    /// The fields that differ between two snapshots of an entity (`before`
    /// is `None` for a create), as their serialized form shows them. The
    /// id and the row's own `created_at`/`updated_at` are not changes;
    /// `personal` fields are redacted.
    pub fn diff(
        before: Option<&impl Serialize>,
        after: &impl Serialize,
        personal: &[&str],
    ) -> Vec<Self> {
        const NOT_CHANGES: [&str; 3] = ["id", "created_at", "updated_at"];
        let as_object = |snapshot: Value| match snapshot {
            Value::Object(fields) => fields,
            _ => serde_json::Map::new(),
        };
        let before = before.map(|b| as_object(serde_json::to_value(b).unwrap_or_default()));
        let after = as_object(serde_json::to_value(after).unwrap_or_default());
        let mut changes = Vec::new();
        for (field, to) in after {
            let from =
                before.as_ref().map_or(Value::Null, |b| b.get(&field).cloned().unwrap_or_default());
            if NOT_CHANGES.contains(&field.as_str()) || from == to {
                continue;
            }
            changes.push(if personal.contains(&field.as_str()) {
                Self::redacted(&field)
            } else {
                Self { field, from, to, redacted: false }
            });
        }
        changes
    }
}

#[derive(Debug, Queryable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEvent {
    pub id: Id,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<Id>,
    pub action: Action,
    pub entity_type: EntityType,
    pub entity_id: Id,
    /// A JSON list of [`FieldChange`].
    pub changes: String,
    pub device_id: Option<Id>,
}

/// Appends an event. Call inside the write transaction it describes, so
/// that the write and its record stand or fall together. An update that
/// changed nothing leaves no event (the models do not write those either).
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: Action,
    entity_type: EntityType,
    entity_id: Id,
    changes: Vec<FieldChange>,
) -> QueryResult<()> {
    if action == Action::Update && changes.is_empty() {
        return Ok(());
    }
    let event = AuditEvent {
        id: Id::new(),
        occurred_at: db::now(),
        actor_id: actor.user,
        action,
        entity_type,
        entity_id,
        changes: serde_json::to_string(&changes).unwrap_or_else(|_| "[]".into()),
        device_id: actor.device,
    };
    diesel::insert_into(audit_events::table).values(&event).execute(conn).map(drop)
}

#[derive(Debug)]
pub struct AuditFilter {
    pub actor_id: Option<Id>,
    pub entity_type: Option<EntityType>,
    pub entity_id: Option<Id>,
    pub action: Option<Action>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    page: &PageRequest,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table.into_boxed();
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(entity_type) = filter.entity_type {
        query = query.filter(audit_events::entity_type.eq(entity_type));
    }
    if let Some(entity_id) = filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(entity_id));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_events::action.eq(action));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::occurred_at.lt(to));
    }
    query.page(audit_events::id, page).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_changed_fields_and_hides_personal_values() {
        let before =
            json!({"id": "1", "capacity": 10, "venue": "Hall", "phone": "0912", "updated_at": "a"});
        let after =
            json!({"id": "1", "capacity": 12, "venue": "Hall", "phone": "0913", "updated_at": "b"});
        let changes = FieldChange::diff(Some(&before), &after, &["phone"]);
        assert_eq!(
            changes,
            [
                FieldChange {
                    field: "capacity".into(),
                    from: json!(10),
                    to: json!(12),
                    redacted: false
                },
                FieldChange::redacted("phone"),
            ]
        );
        let created = FieldChange::diff(None::<&Value>, &after, &["phone"]);
        assert_eq!(
            created.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            ["capacity", "phone", "venue"]
        );
    }
}
