# Sourced by scripts/demo and scripts/test: sets UV to a uv to run. One on PATH is used; otherwise uv's own
# wheel as uv.lock pins it, fetched and checked by scripts/bootstrap_uv.py with nothing but Python >= 3.10
# (no pip, no venv, nothing installed into the system's Python).
python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "$0: needs Python 3.10 or newer on PATH (Debian: apt-get install python3)" >&2
  exit 1
fi
UV="$("$python" scripts/bootstrap_uv.py)"
# Tests and tools started from here find the same uv.
PATH="$(dirname "$UV"):$PATH"
export PATH UV
