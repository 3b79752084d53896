//! The editor's colours: a palette of [`TRACK_COLORS`] track colours, the sound families that
//! pick a track's colour until a player picks one ([`Track::color`]), the dimming of muted rows,
//! and the mute and solo buttons' colours. Pure functions, so the screenshot tests compute the
//! same colours the grid draws.

use egui::epaint::text::{FontInsert, FontPriority, InsertFontFamily};
use egui::{Color32, FontData, FontFamily};
use keyboardia_core::{BuiltinSound, Instrument, SynthPreset, Track, TRACK_COLORS};

/// The track palette: index = [`Track::color`] (vivid enough to read on the dark grid, and far
/// from the grid's off, playhead and badge colours).
pub const PALETTE: [Color32; TRACK_COLORS as usize] = [
    Color32::from_rgb(255, 138, 36),  // orange
    Color32::from_rgb(238, 78, 78),   // red
    Color32::from_rgb(248, 204, 52),  // yellow
    Color32::from_rgb(156, 216, 64),  // lime
    Color32::from_rgb(72, 196, 112),  // green
    Color32::from_rgb(36, 186, 168),  // teal
    Color32::from_rgb(52, 176, 236),  // sky
    Color32::from_rgb(86, 124, 248),  // blue
    Color32::from_rgb(146, 98, 244),  // violet
    Color32::from_rgb(202, 88, 220),  // purple
    Color32::from_rgb(244, 96, 166),  // pink
    Color32::from_rgb(255, 150, 124), // salmon
    Color32::from_rgb(206, 176, 124), // sand
    Color32::from_rgb(150, 228, 200), // mint
    Color32::from_rgb(138, 158, 192), // steel
    Color32::from_rgb(214, 214, 206), // chalk
];

/// Names of the palette's colours, for the colour menu's tooltips.
pub const PALETTE_NAMES: [&str; TRACK_COLORS as usize] = [
    "Orange", "Red", "Yellow", "Lime", "Green", "Teal", "Sky", "Blue", "Violet", "Purple", "Pink",
    "Salmon", "Sand", "Mint", "Steel", "Chalk",
];

/// A family of sounds: the sound picker groups by it, and it gives a track its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Kick, snare, clap, toms, rim.
    Drums,
    /// Hats, shaker, cowbell.
    Percussion,
    /// Sub, FM and synth basses, acid.
    Bass,
    /// Stab, bell, pluck.
    Keys,
    /// The synth's lead and pad.
    Synth,
    /// Zap, riser.
    Fx,
    /// Recorded takes and shared samples.
    Samples,
}

impl Family {
    /// Every family, in the order the sound picker lists them.
    pub const ALL: [Family; 7] = [
        Family::Drums,
        Family::Percussion,
        Family::Bass,
        Family::Keys,
        Family::Synth,
        Family::Fx,
        Family::Samples,
    ];

    /// The family's name in the sound picker.
    pub fn label(self) -> &'static str {
        match self {
            Family::Drums => "Drums",
            Family::Percussion => "Percussion",
            Family::Bass => "Bass",
            Family::Keys => "Keys",
            Family::Synth => "Synth",
            Family::Fx => "FX",
            Family::Samples => "Samples",
        }
    }

    /// The palette index of the family's colour.
    pub fn color_index(self) -> u8 {
        match self {
            Family::Drums => 0,
            Family::Percussion => 2,
            Family::Bass => 7,
            Family::Keys => 4,
            Family::Synth => 6,
            Family::Fx => 10,
            Family::Samples => 13,
        }
    }

    /// The family `instrument` belongs to.
    pub fn of(instrument: &Instrument) -> Family {
        match instrument {
            Instrument::Sound(s) => match s {
                BuiltinSound::Kick
                | BuiltinSound::Snare
                | BuiltinSound::Clap
                | BuiltinSound::LowTom
                | BuiltinSound::HighTom
                | BuiltinSound::Rim => Family::Drums,
                BuiltinSound::ClosedHat
                | BuiltinSound::OpenHat
                | BuiltinSound::Shaker
                | BuiltinSound::Cowbell => Family::Percussion,
                BuiltinSound::SubBass | BuiltinSound::FmBass => Family::Bass,
                BuiltinSound::Stab | BuiltinSound::Bell => Family::Keys,
                BuiltinSound::Zap | BuiltinSound::Riser => Family::Fx,
            },
            Instrument::Synth(p) => match p {
                SynthPreset::Bass | SynthPreset::Acid => Family::Bass,
                SynthPreset::Pluck => Family::Keys,
                SynthPreset::Lead | SynthPreset::Pad => Family::Synth,
            },
            Instrument::Sample(_) => Family::Samples,
        }
    }

    /// The built-in sounds and synth presets of this family, in picker order.
    pub fn instruments(self) -> Vec<Instrument> {
        BuiltinSound::ALL
            .iter()
            .map(|s| Instrument::Sound(*s))
            .chain(SynthPreset::ALL.iter().map(|p| Instrument::Synth(*p)))
            .filter(|i| Family::of(i) == self)
            .collect()
    }
}

/// The palette index a track is drawn in: the one picked, else its sound family's.
pub fn track_color_index(track: &Track) -> u8 {
    track
        .color
        .filter(|c| *c < TRACK_COLORS)
        .unwrap_or_else(|| Family::of(&track.instrument).color_index())
}

/// The colour a track is drawn in.
pub fn track_color(track: &Track) -> Color32 {
    PALETTE[track_color_index(track) as usize]
}

