"""Derivation to JSON for programs: names, loss, partials, update rules and the tree of steps.

Expressions are strings in sympy syntax over the parameter and data names; a reduction over
the samples reads `mean(...)` or `sum(...)`.
"""

from __future__ import annotations

import json

from gdc.calculus.derivation import ALPHA, Derivation
from gdc.calculus.rules import Step


def step_object(step: Step) -> dict:
    """One step and its substeps; optional fields only when present."""
    obj: dict = {"rule": step.title()}
    if step.quantity is not None:
        obj["quantity"] = str(step.quantity)
    obj["before"] = str(step.before)
    if step.middle is not None:
        obj["middle"] = str(step.middle)
    obj["after"] = str(step.after)
    obj["verified"] = step.verified
    if step.where:
        obj["where"] = {str(s): str(e) for s, e in step.where}
    if step.note:
        obj["note"] = step.note
    if step.substeps:
        obj["substeps"] = [step_object(s) for s in step.substeps]
    return obj


def render(d: Derivation) -> str:
    model, checked = d.model, d.model.checked
    updates = {}
    for u in d.updates:
        entry = {"batch": str(u.batch), "sgd": str(u.param - ALPHA * d.sgd_partials[u.param])}
        if u.classic is not None:
            entry["classic"] = str(model.expand(u.classic))
            entry["factor"] = str(u.factor)
            if u.error is not None:
                entry["error"] = str(model.expand(u.error))
        updates[str(u.param)] = entry
    obj = {
        "model": checked.program.where,
        "parameters": [p.name for p in checked.params],
        "data": [x.name for x in checked.data],
        "origins": {item.name: str(item.origin) for item in checked.params + checked.data},
        **({"bounds": {p.name: p.bounds.text() for p in checked.params if p.bounds is not None}}
           if any(p.bounds is not None for p in checked.params) else {}),
        "wrt": [str(p) for p in d.params],
        "definitions": {str(s): str(e) for s, e in model.definitions},
        "loss": str(model.loss),
        "stable_loss": str(d.stable_loss),
        "stable_rewrites": list(d.stable_rewrites),
        "partials": {str(p): str(e) for p, e in d.partials.items()},
        "sgd_partials": {str(p): str(e) for p, e in d.sgd_partials.items()},
        "learning_rate": "alpha",
        "updates": updates,
        "verified": d.verified,
        "steps": [step_object(s) for s in d.steps],
    }
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
