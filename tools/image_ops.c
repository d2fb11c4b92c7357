/*
 * Everything about images that is not a codec: reading a file and telling its
 * format from its first bytes (never from its name, so a text file called
 * x.jpg is reported as what it is), resampling, the class palette, and
 * colouring / overlaying a label map.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"

image_kind image_sniff(const uint8_t *d, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(d, png_sig, 8) == 0) return IMAGE_KIND_PNG;
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return IMAGE_KIND_JPEG;
    if (n >= 6 && d[0] == 0x93 && memcmp(d + 1, "NUMPY", 5) == 0) return IMAGE_KIND_NPY;
    return IMAGE_KIND_UNKNOWN;
}

int image_read_file(const char *path, uint8_t **data, size_t *size, char *err)
{
    struct stat st;
    *data = NULL;
    *size = 0;
    if (stat(path, &st) != 0) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: %s; check the path", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: is a directory; pass a JPEG or PNG file", path);
        return -1;
    }
    if (st.st_size == 0) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: file is empty (0 bytes); pass a JPEG or PNG image", path);
        return -1;
    }
    /* A compressed image is far smaller than its pixel limit; 1 GiB is generous. */
    if (st.st_size > (1L << 30)) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: file is %lld bytes, over the 1 GiB limit for an image", path,
                 (long long)st.st_size);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: %s; check the path and its permissions", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    if (!buf) {
        fclose(f);
        snprintf(err, IMAGE_ERR_SIZE, "%s: out of memory reading %lld bytes", path, (long long)st.st_size);
        return -1;
    }
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (got != (size_t)st.st_size) {
        free(buf);
        snprintf(err, IMAGE_ERR_SIZE, "%s: read error after %zu of %lld bytes", path, got, (long long)st.st_size);
        return -1;
    }
    *data = buf;
    *size = got;
    return 0;
}

int image_load(const char *path, image *out, char *err)
{
    uint8_t *data;
    size_t size;
    memset(out, 0, sizeof(*out));
    if (image_read_file(path, &data, &size, err) != 0) return -1;
    int rc;
    switch (image_sniff(data, size)) {
    case IMAGE_KIND_PNG: rc = image_decode_png(path, data, size, out, err); break;
    case IMAGE_KIND_JPEG: rc = image_decode_jpeg(path, data, size, out, err); break;
    default:
        snprintf(err, IMAGE_ERR_SIZE,
                 "%s: not a JPEG or PNG image (its first bytes match neither signature); pass a JPEG/PNG photo or a .pb/.npy tensor",
                 path);
        rc = -1;
    }
    free(data);
    return rc;
}

void image_free(image *im)
{
    free(im->rgb);
    im->rgb = NULL;
}

/* Taps of a 1-D triangle filter from n_in samples to n_out samples. */
typedef struct taps {
    int max;          /* taps per output sample */
    int *start;       /* first input index of each output sample */
    int *count;
    float *w;         /* n_out * max weights, normalised to sum 1 */
} taps;

static void taps_free(taps *t)
{
    free(t->start);
    free(t->count);
    free(t->w);
}

static int taps_make(int n_in, int n_out, taps *t)
{
    double scale = (double)n_in / n_out;
    double support = scale > 1.0 ? scale : 1.0; /* radius in input pixels */
    t->max = (int)ceil(support) * 2 + 1;
    t->start = malloc(sizeof(int) * n_out);
    t->count = malloc(sizeof(int) * n_out);
    t->w = malloc(sizeof(float) * (size_t)n_out * t->max);
    if (!t->start || !t->count || !t->w) {
        taps_free(t);
        return -1;
    }
    for (int o = 0; o < n_out; o++) {
        double center = (o + 0.5) * scale; /* in input coordinates, pixel edges at integers */
        int lo = (int)floor(center - support);
        int hi = (int)ceil(center + support);
        if (lo < 0) lo = 0;
        if (hi > n_in) hi = n_in;
        float *w = t->w + (size_t)o * t->max;
        double sum = 0.0;
        int k = 0;
        for (int i = lo; i < hi && k < t->max; i++) {
            double d = fabs((i + 0.5 - center) / support);
            double v = d < 1.0 ? 1.0 - d : 0.0;
            w[k++] = (float)v;
            sum += v;
        }
        if (sum <= 0.0) { /* cannot happen for n_in >= 1, but keep the output defined */
            int nearest = (int)center < n_in ? (int)center : n_in - 1;
            lo = nearest;
            k = 1;
            w[0] = 1.0f;
            sum = 1.0;
        }
        for (int j = 0; j < k; j++) w[j] = (float)(w[j] / sum);
        t->start[o] = lo;
        t->count[o] = k;
    }
    return 0;
}

