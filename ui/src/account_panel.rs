//! The account panel: sign in and out, who you are, claiming the joined session, the owner's
//! "Lock session" toggle, and for everyone else a read-only indicator with "Fork to edit".
//! What it offers ([`offer`]) is decided without a window and unit tested.

use egui::{Color32, RichText};

use crate::host::{Account, AccountStatus, LiveError, LiveSession};

/// The read-only band's text colour.
const READONLY_TEXT: Color32 = Color32::from_rgb(0xff, 0xd4, 0x80);

/// What the panel offers, from the status and whether a session is joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// "Sign in" (signed out and not signing in).
    pub sign_in: bool,
    /// The code to check while signing in.
    pub pending_code: Option<String>,
    /// The approval page while signing in (shown as a link: there may be no browser that
    /// opened by itself).
    pub pending_link: Option<String>,
    /// "Signed in as …" and "Sign out".
    pub signed_in_as: Option<String>,
    /// "Claim session": signed in, joined, the session unowned.
    pub claim: bool,
    /// "Lock session" toggle (its state): the owner, joined.
    pub lock: Option<bool>,
    /// The read-only indicator and "Fork to edit": joined a session this player may not edit.
    pub read_only: bool,
    /// "Check your email": a sign-in link went to this address (signed out still).
    pub mail_sent_to: Option<String>,
}

/// What to offer for `status` (`joined`: a live session is joined).
pub fn offer(status: &AccountStatus, joined: bool) -> Offer {
    let owner = joined
        && status.user_id.is_some()
        && status.session_owner.is_some()
        && status.user_id == status.session_owner;
    let pending = status.pending.as_ref().filter(|_| status.email.is_none());
    Offer {
        sign_in: status.email.is_none() && status.pending.is_none(),
        pending_code: pending.map(|p| p.user_code.clone()),
        pending_link: pending.map(|p| p.verification_uri.clone()),
        signed_in_as: status.email.clone(),
        claim: joined && status.email.is_some() && status.session_owner.is_none(),
        lock: owner.then_some(status.session_readonly),
        read_only: status.locked_out(joined),
        mail_sent_to: status
            .mail_sent_to
            .clone()
            .filter(|_| status.email.is_none()),
    }
}

/// The panel's own state: the last outcome of a button, the address being typed.
#[derive(Default)]
pub struct AccountPanel {
    /// Shown until the next button.
    pub message: Option<Result<String, LiveError>>,
    /// The address a sign-in link goes to (hosts that sign in by email).
    email: String,
    /// A new display name being typed (hosts that rename).
    name: String,
}

