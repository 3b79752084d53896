//! Golden renders: the exact output of the engine, pinned as SHA-256 digests of the f32 bits.
//!
//! Renders the demo, the benchmark's dense patterns A, B and C (`bench_patterns`), a scripted
//! performance (a sample track with slices, probability locks, auditions, mixer and master gain
//! automation, swing automation, pattern swaps, a loop jump, stop/start, a tempo change, a reset;
//! per-track aux outputs and MIDI out hashed too) and every voice on its own, at several block
//! sizes and two sample rates. A refactor of the engine must leave every digest unchanged.
//!
//! The expected digests are in `tests/golden.txt`, one `name digest` per line. After a change
//! that is *meant* to change the sound, regenerate them with
//!
//! ```text
//! KEYBOARDIA_BLESS_GOLDEN=1 cargo test -p keyboardia-engine --test golden
//! ```
//!
//! and say in the commit why the audio changed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use keyboardia_core::{BuiltinSound, Instrument, Lock, SessionState, SynthPreset, Track};
use keyboardia_engine::bench_patterns::{dense, A, B, C};
use keyboardia_engine::render::{render_session, RenderOptions};
use keyboardia_engine::voice::{
    render_one_shot, NoteParams, Patch, SampleBank, SampleBuffer, Voice, GATE_HELD,
};
use keyboardia_engine::{BlockClock, Engine, EnginePattern, InputEvent, InternalClock, TrackMixer};
use sha2::{Digest, Sha256};

/// Sample rates every case is rendered at.
const RATES_HZ: [f64; 2] = [48_000.0, 44_100.0];
/// Fixed block sizes (frames per `process()` call).
const BLOCKS: [usize; 4] = [1, 64, 333, 4096];

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden.txt")
}

fn bless() -> bool {
    std::env::var_os("KEYBOARDIA_BLESS_GOLDEN").is_some()
}

/// Serializes blessing: the tests run in parallel and share one file.
static FILE: Mutex<()> = Mutex::new(());

/// Compares `got` (name → digest) with the golden file, or writes it there when blessing.
fn check(got: BTreeMap<String, String>) {
    let _guard = FILE.lock().unwrap_or_else(|e| e.into_inner());
    let text = std::fs::read_to_string(golden_path()).unwrap_or_default();
    let mut want: BTreeMap<String, String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (name, digest) = l.split_once(' ')?;
            Some((name.to_owned(), digest.trim().to_owned()))
        })
        .collect();
    if bless() {
        want.extend(got);
        let mut out = String::from(
            "# Golden engine renders: name (case@rate/blocks) and SHA-256 of the output's f32 bits.\n\
             # Regenerate: KEYBOARDIA_BLESS_GOLDEN=1 cargo test -p keyboardia-engine --test golden\n",
        );
        for (name, digest) in &want {
            out.push_str(&format!("{name} {digest}\n"));
        }
        std::fs::write(golden_path(), out).expect("write golden.txt");
        return;
    }
    let mut wrong = Vec::new();
    for (name, digest) in &got {
        match want.get(name) {
            Some(w) if w == digest => {}
            Some(w) => wrong.push(format!("{name}: got {digest}, want {w}")),
            None => wrong.push(format!("{name}: not in golden.txt (got {digest})")),
        }
    }
    assert!(
        wrong.is_empty(),
        "the engine's output changed:\n{}",
        wrong.join("\n")
    );
}

/// SHA-256 of everything a render produced, in a fixed order.
#[derive(Default)]
struct Hasher(Sha256);

