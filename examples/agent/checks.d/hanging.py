"""Never finishes: the agent cancels it at its timeout."""
import time

from datadog_checks.base import AgentCheck


class HangingCheck(AgentCheck):
    def check(self, instance):
        self.gauge("hanging.started", 1)
        if instance.get("mode") == "busy":
            while True:
                pass
        while True:
            time.sleep(5)
