#!/usr/bin/env bash
# The Arm (AArch64) build and its NEON kernels, checked on an x86-64 Debian machine:
# cross-compiles tokvec with Debian's g++-aarch64-linux-gnu against the arm64 packages
# (multiarch), then runs the program and the kernel and trainer tests under qemu-user.
#
#   tools/check_arm.sh [--no-install] [--all] [--filter GTEST_FILTER]
#
#   --no-install  fail on a missing package instead of installing it
#   --all         build and run the whole suite under the emulator (ctest), not only the
#                 test files below
#   --filter F    a GoogleTest filter over those test files (default: all their tests but
#                 the two that take the emulator far longer than the rest: the BPE golden
#                 run's exports and the evaluation's every-path comparison; '*' runs them)
#
# Installs what is missing (root or sudo): the arm64 architecture for dpkg,
# g++-aarch64-linux-gnu, qemu-user and the arm64 development packages of the libraries.
# Builds into build-arm64/ (or $TOKVEC_ARM_BUILD_DIR) with cmake/aarch64-linux-gnu.cmake,
# through ccache when installed. Checks, each failing the script:
#   - `tokvec --version` under qemu chooses the neon path by itself and with TOKVEC_SIMD=neon,
#     and refuses TOKVEC_SIMD=avx2 (exit 2: this build has no avx2 kernels);
#   - the tests (tests/NAME_test.cpp for NAME in test_files below): every runnable path
#     (neon, scalar) against the scalar reference within the tests' tolerances, 1 thread
#     bit-identical run to run and through resume on each path.
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
all=0
filter='*-GoldenCli.BpeRunAndItsExportsAreByteIdentical:Eval.EverySimdPathAnswersLikeTheScalarPath'
# The test files built: the kernels, the sampler, the matrices, the trainer, the SIMD
# dispatch, evaluation's scoring kernels and the golden runs (the x86-64 bytes: the build
# turns off floating-point contraction, so the scalar path rounds alike on both).
test_files='sgns;sampler;matrix;trainer;simd_cli;eval;golden_cli'
while (($#)); do
  case $1 in
    --no-install) install=0; shift ;;
    --all) all=1; test_files=''; shift ;;
    --filter) filter=${2:?--filter needs a value}; shift 2 ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check_arm: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
build_dir=${TOKVEC_ARM_BUILD_DIR:-build-arm64}
sysroot=/usr/aarch64-linux-gnu

# ---- packages ------------------------------------------------------------------------------
host_packages=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user cmake make pkg-config
               nlohmann-json3-dev libcxxopts-dev)
arm_packages=(libhwy-dev:arm64 libgtest-dev:arm64 libtbb-dev:arm64 libxxhash-dev:arm64 libutf8proc-dev:arm64)
missing=()
for p in "${host_packages[@]}" "${arm_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  ((install)) || { echo "check_arm: missing packages: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "check_arm: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  echo "check_arm: installing ${missing[*]}"
  # arm64 packages come from the same Debian mirrors once dpkg knows the architecture.
  dpkg --print-foreign-architectures | grep -qx arm64 || "${sudo_cmd[@]}" dpkg --add-architecture arm64
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- build ---------------------------------------------------------------------------------
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
fi
t0=$SECONDS
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DTOKVEC_MPI=OFF -DTOKVEC_PYTHON=OFF "-DTOKVEC_TEST_FILES=$test_files" "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "check_arm: cross build $((SECONDS - t0)) s"
aarch64-linux-gnu-readelf -h "$build_dir/tokvec" | grep -q "Machine: *AArch64" ||
  { echo "check_arm: $build_dir/tokvec is not an AArch64 program" >&2; exit 1; }

# ---- the program under the emulator --------------------------------------------------------
qemu=(qemu-aarch64 -L "$sysroot")
fail() { echo "check_arm: FAILED: $*" >&2; exit 1; }
version=$(env -u TOKVEC_SIMD "${qemu[@]}" "$build_dir/tokvec" --version) || fail "tokvec --version exited $?"
echo "$version" | sed 's/^/  /'
grep -q '^simd: neon (runnable: neon scalar; compiled: neon scalar)$' <<<"$version" ||
  fail "the automatic choice is not the neon path"
TOKVEC_SIMD=neon "${qemu[@]}" "$build_dir/tokvec" --version | grep -q '^simd: neon ' || fail "TOKVEC_SIMD=neon"
TOKVEC_SIMD=scalar "${qemu[@]}" "$build_dir/tokvec" --version | grep -q '^simd: scalar ' || fail "TOKVEC_SIMD=scalar"
status=0
out=$(TOKVEC_SIMD=avx2 "${qemu[@]}" "$build_dir/tokvec" --version 2>&1) || status=$?
[[ $status == 2 && $out == "tokvec --version: error: TOKVEC_SIMD=avx2: this build has no avx2 kernels"* ]] ||
  fail "TOKVEC_SIMD=avx2 gave exit $status: $out"

# ---- the tests under the emulator ----------------------------------------------------------
t0=$SECONDS
if ((all)); then
  (cd "$build_dir" && ctest --output-on-failure -j"$(nproc)")
else
  # The test binary through the emulator; the CLI tests reach tokvec through
  # $build_dir/tokvec-emulated (CMakeLists.txt), so they run it under qemu as well.
  env -u TOKVEC_SIMD "${qemu[@]}" "$build_dir/tokvec_tests" --gtest_filter="$filter" --gtest_brief=1
fi
echo "check_arm: tests under qemu-aarch64 $((SECONDS - t0)) s; passed"
