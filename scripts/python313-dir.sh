#!/usr/bin/env bash
# Prints the folder holding a working python3.13 (sam build needs it on PATH for the
# python3.13 runtime). Looks on PATH first, then under pyenv. Says what is missing if neither.
set -euo pipefail
if command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys' >/dev/null 2>&1; then
  dirname "$(python3.13 -c 'import sys; print(sys.executable)')"
  exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  for d in "$(pyenv root)"/versions/3.13.*/bin; do
    if [ -x "$d/python3.13" ]; then echo "$d"; exit 0; fi
  done
fi
cat >&2 <<'MSG'
python3.13 was not found: sam build needs it for the Lambda runtime python3.13.
Looked on PATH (python3.13) and under pyenv ($(pyenv root)/versions/3.13.*/bin).
Install it, e.g. `pyenv install 3.13` or your distribution's python3.13 package.
MSG
exit 1
