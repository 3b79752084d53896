//! The step grid of one track: geometry (which step a point hits, where a step is drawn, how
//! big cells are for the space there is) and painting. Every track shows its own step count;
//! a small gap groups each beat of 4 steps and a wider one each bar of 16. A step shows what it
//! does: its track's colour, its velocity as the height of its lit bar, a badge naming its
//! locks (`+7`, `50%`, `×3`, slice `4`), and a flash when it plays.

use egui::{Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};
use keyboardia_core::{Instrument, Lock, LockKind, Step, Track, MAX_STEPS, VELOCITY_RANGE};

use crate::style::{self, dim, unlit};

/// Steps per page (a bar of 16ths; a wider gap follows each).
pub const PAGE_STEPS: usize = 16;
/// Steps per beat (a small gap follows each).
pub const BEAT_STEPS: usize = 4;
/// The extra gap after each beat, in step pitches.
const BEAT_GAP: f32 = 0.25;
/// The extra gap after each page, beyond the beat gap, in step pitches.
const PAGE_GAP: f32 = 0.5;
/// A drawn cell's width, in step pitches (the rest of the pitch is the gap between cells).
const CELL_WIDTH: f32 = 0.86;
/// Smallest step pitch, in points: below it the grid scrolls (with a bar always shown).
pub const MIN_PITCH_PT: f32 = 12.0;
/// Largest step pitch, in points.
pub const MAX_PITCH_PT: f32 = 40.0;
/// The step pitch of a window of the default size.
pub const DEFAULT_PITCH_PT: f32 = 15.0;
/// Space above and below a cell inside its row, in points.
const CELL_MARGIN_PT: f32 = 5.0;
/// Height of the bar-number header over the grid, in points.
pub const HEADER_HEIGHT_PT: f32 = 16.0;
/// How long a step that starts playing flashes, in seconds.
pub const PLAY_FLASH_S: f32 = 0.15;

/// Cell colours (public so the screenshot tests and the docs agree with the drawing).
pub mod colors {
    use egui::Color32;
    /// A step that is off.
    pub const OFF: Color32 = Color32::from_rgb(52, 57, 68);
    /// A step that is off on a beat (every 4th step), a little lighter to help reading.
    pub const OFF_BEAT: Color32 = Color32::from_rgb(70, 76, 90);
    /// An on step under the playhead while playing.
    pub const PLAYHEAD: Color32 = Color32::from_rgb(255, 236, 150);
    /// An off step under the playhead while playing.
    pub const PLAYHEAD_OFF: Color32 = Color32::from_rgb(150, 156, 172);
    /// The strip a step's lock badge is written on.
    pub const BADGE: Color32 = Color32::from_rgb(232, 234, 244);
    /// The badge's text.
    pub const BADGE_TEXT: Color32 = Color32::from_rgb(24, 24, 32);
    /// The outline of the step whose lock editor is open.
    pub const SELECTED: Color32 = Color32::WHITE;
    /// Bar numbers and beat ticks over the grid.
    pub const RULER: Color32 = Color32::from_rgb(150, 154, 166);
}

/// Where cells go, for the room there is: the step pitch and the row height (both in points).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    /// Horizontal distance from one step to the next within a beat.
    pub pitch_pt: f32,
    /// Height of a row (its cells are a little shorter).
    pub row_height_pt: f32,
}

/// Width of a 64-step grid in step pitches.
fn full_width_pitches() -> f32 {
    let last = MAX_STEPS - 1;
    last as f32
        + (last / BEAT_STEPS) as f32 * BEAT_GAP
        + (last / PAGE_STEPS) as f32 * PAGE_GAP
        + CELL_WIDTH
}

impl Geometry {
    /// The largest cells (within [`MIN_PITCH_PT`]..=[`MAX_PITCH_PT`]) with which a 64-step row
    /// fits `width_pt`.
    pub fn fit(width_pt: f32, row_height_pt: f32) -> Self {
        let pitch_pt = (width_pt / full_width_pitches()).clamp(MIN_PITCH_PT, MAX_PITCH_PT);
        Self {
            pitch_pt,
            row_height_pt,
        }
    }

