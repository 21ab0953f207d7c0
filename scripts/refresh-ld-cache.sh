#!/bin/sh
# After `make install` or `make uninstall` into this machine (the Makefile
# never calls this with DESTDIR: a staged tree is not this machine's).
#
#   scripts/refresh-ld-cache.sh install|uninstall LIBDIR
#
# ld.so(8) finds a library in /usr/local/lib and the other directories of
# /etc/ld.so.conf only through /etc/ld.so.cache: until ldconfig rebuilds
# it, a program linked to a newly installed libwsproto.so fails with
# "libwsproto.so.0: cannot open shared object file". So, when LIBDIR is a
# directory the dynamic linker searches, run ldconfig as root (or say to,
# as a user). When it is not, no cache helps: say how programs find the
# library there (rpath at link time, LD_LIBRARY_PATH at run time).
set -eu
action=$1
libdir=$2
PATH=$PATH:/usr/sbin:/sbin

# The directories ldconfig caches, and the two ld.so always searches,
# compared after resolving symlinks (/lib is /usr/lib on merged-/usr).
searched() {
    want=$(realpath -m "$1")
    { ldconfig -v -N -X 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p'
      echo /lib; echo /usr/lib; } |
    { while read -r dir; do
          [ "$(realpath -m "$dir")" != "$want" ] || exit 0
      done
      exit 1; }
}

if searched "$libdir"; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "ldconfig"
        ldconfig
    else
        echo "make $action: not root, so the dynamic linker's cache was not" \
             "refreshed: run ldconfig as root"
    fi
elif [ "$action" = install ]; then
    echo "make install: the dynamic linker does not search $libdir:" \
         "link programs with -Wl,-rpath,$libdir or run them with" \
         "LD_LIBRARY_PATH=$libdir (README: Install, pkg-config and CMake)"
fi
