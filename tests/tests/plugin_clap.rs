//! The bundled .clap in a real CLAP host (clack-host): onsets land on the expected frame (±1)
//! for straight, swung and polyrhythmic patterns at any block size and sample rate, pitch locks
//! change the measured pitch, parameters act, MIDI goes in and out, and state round-trips
//! byte-identically. The tests bundle the plugin themselves as a debug build with the
//! `assert_process_allocs` feature, so any allocation in process() aborts the run.

use clack_host::prelude::ClapId;
use keyboardia_core::{Instrument, Lock, SessionState, Track};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin, NoteIn, Transport};
use keyboardia_tests::onsets::after_silence as onsets;
use keyboardia_tests::saved_state;

const ID: &str = "dev.keyboardia.sequencer";

/// One plugin test at a time (instances of one library on many threads are not what a host does).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn plugin(sr: f64, max: usize) -> ClapPlugin {
    ClapPlugin::load(&clap_bundle_path(BundleKind::DebugAllocChecks), ID, sr, max)
}

/// Puts `state` into the plugin through its saved state (the way a host restores a project).
fn load_session(p: &mut ClapPlugin, state: &SessionState) {
    let mut doc = saved_state::parse(&p.save_state());
    saved_state::set_field(&mut doc, "session", &serde_json::to_string(state).unwrap());
    p.load_state(&saved_state::to_bytes(&doc));
}

fn track(id: &str, inst: &str, len: u8, on: &[usize]) -> Track {
    let mut t = Track::new(id.parse().unwrap(), id, inst.parse::<Instrument>().unwrap());
    t.step_count = len;
    t.volume = 1.0;
    for &i in on {
        t.steps[i].on = true;
    }
    t
}

fn session(tempo: f64, swing: f64, tracks: Vec<Track>) -> SessionState {
    SessionState {
        tempo,
        swing,
        tracks,
        ..SessionState::default()
    }
}

fn expected(steps: &[f64], tempo: f64, sr: f64) -> Vec<usize> {
    steps
        .iter()
        .map(|n| (n * 0.25 * sr * 60.0 / tempo - 1e-6).ceil() as usize)
        .collect()
}

fn assert_close(got: &[usize], want: &[usize], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.abs_diff(*w) <= 1, "{what}: {got:?} vs {want:?}");
    }
}

fn zero_crossing_hz(x: &[f32], sr: f64) -> f64 {
    let idx: Vec<usize> = x
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] <= 0.0 && w[1] > 0.0)
        .map(|(i, _)| i)
        .collect();
    (idx.len() - 1) as f64 * sr / (idx[idx.len() - 1] - idx[0]) as f64
}

#[test]
fn plugin_clap_straight_onsets_at_any_block_size() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 4096);
    // Rim on 8 of 16 steps at 60 BPM (a 16th is 12000 frames; the rim dies within it).
    let s = session(
        60.0,
        0.0,
        vec![track("rim", "rim", 16, &[0, 2, 4, 6, 8, 10, 12, 14])],
    );
    load_session(&mut p, &s);
    let want = expected(&[0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0], 60.0, sr);
    let mut rng = 99u64;
    for (name, sizes) in [
        ("1", vec![1usize]),
        ("64", vec![64]),
        ("4096", vec![4096]),
        ("mixed", vec![1, 333, 4096, 17, 64]),
    ] {
        let mut it = sizes.into_iter().cycle();
        let frames = if name == "1" { 3 * 12_000 } else { 16 * 12_000 };
        let (l, _, _) = p.render(frames, 60.0, 0.0, sr, || it.next().unwrap());
        let n = want.iter().filter(|&&w| w < frames).count();
        assert_close(&onsets(&l, 100), &want[..n], name);
    }
    let (l, _, _) = p.render(16 * 12_000, 60.0, 0.0, sr, || {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
        1 + (rng >> 33) as usize % 4096
    });
    assert_close(&onsets(&l, 100), &want, "random blocks");
}

