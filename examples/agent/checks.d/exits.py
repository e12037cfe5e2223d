"""Calls sys.exit: reported as such; the agent keeps running."""
import sys

from datadog_checks.base import AgentCheck


class ExitingCheck(AgentCheck):
    def check(self, instance):
        sys.exit(3)
