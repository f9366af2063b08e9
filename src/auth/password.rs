//! Argon2id password hashing, with the crate's defaults (OWASP's
//! recommendation: 19 MiB, 2 passes, 1 lane). Each hash takes tens of
//! milliseconds of a core and 19 MiB of memory, so hashes run on a pool of
//! their own with `hash_concurrency` threads, never on an actix worker: a
//! storm of logins waits its turn instead of starving every other request.
//!
//! Each hashing thread allocates Argon2's 19 MiB of working memory once and
//! reuses it for every hash. Letting the crate allocate it per hash, on
//! whichever of the blocking pool's many threads was free, made the process
//! grow to 670 MiB under a login load (the allocator keeps freed blocks in
//! per-thread arenas); now it is `hash_concurrency` × 19 MiB, and no hash
//! pays for page-faulting fresh memory.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, oneshot};

use crate::crypto::random_bytes;
use crate::error::{AppError, FieldIssue};
use crate::validation::Validator;

const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Argon2's working memory, kept by a hashing thread between jobs.
type Memory = Vec<Block>;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

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
        let decoy = hash_now(&base64_of(&random_bytes::<16>()))?;
        Ok(Self {
            slots: Arc::new(Semaphore::new(threads)),
            jobs,
            slot_wait,
            decoy_hash: decoy.into(),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.in_slot(move |memory| hash_with(memory, &password))
            .await?
            .map_err(|err| AppError::internal("password hashing failed", err))
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown
    /// account) it does the same work and answers false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let decoy = self.decoy_hash.clone();
        self.in_slot(move |memory| {
            let matches = verify_with(memory, &password, stored.as_deref().unwrap_or(&decoy));
            matches && stored.is_some()
        })
        .await
    }

    async fn in_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let slot = tokio::time::timeout(self.slot_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::ServiceUnavailable { retry_after_secs: 2 })?
            .map_err(|err| AppError::internal("hashing slots closed", err))?;
        let (done, result) = oneshot::channel();
        // The slot goes with the job, not with this future: a caller that
        // gives up (its client left) must not free a slot whose hash runs on.
        let job: Job = Box::new(move |memory| {
            let _slot = slot;
            let _ = done.send(work(memory));
        });
        self.jobs.send(job).map_err(|err| AppError::internal("hashing threads gone", err))?;
        result.await.map_err(|err| AppError::internal("hashing job failed", err))
    }
}

/// Gives this hashing thread the lowest priority, so that hashes use only
/// the CPU time the HTTP workers leave: a storm of logins then slows the
/// logins, not every other request. On Linux that is the `SCHED_IDLE`
/// policy: any other thread that wakes up takes the core at once, where a
/// nice thread could first finish its slice. Under a full load of other
/// requests a hash still advances (an idle thread gets a small share, not
/// none) and a login waits at most `hash_slot_wait` for its slot before a
/// `503`. Where the policy is refused, the thread takes the lowest nice
/// value instead; elsewhere than Linux, hashes keep the normal priority.
fn yield_cores_to_workers() {
    #[cfg(target_os = "linux")]
    {
        const LOWEST_NICE: libc::c_int = 19;
        let idle = libc::sched_param { sched_priority: 0 };
        // SAFETY: both calls only read their arguments; `0` names the
        // calling thread. Failing leaves the priority as it was, which is
        // still correct, only less kind to the other requests.
        let lowered = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) == 0
                || libc::setpriority(libc::PRIO_PROCESS, 0, LOWEST_NICE) == 0
        };
        if !lowered {
            tracing::warn!("could not lower the priority of a password-hashing thread");
        }
    }
}

/// Takes jobs until every `Passwords` handle is dropped. A job that panics
/// loses its answer (its caller gets a 500) but not the thread.
fn run_hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    yield_cores_to_workers();
    let mut memory = Memory::new();
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
            }
            Err(_) => return,
        }
    }
}

/// Hashes on the calling thread, with memory of its own: for start-up.
pub fn hash_now(password: &str) -> Result<String, String> {
    hash_with(&mut Memory::new(), password)
}

/// Argon2id with the crate's default parameters and a random 16-byte salt,
/// as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
fn hash_with(memory: &mut Memory, password: &str) -> Result<String, String> {
    let params = Params::default();
    let salt = random_bytes::<16>();
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut output,
            sized(memory, params.block_count()),
        )
        .map_err(|err| err.to_string())?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|err| err.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|err| err.to_string())?),
        hash: Some(Output::new(&output).map_err(|err| err.to_string())?),
    };
    Ok(hash.to_string())
}

/// Recomputes `stored` (with its own algorithm, version and parameters) for
/// `password` and compares in constant time.
fn verify_with(memory: &mut Memory, password: &str, stored: &str) -> bool {
    let recompute = |memory: &mut Memory| -> Result<bool, String> {
        let parsed = PasswordHash::new(stored).map_err(|err| err.to_string())?;
        let algorithm =
            Algorithm::try_from(parsed.algorithm.as_str()).map_err(|err| err.to_string())?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).map_err(|err| err.to_string())?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(|err| err.to_string())?;
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Err("the hash has no salt or output".into());
        };
        let mut output = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut output,
                sized(memory, params.block_count()),
            )
            .map_err(|err| err.to_string())?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&output).map_err(|err| err.to_string())? == *expected)
    };
    recompute(memory).unwrap_or_else(|err| {
        tracing::error!(error = %err, "a stored password hash cannot be checked");
        false
    })
}

/// The first `blocks` blocks of `memory`, growing it when a hash needs more.
fn sized(memory: &mut Memory, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
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
        for byte in random_bytes::<32>() {
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

    fn verify_now(password: &str, stored: &str) -> bool {
        verify_with(&mut Memory::new(), password, stored)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_hashing_thread_gives_way_to_any_other_thread() {
        let policy = std::thread::spawn(|| {
            yield_cores_to_workers();
            // SAFETY: reads the calling thread's policy only.
            unsafe { libc::sched_getscheduler(0) }
        });
        assert_eq!(policy.join().unwrap(), libc::SCHED_IDLE);
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_now("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_now("correct horse", &hash));
        assert!(!verify_now("wrong horse", &hash));
        assert!(!verify_now("correct horse", "not a hash"));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_now("mật khẩu").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password("mật khẩu".as_bytes(), &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"mat khau", &parsed).is_err());

        let theirs = Argon2::default().hash_password(b"correct horse").unwrap().to_string();
        assert!(verify_now("correct horse", &theirs));
        // Other parameters (an older or stronger hash) verify too, with
        // memory grown to fit and reused after.
        let stronger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32768, 3, 1, None).unwrap(),
        )
        .hash_password(b"correct horse")
        .unwrap()
        .to_string();
        let mut memory = Memory::new();
        assert!(verify_with(&mut memory, "correct horse", &stronger));
        assert_eq!(memory.len(), 32768);
        assert!(verify_with(&mut memory, "correct horse", &theirs));
        assert!(!verify_with(&mut memory, "wrong", &theirs));
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
