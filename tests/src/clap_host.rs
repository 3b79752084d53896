//! A minimal real CLAP host (clack-host) for the plugin tests: loads the bundled `.clap`,
//! activates it, feeds transport, notes and parameter changes, processes blocks, and saves and
//! restores state.

use std::cell::Cell;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::{
    NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

/// Which bundle a test needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleKind {
    /// Debug build with `assert_process_allocs`: any allocation in process() aborts the test.
    DebugAllocChecks,
    /// The release bundle users get.
    Release,
}

/// Builds the .clap/.vst3 bundles into `target/bundled/` with `cargo xtask bundle` (once per test
/// process; cargo makes it a no-op when nothing changed) and returns the directory. Panics with
/// the build output if bundling fails.
pub fn ensure_bundles(kind: BundleKind) -> PathBuf {
    static BUILT: std::sync::Mutex<Option<BundleKind>> = std::sync::Mutex::new(None);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if *built != Some(kind) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.current_dir(&root)
            .args(["run", "--quiet", "--package", "xtask", "--release", "--"])
            .args(["bundle", "keyboardia"]);
        match kind {
            BundleKind::DebugAllocChecks => cmd.args(["--features", "assert_process_allocs"]),
            BundleKind::Release => cmd.arg("--release"),
        };
        let out = cmd.output().expect("run cargo xtask bundle");
        assert!(
            out.status.success(),
            "`cargo xtask bundle keyboardia` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        *built = Some(kind);
    }
    let dir = root.join("target/bundled");
    for name in ["keyboardia.clap", "keyboardia.vst3"] {
        assert!(
            dir.join(name).exists(),
            "{} is missing after bundling",
            dir.join(name).display()
        );
    }
    dir
}

/// The CLAP plugin, built as `kind`.
pub fn clap_bundle_path(kind: BundleKind) -> PathBuf {
    ensure_bundles(kind).join("keyboardia.clap")
}

/// Host callbacks shared across threads.
pub struct HostShared {
    /// The plugin's state extension, captured while it initializes.
    state: OnceLock<Option<PluginState>>,
}

impl<'a> SharedHandler<'a> for HostShared {
    fn initializing(&self, instance: InitializingPluginHandle<'a>) {
        let _ = self.state.set(instance.get_extension());
    }
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

// nice-plug queries the host GUI extension and panics without it.
impl HostGuiImpl for HostShared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

/// Main-thread host state.
pub struct HostMain {
    /// Set when the plugin says its state changed.
    pub dirty: Cell<bool>,
}

impl<'a> MainThreadHandler<'a> for HostMain {}

impl HostStateImpl for HostMain {
    fn mark_dirty(&self) {
        self.dirty.set(true);
    }
}

pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMain;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>().register::<HostState>();
    }
}

/// The host's transport for one block.
#[derive(Clone, Copy, Debug)]
pub struct Transport {
    /// Whether the transport runs.
    pub playing: bool,
    /// Tempo in BPM.
    pub tempo_bpm: f64,
    /// Song position of the block start, in beats.
    pub beat: f64,
}

/// A note sent to the plugin.
#[derive(Clone, Copy, Debug)]
pub enum NoteIn {
    On { offset: u32, key: u8, velocity: f64 },
    Off { offset: u32, key: u8 },
}

/// A note the plugin sent out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteOut {
    /// Frame offset within the block.
    pub offset: u32,
    /// MIDI channel (the track slot).
    pub channel: u8,
    /// MIDI key.
    pub key: u8,
    /// Note-on (true) or note-off.
    pub on: bool,
}

/// One processed block.
pub struct Block {
    /// Main output, left.
    pub left: Vec<f32>,
    /// Main output, right.
    pub right: Vec<f32>,
    /// The auxiliary stereo outputs (multi-out layout only), in port order.
    pub aux: Vec<(Vec<f32>, Vec<f32>)>,
    /// Notes the plugin sent out, in order.
    pub notes: Vec<NoteOut>,
}

/// A loaded, activated and processing plugin instance.
pub struct ClapPlugin {
    /// The audio processor while processing (taken on drop).
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    /// The plugin instance (main thread).
    instance: PluginInstance<TestHost>,
    /// Keeps the library loaded.
    _entry: PluginEntry,
    /// (id, name, min, max, default) of every parameter, as the plugin declares them to CLAP.
    params: Vec<(ClapId, String, f64, f64, f64)>,
    /// Largest block the plugin was activated for.
    max_frames: usize,
    /// Frames processed so far (CLAP steady time).
    steady_time: u64,
    /// Auxiliary stereo output ports in the selected layout.
    aux_ports: usize,
    /// The sample rate it was activated at (for [`ClapPlugin::reactivate`]).
    sample_rate: f64,
}

