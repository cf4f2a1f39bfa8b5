#!/bin/bash
# Description: make install into a temporary prefix (and with DESTDIR):
# every file lands where it should, pkg-config finds the library, a
# program builds from the pkg-config flags alone and runs against the
# shared and the static library, the shared library exports exactly the
# API under LIBURING_EXT_0.1 with soname liburing-ext.so.0, and man finds
# the installed pages.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

api=(io_uring_ext_register_bpf_chain io_uring_ext_register_bpf_chain_update
	io_uring_ext_unregister_bpf_chain io_uring_ext_bpf_chain_supported
	io_uring_ext_bpf_chain_stats io_uring_ext_bpf_chain_load io_uring_ext_bpf_chain_close
	io_uring_ext_bpf_chain_test_run)
inline=(io_uring_ext_prep_bpf_chain io_uring_ext_sqe_set_scratch io_uring_ext_sqe_set_chain_flags)

# 1. DESTDIR staging with PREFIX=/usr
make -s -C "$here" install PREFIX=/usr DESTDIR="$tmp/stage" > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; fail "make install DESTDIR"; }
for f in usr/include/liburing-ext.h usr/include/bpfchain_uapi.h usr/lib/liburing-ext.a \
	usr/lib/liburing-ext.so.0.1 usr/lib/liburing-ext.so.0 usr/lib/liburing-ext.so \
	usr/lib/pkgconfig/liburing-ext.pc usr/share/man/man7/liburing-ext.7; do
	[ -e "$tmp/stage/$f" ] || fail "DESTDIR install lacks $f"
done
for f in "${api[@]}" "${inline[@]}"; do
	[ -e "$tmp/stage/usr/share/man/man3/$f.3" ] || fail "DESTDIR install lacks man3/$f.3"
done
grep -qx 'prefix=/usr' "$tmp/stage/usr/lib/pkgconfig/liburing-ext.pc" ||
	fail "the staged .pc does not say prefix=/usr"

# 2. a plain prefix
prefix=$tmp/prefix
make -s -C "$here" install PREFIX="$prefix" > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; fail "make install PREFIX"; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion liburing-ext)" = 0.1 ] || fail "pkg-config --modversion"
cflags=$(pkg-config --cflags liburing-ext) libs=$(pkg-config --libs liburing-ext)
slibs=$(pkg-config --static --libs liburing-ext)
echo "pkg-config: cflags '$cflags' libs '$libs' static '$slibs'"
[[ $cflags == *"-I$prefix/include"* ]] || fail "cflags lack -I$prefix/include"
[[ $libs == *"-L$prefix/lib"*"-luring-ext"* && $libs == *-luring* ]] || fail "libs: $libs"
[[ $slibs == *-lbpf* ]] || fail "static libs lack -lbpf: $slibs"

cat > "$tmp/app.c" <<'EOT'
#include <stdio.h>
#include <liburing-ext.h>

int main(void)
{
	struct io_uring_ext_bpf_chain_stats st;
	struct bpf_object *obj;
	struct io_uring ring;
	int ret;

	if (io_uring_queue_init(2, &ring, 0))
		return 0;
	ret = io_uring_ext_bpf_chain_supported(&ring);
	printf("supported=%d stats=%d load=%d\n", ret,
	       io_uring_ext_bpf_chain_stats(&ring, &st),
	       io_uring_ext_bpf_chain_load("/nonexistent", NULL, &obj));
	io_uring_queue_exit(&ring);
	return ret < 0;
}
EOT
# shellcheck disable=SC2086
if gcc -Wall -Werror -o "$tmp/app" "$tmp/app.c" $cflags $libs; then
	LD_LIBRARY_PATH=$prefix/lib ldd "$tmp/app" | grep -q "liburing-ext.so.0 => $prefix/lib/" ||
		fail "the program does not resolve liburing-ext.so.0 in the prefix"
	LD_LIBRARY_PATH=$prefix/lib "$tmp/app" || fail "the shared build did not run"
else
	fail "building against the installed shared library"
fi
# shellcheck disable=SC2086
if gcc -Wall -Werror -o "$tmp/app-static" "$tmp/app.c" $cflags \
	-L"$prefix/lib" -Wl,-Bstatic -luring-ext -Wl,-Bdynamic ${slibs//-luring-ext/}; then
	ldd "$tmp/app-static" | grep -q liburing-ext && fail "the static build needs liburing-ext.so"
	"$tmp/app-static" || fail "the static build did not run"
else
	fail "building against the installed static library"
fi

# 3. the shared library's ABI
so=$prefix/lib/liburing-ext.so.0.1
readelf -d "$so" | grep -q 'SONAME.*\[liburing-ext.so.0\]' || fail "soname"
objdump -T "$so" | grep -v 'UND' | awk '/ DF / { print $(NF-1), $NF }' | sort > "$tmp/exported"
printf 'LIBURING_EXT_0.1 %s\n' "${api[@]}" | sort > "$tmp/want"
diff "$tmp/want" "$tmp/exported" > "$tmp/diff" || { fail "exported symbols differ:"; cat "$tmp/diff"; }
nm -D --defined-only "$so" | grep -v ' A ' | awk '{print $3}' | grep -v '^io_uring_ext_' &&
	fail "symbols outside the API are exported"

# 4. man finds the installed pages
for p in io_uring_ext_bpf_chain_load liburing-ext; do
	MANWIDTH=80 man -M "$prefix/share/man" "$p" 2>/dev/null | grep -q "$p" ||
		fail "man -M prefix $p"
done

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: ${#api[@]} exported functions, ${#inline[@]} inline helpers, headers, libraries, .pc and man pages installed"
