//! The plain data saved with the host's project (`#[persist = "..."]` fields of
//! `KeyboardiaParams`): the session JSON, the saved samples'
//! JSON and the joined live session.
//!
//! A [`Persisted`] field holds only its value. The services that own the live data (the session
//! store, the sampler's samples, the live bridge; see the `services` module) keep it up to date
//! through two hooks they install once: `refresh` fills the value just before the host saves it
//! (so an expensive encoding runs only on a save, as before), `restore` hands a value the host
//! restores to them at once (so a project load in a running plugin changes what plays, as
//! before). The fields know nothing of the services, so the parameters depend on no service.
//!
//! The saved keys and their JSON are pinned by the tests in `tests/tests/plugin_*.rs`: a
//! project saved by any earlier build still loads.

use std::sync::{Mutex, MutexGuard};

use keyboardia_core::{Op, SessionId};
use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Serialize};

/// What is saved with the plugin's state while a live session is joined (`"live"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    /// Base URL of the server.
    pub server: String,
    /// The joined session.
    pub session: SessionId,
    /// This player's display name.
    pub name: String,
    /// Edits the room had not acknowledged at save time, replayed after the next join.
    #[serde(default)]
    pub pending: Vec<Op>,
}

/// Fills a field's value from its service just before a save.
pub type Refresh<T> = Box<dyn Fn() -> T + Send + Sync>;
/// Hands a restored value to its service.
pub type Restore<T> = Box<dyn Fn(&T) + Send + Sync>;

/// One persisted field: its value and its service's hooks (see the module doc).
pub struct Persisted<T> {
    /// The value as last saved, restored or set by default.
    value: Mutex<T>,
    /// Installed by the service that owns the live data; `None` until then.
    refresh: Mutex<Option<Refresh<T>>>,
    /// Installed by the service that takes restored data; `None` until then.
    restore: Mutex<Option<Restore<T>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Persisted<T> {
    /// A field holding `value`, with no hooks yet.
    pub fn new(value: T) -> Self {
        Self {
            value: Mutex::new(value),
            refresh: Mutex::new(None),
            restore: Mutex::new(None),
        }
    }

    /// Installs the service's hooks (replacing any before).
    pub fn set_hooks(&self, refresh: Refresh<T>, restore: Restore<T>) {
        *lock(&self.refresh) = Some(refresh);
        *lock(&self.restore) = Some(restore);
    }

    /// The value, refreshed from its service (what a save writes).
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        let fresh = lock(&self.refresh).as_ref().map(|refresh| refresh());
        let mut value = lock(&self.value);
        if let Some(fresh) = fresh {
            *value = fresh;
        }
        value.clone()
    }
}

impl<'a, T> PersistentField<'a, T> for Persisted<T>
where
    T: Serialize + Deserialize<'a> + Send + Sync,
{
    /// The host restores a value: it is kept and handed to the service.
    fn set(&self, new_value: T) {
        if let Some(restore) = lock(&self.restore).as_ref() {
            restore(&new_value);
        }
        *lock(&self.value) = new_value;
    }

    /// The host saves the value: it is refreshed from the service first.
    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&T) -> R,
    {
        let fresh = lock(&self.refresh).as_ref().map(|refresh| refresh());
        let mut value = lock(&self.value);
        if let Some(fresh) = fresh {
            *value = fresh;
        }
        f(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_field_saves_what_its_service_holds_and_hands_restores_to_it() {
        let field = Persisted::new("default".to_string());
        assert_eq!(field.get(), "default");
        let service = Arc::new(Mutex::new("live".to_string()));
        let (a, b) = (service.clone(), service.clone());
        field.set_hooks(
            Box::new(move || a.lock().unwrap().clone()),
            Box::new(move |v: &String| *b.lock().unwrap() = v.clone()),
        );
        assert_eq!(field.get(), "live");
        field.set("restored".into());
        assert_eq!(*service.lock().unwrap(), "restored");
        assert_eq!(field.get(), "restored");
    }
}
