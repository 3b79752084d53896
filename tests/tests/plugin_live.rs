//! Two Keyboardia plugins in a real CLAP host, joined to one live session on the real Worker
//! (through their saved state, as a DAW project would), in session-clock mode: one "play" for
//! the session, and both render the beat at the same moments. Edits made through one plugin's
//! session reach the other's audio.

use keyboardia_core::PatternId;
use std::time::{Duration, Instant};

use keyboardia_core::protocol::ClientMessage;
use keyboardia_core::{Op, SessionId, Track};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin};
use keyboardia_tests::onsets::{four_on_the_floor, hits};
use keyboardia_tests::players::{create_session, unix_ms};
use keyboardia_tests::saved_state;
use keyboardia_tests::server::{LiveClient, Server};

const SR: f64 = 48_000.0;
const BLOCK: usize = 512;

/// A plugin joined to `session` through its saved state, in session-clock mode.
fn joined_plugin(base: &str, session: SessionId, name: &str) -> ClapPlugin {
    let path = clap_bundle_path(BundleKind::Release);
    let mut p = ClapPlugin::load(&path, "dev.keyboardia.sequencer", SR, BLOCK);
    let mut state = saved_state::parse(&p.save_state());
    let joined =
        serde_json::json!({ "server": base, "session": session, "name": name, "pending": [] });
    // The `live` field is a struct: its value is saved as that struct's JSON.
    state["fields"]["live"] = serde_json::Value::String(joined.to_string());
    p.load_state(&saved_state::to_bytes(&state));
    // The host restarts its engine after loading the project: the plugin joins.
    p.reactivate();
    p
}

/// What one plugin rendered.
struct Rendered {
    /// Left channel.
    left: Vec<f32>,
    /// Wall-clock time of the first frame (ms since the Unix epoch).
    wall0: f64,
    /// Frames of the note-ons it sent, with their MIDI channel (= track slot).
    note_ons: Vec<(usize, u8)>,
}

impl Rendered {
    /// Onsets of `channel`'s notes.
    fn onsets(&self, channel: u8) -> Vec<usize> {
        self.note_ons
            .iter()
            .filter(|(_, c)| *c == channel)
            .map(|(f, _)| *f)
            .collect()
    }
}

