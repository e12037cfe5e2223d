"""``get_subprocess_output`` on top of the agent's ``_util`` builtin (as the real base does)."""
from _util import SubprocessOutputEmptyError  # noqa: F401
from _util import get_subprocess_output as _subprocess_output


def get_subprocess_output(command, log, raise_on_empty_output=True, log_debug=True, env=None):
    if isinstance(command, str):
        cmd_args = command.split()
    else:
        try:
            cmd_args = list(command)
        except TypeError:
            raise TypeError("command must be a sequence or string")
    if log_debug:
        log.debug("Running get_subprocess_output with cmd: %s", cmd_args)
    out, err, returncode = _subprocess_output(cmd_args, raise_on_empty_output, env=env)
    if log_debug:
        log.debug("get_subprocess_output returned (len(out): %s ; len(err): %s ; returncode: %s)", len(out), len(err), returncode)
    return out, err, returncode
