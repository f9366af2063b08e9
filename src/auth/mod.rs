//! Who is calling: password hashing, access tokens, login sessions with
//! rotating refresh tokens, login throttling, and the `AuthUser` extractor.

pub mod api;
pub mod extractor;
pub mod logins;
pub mod password;
pub mod throttle;
pub mod token;

pub use extractor::{Admin, AuthUser, Enroller, ReportReader, SignedIn};
pub use password::Passwords;
pub use token::AccessTokens;
