# Cross-compiling for 64-bit Windows with MinGW-w64 from Linux:
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
# (or `make windows` / `make check-windows`).  When Wine is installed, CTest
# runs the Windows programs through it (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(SMEM_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${SMEM_MINGW_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${SMEM_MINGW_PREFIX}-g++)
set(CMAKE_RC_COMPILER ${SMEM_MINGW_PREFIX}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${SMEM_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The GCC runtime (and winpthread, for the tests' threads) linked in
# statically, so that the programs run with no MinGW DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")

find_program(SMEM_WINE NAMES wine wine64)
if(SMEM_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SMEM_WINE})
endif()
