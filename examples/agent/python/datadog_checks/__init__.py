# A namespace package, like the real datadog_checks: check packages installed elsewhere
# (datadog_checks.<name>) stay importable next to this bundled base.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
