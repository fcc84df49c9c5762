"""Builds tokvec's Python module (tokvec._tokvec) with the project's CMake build.

pip calls this through pyproject.toml. The C++ module is the CMake target _tokvec
(src/python/*.cpp linked with the library); this script configures a build folder,
builds that one target and puts the result into the package. Nothing is downloaded.

Environment:
  TOKVEC_PY_BUILD_DIR   the CMake build folder (default build-python/cmake). An already
                        configured folder (e.g. build/, made by tools/build.sh) is only built
                        again, not reconfigured, so its up-to-date module is reused.
  TOKVEC_CMAKE_ARGS     extra configure arguments, e.g. "-DTOKVEC_NATIVE=ON".
  CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default: all cores).
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(os.environ.get("TOKVEC_PY_BUILD_DIR", ROOT / "build-python" / "cmake")).resolve()
        env = dict(os.environ)
        if not (build_dir / "CMakeCache.txt").exists():
            args = [
                "cmake", "-S", str(ROOT), "-B", str(build_dir),
                "-DCMAKE_BUILD_TYPE=Release",
                "-DTOKVEC_PYTHON=ON",
                "-DTOKVEC_BUILD_TESTS=OFF",
                f"-DPython3_EXECUTABLE={sys.executable}",
            ]
            if shutil.which("ccache"):
                # As tools/build.sh: checkouts side by side share cache entries.
                args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
                env.setdefault("CCACHE_BASEDIR", str(ROOT.parent))
            args += shlex.split(os.environ.get("TOKVEC_CMAKE_ARGS", ""))
            subprocess.run(args, check=True, env=env)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_tokvec", "-j", jobs], check=True, env=env)
        built = sorted((build_dir / "python" / "tokvec").glob("_tokvec*.so"))
        if not built:
            raise RuntimeError(f"the CMake build in {build_dir} made no _tokvec module (is TOKVEC_PYTHON on there?)")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], target)


# setuptools' own files go beside the CMake folder, not into build/ or the sources.
(ROOT / "build-python").mkdir(exist_ok=True)

setup(
    packages=["tokvec"],
    package_dir={"": "src/python"},
    package_data={"tokvec": ["py.typed", "*.pyi"]},
    ext_modules=[CMakeExtension("tokvec._tokvec")],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-python/setuptools"}, "egg_info": {"egg_base": "build-python"}},
    zip_safe=False,
)
