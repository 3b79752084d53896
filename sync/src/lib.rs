//! The sync companion: a background thread that keeps a local session in step with a live room.
