//! The sound picker's preview: played with the sequencer stopped, once, at the track's volume
//! and pan, through the master (and its meter); a new preview replaces the last one.

use std::sync::Arc;

use keyboardia_core::{BuiltinSound, SynthPreset};
use keyboardia_engine::{BlockClock, Engine, LevelMeters, Patch, Preview, SampleBuffer};

/// Renders `frames` stopped frames in blocks of 256: (left, right).
fn render(engine: &mut Engine, frames: usize) -> (Vec<f32>, Vec<f32>) {
    let clock = BlockClock {
        playing: false,
        tempo_bpm: 120.0,
        beat: 0.0,
    };
    let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
    for (bl, br) in l.chunks_mut(256).zip(r.chunks_mut(256)) {
        engine.process(&clock, &[], bl, br, None);
    }
    (l, r)
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |a, v| a.max(v.abs()))
}

#[test]
fn a_preview_sounds_once_while_stopped_at_the_tracks_pan() {
    let sr = 48_000.0;
    let mut engine = Engine::new(sr);
    let meters = Arc::new(LevelMeters::default());
    engine.set_meters(meters.clone());
    let (l, r) = render(&mut engine, 4_800);
    assert_eq!(peak(&l) + peak(&r), 0.0, "silent before");
    for patch in [
        Patch::Sound(BuiltinSound::Kick),
        Patch::Sound(BuiltinSound::Bell),
        Patch::Synth(SynthPreset::Lead),
    ] {
        engine.preview(Preview {
            patch,
            volume: 1.0,
            pan: -1.0,
        });
        assert!(engine.previewing());
        let (l, r) = render(&mut engine, 9_600);
        assert!(peak(&l) > 0.05, "{patch:?} sounds: {}", peak(&l));
        assert_eq!(peak(&r), 0.0, "{patch:?} hard left");
        assert!(meters.take().1 > 0.05, "the master meter sees it");
        // Once: it ends (gated at 0.6 s, or its own decay) and stays silent.
        let (l, _) = render(&mut engine, 4 * 48_000);
        assert!(!engine.previewing(), "{patch:?} ended");
        assert_eq!(peak(&l[3 * 48_000..]), 0.0, "{patch:?} silent afterwards");
    }
    // Volume scales it; a sample plays from its slot.
    engine.set_sample(
        3,
        Some(Arc::new(SampleBuffer {
            frames: (0..4800).map(|i| (i as f32 * 0.05).sin()).collect(),
            sample_rate_hz: sr as f32,
        })),
    );
    let level = |engine: &mut Engine, volume: f32| {
        engine.preview(Preview {
            patch: Patch::Sample(3),
            volume,
            pan: 0.0,
        });
        peak(&render(engine, 4_800).0)
    };
    let (full, half) = (level(&mut engine, 1.0), level(&mut engine, 0.5));
    assert!(full > 0.1, "the sample sounds: {full}");
    assert!((half / full - 0.5).abs() < 0.05, "{half} vs {full}");
    // An empty slot previews silence; a reset silences a preview.
    engine.preview(Preview {
        patch: Patch::Sample(9),
        volume: 1.0,
        pan: 0.0,
    });
    assert_eq!(peak(&render(&mut engine, 4_800).0), 0.0);
    engine.preview(Preview {
        patch: Patch::Sound(BuiltinSound::Snare),
        volume: 1.0,
        pan: 0.0,
    });
    engine.reset();
    assert_eq!(peak(&render(&mut engine, 4_800).0), 0.0);
}