impl Hasher {
    fn floats(&mut self, x: &[f32]) {
        for v in x {
            self.0.update(v.to_bits().to_le_bytes());
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.update(b);
    }

    fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Renders `seconds` of `state` from beat 0 on the internal clock in blocks of `block` frames;
/// the digest covers the master mix and the MIDI out.
fn render_state(state: &SessionState, sr: f64, block: usize, seconds: f64) -> String {
    let pattern = EnginePattern::from_state(state, |_| None);
    let mut engine = Engine::new(sr);
    // The session's seed: the demo and the dense patterns have the migration default, the seed
    // these digests were made with.
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let frames = (seconds * sr) as usize;
    let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut h = Hasher::default();
    let mut pos = 0;
    while pos < frames {
        let n = block.min(frames - pos);
        let c = clock.next_block(n as u32, sr);
        engine.process(
            &c,
            &[],
            &mut left[pos..pos + n],
            &mut right[pos..pos + n],
            None,
        );
        for m in engine.midi_out() {
            midi(&mut h, pos, m);
        }
        pos += n;
    }
    h.floats(&left);
    h.floats(&right);
    h.finish()
}

fn midi(h: &mut Hasher, block_start: usize, m: &keyboardia_engine::MidiOut) {
    h.bytes(&((block_start + m.offset as usize) as u64).to_le_bytes());
    h.bytes(&[m.channel, m.note, m.velocity, m.on as u8]);
}

/// Every rate × block size of one state.
fn all_blocks(name: &str, state: &SessionState, seconds: f64) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sr in RATES_HZ {
        for block in BLOCKS {
            out.insert(
                format!("{name}@{sr}/{block}"),
                render_state(state, sr, block, seconds),
            );
        }
    }
    out
}

#[test]
fn the_demo_renders_as_before() {
    check(all_blocks("demo", &SessionState::demo(), 4.0));
}

#[test]
fn dense_pattern_a_renders_as_before() {
    check(all_blocks("A", &dense(&A), 2.5));
}

#[test]
fn dense_pattern_b_renders_as_before() {
    check(all_blocks("B", &dense(&B), 2.5));
}

#[test]
fn dense_pattern_c_renders_as_before() {
    check(all_blocks("C", &dense(&C), 2.5));
}

/// The offline renderer (`render::render_session`, what `keyboardia-render` and the WAV bounce
/// play): the demo and a dense pattern with its own seed, at the default options and at an odd
/// block size and rate. The streaming bounce (`tests/export.rs`) must equal these bit for bit.
#[test]
fn the_offline_renderer_renders_as_before() {
    let mut seeded = dense(&B);
    seeded.seed = 0x0123_4567_89ab_cdef;
    let mut got = BTreeMap::new();
    for (name, state) in [("demo", SessionState::demo()), ("B-seeded", seeded)] {
        for opts in [
            RenderOptions::default(),
            RenderOptions {
                sample_rate_hz: 44_100.0,
                block_frames: 333,
                seed: None,
            },
        ] {
            let audio = render_session(&state, &opts, 1.5);
            let mut h = Hasher::default();
            h.floats(&audio.left);
            h.floats(&audio.right);
            got.insert(
                format!(
                    "render:{name}@{}/{}",
                    opts.sample_rate_hz, opts.block_frames
                ),
                h.finish(),
            );
        }
    }
    check(got);
}

/// A take-like test sample: a decaying chord with noise, `frames` long.
fn sample(frames: usize, sr: f32) -> Arc<SampleBuffer> {
    let mut rng = 0x1234_5678u32;
    let frames = (0..frames)
        .map(|i| {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (rng >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = i as f32 / sr;
            let env = (-3.0 * (t % 0.37)).exp();
            env * (0.5 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.3 * (2.0 * std::f32::consts::PI * 331.0 * t).sin()
                + 0.2 * noise)
        })
        .collect();
    Arc::new(SampleBuffer {
        frames,
        sample_rate_hz: sr,
    })
}

/// The performance's session: a sample track with slices, a second sample track without, and
/// a mix of drums and synths with every kind of lock, at uneven track lengths.
fn performance_state() -> SessionState {
    let names = [
        "sample:vox",
        "kick",
        "snare",
        "clap",
        "hat_open",
        "tom_low",
        "cowbell",
        "sub_bass",
        "fm_bass",
        "stab",
        "bell",
        "riser",
        "synth:bass",
        "synth:pad",
        "synth:acid",
        "sample:vox2",
    ];
    let tracks = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut t = Track::new(
                format!("p{i}").parse().unwrap(),
                *n,
                n.parse::<Instrument>().unwrap(),
            );
            t.step_count = 13 + i as u8;
            t.volume = 0.8;
            t.pan = (i as f32 / 7.5) - 1.0;
            for s in 0..64 {
                t.steps[s].on = (s + i) % 3 != 0;
                t.steps[s].velocity = 50 + ((s * 11 + i * 5) % 78) as u8;
                t.steps[s].locks.set(Lock::Pitch((s % 7) as i8 - 3));
                if s % 4 == 1 {
                    t.steps[s].locks.set(Lock::Ratchet(1 + (s % 4) as u8));
                }
                if s % 5 == 0 {
                    t.steps[s].locks.set(Lock::Probability(50));
                }
                if s % 6 == 0 {
                    t.steps[s].locks.set(Lock::Nudge(-30 + (s % 5) as i8 * 15));
                }
                if s % 7 == 3 {
                    t.steps[s].locks.set(Lock::Volume(0.6));
                }
                if s % 2 == 0 {
                    // 7 is past the last slice.
                    t.steps[s].locks.set(Lock::Slice((s % 8) as u8));
                }
            }
            if i == 0 {
                t.cuts = vec![0, 700, 1_500, 2_600, 4_000, 9_000];
            }
            t
        })
        .collect();
    SessionState {
        tempo: 150.0,
        swing: 30.0,
        tracks,
        ..SessionState::default()
    }
}

