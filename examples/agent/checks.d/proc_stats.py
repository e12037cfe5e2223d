"""Reads /proc: load averages, memory and the number of running processes."""
from datadog_checks.base import AgentCheck


class ProcStatsCheck(AgentCheck):
    __NAMESPACE__ = "proc"

    def check(self, instance):
        tags = instance.get("tags", [])
        with open("/proc/loadavg") as f:
            one, five, fifteen, procs = f.read().split()[:4]
        self.gauge("load.1", float(one), tags=tags)
        self.gauge("load.5", float(five), tags=tags)
        self.gauge("load.15", float(fifteen), tags=tags)
        running, total = procs.split("/")
        self.gauge("processes.running", int(running), tags=tags)
        self.gauge("processes.total", int(total), tags=tags)
        meminfo = {}
        with open("/proc/meminfo") as f:
            for line in f:
                key, value = line.split(":", 1)
                meminfo[key] = int(value.split()[0]) * 1024
        self.gauge("mem.total", meminfo["MemTotal"], tags=tags)
        self.gauge("mem.available", meminfo.get("MemAvailable", meminfo["MemFree"]), tags=tags)
        status = self.OK if meminfo.get("MemAvailable", 1) > 0 else self.WARNING
        self.service_check("can_read", status, tags=tags)
        self.log.info("read /proc: load %s, %s processes", one, total)
