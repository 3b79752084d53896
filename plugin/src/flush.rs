//! Audio from outside the plugin enters the sound only in a form that cannot spoil the output.
//!
//! Three kinds of outside audio reach the main output: the "Input" sidechain (recorded into a
//! take, previewed at unity gain), takes put on the grid and samples shared in a live session
//! or restored with the project (played by the engine's sampler). Each frame of them is
//! [`clean`]ed where it comes in: on capture (the recorder's `Capture::record`) and when the
//! sampler gets a sample (`SessionStore::load_sample`). A NaN, an infinity or a denormal in
//! a host's buffer or a file then never reaches the mix, the limiter's state or the host.
//!
//! Sums and products of clean frames can still come out denormal (two tiny values of opposite
//! sign; a tiny value times a small gain), so what the plugin writes to the host is passed
//! through [`flush_denormals`] last. Track outputs, which skip the engine's limiter, are
//! bounded by [`bound_track`].

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

/// Level above which a track output (multi-out layout) is saturated: +6 dBFS. The main output
/// goes through the engine's limiter; a track output is the track before it, which the host
/// mixes in float, so it may go over full scale, but not without bound (a dense chord of loud
/// notes on one track sums to far more).
pub const TRACK_KNEE: f32 = 2.0;

/// The most a track output reaches: +12 dBFS.
pub const TRACK_MAX: f32 = 4.0;

/// One frame of a track output: unchanged up to ±[`TRACK_KNEE`], then saturating smoothly
/// (tanh) towards ±[`TRACK_MAX`], which it never exceeds.
#[inline]
pub fn bound_track(x: f32) -> f32 {
    let a = x.abs();
    if a <= TRACK_KNEE {
        x
    } else {
        let room = TRACK_MAX - TRACK_KNEE;
        (TRACK_KNEE + room * ((a - TRACK_KNEE) / room).tanh()).copysign(x)
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
    fn a_track_output_is_unchanged_to_plus_6_dbfs_and_never_exceeds_plus_12() {
        for x in [0.0f32, 0.3, -1.0, 1.99, -2.0] {
            assert_eq!(bound_track(x), x);
        }
        let mut last = TRACK_KNEE;
        for x in [2.01f32, 2.5, 3.0, 4.0, 6.0, 100.0, 1e30, f32::INFINITY] {
            let y = bound_track(x);
            assert!(y >= last && y <= TRACK_MAX, "{x} -> {y}");
            assert_eq!(bound_track(-x), -y);
            last = y;
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
