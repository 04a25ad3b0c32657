//! The synthetic benchmark policy: it round-trips through YAML, and its
//! probes have the answers they claim under both evaluators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ks_rbac::synthetic::{Shape, generate, probes};
use ks_rbac::{Policy, PolicySnapshot, ReferenceAuthorizer};

#[test]
fn synthetic_policy_round_trips_and_probes_hold() {
    for factor in [100, 1000] {
        let shape = Shape::ISSUE.scaled_down(factor);
        let policy = generate(&shape);
        assert_eq!(policy.binding_count(), shape.bindings());
        let yaml = policy.to_yaml().unwrap();
        let (back, diagnostics) = Policy::from_yaml("synthetic", &yaml);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(back, policy);

        let snapshot = PolicySnapshot::build(&policy);
        let reference = ReferenceAuthorizer::new(&policy);
        let probes = probes(&shape);
        assert!(probes.len() >= 6);
        for probe in probes {
            let attrs = probe.attributes.as_attributes().unwrap();
            let want = reference.authorize(&attrs);
            assert_eq!(
                want.allowed, probe.allowed,
                "{}: {}",
                probe.label, want.reason
            );
            assert_eq!(snapshot.authorize(&attrs), want, "{}", probe.label);
        }
    }
}