    /// The geometry a row drawn at `row` (as wide as 64 steps, as [`show`] draws it) has.
    pub fn of_row(row: Rect) -> Self {
        Self {
            pitch_pt: row.width() / full_width_pitches(),
            row_height_pt: row.height(),
        }
    }

    /// Width of a drawn cell.
    pub fn cell_width_pt(&self) -> f32 {
        self.pitch_pt * CELL_WIDTH
    }

    /// Height of a drawn cell.
    pub fn cell_height_pt(&self) -> f32 {
        self.row_height_pt - 2.0 * CELL_MARGIN_PT
    }

    /// Left edge of step `step`, relative to the grid's origin.
    pub fn step_x(&self, step: usize) -> f32 {
        let gaps = (step / BEAT_STEPS) as f32 * BEAT_GAP + (step / PAGE_STEPS) as f32 * PAGE_GAP;
        (step as f32 + gaps) * self.pitch_pt
    }

    /// Width of the grid of a track with `count` steps.
    pub fn width(&self, count: usize) -> f32 {
        if count == 0 {
            0.0
        } else {
            self.step_x(count - 1) + self.cell_width_pt()
        }
    }

    /// Where step `step` is drawn in a row at `row`.
    pub fn cell_rect(&self, row: Rect, step: u8) -> Rect {
        let min = Pos2::new(
            row.left() + self.step_x(step as usize),
            row.top() + CELL_MARGIN_PT,
        );
        Rect::from_min_size(min, Vec2::new(self.cell_width_pt(), self.cell_height_pt()))
    }

    /// The step under `x` (relative to the grid's origin) of a track with `count` steps;
    /// `None` in a gap or past the end.
    pub fn step_at(&self, x: f32, count: usize) -> Option<u8> {
        if x < 0.0 {
            return None;
        }
        // Steps are few: find the one whose cell spans x.
        (0..count.min(MAX_STEPS))
            .find(|&i| {
                let left = self.step_x(i);
                x >= left && x < left + self.cell_width_pt()
            })
            .map(|i| i as u8)
    }
}

/// Where step `step` is drawn in a grid row drawn at `row` (the rect [`show`] allocated, as
/// the editor's `grid_rows` report it). `_row_height_pt` is the row's height (kept for
/// callers; the row's rect says it).
pub fn cell_rect(row: Rect, _row_height_pt: f32, step: u8) -> Rect {
    Geometry::of_row(row).cell_rect(row, step)
}

/// The badge a step shows for its locks, most telling first: the slice it plays (sample tracks
/// only; other instruments ignore slices), then pitch `+7`, probability `50%`, ratchet `×3`,
/// volume `v60` and nudge `n-10`. `None` for a step without locks that play.
pub fn badge(track: &Track, step: &Step) -> Option<String> {
    if let Some(k) = slice_label(track, step) {
        return Some(k);
    }
    let l = &step.locks;
    if let Some(p) = l.pitch {
        return Some(format!("{p:+}"));
    }
    if let Some(c) = l.probability {
        return Some(format!("{c}%"));
    }
    if let Some(r) = l.ratchet {
        return Some(format!("×{r}"));
    }
    if let Some(v) = l.volume {
        return Some(format!("v{:.0}", v * 100.0));
    }
    l.nudge.map(|n| format!("n{n:+}"))
}

