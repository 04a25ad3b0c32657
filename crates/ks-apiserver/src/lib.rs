//! The KubeSphere API server as a library.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the
//! workspace layout; it exports nothing and ships no binary.
//!
//! It will hold the request filter chain (request info, authentication,
//! authorization, audit), KubeSphere's own APIs under `/kapis`, and a
//! Kubernetes-compatible API under `/api` and `/apis`, served either from an
//! embedded durable store or by proxying to a real kube-apiserver. See
//! `shared/DESIGN.md`, "Two ways to run, one API".
