//! A session the server does not have: after [`Client::handle_session_unknown`] the client
//! schedules no reconnect (no timer, no action, however long it waits) until it is asked to
//! connect again; an ordinary disconnect does schedule one.

use keyboardia_core::client::{Action, Client};
use keyboardia_core::SessionState;

fn connect_attempts(client: &mut Client) -> usize {
    std::iter::from_fn(|| client.poll_action())
        .filter(|a| matches!(a, Action::Connect { .. }))
        .count()
}

#[test]
fn an_unknown_session_is_not_retried_until_asked() {
    let mut client = Client::new("Ada", SessionState::demo());
    client.connect(0.0);
    assert_eq!(connect_attempts(&mut client), 1);

    // An ordinary failure: a reconnect is scheduled.
    let delay = client.handle_disconnected(10.0);
    assert_eq!(client.poll_timeout(), Some(10.0 + delay));
    client.handle_timeout(10.0 + delay);
    assert_eq!(connect_attempts(&mut client), 1);

    // The server says the session does not exist: nothing is scheduled, ever.
    client.handle_session_unknown(20.0);
    assert_eq!(client.poll_timeout(), None);
    for hour in 1..=24 {
        client.handle_timeout(hour as f64 * 3_600_000.0);
    }
    assert_eq!(connect_attempts(&mut client), 0);

    // Asked again (the user joins again): it tries once more.
    client.reconnect(100_000_000.0);
    assert_eq!(connect_attempts(&mut client), 1);
}