/// Every lock of a step, in words (a cell's tooltip).
pub fn describe_locks(track: &Track, step: &Step) -> Vec<String> {
    LockKind::ALL
        .into_iter()
        .filter_map(|k| step.locks.get(k))
        .filter(|l| !matches!(l, Lock::Slice(_)) || slice_label(track, step).is_some())
        .map(|l| match l {
            Lock::Pitch(v) => format!("Pitch {v:+} semitones"),
            Lock::Volume(v) => format!("Volume {:.0} %", v * 100.0),
            Lock::Probability(v) => format!("Plays {v} % of the time"),
            Lock::Nudge(v) => format!("Nudged {v:+} % of a step"),
            Lock::Ratchet(v) => format!("Ratchet ×{v}"),
            Lock::Slice(v) => format!("Plays slice {}", v as u32 + 1),
            Lock::Condition(c) => format!("Condition {c}"),
            Lock::Cutoff(v) => format!("Filter cutoff {v:.0} Hz"),
            Lock::ReverbSend(v) => format!("Reverb send {:.0} %", v * 100.0),
            Lock::DelaySend(v) => format!("Delay send {:.0} %", v * 100.0),
        })
        .collect()
}

/// The label a step of `track` shows for its slice lock: the slice number counted from 1 like
/// the steps, on sample tracks only (other instruments ignore slices).
pub fn slice_label(track: &Track, step: &Step) -> Option<String> {
    match track.instrument {
        Instrument::Sample(_) => step.locks.slice.map(|k| (k as u32 + 1).to_string()),
        _ => None,
    }
}

