//! Apache `htpasswd` files: `user:encoded-password` lines, in the formats upstream's
//! `basicauth` accepts (it uses `github.com/tg123/go-htpasswd` with its default
//! parsers, tried in this order):
//!
//! | prefix | format |
//! | --- | --- |
//! | `$apr1$` | Apache MD5 (`htpasswd -m`, the `htpasswd` default) |
//! | `{SHA}` | base64 of SHA-1 (`htpasswd -s`) |
//! | `$2y$`, `$2a$`, `$2b$` | bcrypt (`htpasswd -B`) |
//! | `{SSHA}` | base64 of salted SHA-1 (OpenLDAP) |
//! | `$5$`, `$6$` | SHA-256-crypt, SHA-512-crypt (`mkpasswd`, glibc `crypt`) |
//! | anything else | plain text (`htpasswd -p`); `{PLAIN}` before the password is allowed |
//!
//! Differences from upstream, both stricter: `$2b$` is bcrypt (upstream takes it as
//! plain text, so the hash itself would be the password), and a hash in another
//! well-known modular-crypt format (`$1$` md5-crypt, `$y$` yescrypt, argon2, scrypt,
//! …: [`UNSUPPORTED_CRYPT_IDS`]) is refused with a warning instead of being taken as a
//! plain-text password. Any other text is a plain-text password, as upstream.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// One user's encoded password.
#[derive(Clone, PartialEq, Eq)]
pub enum Hash {
    /// `$apr1$salt$hash`: Apache's MD5 crypt.
    Apr1 {
        /// The salt (at most 8 characters are used).
        salt: String,
        /// The 22-character encoded hash.
        hash: String,
    },
    /// `{SHA}base64(sha1(password))`.
    Sha([u8; 20]),
    /// `{SSHA}base64(sha1(password + salt) + salt)`.
    Ssha {
        /// The SHA-1 digest.
        digest: [u8; 20],
        /// The salt.
        salt: Vec<u8>,
    },
    /// A bcrypt hash, as written (`$2y$10$...`).
    Bcrypt(String),
    /// A SHA-crypt hash, as written (`$5$...`, `$6$...`).
    ShaCrypt(String),
    /// A plain-text password (kept as its SHA-256 digest, for a constant-time check).
    Plain([u8; 32]),
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hash::Apr1 { .. } => "Apr1([REDACTED])",
            Hash::Sha(_) => "Sha([REDACTED])",
            Hash::Ssha { .. } => "Ssha([REDACTED])",
            Hash::Bcrypt(_) => "Bcrypt([REDACTED])",
            Hash::ShaCrypt(_) => "ShaCrypt([REDACTED])",
            Hash::Plain(_) => "Plain([REDACTED])",
        })
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

