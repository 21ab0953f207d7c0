#!/bin/sh
# make install, then programs that find the library as users do: through
# pkg-config (shared, shared with the README's rpath flags, static) and
# through CMake's find_package(wsproto CONFIG) (wsproto::wsproto and
# wsproto::wsproto_static), each built and run. Then the CMake version
# file's answers, the soname, the exported symbols, that uninstall leaves
# nothing behind and that a DESTDIR stage holds the final paths.
#
#   sh tests/install_test.sh           into a temporary prefix (make check)
#   sh tests/install_test.sh --system  into the default PREFIX, as root: also
#       proves that make install refreshes the dynamic linker's cache, so
#       programs run with no path set at all; then uninstalls. It changes
#       the system, so only scripts/bare-debian-check.sh runs it.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
said() { cat "$tmp/$1"; }    # what a step wrote to $tmp/NAME
# Quiet even under make check, whose recursive make would add "Entering
# directory" lines to what make install says.
mk() { make -s --no-print-directory "$@"; }

system=0
[ "${1:-}" = --system ] && system=1

# The version as the header's macros define it.
header_number() {
    sed -n "s/^#define WS_VERSION_$1 \([0-9]*\)\$/\1/p" include/wsproto.h
}
major=$(header_number MAJOR)
minor=$(header_number MINOR)
hdrver=$major.$minor.$(header_number PATCH)
soname=libwsproto.so.$major

if [ $system -eq 1 ]; then
    [ "$(id -u)" -eq 0 ] ||
        fail "--system installs into /usr/local: run it as root"
    prefix=/usr/local
    libdir="$prefix/lib"
    [ ! -e "$prefix/include/wsproto.h" ] && [ ! -e "$prefix/lib/$soname" ] ||
        fail "--system: a libwsproto is installed in $prefix; not touching it"
    mk install > "$tmp/install.out"
    grep -qx ldconfig "$tmp/install.out" ||
        fail "make install did not run ldconfig: $(said install.out)"
    ldconfig -p | grep -q "$soname .*=> $prefix/lib/$soname\$" ||
        fail "after make install, ld.so.cache has no $prefix/lib/$soname"
    unset PKG_CONFIG_PATH LD_LIBRARY_PATH CMAKE_PREFIX_PATH
else
    prefix="$tmp/prefix"
    libdir="$prefix/lib"
    mk install PREFIX="$prefix" > "$tmp/install.out"
    if grep -qx ldconfig "$tmp/install.out"; then
        fail "make install into $prefix ran ldconfig"
    fi
    hint="does not search $libdir: link programs with -Wl,-rpath,$libdir"
    grep -q "$hint" "$tmp/install.out" ||
        fail "make install says nothing about rpath: $(said install.out)"
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    unset LD_LIBRARY_PATH
fi

pcver=$(pkg-config --modversion wsproto)
[ "$pcver" = "$hdrver" ] || fail "wsproto.pc says $pcver, header says $hdrver"
[ "$(pkg-config --variable=libdir wsproto)" = "$libdir" ] ||
    fail "wsproto.pc's libdir is not $libdir"

cat > "$tmp/consumer.c" <<'C'
#include <wsproto.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    /* RFC 6455 §5.7: a masked "Hello" from a client */
    unsigned char in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                          0x7f, 0x9f, 0x4d, 0x51, 0x58};
    char accept[WS_ACCEPT_LEN + 1];
    ws_options_t opts = {.flags = WS_OPT_REASSEMBLE};
    ws_conn_t c;
    ws_event_t ev;
    if (ws_conn_init(&c, WS_ROLE_SERVER, &opts) != 0 ||
        ws_conn_feed(&c, in, sizeof in) != 0 ||
        ws_conn_next_event(&c, &ev) != WS_EV_MESSAGE ||
        ev.len != 5 || memcmp(ev.data, "Hello", 5) != 0)
        return 1;
    ws_handshake_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
    if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0)
        return 2;
    if (strcmp(ws_version(), WS_VERSION_STRING) != 0)
        return 3;
    printf("consumer ok %s\n", ws_version());
    ws_conn_destroy(&c);
    return 0;
}
C

