//! The live protocol's decoders, on any bytes a socket can carry: the room's
//! (`decode_client`, which the Worker runs on every frame) and the player's (`decode_server`).
//! Neither may panic; whatever decodes must encode to a message that decodes to itself (so the
//! room never broadcasts what a player cannot read back).
#![no_main]

use keyboardia_core::protocol::{decode_client, decode_server};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode_client(data) {
        let text = msg.encode();
        let again = decode_client(text.as_bytes())
            .unwrap_or_else(|e| panic!("{msg:?} encodes to {text}, which does not decode: {e}"));
        assert_eq!(again, msg, "{text}");
        assert_eq!(again.encode(), text);
    }
    if let Ok(msg) = decode_server(data) {
        let text = msg.encode();
        let again = decode_server(text.as_bytes())
            .unwrap_or_else(|e| panic!("{msg:?} encodes to {text}, which does not decode: {e}"));
        assert_eq!(again, msg, "{text}");
        assert_eq!(again.encode(), text);
    }
});
