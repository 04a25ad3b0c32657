//! The users the authenticators look up, kept current from the store
//! ([`Users`]), the per-user token revocation times ([`Revocations`]), and
//! the cache that spares basic authentication a bcrypt per request
//! ([`PasswordCache`]).

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use ks_store::{KeyValue, Precondition, Storage, StoreError, WriteOp};
use ring::hmac;
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::informer::{Change, Informer};

pub use ks_types::iam::is_bcrypt_hash;

/// Where users live in the store.
pub const USERS_PREFIX: &str = "/iam.kubesphere.io/users/";

/// Where the token revocation times live: a key per user, not served by
/// any API.
pub const REVOCATIONS_PREFIX: &str = "/ks-rs/token-revocations/";

/// What authentication needs to know about a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `spec.email`.
    pub email: String,
    /// `spec.password` when it is a bcrypt hash (anything else is not a
    /// usable password: the admission plugin hashes what it stores).
    pub password_hash: Option<String>,
    /// `status.state` (`Active`, `Disabled`, `AuthLimitExceeded`; empty
    /// before a controller or the server set it).
    pub state: String,
    /// `status.lastTransitionTime`, seconds since the epoch.
    pub last_transition: Option<i64>,
    /// `spec.groups`: the groups KubeSphere's authenticators give the user.
    pub groups: Vec<String>,
}

