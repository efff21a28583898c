"""`make lab`: as root JupyterLab needs --allow-root (detected and said); the server starts with the govlib kernel
as its default and a workspace that opens the four report notebooks, each of which asks for the govlib kernel."""
from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _command(tmp_path):
    env = {**os.environ, "DRY_RUN": "1", "BIN": str(BIN), "PY": sys.executable, "WS_DIR": str(tmp_path / "ws")}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "lab.sh")], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return shlex.split(out.stdout.strip()), out.stderr


def test_lab_says_and_adds_allow_root_only_for_root(tmp_path):
    args, said = _command(tmp_path)
    assert args[:2] == [str(BIN / "jupyter"), "lab"]
    assert "--MultiKernelManager.default_kernel_name=govlib" in args
    if os.geteuid() == 0:
        assert "--allow-root" in args and "--allow-root" in said and "root" in said
    else:
        assert "--allow-root" not in args and not said
    ws = json.loads(next((tmp_path / "ws").glob("*.jupyterlab-workspace")).read_text(encoding="utf-8"))
    assert ws["data"]["layout-restorer:data"]["main"]["dock"]["widgets"] == [f"notebook:{n}" for n in NOTEBOOKS]
    assert len(NOTEBOOKS) == 4


def _get(port, path, token):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}?token={token}", timeout=10) as resp:
        return json.load(resp)


def test_jupyterlab_starts_with_the_govlib_kernel_and_the_four_notebooks(tmp_path):
    args, _ = _command(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "govlib-test"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}
    proc = subprocess.Popen(args + ["--no-browser", "--ip=127.0.0.1", f"--port={port}",
                                    f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        specs = None
        while time.monotonic() < deadline and specs is None:
            if proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited: {proc.stderr.read()[-2000:]}")
            try:
                specs = _get(port, "/api/kernelspecs", token)
            except OSError:
                time.sleep(0.5)
        assert specs is not None, "JupyterLab did not answer"
        assert specs["default"] == "govlib" and "govlib" in specs["kernelspecs"]
        listed = sorted(c["name"] for c in _get(port, "/api/contents", token)["content"] if c["type"] == "notebook")
        assert listed == NOTEBOOKS
        for name in NOTEBOOKS:
            nb = _get(port, f"/api/contents/{name}", token)["content"]
            assert nb["metadata"]["kernelspec"]["name"] == "govlib", name
        ws = _get(port, "/lab/api/workspaces/govlib", token)
        assert ws["data"]["layout-restorer:data"]["main"]["dock"]["widgets"] == [f"notebook:{n}" for n in NOTEBOOKS]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
