//! Small key/value settings kept in the database.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::app_settings;

/// Reads `key`, or stores `make()` under it when it is missing, and returns
/// whichever value ended up stored (a concurrent first start keeps one).
pub fn get_or_insert(
    conn: &mut DbConnection,
    key: &str,
    make: impl FnOnce() -> String,
) -> QueryResult<String> {
    super::write_transaction(conn, |conn| {
        let existing = app_settings::table
            .select(app_settings::value)
            .filter(app_settings::key.eq(key))
            .first::<String>(conn)
            .optional()?;
        if let Some(value) = existing {
            return Ok(value);
        }
        let value = make();
        diesel::insert_into(app_settings::table)
            .values((app_settings::key.eq(key), app_settings::value.eq(&value)))
            .execute(conn)?;
        Ok(value)
    })
}