impl Hash {
    /// Reads an encoded password. Errors say what is wrong without quoting it.
    pub fn parse(encoded: &str) -> Result<Hash, String> {
        if let Some(rest) = encoded.strip_prefix("$apr1$") {
            let (salt, hash) = rest
                .split_once('$')
                .ok_or("malformed $apr1$ (MD5) password")?;
            return Ok(Hash::Apr1 {
                salt: salt.chars().take(8).collect(),
                hash: hash.to_string(),
            });
        }
        if let Some(b64) = encoded.strip_prefix("{SHA}") {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| "malformed {SHA} password: not base64")?;
            let digest: [u8; 20] = bytes
                .try_into()
                .map_err(|_| "malformed {SHA} password: wrong length")?;
            return Ok(Hash::Sha(digest));
        }
        if ["$2y$", "$2a$", "$2b$"]
            .iter()
            .any(|p| encoded.starts_with(p))
        {
            encoded
                .parse::<bcrypt::HashParts>()
                .map_err(|_| "malformed bcrypt password")?;
            return Ok(Hash::Bcrypt(encoded.to_string()));
        }
        if let Some(b64) = encoded.strip_prefix("{SSHA}") {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| "malformed {SSHA} password: not base64")?;
            if bytes.len() < 20 {
                return Err("malformed {SSHA} password: wrong length".into());
            }
            let (digest, salt) = bytes.split_at(20);
            return Ok(Hash::Ssha {
                digest: digest.try_into().map_err(|_| "malformed {SSHA} password")?,
                salt: salt.to_vec(),
            });
        }
        if encoded.starts_with("$5$") || encoded.starts_with("$6$") {
            sha_crypt::PasswordHashRef::new(encoded)
                .map_err(|_| "malformed SHA-crypt ($5$/$6$) password")?;
            return Ok(Hash::ShaCrypt(encoded.to_string()));
        }
        if let Some(id) = unsupported_crypt_id(encoded) {
            return Err(format!(
                "unsupported password hash `${id}$` (supported: $apr1$, {{SHA}}, bcrypt, \
                 {{SSHA}}, $5$, $6$, plain text)"
            ));
        }
        Ok(Hash::Plain(sha256(&[encoded.as_bytes()])))
    }

    /// Whether checking a password costs real CPU (bcrypt, SHA-crypt): such checks
    /// run off the async threads.
    pub fn is_expensive(&self) -> bool {
        matches!(self, Hash::Bcrypt(_) | Hash::ShaCrypt(_))
    }

    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Hash::Apr1 { salt, hash } => bool::from(
                apr1(password, salt.as_bytes())
                    .as_bytes()
                    .ct_eq(hash.as_bytes()),
            ),
            Hash::Sha(digest) => {
                let got: [u8; 20] = Sha1::digest(password).into();
                bool::from(got.ct_eq(digest))
            }
            Hash::Ssha { digest, salt } => {
                let mut h = Sha1::new();
                h.update(password);
                h.update(salt);
                let got: [u8; 20] = h.finalize().into();
                bool::from(got.ct_eq(digest))
            }
            Hash::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            Hash::ShaCrypt(hash) => {
                use sha_crypt::PasswordVerifier;
                sha_crypt::PasswordHashRef::new(hash).is_ok_and(|h| {
                    sha_crypt::ShaCrypt::default()
                        .verify_password(password, h)
                        .is_ok()
                })
            }
            Hash::Plain(digest) => {
                // nginx writes plain passwords as `{PLAIN}password`: accept both.
                let bare = sha256(&[password]);
                let prefixed = sha256(&[b"{PLAIN}", password]);
                bool::from(bare.ct_eq(digest) | prefixed.ct_eq(digest))
            }
        }
    }
}

/// Modular-crypt ids of hash formats upstream does not read either (it would take
/// such a line as a plain-text password: the hash itself would log in).
pub const UNSUPPORTED_CRYPT_IDS: &[&str] = &[
    "1",
    "2x",
    "3",
    "7",
    "md5",
    "sha1",
    "y",
    "gy",
    "sm3",
    "argon2i",
    "argon2d",
    "argon2id",
    "pbkdf2",
    "pbkdf2-sha256",
    "pbkdf2-sha512",
    "scrypt",
];

/// The id of a `$id$…` hash in a format this module does not read.
fn unsupported_crypt_id(encoded: &str) -> Option<&'static str> {
    let rest = encoded.strip_prefix('$')?;
    let (id, tail) = rest.split_once('$')?;
    if tail.is_empty() {
        return None;
    }
    UNSUPPORTED_CRYPT_IDS
        .iter()
        .copied()
        .find(|known| *known == id)
}

/// Apache's MD5 crypt (`$apr1$`): the FreeBSD MD5 crypt with another magic string.
pub fn apr1(password: &[u8], salt: &[u8]) -> String {
    const MAGIC: &[u8] = b"$apr1$";
    let salt = &salt[..salt.len().min(8)];
    let alt: [u8; 16] = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize()
        .into();
    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(MAGIC);
    ctx.update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin: [u8; 16] = ctx.finalize().into();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize().into();
    }
    const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(22);
    let mut put = |v: u32, n: usize| {
        let mut v = v;
        for _ in 0..n {
            out.push(char::from(ITOA64[(v & 0x3f) as usize]));
            v >>= 6;
        }
    };
    let b = |i: usize| u32::from(fin[i]);
    for (x, y, z) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put((b(x) << 16) | (b(y) << 8) | b(z), 4);
    }
    put(b(11), 2);
    out
}

/// Users and their encoded passwords.
#[derive(Debug, Clone, Default)]
pub struct Htpasswd {
    users: HashMap<String, Hash>,
}

