#!/bin/bash
# Install, only when missing, every Debian package bpfchain needs, and the
# source of the installed fio (the external ioengine builds against it).
# Idempotent and quiet when everything is already there.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BPFCHAIN_BUILD:-$top/build}

pkgs=(
	# kernel build
	build-essential flex bison bc libelf-dev libssl-dev dwarves cpio kmod
	rsync xz-utils git perl python3-ply python3-git linux-source-6.12
	# make test-distro: Debian's own kernel configurations
	linux-config-6.12
	# VM rig
	qemu-system-x86 e2fsprogs xfsprogs fdisk
	# user space: io_uring, BPF, fio, plots
	liburing-dev libbpf-dev pkg-config clang libclang-rt-dev llvm bpftool fio jq gnuplot-nox man-db
	# SQLite: the schema and the shared lock (sqlite/), the reference answers in tests
	sqlite3 libsqlite3-dev
	# apt-get source fio
	dpkg-dev
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# fio source of exactly the installed version, configured so that
# config-host.h exists (fio-engine/ builds against it).
fiover=$(dpkg-query -W -f='${Version}' fio)
fiosrc=$build/fio-src
if [ "$(cat "$fiosrc/.version" 2>/dev/null)" != "$fiover" ]; then
	srclist=/etc/apt/sources.list.d/bpfchain-deb-src.sources
	if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list; then
		cat > "$srclist" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update -qq
	fi
	echo "deps: fetching the source of fio $fiover"
	rm -rf "$fiosrc" && mkdir -p "$fiosrc"
	(cd "$fiosrc" && apt-get source -qq "fio=$fiover" >/dev/null 2>&1)
	dir=$(find "$fiosrc" -mindepth 1 -maxdepth 1 -type d -name 'fio-*' | head -1)
	[ -n "$dir" ] || { echo "deps: apt-get source fio failed" >&2; exit 1; }
	mv "$dir" "$fiosrc/fio"
	(cd "$fiosrc/fio" && ./configure --disable-native --prefix=/usr >/dev/null)
	echo "$fiover" > "$fiosrc/.version"
fi
