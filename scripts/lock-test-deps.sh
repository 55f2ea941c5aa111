#!/usr/bin/env bash
# Refresh requirements/test.lock: the exact versions of every Python package
# the test suite installs (sealbox's own dependencies and the test extra,
# with everything they pull in).
#
# CI and the README's test command install with `-c requirements/test.lock`,
# so a new upstream release (botocore adds a member to CloudFront's model
# every few weeks) never turns main red by itself. To try the newest
# versions, run this script, then the suite; commit the new lock with
# whatever the new versions needed:
#
#   bash scripts/lock-test-deps.sh && pip install -e '.[test]' -c requirements/test.lock \
#       && python -m pytest -n 2
#
# It builds a throwaway virtual environment, installs `.[test]` there with
# no constraints (so pip picks the newest releases), and writes its freeze.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check '.[test]'
{
    echo "# The test suite's Python packages, exactly. Made by scripts/lock-test-deps.sh"
    echo "# on $(date -u +%Y-%m-%d) with $("$venv/bin/python" --version); used as pip constraints"
    echo "# (-c), so installing sealbox alone needs none of the test-only pins."
    "$venv/bin/pip" freeze --exclude-editable | grep -v '^sealbox[= @]' | LC_ALL=C sort -f
} > requirements/test.lock
echo "lock-test-deps: wrote requirements/test.lock ($(grep -vc '^#' requirements/test.lock) packages)"
