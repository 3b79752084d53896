//! The plugin's editor: the `keyboardia-ui` crate's [`Editor`] in a nice-plug-egui window, over
//! [`host::PluginHost`] (exactly the handles the editor needs: parameters, store, transport,
//! live session, recorder).

pub mod host;
pub mod project_bar;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use egui::Vec2;
use keyboardia_ui::editor::{DEFAULT_SIZE_PT, MIN_SIZE_PT};
use keyboardia_ui::Editor;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use host::PluginHost;
use project_bar::ProjectBar;

/// Set by the standalone app before it starts when there is no display: the plugin then offers
/// no editor and plays at once.
static HEADLESS: AtomicBool = AtomicBool::new(false);

/// Runs the standalone app without a window (no display available).
pub fn set_headless(headless: bool) {
    HEADLESS.store(headless, Ordering::Relaxed);
}

/// Whether the standalone app runs without a window (see [`set_headless`]).
pub fn headless() -> bool {
    HEADLESS.load(Ordering::Relaxed)
}

/// A new editor state at the default size.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(DEFAULT_SIZE_PT.0, DEFAULT_SIZE_PT.1), 1.0)
}

/// The plugin's editor over `host` in a window of `egui_state` (`None` when the standalone app
/// runs headless), with the file bar of `project` (the standalone app's open project) under it.
pub fn create(
    host: PluginHost,
    egui_state: Arc<EguiEditorState>,
    project: Option<Arc<crate::project::Project>>,
) -> Option<EguiEditor<App>> {
    if headless() {
        return None;
    }
    let settings = EguiNiceSettings::new()
        .with_tile("Keyboardia")
        .with_resize_hint(
            ResizeHint::resizable()
                .with_min_logical_size(LogicalSize::new(MIN_SIZE_PT.0, MIN_SIZE_PT.1)),
        );
    create_egui_editor(
        egui_state,
        RepaintNotifier::new(),
        settings,
        App {
            project: project.map(|p| ProjectBar::new(p, host.store.clone())),
            editor: Editor::new(host),
        },
    )
}

/// The editor as nice-plug-egui runs it.
pub struct App {
    /// The editor and its host.
    editor: Editor<PluginHost>,
    /// The standalone app's file bar (`None` in a DAW).
    project: Option<ProjectBar>,
}

impl NiceEguiApp for App {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: nice_plug::context::gui::GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        // Before the first frame, so no symbol ever draws as a box (the editor installs them
        // too, which egui applies from the next frame on).
        keyboardia_ui::style::install_fonts(&egui_ctx);
        // Screenshot tests: the characters drawn and any without a glyph, written to a file.
        if let Some(path) = std::env::var_os("KEYBOARDIA_GLYPH_REPORT") {
            keyboardia_ui::glyph_audit::install(
                &egui_ctx,
                Box::new(move |r| {
                    let _ = std::fs::write(&path, r.to_text());
                }),
            );
        }
        self.editor.host_mut().set_gui(Some(gui));
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let (min_w, min_h) = MIN_SIZE_PT;
        ResizableWindow::new("keyboardia-resize")
            .min_size(Vec2::new(min_w, min_h))
            .show(ui, |ui| {
                // The file bar sits at the bottom, so the editor's layout above is unchanged.
                if let Some(bar) = self.project.as_mut() {
                    egui::Panel::bottom("keyboardia-project").show(ui, |ui| bar.ui(ui));
                }
                self.editor.ui(ui)
            });
    }

    fn editor_closed(&mut self) {
        self.editor.host_mut().set_gui(None);
        self.editor.closed();
    }
}
