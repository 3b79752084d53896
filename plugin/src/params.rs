//! Automatable parameters and the plain data saved with the project. Ids and persisted keys are
//! short and stable: never rename one. The services that use this data (the session store, the
//! live bridge, the recorder) live in the `services` module, not here.

use keyboardia_core::{SessionState, MAX_TRACKS};
use nice_plug::prelude::*;

use crate::persist::{Joined, Persisted};

/// Highest master gain (linear, +6 dB).
pub const MASTER_MAX_GAIN: f32 = 2.0;

/// Where the beat comes from. (The session's server timeline joins with the sync work.)
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Follow the host's transport; free-run at the session tempo when the host has none.
    #[id = "host"]
    #[name = "Host"]
    Host,
    /// Always free-run at the session tempo (hosts that never start their transport).
    #[id = "internal"]
    #[name = "Internal"]
    Internal,
    /// The live session's shared timeline (players in different DAWs play together).
    #[id = "server"]
    #[name = "Session"]
    Server,
}

#[derive(Params)]
pub struct KeyboardiaParams {
    /// The whole session document as JSON (canonical: save → load → save is byte-identical),
    /// saved with the host's project; the session store keeps it up to date.
    #[persist = "session"]
    pub session: Persisted<String>,

    /// The samples tracks play (recorded takes, downloaded shared samples), bit-exact and
    /// compressed, as the JSON the `samples` module encodes; restored into the sampler.
    #[persist = "samples"]
    pub samples: Persisted<String>,

    /// The joined live session and its unacknowledged edits (`null` when playing alone).
    #[persist = "live"]
    pub live: Persisted<Option<Joined>>,

    /// This player's output latency in ms, in session-clock mode: sound is scheduled this much
    /// early so it reaches the speakers on the shared beat (as Link apps offer).
    #[id = "latency"]
    pub output_latency_ms: FloatParam,

    /// Master output gain, linear.
    #[id = "master"]
    pub master_gain: FloatParam,

    /// Swing in percent; plays instead of the session's swing while `swing_auto` is on.
    #[id = "swing"]
    pub swing_pct: FloatParam,

    /// Whether `swing_pct` (automation) replaces the session's swing.
    #[id = "swing_auto"]
    pub swing_auto: BoolParam,

    /// Host transport or free-running internal clock.
    #[id = "clock"]
    pub clock: EnumParam<ClockMode>,

    /// The track (1-based) whose sound MIDI input plays.
    #[id = "sel"]
    pub selected_track: IntParam,

    /// Hold to record a take from the "Input" sidechain (a footswitch or MIDI-learned button;
    /// the editor's Record button does the same). See the `record` module.
    #[id = "rec"]
    pub record: BoolParam,

    /// Turning it on plays the last take from its start.
    #[id = "rec_preview"]
    pub preview: BoolParam,

    /// Turning it on adds the last take to the grid as a new track (the editor's "Add to
    /// grid"; a footswitch after "Record"). See the `takes` module.
    #[id = "rec_add"]
    pub add_take: BoolParam,

    /// Per-track mixer controls (ids `vol_1`, `mute_1`, `solo_1`, … `_16`).
    #[nested(array, group = "Tracks")]
    pub tracks: [TrackParams; MAX_TRACKS],
}

/// The mixer controls of one track slot: local to this player, not session state.
#[derive(Params)]
pub struct TrackParams {
    /// Gain on top of the session's track volume, linear 0..=1.
    #[id = "vol"]
    pub volume: FloatParam,
    /// Silences the track for this player.
    #[id = "mute"]
    pub mute: BoolParam,
    /// Only soloed tracks sound while any is soloed.
    #[id = "solo"]
    pub solo: BoolParam,
}

impl TrackParams {
    fn new(index: usize) -> Self {
        let n = index + 1;
        Self {
            volume: FloatParam::new(
                format!("Track {n} Volume"),
                1.0,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_value_to_string(formatters::v2s_f32_percentage(0))
            .with_string_to_value(formatters::s2v_f32_percentage())
            .with_unit("%"),
            mute: BoolParam::new(format!("Track {n} Mute"), false),
            solo: BoolParam::new(format!("Track {n} Solo"), false),
        }
    }
}

impl Default for KeyboardiaParams {
    fn default() -> Self {
        Self {
            session: Persisted::new(
                serde_json::to_string(&SessionState::demo()).unwrap_or_default(),
            ),
            samples: Persisted::new("[]".to_owned()),
            live: Persisted::new(None),
            output_latency_ms: FloatParam::new(
                "Output Latency",
                0.0,
                FloatRange::Linear {
                    min: -50.0,
                    max: 250.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            master_gain: FloatParam::new(
                "Master",
                1.0,
                FloatRange::Skewed {
                    min: 0.0,
                    max: MASTER_MAX_GAIN,
                    factor: FloatRange::gain_skew_factor(-60.0, 6.0),
                },
            )
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_gain_to_db(1))
            .with_string_to_value(formatters::s2v_f32_gain_to_db()),
            swing_pct: FloatParam::new(
                "Swing",
                0.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 100.0,
                },
            )
            .with_unit(" %")
            .with_step_size(0.1),
            swing_auto: BoolParam::new("Automate Swing", false),
            clock: EnumParam::new("Clock", ClockMode::Host),
            selected_track: IntParam::new(
                "Selected Track",
                1,
                IntRange::Linear { min: 1, max: 16 },
            ),
            record: BoolParam::new("Record", false),
            preview: BoolParam::new("Preview Take", false),
            add_take: BoolParam::new("Add Take to Grid", false),
            tracks: std::array::from_fn(TrackParams::new),
        }
    }
}
