#!/usr/bin/env bash
# make demo: synthetic demo data -> validate -> build -> reports for the latest period -> Excel -> portal.
set -euo pipefail
cd "$(dirname "$0")/.."
PERIOD="${1:-latest}"
WORKERS="${2:-2}"
BIN=.venv/bin
stage() { local name="$1"; shift; local t0=$SECONDS; echo "== $name"; "$@"; echo "   ($name: $((SECONDS - t0)) s)"; }
T0=$SECONDS
stage "demo data (synthetic, full size)" $BIN/govlib demo-data --size full
stage "validate and build" $BIN/govlib build
stage "reports, Excel and portal" $BIN/govlib report all --period "$PERIOD" --workers "$WORKERS"
echo
echo "make demo finished in $((SECONDS - T0)) s. All data are SYNTHETIC (合成示例数据)."
$BIN/python -c "from govlib.settings import load_settings; print('Report portal:', load_settings().outputs_dir / 'site' / 'index.html')"