#[test]
fn plugin_clap_swing_and_polyrhythm_at_every_sample_rate() {
    let _serial = serial();
    for sr in [22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0] {
        let mut p = plugin(sr, 1024);
        // Swing 50 %: odd 16ths a quarter step late. Spaced so each sound dies before the next.
        let s = session(60.0, 50.0, vec![track("rim", "rim", 16, &[0, 3, 6, 9])]);
        load_session(&mut p, &s);
        let frames = (4.0 * sr) as usize;
        let (l, _, notes) = p.render(frames, 60.0, 0.0, sr, || 512);
        let want = expected(&[0.0, 3.25, 6.0, 9.25], 60.0, sr);
        assert_close(&onsets(&l, 100), &want, &format!("swing at {sr}"));
        let on: Vec<usize> = notes
            .iter()
            .filter(|(_, n)| n.on)
            .map(|(f, _)| *f)
            .collect();
        assert_close(&on, &want, &format!("MIDI out at {sr}"));

        // Polyrhythm: a 3-step and a 5-step loop on their own MIDI channels.
        let s = session(
            120.0,
            0.0,
            vec![
                track("three", "rim", 3, &[0]),
                track("five", "kick", 5, &[0]),
            ],
        );
        load_session(&mut p, &s);
        let frames = (15.0 * 0.125 * sr) as usize + 10;
        let (_, _, notes) = p.render(frames, 120.0, 0.0, sr, || 300);
        for (ch, k) in [(0u8, 3usize), (1, 5)] {
            let on: Vec<usize> = notes
                .iter()
                .filter(|(_, n)| n.on && n.channel == ch)
                .map(|(f, _)| *f)
                .collect();
            let steps: Vec<f64> = (0..=15).filter(|n| n % k == 0).map(|n| n as f64).collect();
            assert_close(
                &on,
                &expected(&steps, 120.0, sr),
                &format!("loop of {k} at {sr}"),
            );
        }
    }
}

#[test]
fn plugin_clap_pitch_lock_changes_measured_pitch() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    let mut t = track("sub", "sub_bass", 16, &[0, 8]);
    t.steps[8].locks.set(Lock::Pitch(7));
    load_session(&mut p, &session(60.0, 0.0, vec![t]));
    let (l, _, _) = p.render(16 * 12_000, 60.0, 0.0, sr, || 512);
    let a = zero_crossing_hz(&l[2000..10_000], sr);
    let b = zero_crossing_hz(&l[8 * 12_000 + 2000..8 * 12_000 + 10_000], sr);
    assert!((a - 65.41).abs() < 1.0, "unlocked pitch {a}");
    let fifth = 2f64.powf(7.0 / 12.0);
    assert!((b / a - fifth).abs() < 0.02, "a fifth up: {}", b / a);
}

#[test]
fn plugin_clap_state_round_trips_byte_identically() {
    let _serial = serial();
    let mut p = plugin(48_000.0, 512);
    let mut s = SessionState::demo();
    s.tracks[0].steps[5].locks.set(Lock::Nudge(-10));
    load_session(&mut p, &s);
    let first = p.save_state();
    let mut q = plugin(44_100.0, 256);
    q.load_state(&first);
    let second = q.save_state();
    assert_eq!(first, second, "save → load → save changed the bytes");
    let doc = saved_state::parse(&second);
    // nice-plug stores the persisted field as JSON of our JSON string.
    let inner: String = serde_json::from_str(doc["fields"]["session"].as_str().unwrap()).unwrap();
    let session: SessionState = serde_json::from_str(&inner).unwrap();
    assert_eq!(session, s);
}

#[test]
fn plugin_clap_parameters_mute_and_master() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    for name in [
        "Master",
        "Swing",
        "Track 1 Volume",
        "Track 1 Mute",
        "Track 16 Solo",
    ] {
        p.param_id(name);
    }
    let all: Vec<usize> = (0..16).collect();
    load_session(
        &mut p,
        &session(120.0, 0.0, vec![track("k", "kick", 16, &all)]),
    );
    let t = |beat: f64| {
        Some(Transport {
            playing: true,
            tempo_bpm: 120.0,
            beat,
        })
    };
    let loud = p.process(512, t(0.0), &[], &[]);
    assert!(loud.left.iter().any(|v| v.abs() > 0.05));
    let mute = p.param_id("Track 1 Mute");
    let _ = p.process(512, t(512.0 / 24_000.0), &[], &[(0, mute, 1.0)]);
    // After the 10 ms fade the track is silent, while notes still go out as MIDI.
    let mut beat = 1024.0 / 24_000.0;
    let mut silent = true;
    let mut notes = 0;
    for _ in 0..20 {
        let b = p.process(512, t(beat), &[], &[]);
        silent &= b.left.iter().all(|v| *v == 0.0);
        notes += b.notes.iter().filter(|n| n.on).count();
        beat += 512.0 / 24_000.0;
    }
    assert!(silent, "muted track is silent");
    assert!(notes >= 1, "MIDI still goes out");
}

