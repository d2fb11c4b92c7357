/* A plugin built for a different ABI major version: the host must refuse it
 * with one line naming the file and both versions, and carry on without it. */
#include "semseg/plugin.h"

static const semseg_plugin_i table = {
    /* .abi_major   = */ SEMSEG_PLUGIN_ABI_MAJOR + 1,
    /* .abi_minor   = */ 0,
    /* .struct_size = */ sizeof(semseg_plugin_i),
    /* .name        = */ "future",
    /* .version     = */ "9.9",
    /* .description = */ "claims every node but speaks another ABI",
    /* .init        = */ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

SEMSEG_PLUGIN_EXPORT const semseg_plugin_i *semseg_plugin_entry(void)
{
    return &table;
}
