/* bad_inputs: a well-formed shared object that is not a semseg plugin (it
 * lacks the semseg_plugin_entry symbol). */
__attribute__((visibility("default"))) int not_a_plugin_answer(void)
{
    return 42;
}