#[test]
fn plugin_clap_midi_in_auditions_selected_track_while_stopped() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    load_session(
        &mut p,
        &session(
            120.0,
            0.0,
            vec![track("k", "kick", 16, &[]), track("b", "sub_bass", 16, &[])],
        ),
    );
    // nice-plug exposes a stepped parameter to CLAP as 0..steps: value 1 is track 2.
    let sel = p.param_id("Selected Track");
    let stopped = Some(Transport {
        playing: false,
        tempo_bpm: 120.0,
        beat: 0.0,
    });
    let _ = p.process(512, stopped, &[], &[(0, sel, 1.0)]);
    let b = p.process(
        512,
        stopped,
        &[NoteIn::On {
            offset: 100,
            key: 48,
            velocity: 0.8,
        }],
        &[],
    );
    assert!(
        b.left[..100].iter().all(|v| *v == 0.0),
        "silent before the note"
    );
    assert!(b.left[100] != 0.0, "note-on sounds on its frame");
    assert!(b.notes.is_empty(), "stopped: no sequencer MIDI out");
    let mut l = Vec::new();
    for _ in 0..20 {
        l.extend(p.process(512, stopped, &[], &[]).left);
    }
    // Key 48 on the sub bass (C2 = key 36) sounds an octave up: 130.8 Hz.
    let hz = zero_crossing_hz(&l, sr);
    assert!((hz - 130.81).abs() < 2.0, "key 48 on the sub bass: {hz}");
    let _ = p.process(512, stopped, &[NoteIn::Off { offset: 0, key: 48 }], &[]);
    let after = p.process(512, stopped, &[], &[]);
    assert!(after.left.iter().all(|v| *v == 0.0), "note-off ends it");
}

#[test]
fn plugin_clap_demo_sounds_like_a_beat() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 1024);
    // A fresh instance plays the demo session.
    let (l, r, notes) = p.render(4 * 24_000 * 4, 118.0, 0.0, sr, || 1024);
    let peak = l.iter().chain(&r).fold(0f32, |m, v| m.max(v.abs()));
    assert!(peak > 0.3 && peak <= 1.0, "peak {peak}");
    let channels: std::collections::BTreeSet<u8> = notes
        .iter()
        .filter(|(_, n)| n.on)
        .map(|(_, n)| n.channel)
        .collect();
    assert!(channels.len() >= 7, "all demo tracks play: {channels:?}");
}

/// Note-on frames per channel from `notes`.
fn note_ons(notes: &[(usize, keyboardia_tests::clap_host::NoteOut)], channel: u8) -> Vec<usize> {
    notes
        .iter()
        .filter(|(_, n)| n.on && n.channel == channel)
        .map(|(f, _)| *f)
        .collect()
}

#[test]
fn plugin_clap_internal_clock_without_host_transport() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    // 100 BPM session: a 16th is 7200 frames.
    load_session(
        &mut p,
        &session(100.0, 0.0, vec![track("r", "rim", 16, &[0, 4, 8])]),
    );
    let mut notes = Vec::new();
    let mut pos = 0;
    while pos < 60_000 {
        let b = p.process(500, None, &[], &[]);
        notes.extend(b.notes.iter().map(|n| (pos + n.offset as usize, *n)));
        pos += 500;
    }
    // The internal clock starts with the first block that has no transport.
    assert_close(&note_ons(&notes, 0), &[0, 28_800, 57_600], "internal clock");
}

