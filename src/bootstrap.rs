//! First start: with no active admin, create one, from
//! `LOPHOC_ADMIN_EMAIL`/`LOPHOC_ADMIN_PASSWORD` or with a generated password
//! printed once.

use crate::audit::Actor;
use crate::auth::password::{self, generate_password};
use crate::config::Config;
use crate::db::{self, DbConnection};
use crate::error::{AppError, Conflict};
use crate::operations::accounts::{self, NewAccount};
use crate::users::User;
use crate::users::model as users;
use crate::validation::{Validator, normalize_email};
use crate::vocab::Role;

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@lophoc.local";

/// What [`ensure_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    AlreadyThere,
    Created {
        email: String,
    },
    /// Created with a generated password, which the caller shows once.
    Generated {
        email: String,
        password: String,
    },
}

pub fn ensure_admin(conn: &mut DbConnection, config: &Config) -> Result<AdminBootstrap, String> {
    if users::any_active_admin(conn).map_err(|e| e.to_string())? {
        return Ok(AdminBootstrap::AlreadyThere);
    }
    let (email, password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => {
            (normalize_email(email), password.expose().to_owned(), false)
        }
        _ => (DEFAULT_ADMIN_EMAIL.to_owned(), generate_password(), true),
    };
    let mut v = Validator::new();
    v.email("LOPHOC_ADMIN_EMAIL", &email);
    password::check_new_password(&mut v, "LOPHOC_ADMIN_PASSWORD", &password);
    if v.has_problems() {
        return Err("LOPHOC_ADMIN_EMAIL must be an email address and LOPHOC_ADMIN_PASSWORD 8 to 128 characters".into());
    }
    let password_hash = password::hash_now(&password)?;
    let account = NewAccount {
        user: User::new(email.clone(), password_hash, "Administrator".into(), Role::Admin),
        profile: None,
        created_by: Actor::system(),
    };
    match db::write_transaction(conn, |conn| accounts::create_account(conn, account)) {
        Ok(_) if generated => Ok(AdminBootstrap::Generated { email, password }),
        Ok(_) => Ok(AdminBootstrap::Created { email }),
        Err(AppError::Conflict(Conflict::EmailTaken)) => {
            // Another server starting at the same moment may have created
            // it; anything else is an account we must not take over.
            if users::any_active_admin(conn).map_err(|e| e.to_string())? {
                Ok(AdminBootstrap::AlreadyThere)
            } else {
                Err(format!("{email} already belongs to an account that is not an active admin"))
            }
        }
        Err(err) => Err(format!("creating the first admin failed: {err}")),
    }
}
