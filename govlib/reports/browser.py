"""Headless Chromium driven over the DevTools protocol: one browser, many pages (PDF printing, browser tests).

Debian's ``chromium`` (``scripts/ensure-chromium.sh`` installs it) is started once with
``--remote-debugging-port=0`` and a throw-away profile; :class:`DevTools` sends commands by id over the page's
websocket (``websocket-client``) and keeps every event (console messages, exceptions, network requests) so tests can
observe them rather than assume them. The browser binds to 127.0.0.1 only and is killed with its process group.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from ..errors import GovlibError

__all__ = ["chromium_path", "DevTools", "Chromium", "FLAGS"]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--hide-scrollbars", "--mute-audio"]


def _die_with_parent() -> None:
    """In the child before exec: on Linux, be killed when the process that started us dies (even by SIGKILL), so
    a killed ``govlib report`` leaves no browser behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def chromium_path() -> str | None:
    """The Chromium executable on PATH (``chromium`` or ``chromium-browser``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """A minimal DevTools-protocol client for one page: commands by id, events collected in order."""

    def __init__(self, ws_url: str, timeout: float = 60):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 60, after: int = 0) -> dict:
        """The first event ``method`` at or after index ``after`` of :attr:`events` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events[after:]:
                if e.get("method") == method:
                    return e
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def load(self, url: str, timeout: float = 60) -> None:
        """Navigate and wait for the load event and for the page's fonts."""
        mark = len(self.events)
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", timeout, after=mark)
        self.evaluate("document.fonts.ready.then(() => true)")

    def close(self) -> None:
        self.ws.close()


class Chromium:
    """One headless Chromium for the block; :meth:`page` connects to its first tab.

    ``env`` adds environment variables (e.g. ``FONTCONFIG_FILE`` for a machine without CJK fonts).
    """

    def __init__(self, window: tuple[int, int] = (1280, 2000), env: dict[str, str] | None = None):
        self.window = window
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self._profile: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "Chromium":
        self.launch()
        return self.ready()

    def launch(self) -> "Chromium":
        """Start the browser process and return at once (:meth:`ready` waits for its endpoint); a command that
        will print PDFs starts it early, so that it is up when the first page is printed. Leave with
        ``__exit__``."""
        exe = chromium_path()
        if not exe:
            raise GovlibError("Chromium is not installed (needed for PDFs and browser tests): run "
                              "`make chromium` or `apt-get install chromium`")
        self._profile = tempfile.TemporaryDirectory(prefix="govlib-chromium-")
        env = {**os.environ, **(self.env or {})}
        self.proc = subprocess.Popen([exe, *FLAGS, f"--window-size={self.window[0]},{self.window[1]}",
                                      f"--user-data-dir={self._profile.name}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True, env=env, preexec_fn=_die_with_parent)
        return self

    def ready(self) -> "Chromium":
        """Wait until the DevTools endpoint listens (at once if it already does)."""
        if self.port is not None:
            return self
        deadline = time.monotonic() + 60
        while self.port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
            elif not line and self.proc.poll() is not None:
                break
        if self.port is None:
            self.__exit__(None, None, None)
            raise GovlibError("Chromium did not start its DevTools endpoint")
        import threading

        # keep reading Chromium's log so a full pipe never blocks it
        threading.Thread(target=lambda err: [None for _ in err], args=(self.proc.stderr,), daemon=True).start()
        return self

    def page(self) -> DevTools:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as resp:
            pages = [t for t in json.load(resp) if t["type"] == "page"]
        return DevTools(pages[0]["webSocketDebuggerUrl"])

    def new_page(self) -> DevTools:
        """A new tab of the same browser (pages render in their own processes: tabs print in parallel)."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            target = json.load(resp)
        return DevTools(target["webSocketDebuggerUrl"])

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:  # pragma: no cover - already gone
                pass
            self.proc.wait()
        if self._profile is not None:
            self._profile.cleanup()


def file_url(path: str | Path) -> str:
    return Path(path).resolve().as_uri()
