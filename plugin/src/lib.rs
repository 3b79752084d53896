//! Keyboardia as a CLAP/VST3 instrument (and standalone app).
//!
//! `process()` turns the host's transport into a [`BlockClock`](keyboardia_engine::BlockClock),
//! applies parameter values, auditions MIDI input on the selected track, renders the engine into
//! the main output (and the 16 optional per-track aux outputs), and sends each track's notes out
//! as MIDI on its own channel. Patterns and samples arrive through lock-free queues
//! ([`session`]); which pattern or the song plays comes from [`playback`] (this player's own, or
//! the room's in a live session); nothing on the audio thread allocates, locks, blocks or logs.

pub mod account;
pub mod beats;
pub mod editor;
pub mod flush;
pub mod jobs;
pub mod live;
pub mod params;
pub mod persist;
pub mod playback;
pub mod project;
pub mod record;
pub mod samples;
pub mod services;
pub mod session;
pub mod takes;
pub mod transport;

use std::num::NonZeroU32;
use std::sync::Arc;

use keyboardia_core::clock::SampleClock;
use keyboardia_core::MAX_TRACKS;
use keyboardia_engine::clock::{block_clock, ClockInputs, TimelineWithOffset};
use keyboardia_engine::ClockMode::Session;
use keyboardia_engine::{Engine, HostTransport, InputEvent, InternalClock, TrackMixer};
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

pub use params::{ClockMode, KeyboardiaParams, PatternSlot};
use playback::{OwnPlayback, Request};
use services::Services;
use session::AudioSide;
use transport::Transport;

/// Most input notes handled per block (more are dropped).
const MAX_INPUT_EVENTS: usize = 1024;

const STEREO: NonZeroU32 = new_nonzero_u32(2);
const AUX_PORTS: [NonZeroU32; MAX_TRACKS] = [STEREO; MAX_TRACKS];
/// The sidechain input takes are recorded from.
const INPUT_PORTS: [NonZeroU32; 1] = [STEREO];
const INPUT_NAMES: [&str; 1] = ["Input"];
const AUX_NAMES: [&str; MAX_TRACKS] = [
    "Track 1", "Track 2", "Track 3", "Track 4", "Track 5", "Track 6", "Track 7", "Track 8",
    "Track 9", "Track 10", "Track 11", "Track 12", "Track 13", "Track 14", "Track 15", "Track 16",
];

/// The instrument. `DEVICE_INPUT` is the standalone app's build ([`KeyboardiaStandalone`]): its
/// main input is the audio device's input, which it records takes from; a DAW build (the
/// default, the one the CLAP and VST3 bundles export) has no main input and records from its
/// "Input" sidechain.
pub struct Keyboardia<const DEVICE_INPUT: bool = false> {
    /// The standalone app's project file (`None` in a DAW, which saves the state itself).
    /// Declared first so that it drops first: its last save sees the live session still joined.
    project: Option<Arc<project::Project>>,
    /// Parameters and the plain data saved with the project.
    params: Arc<KeyboardiaParams>,
    /// The composition root: session store, live bridge, recorder, takes.
    services: Services,
    /// The sound engine, created in `activate()` for the host's sample rate.
    engine: Option<Engine>,
    /// Clock used when the host gives no transport.
    internal_clock: InternalClock,
    /// The audio thread's ends of the pattern and sample queues.
    audio: Option<AudioSide>,
    /// Host notes of the current block (capacity reserved up front).
    inputs: Vec<InputEvent>,
    /// Playheads published for the editor, and the editor's play/stop request.
    transport: Arc<Transport>,
    /// Track and master peaks the engine reports for the editor's meters (lock-free).
    meters: Arc<keyboardia_engine::LevelMeters>,
    /// The sound picker's previews, from the editor to the audio thread (one atomic word).
    preview: Arc<keyboardia_engine::PreviewMailbox>,
    /// Editor window size and open flag.
    editor_state: Arc<nice_plug_egui::EguiEditorState>,
    /// Running as the standalone app: the internal clock always drives (play/stop in the GUI).
    standalone: bool,
    /// The play request seen in the previous block (a new request restarts from step 0).
    was_running: bool,
    /// Maps this stream's sample counter to the local clock (session-clock mode).
    sample_clock: SampleClock,
    /// Frames processed since `activate()`: the sample counter of the next block.
    frames_done: u64,
    /// Takes from the input: the audio thread's capture buffer.
    capture: record::Capture,
    /// The "Add Take to Grid" parameter seen in the previous block (a new press adds a take).
    was_add_take: bool,
    /// Whether the active layout has a main input (only the standalone's do).
    main_input: bool,
    /// Posts "Add Take to Grid", and a live session's pattern cues, song mode and fill, to the
    /// services' job thread.
    jobs: jobs::JobPoster,
    /// What plays on this player's own transport (any clock but a joined session's).
    own_playback: OwnPlayback,
    /// The "Pattern" parameter seen in the previous block (a change cues its pattern).
    seen_pattern: PatternSlot,
    /// The "Song Mode" parameter seen in the previous block (a change switches song mode).
    seen_song_mode: bool,
    /// The fill switch last sent to the room (`None`: none sent yet; a switch held before then
    /// is sent, one released is not).
    sent_fill: Option<bool>,
}

