#!/usr/bin/env bash
# Configures and builds tokvec (Release) into build/ (or $TOKVEC_BUILD_DIR).
# Extra arguments go to CMake's configure step, e.g. -DTOKVEC_NATIVE=ON.
# When ccache is installed it caches the compiles, so that several build folders (Release,
# sanitizers, one per git worktree) share object files; TOKVEC_CCACHE=0 turns that off.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${TOKVEC_BUILD_DIR:-build}
launcher=()
if [[ ${TOKVEC_CCACHE:-1} == 1 ]] && command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths below the parent of the checkout are hashed relative to it, so two checkouts
  # side by side hit the same cache entries.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
