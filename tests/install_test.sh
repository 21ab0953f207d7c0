#!/bin/sh
# Install into a temporary prefix, then build and run a consumer that finds
# the library only through pkg-config: linked against the shared library,
# and fully static. Then check the soname, the exported symbols and that
# uninstall leaves nothing behind.
set -eu
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }

make -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

pcver=$(pkg-config --modversion wsproto)
hdrver=$(sed -n 's/^#define WS_VERSION_STRING "\(.*\)"/\1/p' include/wsproto.h)
[ "$pcver" = "$hdrver" ] || fail "wsproto.pc says $pcver, header says $hdrver"

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

# Shared: must really load libwsproto.so.0 from the prefix.
cc -std=c11 -Wall -Werror $(pkg-config --cflags wsproto) "$tmp/consumer.c" \
    $(pkg-config --libs wsproto) -o "$tmp/consumer-shared"
LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/consumer-shared" | grep -q "libwsproto.so.0 => $prefix/lib/" ||
    fail "shared consumer does not load the installed libwsproto.so.0"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/consumer-shared" || fail "shared consumer failed"

# Static: --static flags, no shared libwsproto needed at run time.
cc -std=c11 -Wall -Werror -static $(pkg-config --cflags wsproto) "$tmp/consumer.c" \
    $(pkg-config --static --libs wsproto) -o "$tmp/consumer-static"
if ldd "$tmp/consumer-static" >/dev/null 2>&1; then fail "static consumer is dynamic"; fi
"$tmp/consumer-static" || fail "static consumer failed"

# soname and symlinks
soname=$(readelf -d "$prefix/lib/libwsproto.so.$hdrver" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libwsproto.so.${hdrver%%.*}" ] || fail "soname is '$soname'"
[ -L "$prefix/lib/libwsproto.so" ] && [ -L "$prefix/lib/$soname" ] || fail "missing symlinks"

# Exactly the functions the header declares are exported.
nm -D --defined-only "$prefix/lib/libwsproto.so" | awk '$2 == "T" {print $3}' | sort > "$tmp/exported"
sed -n 's/^WS_API [^(]*[ *]\(ws_[a-z0-9_]*\)(.*/\1/p' include/wsproto.h | sort > "$tmp/declared"
diff "$tmp/declared" "$tmp/exported" > "$tmp/symdiff" ||
    fail "exports differ from the header (< declared only, > exported only): $(cat "$tmp/symdiff")"

make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || fail "uninstall left: $left"

# DESTDIR staging installs under the stage, with the final prefix in the .pc.
make -s install PREFIX=/usr/local DESTDIR="$tmp/stage" >/dev/null
grep -q '^prefix=/usr/local$' "$tmp/stage/usr/local/lib/pkgconfig/wsproto.pc" ||
    fail "DESTDIR install wrote the wrong prefix"
[ -f "$tmp/stage/usr/local/include/wsproto.h" ] || fail "DESTDIR install incomplete"

echo "install-test: shared and static consumers ok, $(wc -l < "$tmp/exported") symbols exported, soname $soname"
