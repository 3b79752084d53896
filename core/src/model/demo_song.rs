//! The built-in demo song (`keyboardia-render --demo-song`): the demo beat as pattern A, a
//! busier variation as pattern B, and a song of 16 bars that chains them.

use super::condition::Condition;
use super::ids::TrackId;
use super::pattern::{PatternId, SongEntry};
use super::session::SessionState;
use super::track::Steps;

impl SessionState {
    /// The demo song: [`SessionState::demo`] as pattern A; pattern B a variation (four on the
    /// floor with an offbeat open hat, 16th hats with a FILL-only ratchet, a busier bass line, a
    /// lead answering in its upper octave); the song A, B, A, B ×2, each pass 4 bars: 20 bars.
    pub fn demo_song() -> Self {
        let mut s = Self::demo();
        let b = PatternId::new(1).expect("pattern B");
        for t in &mut s.tracks {
            let a = t.part(PatternId::A);
            t.set_part(b, &a);
        }
        let mut edit = |tr: &str, f: &dyn Fn(&mut Steps)| {
            let id: TrackId = tr.parse().expect("demo id");
            if let Some(t) = s.tracks.iter_mut().find(|t| t.id == id) {
                t.edit_part(b, |_, steps| f(steps));
            }
        };
        edit("open", &|st| {
            [2, 6, 10, 14].iter().for_each(|&i| st[i].on = true)
        });
        edit("hat", &|st| {
            (1..14).step_by(2).for_each(|i| st[i].on = true);
            st[13].locks.condition = Some(Condition::Fill);
            st[13].locks.ratchet = Some(3);
        });
        edit("clap", &|st| st[4].on = true);
        edit("snare", &|st| {
            st[12].locks.condition = Some(Condition::Ratio { a: 2, b: 2 })
        });
        edit("bass", &|st| {
            [2, 10, 18, 26].iter().for_each(|&i| st[i].on = true);
            st[3].on = false;
            st[19].on = false;
            st[10].locks.pitch = Some(12);
            st[26].locks.pitch = Some(7);
        });
        edit("lead", &|st| {
            [0, 16, 32, 48]
                .iter()
                .for_each(|&i| st[i].locks.pitch = Some(24))
        });
        s.song = [(PatternId::A, 1), (b, 1), (PatternId::A, 1), (b, 2)]
            .into_iter()
            .map(|(pattern, repeats)| SongEntry { pattern, repeats })
            .collect();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_song_chains_two_patterns_over_at_least_eight_bars() {
        let s = SessionState::demo_song();
        s.validate().unwrap();
        let b = PatternId::new(1).unwrap();
        assert!(s.pattern_in_use(PatternId::A) && s.pattern_in_use(b));
        let steps: u32 = s
            .song
            .iter()
            .map(|e| s.pattern_steps(e.pattern) * u32::from(e.repeats))
            .sum();
        assert_eq!(steps, 5 * 64, "20 bars");
        let back: SessionState = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
