//! Automatable parameters and the plain data saved with the project. Ids and persisted keys are
//! short and stable: never rename one. The services that use this data (the session store, the
//! live bridge, the recorder) live in the `services` module, not here.

use keyboardia_core::{PatternId, SessionState, MAX_TRACKS};
use keyboardia_engine::fx::{FxAutomation, CUTOFF_SHIFT_OCT, SEND_OFFSET};
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

/// A pattern slot as an automatable parameter (the "Pattern" parameter's values).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternSlot {
    #[id = "a"]
    A,
    #[id = "b"]
    B,
    #[id = "c"]
    C,
    #[id = "d"]
    D,
    #[id = "e"]
    E,
    #[id = "f"]
    F,
    #[id = "g"]
    G,
    #[id = "h"]
    H,
}

impl PatternSlot {
    /// The session's pattern slot.
    pub fn pattern(self) -> PatternId {
        PatternId::new(self as usize).unwrap_or(PatternId::A)
    }
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

    /// The fill switch of FILL / NOT FILL trig conditions while on (a footswitch, automation;
    /// the editor's Fill button does the same, see `Transport::set_fill`).
    #[id = "fill"]
    pub fill: BoolParam,

    /// Changing it cues that pattern (A–H), as clicking its slot does: it takes over at the next
    /// bar line or the end of the longest track (the session's setting), at once while stopped;
    /// in a live session on the session clock the room stamps it for every player. Automation
    /// of pattern changes; the value itself is only the last change asked for.
    #[id = "pattern"]
    pub pattern: EnumParam<PatternSlot>,

    /// Turning it on or off switches song mode, as the song panel's switch does (at the next
    /// boundary; at once while stopped).
    #[id = "song"]
    pub song_mode: BoolParam,

    /// Per-track mixer controls and effect automation (ids `vol_1`, `mute_1`, `solo_1`,
    /// `cut_1`, `rvs_1`, `dls_1`, … `_16`).
    #[nested(array, group = "Tracks")]
    pub tracks: [TrackParams; MAX_TRACKS],
}

/// The mixer controls and effect automation of one track slot: local to this player, not
/// session state (automating them sends nothing to a live session).
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
    /// Moves the track's filter cutoff (its own and its steps' locks) by octaves,
    /// [`CUTOFF_SHIFT_OCT`]; 0 leaves the session's cutoff. Nothing while its filter is off.
    #[id = "cut"]
    pub cutoff_shift_oct: FloatParam,
    /// Added to the track's reverb send, [`SEND_OFFSET`] (the sum stays within 0–100 %).
    #[id = "rvs"]
    pub reverb_send_offset: FloatParam,
    /// Added to the track's delay send, [`SEND_OFFSET`] (the sum stays within 0–100 %).
    #[id = "dls"]
    pub delay_send_offset: FloatParam,
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
            cutoff_shift_oct: FloatParam::new(
                format!("Track {n} Cutoff"),
                0.0,
                FloatRange::Linear {
                    min: *CUTOFF_SHIFT_OCT.start(),
                    max: *CUTOFF_SHIFT_OCT.end(),
                },
            )
            .with_unit(" oct")
            .with_step_size(0.01)
            .with_value_to_string(std::sync::Arc::new(|v| format!("{v:+.2}"))),
            reverb_send_offset: send_offset(format!("Track {n} Reverb Send")),
            delay_send_offset: send_offset(format!("Track {n} Delay Send")),
        }
    }

    /// The engine's automation values of this slot now.
    pub fn fx_automation(&self) -> FxAutomation {
        FxAutomation {
            cutoff_shift_oct: self.cutoff_shift_oct.value(),
            reverb_send_offset: self.reverb_send_offset.value(),
            delay_send_offset: self.delay_send_offset.value(),
        }
    }
}

/// A send offset parameter: −100 % to +100 %, 0 by default.
fn send_offset(name: String) -> FloatParam {
    FloatParam::new(
        name,
        0.0,
        FloatRange::Linear {
            min: *SEND_OFFSET.start(),
            max: *SEND_OFFSET.end(),
        },
    )
    .with_unit(" %")
    .with_value_to_string(std::sync::Arc::new(|v| format!("{:+.0}", v * 100.0)))
    .with_string_to_value(std::sync::Arc::new(|s| {
        let s = s.trim().trim_end_matches('%').trim();
        s.parse::<f32>().ok().map(|v| v / 100.0)
    }))
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
            fill: BoolParam::new("Fill", false),
            pattern: EnumParam::new("Pattern", PatternSlot::A),
            song_mode: BoolParam::new("Song Mode", false),
            tracks: std::array::from_fn(TrackParams::new),
        }
    }
}