#[test]
fn plugin_clap_follows_host_tempo_changes_and_loop_jumps() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    load_session(
        &mut p,
        &session(120.0, 0.0, vec![track("r", "rim", 4, &[0])]),
    );
    // 240-frame blocks line up with beats at both tempos. Beats 0–2 at 120 BPM (24000 frames a
    // beat), beats 2–4 at 60 BPM (48000), then the host loops back to beat 0 (still 60 BPM).
    let mut notes = Vec::new();
    let mut frame = 0usize;
    let mut beat = 0.0f64;
    let mut looped = false;
    while frame < 300_000 {
        let tempo = if beat < 2.0 - 1e-9 && !looped {
            120.0
        } else {
            60.0
        };
        let t = Transport {
            playing: true,
            tempo_bpm: tempo,
            beat,
        };
        let b = p.process(240, Some(t), &[], &[]);
        notes.extend(b.notes.iter().map(|n| (frame + n.offset as usize, *n)));
        frame += 240;
        beat += 240.0 * tempo / (60.0 * sr);
        if beat >= 4.0 - 1e-9 && !looped {
            beat = 0.0;
            looped = true;
        }
    }
    // A 4-step track with step 0 on: a hit on every beat.
    let want = vec![
        0, 24_000, 48_000, 96_000, 144_000, 192_000, 240_000, 288_000,
    ];
    assert_close(&note_ons(&notes, 0), &want, "tempo change and loop");
}

#[test]
fn plugin_clap_master_track_volume_and_swing_automation() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    load_session(
        &mut p,
        &session(60.0, 0.0, vec![track("s", "sub_bass", 16, &[0, 4])]),
    );
    // nice-plug gives CLAP normalized values (× step count): Master 1.0 is its maximum, +6 dB.
    let (master, lo, hi) = p.param_range("Master");
    assert!(lo == 0.0 && hi == 1.0, "{lo}..{hi}");
    let master_default = p.param_default("Master");
    let vol = p.param_id("Track 1 Volume");
    let mut level = |master_value: f64, vol_value: f64| {
        let stopped = Some(Transport {
            playing: false,
            tempo_bpm: 60.0,
            beat: 0.0,
        });
        let set = [(0, master, master_value), (0, vol, vol_value)];
        let _ = p.process(512, stopped, &[], &set);
        let (l, _, _) = p.render(12_000, 60.0, 0.0, sr, || 512);
        l[2000..10_000].iter().fold(0f32, |m, v| m.max(v.abs()))
    };
    let base = level(master_default, 0.25);
    let loud = level(1.0, 0.25);
    let soft = level(master_default, 0.125);
    assert!(base > 0.05);
    assert!(
        (loud / base - 2.0).abs() < 0.04,
        "master +6 dB: {}",
        loud / base
    );
    assert!(
        (soft / base - 0.5).abs() < 0.02,
        "track volume: {}",
        soft / base
    );

    // Swing automation replaces the session's swing while "Automate Swing" is on.
    load_session(
        &mut p,
        &session(60.0, 0.0, vec![track("r", "rim", 16, &[1])]),
    );
    let (swing, _, _) = p.param_range("Swing");
    let (auto, _, _) = p.param_range("Automate Swing");
    let stopped = Some(Transport {
        playing: false,
        tempo_bpm: 60.0,
        beat: 0.0,
    });
    // Swing 0..100 % is normalized 0..1 on the wire.
    let _ = p.process(512, stopped, &[], &[(0, swing, 1.0), (0, auto, 1.0)]);
    let (_, _, notes) = p.render(24_000, 60.0, 0.0, sr, || 512);
    assert_close(
        &note_ons(&notes, 0),
        &[18_000],
        "swing 100 % from automation",
    );
    let _ = p.process(512, stopped, &[], &[(0, auto, 0.0)]);
    let (_, _, notes) = p.render(24_000, 60.0, 0.0, sr, || 512);
    assert_close(&note_ons(&notes, 0), &[12_000], "session swing again");
}

