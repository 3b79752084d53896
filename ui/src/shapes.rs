//! Reading back what a frame drew: where a label is (tests and the browser's test hooks click
//! the editor's own buttons where it drew them).

/// Where the first text shape reading exactly `text` lies among `shapes` (nested shapes
/// included), in points.
pub fn text_rect<'a>(
    shapes: impl IntoIterator<Item = &'a egui::Shape>,
    text: &str,
) -> Option<egui::Rect> {
    fn find(shape: &egui::Shape, text: &str) -> Option<egui::Rect> {
        match shape {
            egui::Shape::Text(t) if t.galley.text() == text => {
                Some(t.galley.rect.translate(t.pos.to_vec2()))
            }
            egui::Shape::Vec(v) => v.iter().find_map(|s| find(s, text)),
            _ => None,
        }
    }
    shapes.into_iter().find_map(|s| find(s, text))
}
