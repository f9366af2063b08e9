//! The cryptographic helpers the rest builds on: a digest for storing
//! secrets (tokens, codes, throttling subjects) without keeping them in
//! clear, random bytes and tokens from the operating system, and the
//! alphabet of codes that people read and type.

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

/// A secret of 32 random bytes, base64url: a refresh or device token.
pub fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The last `chars` × 5 bits of `bits` in Crockford's base 32, most
/// significant first: digits and capitals without I, L, O or U, so that a
/// code read from paper or a screen is typed without mixing up 1 and I or
/// 0 and O.
pub fn crockford(bits: u64, chars: u32) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..chars).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect()
}
