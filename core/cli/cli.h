/*
 * core/cli/cli.h — the `pictor` command-line tool's subcommands and the
 * component table `pictor check` dispatches on (until the plugin ABI's eval
 * entry exists, components are linked in directly, as ARCHITECTURE.md
 * allows for test drivers).
 */
#ifndef PICTOR_CLI_H
#define PICTOR_CLI_H

#include <stddef.h>

#include "pictor/check.h"

int pictor_cmd_check(int argc, char **argv);
int pictor_cmd_inspect(int argc, char **argv);
int pictor_cmd_generate(int argc, char **argv);
int pictor_cmd_bench(int argc, char **argv); /* cmd_bench.c */

/* ---- cli_args.c: option values ------------------------------------------ */
/* A decimal integer (optional leading '-', nothing else around it) in
 * [lo, hi] into *out; -1 otherwise. */
int pictor_cli_parse_long(const char *s, long lo, long hi, long *out);
/* "WxH", digits only, each side in [lo, hi]; on failure prints
 * "pictor CMD: --size V: ..." to stderr and returns -1. */
int pictor_cli_parse_size(const char *cmd, const char *v, int lo, int hi, int *w, int *h);

extern const struct pictor_check_component pictor_cli_components[];
extern const size_t pictor_cli_n_components;

#endif