#[test]
fn plugin_clap_multi_out_layout_gives_each_track_its_own_stereo_output() {
    let _serial = serial();
    let sr = 48_000.0;
    let path = clap_bundle_path(BundleKind::DebugAllocChecks);
    let mut p = ClapPlugin::load_with_outputs(&path, ID, sr, 512, 17);
    let mut kick = track("k", "kick", 16, &[0]);
    kick.volume = 0.3;
    let mut hat = track("h", "hat_closed", 16, &[2]);
    hat.volume = 0.3;
    hat.pan = 1.0;
    load_session(&mut p, &session(120.0, 0.0, vec![kick, hat]));
    let mut main = Vec::new();
    let mut aux: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); 16];
    let mut beat = 0.0;
    for _ in 0..40 {
        let t = Transport {
            playing: true,
            tempo_bpm: 120.0,
            beat,
        };
        let b = p.process(512, Some(t), &[], &[]);
        assert_eq!(b.aux.len(), 16);
        main.extend(b.left);
        for (a, (l, r)) in aux.iter_mut().zip(b.aux) {
            a.0.extend(l);
            a.1.extend(r);
        }
        beat += 512.0 / 24_000.0;
    }
    let hat_frame = 12_000; // step 2 at 120 BPM
    assert!(
        aux[0].0[..100].iter().any(|v| *v != 0.0),
        "kick on output 1"
    );
    assert!(
        aux[1].0.iter().all(|v| *v == 0.0),
        "hat panned hard right: left silent"
    );
    assert!(
        aux[1].1[..hat_frame].iter().all(|v| *v == 0.0),
        "hat silent before its step"
    );
    assert!(
        aux[1].1[hat_frame..hat_frame + 10]
            .iter()
            .any(|v| *v != 0.0),
        "hat on output 2"
    );
    assert!(aux[2..]
        .iter()
        .all(|(l, r)| l.iter().chain(r).all(|v| *v == 0.0)));
    // The main mix is the sum of the track outputs (levels are below the soft clipper's knee).
    for i in (0..main.len()).step_by(97) {
        let sum = aux[0].0[i] + aux[1].0[i];
        assert!(
            (main[i] - sum).abs() < 1e-4,
            "frame {i}: {} vs {sum}",
            main[i]
        );
    }
}

/// The plugin's `process()` rolls the probability dice with the seed of the session it holds, so
/// it plays the hits every other engine of that session plays.
#[test]
fn plugin_clap_rolls_the_dice_with_the_session_seed() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 1024);
    let mut dice = track("r", "rim", 16, &(0..16).collect::<Vec<_>>());
    for s in 0..16 {
        dice.steps[s].locks.set(Lock::Probability(50));
    }
    let state = |seed: u64| SessionState {
        seed,
        ..session(180.0, 0.0, vec![dice.clone()])
    };
    // 4 bars at 180 BPM: 64 steps of 4000 frames.
    let frames = 64 * 4_000;
    let mut play = |seed: u64| {
        load_session(&mut p, &state(seed));
        let (_, _, notes) = p.render(frames, 180.0, 0.0, sr, || 512);
        note_ons(&notes, 0)
    };
    // The engine on its own, fed the same document as every other player.
    let engine = |seed: u64| {
        let pattern = keyboardia_engine::EnginePattern::from_state(&state(seed), |_| None);
        let mut e = keyboardia_engine::Engine::new(sr);
        e.set_seed(pattern.seed);
        e.set_pattern(&pattern);
        let mut clock = keyboardia_engine::InternalClock::new(180.0);
        clock.play_from(0.0);
        let (mut l, mut r) = (vec![0.0f32; 512], vec![0.0f32; 512]);
        let mut ons = Vec::new();
        for start in (0..frames).step_by(512) {
            e.process(&clock.next_block(512, sr), &[], &mut l, &mut r, None);
            ons.extend(
                e.midi_out()
                    .iter()
                    .filter(|m| m.on && m.channel == 0)
                    .map(|m| start + m.offset as usize),
            );
        }
        ons
    };
    let a = play(0x5eed);
    assert!(a.len() > 8 && a.len() < 56, "{} hits of 64", a.len());
    assert_close(&a, &engine(0x5eed), "the plugin plays the session's dice");
    assert_eq!(play(0x5eed), a, "the same seed again");
    let b = play(0x5eee);
    assert_ne!(b, a, "another session's seed");
    assert_close(&b, &engine(0x5eee), "and that session's dice");
}

