#include "crf_test.h"
int main(void) { return crf_test_finish("crf.invariants", 0); }
