//! Samples in R2 through the real Worker: upload and download round-trip byte for byte, players
//! hear about new samples, and oversized, wrong-type, too-long or bogus uploads are refused.

use keyboardia_core::audio::{encode_wav_pcm16, MAX_SAMPLE_BYTES};
use keyboardia_core::protocol::ServerMessage;
use keyboardia_tests::server::{LiveClient, Server};

/// A 16-bit PCM WAV file.
fn wav_bytes(sample_rate_hz: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    encode_wav_pcm16(sample_rate_hz, channels, samples).unwrap()
}

#[test]
fn upload_download_round_trip_and_broadcast() {
    let server = Server::start();
    let http = server.http("10.2.0.1");
    let s = http.create_session();
    let id = s.id.to_string();
    let mut player = LiveClient::join(&server.base_url(), s.id, "listener");

    // 1 s of a 441 Hz sine, 44.1 kHz stereo: every byte matters.
    let samples: Vec<i16> = (0..44_100 * 2)
        .map(|i| ((i as f32 * 0.0314).sin() * 20_000.0) as i16)
        .collect();
    let wav = wav_bytes(44_100, 2, &samples);
    let up = http.upload(&id, "audio/wav", "sine", &wav);
    assert_eq!(up.status, 201, "{}", up.text());
    let body = up.json();
    let sample_id = body["id"].as_str().unwrap().to_owned();
    let url = body["url"].as_str().unwrap().to_owned();
    assert_eq!(body["bytes"].as_u64(), Some(wav.len() as u64));
    assert_eq!(body["durationMs"].as_f64(), Some(1000.0));
    assert!(url.ends_with(&format!("/api/sessions/{id}/samples/{sample_id}")));

    let path = url.trim_start_matches(http.base());
    let down = http.request("GET", path, &[], None);
    assert_eq!(down.status, 200);
    assert_eq!(down.header("content-type"), Some("audio/wav"));
    assert!(down.body == wav, "downloaded bytes differ from the upload");

    // The live player heard about it.
    match player.recv_until(|m| matches!(m, ServerMessage::SampleAdded { .. })) {
        ServerMessage::SampleAdded {
            id, name, url: u, ..
        } => {
            assert_eq!(id.as_str(), sample_id);
            assert_eq!(name, "sine");
            assert_eq!(u, url);
        }
        _ => unreachable!(),
    }

    // Two uploads get two ids; both download.
    let other = wav_bytes(8_000, 1, &[1, 2, 3, 4, 5]);
    let up2 = http.upload(&id, "audio/x-wav; codecs=1", "blip", &other);
    assert_eq!(up2.status, 201, "{}", up2.text());
    let id2 = up2.json()["id"].as_str().unwrap().to_owned();
    assert_ne!(id2, sample_id);
    let down2 = http.request(
        "GET",
        &format!("/api/sessions/{id}/samples/{id2}"),
        &[],
        None,
    );
    assert!(down2.body == other);
}

#[test]
fn bad_uploads_are_refused() {
    let server = Server::start();
    let http = server.http("10.2.0.2");
    let s = http.create_session();
    let id = s.id.to_string();
    let ok = wav_bytes(8_000, 1, &[0; 8_000]);

    let expect = |reply: keyboardia_tests::server::HttpReply, status: u16, code: &str| {
        assert_eq!(reply.status, status, "{}", reply.text());
        assert_eq!(reply.code(), code, "{}", reply.text());
    };
    // Wrong content type.
    expect(http.upload(&id, "audio/mpeg", "x", &ok), 415, "bad_sample");
    expect(
        http.upload(&id, "application/octet-stream", "x", &ok),
        415,
        "bad_sample",
    );
    // Claims to be WAV, is not.
    expect(
        http.upload(&id, "audio/wav", "x", b"ID3\x04 definitely an mp3"),
        400,
        "bad_sample",
    );
    let mut truncated = ok.clone();
    truncated.truncate(100);
    expect(
        http.upload(&id, "audio/wav", "x", &truncated),
        400,
        "bad_sample",
    );
    // Longer than 5 s (8 kHz mono, 6 s: small in bytes, long in time).
    let long = wav_bytes(8_000, 1, &vec![0; 8_000 * 6]);
    expect(http.upload(&id, "audio/wav", "x", &long), 400, "bad_sample");
    // Larger than the byte limit.
    let mut huge = wav_bytes(48_000, 2, &[0; 16]);
    huge.resize(MAX_SAMPLE_BYTES + 1, 0);
    expect(http.upload(&id, "audio/wav", "x", &huge), 413, "too_large");
    // A bad name.
    expect(
        http.upload(&id, "audio/wav", &"n".repeat(200), &ok),
        400,
        "invalid_name",
    );
    // Unknown session; unknown and malformed sample ids.
    expect(
        http.upload(
            "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c",
            "audio/wav",
            "x",
            &ok,
        ),
        404,
        "not_found",
    );
    expect(
        http.request(
            "GET",
            &format!("/api/sessions/{id}/samples/nope"),
            &[],
            None,
        ),
        404,
        "not_found",
    );
    expect(
        http.request("GET", &format!("/api/sessions/{id}/samples/a.b"), &[], None),
        400,
        "invalid_id",
    );
    // The good one still goes in after all that.
    assert_eq!(http.upload(&id, "audio/wav", "x", &ok).status, 201);
}