/// Plays the performance for `blocks` blocks with block sizes from `next_block`, changing
/// things at fixed block indices; the digest covers the mix, the 16 aux outputs and the MIDI.
fn performance(sr: f64, blocks: usize, mut next_block: impl FnMut(usize) -> usize) -> String {
    let state = performance_state();
    let slots = |id: &keyboardia_core::SampleId| Some(if id.as_str() == "vox" { 0 } else { 1 });
    let p1 = EnginePattern::from_state(&state, slots);
    let mut changed = state.clone();
    // Reordered, one track removed, one new, one changed instrument, pans and volumes moved.
    changed.tracks.reverse();
    changed.tracks.pop();
    changed.tracks[3].instrument = Instrument::Synth(SynthPreset::Lead);
    changed.tracks[5].pan = 0.9;
    changed.tracks[6].volume = 0.2;
    let mut extra = Track::new(
        "extra".parse().unwrap(),
        "extra",
        Instrument::Synth(SynthPreset::Pluck),
    );
    for s in (0..16).step_by(3) {
        extra.steps[s].on = true;
    }
    changed.tracks.push(extra);
    changed.swing = 55.0;
    let p2 = EnginePattern::from_state(&changed, slots);

    let mut engine = Engine::new(sr);
    engine.set_seed(0xC0FFEE);
    engine.set_pattern(&p1);
    engine.set_sample(0, Some(sample(12_000, 44_100.0)));
    let mut h = Hasher::default();
    let mut beat = 0.0f64;
    let mut tempo = 150.0;
    let mut pos = 0usize;
    let mut left = vec![0.0f32; 4096];
    let mut right = vec![0.0f32; 4096];
    let mut aux = vec![vec![0.0f32; 4096]; 32];
    for block in 0..blocks {
        let n = next_block(block).clamp(1, 4096);
        let playing = block % 300 < 280;
        match block {
            40 => {
                engine.set_sample(1, Some(sample(30_000, sr as f32)));
            }
            90 => engine.set_pattern(&p2),
            150 => {
                engine.set_pattern(&p1);
                engine.set_swing_override(Some(70.0));
            }
            200 => beat = 6.0, // a loop jump
            240 => engine.set_swing_override(None),
            330 => tempo = 97.0,
            400 => {
                let _old = engine.set_sample(0, Some(sample(5_000, sr as f32)));
            }
            500 => engine.reset(),
            _ => {}
        }
        if block % 17 == 0 {
            engine.set_track_mixer(
                block % 16,
                TrackMixer {
                    volume: (block % 10) as f32 / 10.0,
                    mute: block % 51 == 0,
                    solo: block % 85 == 0,
                },
            );
        }
        if block % 23 == 0 {
            engine.set_master_gain(0.4 + (block % 3) as f32 * 0.5);
        }
        engine.set_audition_track((block / 13) % 16);
        let key = 48 + (block % 24) as u8;
        let ev: Vec<InputEvent> = match block % 20 {
            0 => vec![InputEvent::NoteOn {
                offset: (n / 2) as u32,
                key,
                velocity: 90 + (block % 37) as u8,
            }],
            7 => vec![InputEvent::NoteOff {
                offset: 0,
                key: key - 7,
            }],
            _ => Vec::new(),
        };
        let clock = BlockClock {
            playing,
            tempo_bpm: tempo,
            beat,
        };
        let mut sink = |t: usize, off: usize, l: &[f32], r: &[f32]| {
            aux[2 * t][off..off + l.len()].copy_from_slice(l);
            aux[2 * t + 1][off..off + r.len()].copy_from_slice(r);
        };
        engine.process(
            &clock,
            &ev,
            &mut left[..n],
            &mut right[..n],
            Some(&mut sink),
        );
        h.floats(&left[..n]);
        h.floats(&right[..n]);
        for a in &aux {
            h.floats(&a[..n]);
        }
        for m in engine.midi_out() {
            midi(&mut h, pos, m);
        }
        if playing {
            beat += n as f64 * tempo / (60.0 * sr);
        }
        pos += n;
    }
    h.finish()
}

