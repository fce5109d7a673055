"""Shared test settings: deterministic hypothesis runs with no per-example deadline (2-core CI)."""
from hypothesis import HealthCheck, settings

settings.register_profile("dlbook", deadline=None, max_examples=40, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dlbook")
