/*
 * Image I/O and pixel operations for the semseg-onnx CLI: decoding JPEG
 * (libjpeg-turbo) and PNG (libpng) into 8-bit RGB, writing 8-bit RGB and gray
 * PNGs, resampling, the class palette and the mask overlay.
 *
 * Decoders never exit the process: a broken file comes back as -1 with one
 * line in err naming the file and what is wrong. Images larger than
 * IMAGE_MAX_PIXELS (or IMAGE_MAX_SIDE on a side) are refused before any pixel
 * memory is allocated, so a crafted header cannot make us allocate gigabytes.
 */
#ifndef SEMSEG_CLI_IMAGE_H
#define SEMSEG_CLI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_MAX_SIDE 16384
#define IMAGE_MAX_PIXELS (1L << 28)
#define IMAGE_ERR_SIZE 512

/* Interleaved 8-bit RGB, rows top to bottom, no padding. */
typedef struct image {
    int w, h;
    uint8_t *rgb;          /* w * h * 3 bytes, malloc'd */
    const char *source;    /* "8-bit RGB PNG", "gray JPEG", ...: for the report */
} image;

/* What the file's first bytes say it is. */
typedef enum image_kind {
    IMAGE_KIND_UNKNOWN = 0,
    IMAGE_KIND_PNG,
    IMAGE_KIND_JPEG,
    IMAGE_KIND_NPY
} image_kind;

image_kind image_sniff(const uint8_t *data, size_t size);

/* Reads a whole file into memory; -1 with a line in err (missing, empty, unreadable). */
int image_read_file(const char *path, uint8_t **data, size_t *size, char *err);

/* Decode an in-memory file; path only names it in messages. Gray, gray+alpha,
 * RGB, RGBA and palette PNGs of 1..8 bits are accepted (alpha is dropped);
 * 16-bit PNGs are refused. Gray and YCbCr/RGB JPEGs are accepted; CMYK/YCCK
 * JPEGs are refused. */
int image_decode_png(const char *path, const uint8_t *data, size_t size, image *out, char *err);
int image_decode_jpeg(const char *path, const uint8_t *data, size_t size, image *out, char *err);
/* Sniffs and dispatches; refuses anything that is not PNG or JPEG. */
int image_load(const char *path, image *out, char *err);
void image_free(image *im);

/* Writes an 8-bit PNG: channels 1 (gray) or 3 (RGB). */
int image_write_png(const char *path, int w, int h, int channels, const uint8_t *px, char *err);

/* Resamples RGB src (sw x sh) to dst (dw x dh) with a triangle (bilinear)
 * filter whose support widens when shrinking, so downscaling averages every
 * source pixel instead of skipping some (no aliasing). Pixel centres are at
 * +0.5 (align_corners = false). dst is float, interleaved RGB, 0..255. */
int image_resize_rgb(const uint8_t *src, int sw, int sh, float *dst, int dw, int dh);

/* Palette: 256 RGB entries. */
typedef struct image_palette {
    int count;             /* entries defined (the VOC palette defines 256) */
    uint8_t rgb[256][3];
} image_palette;

/* PASCAL VOC's colour map (the bit-interleaving one its devkit defines). */
void image_palette_voc(image_palette *p);
/* Text file, one colour a line: "R G B" (0..255, separated by spaces or
 * commas); blank lines and lines starting with '#' are skipped. */
int image_palette_load(const char *path, image_palette *p, char *err);

/* labels (w x h) -> RGB through the palette. */
void image_colorize(const uint8_t *labels, int w, int h, const image_palette *p, uint8_t *rgb);
/* photo blended with the colour of each label: (1 - alpha) * photo + alpha *
 * colour. Labels whose colour is black (VOC's background) leave the photo as is. */
void image_overlay(const image *photo, const uint8_t *labels, const image_palette *p,
                   float alpha, uint8_t *rgb);

#endif
