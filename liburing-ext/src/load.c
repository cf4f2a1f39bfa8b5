/* SPDX-License-Identifier: MIT */
/*
 * Loading BPF_PROG_TYPE_IO_CHAIN programs with libbpf.  libbpf 1.1 does
 * not know the "io_chain" section, so the type is set on each such
 * program between open and load (bpf_program__set_type), which touches no
 * global libbpf state.  Nothing is printed here; libbpf prints its own
 * warnings (a verifier log, a file it cannot open) through the callback
 * the application chose with libbpf_set_print(), NULL for none.
 */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "liburing-ext.h"

#define CHAIN_SEC	"io_chain"

/* An io_chain program: by its section, or typed so by the application */
static int is_chain_prog(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	size_t n = strlen(CHAIN_SEC);

	if (bpf_program__type(prog) == (enum bpf_prog_type) BPF_PROG_TYPE_IO_CHAIN)
		return 1;
	return sec && !strncmp(sec, CHAIN_SEC, n) && (!sec[n] || sec[n] == '/');
}

/* libbpf's own error numbers (4000 and up) as errno values */
static int to_errno(int err)
{
	if (err > -__LIBBPF_ERRNO__START)
		return err;
	switch (-err) {
	case LIBBPF_ERRNO__LIBELF:
	case LIBBPF_ERRNO__FORMAT:
	case LIBBPF_ERRNO__KVERSION:
	case LIBBPF_ERRNO__ENDIAN:
	case LIBBPF_ERRNO__RELOC:
		return -ENOEXEC;
	case LIBBPF_ERRNO__VERIFY:
		return -EACCES;
	case LIBBPF_ERRNO__PROG2BIG:
		return -E2BIG;
	case LIBBPF_ERRNO__PROGTYPE:
		return -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
}

int io_uring_ext_bpf_chain_load(const char *obj_path, const char *prog_name,
				struct bpf_object **objp)
{
	struct bpf_program *prog, *want = NULL;
	struct bpf_object *obj;
	int err;

	if (!obj_path || !objp)
		return -EINVAL;
	*objp = NULL;
	errno = 0;
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		return errno ? to_errno(-errno) : -EINVAL;

	/* load the object's io_chain programs, and only those */
	bpf_object__for_each_program(prog, obj) {
		if (!is_chain_prog(prog)) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		bpf_program__set_type(prog, (enum bpf_prog_type) BPF_PROG_TYPE_IO_CHAIN);
		if (!want && (!prog_name || !strcmp(bpf_program__name(prog), prog_name)))
			want = prog;
	}
	if (!want) {
		/* no such program (-ENOENT), or not an io_chain one (-EINVAL) */
		err = prog_name && bpf_object__find_program_by_name(obj, prog_name) ?
		      -EINVAL : -ENOENT;
		goto fail;
	}
	err = bpf_object__load(obj);
	if (err)
		goto fail;
	*objp = obj;
	return bpf_program__fd(want);
fail:
	bpf_object__close(obj);
	return to_errno(err);
}

void io_uring_ext_bpf_chain_close(struct bpf_object *obj)
{
	bpf_object__close(obj);
}
