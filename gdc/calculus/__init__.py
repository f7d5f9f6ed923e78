"""Stage 2, checked model → sympy → verified derivation: symbolic form, rules, derivation, verifier."""