/// The standalone app's build: it has no DAW to route a sidechain, so its main input is the
/// audio device's input (`--input-device` with ALSA, `--connect-jack-inputs` or any JACK
/// connection to `keyboardia:input_1/2`), recorded like the DAW build's "Input". Its output is
/// the mix only: the input is never passed through.
pub type KeyboardiaStandalone = Keyboardia<true>;

/// The DAW build's layouts: stereo out (or the mix and 16 track outputs), the "Input" sidechain.
const DAW_LAYOUTS: [AudioIOLayout; 2] = [
    AudioIOLayout {
        main_input_channels: None,
        main_output_channels: Some(STEREO),
        aux_input_ports: &INPUT_PORTS,
        aux_output_ports: &[],
        names: PortNames {
            layout: None,
            main_input: None,
            main_output: None,
            aux_inputs: &INPUT_NAMES,
            aux_outputs: &[],
        },
    },
    AudioIOLayout {
        main_input_channels: None,
        main_output_channels: Some(STEREO),
        aux_input_ports: &INPUT_PORTS,
        aux_output_ports: &AUX_PORTS,
        names: PortNames {
            layout: Some("Multi-out"),
            main_input: None,
            main_output: Some("Mix"),
            aux_inputs: &INPUT_NAMES,
            aux_outputs: &AUX_NAMES,
        },
    },
];

/// The standalone's layouts: the same outputs, and the device input as a stereo main input,
/// named "Input" by default (so JACK's ports keep the names the sidechain had). No name is given:
/// nice-plug 0.4.2 names the main output after `names.main_input`, and a main input name would
/// give JACK two ports of the same name (the app then fails to start).
const STANDALONE_LAYOUTS: [AudioIOLayout; 2] = [
    AudioIOLayout {
        main_input_channels: Some(STEREO),
        main_output_channels: Some(STEREO),
        aux_input_ports: &[],
        aux_output_ports: &[],
        names: PortNames {
            layout: None,
            main_input: None,
            main_output: None,
            aux_inputs: &[],
            aux_outputs: &[],
        },
    },
    AudioIOLayout {
        main_input_channels: Some(STEREO),
        main_output_channels: Some(STEREO),
        aux_input_ports: &[],
        aux_output_ports: &AUX_PORTS,
        names: PortNames {
            layout: Some("Multi-out"),
            main_input: None,
            main_output: Some("Mix"),
            aux_inputs: &[],
            aux_outputs: &AUX_NAMES,
        },
    },
];

impl<const DEVICE_INPUT: bool> Default for Keyboardia<DEVICE_INPUT> {
    fn default() -> Self {
        let params = Arc::new(KeyboardiaParams::default());
        let (services, ends) = Services::new(&params);
        let project = if DEVICE_INPUT {
            project::standalone_path().and_then(|path| {
                let (store, live) = (services.store.clone(), services.live.clone());
                let recent = project::Recent::default_file();
                match project::Project::open(path, params.clone(), store, live, recent) {
                    Ok(p) => Some(Arc::new(p)),
                    Err(e) => {
                        nice_error!("{e}");
                        None
                    }
                }
            })
        } else {
            None
        };
        Self {
            project,
            capture: ends.capture,
            jobs: ends.jobs,
            audio: ends.audio,
            params,
            services,
            engine: None,
            internal_clock: InternalClock::new(keyboardia_core::DEFAULT_TEMPO),
            inputs: Vec::with_capacity(MAX_INPUT_EVENTS),
            transport: Arc::new(Transport::new(true)),
            meters: Arc::default(),
            preview: Arc::default(),
            editor_state: editor::default_state(),
            standalone: false,
            was_running: false,
            sample_clock: SampleClock::new(48_000.0),
            frames_done: 0,
            was_add_take: false,
            main_input: false,
            own_playback: OwnPlayback::default(),
            seen_pattern: PatternSlot::A,
            seen_song_mode: false,
            sent_fill: None,
        }
    }
}

