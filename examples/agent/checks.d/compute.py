"""Computes values: every metric type, a histogram bucket, an event and metadata."""
import math

from datadog_checks.base import AgentCheck


class ComputeCheck(AgentCheck):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.runs = 0

    def check(self, instance):
        self.runs += 1
        n = instance.get("n", 20)
        tags = ["source:compute"] + instance.get("tags", [])
        primes = [k for k in range(2, n) if all(k % d for d in range(2, int(math.isqrt(k)) + 1))]
        self.gauge("compute.primes", len(primes), tags=tags)
        self.count("compute.runs", 1, tags=tags)
        self.monotonic_count("compute.total_runs", self.runs, tags=tags)
        self.rate("compute.rate", float(n), tags=tags)
        for p in primes[:3]:
            self.histogram("compute.prime", p, tags=tags)
        self.submit_histogram_bucket("compute.bucket", len(primes), 0.0, float(n), True, None, tags)
        self.event({
            "msg_title": "compute ran",
            "msg_text": "found %d primes below %d" % (len(primes), n),
            "alert_type": "info",
            "tags": tags,
        })
        self.set_metadata("version", "1.2.3")
        self.log.debug("computed %d primes", len(primes))