# A program that must load libwsproto.so.N from $libdir and run.
loads_installed() { # loads_installed PROGRAM [VAR=VALUE...]
    prog=$1; shift
    env "$@" ldd "$prog" > "$tmp/ldd.out"
    grep -q "$soname => $libdir/$soname " "$tmp/ldd.out" ||
        fail "$prog loads no $libdir/$soname: $(grep wsproto "$tmp/ldd.out")"
    env "$@" "$prog" > "$tmp/run.out" || fail "$prog failed (exit $?)"
    grep -qx "consumer ok $hdrver" "$tmp/run.out" ||
        fail "$prog printed $(said run.out)"
}
# A program with libwsproto linked in, needing no libwsproto.so at run time.
has_static_copy() { # has_static_copy PROGRAM
    if readelf -d "$1" | grep -q "NEEDED.*libwsproto"; then
        fail "$1 needs the shared libwsproto"
    fi
    "$1" > "$tmp/run.out" || fail "$1 failed (exit $?)"
    grep -qx "consumer ok $hdrver" "$tmp/run.out" ||
        fail "$1 printed $(said run.out)"
}

# ------------------------------------------------------------ pkg-config
cc -std=c11 -Wall -Werror $(pkg-config --cflags wsproto) "$tmp/consumer.c" \
    $(pkg-config --libs wsproto) -o "$tmp/pc-shared"
if [ $system -eq 1 ]; then
    # Installed where the dynamic linker looks: no path needed at all.
    loads_installed "$tmp/pc-shared"
else
    loads_installed "$tmp/pc-shared" LD_LIBRARY_PATH="$libdir"
    # Without either, the failure issue 16 reported (unless some other
    # libwsproto is installed system-wide, which would then be loaded).
    if ! ldconfig -p 2>/dev/null | grep -q "$soname "; then
        if "$tmp/pc-shared" > "$tmp/run.out" 2>&1; then
            fail "pc-shared ran without LD_LIBRARY_PATH or rpath"
        fi
        grep -q "$soname: cannot open shared object file" "$tmp/run.out" ||
            fail "pc-shared without a path: $(said run.out)"
    fi
    # The README's rpath flags: runs with no LD_LIBRARY_PATH.
    cc -std=c11 -Wall -Werror $(pkg-config --cflags wsproto) "$tmp/consumer.c" \
        $(pkg-config --libs wsproto) \
        -Wl,-rpath,"$(pkg-config --variable=libdir wsproto)" -o "$tmp/pc-rpath"
    loads_installed "$tmp/pc-rpath"
fi

# Fully static: --static flags, no shared library at all at run time.
cc -std=c11 -Wall -Werror -static $(pkg-config --cflags wsproto) \
    "$tmp/consumer.c" $(pkg-config --static --libs wsproto) -o "$tmp/pc-static"
if ldd "$tmp/pc-static" >/dev/null 2>&1; then fail "pc-static is dynamic"; fi
has_static_copy "$tmp/pc-static"

# ----------------------------------------------------------------- CMake
# Found through CMAKE_PREFIX_PATH, or in --system mode with no hint at all.
cmake_prefix=""
[ $system -eq 1 ] || cmake_prefix="-DCMAKE_PREFIX_PATH=$prefix"

mkdir "$tmp/cmake-consumer"
cp "$tmp/consumer.c" "$tmp/cmake-consumer/"
cat > "$tmp/cmake-consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(wsproto_consumer C)
find_package(wsproto $hdrver CONFIG REQUIRED)
add_executable(cmake-shared consumer.c)
target_link_libraries(cmake-shared PRIVATE wsproto::wsproto)
add_executable(cmake-static consumer.c)
target_link_libraries(cmake-static PRIVATE wsproto::wsproto_static)
file(WRITE "\${CMAKE_BINARY_DIR}/found" "\${wsproto_VERSION} \${wsproto_DIR}")
CMAKE
cmake -S "$tmp/cmake-consumer" -B "$tmp/cmake-build" $cmake_prefix \
    > "$tmp/cmake.log" 2>&1 || fail "cmake configure: $(said cmake.log)"
cmake --build "$tmp/cmake-build" > "$tmp/cmake.log" 2>&1 ||
    fail "cmake build: $(said cmake.log)"
found=$(said cmake-build/found)
[ "$found" = "$hdrver $libdir/cmake/wsproto" ] ||
    fail "CMake found '$found', wanted '$hdrver $libdir/cmake/wsproto'"
# CMake's build RPATH points at the prefix: no LD_LIBRARY_PATH needed.
loads_installed "$tmp/cmake-build/cmake-shared"
has_static_copy "$tmp/cmake-build/cmake-static"

