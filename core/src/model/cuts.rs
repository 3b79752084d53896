//! Slice cut points of a sample track: which are valid, and which frames a slice covers.

use super::limits::MAX_SLICES;
use crate::error::{Field, OpError};

/// Checks a track's cut points: at most [`MAX_SLICES`] ([`OpError::OutOfRange`] of
/// [`Field::Cuts`]), strictly ascending, so also distinct ([`OpError::InvalidCuts`]).
pub fn validate_cuts(cuts: &[u32]) -> Result<(), OpError> {
    if cuts.len() > MAX_SLICES {
        return Err(OpError::OutOfRange(Field::Cuts));
    }
    if cuts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(OpError::InvalidCuts);
    }
    Ok(())
}

/// The frames `start..end` that slice `index` covers in a sample of `len` frames cut at `cuts`
/// (ascending, as [`validate_cuts`] keeps them). Shared by the engine, which plays it, and the
/// editor, which draws and previews it.
///
/// - Slice `k` runs from cut `k` to cut `k + 1`, the last one to the end of the sample. Frames
///   before the first cut belong to no slice (the silence before the first hit of a take).
/// - Cuts at or past `len` are ignored (a track's cuts outlive a change of its sample).
/// - An `index` past the last slice plays the last slice, so a step keeps sounding when cuts
///   are removed under it.
/// - With no (usable) cut the whole sample is slice 0 (and every index plays it).
///
/// Allocation-free: the audio thread calls it for every sliced note.
pub fn slice_bounds(cuts: &[u32], index: u8, len: u32) -> (u32, u32) {
    let usable = cuts.partition_point(|&c| c < len);
    if usable == 0 {
        return (0, len);
    }
    let k = (index as usize).min(usable - 1);
    let end = if k + 1 < usable { cuts[k + 1] } else { len };
    (cuts[k], end)
}
