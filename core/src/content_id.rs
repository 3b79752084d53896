//! Content-addressed sample ids: the id of a sample file is a hash of its bytes. A player who
//! records a take in a live session names it before uploading it, so the track that plays it can
//! reach the room at once; the server accepts the proposed id only if it is the hash of what it
//! received, so an id always names exactly one sound and a repeated upload is harmless.

use sha2::{Digest, Sha256};

use crate::model::SampleId;

/// Hex digits of the SHA-256 digest kept in a content id (128 bits, like the server's random ids).
pub const CONTENT_ID_HEX_DIGITS: usize = 32;

impl SampleId {
    /// The id of a sample file with these bytes: the first 32 hex digits of their SHA-256.
    pub fn for_content(bytes: &[u8]) -> SampleId {
        let digest = Sha256::digest(bytes);
        hex::encode(&digest[..CONTENT_ID_HEX_DIGITS / 2])
            .parse()
            .expect("32 hex digits are a valid sample id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_the_sha256_prefix_and_differ_with_content() {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
        assert_eq!(
            SampleId::for_content(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223"
        );
        assert_eq!(SampleId::for_content(b"abc"), SampleId::for_content(b"abc"));
        assert_ne!(SampleId::for_content(b"abc"), SampleId::for_content(b"abd"));
        assert_eq!(
            SampleId::for_content(&[]).as_str().len(),
            CONTENT_ID_HEX_DIGITS
        );
    }
}
