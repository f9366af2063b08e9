//! Who is calling: password hashing, access tokens, login sessions with
//! rotating refresh tokens, login throttling, and the `AuthUser` extractor.

pub mod api;
pub mod extractor;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod token;

pub use extractor::AuthUser;
pub use password::Passwords;
pub use token::AccessTokens;

/// `len` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is unavailable");
    bytes
}
