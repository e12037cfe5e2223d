def ensure_bytes(s):
    if isinstance(s, str):
        return s.encode("utf-8")
    return s


def ensure_unicode(s):
    if isinstance(s, bytes):
        return s.decode("utf-8", errors="replace")
    return s


to_native_string = ensure_unicode


def is_affirmative(value):
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1", "y", "on")
    return bool(value)