/// Every sound of the instrument list, auditioned as a dense chord of loud notes on a
/// multi-out layout: each track output stays finite and within ±4, however many voices sum.
#[test]
fn plugin_clap_a_track_output_stays_bounded_under_a_dense_loud_chord() {
    let _serial = serial();
    let all: Vec<String> = keyboardia_core::BuiltinSound::ALL
        .iter()
        .map(|s| s.id().to_string())
        .chain(
            keyboardia_core::SynthPreset::ALL
                .iter()
                .map(|p| format!("synth:{}", p.id())),
        )
        .collect();
    for (sr, sounds) in [11_025.0, 48_000.0]
        .into_iter()
        .flat_map(|sr| all.chunks(16).map(move |c| (sr, c)))
    {
        let path = clap_bundle_path(BundleKind::DebugAllocChecks);
        let mut p = ClapPlugin::load_with_outputs(&path, ID, sr, 512, 17);
        let tracks: Vec<Track> = sounds
            .iter()
            .enumerate()
            .map(|(i, s)| track(&format!("t{i}"), s, 16, &[]))
            .collect();
        load_session(&mut p, &session(120.0, 0.0, tracks));
        let sel = p.param_id("Selected Track");
        let stopped = Some(Transport {
            playing: false,
            tempo_bpm: 120.0,
            beat: 0.0,
        });
        for (t, sound) in sounds.iter().enumerate() {
            let _ = p.process(512, stopped, &[], &[(0, sel, t as f64)]);
            let chord: Vec<NoteIn> = (0..12)
                .map(|k| NoteIn::On {
                    offset: k,
                    key: 30 + 5 * k as u8,
                    velocity: 1.0,
                })
                .collect();
            let mut peak = 0.0f32;
            for b in 0..30 {
                let notes = if b == 0 { &chord[..] } else { &[][..] };
                let out = p.process(512, stopped, notes, &[]);
                for (l, r) in &out.aux {
                    for v in l.iter().chain(r) {
                        assert!(v.is_finite(), "{sound} at {sr} Hz: {v}");
                        peak = peak.max(v.abs());
                    }
                }
            }
            println!("{sound} at {sr} Hz: track output peak {peak}");
            assert!(peak <= 4.0, "{sound} at {sr} Hz: track output peak {peak}");
            let offs: Vec<NoteIn> = (0..12)
                .map(|k| NoteIn::Off {
                    offset: 0,
                    key: 30 + 5 * k as u8,
                })
                .collect();
            let _ = p.process(512, stopped, &offs, &[]);
        }
    }
}

/// Mean |x[n] − x[n−1]| over mean |x[n]|: how bright a signal is (higher with more highs).
fn brightness(x: &[f32]) -> f64 {
    let diff: f64 = x.windows(2).map(|w| f64::from((w[1] - w[0]).abs())).sum();
    let level: f64 = x.iter().map(|v| f64::from(v.abs())).sum();
    diff / level.max(1e-12)
}