/// How much of an on step's height its lit bar fills for velocity `v`: a fifth at the
/// softest, all of it at 127.
pub fn velocity_fraction(v: u8) -> f32 {
    let (lo, hi) = (*VELOCITY_RANGE.start() as f32, *VELOCITY_RANGE.end() as f32);
    0.2 + 0.8 * ((v as f32 - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// How a step is painted: the cell's colour and, for an on step, its lit bar (colour and the
/// fraction of the height it fills, from the bottom).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellPaint {
    /// The whole cell.
    pub background: Color32,
    /// The lit bar of an on step: its colour and height fraction.
    pub bar: Option<(Color32, f32)>,
}

/// How step `step` (index `index`) of a track drawn in `color` is painted; `playhead` when it
/// plays now, `dimmed` when its row does not sound (muted, or another track soloed).
pub fn cell_paint(
    step: &Step,
    index: usize,
    color: Color32,
    playhead: bool,
    dimmed: bool,
) -> CellPaint {
    let (background, bar) = if playhead && step.on {
        (colors::PLAYHEAD, None)
    } else if playhead {
        (colors::PLAYHEAD_OFF, None)
    } else if step.on {
        (
            unlit(color),
            Some((color, velocity_fraction(step.velocity))),
        )
    } else if index.is_multiple_of(BEAT_STEPS) {
        (colors::OFF_BEAT, None)
    } else {
        (colors::OFF, None)
    };
    if dimmed {
        CellPaint {
            background: dim(background),
            bar: bar.map(|(c, f)| (dim(c), f)),
        }
    } else {
        CellPaint { background, bar }
    }
}

/// A colour greyed out: its luminance only, pulled toward the background, so a read-only grid
/// reads as disabled while its steps stay legible (an on step is still lighter than an off one).
pub fn greyed(c: Color32) -> Color32 {
    let l = 0.299 * c.r() as f32 + 0.587 * c.g() as f32 + 0.114 * c.b() as f32;
    let g = (40.0 + 0.55 * l).round().clamp(0.0, 255.0) as u8;
    Color32::from_rgb(g, g, g)
}

impl CellPaint {
    /// The same cell greyed out (a session this player may not edit).
    pub fn greyed(self) -> Self {
        Self {
            background: greyed(self.background),
            bar: self.bar.map(|(c, f)| (greyed(c), f)),
        }
    }
}

/// What a row shows besides its steps.
#[derive(Clone, Copy, Debug)]
pub struct RowLook {
    /// Where cells go.
    pub geometry: Geometry,
    /// The step playing now (while playing).
    pub playhead: Option<u8>,
    /// How far the playing step's flash has faded (0 just started, 1 gone).
    pub play_flash_age: f32,
    /// The step whose lock editor is open.
    pub selected: Option<u8>,
    /// The row does not sound (muted, or another track soloed).
    pub dimmed: bool,
    /// The session is someone else's locked one: cells are drawn greyed ([`CellPaint::greyed`])
    /// and no press is reported (nothing would be sent anyway).
    pub read_only: bool,
}

/// A press on a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellClick {
    /// The step pressed (within the track's step count).
    pub step: u8,
    /// Shift was held: open the step's lock editor instead of toggling it.
    pub shift: bool,
}

/// A drawn row.
pub struct Row {
    /// Where the row was drawn (as wide as 64 steps).
    pub rect: Rect,
    /// The row's response (hover, context menu).
    pub response: egui::Response,
    /// A primary press on one of its steps this frame.
    pub press: Option<CellClick>,
}

/// Draws the bar numbers and beat ticks over a grid laid out by `geometry`.
pub fn header(ui: &mut Ui, geometry: Geometry) {
    let size = Vec2::new(geometry.width(MAX_STEPS), HEADER_HEIGHT_PT);
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    for beat in 0..MAX_STEPS / BEAT_STEPS {
        let x = rect.left() + geometry.step_x(beat * BEAT_STEPS);
        if beat % (PAGE_STEPS / BEAT_STEPS) == 0 {
            painter.text(
                Pos2::new(x, rect.center().y),
                Align2::LEFT_CENTER,
                (beat / (PAGE_STEPS / BEAT_STEPS) + 1).to_string(),
                FontId::proportional(11.0),
                colors::RULER,
            );
        } else {
            let tick = Rect::from_min_size(
                Pos2::new(x, rect.bottom() - 5.0),
                Vec2::new(geometry.cell_width_pt(), 2.0),
            );
            painter.rect_filled(tick, CornerRadius::ZERO, colors::RULER.gamma_multiply(0.5));
        }
    }
}

/// The tracks as the grid draws them for pattern `pt`: each with `pt`'s steps and step count
/// in place of pattern A's, so [`show`], the tooltips and the track controls read `steps` and
/// `step_count` whatever pattern the editor shows.
pub fn pattern_view(tracks: &[Track], pt: keyboardia_core::PatternId) -> Vec<Track> {
    tracks
        .iter()
        .map(|t| {
            let mut v = t.clone();
            if !pt.is_a() {
                v.steps = *t.steps_in(pt);
                v.step_count = t.step_count_in(pt);
            }
            v
        })
        .collect()
}

/// Draws the grid of `track` (its own step count) as `look` says; `flash(step)` is the colour of
/// the player who just changed that step, if any.
pub fn show(
    ui: &mut Ui,
    track: &Track,
    look: &RowLook,
    flash: impl Fn(u8) -> Option<Color32>,
) -> Row {
    let g = look.geometry;
    let count = track.step_count as usize;
    let size = Vec2::new(g.width(MAX_STEPS), g.row_height_pt);
    let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    let color = style::track_color(track);
    for (i, step) in track.steps[..count].iter().enumerate() {
        let cell = g.cell_rect(rect, i as u8);
        let here = look.playhead == Some(i as u8);
        let mut paint = cell_paint(step, i, color, here, look.dimmed);
        if look.read_only {
            paint = paint.greyed();
        }
        painter.rect_filled(cell, CornerRadius::same(2), paint.background);
        if let Some((bar_color, fraction)) = paint.bar {
            let mut bar = cell;
            bar.min.y = cell.bottom() - cell.height() * fraction;
            painter.rect_filled(bar, CornerRadius::same(2), bar_color);
        }
        if let Some(text) = badge(track, step) {
            badge_strip(&painter, cell, &text, look.dimmed);
        }
        if here && step.on && look.play_flash_age < 1.0 {
            // The step that plays flashes: a bright ring fading over PLAY_FLASH_S.
            painter.rect_stroke(
                cell.expand(1.0),
                CornerRadius::same(3),
                Stroke::new(
                    2.5,
                    Color32::WHITE.gamma_multiply(1.0 - look.play_flash_age),
                ),
                egui::StrokeKind::Outside,
            );
        }
        if let Some(c) = flash(i as u8) {
            painter.rect_stroke(
                cell,
                CornerRadius::same(2),
                Stroke::new(2.0, c),
                egui::StrokeKind::Outside,
            );
        }
        if look.selected == Some(i as u8) {
            painter.rect_stroke(
                cell,
                CornerRadius::same(2),
                Stroke::new(1.5, colors::SELECTED),
                egui::StrokeKind::Outside,
            );
        }
    }
    // Where the primary button went down this frame, from the event itself: a touch tap is
    // down, up and gone within one frame, so neither the hover position nor `hovered()` knows
    // it by the time the row is drawn.
    let press_pos = ui.input(|i| {
        i.events.iter().find_map(|e| match e {
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: true,
                ..
            } => Some(*pos),
            _ => None,
        })
    });
    let on_top = |pos: egui::Pos2| ui.ctx().layer_id_at(pos) == Some(ui.layer_id());
    let press = press_pos
        .filter(|_| !look.read_only)
        .filter(|pos| rect.contains(*pos) && ui.clip_rect().contains(*pos) && on_top(*pos))
        .and_then(|pos| g.step_at(pos.x - rect.left(), count))
        .map(|step| CellClick {
            step,
            shift: ui.input(|i| i.modifiers.shift),
        });
    Row {
        rect,
        response,
        press,
    }
}

