#!/usr/bin/env bash
# Configures and builds tokvec (Release) into build/ (or $TOKVEC_BUILD_DIR).
# Extra arguments go to CMake's configure step, e.g. -DTOKVEC_NATIVE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${TOKVEC_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
