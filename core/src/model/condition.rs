//! Trig conditions, Elektron-style: a lock that decides, loop by loop, whether a step plays.
//!
//! The rule table ([`Condition::holds`]) is a pure function of the track's loop index (derived
//! by the engine from the timeline position and the track's length, so every player, a late
//! joiner and every bounce get the same count), the fill switch, and the result of the previous
//! conditional trig of the track (for PRE). Text form (JSON, the wire): `"2:4"`, `"fill"`,
//! `"!fill"`, `"1st"`, `"!1st"`, `"pre"`, `"!pre"`.

use std::fmt;

use super::limits::CONDITION_RATIO_RANGE;

/// When a step plays, besides being on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `A:B`: plays on the `a`-th of every `b` loops (loop index mod `b` = `a` − 1);
    /// 1 ≤ `a` ≤ `b` ≤ 8 ([`CONDITION_RATIO_RANGE`]).
    Ratio { a: u8, b: u8 },
    /// `FILL`: plays while the fill switch is on.
    Fill,
    /// `NOT FILL`: plays while the fill switch is off.
    NotFill,
    /// `1ST`: plays on the track's first loop only (loop index 0).
    First,
    /// `NOT 1ST`: plays on every loop but the first.
    NotFirst,
    /// `PRE`: plays when the previous conditional trig of the track played (Elektron: "the
    /// most recently evaluated trig condition on the same track"; PRE trigs themselves are not
    /// counted).
    Pre,
    /// `NOT PRE`: plays when the previous conditional trig of the track did not.
    NotPre,
}

impl Condition {
    /// Every condition the editor offers, in its order: the ratios 1:2 … 8:8 first.
    pub fn all() -> impl Iterator<Item = Condition> {
        let ratios = CONDITION_RATIO_RANGE
            .flat_map(|b| (1..=b).map(move |a| Condition::Ratio { a, b }))
            .filter(|c| *c != Condition::Ratio { a: 1, b: 1 });
        [
            Condition::Fill,
            Condition::NotFill,
            Condition::First,
            Condition::NotFirst,
            Condition::Pre,
            Condition::NotPre,
        ]
        .into_iter()
        .chain(ratios)
    }

    /// Whether the values are in range (a ratio's `1 ≤ a ≤ b ≤ 8`).
    pub fn is_valid(&self) -> bool {
        match *self {
            Condition::Ratio { a, b } => CONDITION_RATIO_RANGE.contains(&b) && (1..=b).contains(&a),
            _ => true,
        }
    }

    /// PRE and NOT PRE follow other trigs; they are not themselves "evaluated conditions" that
    /// a later PRE follows.
    pub fn follows_previous(&self) -> bool {
        matches!(self, Condition::Pre | Condition::NotPre)
    }

    /// The rule table. `loop_index`: how many whole loops of the track lie before the step's
    /// position on the timeline (0 on the first loop; negative before the timeline's start);
    /// `fill`: the fill switch; `previous`: asked only by PRE and NOT PRE, the result of the
    /// previous conditional trig of the track.
    pub fn holds(&self, loop_index: i64, fill: bool, previous: impl FnOnce() -> bool) -> bool {
        match *self {
            Condition::Ratio { a, b } => {
                loop_index.rem_euclid(i64::from(b.max(1))) == i64::from(a) - 1
            }
            Condition::Fill => fill,
            Condition::NotFill => !fill,
            Condition::First => loop_index == 0,
            Condition::NotFirst => loop_index != 0,
            Condition::Pre => previous(),
            Condition::NotPre => !previous(),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Ratio { a, b } => write!(f, "{a}:{b}"),
            Condition::Fill => f.write_str("fill"),
            Condition::NotFill => f.write_str("!fill"),
            Condition::First => f.write_str("1st"),
            Condition::NotFirst => f.write_str("!1st"),
            Condition::Pre => f.write_str("pre"),
            Condition::NotPre => f.write_str("!pre"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_malformed_text_is_refused() {
        let all: Vec<Condition> = Condition::all().collect();
        assert_eq!(all.len(), 6 + 35, "6 named + every A:B with B in 2..=8");
        for c in all.iter().chain([&Condition::Ratio { a: 1, b: 1 }]) {
            assert_eq!(c.to_string().parse::<Condition>(), Ok(*c));
        }
        for bad in [
            "", "0:4", "5:4", "1:9", "9:9", "10:12", "2:", ":2", "2:4 ", "FILL", "!", "first",
            "1 :2", "a:b",
        ] {
            assert!(bad.parse::<Condition>().is_err(), "{bad:?}");
        }
        assert!(!Condition::Ratio { a: 3, b: 2 }.is_valid());
        assert!(!Condition::Ratio { a: 0, b: 2 }.is_valid());
        assert!(!Condition::Ratio { a: 1, b: 9 }.is_valid());
    }
}