impl UserRecord {
    /// The record of a stored user object, if it has a name.
    pub fn from_object(obj: &Value) -> Option<UserRecord> {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
        let meta = obj.get("metadata");
        let name = s(meta.and_then(|m| m.get("name")));
        if name.is_empty() {
            return None;
        }
        let spec = obj.get("spec");
        let status = obj.get("status");
        let password = s(spec.and_then(|p| p.get("password")));
        Some(UserRecord {
            name,
            uid: s(meta.and_then(|m| m.get("uid"))),
            email: s(spec.and_then(|p| p.get("email"))),
            password_hash: is_bcrypt_hash(&password).then_some(password),
            state: s(status.and_then(|p| p.get("state"))),
            last_transition: status
                .and_then(|p| p.get("lastTransitionTime"))
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second()),
            groups: spec
                .and_then(|p| p.get("groups"))
                .and_then(Value::as_array)
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Whether the user may log in (not disabled; a locked user is
    /// decided by the lockout rules).
    pub fn is_disabled(&self) -> bool {
        self.state == "Disabled"
    }
}

#[derive(Default)]
struct Directory {
    by_name: FxHashMap<String, Arc<UserRecord>>,
    /// Email to user name, for emails held by exactly one user.
    by_email: FxHashMap<String, String>,
}

impl Directory {
    fn insert(&mut self, record: UserRecord) {
        self.remove(&record.name);
        let record = Arc::new(record);
        self.by_name
            .insert(record.name.clone(), Arc::clone(&record));
        if !record.email.is_empty() {
            self.by_email
                .insert(record.email.clone(), record.name.clone());
        }
    }

    fn remove(&mut self, name: &str) {
        if let Some(old) = self.by_name.remove(name)
            && self.by_email.get(&old.email).is_some_and(|n| n == name)
        {
            self.by_email.remove(&old.email);
        }
    }
}

/// Every user, by name and by email, as the store has them now.
#[derive(Default)]
pub struct Users {
    directory: RwLock<Directory>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

impl Users {
    /// Follows the store's users; the view is complete when this returns.
    pub async fn follow(store: Arc<dyn Storage>) -> Result<(Arc<Users>, Informer), StoreError> {
        let users = Arc::new(Users::default());
        let view = Arc::clone(&users);
        let informer =
            Informer::start(store, USERS_PREFIX, move |change| view.apply(change)).await?;
        Ok((users, informer))
    }

    fn apply(&self, change: Change) {
        let mut dir = self
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match change {
            Change::Reset(items) => {
                *dir = Directory::default();
                for kv in items {
                    if let Some(record) = record_of(&kv) {
                        dir.insert(record);
                    }
                }
            }
            Change::Put(kv) => {
                if let Some(record) = record_of(&kv) {
                    dir.insert(record);
                }
            }
            Change::Delete(kv) => {
                if let Some(record) = record_of(&kv) {
                    dir.remove(&record.name);
                }
            }
        }
    }

    /// The user named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<UserRecord>> {
        let dir = self
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        dir.by_name.get(name).cloned()
    }

    /// The user a login names: by user name, else by email (KubeSphere
    /// accepts either in the password grant).
    pub fn find_login(&self, login: &str) -> Option<Arc<UserRecord>> {
        let dir = self
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        dir.by_name.get(login).cloned().or_else(|| {
            dir.by_email
                .get(login)
                .and_then(|name| dir.by_name.get(name))
                .cloned()
        })
    }
}

fn record_of(kv: &KeyValue) -> Option<UserRecord> {
    let obj: Value = serde_json::from_slice(&kv.value).ok()?;
    UserRecord::from_object(&obj)
}

/// When each user's tokens were last revoked: a token issued at or before
/// that second is refused. Durable: kept in the store, so a restart
/// neither revives revoked tokens nor logs anybody out.
pub struct Revocations {
    store: Arc<dyn Storage>,
    revoked_at: RwLock<FxHashMap<String, i64>>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations").finish_non_exhaustive()
    }
}

impl Revocations {
    /// Loads the revocation times and follows changes to them.
    pub async fn follow(
        store: Arc<dyn Storage>,
    ) -> Result<(Arc<Revocations>, Informer), StoreError> {
        let revocations = Arc::new(Revocations {
            store: Arc::clone(&store),
            revoked_at: RwLock::default(),
        });
        let view = Arc::clone(&revocations);
        let informer = Informer::start(store, REVOCATIONS_PREFIX, move |change| {
            let mut map = view
                .revoked_at
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let mut put = |kv: &KeyValue| {
                if let Some((user, at)) = revocation_of(kv) {
                    let entry = map.entry(user).or_insert(at);
                    *entry = (*entry).max(at);
                }
            };
            match change {
                Change::Reset(items) => {
                    // Revocation times only grow: a reset merges.
                    items.iter().for_each(&mut put);
                }
                Change::Put(kv) => put(&kv),
                Change::Delete(_) => {}
            }
        })
        .await?;
        Ok((revocations, informer))
    }

    /// The second up to which `user`'s tokens are revoked.
    pub fn revoked_at(&self, user: &str) -> Option<i64> {
        let map = self
            .revoked_at
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(user).copied()
    }

    /// Whether a token of `user` issued at `iat` has been revoked.
    pub fn is_revoked(&self, user: &str, iat: i64) -> bool {
        self.revoked_at(user).is_some_and(|at| iat <= at)
    }

    /// Revokes every token of `user` issued up to `now`; returns once the
    /// revocation is durable. Tokens issued later in the same second get
    /// an `iat` one past it (see [`issue_time`](Self::issue_time)).
    pub async fn revoke_all(&self, user: &str, now: i64) -> Result<(), StoreError> {
        let at = self.revoked_at(user).map_or(now, |old| old.max(now));
        {
            let mut map = self
                .revoked_at
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            map.insert(user.to_owned(), at);
        }
        let body = Bytes::from(serde_json::json!({ "user": user, "revokedAt": at }).to_string());
        self.store
            .write(
                &format!("{REVOCATIONS_PREFIX}{user}"),
                Precondition::None,
                WriteOp::Put(Box::new(move |_| Ok(body))),
            )
            .await?;
        Ok(())
    }

    /// The `iat` for a token of `user` issued at `now`: `now`, or just past
    /// the user's last revocation when that happened in this second.
    pub fn issue_time(&self, user: &str, now: i64) -> i64 {
        self.revoked_at(user).map_or(now, |at| now.max(at + 1))
    }
}

fn revocation_of(kv: &KeyValue) -> Option<(String, i64)> {
    let obj: Value = serde_json::from_slice(&kv.value).ok()?;
    Some((
        obj.get("user")?.as_str()?.to_owned(),
        obj.get("revokedAt")?.as_i64()?,
    ))
}

/// Remembers successful basic-authentication checks, so that a client
/// sending the same credentials on every request costs one bcrypt, not
/// one per request.
///
/// An entry is keyed by an HMAC (with a key made at start and never
/// stored) of the user name and the password, never by the password
/// itself, and holds the bcrypt hash it was checked against: when the
/// user's password changes, the stored hash differs and the entry no
/// longer counts. Disabled and locked users are refused before the cache
/// is consulted.
pub struct PasswordCache {
    key: hmac::Key,
    entries: Mutex<FxHashMap<[u8; 32], Arc<str>>>,
    capacity: usize,
}

impl std::fmt::Debug for PasswordCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl PasswordCache {
    /// A cache of at most `capacity` credentials, keyed with `key` (random
    /// bytes, at least 32).
    pub fn new(key: &[u8], capacity: usize) -> Self {
        PasswordCache {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            entries: Mutex::default(),
            capacity,
        }
    }

    fn slot(&self, user: &str, password: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(user.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        let tag = ctx.sign();
        let mut slot = [0u8; 32];
        slot.copy_from_slice(tag.as_ref());
        slot
    }

    /// Whether `password` was verified for `user` against `hash` before.
    pub fn contains(&self, user: &str, password: &str, hash: &str) -> bool {
        let slot = self.slot(user, password);
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(&slot).is_some_and(|h| &**h == hash)
    }

    /// Records that `password` matches `hash` for `user`.
    pub fn insert(&self, user: &str, password: &str, hash: &str) {
        let slot = self.slot(user, password);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            // Crude but bounded: a full cache starts over.
            entries.clear();
        }
        entries.insert(slot, Arc::from(hash));
    }

    /// How many credentials are cached.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use ks_store::{Store, StoreConfig};
    use serde_json::json;

    use super::*;

    const HASH: &str = "$2a$10$zcHepmzfKPoxCVCYZr5K7ORPZZ/ySe9p/7IUb/8u./xHrnSX2LOCO";

    #[test]
    fn bcrypt_hash_shape() {
        assert!(is_bcrypt_hash(HASH));
        assert!(is_bcrypt_hash(&HASH.replace("$2a$", "$2y$")));
        assert!(!is_bcrypt_hash("P@88w0rd"));
        assert!(!is_bcrypt_hash(&HASH[..59]));
        assert!(!is_bcrypt_hash(&HASH.replace("$2a$", "$3a$")));
        assert!(!is_bcrypt_hash(&HASH.replace('z', "!")));
    }

    #[test]
    fn records_read_kubesphere_users() {
        let obj = json!({
            "metadata": {"name": "alice", "uid": "u1"},
            "spec": {"email": "alice@example.com", "password": HASH, "groups": ["dev", ""]},
            "status": {"state": "AuthLimitExceeded", "lastTransitionTime": "2026-01-02T03:04:05Z"}
        });
        let r = UserRecord::from_object(&obj).unwrap();
        assert_eq!(r.password_hash.as_deref(), Some(HASH));
        assert_eq!(r.state, "AuthLimitExceeded");
        assert_eq!(r.last_transition, Some(1_767_323_045));
        assert_eq!(r.groups, ["dev"]);
        let plain = json!({"metadata": {"name": "bob"}, "spec": {"password": "P@88w0rd"}});
        assert_eq!(UserRecord::from_object(&plain).unwrap().password_hash, None);
        assert_eq!(UserRecord::from_object(&json!({"metadata": {}})), None);
    }

    #[test]
    fn directory_finds_by_name_and_email() {
        let users = Users::default();
        let kv = |name: &str, email: &str| KeyValue {
            key: format!("{USERS_PREFIX}{name}").into(),
            value: Bytes::from(
                json!({"metadata": {"name": name}, "spec": {"email": email}}).to_string(),
            ),
            create_revision: 1,
            mod_revision: 1,
        };
        users.apply(Change::Reset(vec![
            kv("alice", "a@x.io"),
            kv("bob", "b@x.io"),
        ]));
        assert_eq!(users.find_login("a@x.io").unwrap().name, "alice");
        assert_eq!(users.find_login("bob").unwrap().name, "bob");
        users.apply(Change::Put(kv("alice", "new@x.io")));
        assert!(users.find_login("a@x.io").is_none());
        assert_eq!(users.find_login("new@x.io").unwrap().name, "alice");
        users.apply(Change::Delete(kv("alice", "new@x.io")));
        assert!(users.get("alice").is_none() && users.find_login("new@x.io").is_none());
    }

    #[test]
    fn the_cache_holds_no_plaintext_and_follows_the_hash() {
        let cache = PasswordCache::new(&[7; 32], 2);
        cache.insert("alice", "P@88w0rd", HASH);
        assert!(cache.contains("alice", "P@88w0rd", HASH));
        assert!(!cache.contains("alice", "P@88w0rd", "$2a$10$other"));
        assert!(!cache.contains("alice", "wrong", HASH));
        assert!(!cache.contains("alicE", "P@88w0rd", HASH));
        // The user/password boundary is unambiguous.
        assert!(!cache.contains("aliceP", "@88w0rd", HASH));
        cache.insert("bob", "x", HASH);
        cache.insert("carol", "y", HASH);
        assert_eq!(cache.len(), 1, "a full cache starts over");
    }

    #[tokio::test]
    async fn revocations_are_durable_and_never_shrink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        {
            let store = Store::open(&path, StoreConfig::default()).unwrap();
            let (rev, _informer) = Revocations::follow(Arc::new(store.clone())).await.unwrap();
            assert!(!rev.is_revoked("alice", 100));
            rev.revoke_all("alice", 100).await.unwrap();
            assert!(rev.is_revoked("alice", 100) && !rev.is_revoked("alice", 101));
            assert_eq!(rev.issue_time("alice", 100), 101);
            assert_eq!(rev.issue_time("alice", 200), 200);
            rev.revoke_all("alice", 50).await.unwrap();
            assert!(
                rev.is_revoked("alice", 100),
                "an older time never shrinks it"
            );
            store.shutdown().await;
        }
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        let (rev, _informer) = Revocations::follow(Arc::new(store.clone())).await.unwrap();
        assert!(rev.is_revoked("alice", 100));
        assert!(!rev.is_revoked("bob", 100));
        store.shutdown().await;
    }
}
