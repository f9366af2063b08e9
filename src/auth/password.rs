//! Argon2id password hashing, with the crate's defaults (OWASP's
//! recommendation: 19 MiB, 2 passes, 1 lane). Each hash takes tens of
//! milliseconds of a core and 19 MiB of memory, so hashes run on a pool of
//! their own with `hash_concurrency` threads, never on an actix worker: a
//! storm of logins waits its turn instead of starving every other request.
//!
//! The pool is separate from the blocking pool on purpose. The allocator
//! keeps a freed 19 MiB block in the arena of the thread that used it, so
//! hashing on whichever of the blocking pool's many threads is free made the
//! process grow by 19 MiB per thread that ever hashed (670 MiB seen under a
//! login load); a few dedicated threads keep that to a few blocks.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::{Semaphore, oneshot};

use crate::error::{AppError, FieldIssue};
use crate::validation::Validator;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Passwords {
    /// One per hashing thread: holding one means a thread is free for you.
    slots: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    /// How long a request waits for a free slot before answering 503.
    slot_wait: Duration,
    /// Verified against when the email is unknown, so that an unknown email
    /// costs the same time as a wrong password.
    decoy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(concurrency: usize, slot_wait: Duration) -> Result<Self, String> {
        let threads = concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("lophoc-hash-{n}"))
                .spawn(move || run_hashing_thread(&queue))
                .map_err(|err| format!("cannot start a hashing thread: {err}"))?;
        }
        let decoy = hash_now(&base64_of(&super::random_bytes::<16>()))?;
        Ok(Self {
            slots: Arc::new(Semaphore::new(threads)),
            jobs,
            slot_wait,
            decoy_hash: decoy.into(),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.in_slot(move || hash_now(&password))
            .await?
            .map_err(|err| AppError::internal("password hashing failed", err))
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown
    /// account) it does the same work and answers false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let decoy = self.decoy_hash.clone();
        self.in_slot(move || {
            let matches = verify_now(&password, stored.as_deref().unwrap_or(&decoy));
            matches && stored.is_some()
        })
        .await
    }

    async fn in_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let slot = tokio::time::timeout(self.slot_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::ServiceUnavailable { retry_after_secs: 2 })?
            .map_err(|err| AppError::internal("hashing slots closed", err))?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|err| AppError::internal("hashing threads gone", err))?;
        let outcome = result.await.map_err(|err| AppError::internal("hashing job failed", err));
        drop(slot);
        outcome
    }
}

/// Takes jobs until every `Passwords` handle is dropped. A job that panics
/// loses its answer (its caller gets a 500) but not the thread.
fn run_hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

/// Hashes on the calling thread: for start-up and for [`Passwords`].
pub fn hash_now(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| err.to_string())
}

fn verify_now(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(err) => {
            tracing::error!(error = %err, "a stored password hash cannot be parsed");
            false
        }
    }
}

/// The length rule for a new password, checked before any hashing so that
/// an oversized password costs nothing.
pub fn check_new_password(v: &mut Validator, field: &str, password: &str) {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        v.add(field, FieldIssue::TooShort { min: MIN_PASSWORD_CHARS });
    } else if length > MAX_PASSWORD_CHARS {
        v.add(field, FieldIssue::TooLong { max: MAX_PASSWORD_CHARS });
    }
}

/// A readable random password (for the first admin): 20 characters from an
/// alphabet without look-alikes, about 110 bits.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut password = String::with_capacity(20);
    while password.len() < 20 {
        for byte in super::random_bytes::<32>() {
            // Rejection sampling keeps every character equally likely.
            let limit = 256 - 256 % ALPHABET.len();
            if (byte as usize) < limit && password.len() < 20 {
                password.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
    }
    password
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_now("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_now("correct horse", &hash));
        assert!(!verify_now("wrong horse", &hash));
        assert!(!verify_now("correct horse", "not a hash"));
    }

    #[actix_web::test]
    async fn hashing_waits_for_a_free_slot_and_gives_up_with_503() {
        let passwords = Passwords::new(1, Duration::from_millis(20)).unwrap();
        let held = passwords.slots.clone().try_acquire_owned().unwrap();
        let busy = passwords.hash("while the slot is held".into()).await;
        assert_eq!(busy, Err(AppError::ServiceUnavailable { retry_after_secs: 2 }));
        let busy = passwords.verify("guess".into(), None).await;
        assert_eq!(busy, Err(AppError::ServiceUnavailable { retry_after_secs: 2 }));
        drop(held);
        let hash = passwords.hash("once it is free".into()).await.unwrap();
        assert!(passwords.verify("once it is free".into(), Some(hash)).await.unwrap());
        assert!(!passwords.verify("once it is free".into(), None).await.unwrap());
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.chars().count(), 20);
        assert_ne!(a, b);
    }

    #[test]
    fn new_passwords_must_be_8_to_128_characters() {
        for (password, ok) in [("1234567", false), ("12345678", true), (&"é".repeat(128), true)] {
            let mut v = Validator::new();
            check_new_password(&mut v, "password", password);
            assert_eq!(!v.has_problems(), ok, "{password}");
        }
        let mut v = Validator::new();
        check_new_password(&mut v, "password", &"x".repeat(129));
        assert!(v.has_problems());
    }
}
