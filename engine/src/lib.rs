//! The sound: sequencer, voices and mixer, free of plugin-framework types.
