# Optional systemd integration: sd_notify(3) readiness (src/apps/exphone/sd_notify.cpp) and a
# Type=notify unit (packaging/). Found with pkg-config; without libsystemd the binary builds
# the same and the unit is Type=exec.
option(EXPHONE_SYSTEMD "Use libsystemd for sd_notify readiness when it is found" ON)
set(EXPHONE_HAVE_SYSTEMD OFF)
if(EXPHONE_SYSTEMD)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(LIBSYSTEMD IMPORTED_TARGET libsystemd)
    if(LIBSYSTEMD_FOUND)
      set(EXPHONE_HAVE_SYSTEMD ON)
    endif()
  endif()
endif()
# cached (internal) so that tests/packaging can tell what a tree was built with
set(EXPHONE_HAVE_SYSTEMD ${EXPHONE_HAVE_SYSTEMD} CACHE INTERNAL "sd_notify via libsystemd")
message(STATUS "exphone: sd_notify via libsystemd: ${EXPHONE_HAVE_SYSTEMD}")
