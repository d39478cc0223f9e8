# Compiler flags for project code. Third-party headers are included as SYSTEM so that
# -Werror applies to exphone's own code only.
add_library(exphone_options INTERFACE)
target_compile_options(exphone_options INTERFACE -Wall -Wextra -Wpedantic -Werror)
target_include_directories(exphone_options INTERFACE ${PROJECT_SOURCE_DIR}/src)

if(EXPHONE_SANITIZE)
  set(EXPHONE_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${EXPHONE_SAN_FLAGS})
  add_link_options(${EXPHONE_SAN_FLAGS})
endif()

# Library target for one layer: exphone_layer(NAME SOURCES... DEPS ...)
function(exphone_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPS" ${ARGN})
  add_library(exphone_${name} STATIC ${L_SOURCES})
  target_link_libraries(exphone_${name} PUBLIC exphone_options ${L_DEPS})
endfunction()

if(EXPHONE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "EXPHONE_FUZZ needs clang (libFuzzer)")
  endif()
  # coverage instrumentation for everything; the fuzz targets add -fsanitize=fuzzer at link
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Release: every function and object in its own section, so that the linker drops what nothing
# calls (--gc-sections), and the binary's pages the daemon touches hold less dead code
# (docs/performance.md, footprint). --as-needed: no DT_NEEDED for a library nothing uses.
add_compile_options($<$<CONFIG:Release>:-ffunction-sections> $<$<CONFIG:Release>:-fdata-sections>)
add_link_options($<$<CONFIG:Release>:LINKER:--gc-sections> $<$<CONFIG:Release>:LINKER:-O1> $<$<CONFIG:Release>:LINKER:--as-needed>)
