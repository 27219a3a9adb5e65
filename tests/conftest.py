"""Suite-wide settings. Hypothesis runs seeded in CI (derandomize) so a red build reproduces."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True)
# Mutation runs (mutation/run.py) run the same tests once per mutant: the same examples for every
# mutant, and fewer of them, so a run of a module takes minutes rather than hours.
settings.register_profile(
    "mutation",
    deadline=None,
    derandomize=True,
    max_examples=10,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
