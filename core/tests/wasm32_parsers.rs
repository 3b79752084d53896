//! Every parser that reads bytes from the network, fed hostile input, on the target the server
//! runs on: `wasm32-unknown-unknown`, where `usize` is 32 bits (so a length near 2^32 that is
//! harmless natively can overflow a position). The same tests run natively with `cargo test`;
//! `scripts/test-worker.sh` runs them on wasm32 under Node with `wasm-bindgen-test-runner`:
//!
//! ```text
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test -p keyboardia-core --target wasm32-unknown-unknown --test wasm32_parsers
//! ```
//!
//! A panic aborts the wasm instance and fails the test, as it would reinitialize the Worker.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use keyboardia_core::api::{Method, Route};
use keyboardia_core::audio::riff::{fmt, riff};
use keyboardia_core::audio::{self, UploadError};
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::{decode_client, decode_server};
use keyboardia_core::room::{Room, RoomConfig};
use keyboardia_core::schema::{session_from_json, state_from_json};
use keyboardia_core::{Session, SessionId, SessionState};

/// A deterministic pseudo-random sequence (xorshift64), so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Sizes that overflow 32-bit arithmetic when added to a position or multiplied.
const HOSTILE_SIZES: [u32; 6] = [
    0xFFFF_FFF0,
    0xFFFF_FFFF,
    0xFFFF_FFF8,
    0x8000_0000,
    0x7FFF_FFFF,
    0xFFFF_0000,
];

/// Every WAV parser entry point on `bytes`: none may panic; returns the upload verdict.
fn all_wav_parsers(bytes: &[u8]) -> Result<audio::WavInfo, UploadError> {
    let _ = audio::read_info(bytes);
    let _ = audio::decode(bytes);
    let _ = audio::decode_wav(bytes);
    audio::validate_sample(bytes, None)
}

#[test]
fn wav_chunk_sizes_near_four_gib_are_refused_without_a_panic() {
    let mono = fmt(1, 1, 8_000, 2, 16);
    for size in HOSTILE_SIZES {
        let shapes = [
            // An unknown chunk (LIST) claiming nearly 4 GiB: first, between fmt and data, last.
            riff(&[(b"LIST", size, b"INFOISFT"), (b"fmt ", 16, &mono)]),
            riff(&[
                (b"fmt ", 16, &mono),
                (b"LIST", size, b"INFOISFT"),
                (b"data", 4, &[0; 4]),
            ]),
            riff(&[
                (b"fmt ", 16, &mono),
                (b"data", 4, &[0; 4]),
                (b"LIST", size, b""),
            ]),
            // A data chunk claiming nearly 4 GiB with 4 bytes present.
            riff(&[(b"fmt ", 16, &mono), (b"data", size, &[0; 4])]),
            // A fmt chunk claiming nearly 4 GiB, and a fact chunk.
            riff(&[(b"fmt ", size, &mono), (b"data", 4, &[0; 4])]),
            riff(&[
                (b"fmt ", 16, &mono),
                (b"fact", size, &[1, 0, 0, 0]),
                (b"data", 4, &[0; 4]),
            ]),
        ];
        for (i, wav) in shapes.iter().enumerate() {
            let verdict = all_wav_parsers(wav);
            // After the data (2) and inside fact (5, whose size hound ignores: it reads its one
            // field) a lying size does no harm; everywhere else the file is refused.
            assert!(
                verdict.is_err() || i == 2 || i == 5,
                "shape {i} size {size:#x}: {verdict:?}"
            );
        }
        // The RIFF size itself near 4 GiB.
        let mut wav = riff(&[(b"fmt ", 16, &mono), (b"data", 4, &[0; 4])]);
        wav[4..8].copy_from_slice(&size.to_le_bytes());
        let _ = all_wav_parsers(&wav);
    }
}