/// A line of an htpasswd text that was skipped, and why (never quoting the hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// The 1-based line number.
    pub line: usize,
    /// Why it was skipped (names the user when the line had one).
    pub reason: String,
}

impl Htpasswd {
    /// No users.
    pub fn new() -> Self {
        Htpasswd::default()
    }

    /// Adds the users of one htpasswd text; a user already known is replaced (so
    /// later sources win, as upstream reads `file` first and `inline` last). Blank
    /// lines are ignored; lines that cannot be read are skipped and returned.
    pub fn add(&mut self, text: &str) -> Vec<SkippedLine> {
        let mut skipped = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let Some((user, encoded)) = line.split_once(':') else {
                skipped.push(SkippedLine {
                    line: i + 1,
                    reason: "malformed line, no colon".into(),
                });
                continue;
            };
            match Hash::parse(encoded) {
                Ok(hash) => {
                    self.users.insert(user.to_string(), hash);
                }
                Err(reason) => skipped.push(SkippedLine {
                    line: i + 1,
                    reason: format!("user `{user}`: {reason}"),
                }),
            }
        }
        skipped
    }

    /// The encoded password of `user`.
    pub fn get(&self, user: &str) -> Option<&Hash> {
        self.users.get(user)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` exists and `password` matches (synchronously, however costly).
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        self.get(user).is_some_and(|h| h.verify(password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors made on this machine with `openssl passwd` and Python's `crypt` (glibc /
    // libxcrypt), and hashlib for {SHA}/{SSHA}; the password is `hunter2` unless said.
    const APR1: &str = "$apr1$saltsalt$r/QcFGT5pNL28bNkeDMHR.";
    const APR1_COLON: &str = "$apr1$x$28zJqnFA/xtD4rroLQohx0"; // `p@ss:w0rd`
    const APR1_EMPTY: &str = "$apr1$abcdefgh$L.PT565ESX4Tp2bqNs7Ie."; // empty password
    const SHA: &str = "{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=";
    const SSHA: &str = "{SSHA}NJ2OHbz2w54wawd9DDPQvhSSGqJOYUNsMTIzNA==";
    const BCRYPT_2Y: &str = "$2y$05$ABCDEFGHIJKLMNOPQRSTUug9EJi7O5Rz32D/n75peBLa/jSnjeWsu";
    const BCRYPT_2A: &str = "$2a$04$zyxwvutsrqponmlkjihgfeQtNclEdIKubIxcrYpq.juLDpW/aZ8ve";
    const BCRYPT_2B: &str = "$2b$04$abcdefghijklmnopqrstuuV3duMsC0HpUex6N9qapiuOHHWkwRXVm";
    const SHA256_CRYPT: &str = "$5$abcdefgh$XEPmEiAJvPG31m/DaIsyckkv.Sxd.8NrmElXxCKFQr/";
    const SHA512_CRYPT: &str = "$6$saltstring$q2.778Y7vt0Ij2OIl01VlxEE6SEh8ZCtgFbyJX8fYkl5S7gx32QO24FVg.rs4DkoAs9t6R19x4z8g69teXFxA0";
    const SHA512_ROUNDS: &str = "$6$rounds=1000$somesalt$CrOqf.Ro3DYG7xDq4sEz5Ud3cv0/7bI.SWz6AMlLOdQaKVdy6lRqjAvMhUTN1v.OaJS2iPBHZaas34Kbqvujb/";
    const SHA256_EMPTY: &str = "$5$emptypw$j9q8SS0S/38BPIfLsJXsxKvW/sehZJL1AxFdvBj6YQ2"; // empty

    #[test]
    fn apr1_matches_openssl() {
        assert_eq!(apr1(b"hunter2", b"saltsalt"), "r/QcFGT5pNL28bNkeDMHR.");
        assert_eq!(apr1(b"p@ss:w0rd", b"x"), "28zJqnFA/xtD4rroLQohx0");
        assert_eq!(apr1(b"", b"abcdefgh"), "L.PT565ESX4Tp2bqNs7Ie.");
    }

    #[test]
    fn every_format_verifies_its_vector_and_refuses_a_wrong_password() {
        let cases: &[(&str, &[u8], &str)] = &[
            (APR1, b"hunter2", "Apr1"),
            (APR1_COLON, b"p@ss:w0rd", "Apr1"),
            (APR1_EMPTY, b"", "Apr1"),
            (SHA, b"hunter2", "Sha"),
            (SSHA, b"hunter2", "Ssha"),
            (BCRYPT_2Y, b"hunter2", "Bcrypt"),
            (BCRYPT_2A, b"hunter2", "Bcrypt"),
            (BCRYPT_2B, b"hunter2", "Bcrypt"),
            (SHA256_CRYPT, b"hunter2", "ShaCrypt"),
            (SHA512_CRYPT, b"hunter2", "ShaCrypt"),
            (SHA512_ROUNDS, b"hunter2", "ShaCrypt"),
            (SHA256_EMPTY, b"", "ShaCrypt"),
            ("hunter2", b"hunter2", "Plain"),
            ("{PLAIN}hunter2", b"hunter2", "Plain"),
        ];
        for (encoded, password, kind) in cases {
            let hash = Hash::parse(encoded).unwrap_or_else(|e| panic!("{encoded}: {e}"));
            assert!(format!("{hash:?}").starts_with(kind), "{encoded}: {hash:?}");
            assert!(
                hash.verify(password),
                "{encoded} should accept its password"
            );
            assert!(
                !hash.verify(b"hunter3"),
                "{encoded} accepted a wrong password"
            );
            assert!(!hash.verify(b"Hunter2"), "{encoded} is case-insensitive");
            assert_eq!(
                hash.is_expensive(),
                matches!(*kind, "Bcrypt" | "ShaCrypt"),
                "{encoded}"
            );
        }
        // A hash is not its own password.
        assert!(!Hash::parse(APR1).unwrap().verify(APR1.as_bytes()));
        assert!(!Hash::parse(BCRYPT_2B).unwrap().verify(BCRYPT_2B.as_bytes()));
    }

    #[test]
    fn malformed_and_unsupported_hashes_are_refused_without_quoting_them() {
        for bad in [
            "$apr1$nosecondsep",
            "{SHA}not-base64!",
            "{SHA}aGVsbG8=",
            "{SSHA}c2hvcnQ=",
            "$2y$05$short",
            "$6$",
            "$1$salt$md5cryptHashValue",
            "$y$j9T$salt$yescrypt",
        ] {
            let e = Hash::parse(bad).expect_err(bad);
            // The message may name the prefix, never the rest.
            assert!(bad.len() <= 4 || !e.contains(bad), "{e}");
        }
        // Things that look a bit like a hash but are no known format are plain text.
        for plain in ["$money$", "pa$$word", "$ecret$pass", "$1$"] {
            let h = Hash::parse(plain).unwrap();
            assert!(matches!(h, Hash::Plain(_)), "{plain}");
            assert!(h.verify(plain.as_bytes()), "{plain}");
        }
    }

    #[test]
    fn files_parse_line_by_line_and_later_entries_win() {
        let mut h = Htpasswd::new();
        let text = format!(
            "alice:{APR1}\n\n  bob:{SHA}  \nno-colon-here\ncarol:$1$s$x\r\ndave:{BCRYPT_2Y}\n"
        );
        let skipped = h.add(&text);
        assert_eq!(h.len(), 3);
        assert_eq!(
            skipped,
            vec![
                SkippedLine {
                    line: 4,
                    reason: "malformed line, no colon".into()
                },
                SkippedLine {
                    line: 5,
                    reason: "user `carol`: unsupported password hash `$1$` (supported: \
                             $apr1$, {SHA}, bcrypt, {SSHA}, $5$, $6$, plain text)"
                        .into()
                },
            ]
        );
        assert!(h.verify("alice", b"hunter2"));
        assert!(h.verify("bob", b"hunter2"));
        assert!(h.verify("dave", b"hunter2"));
        assert!(!h.verify("carol", b"x"));
        assert!(!h.verify("mallory", b"hunter2"));
        // The password may contain colons: only the first one splits.
        assert!(h.add("eve:pa:ss").is_empty());
        assert!(h.verify("eve", b"pa:ss"));
        // Inline (read last) replaces the file's entry for the same user.
        assert!(h.add("alice:newpass").is_empty());
        assert!(h.verify("alice", b"newpass"));
        assert!(!h.verify("alice", b"hunter2"));
    }
}
