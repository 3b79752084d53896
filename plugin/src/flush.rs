//! Audio from outside the plugin enters the sound only in a form that cannot spoil the output.
//!
//! Three kinds of outside audio reach the main output: the "Input" sidechain (recorded into a
//! take, previewed at unity gain), takes put on the grid and samples shared in a live session
//! or restored with the project (played by the engine's sampler). Each frame of them is
//! [`clean`]ed where it comes in: on capture ([`crate::record`]) and when the sampler gets a
//! sample ([`crate::session::SessionStore::load_sample`]). A NaN, an infinity or a denormal in
//! a host's buffer or a file then never reaches the mix, the limiter's state or the host.
//!
//! Sums and products of clean frames can still come out denormal (two tiny values of opposite
//! sign; a tiny value times a small gain), so what the plugin writes to the host is passed
//! through [`flush_denormals`] last.

/// Magnitude below which an outside frame is silence: −300 dBFS, the level under which the
/// engine zeroes its own decayed state (so nothing played from a sample comes near the
/// denormal range, 1.2e-38, through the sampler's fades and the track gains).
pub const SILENCE_BELOW: f32 = 1e-15;

/// Full scale: the largest magnitude a take or a sample holds (a shared WAV is decoded
/// clamped to it too, so a take sounds the same alone and in a live session).
pub const FULL_SCALE: f32 = 1.0;

/// One outside frame as the plugin plays it: NaN and magnitudes below [`SILENCE_BELOW`] are 0,
/// the rest (infinities too) is clamped to ±[`FULL_SCALE`].
#[inline]
pub fn clean(x: f32) -> f32 {
    if x.is_nan() || x.abs() < SILENCE_BELOW {
        0.0
    } else {
        x.clamp(-FULL_SCALE, FULL_SCALE)
    }
}

/// [`clean`]s every frame in place.
pub fn clean_all(frames: &mut [f32]) {
    for x in frames {
        *x = clean(*x);
    }
}

/// Zeroes the denormal frames of an output buffer (a host may spend far longer on them, and
/// some treat them as an error). Normal values, NaN and infinities are left as they are.
#[inline]
pub fn flush_denormals(out: &mut [f32]) {
    for x in out {
        if x.abs() < f32::MIN_POSITIVE {
            *x = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_frames_come_in_finite_normal_and_within_full_scale() {
        let cases: [(f32, f32); 14] = [
            (f32::NAN, 0.0),
            (-f32::NAN, 0.0),
            (f32::INFINITY, 1.0),
            (f32::NEG_INFINITY, -1.0),
            (1e30, 1.0),
            (-1e30, -1.0),
            (f32::from_bits(1), 0.0),
            (-f32::from_bits(0x007f_ffff), 0.0),
            (f32::MIN_POSITIVE, 0.0),
            (1e-16, 0.0),
            (-0.0, 0.0),
            (1e-15, 1e-15),
            (-0.25, -0.25),
            (0.999, 0.999),
        ];
        for (x, want) in cases {
            let got = clean(x);
            assert_eq!(got.to_bits(), want.to_bits(), "clean({x:e}) = {got:e}");
        }
    }

    #[test]
    fn only_denormal_output_is_flushed() {
        let mut out = [
            f32::from_bits(1),
            -1e-39,
            f32::MIN_POSITIVE,
            -0.5,
            2.0,
            -0.0,
        ];
        flush_denormals(&mut out);
        assert_eq!(out[..2], [0.0, 0.0]);
        assert_eq!(out[2..5], [f32::MIN_POSITIVE, -0.5, 2.0]);
        assert_eq!(out[5].to_bits(), 0.0f32.to_bits());
    }
}