impl ClapPlugin {
    /// Loads the plugin `id` from `path` and starts processing at `sample_rate` with blocks of
    /// at most `max_frames`.
    pub fn load(path: &Path, id: &str, sample_rate: f64, max_frames: usize) -> Self {
        Self::load_with_outputs(path, id, sample_rate, max_frames, 1)
    }

    /// Like [`load`](Self::load), but first selects the audio-ports configuration with
    /// `output_ports` output ports (main + auxiliaries) through the audio-ports-config extension.
    pub fn load_with_outputs(
        path: &Path,
        id: &str,
        sample_rate: f64,
        max_frames: usize,
        output_ports: u32,
    ) -> Self {
        // SAFETY: loading a CLAP library runs its entry; it is our own plugin.
        let entry = unsafe { PluginEntry::load(path) }.expect("load the .clap entry");
        let host_info = HostInfo::new(
            "keyboardia-tests",
            "Keyboardia",
            "https://keyboardia.dev",
            "0.1.0",
        )
        .expect("host info");
        let id = CString::new(id).unwrap();
        let mut instance = PluginInstance::<TestHost>::new(
            |_| HostShared {
                state: OnceLock::new(),
            },
            |_| HostMain {
                dirty: Cell::new(false),
            },
            &entry,
            &id,
            &host_info,
        )
        .expect("instantiate the plugin");
        let mut params = Vec::new();
        let handle = instance.plugin_handle();
        if let Some(ext) = handle.get_extension::<PluginParams>() {
            let mut buf = ParamInfoBuffer::new();
            for i in 0..ext.count(&handle) {
                if let Some(info) = ext.get_info(&handle, i, &mut buf) {
                    params.push((
                        info.id,
                        String::from_utf8_lossy(info.name).into_owned(),
                        info.min_value,
                        info.max_value,
                        info.default_value,
                    ));
                }
            }
        }
        if output_ports != 1 {
            let ext: PluginAudioPortsConfig = handle
                .get_extension()
                .expect("the plugin has the audio-ports-config extension");
            let mut buf = AudioPortsConfigBuffer::new();
            let chosen = (0..ext.count(&handle))
                .filter_map(|i| {
                    ext.get(&handle, i, &mut buf)
                        .map(|c| (c.id, c.output_port_count))
                })
                .find(|(_, n)| *n == output_ports)
                .unwrap_or_else(|| panic!("no layout with {output_ports} output ports"))
                .0;
            ext.select(&handle, chosen).expect("select the layout");
        }
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_frames as u32,
        };
        let stopped = instance.activate(|_, _| (), config).expect("activate");
        let processor = stopped.start_processing().expect("start processing");
        Self {
            processor: Some(processor),
            instance,
            _entry: entry,
            params,
            max_frames,
            steady_time: 0,
            aux_ports: output_ports as usize - 1,
            sample_rate,
        }
    }

    /// Stops, deactivates and activates again, as a host does when it restarts its audio engine
    /// (e.g. after loading a project): the plugin sees its restored state in `activate()`.
    pub fn reactivate(&mut self) {
        let p = self.processor.take().expect("processing");
        self.instance.deactivate(p.stop_processing());
        let config = PluginAudioConfiguration {
            sample_rate: self.sample_rate,
            min_frames_count: 1,
            max_frames_count: self.max_frames as u32,
        };
        let stopped = self.instance.activate(|_, _| (), config).expect("activate");
        self.processor = Some(stopped.start_processing().expect("start processing"));
    }

    /// Stops processing and deactivates (a no-op when not active): the plugin is idle, and its
    /// state may be saved or loaded on the main thread.
    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            self.instance.deactivate(p.stop_processing());
        }
    }

    /// Activates (deactivating first if active) at `sample_rate` with blocks of at most
    /// `max_frames`, and starts processing.
    pub fn activate(&mut self, sample_rate: f64, max_frames: usize) {
        self.deactivate();
        self.sample_rate = sample_rate;
        self.max_frames = max_frames;
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_frames as u32,
        };
        let stopped = self.instance.activate(|_, _| (), config).expect("activate");
        self.processor = Some(stopped.start_processing().expect("start processing"));
    }

    /// Whether the plugin is active and processing.
    pub fn is_active(&self) -> bool {
        self.processor.is_some()
    }

    /// Largest block the plugin is activated for.
    pub fn max_frames(&self) -> usize {
        self.max_frames
    }

    /// The sample rate it is (or was last) activated at, in Hz.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// (id, display name, min, max) of every parameter.
    pub fn params(&self) -> impl Iterator<Item = (ClapId, &str, f64, f64)> {
        self.params
            .iter()
            .map(|(id, n, lo, hi, _)| (*id, n.as_str(), *lo, *hi))
    }

    /// The id of the parameter with this display name.
    pub fn param_id(&self, name: &str) -> ClapId {
        self.param_range(name).0
    }

    /// (id, min, max) of the parameter with this display name.
    pub fn param_range(&self, name: &str) -> (ClapId, f64, f64) {
        self.params
            .iter()
            .find(|(_, n, _, _, _)| n == name)
            .map(|(id, _, lo, hi, _)| (*id, *lo, *hi))
            .unwrap_or_else(|| panic!("no parameter named {name:?}"))
    }

    /// The CLAP default value of the parameter with this display name.
    pub fn param_default(&self, name: &str) -> f64 {
        self.params
            .iter()
            .find(|(_, n, _, _, _)| n == name)
            .map(|(_, _, _, _, d)| *d)
            .unwrap_or_else(|| panic!("no parameter named {name:?}"))
    }

    pub fn param_names(&self) -> Vec<String> {
        self.params
            .iter()
            .map(|(_, n, _, _, _)| n.clone())
            .collect()
    }

    /// Processes one block of `frames` (≤ max) with optional transport, notes and parameter
    /// values (`(offset, id, plain value)`); the input port gets silence.
    pub fn process(
        &mut self,
        frames: usize,
        transport: Option<Transport>,
        notes: &[NoteIn],
        params: &[(u32, ClapId, f64)],
    ) -> Block {
        self.process_with_input(frames, transport, notes, params, None)
    }

    /// Like [`process`](Self::process), with `audio_in` (left, right; `frames` each) on the
    /// plugin's stereo input port ("Input", the sidechain takes are recorded from).
    pub fn process_with_input(
        &mut self,
        frames: usize,
        transport: Option<Transport>,
        notes: &[NoteIn],
        params: &[(u32, ClapId, f64)],
        audio_in: Option<(&[f32], &[f32])>,
    ) -> Block {
        assert!(frames <= self.max_frames && frames > 0);
        let mut input = EventBuffer::with_capacity(notes.len() + params.len());
        for &(offset, id, value) in params {
            input.push(&ParamValueEvent::new(offset, id, Pckn::match_all(), value));
        }
        for n in notes {
            match *n {
                NoteIn::On {
                    offset,
                    key,
                    velocity,
                } => input.push(&NoteOnEvent::new(
                    offset,
                    Pckn::new(0u16, 0u16, key as u16, Match::All),
                    velocity,
                )),
                NoteIn::Off { offset, key } => input.push(&NoteOffEvent::new(
                    offset,
                    Pckn::new(0u16, 0u16, key as u16, Match::All),
                    0.0,
                )),
            }
        }
        input.sort();
        let mut output = EventBuffer::with_capacity(256);
        let ports = 1 + self.aux_ports;
        let mut outs: Vec<Vec<f32>> = vec![vec![0.0f32; frames]; 2 * ports];
        let (mut in_l, mut in_r, constant) = match audio_in {
            Some((l, r)) => {
                assert!(l.len() == frames && r.len() == frames, "one block of input");
                (l.to_vec(), r.to_vec(), false)
            }
            None => (vec![0.0f32; frames], vec![0.0f32; frames], true),
        };
        let mut in_ports = AudioPorts::with_capacity(2, 1);
        let mut out_ports = AudioPorts::with_capacity(2 * ports, ports);
        let input_audio = in_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                [&mut in_l[..], &mut in_r[..]]
                    .into_iter()
                    .map(|buffer| InputChannel {
                        buffer,
                        is_constant: constant,
                    }),
            ),
        }]);
        let mut output_audio =
            out_ports.with_output_buffers(outs.chunks_mut(2).map(|pair| AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    pair.iter_mut().map(|c| c.as_mut_slice()),
                ),
            }));
        let transport_event = transport.map(|t| {
            let mut flags = TransportFlags::HAS_TEMPO
                | TransportFlags::HAS_BEATS_TIMELINE
                | TransportFlags::HAS_SECONDS_TIMELINE;
            if t.playing {
                flags |= TransportFlags::IS_PLAYING;
            }
            TransportEvent {
                header: EventHeader::new_core(0, EventFlags::empty()),
                flags,
                song_pos_beats: BeatTime::from_float(t.beat),
                song_pos_seconds: SecondsTime::from_float(t.beat * 60.0 / t.tempo_bpm),
                tempo: t.tempo_bpm,
                tempo_inc: 0.0,
                loop_start_beats: BeatTime::from_int(0),
                loop_end_beats: BeatTime::from_int(0),
                loop_start_seconds: SecondsTime::from_int(0),
                loop_end_seconds: SecondsTime::from_int(0),
                bar_start: BeatTime::from_float((t.beat / 4.0).floor() * 4.0),
                bar_number: (t.beat / 4.0).floor() as i32,
                time_signature_numerator: 4,
                time_signature_denominator: 4,
            }
        });
        let processor = self.processor.as_mut().expect("processing");
        processor
            .process(
                &input_audio,
                &mut output_audio,
                &input.as_input(),
                &mut output.as_output(),
                Some(self.steady_time),
                transport_event.as_ref(),
            )
            .expect("process");
        self.steady_time += frames as u64;
        let mut notes_out = Vec::new();
        for e in output.iter() {
            if let Some(on) = e.as_event::<NoteOnEvent>() {
                let p = on.pckn();
                notes_out.push(NoteOut {
                    offset: on.header().time(),
                    channel: p.channel.into_specific().unwrap_or(0) as u8,
                    key: p.key.into_specific().unwrap_or(0) as u8,
                    on: true,
                });
            } else if let Some(off) = e.as_event::<NoteOffEvent>() {
                let p = off.pckn();
                notes_out.push(NoteOut {
                    offset: off.header().time(),
                    channel: p.channel.into_specific().unwrap_or(0) as u8,
                    key: p.key.into_specific().unwrap_or(0) as u8,
                    on: false,
                });
            }
        }
        let mut chans = outs.into_iter();
        let left = chans.next().unwrap_or_default();
        let right = chans.next().unwrap_or_default();
        let mut aux = Vec::new();
        while let (Some(l), Some(r)) = (chans.next(), chans.next()) {
            aux.push((l, r));
        }
        Block {
            left,
            right,
            aux,
            notes: notes_out,
        }
    }

    /// Renders `frames` frames in blocks from `block` with a playing transport at `tempo` from
    /// `start_beat`; returns the audio and the note-outs with absolute frames.
    pub fn render(
        &mut self,
        frames: usize,
        tempo_bpm: f64,
        start_beat: f64,
        sample_rate: f64,
        mut block: impl FnMut() -> usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<(usize, NoteOut)>) {
        let mut l = Vec::with_capacity(frames);
        let mut r = Vec::with_capacity(frames);
        let mut notes = Vec::new();
        let mut pos = 0usize;
        while pos < frames {
            let n = block().clamp(1, self.max_frames).min(frames - pos);
            let t = Transport {
                playing: true,
                tempo_bpm,
                beat: start_beat + pos as f64 * tempo_bpm / (60.0 * sample_rate),
            };
            let b = self.process(n, Some(t), &[], &[]);
            notes.extend(b.notes.iter().map(|x| (pos + x.offset as usize, *x)));
            l.extend_from_slice(&b.left);
            r.extend_from_slice(&b.right);
            pos += n;
        }
        (l, r, notes)
    }

    /// The plugin instance (main thread), for extensions this harness does not wrap (the GUI).
    pub fn instance(&mut self) -> &mut PluginInstance<TestHost> {
        &mut self.instance
    }

    fn state_ext(&self) -> PluginState {
        self.instance
            .access_shared_handler(|h| *h.state.get().expect("initialized"))
            .expect("the plugin has the state extension")
    }

    /// The plugin's saved state.
    pub fn save_state(&mut self) -> Vec<u8> {
        let ext = self.state_ext();
        let mut out = Vec::new();
        ext.save(&self.instance.plugin_handle(), &mut out)
            .expect("save state");
        out
    }

    /// Restores a saved state.
    pub fn load_state(&mut self, data: &[u8]) {
        let ext = self.state_ext();
        let mut reader = std::io::Cursor::new(data);
        ext.load(&self.instance.plugin_handle(), &mut reader)
            .expect("load state");
    }
}

impl Drop for ClapPlugin {
    fn drop(&mut self) {
        if let Some(p) = self.processor.take() {
            let stopped = p.stop_processing();
            self.instance.deactivate(stopped);
        }
    }
}
