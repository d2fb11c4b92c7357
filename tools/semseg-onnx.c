/*
 * semseg-onnx: the command-line front end of the library. main() only picks
 * the subcommand; each one parses its own options (cli_*.c) and returns the
 * process exit code: 0 ok, 1 validation outside tolerance, 2 usage or input
 * error. This is the only place in the project where exit codes are decided.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: semseg-onnx COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Runs ONNX semantic-segmentation models (FCN, DeepLab, PSPNet, ...) through\n"
    "backend plugins (ref, blas, opencl, or your own).\n"
    "\n"
    "commands:\n"
    "  run MODEL INPUT...        segment JPEG/PNG photos (or feed .pb/.npy tensors)\n"
    "  info MODEL                graph, shapes, plugin per node, parameters, memory\n"
    "  validate MODEL DIR...     compare with reference tensors (ONNX test-data layout)\n"
    "  bench MODEL               latency and peak memory; --profile for per-op times\n"
    "  plugins                   plugins on the search path, loaded or refused and why\n"
    "\n"
    "common options: --backend LIST (e.g. blas,ref), --threads N (default: all cores),\n"
    "                --plugin FILE.so (repeatable)\n"
    "'semseg-onnx COMMAND --help' describes a command; see also docs/cli.md.\n"
    "exit codes: 0 ok, 1 validation outside tolerance, 2 usage or input error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("semseg-onnx %s (plugin ABI %d.%d)\n", SEMSEG_VERSION, SEMSEG_PLUGIN_ABI_MAJOR,
               SEMSEG_PLUGIN_ABI_MINOR);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", cli_cmd_run},         {"info", cli_cmd_info},       {"validate", cli_cmd_validate},
        {"plugins", cli_cmd_plugins}, {"bench", cli_cmd_bench},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].fn(argc - 2, argv + 2);
    return cli_error("unknown command '%s'; commands are run, info, validate, bench, plugins "
                     "(see 'semseg-onnx --help')",
                     cmd);
}
