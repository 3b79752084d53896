//! The record panel: hold Record to take up to 5 s from the plugin's "Input" sidechain, watch
//! the input meter, see the take's waveform with the onsets transient detection finds, preview
//! it, and add it to the grid as a new track that plays it (through the host's [`Recorder`]).

use egui::{Color32, RichText, Sense, Stroke, Vec2};
use keyboardia_core::edit::{cuts_op, slices};
use keyboardia_core::SampleId;

use crate::controller::Controller;
use crate::host::{AddTakeError, Added, LiveSession, OpSink, Recorder, Take, Transfer};

/// Height of the waveform, in points.
const WAVE_HEIGHT_PT: f32 = 64.0;
/// The meter's range, in dBFS.
const METER_FLOOR_DB: f32 = -60.0;
/// Width of the meter, in points.
const METER_WIDTH_PT: f32 = 120.0;
/// How often an idle panel looks at the input level (input can start at any moment, and
/// nothing else wakes the editor for it; each look costs a whole frame).
const METER_POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a panel with something moving (a level, a recording, a preview, an upload)
/// redraws.
const MOVING_POLL: std::time::Duration = std::time::Duration::from_millis(33);
/// Warning and cut-point colour.
const AMBER: Color32 = Color32::from_rgb(255, 200, 80);
/// Waveform colour.
const WAVE: Color32 = Color32::from_rgb(120, 170, 230);
/// Recording colour.
const REC_RED: Color32 = Color32::from_rgb(230, 70, 60);

/// The latest take, prepared for drawing.
struct TakeView {
    /// The take as recorded.
    take: Take,
    /// Where transient detection cuts it (frames, ascending); the user can move them.
    onsets: Vec<usize>,
    /// The cut line being dragged, by index.
    dragging: Option<usize>,
}

/// The panel's GUI-thread state.
#[derive(Default)]
pub struct RecordPanel {
    /// The latest take the audio thread handed over.
    view: Option<TakeView>,
    /// Whether this panel holds the recorder's button (so it releases it exactly once).
    holding: bool,
    /// The result of the last "Add to grid" (or why it could not).
    message: Option<String>,
    /// The last take added in a live session (serial, sample): its upload's progress is shown.
    sharing: Option<(u64, SampleId)>,
}

impl RecordPanel {
    /// Draws the panel over the recorder `rec`; "Add to grid" edits `store` through
    /// `controller`, and follows a shared take's upload in `live`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        rec: &dyn Recorder,
        live: &dyn LiveSession,
        store: &dyn OpSink,
        controller: &mut Controller,
    ) {
        if let Some(take) = rec.poll_take() {
            let onsets = rec.onsets(&take);
            self.view = Some(TakeView {
                take,
                onsets,
                dragging: None,
            });
            self.message = None;
            self.sharing = None;
        }
        // "Add Take to Grid" (the parameter) adds takes without this panel.
        if let Some(outcome) = rec.take_added() {
            self.added(outcome);
        }
        if let Some((serial, id)) = &self.sharing {
            let status = live.status();
            self.message = Some(share_message(*serial, status.upload_of(id)));
        }
        ui.horizontal(|ui| {
            let recording = rec.recording();
            let text = if recording {
                let s = rec.take_frames() as f32 / rec.sample_rate_hz().max(1.0);
                format!("Recording {s:.1} / {:.0} s", rec.max_take_s())
            } else {
                "Hold to record".to_owned()
            };
            let color = if recording {
                REC_RED
            } else {
                ui.visuals().text_color()
            };
            let button = egui::Button::new(RichText::new(text).color(color).strong())
                .min_size(Vec2::new(170.0, 0.0))
                .sense(Sense::click_and_drag());
            let r = ui.add(button).on_hover_text(
                "Hold to record from the Input (in a DAW, route audio to the plugin's \
                 sidechain; the standalone app records its audio device's input); \
                 stops by itself after 5 s",
            );
            self.hold(rec, r.is_pointer_button_down_on());
            meter(ui, rec.input_peak());

            if let Some(view) = &self.view {
                let take = &view.take;
                let secs = take.len() as f32 / take.sample_rate_hz;
                ui.label(format!(
                    "Take {}: {secs:.2} s, {} onsets",
                    take.serial,
                    view.onsets.len()
                ));
                let preview = if rec.previewing() {
                    "Previewing…"
                } else {
                    "Preview"
                };
                if ui
                    .add_enabled(!recording, egui::Button::new(preview))
                    .clicked()
                {
                    rec.request_preview();
                }
                if ui
                    .add_enabled(!recording, egui::Button::new("Add to grid"))
                    .on_hover_text(
                        "A new, empty track that plays this take, sliced at the cut lines",
                    )
                    .clicked()
                {
                    let outcome = add_to_grid(take, &view.onsets, rec, store, controller);
                    let serial = take.serial;
                    self.added(outcome.map(|a| (serial, a)));
                }
            }
            if let Some(m) = &self.message {
                ui.colored_label(AMBER, m);
            }
        });
        if let Some(view) = &mut self.view {
            let _ = waveform(ui, view, rec);
        }
        let waiting_for_take = self.view.as_ref().map_or(0, |v| v.take.serial) < rec.take_serial();
        let uploading = self.sharing.is_some() && live.is_joined();
        if rec.recording()
            || rec.previewing()
            || waiting_for_take
            || uploading
            || rec.input_peak() > 1e-4
        {
            ui.ctx().request_repaint_after(MOVING_POLL);
        } else {
            // Input can start at any moment: look at the meter again soon.
            ui.ctx().request_repaint_after(METER_POLL);
        }
    }

    /// Shows what adding take `serial` did; a shared take's upload is followed.
    fn added(&mut self, outcome: Result<(u64, Added), AddTakeError>) {
        self.sharing = None;
        self.message = Some(match outcome {
            Ok((serial, a)) if a.shared => {
                self.sharing = Some((serial, a.sample));
                share_message(serial, None)
            }
            Ok((serial, _)) => format!("Take {serial} is a new track (saved with the project)"),
            Err(e) => e.to_string(),
        });
    }

    /// Presses or releases the recorder's button when the pointer's hold changes.
    fn hold(&mut self, rec: &dyn Recorder, held: bool) {
        if held != self.holding {
            rec.set_hold(held);
            self.holding = held;
        }
    }

    /// The window closed: a held button is let go.
    pub fn release(&mut self, rec: &dyn Recorder) {
        self.hold(rec, false);
    }
}