/// Peak magnitude of `x[range]`.
fn peak_in(x: &[f32], range: std::ops::Range<usize>) -> f32 {
    x[range].iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Each track slot's filter cutoff, reverb send and delay send are automatable parameters (a
/// shift in octaves and send offsets on top of the session's values, this player's own):
/// automating them changes the sound as it should (a brighter or darker filter, a reverb tail,
/// an echo on the delay's beat), and swinging them between their extremes every block, at
/// full resonance, keeps the output finite and within ±1 (and process() allocation-free: the
/// bundle aborts on an allocation). The Fill parameter plays FILL steps.
#[test]
fn plugin_clap_automates_cutoff_and_sends() {
    let _serial = serial();
    let sr = 48_000.0;
    let mut p = plugin(sr, 512);
    for name in [
        "Fill",
        "Track 1 Cutoff",
        "Track 16 Reverb Send",
        "Track 9 Delay Send",
    ] {
        p.param_id(name);
    }
    let cutoff = p.param_id("Track 1 Cutoff");
    let reverb = p.param_id("Track 1 Reverb Send");
    let delay = p.param_id("Track 1 Delay Send");
    for name in [
        "Track 1 Cutoff",
        "Track 1 Reverb Send",
        "Track 1 Delay Send",
    ] {
        assert_eq!(p.param_default(name), 0.5, "{name}: no change by default");
    }
    let stopped = Some(Transport {
        playing: false,
        tempo_bpm: 60.0,
        beat: 0.0,
    });

    // A low-passed open hat on every step: the cutoff shift makes it brighter or darker.
    let open_hat = keyboardia_core::BuiltinSound::OpenHat;
    let mut hat = track("h", "kick", 16, &(0..16).collect::<Vec<_>>());
    hat.instrument = Instrument::Sound(open_hat);
    hat.fx.filter = keyboardia_core::FilterMode::LowPass;
    hat.fx.cutoff_hz = 400.0;
    hat.fx.resonance = 0.3;
    load_session(&mut p, &session(120.0, 0.0, vec![hat]));
    let mut bright = |shift_norm: f64| {
        let _ = p.process(512, stopped, &[], &[(0, cutoff, shift_norm)]);
        let (l, _, _) = p.render(28_000, 120.0, 0.0, sr, || 512);
        assert!(l.iter().all(|v| v.is_finite()));
        let x = &l[4_000..];
        let rms = (x.iter().map(|v| f64::from(v * v)).sum::<f64>() / x.len() as f64).sqrt();
        (brightness(x), rms)
    };
    let neutral = bright(0.5);
    let up = bright(0.5 + 5.0 / 20.0); // +5 octaves: 12.8 kHz
    let down = bright(0.5 - 2.0 / 20.0); // −2 octaves: 100 Hz
    assert!(
        up.0 > 1.5 * neutral.0,
        "cutoff +5 oct: {up:?} vs {neutral:?}"
    );
    // A hat's energy is high: low-passed at 100 Hz, little of it is left.
    assert!(
        down.1 < 0.6 * neutral.1,
        "cutoff −2 oct: {down:?} vs {neutral:?}"
    );
    let _ = p.process(512, stopped, &[], &[(0, cutoff, 0.5)]);

    // One rim hit at 60 BPM, no sends in the session: silence after it dies away, unless the
    // automation sends it to the reverb (a tail) or to the delay (an echo an eighth later,
    // 24,000 frames).
    load_session(
        &mut p,
        &session(60.0, 0.0, vec![track("r", "rim", 16, &[0])]),
    );
    let mut hit = |rv: f64, dl: f64| {
        // A fresh start: the previous run's tails are gone; a second stopped lets the sends'
        // automation ramps (from the values restored at activation) settle.
        p.reactivate();
        let _ = p.process(512, stopped, &[], &[(0, reverb, rv), (0, delay, dl)]);
        for _ in 0..94 {
            let _ = p.process(512, stopped, &[], &[]);
        }
        let (l, _, _) = p.render(40_000, 60.0, 0.0, sr, || 512);
        assert!(l.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
        l
    };
    let dry = hit(0.5, 0.5);
    assert!(peak_in(&dry, 0..4_000) > 0.05, "the rim sounds");
    assert!(peak_in(&dry, 12_000..40_000) < 1e-4, "and dies away");
    let wet = hit(1.0, 0.5);
    assert!(peak_in(&wet, 12_000..20_000) > 1e-3, "a reverb tail");
    let echo = hit(0.5, 1.0);
    assert!(
        peak_in(&echo, 12_000..23_500) < 1e-4,
        "nothing before the echo"
    );
    assert!(
        peak_in(&echo, 23_900..28_000) > 0.02,
        "the echo on the eighth"
    );

    // The Fill parameter plays a FILL step (a footswitch, or the DAW's automation).
    let mut fill_rim = track("f", "rim", 16, &[1]);
    fill_rim.steps[1].locks.condition = Some(keyboardia_core::Condition::Fill);
    load_session(&mut p, &session(60.0, 0.0, vec![fill_rim]));
    let fill = p.param_id("Fill");
    for on in [0.0, 1.0, 0.0] {
        let _ = p.process(512, stopped, &[], &[(0, fill, on)]);
        let (_, _, notes) = p.render(24_000, 60.0, 0.0, sr, || 512);
        let want: &[usize] = if on > 0.0 { &[12_000] } else { &[] };
        assert_close(
            &note_ons(&notes, 0),
            want,
            "a FILL step follows the Fill parameter",
        );
    }

    // Every block from one extreme to the other, on a resonant filter: finite and bounded.
    let mut loud = track("h", "kick", 16, &(0..16).collect::<Vec<_>>());
    loud.fx.filter = keyboardia_core::FilterMode::HighPass;
    loud.fx.resonance = 1.0;
    loud.fx.drive = 1.0;
    loud.fx.reverb_send = 1.0;
    loud.fx.delay_send = 1.0;
    load_session(&mut p, &session(180.0, 0.0, vec![loud]));
    for i in 0..300 {
        let v = if i % 2 == 0 { 0.0 } else { 1.0 };
        let t = Some(Transport {
            playing: true,
            tempo_bpm: 180.0,
            beat: i as f64 * 256.0 * 3.0 / sr,
        });
        let set = [(0, cutoff, v), (0, reverb, 1.0 - v), (0, delay, v)];
        let b = p.process(256, t, &[], &set);
        assert!(
            b.left
                .iter()
                .chain(&b.right)
                .all(|x| x.is_finite() && x.abs() <= 1.0),
            "block {i}"
        );
    }
}

/// Patterns and songs in a real host: the "Pattern" parameter, automated while the host plays,
/// switches to pattern B at the next bar line (the audio and the MIDI follow it there, not
/// before), and "Song Mode" plays the session's song as a chain (A, then B, looping), placed
/// by the host's position when the host relocates.
#[test]
fn plugin_clap_pattern_and_song_mode_parameters_switch_at_the_bar_line() {
    let _serial = serial();
    let sr = 48_000.0;
    // 120 BPM: a 16th is 6000 frames, a bar 96,000.
    let step = 6_000usize;
    let mut p = plugin(sr, 512);
    // A: the rim on step 0; B: the rim on steps 0 and 8.
    let mut s = session(120.0, 0.0, vec![track("r", "rim", 16, &[0])]);
    for on in [0, 8] {
        s.apply(&keyboardia_core::Op::SetStep {
            pt: "B".parse().unwrap(),
            tr: "r".parse().unwrap(),
            s: on,
            on: true,
        })
        .unwrap();
    }
    s.song = vec![
        keyboardia_core::SongEntry {
            pattern: keyboardia_core::PatternId::A,
            repeats: 1,
        },
        keyboardia_core::SongEntry {
            pattern: "B".parse().unwrap(),
            repeats: 1,
        },
    ];
    load_session(&mut p, &s);
    let (pattern, song_mode) = (p.param_id("Pattern"), p.param_id("Song Mode"));
    // The host plays from beat 0 and automates Pattern to B (index 1) at frame 30,720
    // (step 5.12, a block boundary): B takes over on the bar line, step 16.
    // Renders `frames` frames from host frame `from` (beat `from / 24000`), setting `params`
    // at their frames (from `from`).
    let render =
        |p: &mut ClapPlugin, from: usize, frames: usize, mut params: Vec<(usize, ClapId, f64)>| {
            let mut notes = Vec::new();
            let mut left = Vec::new();
            let mut pos = 0;
            while pos < frames {
                let t = Transport {
                    playing: true,
                    tempo_bpm: 120.0,
                    beat: (from + pos) as f64 / 24_000.0,
                };
                let now: Vec<_> = params
                    .iter()
                    .filter(|(at, _, _)| *at == pos)
                    .map(|&(_, id, v)| (0, id, v))
                    .collect();
                params.retain(|(at, _, _)| *at != pos);
                let b = p.process(512, Some(t), &[], &now);
                notes.extend(b.notes.iter().map(|n| (pos + n.offset as usize, *n)));
                left.extend_from_slice(&b.left);
                pos += 512;
            }
            (left, notes)
        };
    let (left, notes) = render(&mut p, 0, 42 * step, vec![(30_720, pattern, 1.0)]);
    let want: Vec<usize> = [0, 16, 24, 32, 40].iter().map(|s| s * step).collect();
    assert_close(&note_ons(&notes, 0), &want, "pattern B from the bar line");
    assert_close(&onsets(&left, 100), &want, "the audio follows the MIDI");

    // Stopped, Song Mode on: at once; from the start the song plays A (bar 1), B (bar 2),
    // and loops.
    let stopped = Some(Transport {
        playing: false,
        tempo_bpm: 120.0,
        beat: 0.0,
    });
    let _ = p.process(512, stopped, &[], &[(0, song_mode, 1.0)]);
    let (_, notes) = render(&mut p, 0, 66 * step, vec![]);
    let want: Vec<usize> = [0, 16, 24, 32, 48, 56, 64]
        .iter()
        .map(|s| s * step)
        .collect();
    assert_close(&note_ons(&notes, 0), &want, "the song: A, B, A, B");

    // The host relocates to bar 6 (beat 20, step 80): the song follows the host's position,
    // so bar 6 is the song's B (bars 1, 3, 5 are A), then bar 7 is A.
    let (_, notes) = render(&mut p, 80 * step, 34 * step, vec![]);
    let want: Vec<usize> = [0, 8, 16, 32].iter().map(|s| s * step).collect();
    assert_close(
        &note_ons(&notes, 0),
        &want,
        "the host's bar 6 is the song's B",
    );
}