impl<const DEVICE_INPUT: bool> Keyboardia<DEVICE_INPUT> {
    /// Pops pending patterns and samples into the engine; used buffers go back to be freed off
    /// the audio thread (if that queue is full they are leaked rather than freed here).
    fn receive_updates(engine: &mut Engine, audio: &mut AudioSide) {
        while let Ok(msg) = audio.samples.pop() {
            let old = engine.set_sample(msg.slot, msg.buffer);
            if let Err(rtrb::PushError::Full(old)) = audio.sample_garbage.push(old) {
                std::mem::forget(old);
            }
        }
        while let Ok(p) = audio.patterns.pop() {
            engine.set_seed(p.seed);
            engine.set_pattern(&p);
            if let Err(rtrb::PushError::Full(p)) = audio.pattern_garbage.push(p) {
                std::mem::forget(p);
            }
        }
    }

    fn apply_params(&mut self) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let p = &self.params;
        engine.set_master_gain(p.master_gain.value());
        engine.set_swing_override(p.swing_auto.value().then(|| p.swing_pct.value() as f64));
        engine.set_audition_track((p.selected_track.value() - 1).max(0) as usize);
        for (i, t) in p.tracks.iter().enumerate() {
            engine.set_track_mixer(
                i,
                TrackMixer {
                    volume: t.volume.value(),
                    mute: t.mute.value(),
                    solo: t.solo.value(),
                },
            );
            engine.set_fx_automation(i, t.fx_automation());
        }
    }
}

