//! Keyboardia as a standalone app: `keyboardia-standalone --backend dummy` runs headless.

fn main() {
    nice_plug::nice_export_standalone::<keyboardia::Keyboardia>();
}
