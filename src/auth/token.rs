//! Access tokens: HS256 JWTs, short-lived, naming the user and the login
//! session they belong to. The algorithm is pinned and `exp` is required, so
//! `alg: none`, other algorithms and tokens without expiry are refused.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AuthFailure};
use crate::id::Id;
use crate::vocab::Role;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Id,
    /// The login session's id: logging out or revoking it ends the token.
    pub sid: Id,
    pub iat: i64,
    pub exp: i64,
    /// The account's role and unit when the token was issued. A read may
    /// choose its statement by them if that statement also checks that
    /// they still hold (`SignedIn::live_as`). Absent from tokens issued
    /// before they were added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Id>,
}

pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl AccessTokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self, String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 5;
        let invalid = |err: jsonwebtoken::errors::Error| format!("unusable JWT secret: {err}");
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(invalid)?,
            decoding: DecodingKey::from_secret(secret).map_err(invalid)?,
            validation,
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for user `user_id` in login session `session_id`, who has
    /// `role` and `unit`.
    pub fn issue(
        &self,
        user_id: Id,
        session_id: Id,
        role: Role,
        unit: Option<Id>,
    ) -> Result<String, AppError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            role: Some(role),
            unit,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| AppError::internal("signing an access token failed", err))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated(AuthFailure::InvalidToken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> AccessTokens {
        AccessTokens::new(SECRET, Duration::from_secs(900)).unwrap()
    }

    fn unsigned(header: &str, claims: &serde_json::Value) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn issued_tokens_verify_with_the_role_and_unit() {
        let (user, session, unit) = (Id::new(), Id::new(), Id::new());
        let token = tokens().issue(user, session, Role::Coordinator, Some(unit)).unwrap();
        let claims = tokens().verify(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!((claims.role, claims.unit), (Some(Role::Coordinator), Some(unit)));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn tokens_issued_before_roles_were_carried_still_verify() {
        let now = Utc::now().timestamp();
        let claims =
            serde_json::json!({"sub": Id::new(), "sid": Id::new(), "iat": now, "exp": now + 60});
        let token = jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap();
        let claims = tokens().verify(&token).unwrap();
        assert_eq!((claims.role, claims.unit), (None, None));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let claims =
            serde_json::json!({"sub": Id::new(), "sid": Id::new(), "iat": 0, "exp": i64::MAX / 2});
        assert!(tokens().verify(&unsigned(r#"{"alg":"none","typ":"JWT"}"#, &claims)).is_err());
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap();
        assert!(tokens().verify(&hs512).is_err());
    }

    #[test]
    fn expired_forged_and_expiry_less_tokens_are_refused() {
        let now = Utc::now().timestamp();
        let sign = |claims: serde_json::Value, secret: &[u8]| {
            jsonwebtoken::encode(
                &Header::default(),
                &claims,
                &EncodingKey::from_secret(secret).unwrap(),
            )
            .unwrap()
        };
        let expired = sign(
            serde_json::json!({"sub": Id::new(), "sid": Id::new(), "iat": now - 100, "exp": now - 60}),
            SECRET,
        );
        assert!(tokens().verify(&expired).is_err());
        let forged = sign(
            serde_json::json!({"sub": Id::new(), "sid": Id::new(), "iat": now, "exp": now + 60}),
            b"another-secret-another-secret-xx",
        );
        assert!(tokens().verify(&forged).is_err());
        let no_exp =
            sign(serde_json::json!({"sub": Id::new(), "sid": Id::new(), "iat": now}), SECRET);
        assert!(tokens().verify(&no_exp).is_err());
    }
}
