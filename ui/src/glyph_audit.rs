//! What text the editor really drew, and whether its fonts had every character of it: an egui
//! plugin that reads each frame's text shapes (every galley, section by section, with the font
//! family it was laid out in) and asks the fonts for each character. Hosts install it only for
//! tests (the plugin's editor under `KEYBOARDIA_GLYPH_REPORT`), so a screenshot test knows that
//! no glyph on its screen drew as a box.

use std::collections::BTreeSet;

use egui::epaint::Shape;

/// The characters drawn so far and those of them a font lacked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlyphReport {
    /// Every character drawn (control characters left out), in every frame so far.
    pub drawn: BTreeSet<char>,
    /// Characters drawn in a family whose fonts have no glyph for them (drawn as a box).
    pub missing: BTreeSet<char>,
}

impl GlyphReport {
    /// The report as two lines, `drawn: <chars>` and `missing: <chars>`.
    pub fn to_text(&self) -> String {
        let line = |set: &BTreeSet<char>| set.iter().collect::<String>();
        format!(
            "drawn: {}\nmissing: {}\n",
            line(&self.drawn),
            line(&self.missing)
        )
    }
}

/// Called with the whole report whenever it grew.
pub type ReportSink = Box<dyn Fn(&GlyphReport) + Send + Sync>;

/// The egui plugin (see the module doc).
struct GlyphAudit {
    /// What was drawn so far.
    report: GlyphReport,
    /// Each character and family already asked about (each pair is asked once).
    checked: std::collections::HashSet<(char, egui::FontFamily)>,
    /// Told of every change of `report`.
    sink: ReportSink,
}

impl egui::Plugin for GlyphAudit {
    fn debug_name(&self) -> &'static str {
        "keyboardia-glyph-audit"
    }

    fn output_hook(&mut self, ctx: &egui::Context, output: &mut egui::FullOutput) {
        let mut seen: Vec<(char, egui::FontFamily)> = Vec::new();
        let mut stack: Vec<&Shape> = output.shapes.iter().map(|c| &c.shape).collect();
        while let Some(shape) = stack.pop() {
            match shape {
                Shape::Vec(shapes) => stack.extend(shapes),
                Shape::Text(text) => {
                    let job = &text.galley.job;
                    for section in &job.sections {
                        let range = section.byte_range.start.0..section.byte_range.end.0;
                        let Some(part) = job.text.get(range) else {
                            continue;
                        };
                        let family = &section.format.font_id.family;
                        seen.extend(
                            part.chars()
                                .filter(|c| !c.is_control())
                                .map(|c| (c, family.clone())),
                        );
                    }
                }
                _ => {}
            }
        }
        let before = (self.report.drawn.len(), self.report.missing.len());
        for (c, family) in seen {
            self.report.drawn.insert(c);
            if self.checked.insert((c, family.clone())) {
                let font = egui::FontId::new(12.0, family);
                if !ctx.fonts_mut(|f| f.has_glyph(&font, c)) {
                    self.report.missing.insert(c);
                }
            }
        }
        if (self.report.drawn.len(), self.report.missing.len()) != before {
            (self.sink)(&self.report);
        }
    }
}

/// Audits every frame `ctx` draws from now on, telling `sink` of each new character.
pub fn install(ctx: &egui::Context, sink: ReportSink) {
    ctx.add_plugin(GlyphAudit {
        report: GlyphReport::default(),
        checked: Default::default(),
        sink,
    });
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn reports_what_was_drawn_and_what_had_no_glyph() {
        let ctx = egui::Context::default();
        let got = Arc::new(Mutex::new(GlyphReport::default()));
        let sink = got.clone();
        install(&ctx, Box::new(move |r| *sink.lock().unwrap() = r.clone()));
        let frame = |text: &'static str| {
            let mut out = ctx.run_ui(Default::default(), |ui| {
                crate::style::install_fonts(ui.ctx());
                ui.label(text);
            });
            out.textures_delta.clear();
        };
        // The first frame installs the symbol font; egui applies it from the next one.
        frame("x");
        // A private-use character no font has, and a symbol the editor's font adds.
        frame("Kick ● \u{E123}");
        let r = got.lock().unwrap().clone();
        assert!(r.drawn.contains(&'●') && r.drawn.contains(&'K'), "{r:?}");
        assert_eq!(r.missing.iter().collect::<String>(), "\u{E123}");
        assert!(r.to_text().starts_with("drawn: "));
    }
}
