//! Controllers that reconcile KubeSphere objects.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the
//! workspace layout; it exports nothing and ships no binary.
//!
//! It will hold level-triggered, idempotent kube-rs controllers: password
//! encryption and status for users, per-workspace role creation, user sync to
//! member clusters, and the like. They speak only the Kubernetes API, so they
//! run unchanged against the embedded ks-apiserver or a real cluster.
