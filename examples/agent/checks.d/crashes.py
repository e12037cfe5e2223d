"""Ends its process in the ways no exception handler can catch: run with
`isolation: process`, each costs a worker process and is reported, and the agent and every
other check carry on. Run in-process, any of them would end the agent."""
import ctypes
import os
import resource
import signal

from datadog_checks.base import AgentCheck


class CrashingCheck(AgentCheck):
    def check(self, instance):
        mode = instance.get("mode")
        self.gauge("crashes.started", 1, tags=["mode:%s" % mode])
        if mode == "exit":
            os._exit(3)
        elif mode == "segfault":
            ctypes.string_at(0)
        elif mode == "abort":
            os.abort()
        elif mode == "block_in_c":
            # SIGINT, which interrupts Python code at a deadline, stays pending; the C call
            # sleeps on: only killing the process ends it.
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
            ctypes.CDLL(None).sleep(600)
        elif mode == "allocate":
            soft, _ = resource.getrlimit(resource.RLIMIT_AS)
            if soft == resource.RLIM_INFINITY:
                # qemu-user, for one, passes no cap on: do not take the machine.
                raise RuntimeError("no memory cap in force here: not allocating")
            # Stop at 4 GiB all the same.
            chunks = []
            for _ in range(400):
                chunks.append(bytearray(10 << 20))
            raise RuntimeError("allocated 4 GiB: the worker's memory cap did not apply")
        else:
            self.gauge("crashes.survived", 1, tags=["pid:%d" % os.getpid()])
