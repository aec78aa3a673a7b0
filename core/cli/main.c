/* core/cli/main.c — `pictor`: the command-line tool (check, and later
 * generate, inspect, bench). Each subcommand lives in its own cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: pictor COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  check CASE_DIR [--device cpu|cuda] [--precision fp32|bf16|fp16|fp8]\n"
          "        run one fixture case and print one JSON line; exit 0 iff it passes\n"
          "  generate --model DIR|FILE|ORG/NAME --prompt TEXT -o OUT.png [--size WxH]\n"
          "        [--steps N] [--guidance G] [--scheduler NAME] [--seed N]\n"
          "        [--negative-prompt TEXT] [--precision P] [--device cpu|cuda[:N]]\n"
          "        [--state-dir DIR]\n"
          "        generate one image\n"
          "  inspect MODEL_DIR|FILE|ORG/NAME\n"
          "        show the family, variant, licence and components pictor finds\n"
          "  bench --model ID|DIR [--random-weights] [--size WxH] [--steps N]\n"
          "        [--precision fp32|bf16|fp16|fp8|auto] [--device cpu|cuda[:N]] [--runs K]\n"
          "        [--keep-random] [--write-weights] [--state-dir DIR] [--profile]\n"
          "        time loading and each stage of an image; print one JSON object\n"
          "  --state-dir DIR: keep the GPU's cuBLASLt algorithm choices in DIR, so the\n"
          "        next run does not search again (as pictord's state_dir)\n"
          "  help  this text\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "check") == 0)
        return pictor_cmd_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "generate") == 0)
        return pictor_cmd_generate(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0)
        return pictor_cmd_inspect(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0)
        return pictor_cmd_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "pictor: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
