#!/usr/bin/env bash
# Checks the installed package the way another project uses it: installs the build into a
# temporary prefix, builds docs/examples against it with find_package(tokvec CONFIG), runs
# the example on corpora/gutenberg-3m.txt and checks that it prints a neighbour list.
# Reuses build/ (or $TOKVEC_BUILD_DIR) when it is configured; otherwise builds it first.
# usage: tools/check_install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${TOKVEC_BUILD_DIR:-build}
fail() { echo "check_install.sh: FAILED: $*" >&2; exit 1; }

if [[ -f "$build_dir/CMakeCache.txt" ]]; then
  cmake --build "$build_dir" -j"$(nproc)" --target tokvec tokvec_core >/dev/null
else
  tools/build.sh
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tokvec-check-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build_dir" --prefix "$prefix" >/dev/null

for f in bin/tokvec include/tokvec/tokvec.h lib/cmake/tokvec/tokvecConfig.cmake \
         lib/cmake/tokvec/tokvecConfigVersion.cmake lib/cmake/tokvec/tokvecTargets.cmake; do
  [[ -f "$prefix/$f" ]] || fail "the install has no $f"
done
compgen -G "$prefix/lib/libtokvec.a" >/dev/null || fail "the install has no lib/libtokvec.a"
"$prefix/bin/tokvec" --version >/dev/null || fail "the installed bin/tokvec does not run"

# The example is compiled with the build's compiler, through ccache as tools/build.sh does.
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt"; }
args=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$(cache_value CMAKE_CXX_COMPILER)")
launcher=$(cache_value CMAKE_CXX_COMPILER_LAUNCHER)
if [[ -n "$launcher" ]]; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher")
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
fi
cmake -S docs/examples -B "$work/example" "${args[@]}" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "docs/examples does not configure against the installed package"; }
cmake --build "$work/example" -j"$(nproc)" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "docs/examples does not build against the installed package"; }

out=$work/example.out
"$work/example/train_and_neighbors" "$root/corpora/gutenberg-3m.txt" night >"$out" ||
  { cat "$out" >&2; fail "train_and_neighbors exited with $?"; }
# The word on a line of its own, then 10 lines "  COSINE  WORD".
grep -qx 'night' "$out" || { cat "$out" >&2; fail "train_and_neighbors printed no neighbour list"; }
rows=$(grep -cE '^  -?[0-9]\.[0-9]{4}  [^ ]+$' "$out" || true)
[[ "$rows" == 10 ]] || { cat "$out" >&2; fail "train_and_neighbors printed $rows neighbours, not 10"; }
echo "check_install.sh: the installed package builds docs/examples, and it runs:"
sed 's/^/  /' "$out"
