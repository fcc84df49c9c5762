# Cross-compiling for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu, against the
# arm64 packages of a multiarch system (dpkg --add-architecture arm64; libhwy-dev:arm64 ...).
# The programs run under qemu-user: CMake's emulator runs the test discovery, and the tests
# reach the CLI through a wrapper that runs it under the same emulator (CMakeLists.txt).
# tools/check_arm.sh installs the packages, configures with this file and runs the tests.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Multiarch: arm64 libraries and CMake packages live in /usr/lib/aarch64-linux-gnu, the
# architecture-independent headers (nlohmann-json, cxxopts) in /usr/include and /usr/share.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config (xxHash, utf8proc): the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
find_program(TOKVEC_QEMU_AARCH64 qemu-aarch64)
if(TOKVEC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TOKVEC_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
