//! The step grid of one track: geometry (which step a point hits, where a step is drawn) and
//! painting. Every track shows its own step count; a wider gap separates each page of 16 steps.

use egui::{Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};
use keyboardia_core::{Instrument, Step, Track, MAX_STEPS};

/// Horizontal distance from one step to the next within a page, in points.
pub const CELL_PITCH_PT: f32 = 15.0;
/// Width of a drawn cell, in points (the rest of the pitch is the gap).
pub const CELL_WIDTH_PT: f32 = 13.0;
/// Height of a drawn cell, in points.
pub const CELL_HEIGHT_PT: f32 = 28.0;
/// Extra gap after every page of steps, in points.
pub const PAGE_GAP_PT: f32 = 6.0;
/// Steps per page (a separator follows each).
pub const PAGE_STEPS: usize = 16;

/// Cell colours (public so the screenshot test and the docs agree with the drawing).
pub mod colors {
    use egui::Color32;
    /// A step that is off.
    pub const OFF: Color32 = Color32::from_rgb(52, 57, 68);
    /// A step that is off on a beat (every 4th step), a little lighter to help reading.
    pub const OFF_BEAT: Color32 = Color32::from_rgb(70, 76, 90);
    /// A step that is on.
    pub const ON: Color32 = Color32::from_rgb(255, 138, 36);
    /// An on step under the playhead while playing.
    pub const PLAYHEAD: Color32 = Color32::from_rgb(255, 236, 150);
    /// An off step under the playhead while playing.
    pub const PLAYHEAD_OFF: Color32 = Color32::from_rgb(150, 156, 172);
    /// The mark in the corner of a step with parameter locks.
    pub const LOCK: Color32 = Color32::from_rgb(64, 200, 255);
    /// The outline of the step whose lock editor is open.
    pub const SELECTED: Color32 = Color32::WHITE;
    /// The slice number on a slice-locked step that is on.
    pub const SLICE_ON: Color32 = Color32::from_rgb(60, 30, 0);
    /// The slice number on a slice-locked step that is off.
    pub const SLICE_OFF: Color32 = Color32::from_rgb(170, 176, 190);
}

/// Size of the slice number drawn in a slice-locked step, in points.
const SLICE_FONT_PT: f32 = 8.0;

/// The label a step of `track` shows for its slice lock: the slice number counted from 1 like
/// the steps, on sample tracks only (other instruments ignore slices).
pub fn slice_label(track: &Track, step: &Step) -> Option<String> {
    match track.instrument {
        Instrument::Sample(_) => step.locks.slice.map(|k| (k as u32 + 1).to_string()),
        _ => None,
    }
}

/// Left edge of step `step`, relative to the grid's origin.
pub fn step_x(step: usize) -> f32 {
    step as f32 * CELL_PITCH_PT + (step / PAGE_STEPS) as f32 * PAGE_GAP_PT
}

/// Where step `step` is drawn in a grid row at `row` (`row_height_pt` high).
pub fn cell_rect(row: Rect, row_height_pt: f32, step: u8) -> Rect {
    let top = row.top() + (row_height_pt - CELL_HEIGHT_PT) / 2.0;
    let min = Pos2::new(row.left() + step_x(step as usize), top);
    Rect::from_min_size(min, Vec2::new(CELL_WIDTH_PT, CELL_HEIGHT_PT))
}

/// Width of the grid of a track with `count` steps.
pub fn grid_width(count: usize) -> f32 {
    if count == 0 {
        0.0
    } else {
        step_x(count - 1) + CELL_WIDTH_PT
    }
}

/// Width of the widest possible grid (64 steps).
pub fn max_grid_width() -> f32 {
    grid_width(MAX_STEPS)
}

/// The step under `x` (relative to the grid's origin) of a track with `count` steps; `None` in a
/// gap or past the end.
pub fn step_at(x: f32, count: usize) -> Option<u8> {
    if x < 0.0 {
        return None;
    }
    let page_w = PAGE_STEPS as f32 * CELL_PITCH_PT + PAGE_GAP_PT;
    let page = (x / page_w).floor() as usize;
    let within = x - page as f32 * page_w;
    let i = (within / CELL_PITCH_PT).floor() as usize;
    if i >= PAGE_STEPS || within - i as f32 * CELL_PITCH_PT >= CELL_WIDTH_PT {
        return None;
    }
    let step = page * PAGE_STEPS + i;
    (step < count).then_some(step as u8)
}

/// Fill colour of a step.
pub fn cell_color(step: &Step, index: usize, playhead: bool) -> Color32 {
    if playhead && step.on {
        colors::PLAYHEAD
    } else if playhead {
        colors::PLAYHEAD_OFF
    } else if step.on {
        colors::ON
    } else if index.is_multiple_of(4) {
        colors::OFF_BEAT
    } else {
        colors::OFF
    }
}

/// What happened on a track's grid this frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellClick {
    /// The step clicked (within the track's step count).
    pub step: u8,
    /// Shift was held: open the step's lock editor instead of toggling it.
    pub shift: bool,
}

