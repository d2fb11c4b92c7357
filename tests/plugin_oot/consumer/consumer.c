/*
 * Smallest libsemseg user: loads MODEL with default options and prints its
 * input and output names, or the library's one-line error. Built by the
 * out-of-tree test through pkg-config and through find_package(semseg).
 */
#include <stdio.h>

#include <semseg/semseg.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer MODEL\n");
        return 2;
    }
    semseg_session *s = NULL;
    semseg_error err = {0};
    if (semseg_session_load_file(argv[1], NULL, &s, &err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "consumer: %s (%s)\n", err.message, semseg_status_name(err.status));
        return 1;
    }
    semseg_tensor_desc d;
    for (int i = 0; i < semseg_session_input_count(s); i++)
        if (semseg_session_input_desc(s, i, &d) == SEMSEG_STATUS_OK) printf("input %s\n", d.name);
    for (int i = 0; i < semseg_session_output_count(s); i++)
        if (semseg_session_output_desc(s, i, &d) == SEMSEG_STATUS_OK) printf("output %s\n", d.name);
    semseg_session_free(s);
    return 0;
}
