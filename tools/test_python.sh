#!/usr/bin/env bash
# The Python package's tests (CTest runs this as python_package): installs the package from
# this checkout with pip into a venv in the build folder, offline, reusing the module that
# build made, then runs tests/python with pytest against that build's tokvec binary.
# usage: tools/test_python.sh [PYTHON [BUILD_DIR [PYTEST_ARGS...]]]   (default /usr/bin/python3 build)
#   e.g. tools/test_python.sh /usr/bin/python3 build -k subwords    (only the tests matching "subwords")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-/usr/bin/python3}
build=$(cd "${2:-$root/build}" && pwd)
shift $(($# < 2 ? $# : 2))  # the rest goes to pytest
venv=$build/python-venv
# Without the test tools (tools/install-deps.sh --with-test-tools) CTest reports a skip (77).
for module in pytest venv ensurepip numpy; do
  if ! "$python" -c "import $module" 2>/dev/null; then
    echo "test_python: skipped: $python cannot import $module (tools/install-deps.sh --with-test-tools installs it)"
    exit 77
  fi
done
if [[ ! -x $venv/bin/python ]]; then
  "$python" -m venv --system-site-packages "$venv"
fi
TOKVEC_PY_BUILD_DIR=$build "$venv/bin/pip" install --no-build-isolation --no-index --no-deps --quiet \
  --disable-pip-version-check "$root"
# From the build folder, so that `import tokvec` is the installed package, not src/python/.
cd "$build"
TOKVEC_CLI=$build/tokvec exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/tests/python" "$@"
