#!/usr/bin/env bash
# make lab: JupyterLab on notebooks/ with the govlib kernel as the default and the four report notebooks open.
# JupyterLab refuses to start as root (as in most containers) unless given --allow-root: detect it and say so.
# The notebooks open through a JupyterLab workspace written to build/lab-workspaces/ (its layout lists them);
# DRY_RUN=1 writes the workspace and prints the command instead of running it (the test uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
PY="${PY:-$BIN/python}"
WS_DIR="${WS_DIR:-build/lab-workspaces}"
mkdir -p "$WS_DIR"
"$PY" - "$WS_DIR" <<'PY'
import json, pathlib, sys
nbs = sorted(p.name for p in pathlib.Path("notebooks").glob("[0-9][0-9]-*.ipynb"))
ids = [f"notebook:{n}" for n in nbs]
data = {"layout-restorer:data": {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": ids},
                                          "current": ids[0]},
                                 "left": {"collapsed": False, "visible": True, "current": "filebrowser",
                                          "widgets": ["filebrowser"]}}}
data.update({i: {"data": {"path": n, "factory": "Notebook"}} for i, n in zip(ids, nbs)})
ws = {"data": data, "metadata": {"id": "govlib"}}
from jupyterlab_server.workspaces_handler import WORKSPACE_EXTENSION, slugify  # the file name the server looks for
pathlib.Path(sys.argv[1], slugify("govlib") + WORKSPACE_EXTENSION).write_text(json.dumps(ws, indent=1), encoding="utf-8")
PY
args=(lab --notebook-dir=notebooks --MultiKernelManager.default_kernel_name=govlib
      "--LabApp.workspaces_dir=$WS_DIR" --LabApp.default_url=/lab/workspaces/govlib)
if [ "$(id -u)" = "0" ]; then
  echo "make lab: you are root (as in most containers), so JupyterLab is started with --allow-root." >&2
  args+=(--allow-root)
fi
if [ "${DRY_RUN:-0}" = "1" ]; then echo "$BIN/jupyter ${args[*]}"; exit 0; fi
exec "$BIN/jupyter" "${args[@]}" "$@"
