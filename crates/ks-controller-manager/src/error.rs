//! The crate's one error type.

/// Everything that can go wrong while choosing or running controllers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--controllers` named controllers that do not exist.
    #[error(
        "unknown controllers in --controllers: {}; known controllers: {}",
        names.join(", "),
        crate::selection::ALL_CONTROLLERS.join(", ")
    )]
    UnknownControllers {
        /// The unknown names, in the order given.
        names: Vec<String>,
    },
    /// A call to the Kubernetes API failed.
    #[error("{action} {kind} {name:?}: {source}")]
    Kube {
        /// What the controller was doing (`update`, `list`, `delete`, ...).
        action: &'static str,
        /// The kind of the object (`User`, `RoleBinding`, ...).
        kind: &'static str,
        /// The object's name (or the label selector of a list).
        name: String,
        /// The client's error, with the API's Status when there is one.
        #[source]
        source: kube::Error,
    },
    /// Hashing a user's password failed.
    #[error("hashing the password of user {user:?}: {source}")]
    Hash {
        /// The user's name.
        user: String,
        /// bcrypt's error.
        #[source]
        source: bcrypt::BcryptError,
    },
    /// The hashing task panicked or was cancelled.
    #[error("hashing the password of user {user:?}: the hashing task failed: {source}")]
    HashTask {
        /// The user's name.
        user: String,
        /// Tokio's join error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// An object the controller read cannot be used as it is.
    #[error("{kind} {name:?}: {reason}")]
    Invalid {
        /// Its kind.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A cache's watch ended (the controller is shutting down).
    #[error("a cache of the controller stopped")]
    CacheClosed,
    /// Leader election's settings break one of client-go's constraints
    /// (see [`crate::leader::LeaderElection::validate`]).
    #[error("leader election: {reason}")]
    InvalidLeaderElection {
        /// Which constraint, with the values given.
        reason: String,
    },
    /// Adding or removing a finalizer failed, or the cleanup or apply step
    /// inside it did.
    #[error("{0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// Whether this is the API's 404 for the object `kind`/`name` itself
    /// (deleted while it was being reconciled: nothing left to do).
    pub fn is_not_found_for(&self, kind: &str, name: &str) -> bool {
        matches!(self, Error::Kube { kind: k, name: n, source, .. }
            if *k == kind && n == name && crate::runtime::is_not_found(source))
    }

    /// Whether the object went away while its finalizer was being added or
    /// removed: what the reconcile wanted, or no longer needs.
    pub fn is_object_gone(&self) -> bool {
        use kube::runtime::finalizer::Error as F;
        matches!(self, Error::Finalizer(err)
            if matches!(&**err, F::AddFinalizer(e) | F::RemoveFinalizer(e) if crate::runtime::is_not_found(e)))
    }

    /// Whether the API refused a write because the object changed since it
    /// was read (409 Conflict): optimistic concurrency at work, retried at
    /// once.
    pub fn is_conflict(&self) -> bool {
        use kube::runtime::finalizer::Error as F;
        match self {
            Error::Kube { source, .. } => crate::runtime::is_conflict(source),
            Error::Finalizer(err) => match &**err {
                F::ApplyFailed(e) | F::CleanupFailed(e) => e.is_conflict(),
                // The finalizer helper's JSON patch tests the list it read:
                // a stale read fails that test (422), a conflict in effect.
                F::AddFinalizer(e) | F::RemoveFinalizer(e) => {
                    crate::runtime::is_conflict(e)
                        || matches!(e, kube::Error::Api(s) if s.code == 422)
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// A [`Error::Kube`] error.
    pub(crate) fn kube(
        action: &'static str,
        kind: &'static str,
        name: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Error {
        let name = name.into();
        move |source| Error::Kube {
            action,
            kind,
            name,
            source,
        }
    }
}