#[test]
fn wav_formats_at_the_edges_of_their_fields_are_refused_without_a_panic() {
    let data: &[u8] = &[0; 64];
    let fields: [(u16, u16, u32, u16, u16); 12] = [
        (1, 0xFFFF, 8_000, 2, 16),
        (1, 1, u32::MAX, 2, 16),
        (1, 1, 0, 2, 16),
        (1, 1, 8_000, 0, 16),
        (1, 1, 8_000, 0xFFFF, 16),
        (1, 1, 8_000, 2, 0),
        (1, 1, 8_000, 2, 0xFFF8),
        (1, 2, 8_000, 1, 8),
        (3, 1, 8_000, 8, 64),
        (0xFFFE, 1, 8_000, 4, 32),
        (2, 1, 8_000, 2, 16),
        (0xFFFF, 1, 8_000, 2, 16),
    ];
    for (tag, channels, rate, align, bits) in fields {
        let f = fmt(tag, channels, rate, align, bits);
        let _ = all_wav_parsers(&riff(&[(b"fmt ", 16, &f), (b"data", 64, data)]));
        // WAVE_FORMAT_EXTENSIBLE with every odd valid-bits value.
        for valid in [0u16, 1, 7, 31, 33, 0xFFFF] {
            let mut ext = f.clone();
            ext[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
            ext.extend_from_slice(&22u16.to_le_bytes());
            ext.extend_from_slice(&valid.to_le_bytes());
            ext.extend_from_slice(&[0; 4]);
            ext.extend_from_slice(&[
                1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
            ]);
            let _ = all_wav_parsers(&riff(&[(b"fmt ", 40, &ext), (b"data", 64, data)]));
        }
    }
}

#[test]
fn mutated_wavs_never_panic_a_parser() {
    let good = audio::encode_wav_pcm16(8_000, 2, &[1, -1, 300, -300, 7, 9, 0, 0]).unwrap();
    let float = audio::encode_wav_f32(&[0.5, -0.5, 0.25], 48_000).unwrap();
    assert!(all_wav_parsers(&good).is_ok());
    let mut rng = Rng(0x5EED_0001);
    for i in 0..3_000 {
        let mut wav = if i % 2 == 0 {
            good.clone()
        } else {
            float.clone()
        };
        for _ in 0..1 + rng.below(4) {
            if wav.len() < 4 {
                break;
            }
            let at = rng.below(wav.len() - 3);
            match rng.below(4) {
                // A 32-bit field set to a hostile size.
                0 => wav[at..at + 4]
                    .copy_from_slice(&HOSTILE_SIZES[rng.below(HOSTILE_SIZES.len())].to_le_bytes()),
                1 => wav[at] = rng.next() as u8,
                2 => wav.truncate(at),
                _ => wav[at..at + 2].copy_from_slice(&(rng.next() as u16).to_le_bytes()),
            }
        }
        let _ = all_wav_parsers(&wav);
    }
}

#[test]
fn wire_messages_documents_and_paths_never_panic_their_parsers() {
    let seeds: Vec<Vec<u8>> = vec![
        br#"{"t":"hello","proto":1,"name":"ada"}"#.to_vec(),
        br#"{"t":"step","tr":"kick","s":4,"on":true,"op":4294967295}"#.to_vec(),
        br#"{"t":"pattern","tr":"kick","len":16,"steps":{"on":"ffffffffffffffff","x":[{"s":255,"v":255}]},"op":1}"#.to_vec(),
        br#"{"t":"cuts","tr":"kick","v":[4294967295,0],"op":1}"#.to_vec(),
        br#"{"t":"ping","c":1e308}"#.to_vec(),
        br#"{"t":"ack","b":18446744073709551615}"#.to_vec(),
        serde_json::to_vec(&SessionState::demo()).unwrap(),
    ];
    let session = Session::new(
        SessionId::from_random_bytes([7; 16]),
        0,
        SessionState::demo(),
    );
    let mut room = Room::new(
        session.clone(),
        0,
        Timeline::new(120.0, 0.0),
        RoomConfig::default(),
    );
    room.handle_connect(1, None, 0.0);
    room.handle_message(1, seeds[0].as_slice(), 0.0);
    let mut rng = Rng(0x5EED_0002);
    for i in 0..4_000 {
        let mut bytes = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.below(3) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = b"0123456789-e.\"{}[]:,9f"[rng.below(22)],
                1 => bytes.insert(at, b"9999999999"[rng.below(10)]),
                _ => bytes.truncate(at),
            }
        }
        let _ = decode_client(&bytes);
        let _ = decode_server(&bytes);
        let _ = state_from_json(&bytes);
        let _ = session_from_json(&bytes);
        room.handle_message(1, &bytes, i as f64);
        while room.poll_event().is_some() {}
        let path = String::from_utf8_lossy(&bytes);
        let _ = Route::parse(Method::Put, &format!("/api/sessions/{path}"));
        let _ = Route::parse(Method::Get, &path);
    }
    assert!(room.session().validate().is_ok());
}
