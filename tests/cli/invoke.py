"""Running `dripstone` in-process the way every CLI test does: a traceback fails the test,
and the exit code is checked (`code`)."""

from typer.testing import CliRunner

from cli.main import app


def dripstone_run(*args, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result