/// Draws the grid of `track` (its own step count) in a row `row_height_pt` high. `playhead` is
/// the step to highlight (while playing), `selected` the step whose lock editor is open, and
/// `flash(step)` the colour of the player who just changed that step, if any.
pub fn show(
    ui: &mut Ui,
    track: &Track,
    row_height_pt: f32,
    playhead: Option<u8>,
    selected: Option<u8>,
    flash: impl Fn(u8) -> Option<Color32>,
) -> Option<CellClick> {
    let count = track.step_count as usize;
    let size = Vec2::new(max_grid_width(), row_height_pt);
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let top = rect.top() + (row_height_pt - CELL_HEIGHT_PT) / 2.0;
    let painter = ui.painter_at(rect);
    for (i, step) in track.steps[..count].iter().enumerate() {
        let min = Pos2::new(rect.left() + step_x(i), top);
        let cell = Rect::from_min_size(min, Vec2::new(CELL_WIDTH_PT, CELL_HEIGHT_PT));
        let here = playhead == Some(i as u8);
        painter.rect_filled(cell, CornerRadius::same(2), cell_color(step, i, here));
        if !step.locks.is_empty() {
            let mark = Rect::from_min_size(
                Pos2::new(cell.right() - 6.0, cell.top() + 2.0),
                Vec2::splat(4.0),
            );
            painter.rect_filled(mark, CornerRadius::ZERO, colors::LOCK);
        }
        if let Some(label) = slice_label(track, step) {
            let color = if step.on {
                colors::SLICE_ON
            } else {
                colors::SLICE_OFF
            };
            painter.text(
                Pos2::new(cell.center().x, cell.bottom() - 2.0),
                Align2::CENTER_BOTTOM,
                label,
                FontId::proportional(SLICE_FONT_PT),
                color,
            );
        }
        if let Some(color) = flash(i as u8) {
            painter.rect_stroke(
                cell,
                CornerRadius::same(2),
                Stroke::new(2.0, color),
                egui::StrokeKind::Outside,
            );
        }
        if selected == Some(i as u8) {
            painter.rect_stroke(
                cell,
                CornerRadius::same(2),
                Stroke::new(1.5, colors::SELECTED),
                egui::StrokeKind::Outside,
            );
        }
    }
    if response.clicked() {
        let pos = response.interact_pointer_pos()?;
        let step = step_at(pos.x - rect.left(), count)?;
        let shift = ui.input(|i| i.modifiers.shift);
        return Some(CellClick { step, shift });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_map_to_steps_and_gaps_to_nothing() {
        assert_eq!(step_at(0.0, 16), Some(0));
        assert_eq!(step_at(CELL_WIDTH_PT - 0.1, 16), Some(0));
        assert_eq!(step_at(CELL_WIDTH_PT + 0.5, 16), None); // gap between cells
        assert_eq!(step_at(CELL_PITCH_PT * 15.0 + 1.0, 16), Some(15));
        assert_eq!(step_at(step_x(16) + 1.0, 16), None); // past this track's count
        assert_eq!(step_at(step_x(16) + 1.0, 32), Some(16));
        assert_eq!(step_x(16) - step_x(15), CELL_PITCH_PT + PAGE_GAP_PT);
        assert_eq!(step_at(step_x(15) + CELL_WIDTH_PT + 2.0, 32), None); // page separator
        assert_eq!(step_at(step_x(63) + 1.0, 64), Some(63));
        assert_eq!(step_at(-1.0, 64), None);
        for i in 0..64 {
            assert_eq!(step_at(step_x(i) + CELL_WIDTH_PT / 2.0, 64), Some(i as u8));
        }
        assert_eq!(grid_width(12), step_x(11) + CELL_WIDTH_PT);
    }

    #[test]
    fn slice_locked_steps_of_sample_tracks_show_their_slice_from_1() {
        let mut t = Track::new(
            "t".parse().unwrap(),
            "Take",
            "sample:rec-1".parse().unwrap(),
        );
        t.steps[2].locks.slice = Some(0);
        t.steps[3].locks.slice = Some(63);
        assert_eq!(slice_label(&t, &t.steps[2]).as_deref(), Some("1"));
        assert_eq!(slice_label(&t, &t.steps[3]).as_deref(), Some("64"));
        assert_eq!(slice_label(&t, &t.steps[4]), None);
        // Other instruments ignore slices, so nothing is drawn.
        t.instrument = "kick".parse().unwrap();
        assert_eq!(slice_label(&t, &t.steps[2]), None);
    }

    #[test]
    fn on_off_beat_and_playhead_cells_have_distinct_colours() {
        let mut s = Step::default();
        assert_eq!(cell_color(&s, 0, false), colors::OFF_BEAT);
        assert_eq!(cell_color(&s, 1, false), colors::OFF);
        assert_eq!(cell_color(&s, 1, true), colors::PLAYHEAD_OFF);
        s.on = true;
        assert_eq!(cell_color(&s, 1, false), colors::ON);
        assert_eq!(cell_color(&s, 1, true), colors::PLAYHEAD);
    }
}
