//! Small key/value settings kept in the database.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::app_settings;

/// Reads `key`, if it is stored.
pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    app_settings::table
        .select(app_settings::value)
        .filter(app_settings::key.eq(key))
        .first(conn)
        .optional()
}

/// Reads `key`, or stores `make()` under it when it is missing, and returns
/// whichever value ended up stored (a concurrent first start keeps one).
pub fn get_or_insert(
    conn: &mut DbConnection,
    key: &str,
    make: impl FnOnce() -> String,
) -> QueryResult<String> {
    super::write_transaction(conn, |conn| {
        if let Some(value) = get(conn, key)? {
            return Ok(value);
        }
        let value = make();
        diesel::insert_into(app_settings::table)
            .values((app_settings::key.eq(key), app_settings::value.eq(&value)))
            .execute(conn)?;
        Ok(value)
    })
}

/// Stores `value` under `key`, replacing what was there. Call inside a
/// transaction that serialises its writers (`serialize_with_others`): the
/// update-then-insert is not atomic on its own.
pub fn put(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(app_settings::table.find(key))
        .set(app_settings::value.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(app_settings::table)
            .values((app_settings::key.eq(key), app_settings::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}
