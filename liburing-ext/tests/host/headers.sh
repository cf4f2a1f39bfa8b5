#!/bin/bash
# Description: <liburing-ext.h> compiles cleanly (-Wall -Wextra -Werror;
# gcc, clang, g++) in every include order an application may use, with
# Debian's kernel headers and with the patched kernel's first on the
# include path (-isystem build/obj/usr/include), and a program built each
# way links against the library.  bpfchain_uapi.h alone is checked too.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
top=$(cd "$here/.." && pwd)
khdr=${KHDR:-$top/build/obj/usr/include}
lib=$top/build/liburing-ext
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0

# the body every translation unit ends with: the whole API
cat > "$tmp/body.h" <<'EOT'
static int use_api(struct io_uring *ring, struct io_uring_sqe *sqe, void *buf)
{
	struct io_uring_ext_bpf_chain_stats st;
	struct bpf_object *obj = NULL;
	unsigned hops;
	int fd = -1, res;
	char scratch[BPF_IO_CHAIN_SCRATCH_SIZE];

	io_uring_ext_prep_bpf_chain(sqe, 0, buf, 4096, 0, 0);
	io_uring_ext_sqe_set_scratch(sqe, scratch, sizeof(scratch));
	io_uring_ext_sqe_set_chain_flags(sqe, IORING_BPF_CHAIN_GENERIC);
	if (sqe->opcode != IORING_OP_BPF_CHAIN || BPF_PROG_TYPE_IO_CHAIN != 33 ||
	    IORING_REGISTER_BPF_CHAIN != 31 || sizeof(struct bpf_io_chain) != 48)
		return -1;
	return io_uring_ext_bpf_chain_supported(ring) +
	       io_uring_ext_register_bpf_chain(ring, &fd, 1, 0) +
	       io_uring_ext_register_bpf_chain_update(ring, 0, &fd, 1) +
	       io_uring_ext_unregister_bpf_chain(ring) +
	       io_uring_ext_bpf_chain_stats(ring, &st) +
	       io_uring_ext_bpf_chain_load("x.o", (const char *)0, &obj) +
	       io_uring_ext_bpf_chain_test_run(ring->ring_fd, buf, 4096, 0, fd, scratch,
					       sizeof(scratch), 0, &res, &hops);
}
int main(void)
{
	struct io_uring ring;
	struct io_uring_sqe sqe;
	static char buf[4096] __attribute__((aligned(4096)));

	if (io_uring_queue_init(2, &ring, 0))
		return 0;
	use_api(&ring, &sqe, buf);
	io_uring_ext_bpf_chain_close((struct bpf_object *)0);
	io_uring_queue_exit(&ring);
	return 0;
}
EOT

# name: includes before the body ('|' separates lines)
orders=(
	'ext-only|#include "liburing-ext.h"'
	'liburing-first|#include <liburing.h>|#include "liburing-ext.h"'
	'then-libbpf|#include "liburing-ext.h"|#include <bpf/libbpf.h>|#include <bpf/bpf.h>|#include <linux/bpf.h>|#include <linux/io_uring.h>'
	'libbpf-first|#include <bpf/libbpf.h>|#include "liburing-ext.h"'
	'uapi-first|#include "bpfchain_uapi.h"|#include "liburing-ext.h"|#include <bpf/libbpf.h>'
	'kernel-io_uring-first|#include <linux/io_uring.h>|#include "liburing-ext.h"'
)

check() {	# mode compiler order-name includes...
	local mode=$1 cc=$2 name=$3 incs=$4 ext=c flags=() src out
	shift 4
	[ "$cc" = g++ ] && ext=cc
	[ "$mode" = patched ] && flags=(-isystem "$khdr")
	src=$tmp/$mode-$cc-$name.$ext
	out=${src%.*}
	tr '|' '\n' <<< "$incs" > "$src"
	cat "$tmp/body.h" >> "$src"
	n=$((n + 1))
	if ! "$cc" -Wall -Wextra -Werror -D_GNU_SOURCE "${flags[@]}" -I"$here/include" -I"$top/include" \
		-o "$out" "$src" -L"$lib" -luring-ext -lbpf -luring 2> "$out.err"; then
		echo "FAIL: $mode headers, $cc, $name"
		head -20 "$out.err"
		fails=$((fails + 1))
	fi
}

modes=(debian)
if [ -f "$khdr/linux/io_uring.h" ] && grep -q IORING_OP_BPF_CHAIN "$khdr/linux/io_uring.h"; then
	modes+=(patched)
else
	echo "no patched uapi headers in $khdr (make kernel): checking Debian's only"
fi
for mode in "${modes[@]}"; do
	for cc in gcc clang g++; do
		command -v "$cc" > /dev/null || { echo "$cc: not installed, not checked"; continue; }
		for o in "${orders[@]}"; do
			name=${o%%|*}
			# Debian's 6.1 <linux/io_uring.h> first is legal too, but
			# only the patched one is of interest
			check "$mode" "$cc" "$name" "${o#*|}"
		done
	done
done

# which definitions won: the named fields with the patched headers first
for mode in "${modes[@]}"; do
	flags=()
	[ "$mode" = patched ] && flags=(-isystem "$khdr")
	printf '#include "liburing-ext.h"\n#ifdef BPFCHAIN_UAPI_SQE_UNNAMED\nunnamed\n#else\nnamed\n#endif\n' |
		gcc -E -P "${flags[@]}" -I"$here/include" -I"$top/include" -x c - 2>/dev/null | grep -x 'named\|unnamed' > "$tmp/which"
	want=unnamed; [ "$mode" = patched ] && want=named
	n=$((n + 1))
	[ "$(cat "$tmp/which")" = "$want" ] ||
		{ echo "FAIL: $mode headers: SQE fields $(cat "$tmp/which"), want $want"; fails=$((fails + 1)); }
done

# bpfchain_uapi.h alone, and before the patched <linux/bpf.h>
for mode in "${modes[@]}"; do
	flags=()
	[ "$mode" = patched ] && flags=(-isystem "$khdr")
	printf '#include "bpfchain_uapi.h"\n#include <linux/bpf.h>\nint x = BPF_PROG_TYPE_IO_CHAIN + IORING_OP_BPF_CHAIN;\n' > "$tmp/uapi.c"
	n=$((n + 1))
	gcc -Wall -Wextra -Werror "${flags[@]}" -I"$here/include" -I"$top/include" -c -o "$tmp/uapi.o" "$tmp/uapi.c" ||
		{ echo "FAIL: $mode headers: bpfchain_uapi.h alone"; fails=$((fails + 1)); }
done

echo "$n compiles, $fails failed"
[ "$fails" = 0 ]
