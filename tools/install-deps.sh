#!/usr/bin/env bash
# Installs the Debian packages tokvec needs, skipping those already installed.
# usage: tools/install-deps.sh [--with-test-tools] [--with-fuzz] [--with-peers]
#   --with-test-tools  also python3-gensim and python3-numpy, which the tests use to check
#                      that exported files load in the tools users hand them to, Open
#                      MPI (openmpi-bin, libopenmpi-dev), so that CMake builds distributed
#                      training and CTest runs it under mpirun, and what the Python
#                      package's tests need: a venv to pip-install it into (python3-venv,
#                      python3-setuptools, python3-wheel), python3-pytest and python3-pandas.
#   --with-fuzz        also clang, its libFuzzer/sanitizer runtimes and its OpenMP, which
#                      tools/fuzz.sh builds the fuzz targets with.
#   --with-peers       also the tools the benchmarks compare with: fastText (the program and
#                      its Python module), sentencepiece's and gensim's Python modules.
# Always, besides the compiler and libraries: pybind11 and Python's headers (pybind11-dev,
# python3-pybind11, python3-dev), so that CMake builds the Python module.
set -euo pipefail

packages=(g++ cmake make pkg-config libtbb-dev libcxxopts-dev libgtest-dev libxxhash-dev
          libutf8proc-dev nlohmann-json3-dev libhwy-dev xz-utils python3-dev pybind11-dev python3-pybind11)
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) packages+=(python3 python3-numpy python3-gensim openmpi-bin libopenmpi-dev
                                  python3-venv python3-setuptools python3-wheel python3-pytest python3-pandas) ;;
    --with-fuzz) packages+=(clang libclang-rt-dev libomp-dev) ;;
    --with-peers) packages+=(fasttext python3-fasttext python3-sentencepiece python3-gensim) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} == 0 )); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