/// Makes `take` a sample of the session's sampler and adds an empty track named "Take N" that
/// plays it, as an undoable edit (see [`Recorder::add_take`]): in a live session the take is
/// shared with the room. Fails, changing nothing, at the 16-track cap, when the sampler is full
/// or the take is empty. Built-in sounds and other tracks are untouched. The track's slices are
/// cut at `cuts` (frames into the take: the onsets the panel shows, as moved), in the same undo
/// entry as the track.
pub fn add_to_grid(
    take: &Take,
    cuts: &[usize],
    rec: &dyn Recorder,
    store: &dyn OpSink,
    controller: &mut Controller,
) -> Result<Added, AddTakeError> {
    if !controller.check_track_room() {
        return Err(AddTakeError::TrackCap);
    }
    let name = format!("Take {}", take.serial);
    rec.add_take(take, &name, &mut |id, name| {
        let tr = controller
            .add_sample_track(store, id, name)
            .ok_or_else(|| {
                controller
                    .notice()
                    .unwrap_or("The track was not added.")
                    .to_owned()
            })?;
        if !cuts.is_empty() {
            // Valid by construction; were it refused, the controller's notice says so.
            let _ = controller.amend(store, cuts_op(tr, cuts));
        }
        Ok(tr)
    })
}

/// What the panel says about take `serial`, shared in a live session, while and after it
/// uploads.
pub fn share_message(serial: u64, upload: Option<&Transfer>) -> String {
    match upload {
        None | Some(Transfer::Downloaded(_)) => {
            format!("Take {serial} is a new track; sharing it with the session…")
        }
        Some(Transfer::Uploading { sent, total }) if *total > 0 => format!(
            "Take {serial} is a new track; sharing it with the session… {}%",
            sent * 100 / total
        ),
        Some(Transfer::Uploading { .. }) => {
            format!("Take {serial} is a new track; sharing it with the session…")
        }
        Some(Transfer::Uploaded(_)) => {
            format!("Take {serial} is a new track, shared with the session")
        }
        Some(Transfer::Failed {
            error,
            retrying: true,
        }) => format!(
            "Take {serial} plays here; sharing it failed ({error}) and is retried: \
             the others hear it once it gets through"
        ),
        Some(Transfer::Failed {
            error,
            retrying: false,
        }) => {
            format!("Take {serial} could not be shared ({error}): its track was taken off the grid")
        }
    }
}