impl AccountPanel {
    /// Draws the panel (one row) over the account and the live session.
    pub fn ui(&mut self, ui: &mut egui::Ui, account: &dyn Account, live: &dyn LiveSession) {
        let status = account.account_status();
        let o = offer(&status, live.is_joined());
        ui.horizontal_wrapped(|ui| {
            if o.sign_in && account.signs_in_by_email() {
                ui.add(
                    egui::TextEdit::singleline(&mut self.email)
                        .hint_text("email")
                        .desired_width(150.0),
                );
                if ui
                    .button("Email me a sign-in link")
                    .on_hover_text("The link in the mail signs you in here")
                    .clicked()
                {
                    self.message = None;
                    account.send_sign_in_link(self.email.trim());
                }
            } else if o.sign_in
                && ui
                    .button("Sign in")
                    .on_hover_text("Sign in in your browser")
                    .clicked()
            {
                account.sign_in();
            }
            if let Some(to) = &o.mail_sent_to {
                ui.label(format!("Check your email ({to}): its link signs you in"));
            }
            if let Some(code) = &o.pending_code {
                ui.label("Signing in: check that the browser shows");
                ui.label(RichText::new(code).monospace().strong());
            }
            if let Some(link) = &o.pending_link {
                ui.hyperlink_to("(open the sign-in page)", link)
                    .on_hover_text(link.as_str());
                if ui.button("Cancel").clicked() {
                    account.sign_out();
                }
            }
            if let Some(email) = &o.signed_in_as {
                ui.label(format!("Signed in as {email}"));
                if account.renames() {
                    let shown = status.name.as_deref().unwrap_or("display name");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.name)
                            .hint_text(shown)
                            .desired_width(100.0),
                    )
                    .on_hover_text("The name others see on your beats (never your email)");
                    if ui
                        .add_enabled(!self.name.trim().is_empty(), egui::Button::new("Rename"))
                        .clicked()
                    {
                        account.set_display_name(self.name.trim());
                        self.name.clear();
                    }
                }
                if ui.button("Sign out").clicked() {
                    account.sign_out();
                }
            }
            if o.claim
                && ui
                    .button("Claim session")
                    .on_hover_text("Become this session's owner")
                    .clicked()
            {
                self.message = account.claim().err().map(Err);
            }
            if let Some(locked) = o.lock {
                let mut on = locked;
                if ui
                    .checkbox(&mut on, "Lock session")
                    .on_hover_text("Only you can edit; everyone else listens and may fork")
                    .changed()
                {
                    self.message = account.set_locked(on).err().map(Err);
                }
            }
            if o.read_only {
                ui.label(RichText::new("Read-only").color(READONLY_TEXT))
                    .on_hover_text("The owner locked this session");
                if ui.button("Fork to edit").clicked() {
                    self.message = Some(live.fork().map(|id| format!("forked into {id}")));
                }
            }
            if let Some(w) = &status.working {
                ui.spinner();
                ui.label(w);
            } else if let Some(n) = &status.notice {
                ui.label(RichText::new(n).color(Color32::from_rgb(0x51, 0xcf, 0x66)));
            }
            if let Some(e) = &status.error {
                ui.label(RichText::new(e).color(Color32::from_rgb(0xff, 0x8a, 0x80)));
            }
            match &self.message {
                Some(Ok(m)) => {
                    ui.label(m);
                }
                Some(Err(e)) => {
                    ui.label(
                        RichText::new(e.to_string()).color(Color32::from_rgb(0xff, 0x8a, 0x80)),
                    );
                }
                None => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::PendingSignIn;

    const ADA: &str = "u_0123456789abcdef0123456789abcdef";

    fn signed_in() -> AccountStatus {
        AccountStatus {
            email: Some("ada@example.org".into()),
            user_id: Some(ADA.into()),
            can_edit: true,
            ..Default::default()
        }
    }

    #[test]
    fn offers_follow_sign_in_ownership_and_mode() {
        let out = offer(&AccountStatus::default(), false);
        assert!(out.sign_in && out.signed_in_as.is_none() && !out.claim && out.lock.is_none());
        let waiting = AccountStatus {
            pending: Some(PendingSignIn {
                user_code: "BCDF-GHJK".into(),
                verification_uri: "http://x/auth/device".into(),
            }),
            ..Default::default()
        };
        let o = offer(&waiting, false);
        assert!(!o.sign_in);
        assert_eq!(o.pending_code.as_deref(), Some("BCDF-GHJK"));
        assert_eq!(o.pending_link.as_deref(), Some("http://x/auth/device"));
        // Signed in, joined an unowned session: claim.
        let o = offer(&signed_in(), true);
        assert!(o.claim && o.lock.is_none() && !o.read_only);
        assert!(!offer(&signed_in(), false).claim, "nothing to claim alone");
        // The owner: the lock toggle, in the session's state.
        let owner = AccountStatus {
            session_owner: Some(ADA.into()),
            session_readonly: true,
            ..signed_in()
        };
        let o = offer(&owner, true);
        assert_eq!((o.claim, o.lock, o.read_only), (false, Some(true), false));
        // Someone else's locked session: read-only and fork, no toggle, no claim.
        let other = AccountStatus {
            session_owner: Some("u_ffffffffffffffffffffffffffffffff".into()),
            session_readonly: true,
            can_edit: false,
            ..signed_in()
        };
        let o = offer(&other, true);
        assert_eq!((o.claim, o.lock, o.read_only), (false, None, true));
        // Signed out, in a locked session: read-only too.
        let anon = AccountStatus {
            session_owner: Some(ADA.into()),
            session_readonly: true,
            ..Default::default()
        };
        assert!(offer(&anon, true).read_only);
        assert!(anon.locked_out(true) && !anon.locked_out(false));
        // A sign-in link mailed: "check your email" until signed in.
        let mailed = AccountStatus {
            mail_sent_to: Some("ada@example.org".into()),
            ..Default::default()
        };
        let o = offer(&mailed, false);
        assert!(o.sign_in, "another link may be asked for");
        assert_eq!(o.mail_sent_to.as_deref(), Some("ada@example.org"));
        let o = offer(
            &AccountStatus {
                mail_sent_to: Some("ada@example.org".into()),
                ..signed_in()
            },
            false,
        );
        assert_eq!(o.mail_sent_to, None);
    }
}