int image_resize_rgb(const uint8_t *src, int sw, int sh, float *dst, int dw, int dh)
{
    taps tx = {0}, ty = {0};
    float *tmp = malloc(sizeof(float) * (size_t)dw * sh * 3);
    if (!tmp || taps_make(sw, dw, &tx) != 0 || taps_make(sh, dh, &ty) != 0) {
        free(tmp);
        taps_free(&tx);
        taps_free(&ty);
        return -1;
    }
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = src + (size_t)y * sw * 3;
        float *out = tmp + (size_t)y * dw * 3;
        for (int x = 0; x < dw; x++) {
            const float *w = tx.w + (size_t)x * tx.max;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < tx.count[x]; k++) {
                const uint8_t *p = row + (size_t)(tx.start[x] + k) * 3;
                r += w[k] * p[0];
                g += w[k] * p[1];
                b += w[k] * p[2];
            }
            out[x * 3 + 0] = r;
            out[x * 3 + 1] = g;
            out[x * 3 + 2] = b;
        }
    }
    for (int y = 0; y < dh; y++) {
        const float *w = ty.w + (size_t)y * ty.max;
        float *out = dst + (size_t)y * dw * 3;
        for (int i = 0; i < dw * 3; i++) out[i] = 0.0f;
        for (int k = 0; k < ty.count[y]; k++) {
            const float *row = tmp + (size_t)(ty.start[y] + k) * dw * 3;
            for (int i = 0; i < dw * 3; i++) out[i] += w[k] * row[i];
        }
    }
    free(tmp);
    taps_free(&tx);
    taps_free(&ty);
    return 0;
}

void image_palette_voc(image_palette *p)
{
    /* The VOC devkit spreads the bits of the class index over the three
     * channels, most significant bit first: bit 0 -> red, 1 -> green, 2 -> blue. */
    p->count = 256;
    for (int i = 0; i < 256; i++) {
        int r = 0, g = 0, b = 0, c = i;
        for (int j = 7; j >= 0; j--) {
            r |= (c & 1) << j;
            g |= ((c >> 1) & 1) << j;
            b |= ((c >> 2) & 1) << j;
            c >>= 3;
        }
        p->rgb[i][0] = (uint8_t)r;
        p->rgb[i][1] = (uint8_t)g;
        p->rgb[i][2] = (uint8_t)b;
    }
}

int image_palette_load(const char *path, image_palette *p, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: %s; --palette wants a text file with one \"R G B\" a line",
                 path, strerror(errno));
        return -1;
    }
    memset(p, 0, sizeof(*p));
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '#' || *s == '\n' || *s == '\r' || *s == '\0') continue;
        for (char *q = s; *q; q++)
            if (*q == ',') *q = ' ';
        int r, g, b;
        char extra;
        if (sscanf(s, "%d %d %d %c", &r, &g, &b, &extra) != 3 || r < 0 || r > 255 || g < 0 ||
            g > 255 || b < 0 || b > 255) {
            snprintf(err, IMAGE_ERR_SIZE, "%s:%d: expected three integers 0..255 (\"R G B\")", path, lineno);
            fclose(f);
            return -1;
        }
        if (p->count == 256) {
            snprintf(err, IMAGE_ERR_SIZE, "%s:%d: more than 256 colours", path, lineno);
            fclose(f);
            return -1;
        }
        p->rgb[p->count][0] = (uint8_t)r;
        p->rgb[p->count][1] = (uint8_t)g;
        p->rgb[p->count][2] = (uint8_t)b;
        p->count++;
    }
    fclose(f);
    if (p->count == 0) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: no colours found; write one \"R G B\" a line", path);
        return -1;
    }
    return 0;
}

void image_colorize(const uint8_t *labels, int w, int h, const image_palette *p, uint8_t *rgb)
{
    for (size_t i = 0; i < (size_t)w * h; i++) memcpy(rgb + i * 3, p->rgb[labels[i]], 3);
}

void image_overlay(const image *photo, const uint8_t *labels, const image_palette *p,
                   float alpha, uint8_t *rgb)
{
    for (size_t i = 0; i < (size_t)photo->w * photo->h; i++) {
        const uint8_t *c = p->rgb[labels[i]];
        const uint8_t *px = photo->rgb + i * 3;
        int transparent = c[0] == 0 && c[1] == 0 && c[2] == 0;
        for (int k = 0; k < 3; k++) {
            float v = transparent ? px[k] : (1.0f - alpha) * px[k] + alpha * c[k];
            rgb[i * 3 + k] = (uint8_t)(v + 0.5f);
        }
    }
}
