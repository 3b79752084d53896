//! Owners of read-only sessions.
//!
//! There are no accounts: creating a read-only session returns a random owner key once, and the
//! session stores only its SHA-256 (`ownerId`), so the key never appears in a snapshot or a GET.
//! A request that presents the key (`Authorization: Bearer <key>`, or `?key=` on the WebSocket
//! URL, where browsers cannot set headers) is the owner.

use sha2::{Digest, Sha256};

/// Longest owner key accepted in a request.
pub const OWNER_KEY_MAX_BYTES: usize = 128;

/// The owner id a key stands for: lowercase hex SHA-256 of the key.
pub fn owner_id_for_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new owner key from 16 random bytes the caller draws.
pub fn owner_key_from_random(bytes: [u8; 16]) -> String {
    hex::encode(bytes)
}

/// The key in an `Authorization` header value, if it is a bearer key of sane length.
pub fn bearer_key(header: &str) -> Option<&str> {
    let key = header.strip_prefix("Bearer ")?.trim();
    (!key.is_empty() && key.len() <= OWNER_KEY_MAX_BYTES).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hashes_of_keys() {
        let key = owner_key_from_random([7; 16]);
        assert_eq!(key.len(), 32);
        let id = owner_id_for_key(&key);
        assert_eq!(id.len(), 64);
        assert_ne!(id, key);
        assert_eq!(id, owner_id_for_key(&key));
        assert_ne!(id, owner_id_for_key("other"));
        assert_eq!(bearer_key("Bearer abc"), Some("abc"));
        assert_eq!(bearer_key("Basic abc"), None);
        assert_eq!(bearer_key("Bearer "), None);
    }
}
