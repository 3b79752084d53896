//! How often the editor asks to be drawn, idle and playing: the editor is run the way eframe
//! runs it (the next frame when the last one's repaint delay is over, at most at the display's
//! 60 Hz), on a virtual clock, and the frames of 10 s are counted. Software rendering in a
//! browser spends its main thread on every frame, so an idle editor must not redraw, and a
//! playing one only as often as the playhead needs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use keyboardia_core::SessionState;

use crate::testing::MemHost;
use crate::{Controller, Editor};

/// The display's refresh interval (vsync caps eframe's frame rate).
const VSYNC: Duration = Duration::from_micros(16_667);

/// Frames per second the editor draws over `secs` of virtual time, with the transport playing
/// (its 16th counter advancing at 118 BPM) or not.
pub fn frames_per_second(playing: bool, secs: f64) -> f64 {
    let state = SessionState::demo();
    let mut app = Editor::with_controller(
        MemHost::new(state.clone()),
        Controller::new(state, Box::new(|| 1)),
    );
    app.host()
        .transport
        .playing
        .store(playing, Ordering::Relaxed);
    let ctx = egui::Context::default();
    let mut t = 0.0f64;
    let mut frames = 0u32;
    let sixteenth_s = 60.0 / 118.0 / 4.0;
    while t < secs {
        app.host()
            .transport
            .sixteenth
            .store((t / sixteenth_s) as u64, Ordering::Relaxed);
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1400.0, 720.0),
            )),
            time: Some(t),
            ..Default::default()
        };
        let mut out = ctx.run_ui(input, |ui| app.ui(ui));
        out.textures_delta.clear();
        frames += 1;
        let delay = out
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .map_or(Duration::MAX, |v| v.repaint_delay);
        if delay == Duration::MAX {
            // Nothing asks for another frame: the editor sleeps until input arrives.
            break;
        }
        t += delay.max(VSYNC).as_secs_f64();
    }
    // The first frames (layout, fonts) are drawn whatever happens: count from the third.
    f64::from(frames.saturating_sub(2)) / secs
}

#[test]
fn the_editor_redraws_only_as_often_as_something_changes() {
    let idle = frames_per_second(false, 10.0);
    let playing = frames_per_second(true, 10.0);
    println!("frames per second: idle {idle:.1}, playing {playing:.1}");
    assert!(idle <= 1.0, "idle editor draws {idle:.1} frames/s");
    assert!(
        (15.0..=31.0).contains(&playing),
        "playing editor draws {playing:.1} frames/s"
    );
}
