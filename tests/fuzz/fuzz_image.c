/*
 * Fuzz target: the CLI's image path (tools/image_*.c): sniff the bytes,
 * decode PNG (libpng) or JPEG (libjpeg-turbo) into 8-bit RGB, then resample
 * to a small model input the way `semseg-onnx run` does. A decoded image must
 * have sane dims and a buffer ASan can read end to end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_SKIP_BIG_IMAGES
/* A few hundred bytes can declare a legal 16384x16384 image; decoding it costs
 * seconds of made-up pixels and nothing else (docs/fuzzing.md), so under
 * libFuzzer such inputs are skipped when they are within the limits (beyond
 * them the decoders' own checks run: that path stays fuzzed). The replay build
 * decodes everything. */
#define FUZZ_BIG_PIXELS (1L << 20)

static long be16(const uint8_t *p)
{
    return (long)p[0] << 8 | p[1];
}

static long be32(const uint8_t *p)
{
    return (long)p[0] << 24 | (long)p[1] << 16 | (long)p[2] << 8 | p[3];
}

/* Width and height from a PNG IHDR or the first JPEG SOFn (0 if not found). */
static void header_dims(const uint8_t *d, size_t n, long *w, long *h)
{
    *w = *h = 0;
    if (n >= 24 && d[0] == 0x89 && memcmp(d + 12, "IHDR", 4) == 0) {
        *w = be32(d + 16);
        *h = be32(d + 20);
    } else if (n >= 4 && d[0] == 0xFF && d[1] == 0xD8) {
        for (size_t i = 2; i + 9 < n;) {
            if (d[i] != 0xFF) {
                i++;
                continue;
            }
            uint8_t m = d[i + 1];
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
                *h = be16(d + i + 5);
                *w = be16(d + i + 7);
                break;
            }
            if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF) {
                i += m == 0xFF ? 1 : 2;
                continue;
            }
            i += 2 + (size_t)be16(d + i + 2);
        }
    }
}

static int legal_but_big(const uint8_t *d, size_t n)
{
    long w, h;
    header_dims(d, n, &w, &h);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE) return 0; /* sides first: w * h may not fit */
    return w * h > FUZZ_BIG_PIXELS && w * h <= IMAGE_MAX_PIXELS;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image im = { 0 };
    char err[IMAGE_ERR_SIZE] = "";
    int rc;
#ifdef FUZZ_SKIP_BIG_IMAGES
    if (legal_but_big(data, size)) return 0;
#endif
    switch (image_sniff(data, size)) {
    case IMAGE_KIND_PNG: rc = image_decode_png("fuzz.png", data, size, &im, err); break;
    case IMAGE_KIND_JPEG: rc = image_decode_jpeg("fuzz.jpg", data, size, &im, err); break;
    default: return 0;
    }
    if (rc != 0) {
        if (!err[0] || !memchr(err, '\0', sizeof err) || strchr(err, '\n')) abort(); /* one line, always */
        image_free(&im);
        return 0;
    }
    if (im.w <= 0 || im.h <= 0 || im.w > IMAGE_MAX_SIDE || im.h > IMAGE_MAX_SIDE || !im.rgb) abort();
    float dst[16 * 12 * 3];
    if (image_resize_rgb(im.rgb, im.w, im.h, dst, 16, 12) == 0) {
        for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++)
            if (!(dst[i] >= 0.0f && dst[i] <= 255.0f + 1e-3f)) abort(); /* a filter never leaves 0..255 */
    }
    image_free(&im);
    return 0;
}
