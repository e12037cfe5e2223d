"""Raises: the agent reports the exception with its traceback and goes on."""
from datadog_checks.base import AgentCheck


class FailingCheck(AgentCheck):
    def check(self, instance):
        self.gauge("failing.before_error", 1)
        self.warning("about to fail on purpose")
        self.connect(instance["host"])

    def connect(self, host):
        raise ConnectionError("cannot connect to %s: connection refused" % host)
