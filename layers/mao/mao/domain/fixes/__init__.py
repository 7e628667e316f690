"""Fixes and self-healing, pure: the fix catalogue, deterministic fix ids, patch plans, tenant policy
and the healing operation's legal status transitions."""