impl<const DEVICE_INPUT: bool> Plugin for Keyboardia<DEVICE_INPUT> {
    const NAME: &'static str = "Keyboardia";
    const VENDOR: &'static str = "Keyboardia";
    const URL: &'static str = "https://keyboardia.dev";
    const EMAIL: &'static str = "hello@keyboardia.dev";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = if DEVICE_INPUT {
        &STANDALONE_LAYOUTS
    } else {
        &DAW_LAYOUTS
    };

    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = nice_plug_egui::EguiEditor<editor::App>;
    type SysExMessage = ();
    // Background work runs on the plugin's own thread, not nice-plug's (see `jobs`).
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let host = editor::host::PluginHost {
            store: self.services.store.clone(),
            transport: self.transport.clone(),
            meters: editor::host::EngineMeters(self.meters.clone()),
            preview: self.preview.clone(),
            settings: editor::host::ParamSettings {
                params: self.params.clone(),
                gui: None,
            },
            live: self.services.live.clone(),
            beats: self.services.beats.clone(),
            account: self.services.account.clone(),
            recorder: editor::host::TakeRecorder {
                record: self.services.record.clone(),
                takes: self.services.takes.clone(),
            },
        };
        editor::create(host, self.editor_state.clone(), self.project.clone())
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        if context.plugin_api() == PluginApi::Standalone && !self.standalone {
            // The standalone app waits for the play button, unless nobody can press it.
            self.standalone = true;
            self.transport.set_run(editor::headless());
        }
        let sr = buffer_config.sample_rate as f64;
        self.main_input = audio_io_layout.main_input_channels.is_some();
        self.capture.prepare(
            buffer_config.sample_rate,
            self.params.record.value(),
            self.params.preview.value(),
        );
        self.sample_clock = SampleClock::new(sr);
        self.frames_done = 0;
        // A restored project with the button on adds nothing: only a new press does. Nor do a
        // restored "Pattern" or "Song Mode": only a change does.
        self.was_add_take = self.params.add_take.value();
        self.seen_pattern = self.params.pattern.value();
        self.seen_song_mode = self.params.song_mode.value();
        // A session saved with the host's project rejoins by itself.
        self.services.live.rejoin_restored();
        let mut engine = Engine::new(sr);
        engine.set_meters(self.meters.clone());
        // Everything queued so far is superseded by the current session.
        if let Some(audio) = self.audio.as_mut() {
            Self::receive_updates(&mut engine, audio);
        }
        let pattern = self.services.store.pattern();
        engine.set_seed(pattern.seed);
        engine.set_pattern(&pattern);
        self.internal_clock = InternalClock::new(engine.pattern().tempo_bpm);
        self.engine = Some(engine);
        self.apply_params();
        true
    }

    fn reset(&mut self) {
        // Silence and restart; the session itself is re-read in activate().
        if let Some(engine) = self.engine.as_mut() {
            engine.reset();
        }
        self.internal_clock.stop();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // The standalone's device input arrives in the output buffer (processing is in place): it
        // is recorded here, before the mix, and never let through to the speakers. (Any block
        // size: its JACK backend may send longer blocks than activate() announced.)
        let record = self.params.record.value();
        if self.main_input {
            let channels = buffer.as_slice();
            let frames = channels.first().map_or(0, |c| c.len());
            self.capture.record(channels, frames, record);
            for c in channels.iter_mut() {
                c.fill(0.0);
            }
        }
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        if let Some(audio) = self.audio.as_mut() {
            Self::receive_updates(engine, audio);
        }
        self.apply_params();
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        if let Some(preview) = self.preview.take() {
            engine.preview(preview);
        }

        self.inputs.clear();
        while let Some(event) = context.next_event() {
            if self.inputs.len() == self.inputs.capacity() {
                continue;
            }
            match event {
                NoteEvent::NoteOn {
                    timing,
                    key,
                    velocity,
                    ..
                } => self.inputs.push(InputEvent::NoteOn {
                    offset: timing,
                    key: key.number_or_middle_c(),
                    velocity: (velocity * 127.0).round().clamp(1.0, 127.0) as u8,
                }),
                NoteEvent::NoteOff { timing, key, .. } => self.inputs.push(InputEvent::NoteOff {
                    offset: timing,
                    key: key.number_or_middle_c(),
                }),
                _ => {}
            }
        }

        let t = context.transport();
        let host = HostTransport {
            playing: t.playing,
            tempo_bpm: t.tempo,
            pos_beats: t.pos_beats(),
            pos_frames: t.pos_samples(),
        };
        let frames = buffer.samples();
        let joined_clock = self.services.live.clock().read();
        let run = self.transport.run();
        let inputs = ClockInputs {
            chosen: match self.params.clock.value() {
                ClockMode::Host => keyboardia_engine::ClockMode::Host,
                ClockMode::Internal => keyboardia_engine::ClockMode::Internal,
                ClockMode::Server => keyboardia_engine::ClockMode::Session,
            },
            standalone: self.standalone,
            session: joined_clock.map(|c| TimelineWithOffset {
                timeline: c.timeline,
                offset_ms: c.offset_ms,
            }),
            host,
            run,
            was_running: self.was_running,
            session_tempo_bpm: engine.pattern().tempo_bpm,
            frames: frames as u32,
            sample_rate_hz: engine.sample_rate_hz(),
        };
        let (params, live, sample_clock, frames_done) = (
            &self.params,
            &self.services.live,
            &mut self.sample_clock,
            self.frames_done,
        );
        let clock = block_clock(&inputs, &mut self.internal_clock, || {
            // One clock read per block; the regression removes callback jitter.
            let now = live.clock().local().now_ms();
            sample_clock.observe(frames_done, now);
            sample_clock.local_ms_at(frames_done).unwrap_or(now)
                + params.output_latency_ms.value() as f64
        });
        self.frames_done += frames as u64;
        self.was_running = run;
        if clock.playing {
            self.transport.publish(clock.beat);
        } else {
            self.transport.publish_stopped();
        }

        // Patterns and songs: the editor's request and the parameters' changes go to the room
        // on the session clock, else to this player's own playback.
        let pattern = self.params.pattern.value();
        let song_mode = self.params.song_mode.value();
        let requests = [
            self.transport.take_request(),
            (pattern != self.seen_pattern).then(|| Request::Cue(pattern.pattern())),
            (song_mode != self.seen_song_mode).then_some(Request::SongMode(song_mode)),
        ];
        (self.seen_pattern, self.seen_song_mode) = (pattern, song_mode);
        let fill = self.params.fill.value() || self.transport.fill();
        let arr = engine.pattern().arrangement();
        let (playback, start_beat) = match inputs.session.filter(|_| inputs.mode() == Session) {
            Some(session) => {
                for request in requests.into_iter().flatten() {
                    self.jobs.playback(request);
                }
                if self.sent_fill != Some(fill) && (fill || self.sent_fill.is_some()) {
                    self.jobs.fill(fill);
                    self.sent_fill = Some(fill);
                }
                let tl = session.timeline;
                (tl.playback, tl.start_beat)
            }
            None => {
                let sr = engine.sample_rate_hz();
                self.own_playback
                    .set_follows_host(inputs.mode() == keyboardia_engine::ClockMode::Host);
                let pb = self
                    .own_playback
                    .block(&arr, &clock, frames as u32, sr, &requests, fill);
                (pb, 0.0)
            }
        };
        self.transport
            .publish_view(&playback::view_at(&playback, &arr, start_beat, &clock));
        engine.set_playback(playback, start_beat);

        let channels = buffer.as_slice();
        let (left, rest) = channels.split_at_mut(1);
        let (left, right) = (&mut *left[0], &mut *rest[0]);
        if aux.outputs.is_empty() {
            engine.process(&clock, &self.inputs, left, right, None);
        } else {
            let outputs = &mut *aux.outputs;
            let mut sink = |track: usize, offset: usize, l: &[f32], r: &[f32]| {
                if let Some(out) = outputs.get_mut(track) {
                    let ch = out.as_slice();
                    if ch.len() >= 2 {
                        for (c, src) in [(0, l), (1, r)] {
                            let dst = &mut ch[c][offset..offset + src.len()];
                            for (o, x) in dst.iter_mut().zip(src) {
                                *o = flush::bound_track(*x);
                            }
                        }
                    }
                }
            };
            engine.process(&clock, &self.inputs, left, right, Some(&mut sink));
        }
        if !self.main_input {
            let input = aux
                .inputs
                .first()
                .map_or(&[][..], |b| b.as_slice_immutable());
            self.capture.record(input, frames, record);
        }
        self.capture
            .play(buffer.as_slice(), self.params.preview.value());
        // Last, what goes to the host is free of denormals (see `flush`).
        for c in buffer.as_slice().iter_mut() {
            flush::flush_denormals(c);
        }
        for out in aux.outputs.iter_mut() {
            for c in out.as_slice().iter_mut() {
                flush::flush_denormals(c);
            }
        }
        // "Add Take to Grid": the work (copying the take out, encoding, the session edit, the
        // upload) runs on the plugin's job thread; posting it neither allocates nor blocks.
        let add_take = self.params.add_take.value();
        if add_take && !self.was_add_take {
            self.jobs.add_take();
        }
        self.was_add_take = add_take;

        for m in engine.midi_out() {
            let event = if m.on {
                NoteEvent::NoteOn {
                    timing: m.offset,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(m.channel),
                    key: Key::Number(m.note),
                    velocity: m.velocity as f32 / 127.0,
                }
            } else {
                NoteEvent::NoteOff {
                    timing: m.offset,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(m.channel),
                    key: Key::Number(m.note),
                    velocity: 0.0,
                }
            };
            let _ = context.try_send_event(event);
        }
        ProcessStatus::KeepAlive
    }
}

