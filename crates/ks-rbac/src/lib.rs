//! Multi-scope RBAC for KubeSphere-style multi-tenancy.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the
//! workspace layout; it exports nothing.
//!
//! It will hold a pure (no I/O, no async) authorizer that evaluates Kubernetes
//! `PolicyRule`s granted through four scopes of bindings: global roles,
//! workspace roles, cluster roles and namespaced roles, with a compiled,
//! indexed policy snapshot so that a decision costs time proportional to the
//! requesting subject's own bindings. Around it: explain, who-can, rule
//! listing and escalation checks. See `shared/DESIGN.md`, "Authorization
//! model".
