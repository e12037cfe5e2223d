"""``AgentCheck``: the base class of checks, compatible with the real datadog_checks.base."""
import copy
import os
import sys
import json
import logging
import traceback

import aggregator
import datadog_agent

from ..log import CheckLoggingAdapter, init_logging
from ..utils.common import ensure_unicode

init_logging()


class AgentCheck(object):
    """Subclass it and implement ``check(self, instance)``."""

    OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
    __NAMESPACE__ = ""

    def __init__(self, *args, **kwargs):
        name = kwargs.get("name", "")
        init_config = kwargs.get("init_config", {})
        agent_config = kwargs.get("agentConfig", {})
        instances = kwargs.get("instances", [])
        if len(args) > 0:
            name = args[0]
        if len(args) > 1:
            init_config = args[1]
        if len(args) > 2:
            if len(args) > 3 or not isinstance(args[2], (list, tuple)) or "instances" in kwargs:
                agent_config = args[2]
                if len(args) > 3:
                    instances = args[3]
            else:
                instances = args[2]
        self.name = name
        self.init_config = init_config or {}
        self.agentConfig = agent_config or {}
        self.instances = list(instances) if instances else []
        self.instance = self.instances[0] if self.instances else None
        self.warnings = []
        self._check_id = ""
        self.hostname = datadog_agent.get_hostname() or ""
        self.log = CheckLoggingAdapter(logging.getLogger("datadog_checks.base.checks.base.%s" % name), self)
        self._persistent_cache_prefix = None

    # -- identity ---------------------------------------------------------------------------
    @property
    def check_id(self):
        return self._check_id

    @check_id.setter
    def check_id(self, value):
        self._check_id = value

    # -- metrics -----------------------------------------------------------------------------
    def _format_namespace(self, name, raw=False):
        if raw or not self.__NAMESPACE__:
            return name
        return "{}.{}".format(self.__NAMESPACE__, name)

    def _normalize_tags_type(self, tags, device_name=None, metric_name=None):
        normalized = []
        if device_name:
            normalized.append("device:{}".format(ensure_unicode(device_name)))
        for tag in tags or []:
            if tag is None:
                continue
            if isinstance(tag, bytes):
                tag = tag.decode("utf-8", errors="replace")
            elif not isinstance(tag, str):
                tag = str(tag)
            normalized.append(tag)
        return normalized

    def _submit_metric(self, mtype, name, value, tags=None, hostname=None, device_name=None, raw=False, flush_first_value=False):
        if value is None:
            return
        try:
            value = float(value)
        except (ValueError, TypeError):
            self.warning("Metric: %r has non float value: %r. Only float values can be submitted as metrics.", name, value)
            return
        aggregator.submit_metric(
            self,
            self.check_id,
            mtype,
            self._format_namespace(name, raw),
            value,
            self._normalize_tags_type(tags, device_name, name),
            hostname or "",
            flush_first_value,
        )

    def gauge(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.GAUGE, name, value, tags, hostname, device_name, raw)

    def count(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.COUNT, name, value, tags, hostname, device_name, raw)

    def monotonic_count(self, name, value, tags=None, hostname=None, device_name=None, raw=False, flush_first_value=False):
        self._submit_metric(aggregator.MONOTONIC_COUNT, name, value, tags, hostname, device_name, raw, flush_first_value)

    def rate(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.RATE, name, value, tags, hostname, device_name, raw)

    def histogram(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.HISTOGRAM, name, value, tags, hostname, device_name, raw)

    def historate(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.HISTORATE, name, value, tags, hostname, device_name, raw)

    def increment(self, name, value=1, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.COUNTER, name, value, tags, hostname, device_name, raw)

    def decrement(self, name, value=-1, tags=None, hostname=None, device_name=None, raw=False):
        self._submit_metric(aggregator.COUNTER, name, value, tags, hostname, device_name, raw)

    def submit_histogram_bucket(self, name, value, lower_bound, upper_bound, monotonic, hostname, tags, raw=False, flush_first_value=False):
        if value is None:
            return
        aggregator.submit_histogram_bucket(
            self,
            self.check_id,
            self._format_namespace(name, raw),
            int(value),
            lower_bound,
            upper_bound,
            monotonic,
            hostname or "",
            self._normalize_tags_type(tags, None, name),
            flush_first_value,
        )

    def service_check(self, name, status, tags=None, hostname=None, message=None, raw=False):
        aggregator.submit_service_check(
            self,
            self.check_id,
            self._format_namespace(name, raw),
            status,
            self._normalize_tags_type(tags, None, name),
            hostname or "",
            ensure_unicode(message) if message is not None else "",
        )

    def event(self, event):
        event = dict(event)
        for key, value in list(event.items()):
            if isinstance(value, bytes):
                event[key] = value.decode("utf-8", errors="replace")
        if event.get("tags"):
            event["tags"] = self._normalize_tags_type(event["tags"])
        if event.get("timestamp"):
            event["timestamp"] = int(event["timestamp"])
        if not event.get("source_type_name") and self.__NAMESPACE__:
            event["source_type_name"] = self.__NAMESPACE__
        aggregator.submit_event(self, self.check_id, event)

    # -- agent services ----------------------------------------------------------------------
    def warning(self, warning_message, *args, **kwargs):
        message = str(warning_message)
        if args:
            message = message % args
        # Name the caller, as the real base does (``stacklevel`` is unreliable through a
        # LoggerAdapter before Python 3.11).
        caller = sys._getframe(1)
        extra = {"_filename": os.path.basename(caller.f_code.co_filename), "_lineno": caller.f_lineno}
        self.log.warning(message, extra=extra)
        self.warnings.append(message)

    def get_warnings(self):
        warnings = self.warnings
        self.warnings = []
        return warnings

    def set_metadata(self, name, value, **options):
        datadog_agent.set_check_metadata(self.check_id, name, str(value))

    def set_external_tags(self, external_tags):
        new_tags = []
        for hostname, source_map in external_tags:
            new_tags.append((str(hostname), {src: self._normalize_tags_type(tags) for src, tags in source_map.items()}))
        datadog_agent.set_external_tags(new_tags)

    def _cache_key(self, key):
        if self._persistent_cache_prefix is None:
            parts = (self.check_id or "unknown").split(":")
            self._persistent_cache_prefix = ":".join(parts[:-1] + [parts[-1] + "_"])
        return self._persistent_cache_prefix + key

    def read_persistent_cache(self, key):
        return datadog_agent.read_persistent_cache(self._cache_key(key))

    def write_persistent_cache(self, key, value):
        datadog_agent.write_persistent_cache(self._cache_key(key), value)

    # -- running -----------------------------------------------------------------------------
    def check(self, instance):
        raise NotImplementedError

    def cancel(self):
        pass

    def run(self):
        """Runs one collection; returns '' on success, or a JSON list of errors."""
        try:
            instance = copy.deepcopy(self.instances[0]) if self.instances else None
            self.check(instance)
            return ""
        except Exception as e:
            return json.dumps([{"message": str(e), "traceback": traceback.format_exc()}])
