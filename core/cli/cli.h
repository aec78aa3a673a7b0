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

extern const struct pictor_check_component pictor_cli_components[];
extern const size_t pictor_cli_n_components;

#endif
