//! What a track plays: a built-in sound, a synth preset or an uploaded sample.

use std::fmt;
use std::str::FromStr;

use super::ids::SampleId;
use crate::error::OpError;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $str:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable id used in saved sessions and on the wire. Never rename one.
            pub const fn id(self) -> &'static str {
                match self { $($name::$variant => $str,)* }
            }

            pub fn from_id(s: &str) -> Option<Self> {
                match s { $($str => Some($name::$variant),)* _ => None }
            }
        }
    };
}

named_enum! {
    /// The 16 built-in sounds, synthesized by the engine (no sample files).
    BuiltinSound {
        Kick = "kick",
        Snare = "snare",
        Clap = "clap",
        ClosedHat = "hat_closed",
        OpenHat = "hat_open",
        LowTom = "tom_low",
        HighTom = "tom_high",
        Rim = "rim",
        Cowbell = "cowbell",
        Shaker = "shaker",
        SubBass = "sub_bass",
        FmBass = "fm_bass",
        Stab = "stab",
        Bell = "bell",
        Zap = "zap",
        Riser = "riser",
    }
}

named_enum! {
    /// The five presets of the real-time synth.
    SynthPreset {
        Bass = "bass",
        Lead = "lead",
        Pad = "pad",
        Pluck = "pluck",
        Acid = "acid",
    }
}

impl BuiltinSound {
    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kick => "Kick",
            Self::Snare => "Snare",
            Self::Clap => "Clap",
            Self::ClosedHat => "Closed Hat",
            Self::OpenHat => "Open Hat",
            Self::LowTom => "Low Tom",
            Self::HighTom => "High Tom",
            Self::Rim => "Rim",
            Self::Cowbell => "Cowbell",
            Self::Shaker => "Shaker",
            Self::SubBass => "Sub Bass",
            Self::FmBass => "FM Bass",
            Self::Stab => "Stab",
            Self::Bell => "Bell",
            Self::Zap => "Zap",
            Self::Riser => "Riser",
        }
    }
}

impl SynthPreset {
    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bass => "Synth Bass",
            Self::Lead => "Lead",
            Self::Pad => "Pad",
            Self::Pluck => "Pluck",
            Self::Acid => "Acid",
        }
    }
}

/// What a track plays. In JSON a plain string: `"kick"`, `"synth:acid"`, `"sample:<id>"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Instrument {
    Sound(BuiltinSound),
    Synth(SynthPreset),
    Sample(SampleId),
}

impl Instrument {
    pub fn label(&self) -> &str {
        match self {
            Self::Sound(s) => s.label(),
            Self::Synth(p) => p.label(),
            Self::Sample(id) => id.as_str(),
        }
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sound(s) => f.write_str(s.id()),
            Self::Synth(p) => write!(f, "synth:{}", p.id()),
            Self::Sample(id) => write!(f, "sample:{id}"),
        }
    }
}

impl FromStr for Instrument {
    type Err = OpError;

    fn from_str(s: &str) -> Result<Self, OpError> {
        if let Some(p) = s.strip_prefix("synth:") {
            SynthPreset::from_id(p)
                .map(Self::Synth)
                .ok_or(OpError::UnknownInstrument)
        } else if let Some(id) = s.strip_prefix("sample:") {
            id.parse()
                .map(Self::Sample)
                .map_err(|_| OpError::UnknownInstrument)
        } else {
            BuiltinSound::from_id(s)
                .map(Self::Sound)
                .ok_or(OpError::UnknownInstrument)
        }
    }
}