/// The input peak as a bar from -60 to 0 dBFS (red at 0 dBFS).
fn meter(ui: &mut egui::Ui, peak: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(METER_WIDTH_PT, 12.0), Sense::hover());
    let db = 20.0 * peak.max(1e-9).log10();
    let fill = ((db - METER_FLOOR_DB) / -METER_FLOOR_DB).clamp(0.0, 1.0);
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, Color32::from_gray(30));
    let mut bar = rect;
    bar.set_width(rect.width() * fill);
    let color = if peak >= 1.0 {
        REC_RED
    } else {
        Color32::from_rgb(90, 200, 110)
    };
    painter.rect_filled(bar, 2.0, color);
    let text = if peak > 0.0 {
        format!("{db:.0} dB")
    } else {
        "-inf dB".to_owned()
    };
    ui.label(RichText::new(text).monospace().small());
}

/// How close to a cut line the pointer must be to grab it, in points.
const GRAB_PT: f32 = 5.0;

/// The index of the cut within `grab` of `x` (all in the same units), the nearest if several.
fn cut_near(cuts_x: &[f32], x: f32, grab: f32) -> Option<usize> {
    cuts_x
        .iter()
        .enumerate()
        .map(|(i, c)| (i, (c - x).abs()))
        .filter(|(_, d)| *d <= grab)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Moves cut `i` to `to`, kept strictly between its neighbours (the order never changes) and
/// inside the take.
fn move_cut(cuts: &mut [usize], i: usize, to: usize, len: usize) {
    let lo = if i == 0 { 0 } else { cuts[i - 1] + 1 };
    let hi = cuts.get(i + 1).map_or(len.saturating_sub(1), |n| n - 1);
    cuts[i] = to.clamp(lo, hi.max(lo));
}

/// The slice (`start..end`) that frame `at` falls in, if it is after the first cut.
fn slice_at(cuts: &[usize], len: usize, at: usize) -> Option<(usize, usize)> {
    if cuts.is_empty() {
        return None;
    }
    slices(cuts, len)
        .into_iter()
        .find(|(s, e)| (*s..*e).contains(&at))
}

/// The take's waveform (min/max per column) with its onsets as amber cut lines: drag a line
/// to move the cut, click a slice to hear it.
fn waveform(ui: &mut egui::Ui, view: &mut TakeView, rec: &dyn Recorder) -> egui::Rect {
    let width = ui.available_width().max(100.0);
    let (rect, response) =
        ui.allocate_exact_size(Vec2::new(width, WAVE_HEIGHT_PT), Sense::click_and_drag());
    let len = view.take.len().max(1);
    let frame_at =
        |x: f32| (((x - rect.left()) / rect.width()).clamp(0.0, 1.0) * len as f32) as usize;
    let x_of = |f: usize| rect.left() + f as f32 / len as f32 * rect.width();
    if let Some(p) = response.interact_pointer_pos() {
        if response.drag_started() {
            // Grab by where the press began (the drag starts after the pointer has moved).
            let origin = ui.input(|i| i.pointer.press_origin()).unwrap_or(p);
            let xs: Vec<f32> = view.onsets.iter().map(|&o| x_of(o)).collect();
            view.dragging = cut_near(&xs, origin.x, GRAB_PT);
        }
        if let Some(i) = view.dragging {
            move_cut(&mut view.onsets, i, frame_at(p.x), len);
        }
        if response.clicked() {
            if let Some((s, e)) = slice_at(&view.onsets, len, frame_at(p.x)) {
                rec.request_preview_range(s, e);
            }
        }
    }
    if response.drag_stopped() {
        view.dragging = None;
    }
    response.on_hover_text("Drag an amber cut line to move it; click a slice to hear it");
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(22));
    let take = &view.take;
    let columns = rect.width().floor().max(1.0) as usize;
    let mid = rect.center().y;
    let half = rect.height() * 0.5 - 2.0;
    for c in 0..columns {
        let a = c * len / columns;
        let b = ((c + 1) * len / columns).clamp(a + 1, len);
        let (lo, hi) = take.left[a.min(len - 1)..b]
            .iter()
            .zip(&take.right[a.min(len - 1)..b])
            .map(|(l, r)| 0.5 * (l + r))
            .fold((0.0f32, 0.0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let x = rect.left() + c as f32 + 0.5;
        painter.line_segment(
            [
                egui::pos2(x, mid - hi.clamp(-1.0, 1.0) * half),
                egui::pos2(x, mid - lo.clamp(-1.0, 1.0) * half + 1.0),
            ],
            Stroke::new(1.0, WAVE),
        );
    }
    for &o in &view.onsets {
        let x = x_of(o);
        painter.line_segment(
            [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
            Stroke::new(1.0, AMBER),
        );
    }
    rect
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemRecorder;

    #[test]
    fn share_messages_follow_the_upload() {
        let id: SampleId = "abc".parse().unwrap();
        assert!(share_message(2, None).contains("sharing"));
        let half = Transfer::Uploading {
            sent: 50,
            total: 100,
        };
        assert!(share_message(2, Some(&half)).ends_with("50%"));
        assert!(share_message(2, Some(&Transfer::Uploaded(id))).contains("shared with"));
        let refused = Transfer::Failed {
            error: "server said 404".into(),
            retrying: false,
        };
        let text = share_message(2, Some(&refused));
        assert!(
            text.contains("404") && text.contains("taken off the grid"),
            "{text}"
        );
    }

    #[test]
    fn cut_lines_are_grabbed_moved_in_order_and_slices_found() {
        let xs = [10.0, 50.0, 53.0];
        assert_eq!(cut_near(&xs, 12.0, 5.0), Some(0));
        assert_eq!(cut_near(&xs, 52.0, 5.0), Some(2));
        assert_eq!(cut_near(&xs, 30.0, 5.0), None);
        let mut cuts = vec![100, 500, 900];
        move_cut(&mut cuts, 1, 700, 1000);
        assert_eq!(cuts, [100, 700, 900]);
        // Never past a neighbour or the take's end.
        move_cut(&mut cuts, 1, 950, 1000);
        assert_eq!(cuts, [100, 899, 900]);
        move_cut(&mut cuts, 0, 0, 1000);
        move_cut(&mut cuts, 2, 5000, 1000);
        assert_eq!(cuts, [0, 899, 999]);
        assert_eq!(slice_at(&[100, 500], 1000, 50), None);
        assert_eq!(slice_at(&[100, 500], 1000, 100), Some((100, 500)));
        assert_eq!(slice_at(&[100, 500], 1000, 999), Some((500, 1000)));
        assert_eq!(slice_at(&[], 1000, 5), None);
    }

    /// The waveform widget driven headless by real egui pointer events: dragging a cut line
    /// moves that cut; clicking inside a slice asks the recorder to preview exactly it.
    #[test]
    fn dragging_a_cut_line_moves_it_and_clicking_a_slice_previews_it() {
        let sig: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.3).sin() * 0.5).collect();
        let shared = MemRecorder::default();
        let ctx = egui::Context::default();
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, Vec2::new(1000.0, 300.0));
        let mut view = TakeView {
            take: Take {
                serial: 1,
                left: sig.clone(),
                right: sig.clone(),
                sample_rate_hz: 1000.0,
            },
            onsets: vec![250, 500],
            dragging: None,
        };
        let frame = |view: &mut TakeView, events: Vec<egui::Event>| {
            let input = egui::RawInput {
                screen_rect: Some(screen),
                events,
                ..Default::default()
            };
            let mut rect = egui::Rect::NOTHING;
            let mut output = ctx.run_ui(input, |ui| rect = waveform(ui, view, &shared));
            // No renderer here: the font textures are dropped unused.
            output.textures_delta.clear();
            rect
        };
        let button = |pos: egui::Pos2, pressed: bool| egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        };
        let rect = frame(&mut view, vec![]);
        let x_of = |f: usize| rect.left() + f as f32 / 1000.0 * rect.width();
        let y = rect.center().y;

        // Drag the second cut (frame 500) to where frame 700 is drawn.
        let from = egui::pos2(x_of(500), y);
        frame(&mut view, vec![egui::Event::PointerMoved(from)]);
        frame(&mut view, vec![button(from, true)]);
        for step in 1..=10 {
            let x = x_of(500) + (x_of(700) - x_of(500)) * step as f32 / 10.0;
            frame(&mut view, vec![egui::Event::PointerMoved(egui::pos2(x, y))]);
        }
        let to = egui::pos2(x_of(700), y);
        frame(&mut view, vec![button(to, false)]);
        assert_eq!(view.onsets[0], 250, "the other cut stays");
        assert!(
            view.onsets[1].abs_diff(700) <= 2,
            "moved: {:?}",
            view.onsets
        );
        assert_eq!(view.dragging, None);

        // Click inside the first slice (250..moved cut): the recorder is asked to play exactly it.
        let (start, end) = (view.onsets[0], view.onsets[1]);
        let at = egui::pos2(x_of(400), y);
        frame(&mut view, vec![egui::Event::PointerMoved(at)]);
        frame(&mut view, vec![button(at, true)]);
        frame(&mut view, vec![button(at, false)]);
        // (That the audio thread then plays exactly those frames is tested in the plugin's
        // recorder.)
        assert_eq!(*shared.preview.lock().unwrap(), Some((start, end)));
    }
}
