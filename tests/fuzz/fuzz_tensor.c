/*
 * Fuzz target: the tensor-file reader (semseg_tensor_file_read), which takes
 * ONNX TensorProto .pb files and NumPy .npy files (chosen by content). The
 * public API reads a path, so each input is written to an anonymous in-memory
 * file (memfd) and read back through /proc/self/fd. A tensor that is read
 * must be self-consistent: its byte count matches dtype and dims.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "semseg/semseg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("semseg-fuzz-tensor", 0);
    if (fd < 0) return 0;
    size_t put = 0;
    while (put < size) {
        ssize_t w = write(fd, data + put, size - put);
        if (w <= 0) break;
        put += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    semseg_tensor_file t;
    semseg_error err = { 0 };
    if (put == size && semseg_tensor_file_read(path, &t, &err) == SEMSEG_STATUS_OK) {
        int64_t numel = semseg_numel(t.rank, t.dims);
        if (t.rank < 0 || t.rank > SEMSEG_MAX_RANK || numel < 0 || !t.data ||
            t.nbytes != (size_t)numel * semseg_dtype_size(t.dtype))
            abort();
        /* touch every byte so ASan sees an undersized buffer */
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < t.nbytes; i++) sum ^= ((const uint8_t *)t.data)[i];
        (void)sum;
        semseg_tensor_file_clear(&t);
    } else if (!memchr(err.message, '\0', sizeof err.message) || strchr(err.message, '\n')) {
        abort();
    }
    close(fd);
    return 0;
}
