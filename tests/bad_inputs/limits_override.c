/*
 * semseg_options_set_limits: the caps a file meets can be lowered (and the
 * defaults hold without it). The model (bad_inputs.py writes it) has a
 * 1000-element initializer 'w' and a ConstantOfShape that makes a 600x40
 * tensor 'big' at load:
 *   defaults                 loads
 *   1000 elements            the importer takes 'w', inference refuses 'big'
 *   999 elements             the importer refuses 'w'
 *   100 bytes of model       the file itself is refused
 *   0, 0                     the defaults again: loads
 */
#include <stdio.h>
#include <string.h>

#include "semseg/semseg.h"

static int failures;

static void expect(const char *model, int64_t max_elements, size_t max_bytes, const char *want)
{
    semseg_options *o = semseg_options_new();
    if (!o) {
        failures++;
        return;
    }
    semseg_options_set_backends(o, "ref", NULL);
    semseg_options_set_threads(o, 1, NULL);
    semseg_options_set_limits(o, max_elements, max_bytes);
    semseg_session *s = NULL;
    semseg_error err = { 0 };
    semseg_status st = semseg_session_load_file(model, o, &s, &err);
    int ok = want ? (st != SEMSEG_STATUS_OK && strstr(err.message, want) != NULL) : st == SEMSEG_STATUS_OK;
    printf("%s limits (%lld elements, %zu bytes): %s%s\n", ok ? "ok  " : "FAIL", (long long)max_elements,
           max_bytes, st == SEMSEG_STATUS_OK ? "loaded" : err.message,
           ok ? "" : (want ? " [expected an error naming it]" : " [expected it to load]"));
    failures += !ok;
    semseg_session_free(s);
    semseg_options_free(o);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: limits_override MODEL.onnx\n");
        return 2;
    }
    expect(argv[1], 0, 0, NULL);
    expect(argv[1], 1000, 0, "'big' [600x40] has 24000 elements, more than the limit of 1000");
    expect(argv[1], 999, 0, "initializer 'w'");
    expect(argv[1], 0, 100, "limit of 100");
    expect(argv[1], -5, 0, NULL);
    return failures ? 1 : 0;
}
