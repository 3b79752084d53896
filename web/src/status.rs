//! What the session bar shows, kept up to date from the live client's events (the same rules
//! as the plugin's live bridge: presence, flashes of other players' edits, refusals).

use keyboardia_core::client::ClientEvent;
use keyboardia_core::ops::Change;
use keyboardia_core::protocol::PlayerId;
use keyboardia_core::SampleId;
use keyboardia_ui::host::{Flash, Status, Transfer};
use web_time::Instant;

/// Most flashes kept (older ones fade anyway).
const MAX_FLASHES: usize = 256;
/// Transfers shown per list.
const MAX_TRANSFERS: usize = 8;

fn color_of(s: &Status, player: PlayerId) -> u8 {
    s.players
        .iter()
        .find(|p| p.id == player)
        .map_or(0, |p| p.color)
}

/// Records one event of the live client in `s`.
pub fn apply(s: &mut Status, ev: &ClientEvent, now: Instant) {
    match ev {
        ClientEvent::Synced { you } => {
            s.you = Some(*you);
            s.error = None;
        }
        ClientEvent::PlayerJoined(p) => {
            s.players.retain(|q| q.id != p.id);
            s.players.push(p.clone());
        }
        ClientEvent::PlayerLeft(id) => s.players.retain(|p| p.id != *id),
        ClientEvent::RemoteEdit { by, change, .. } => {
            let color = color_of(s, *by);
            let (track, step) = match change {
                Change::Step { track, step } => (*track, Some(*step)),
                Change::Pattern { track }
                | Change::TrackSettings { track }
                | Change::TrackAdded { track, .. } => (*track, None),
                _ => return,
            };
            s.flashes.push(Flash {
                track,
                step,
                color,
                at: now,
            });
            if s.flashes.len() > MAX_FLASHES {
                s.flashes.remove(0);
            }
        }
        ClientEvent::Rejected { msg, .. } | ClientEvent::Error { msg, .. } => {
            s.error = Some(msg.clone())
        }
        ClientEvent::BadMessage(e) => s.error = Some(e.to_string()),
        ClientEvent::Timeline(_) | ClientEvent::SampleAdded { .. } | ClientEvent::Desynced => {}
    }
}

/// Records where the shared sample `name` stands (newest last).
pub fn set_transfer(s: &mut Status, name: &str, t: Transfer) {
    s.transfers.retain(|(n, _)| n != name);
    s.transfers.push((name.to_owned(), t));
    if s.transfers.len() > MAX_TRANSFERS {
        s.transfers.remove(0);
    }
}

/// Records where the upload of the take `id` stands (newest last).
pub fn set_upload(s: &mut Status, id: &SampleId, t: Transfer) {
    s.uploads.retain(|(u, _)| u != id);
    s.uploads.push((id.clone(), t));
    if s.uploads.len() > MAX_TRANSFERS {
        s.uploads.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::protocol::Player;
    use keyboardia_core::Op;

    #[test]
    fn presence_and_flashes() {
        let mut s = Status::default();
        let now = Instant::now();
        let ada = Player {
            id: 2,
            name: "Ada".into(),
            color: 5,
        };
        apply(&mut s, &ClientEvent::Synced { you: 1 }, now);
        apply(&mut s, &ClientEvent::PlayerJoined(ada.clone()), now);
        apply(&mut s, &ClientEvent::PlayerJoined(ada), now);
        assert_eq!((s.you, s.players.len()), (Some(1), 1));
        let track = "kick".parse().unwrap();
        apply(
            &mut s,
            &ClientEvent::RemoteEdit {
                by: 2,
                op: Op::SetStep {
                    pt: keyboardia_core::PatternId::A,
                    tr: track,
                    s: 3,
                    on: true,
                },
                change: Change::Step { track, step: 3 },
            },
            now,
        );
        assert_eq!(s.flashes[0].color, 5);
        assert_eq!(s.flashes[0].step, Some(3));
        apply(&mut s, &ClientEvent::PlayerLeft(2), now);
        assert!(s.players.is_empty());
    }
}
