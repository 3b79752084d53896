//! Session documents as the Worker reads them (REST bodies, KV values) and the plugin reads its
//! saved session: decoding, version-0 migration, validation. Whatever loads is valid, encodes to
//! bytes that load to the same session, and encodes again to the same bytes; migration is
//! idempotent (a migrated document migrates to itself).
#![no_main]

use keyboardia_core::schema::{migrate_state, session_from_json, session_to_json, state_from_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(session) = session_from_json(data) {
        session.validate().expect("a loaded session is valid");
        let text = session_to_json(&session);
        let again = session_from_json(text.as_bytes())
            .unwrap_or_else(|e| panic!("{text} does not load again: {e}"));
        assert_eq!(again, session);
        assert_eq!(session_to_json(&again), text);
    }
    if let Ok(state) = state_from_json(data) {
        state.validate().expect("a loaded state is valid");
        let text = serde_json::to_string(&state).expect("a state serializes");
        let again = state_from_json(text.as_bytes())
            .unwrap_or_else(|e| panic!("{text} does not load again: {e}"));
        assert_eq!(again, state);
        assert_eq!(serde_json::to_string(&again).unwrap(), text);
    }
    // Migration on its own: once a document migrated, migrating it again changes nothing.
    if let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(data) {
        if migrate_state(&mut doc).is_ok() {
            let once = doc.clone();
            migrate_state(&mut doc).expect("a migrated document migrates again");
            assert_eq!(doc, once, "migration is idempotent");
        }
    }
});
