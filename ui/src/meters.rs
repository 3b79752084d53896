//! Level meters: per track and master, from the peaks the host's audio side reports
//! ([`Meters`](crate::host::Meters)), falling smoothly and holding each peak for a moment.

use egui::{Color32, CornerRadius, Pos2, Rect, Vec2};
use keyboardia_core::MAX_TRACKS;

/// The meters' range, in dBFS (the bottom).
pub const FLOOR_DB: f32 = -48.0;
/// How fast a level falls, in dB per second.
pub const FALL_DB_PER_S: f32 = 24.0;
/// How long a peak is held, in seconds.
pub const HOLD_S: f64 = 1.5;
/// Level colours: safe, loud, clipping.
const GREEN: Color32 = Color32::from_rgb(80, 200, 110);
const AMBER: Color32 = Color32::from_rgb(240, 190, 60);
const RED: Color32 = Color32::from_rgb(240, 70, 60);
/// The meter's well.
const WELL: Color32 = Color32::from_rgb(20, 22, 26);

/// `linear` in dBFS, at least [`FLOOR_DB`].
pub fn db(linear: f32) -> f32 {
    if linear > 0.0 {
        (20.0 * linear.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// How much of a meter a level fills (0 at the floor, 1 at 0 dBFS).
pub fn fill(level_db: f32) -> f32 {
    ((level_db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0)
}

/// One meter's shown level and held peak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Meter {
    /// The level shown, in dBFS (falls at [`FALL_DB_PER_S`]).
    pub level_db: f32,
    /// The peak held, in dBFS, and when (editor clock, seconds) it was reached.
    pub hold: (f32, f64),
}

impl Default for Meter {
    fn default() -> Self {
        Self {
            level_db: FLOOR_DB,
            hold: (FLOOR_DB, 0.0),
        }
    }
}

impl Meter {
    /// A new peak `linear` (0 when silent) at `now_s`, `dt_s` after the last update.
    pub fn update(&mut self, linear: f32, now_s: f64, dt_s: f32) {
        let fallen = self.level_db - FALL_DB_PER_S * dt_s.max(0.0);
        self.level_db = db(linear).max(fallen).max(FLOOR_DB);
        if self.level_db >= self.hold.0 || now_s - self.hold.1 > HOLD_S {
            self.hold = (self.level_db, now_s);
        }
    }

    /// Whether it still shows anything (so the editor keeps drawing until it has fallen).
    pub fn active(&self) -> bool {
        self.level_db > FLOOR_DB || self.hold.0 > FLOOR_DB
    }

    /// Draws the meter into `rect`, filling upward (`vertical`) or rightward.
    pub fn paint(&self, painter: &egui::Painter, rect: Rect, vertical: bool) {
        painter.rect_filled(rect, CornerRadius::same(1), WELL);
        let color = |d: f32| {
            if d >= -0.5 {
                RED
            } else if d >= -9.0 {
                AMBER
            } else {
                GREEN
            }
        };
        let part = |f: f32| {
            if vertical {
                Rect::from_min_max(
                    Pos2::new(rect.left(), rect.bottom() - rect.height() * f),
                    rect.max,
                )
            } else {
                Rect::from_min_size(rect.min, Vec2::new(rect.width() * f, rect.height()))
            }
        };
        let f = fill(self.level_db);
        if f > 0.0 {
            painter.rect_filled(part(f), CornerRadius::same(1), color(self.level_db));
        }
        let h = fill(self.hold.0);
        if h > 0.0 {
            let line = if vertical {
                let y = rect.bottom() - rect.height() * h;
                Rect::from_min_max(Pos2::new(rect.left(), y), Pos2::new(rect.right(), y + 2.0))
            } else {
                let x = rect.left() + rect.width() * h;
                Rect::from_min_max(Pos2::new(x - 2.0, rect.top()), Pos2::new(x, rect.bottom()))
            };
            painter.rect_filled(line, CornerRadius::ZERO, color(self.hold.0));
        }
    }
}

/// Every track's meter and the master's.
#[derive(Clone, Debug, Default)]
pub struct Levels {
    /// Per track slot.
    pub tracks: [Meter; MAX_TRACKS],
    /// The master output.
    pub master: Meter,
    /// When they were last updated (editor clock, seconds).
    last_s: Option<f64>,
}

impl Levels {
    /// Takes the peaks since the last frame (`tracks`, `master`, linear) at `now_s`.
    pub fn update(&mut self, tracks: &[f32; MAX_TRACKS], master: f32, now_s: f64) {
        let dt = self.last_s.map_or(0.0, |l| (now_s - l) as f32);
        self.last_s = Some(now_s);
        for (m, p) in self.tracks.iter_mut().zip(tracks) {
            m.update(*p, now_s, dt);
        }
        self.master.update(master, now_s, dt);
    }

    /// Whether any meter still shows something.
    pub fn active(&self) -> bool {
        self.master.active() || self.tracks.iter().any(Meter::active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rise_at_once_fall_smoothly_and_peaks_hold() {
        let mut m = Meter::default();
        assert!(!m.active());
        m.update(1.0, 0.0, 0.0);
        assert_eq!(m.level_db, 0.0);
        // Silence: it falls at FALL_DB_PER_S; the peak holds for HOLD_S.
        m.update(0.0, 0.5, 0.5);
        assert!((m.level_db + FALL_DB_PER_S * 0.5).abs() < 1e-3);
        assert_eq!(m.hold.0, 0.0);
        m.update(0.0, 1.0, 0.5);
        assert_eq!(m.hold.0, 0.0, "held");
        m.update(0.0, 1.6, 0.6);
        assert!(m.hold.0 < 0.0, "released after {HOLD_S} s");
        m.update(0.0, 3.0, 1.4);
        m.update(0.0, 4.6, 1.6);
        assert!(!m.active(), "{m:?}");
        assert_eq!(db(0.5).round(), -6.0);
        assert_eq!(fill(FLOOR_DB), 0.0);
        assert_eq!(fill(0.0), 1.0);
    }
}
