//! Keyboardia's editor, in egui only: the transport bar, the step grid, the parameter-lock
//! editor, the session bar and the record panel.
//!
//! It draws over a host ([`host::Host`]): the session store every edit goes through, the
//! transport's playheads, this player's parameters (clock, mute, solo), the live session and the
//! recorder. It has no plugin framework, audio thread, network or file system of its own, so the
//! plugin hosts it (through nice-plug-egui) and a browser app can host it too.
//!
//! - [`editor`]: [`Editor`], the window's contents.
//! - [`controller`]: what a click, a drag or a key does, as core ops, with undo (no window).
//! - [`grid`], [`pattern_row`], [`song_panel`], [`session_bar`], [`record_panel`],
//!   [`account_panel`], [`beats_panel`], [`fx_panel`]: the parts it draws.
//! - [`undo`]: the undo and redo stacks.
//! - [`glyph_audit`]: for screenshot tests, the characters a frame drew and whether the fonts
//!   had each.

pub mod account_panel;
pub mod beats_panel;
pub mod controller;
pub mod editor;
#[cfg(test)]
mod frame_rate;
pub mod fx_panel;
pub mod glyph_audit;
pub mod grid;
pub mod host;
pub mod meters;
pub mod pattern_row;
pub mod record_panel;
pub mod session_bar;
pub mod shapes;
pub mod song_panel;
pub mod style;
pub mod tap;
#[cfg(test)]
mod testing;
pub mod undo;

pub use controller::{Command, Controller};
pub use editor::Editor;
pub use host::{Host, OpSink, TRACK_CAP_NOTICE};