/// The strip at the top of a cell with its lock badge.
fn badge_strip(painter: &egui::Painter, cell: Rect, text: &str, dimmed: bool) {
    let chars = text.chars().count().max(1) as f32;
    let font_pt = (cell.width() / (0.58 * chars)).clamp(6.0, 10.0);
    // A margin of plain strip above and below the text, so the strip reads as one piece.
    let strip = Rect::from_min_size(cell.min, Vec2::new(cell.width(), font_pt + 6.0));
    let (fill, ink) = if dimmed {
        (dim(colors::BADGE), colors::BADGE_TEXT)
    } else {
        (colors::BADGE, colors::BADGE_TEXT)
    };
    painter.rect_filled(strip, CornerRadius::same(2), fill);
    // Clipped inside a plain border, so the strip reads as one piece however the text runs.
    painter
        .with_clip_rect(strip.shrink2(Vec2::new(1.0, 2.0)))
        .text(
            strip.center(),
            Align2::CENTER_CENTER,
            text,
            FontId::proportional(font_pt),
            ink,
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_map_to_steps_and_gaps_to_nothing() {
        let g = Geometry {
            pitch_pt: DEFAULT_PITCH_PT,
            row_height_pt: 52.0,
        };
        let w = g.cell_width_pt();
        assert_eq!(g.step_at(0.0, 16), Some(0));
        assert_eq!(g.step_at(w - 0.1, 16), Some(0));
        assert_eq!(g.step_at(w + 0.5, 16), None); // gap between cells
        assert_eq!(g.step_at(g.step_x(15) + 1.0, 16), Some(15));
        assert_eq!(g.step_at(g.step_x(16) + 1.0, 16), None); // past this track's count
        assert_eq!(g.step_at(g.step_x(16) + 1.0, 32), Some(16));
        // A beat is a small gap, a page a wider one.
        let pitch = g.step_x(1) - g.step_x(0);
        let beat = g.step_x(4) - g.step_x(3);
        let page = g.step_x(16) - g.step_x(15);
        assert!(pitch < beat && beat < page, "{pitch} {beat} {page}");
        assert_eq!(g.step_at(g.step_x(15) + w + 2.0, 32), None); // page separator
        assert_eq!(g.step_at(g.step_x(63) + 1.0, 64), Some(63));
        assert_eq!(g.step_at(-1.0, 64), None);
        for i in 0..64 {
            assert_eq!(g.step_at(g.step_x(i) + w / 2.0, 64), Some(i as u8));
        }
        assert_eq!(g.width(12), g.step_x(11) + w);
    }

    #[test]
    fn cells_grow_with_the_room_and_a_row_tells_its_geometry() {
        let small = Geometry::fit(500.0, 52.0);
        assert_eq!(small.pitch_pt, MIN_PITCH_PT);
        let wide = Geometry::fit(2000.0, 60.0);
        assert!(wide.pitch_pt > 25.0, "{}", wide.pitch_pt);
        assert!((wide.width(64) - 2000.0).abs() < 0.01);
        let row = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(wide.width(64), 60.0));
        let back = Geometry::of_row(row);
        assert!((back.pitch_pt - wide.pitch_pt).abs() < 1e-4 && back.row_height_pt == 60.0);
        assert!(
            (cell_rect(row, 60.0, 5).left() - (10.0 + wide.step_x(5))).abs() < 1e-3,
            "web hooks find cells from the row alone"
        );
    }

    #[test]
    fn badges_say_what_is_locked() {
        let mut t = Track::new(
            "t".parse().unwrap(),
            "Take",
            "sample:rec-1".parse().unwrap(),
        );
        let s = &mut t.steps;
        s[2].locks.slice = Some(3);
        s[3].locks.slice = Some(63);
        s[4].locks.pitch = Some(7);
        s[5].locks.probability = Some(50);
        s[6].locks.ratchet = Some(3);
        s[7].locks.pitch = Some(-12);
        s[7].locks.probability = Some(20);
        s[8].locks.volume = Some(0.6);
        s[9].locks.nudge = Some(-10);
        let b = |i: usize| badge(&t, &t.steps[i]);
        assert_eq!(b(2).as_deref(), Some("4"));
        assert_eq!(b(3).as_deref(), Some("64"));
        assert_eq!(b(4).as_deref(), Some("+7"));
        assert_eq!(b(5).as_deref(), Some("50%"));
        assert_eq!(b(6).as_deref(), Some("×3"));
        assert_eq!(b(7).as_deref(), Some("-12"), "pitch first");
        assert_eq!(b(8).as_deref(), Some("v60"));
        assert_eq!(b(9).as_deref(), Some("n-10"));
        assert_eq!(b(10), None);
        assert_eq!(describe_locks(&t, &t.steps[7]).len(), 2);
        // Other instruments ignore slices, so no slice badge.
        t.instrument = "kick".parse().unwrap();
        assert_eq!(badge(&t, &t.steps[2]), None);
        assert!(describe_locks(&t, &t.steps[2]).is_empty());
    }

    #[test]
    fn cells_show_on_off_beat_velocity_playhead_and_dimming() {
        let c = style::PALETTE[3];
        let mut s = Step::default();
        assert_eq!(
            cell_paint(&s, 0, c, false, false).background,
            colors::OFF_BEAT
        );
        assert_eq!(cell_paint(&s, 1, c, false, false).background, colors::OFF);
        assert_eq!(
            cell_paint(&s, 1, c, true, false).background,
            colors::PLAYHEAD_OFF
        );
        s.on = true;
        let on = cell_paint(&s, 1, c, false, false);
        assert_eq!(on.background, unlit(c));
        assert_eq!(on.bar, Some((c, velocity_fraction(100))));
        assert_eq!(
            cell_paint(&s, 1, c, true, false).background,
            colors::PLAYHEAD
        );
        let dimmed = cell_paint(&s, 1, c, false, true);
        assert_eq!(dimmed.background, dim(unlit(c)));
        assert_eq!(dimmed.bar.unwrap().0, dim(c));
        assert!(velocity_fraction(1) < velocity_fraction(60));
        assert!(velocity_fraction(60) < velocity_fraction(100));
        assert_eq!(velocity_fraction(127), 1.0);
        // Read-only: grey, an on step still lighter than an off one.
        let grey = cell_paint(&s, 1, c, false, false).greyed();
        let (bg, (bar, _)) = (grey.background, grey.bar.unwrap());
        assert!(bg.r() == bg.g() && bg.g() == bg.b(), "{bg:?}");
        assert!(bar.r() == bar.g() && bar.g() == bar.b(), "{bar:?}");
        s.on = false;
        let off = cell_paint(&s, 1, c, false, false).greyed().background;
        assert!(bar.r() > off.r(), "{bar:?} {off:?}");
    }
}
