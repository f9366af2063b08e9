//! The two cryptographic helpers the rest builds on: a digest for storing
//! secrets (tokens, codes, throttling subjects) without keeping them in
//! clear, and random bytes from the operating system.

/// A SHA-256 digest, base64url: how tokens and throttling subjects are
/// stored, so that the database never holds them in clear.
pub fn sha256_base64(data: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(data))
}

/// `N` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is unavailable");
    bytes
}
