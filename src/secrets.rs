//! Random secrets and their storage forms: Web Connector tickets, generated passwords, API
//! tokens (stored as SHA-256), and argon2 password hashes.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// `n` bytes from the operating system's CSPRNG.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// A Web Connector ticket: 256 random bits as 64 hex digits.
pub fn new_ticket() -> String {
    hex::encode(random_bytes::<32>())
}

/// An API token: `qbs_` and 256 random bits in hex.
pub fn new_api_token() -> String {
    format!("qbs_{}", hex::encode(random_bytes::<32>()))
}

/// A password people can copy without ambiguity: 24 characters from an alphabet without
/// look-alikes (no 0/O, 1/l/I), about 139 bits.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // 256 is not a multiple of the alphabet's size: reject the bytes that would bias the draw.
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::with_capacity(24);
    while out.len() < 24 {
        for b in random_bytes::<32>() {
            if (b as usize) < limit && out.len() < 24 {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// A random suffix that makes a Web Connector user name unique without asking the database
/// whether a name is taken: 8 characters of lower-case letters and digits without look-alikes
/// (40 bits; 32 symbols, so every byte maps without bias).
pub fn new_username_suffix() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    random_bytes::<8>().iter().map(|b| ALPHABET[usize::from(*b) % 32] as char).collect()
}

/// SHA-256 of a secret, hex-encoded: how tickets and API tokens are stored and looked up.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The first characters of a ticket, enough to follow it in logs without revealing it.
pub fn ticket_prefix(ticket: &str) -> &str {
    let end = ticket.char_indices().nth(8).map_or(ticket.len(), |(i, _)| i);
    &ticket[..end]
}

/// An argon2id PHC string for a password, with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 hashing with default parameters cannot fail");
    hash.to_string()
}

/// An argon2id PHC string for a machine-generated secret such as a Web Connector password
/// (24 characters drawn from [`new_password`]'s alphabet, about 139 bits). A secret that strong
/// cannot be guessed however cheap each guess is, so a light cost (4 MiB, one pass) is enough;
/// it keeps `authenticate` fast and the server's memory small. People's passwords use
/// [`hash_password`].
pub fn hash_generated_secret(secret: &str) -> String {
    let params = argon2::Params::new(4096, 1, 1, None).expect("valid argon2 parameters");
    let hash: PasswordHash = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(secret.as_bytes())
        .expect("argon2 hashing with fixed parameters cannot fail");
    hash.to_string()
}

/// Checks a password against a PHC string in constant time, with the algorithm, version and
/// parameters the string records (argon2's own verifier). A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    // `Output`'s equality, which the verifier uses, is constant-time.
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

/// Spends the time of one password check, so that an unknown user name answers as slowly as a
/// wrong password and cannot be told apart by timing.
pub fn waste_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_generated_secret("qbsync-timing-equaliser"));
    let _ = verify_password(password, phc);
}

/// Like [`waste_password_check`] for admins' passwords, which use [`hash_password`]'s cost.
pub fn waste_admin_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("qbsync-timing-equaliser"));
    let _ = verify_password(password, phc);
}

/// A Web Connector ticket as a call presents it, with its SHA-256 hex (how runs are stored and
/// looked up) computed once, when the call is read. Its `Debug` shows only [`Ticket::prefix`]:
/// tickets are never logged in full.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    text: String,
    hash: String,
}

impl Ticket {
    /// A fresh random ticket ([`new_ticket`]).
    pub fn generate() -> Ticket {
        Ticket::from(new_ticket())
    }

    /// The ticket as the Web Connector sends it back.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the ticket, hex-encoded: the `run.ticket_hash` it is looked up by.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The first 8 characters, for logs ([`ticket_prefix`]).
    pub fn prefix(&self) -> &str {
        ticket_prefix(&self.text)
    }

    /// A call without a ticket (`<ticket />`).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl From<String> for Ticket {
    fn from(text: String) -> Ticket {
        let hash = sha256_hex(&text);
        Ticket { text, hash }
    }
}

impl From<&str> for Ticket {
    fn from(text: &str) -> Ticket {
        Ticket::from(text.to_string())
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ticket({}…)", self.prefix())
    }
}

#[cfg(test)]
mod ticket_tests {
    use super::*;

    #[test]
    fn a_ticket_carries_its_sha256_and_shows_only_its_prefix() {
        let ticket = Ticket::generate();
        assert_eq!(ticket.hash(), sha256_hex(ticket.as_str()));
        assert_eq!(ticket.prefix(), &ticket.as_str()[..8]);
        let shown = format!("{ticket:?}");
        assert!(shown.contains(ticket.prefix()));
        assert!(!shown.contains(ticket.as_str()), "{shown}");
        assert_ne!(Ticket::generate(), ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_long_random_and_distinct() {
        let a = new_ticket();
        let b = new_ticket();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(ticket_prefix(&a).len(), 8);
    }

    #[test]
    fn username_suffixes_are_short_lower_case_and_distinct() {
        let a = new_username_suffix();
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{a}");
        assert_ne!(a, new_username_suffix());
    }

    #[test]
    fn passwords_use_the_unambiguous_alphabet() {
        let p = new_password();
        assert_eq!(p.len(), 24);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
    }

    #[test]
    fn password_hashes_verify_only_the_right_password() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsf", &phc));
        assert!(!verify_password("correct horse", "not a phc string"));
    }

    #[test]
    fn generated_secrets_hash_lighter_and_still_verify() {
        let secret = new_password();
        let phc = hash_generated_secret(&secret);
        assert!(phc.starts_with("$argon2id$v=19$m=4096,t=1,p=1$"), "{phc}");
        assert!(verify_password(&secret, &phc));
        assert!(!verify_password("not it", &phc));
    }

    #[test]
    fn hashes_of_other_variants_versions_and_costs_verify_with_their_own_parameters() {
        for (algorithm, version, memory, passes) in [
            (argon2::Algorithm::Argon2id, argon2::Version::V0x13, 4096, 3),
            (argon2::Algorithm::Argon2i, argon2::Version::V0x13, 1024, 2),
            (argon2::Algorithm::Argon2d, argon2::Version::V0x10, 2048, 2),
        ] {
            let password = new_password();
            let params = argon2::Params::new(memory, passes, 1, None).unwrap();
            let phc = Argon2::new(algorithm, version, params).hash_password(password.as_bytes()).unwrap().to_string();
            assert!(verify_password(&password, &phc), "{phc}");
            assert!(!verify_password(&format!("{password}x"), &phc), "{phc}");
        }
        assert!(!verify_password("x", "$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ"), "a PHC string without a hash");
    }

    #[test]
    fn the_constant_work_checks_for_unknown_users_run_without_panicking() {
        waste_password_check("anything");
        waste_admin_password_check("anything");
    }

    #[test]
    fn sha256_is_hex_of_the_digest() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