# What the version file accepts. A project without a language runs no
# compiler checks, and lets the test pose as a 4-byte-pointer consumer.
mkdir "$tmp/cmake-version"
cat > "$tmp/cmake-version/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.19)
project(wsproto_version NONE)
separate_arguments(want UNIX_COMMAND "${WANT}")
find_package(wsproto ${want} CONFIG QUIET)
message(STATUS "wsproto: found=${wsproto_FOUND}")
CMAKE
version_check() { # version_check yes|no "REQUEST" [cmake args...]
    expect=$1 request=$2; shift 2
    rm -rf "$tmp/cmake-vbuild"
    cmake -S "$tmp/cmake-version" -B "$tmp/cmake-vbuild" $cmake_prefix \
        -DWANT="$request" "$@" > "$tmp/cmake.log" 2>&1 ||
        fail "cmake version check '$request': $(said cmake.log)"
    got=no
    grep -q "wsproto: found=1" "$tmp/cmake.log" && got=yes
    [ "$got" = "$expect" ] ||
        fail "find_package(wsproto $request) $* found=$got, wanted $expect" \
             "(installed $hdrver)"
}
version_check yes "$hdrver EXACT"
version_check yes "$major.$minor"
version_check no "$major.$((minor + 1))"
version_check no "$((major + 1))"
version_check yes "$major.$minor...$((major + 1))"
version_check no "$((major + 1))...$((major + 2))"
if [ "$major" -eq 0 ] && [ "$minor" -gt 0 ]; then
    version_check no "0.$((minor - 1))"   # before 1.0 a minor release breaks
fi
version_check no "$hdrver" -DCMAKE_SIZEOF_VOID_P=4

# -------------------------------------------------- soname, symbols
so=$(readelf -d "$libdir/libwsproto.so.$hdrver" |
     sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$so" = "$soname" ] || fail "soname is '$so'"
[ -L "$libdir/libwsproto.so" ] && [ -L "$libdir/$soname" ] ||
    fail "missing symlinks"

# Exactly the functions the header declares are exported.
nm -D --defined-only "$libdir/libwsproto.so" |
    awk '$2 == "T" {print $3}' | sort > "$tmp/exported"
sed -n 's/^WS_API [^(]*[ *]\(ws_[a-z0-9_]*\)(.*/\1/p' include/wsproto.h |
    sort > "$tmp/declared"
diff "$tmp/declared" "$tmp/exported" > "$tmp/symdiff" ||
    fail "exports differ from the header" \
         "(< declared only, > exported only): $(said symdiff)"

# ------------------------------------------------------------- uninstall
installed="$prefix/include/wsproto.h $libdir/libwsproto.a $libdir/libwsproto.so
$libdir/$soname $libdir/libwsproto.so.$hdrver $libdir/pkgconfig/wsproto.pc
$libdir/cmake/wsproto"
if [ $system -eq 1 ]; then
    mk uninstall > "$tmp/uninstall.out"
    grep -qx ldconfig "$tmp/uninstall.out" ||
        fail "make uninstall did not run ldconfig"
    if ldconfig -p | grep -q "$soname "; then
        fail "after make uninstall the dynamic linker's cache still has $soname"
    fi
    for f in $installed; do
        [ ! -e "$f" ] && [ ! -L "$f" ] || fail "uninstall left $f"
    done
else
    mk uninstall PREFIX="$prefix" >/dev/null
    left=$(find "$prefix" -type f -o -type l)
    [ -z "$left" ] || fail "uninstall left: $left"
    [ ! -d "$libdir/cmake/wsproto" ] ||
        fail "uninstall left $libdir/cmake/wsproto"
fi

# DESTDIR staging installs under the stage, with the final paths in the
# .pc and CMake files, and leaves this machine's linker cache alone.
mk install PREFIX=/usr/local DESTDIR="$tmp/stage" > "$tmp/stage.out"
if grep -q 'ldconfig\|dynamic linker' "$tmp/stage.out"; then
    fail "DESTDIR install touched or judged this machine: $(said stage.out)"
fi
stage="$tmp/stage/usr/local"
grep -q '^prefix=/usr/local$' "$stage/lib/pkgconfig/wsproto.pc" ||
    fail "DESTDIR install wrote the wrong prefix in wsproto.pc"
grep -q '^set(_wsproto_libdir "/usr/local/lib")$' \
    "$stage/lib/cmake/wsproto/wsprotoConfig.cmake" ||
    fail "DESTDIR install wrote the wrong libdir in wsprotoConfig.cmake"
for f in include/wsproto.h lib/libwsproto.a lib/$soname \
         lib/cmake/wsproto/wsprotoConfigVersion.cmake; do
    [ -e "$stage/$f" ] || fail "DESTDIR install has no $f"
done

where="into $prefix: pkg-config consumers (shared, rpath, static)"
[ $system -eq 1 ] &&
    where="into $prefix, ldconfig run on install and uninstall:" &&
    where="$where pkg-config consumers (shared with no path set, static)"
echo "install-test: $where" \
     "and CMake consumers (wsproto::wsproto, wsproto::wsproto_static) ok," \
     "CMake version $hdrver, $(wc -l < "$tmp/exported") symbols exported," \
     "soname $soname"
