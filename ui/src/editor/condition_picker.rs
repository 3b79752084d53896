//! The trig-condition picker of the lock editor: a drop-down of every condition (FILL, NOT
//! FILL, 1ST, NOT 1ST, PRE, NOT PRE, then the ratios 1:2 … 8:8), Elektron's names.

use keyboardia_core::Condition;

/// How the picker names a condition.
pub fn condition_label(c: Condition) -> String {
    match c {
        Condition::Ratio { a, b } => format!("{a}:{b}"),
        Condition::Fill => "FILL".into(),
        Condition::NotFill => "NOT FILL".into(),
        Condition::First => "1ST".into(),
        Condition::NotFirst => "NOT 1ST".into(),
        Condition::Pre => "PRE".into(),
        Condition::NotPre => "NOT PRE".into(),
    }
}

/// What a condition does, in words (the picker's tooltip and the cell's).
pub fn condition_words(c: Condition) -> String {
    match c {
        Condition::Ratio { a: 1, b: 1 } => "Plays on every loop".into(),
        Condition::Ratio { a, b } => format!("Plays on loop {a} of every {b}"),
        Condition::Fill => "Plays while Fill is on".into(),
        Condition::NotFill => "Plays while Fill is off".into(),
        Condition::First => "Plays on the first loop only".into(),
        Condition::NotFirst => "Plays on every loop but the first".into(),
        Condition::Pre => "Plays when the track's previous conditional step played".into(),
        Condition::NotPre => "Plays when the track's previous conditional step did not".into(),
    }
}

/// A drop-down over `value`; the response is marked changed when a new condition is picked, so
/// the lock editor sends it like a slider's value.
pub fn condition_picker(ui: &mut egui::Ui, value: &mut Condition) -> egui::Response {
    let before = *value;
    let mut r = egui::ComboBox::from_id_salt("trig-condition")
        .selected_text(condition_label(*value))
        .show_ui(ui, |ui| {
            for c in std::iter::once(Condition::Ratio { a: 1, b: 1 }).chain(Condition::all()) {
                ui.selectable_value(value, c, condition_label(c))
                    .on_hover_text(condition_words(c));
            }
        })
        .response
        .on_hover_text(condition_words(*value));
    if *value != before {
        r.mark_changed();
    }
    r
}
