#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (what .ci/run calls).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --with-test-tools
tools/build.sh
cd "${TOKVEC_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)"