#[test]
fn the_scripted_performance_renders_as_before() {
    let mut got = BTreeMap::new();
    for sr in RATES_HZ {
        for block in [64usize, 333] {
            got.insert(
                format!("performance@{sr}/{block}"),
                performance(sr, 600, |_| block),
            );
        }
        // Uneven host blocks, 1 to 1024 frames.
        let mut rng = 7u64;
        got.insert(
            format!("performance@{sr}/random"),
            performance(sr, 600, |b| {
                rng = rng
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                if b % 9 == 0 {
                    1
                } else {
                    1 + (rng >> 33) as usize % 1024
                }
            }),
        );
    }
    check(got);
}

/// Every patch played on a bare voice: several pitches and velocities (accent), gated and held
/// notes, an acid slide, a choke, a slice of a sample, and one-shot tables played pitched;
/// rendered in `chunk`-frame calls.
fn voices(sr: f32, chunk: usize) -> String {
    let mut bank: SampleBank = std::array::from_fn(|_| None);
    bank[3] = Some(sample(20_000, 32_000.0));
    let patches = BuiltinSound::ALL
        .iter()
        .map(|s| Patch::Sound(*s))
        .chain(SynthPreset::ALL.iter().map(|p| Patch::Synth(*p)))
        .chain([Patch::Sample(3), Patch::Sample(4)]);
    let mut h = Hasher::default();
    let frames = (0.6 * sr) as usize;
    let mut out = vec![0.0f32; frames];
    for patch in patches {
        for (pitch, velocity, gate_s) in [
            (0.0, 127, None),
            (-5.0, 80, Some(0.15)),
            (7.0, 115, Some(0.3)),
        ] {
            let mut v = Voice::default();
            let params = NoteParams {
                pitch_semis: pitch,
                velocity,
                gain: 0.9,
                gate_frames: gate_s.map_or(GATE_HELD, |g: f32| (g * sr) as u32),
            };
            v.start(2, patch, params, 99 + velocity as u32, sr);
            if pitch < 0.0 {
                v.play_range(2_000, 9_000);
            }
            out.fill(0.0);
            for (i, c) in out.chunks_mut(chunk).enumerate() {
                let at = i * chunk;
                // A slide a third of the way in, a choke at half (the held note).
                if at >= frames / 3 && at < frames / 3 + chunk {
                    v.slide(NoteParams {
                        pitch_semis: pitch + 3.0,
                        ..params
                    });
                }
                if gate_s.is_none() && at >= frames / 2 && at < frames / 2 + chunk {
                    v.choke();
                }
                v.render(c, &bank);
            }
            h.floats(&out);
            h.bytes(&[v.active as u8]);
        }
        if let Patch::Sound(s) = patch {
            if keyboardia_engine::voice::is_one_shot(s) {
                let table = render_one_shot(s, 1, sr);
                h.floats(&table);
                let mut v = Voice::default();
                let params = NoteParams {
                    pitch_semis: -4.0,
                    velocity: 100,
                    gain: 1.0,
                    gate_frames: GATE_HELD,
                };
                v.start_one_shot(1, patch, params, table, sr);
                out.fill(0.0);
                for c in out.chunks_mut(chunk) {
                    v.render(c, &bank);
                }
                h.floats(&out);
            }
        }
    }
    h.finish()
}

#[test]
fn every_voice_renders_as_before() {
    let mut got = BTreeMap::new();
    for sr in RATES_HZ {
        for chunk in [64usize, 17, 1] {
            got.insert(format!("voices@{sr}/{chunk}"), voices(sr as f32, chunk));
        }
    }
    check(got);
}
