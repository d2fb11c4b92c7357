/* bad_inputs: a plugin built for the next ABI major version. The host must
 * refuse it with one line naming the file and both versions. */
#include "semseg/plugin.h"

static const semseg_plugin_i table = {
    .abi_major = SEMSEG_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .struct_size = sizeof(semseg_plugin_i),
    .name = "from_the_future",
    .version = "9.9",
    .description = "speaks another plugin ABI",
    /* the functions stay NULL: a host that checks the version never calls them */
};

SEMSEG_PLUGIN_EXPORT const semseg_plugin_i *semseg_plugin_entry(void)
{
    return &table;
}
