"""Python logging into the agent's logger, through ``datadog_agent.log(message, level)``."""
import logging

import datadog_agent

TRACE_LEVEL = 7
LOG_LEVEL_MAP = {
    "CRIT": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
    "ERR": logging.ERROR,
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": TRACE_LEVEL,
}


class AgentLogHandler(logging.Handler):
    """Sends every record to the agent, with its level number."""

    def emit(self, record):
        try:
            msg = self.format(record)
        except Exception:
            self.handleError(record)
            return
        datadog_agent.log(msg, record.levelno)


class CheckLogFormatter(logging.Formatter):
    def format(self, record):
        message = super().format(record)
        check_id = getattr(record, "_check_id", "-")
        filename = getattr(record, "_filename", record.filename)
        lineno = getattr(record, "_lineno", record.lineno)
        return "{} | ({}:{}) | {}".format(check_id, filename, lineno, message)


class CheckLoggingAdapter(logging.LoggerAdapter):
    def __init__(self, logger, check):
        super().__init__(logger, {})
        self.check = check

    def process(self, msg, kwargs):
        extra = kwargs.setdefault("extra", {})
        extra.setdefault("_check_id", self.check.check_id or "unknown")
        return msg, kwargs

    def trace(self, msg, *args, **kwargs):
        self.log(TRACE_LEVEL, msg, *args, **kwargs)


def _get_py_loglevel(level):
    if not isinstance(level, str):
        return logging.INFO
    return LOG_LEVEL_MAP.get(level.upper(), logging.INFO)


def init_logging():
    logging.addLevelName(TRACE_LEVEL, "TRACE")
    root = logging.getLogger()
    if not any(isinstance(h, AgentLogHandler) for h in root.handlers):
        handler = AgentLogHandler()
        handler.setFormatter(CheckLogFormatter())
        root.addHandler(handler)
    root.setLevel(_get_py_loglevel(datadog_agent.get_config("log_level")))
