#!/bin/sh
# Print the interpreter the project's virtualenv is built with.
# LDR runs on CPython 3.12-3.14, so prefer the newest CPython >= 3.12 found on PATH,
# then among pyenv's installed versions; fall back to python3 (>= 3.11 is required).
# PYTHON=... on the make command line overrides all of this.
set -u
works() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
for v in 3.14 3.13 3.12; do
  if command -v "python$v" >/dev/null 2>&1 && works "python$v"; then
    echo "python$v"; exit 0
  fi
done
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
if [ -d "$root/versions" ]; then
  best=$(ls "$root/versions" 2>/dev/null | grep -E '^3\.(1[2-9])\.[0-9]+$' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
  if [ -n "$best" ] && works "$root/versions/$best/bin/python3"; then
    echo "$root/versions/$best/bin/python3"; exit 0
  fi
fi
if command -v python3 >/dev/null 2>&1 && works python3; then echo python3; exit 0; fi
echo "no CPython >= 3.11 found; install one or pass PYTHON=/path/to/python3" >&2
exit 1
