//! The engine's setter for host automation of the effects (a plugin's per-slot cutoff and
//! send parameters): see [`FxAutomation`]. Kept out of `engine.rs`, which holds the sequencer.

use super::Engine;
use crate::fx::FxAutomation;

impl Engine {
    /// Track slot `slot`'s automated cutoff shift and send offsets, this player's own (not
    /// session state), reached over a short ramp so automation makes no zipper noise. A plain
    /// setter like [`Engine::set_track_mixer`]: call it once per block; no allocation.
    pub fn set_fx_automation(&mut self, slot: usize, automation: FxAutomation) {
        self.fx.set_automation(slot, automation);
    }
}
