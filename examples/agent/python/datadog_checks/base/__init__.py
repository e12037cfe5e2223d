"""A minimal, dependency-free stand-in for ``datadog_checks.base``, bundled with pyhost-agent.

It implements the part of the real package's API that checks use most (``AgentCheck`` with
metrics, service checks, events, histogram buckets, warnings, metadata, external tags, the
persistent cache and logging), on top of the agent's ``aggregator`` and ``datadog_agent``
builtin modules. When the real ``datadog-checks-base`` is installed in the environment the
agent uses, the agent uses that one instead.
"""
from .checks import AgentCheck
from .errors import CheckException, ConfigurationError
from .utils.common import ensure_bytes, ensure_unicode, is_affirmative, to_native_string

__version__ = "0.1.0+pyhost"

__all__ = [
    "AgentCheck",
    "CheckException",
    "ConfigurationError",
    "ensure_bytes",
    "ensure_unicode",
    "is_affirmative",
    "to_native_string",
]
