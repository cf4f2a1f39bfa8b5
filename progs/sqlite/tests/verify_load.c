// SPDX-License-Identifier: MIT
/*
 * verify-load OBJECT PROGRAM: load one program of OBJECT (the others not),
 * print the verifier's last lines (its processed-instruction count) and
 * exit 0 when the kernel accepted it, 1 when it refused it, 77 when this
 * host may not load BPF programs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	static char log[64 << 20];
	struct bpf_program *p;
	struct bpf_object *o;
	size_t n;
	int err;

	if (argc != 3)
		return 2;
	o = bpf_object__open(argv[1]);
	if (!o)
		return 1;
	bpf_object__for_each_program(p, o) {
		int me = !strcmp(bpf_program__name(p), argv[2]);

		bpf_program__set_autoload(p, me);
		if (me) {
			bpf_program__set_log_buf(p, log, sizeof(log));
			bpf_program__set_log_level(p, 1);
		}
	}
	err = bpf_object__load(o);
	n = strlen(log);
	fputs(n > 2000 ? log + n - 2000 : log, stdout);
	printf("%s: %s\n", argv[2], err ? strerror(-err) : "loaded");
	bpf_object__close(o);
	return err == -EPERM ? 77 : err ? 1 : 0;
}