/// Power of the `hz` component of `x` relative to its total power: Goertzel over 20 ms windows,
/// their powers summed. (One Goertzel over the whole signal adds separate tone bursts by their
/// phases, which cancel or not depending on where the hits fall: the share then varied 70-fold
/// between runs of the same render.)
fn tone_share(x: &[f32], hz: f64) -> f64 {
    const WINDOW: usize = 960;
    let w = 2.0 * std::f64::consts::PI * hz / SR;
    let mut tone = 0.0f64;
    for chunk in x.chunks(WINDOW) {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in chunk {
            let s0 = v as f64 + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        // A pure tone of amplitude A gives power (A·n/2)² over n frames, energy A²·n/2.
        tone += power / (chunk.len() as f64 / 2.0);
    }
    let total: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum();
    tone / total.max(1e-12)
}

/// Processes the plugins block by block at the pace of a real audio device for `secs`.
fn render_live(
    plugins: &mut [&mut ClapPlugin],
    secs: f64,
    clock_param: Option<f64>,
) -> Vec<Rendered> {
    render_live_with(plugins, secs, |_, k| match clock_param {
        Some(v) if k == 0 => vec![("Clock", v)],
        _ => vec![],
    })
}

/// [`render_live`], setting the parameters `params(plugin, block)` names at the start of that
/// block of that plugin.
fn render_live_with(
    plugins: &mut [&mut ClapPlugin],
    secs: f64,
    params: impl Fn(usize, usize) -> Vec<(&'static str, f64)>,
) -> Vec<Rendered> {
    let blocks = (secs * SR / BLOCK as f64) as usize;
    let wall0 = unix_ms();
    let mut out: Vec<Rendered> = plugins
        .iter()
        .map(|_| Rendered {
            left: Vec::new(),
            wall0,
            note_ons: Vec::new(),
        })
        .collect();
    let start = Instant::now();
    for k in 0..blocks {
        let due = start + Duration::from_secs_f64(k as f64 * BLOCK as f64 / SR);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for (i, p) in plugins.iter_mut().enumerate() {
            let params: Vec<(u32, clack_host::prelude::ClapId, f64)> = params(i, k)
                .into_iter()
                .map(|(name, v)| (0, p.param_id(name), v))
                .collect();
            let b = p.process(BLOCK, None, &[], &params);
            let at = out[i].left.len();
            out[i].note_ons.extend(
                b.notes
                    .iter()
                    .filter(|n| n.on)
                    .map(|n| (at + n.offset as usize, n.channel)),
            );
            out[i].left.extend_from_slice(&b.left);
        }
    }
    out
}

/// The tests of this file run one at a time: each renders two plugins in real time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn two_plugins_in_one_session_play_in_time() {
    let _serial = serial();
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());

    let mut a = joined_plugin(&base, id, "Ada");
    // The second player opens the project later.
    std::thread::sleep(Duration::from_millis(700));
    let mut b = joined_plugin(&base, id, "Bob");
    // Select the session clock ("Clock" is an enum: Host, Internal, Session) and let the clocks
    // settle while rendering silence (nobody pressed play yet).
    let session_clock = a.param_range("Clock").2;
    let quiet = render_live(&mut [&mut a, &mut b], 3.0, Some(session_clock));
    // Until the session answers, session mode plays alone on the internal clock; once joined,
    // it follows the session's timeline, which is stopped.
    let tail = (1.5 * SR) as usize;
    for r in &quiet {
        let l = &r.left;
        let last = &l[l.len() - tail..];
        assert!(
            last.iter().all(|v| v.abs() < 1e-3),
            "silent once joined, before play"
        );
    }

    // One player presses play for everybody (here through a third client of the room).
    let mut c = LiveClient::join(&base, id, "conductor");
    c.send(&ClientMessage::Play);
    let played = render_live(&mut [&mut a, &mut b], 2.5, None);
    let onsets: Vec<Vec<f64>> = played
        .iter()
        .map(|r| {
            hits(&r.left)
                .into_iter()
                .map(|i| r.wall0 + i as f64 * 1000.0 / SR)
                .collect()
        })
        .collect();
    assert!(onsets[0].len() >= 3, "A played {:?}", onsets[0]);
    assert_eq!(onsets[0].len(), onsets[1].len(), "{onsets:?}");
    let worst = onsets[0]
        .iter()
        .zip(&onsets[1])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    println!(
        "{} beats, worst misalignment between the two plugins {worst:.3} ms",
        onsets[0].len()
    );
    assert!(worst <= 1.0, "{onsets:?}");
    // Beats are 500 ms apart.
    for w in onsets[0].windows(2) {
        assert!((w[1] - w[0] - 500.0).abs() < 2.0, "{onsets:?}");
    }

    // The kick's notes (channel 0) are the onsets heard.
    for r in &played {
        let kicks = r.onsets(0);
        assert_eq!(kicks.len(), hits(&r.left).len(), "{kicks:?}");
        assert!(r.onsets(1).is_empty());
    }

    // An edit through the session (a snare on the off-beats) reaches both plugins' audio.
    c.edit(Op::AddTrack {
        track: Box::new({
            let mut t = Track::new("snare".parse().unwrap(), "Snare", "snare".parse().unwrap());
            for s in [2, 6, 10, 14] {
                t.steps[s].on = true;
            }
            t
        }),
        index: None,
    });
    std::thread::sleep(Duration::from_millis(300));
    let after = render_live(&mut [&mut a, &mut b], 2.0, None);
    for r in &after {
        assert!(
            r.onsets(1).len() >= 3,
            "snare notes on track 2: {:?}",
            r.note_ons
        );
    }

    // A player shares a sample (a 1 kHz tone) and puts it on the snare track: both plugins
    // download it off the audio thread and play it in their mix.
    let tone: Vec<f32> = (0..9_600)
        .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1_000.0 / 48_000.0).sin() * 0.8)
        .collect();
    let rest = keyboardia_sync::Rest::new(keyboardia_sync::Server::new(&base).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wav = keyboardia_core::audio::encode_wav_i16(&tone, 48_000).unwrap();
    let up = rt.block_on(rest.upload_sample(id, "tone", wav)).unwrap();
    let sample_id = up.id.clone();
    let sample = keyboardia_core::Instrument::Sample(up.id);
    c.edit(Op::SetInstrument {
        tr: "snare".parse().unwrap(),
        v: sample,
    });
    // Each plugin downloads it off the audio thread: wait until both hold it (a fixed pause
    // made this test depend on how fast the download and its retries go on a busy machine).
    let asked = Instant::now();
    for p in [&mut a, &mut b] {
        while !saved_samples(p).iter().any(|(s, _)| *s == sample_id) {
            assert!(
                asked.elapsed() < Duration::from_secs(20),
                "the shared sample never reached a plugin"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!(
        "both plugins hold the shared sample after {:?}",
        asked.elapsed()
    );
    let with_sample = render_live(&mut [&mut a, &mut b], 2.0, None);
    for (r, before) in with_sample.iter().zip(&after) {
        let (now, was) = (
            tone_share(&r.left, 1_000.0),
            tone_share(&before.left, 1_000.0),
        );
        println!("1 kHz share of the mix: {was:.4} with the snare, {now:.4} with the shared tone");
        // Without the tone the share is the kick's and snare's leakage, about 0.0005-0.0009;
        // with it 0.07-0.26 in repeated runs.
        assert!(
            r.onsets(1).len() >= 3 && now > 20.0 * was && now > 0.02,
            "the shared tone plays: {was} -> {now}, snare notes {:?}",
            r.onsets(1)
        );
    }
    c.close();
}

/// A plugin's saved state document.
fn saved(p: &mut ClapPlugin) -> serde_json::Value {
    saved_state::parse(&p.save_state())
}

/// The session a plugin would save.
fn saved_session(p: &mut ClapPlugin) -> keyboardia_core::SessionState {
    serde_json::from_str(&saved_state::field(&saved(p), "session")).unwrap()
}

/// The samples a plugin would save (those its tracks play), by id.
fn saved_samples(p: &mut ClapPlugin) -> Vec<(keyboardia_core::SampleId, Vec<f32>)> {
    keyboardia::samples::decode_samples(&saved_state::field(&saved(p), "samples"))
        .into_iter()
        .map(|(id, b)| (id, b.frames.to_vec()))
        .collect()
}

/// What the player records: three 1 kHz bursts a quarter second apart.
fn bursts(frame: usize) -> f32 {
    let t = (frame % 12_000) as f32 / SR as f32;
    if frame >= 36_000 {
        return 0.0;
    }
    (t * 2.0 * std::f32::consts::PI * 1_000.0).sin() * 0.8 * (-t * 30.0).exp()
}

const STOPPED: keyboardia_tests::clap_host::Transport = keyboardia_tests::clap_host::Transport {
    playing: false,
    tempo_bpm: 120.0,
    beat: 0.0,
};

/// A take recorded through one plugin's "Input" sidechain and added to the grid with "Add Take
/// to Grid" (the editor's "Add to grid", done by the plugin) travels through the session: the
/// track reaches the other plugin through the room, the sample through the server, and the
/// other plugin holds exactly the recorded frames and plays them exactly as the first does.
#[test]
fn a_take_recorded_in_one_plugin_plays_in_the_other() {
    let _serial = serial();
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());
    let mut a = joined_plugin(&base, id, "Ada");
    let mut b = joined_plugin(&base, id, "Bob");
    // Both join while their hosts idle (transport stopped).
    let mut pos = 0usize;
    let idle = |p: &mut ClapPlugin, blocks: usize| {
        for _ in 0..blocks {
            let _ = p.process(BLOCK, Some(STOPPED), &[], &[]);
        }
    };
    for _ in 0..30 {
        idle(&mut a, 1);
        idle(&mut b, 1);
        std::thread::sleep(Duration::from_millis(30));
    }

    // Ada holds Record for 1.5 s (the host routes the bursts into the Input sidechain), then
    // presses "Add Take to Grid".
    let block_with = |p: &mut ClapPlugin, params: &[(&str, f64)], pos: &mut usize| {
        let l: Vec<f32> = (*pos..*pos + BLOCK).map(bursts).collect();
        let events: Vec<_> = params.iter().map(|(n, v)| (0, p.param_id(n), *v)).collect();
        let _ = p.process_with_input(BLOCK, Some(STOPPED), &[], &events, Some((&l, &l)));
        let start = *pos;
        *pos += BLOCK;
        start
    };
    let rec_start = block_with(&mut a, &[("Record", 1.0)], &mut pos);
    while pos < 72_000 {
        block_with(&mut a, &[], &mut pos);
    }
    let rec_end = block_with(&mut a, &[("Record", 0.0)], &mut pos);
    let take: Vec<f32> = (rec_start..rec_end).map(bursts).collect();
    block_with(&mut a, &[("Add Take to Grid", 1.0)], &mut pos);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (track, sample) = loop {
        block_with(&mut a, &[], &mut pos);
        std::thread::sleep(Duration::from_millis(10));
        let state = saved_session(&mut a);
        if let Some(t) = state.tracks.iter().find(|t| t.name == "Take 1") {
            match &t.instrument {
                keyboardia_core::Instrument::Sample(s) => break (t.id, s.clone()),
                other => panic!("the take's track plays {other:?}"),
            }
        }
        assert!(Instant::now() < deadline, "Ada's take never became a track");
    };
    // Ada's sampler holds the take at once, exactly (mono of identical channels).
    let ada = saved_samples(&mut a);
    assert_eq!(ada.iter().find(|(s, _)| *s == sample).unwrap().1, take);

    // Bob gets the track through the room and the sample through the server.
    let bob = loop {
        idle(&mut b, 1);
        std::thread::sleep(Duration::from_millis(20));
        if let Some((_, frames)) = saved_samples(&mut b)
            .into_iter()
            .find(|(s, _)| *s == sample)
        {
            break frames;
        }
        assert!(Instant::now() < deadline, "Bob never got the take");
    };
    assert!(saved_session(&mut b).track(track).is_some());
    assert_eq!(bob, take, "Bob holds exactly what Ada recorded");

    // A third player puts the take on step 3 (the off-beat after the first kick); both hosts
    // play from the start of the bar: both plugins render the same mix, the take in it.
    let mut c = LiveClient::join(&base, id, "conductor");
    c.edit(Op::SetStep {
        pt: PatternId::A,
        tr: track,
        s: 2,
        on: true,
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while [&mut a, &mut b]
        .iter_mut()
        .any(|p| !saved_session(p).track(track).unwrap().steps[2].on)
    {
        std::thread::sleep(Duration::from_millis(20));
        assert!(Instant::now() < deadline, "the step never arrived");
    }
    let bar = 4 * 24_000;
    let mixes: Vec<_> = [&mut a, &mut b]
        .into_iter()
        .map(|p| p.render(2 * bar, 120.0, 0.0, SR, || BLOCK))
        .collect();
    for (l, _, notes) in &mixes {
        let take_notes: Vec<usize> = notes
            .iter()
            .filter(|(_, n)| n.on && n.channel == 1)
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(
            take_notes.len(),
            2,
            "the take's step, twice: {take_notes:?}"
        );
        for (got, want) in take_notes.iter().zip([12_000, 12_000 + bar]) {
            // The host's beat position rounds to the frame.
            assert!(got.abs_diff(want) <= 1, "{take_notes:?}");
        }
        // The first burst sounds from the step on: 1 kHz dominates the kick's tail there, and
        // is absent just before.
        let (before, after) = (&l[9_900..11_900], &l[12_100..14_100]);
        let (was, now) = (tone_share(before, 1_000.0), tone_share(after, 1_000.0));
        println!("1 kHz share of the mix: {was:.4} before the take's step, {now:.4} after");
        assert!(now > 0.3 && now > 100.0 * was, "the take is in the mix");
    }
    let (la, lb) = (&mixes[0].0, &mixes[1].0);
    let worst = la
        .iter()
        .zip(lb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "both plugins play the same mix (worst difference {worst})"
    );
    c.close();
}

/// Frames of a 16th at 180 BPM and 48 kHz.
const STEP_180: usize = 4_000;

/// 180 BPM (the fastest tempo): a kick on the beats in patterns A and B, a clap on the off-beat
/// 8ths in B only (channel 1: every clap is pattern B playing); the song is A, then B.
fn two_patterns_and_a_song() -> keyboardia_core::SessionState {
    let mut s = four_on_the_floor();
    s.tempo = 180.0;
    s.tracks.push(Track::new(
        "clap".parse().unwrap(),
        "Clap",
        "clap".parse().unwrap(),
    ));
    let b: PatternId = "B".parse().unwrap();
    for (tr, steps) in [("kick", [0, 4, 8, 12]), ("clap", [2, 6, 10, 14])] {
        for step in steps {
            s.apply(&Op::SetStep {
                pt: b,
                tr: tr.parse().unwrap(),
                s: step,
                on: true,
            })
            .unwrap();
        }
    }
    s.song = [PatternId::A, b]
        .map(|pattern| keyboardia_core::SongEntry {
            pattern,
            repeats: 1,
        })
        .to_vec();
    s
}

/// The shared time (wall-clock ms) of each of `r`'s note-ons on `channel`.
fn shared_ms(r: &Rendered, channel: u8) -> Vec<f64> {
    r.onsets(channel)
        .into_iter()
        .map(|f| r.wall0 + f as f64 * 1000.0 / SR)
        .collect()
}

/// Patterns and songs in a live session: one player cues pattern B through its "Pattern"
/// parameter and both plugins switch on the same bar line, their first B hits a few frames
/// apart in shared time; the other player's "Song Mode" plays the chain (A, B, A, …) on both;
/// a player who joins later plays the same pattern and step as the others within a block.
#[test]
fn two_plugins_switch_patterns_and_play_the_song_together_and_a_late_joiner_lands_in_step() {
    let _serial = serial();
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &two_patterns_and_a_song());
    let mut a = joined_plugin(&base, id, "Ada");
    std::thread::sleep(Duration::from_millis(700));
    let mut b = joined_plugin(&base, id, "Bob");
    let session_clock = a.param_range("Clock").2;
    render_live(&mut [&mut a, &mut b], 3.0, Some(session_clock));

    let mut c = LiveClient::join(&base, id, "conductor");
    c.send(&ClientMessage::Play);
    // 1.5 s of A; then Ada automates Pattern to B (index 1); at 4 s Bob switches Song Mode
    // on. The room stamps each at the first bar line at least 250 ms on.
    let blocks_at = |s: f64| (s * SR / BLOCK as f64) as usize;
    let (cue_at, song_at) = (blocks_at(1.5), blocks_at(4.0));
    let played = render_live_with(&mut [&mut a, &mut b], 13.0, |i, k| match (i, k) {
        (0, k) if k == cue_at => vec![("Pattern", 1.0)],
        (1, k) if k == song_at => vec![("Song Mode", 1.0)],
        _ => vec![],
    });
    // Bars counted by the kicks, which play on every beat of A and B from the shared start
    // (kick 4n is bar n's downbeat); every clap is two steps after a kick.
    let mut clap_bars = Vec::new();
    for r in &played {
        let kicks = r.onsets(0);
        let claps = r.onsets(1);
        assert!(!claps.is_empty(), "pattern B plays: {:?}", r.note_ons);
        assert!(
            claps[0] > cue_at * BLOCK,
            "nothing of B before the cue: clap at {}, cue at {}",
            claps[0],
            cue_at * BLOCK
        );
        let mut bars = std::collections::BTreeSet::new();
        for &f in &claps {
            let i = kicks.iter().rposition(|&k| k <= f).expect("a kick before");
            // Within 2 ms: the frames follow the session clock as it is measured (the first
            // test's tolerance).
            assert!(
                (f - kicks[i]).abs_diff(2 * STEP_180) <= 96,
                "a clap off B's steps: {f}, kick {i} at {}",
                kicks[i]
            );
            bars.insert(i / 4);
        }
        clap_bars.push(bars);
    }
    // The first B hits of the two plugins, in shared time.
    let firsts: Vec<f64> = played.iter().map(|r| shared_ms(r, 1)[0]).collect();
    let apart_frames = (firsts[0] - firsts[1]).abs() * SR / 1000.0;
    println!(
        "first B hit: {:.3} ms into Ada's render, {:.3} ms into Bob's; {apart_frames:.1} frames apart",
        firsts[0] - played[0].wall0,
        firsts[1] - played[1].wall0
    );
    assert!(
        apart_frames <= 48.0,
        "the same bar line for both: {firsts:?}"
    );
    assert_eq!(clap_bars[0], clap_bars[1], "both play B in the same bars");
    // The bars: A, then B from the cue's bar line until the song starts (on A), then B every
    // other bar.
    let bars = &clap_bars[0];
    let first_b = *bars.first().unwrap();
    let song_start = (first_b..).find(|bar| !bars.contains(bar)).unwrap();
    let last_bar = played[0].onsets(0).len() / 4 - 1;
    assert!(
        song_start + 3 <= last_bar,
        "the song plays at least A, B, A: bars {bars:?}, song from {song_start}, last {last_bar}"
    );
    for bar in song_start..=last_bar {
        assert_eq!(
            bars.contains(&bar),
            (bar - song_start) % 2 == 1,
            "the song alternates A and B from bar {song_start}: {bars:?}"
        );
    }
    println!(
        "clap (pattern B) bars: {bars:?}; B from bar {first_b}, the song from bar {song_start}"
    );

    // Cy opens the project now, in the middle of the song: once its clock has settled it
    // plays what the others play, each note on the same step.
    let mut late = joined_plugin(&base, id, "Cy");
    let all = render_live_with(&mut [&mut a, &mut b, &mut late], 6.0, |i, k| {
        if i == 2 && k == 0 {
            vec![("Clock", session_clock)]
        } else {
            vec![]
        }
    });
    let from = all[0].wall0 + 3_000.0;
    let notes = |r: &Rendered| -> Vec<(f64, u8)> {
        r.note_ons
            .iter()
            .map(|&(f, ch)| (r.wall0 + f as f64 * 1000.0 / SR, ch))
            .filter(|(t, _)| *t >= from)
            .collect()
    };
    let (ada, cy) = (notes(&all[0]), notes(&all[2]));
    assert!(
        ada.iter().any(|(_, ch)| *ch == 1) && ada.iter().any(|(_, ch)| *ch == 0),
        "A and B both play in the last 3 s: {ada:?}"
    );
    assert_eq!(
        ada.iter().map(|(_, ch)| *ch).collect::<Vec<_>>(),
        cy.iter().map(|(_, ch)| *ch).collect::<Vec<_>>(),
        "the late joiner plays the same notes:\n{ada:?}\n{cy:?}"
    );
    let worst = ada
        .iter()
        .zip(&cy)
        .map(|((x, _), (y, _))| (x - y).abs())
        .fold(0.0, f64::max);
    println!(
        "late joiner: {} notes over the last 3 s, worst {:.3} ms ({:.1} frames) from Ada's",
        cy.len(),
        worst,
        worst * SR / 1000.0
    );
    assert!(
        worst <= BLOCK as f64 * 1000.0 / SR,
        "within a block: worst {worst} ms"
    );
    c.close();
}