impl ClapPlugin for Keyboardia {
    const CLAP_ID: &'static str = "dev.keyboardia.sequencer";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("A 16-track collaborative step sequencer with synthesized sounds");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::Instrument,
        ClapFeature::Synthesizer,
        ClapFeature::DrumMachine,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for Keyboardia {
    const VST3_CLASS_ID: [u8; 16] = *b"KeyboardiaSeq001";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Instrument,
        Vst3SubCategory::Drum,
        Vst3SubCategory::Synth,
    ];
}

nice_export_clap!(Keyboardia);
nice_export_vst3!(Keyboardia);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_standalone_build_has_a_main_input_and_no_sidechain() {
        for layout in <Keyboardia as Plugin>::AUDIO_IO_LAYOUTS {
            assert_eq!(layout.main_input_channels, None, "DAW build: no main input");
            assert_eq!(layout.aux_input_ports, &INPUT_PORTS[..]);
        }
        for layout in <KeyboardiaStandalone as Plugin>::AUDIO_IO_LAYOUTS {
            assert_eq!(layout.main_input_channels, Some(STEREO));
            assert!(layout.aux_input_ports.is_empty());
            assert_eq!(layout.main_input_name(), "Input");
            assert_ne!(
                layout.main_output_name(),
                layout.main_input_name(),
                "JACK port names"
            );
        }
        let daw = <Keyboardia as Plugin>::AUDIO_IO_LAYOUTS;
        let app = <KeyboardiaStandalone as Plugin>::AUDIO_IO_LAYOUTS;
        assert_eq!(daw.len(), app.len());
        for (d, a) in daw.iter().zip(app) {
            assert_eq!(d.main_output_channels, a.main_output_channels);
            assert_eq!(d.aux_output_ports, a.aux_output_ports, "the same outputs");
        }
    }
}