/// `a` moved a fraction `t` (0..=1) of the way to `b`, opaque (so a screenshot shows exactly
/// this colour whatever is behind it).
pub fn mix(a: Color32, b: Color32, t: f32) -> Color32 {
    let m = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Color32::from_rgb(m(a.r(), b.r()), m(a.g(), b.g()), m(a.b(), b.b()))
}

/// What dimmed colours fade toward: the panel behind the grid.
pub const DIM_TOWARD: Color32 = Color32::from_rgb(27, 27, 27);
/// How far a muted (or not soloed) row's colours fade toward [`DIM_TOWARD`].
pub const DIM_AMOUNT: f32 = 0.6;

/// A colour of a row that does not sound (muted, or another track is soloed).
pub fn dim(c: Color32) -> Color32 {
    mix(c, DIM_TOWARD, DIM_AMOUNT)
}

/// The unlit part of an on step (above its velocity bar): the track colour, darkened.
pub fn unlit(c: Color32) -> Color32 {
    mix(c, Color32::from_rgb(40, 42, 50), 0.62)
}

/// The fill of the mute button when on.
pub const MUTE_ON: Color32 = Color32::from_rgb(236, 174, 40);
/// The fill of the solo button when on.
pub const SOLO_ON: Color32 = Color32::from_rgb(64, 196, 110);
/// Text on a lit mute or solo button.
pub const BUTTON_TEXT_ON: Color32 = Color32::from_rgb(16, 16, 16);

/// Whether the row in slot `slot` sounds: not muted, and soloed if any track is.
pub fn audible(slot: usize, mute: &[bool], solo: &[bool]) -> bool {
    let any_solo = solo.iter().any(|s| *s);
    !mute.get(slot).copied().unwrap_or(false)
        && (!any_solo || solo.get(slot).copied().unwrap_or(false))
}

/// The symbols the editor draws that egui's default fonts lack (`●`, `⚠`, arrows, `✓`, ...): a
/// 30 KB subset of DejaVu Sans (arrows, math operators, technical symbols, geometric shapes, a
/// few dingbats; licence in `ui/assets/symbols-LICENSE.txt`), made with
/// `pyftsubset DejaVuSans.ttf --unicodes=U+2022,U+2190-21FF,U+2212,U+2300-23FF,U+25A0-25FF,\
/// U+2605-2606,U+2610-2612,U+2690-26A1,U+26AA-26AB,U+2713-2718,U+2795-2797 --no-hinting
/// --desubroutinize`.
const SYMBOLS_TTF: &[u8] = include_bytes!("../assets/symbols.ttf");

/// Adds the symbol font after egui's own fonts, for every glyph they lack (once per context;
/// later calls find it there and do nothing).
pub fn install_fonts(ctx: &egui::Context) {
    let families = [FontFamily::Proportional, FontFamily::Monospace]
        .map(|family| InsertFontFamily {
            family,
            priority: FontPriority::Lowest,
        })
        .to_vec();
    ctx.add_font(FontInsert::new(
        "keyboardia-symbols",
        FontData::from_static(SYMBOLS_TTF),
        families,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character outside ASCII in a string of the editor's sources (comments left out)
    /// has a glyph in the fonts the editor installs, so none draws as a box.
    #[test]
    fn every_glyph_the_editor_draws_is_in_its_fonts() {
        let ctx = egui::Context::default();
        install_fonts(&ctx);
        let mut out = ctx.run_ui(Default::default(), |_| {});
        out.textures_delta.clear();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.clone()];
        let mut chars = std::collections::BTreeSet::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                let code = line.split("//").next().unwrap_or("");
                // Text between quotes (string literals and char literals).
                let quoted = code.split('"').skip(1).step_by(2);
                chars.extend(quoted.flat_map(str::chars).filter(|c| !c.is_ascii()));
            }
        }
        // What the session bar and the grid draw, whatever the sources say today.
        chars.extend("●⚠×…·—↑↓←→✓".chars());
        let missing: Vec<char> = chars
            .iter()
            .copied()
            .filter(|c| {
                ![
                    egui::FontId::proportional(12.0),
                    egui::FontId::monospace(12.0),
                ]
                .iter()
                .all(|f| ctx.fonts_mut(|fonts| fonts.has_glyph(f, *c)))
            })
            .collect();
        assert!(missing.is_empty(), "no glyph for {missing:?}");
        assert!(chars.len() > 8, "found the symbols: {chars:?}");
    }

    #[test]
    fn every_sound_has_a_family_and_the_demo_tracks_take_their_familys_colour() {
        let mut all = 0;
        for f in Family::ALL {
            all += f.instruments().len();
        }
        assert_eq!(all, BuiltinSound::ALL.len() + SynthPreset::ALL.len());
        let demo = keyboardia_core::SessionState::demo();
        let kick = &demo.tracks[0];
        assert_eq!(track_color(kick), PALETTE[0]);
        let mut picked = kick.clone();
        picked.color = Some(9);
        assert_eq!(track_color(&picked), PALETTE[9]);
        // Distinct colours stay distinct after dimming and darkening.
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                assert_ne!(dim(*a), dim(*b));
                assert_ne!(unlit(*a), unlit(*b));
            }
        }
    }

    #[test]
    fn mute_and_solo_decide_which_rows_sound() {
        let none = [false; 3];
        assert!((0..3).all(|s| audible(s, &none, &none)));
        assert!(!audible(1, &[false, true, false], &none));
        let solo = [false, false, true];
        assert!(!audible(0, &none, &solo) && audible(2, &none, &solo));
        // Muted beats soloed.
        assert!(!audible(2, &[false, false, true], &solo));
    }
}
