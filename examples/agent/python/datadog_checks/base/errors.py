class CheckException(Exception):
    """Generic failure of a check."""


class ConfigurationError(Exception):
    """The check's configuration is invalid."""
