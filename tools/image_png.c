/*
 * PNG decoding (libpng's classic API, so that 16-bit files can be refused
 * instead of silently reduced) and PNG writing (libpng's simplified API).
 *
 * libpng reports errors by longjmp. The setjmp lives in png_decode_steps(),
 * whose every piece of state is in a png_job owned by the caller, so nothing
 * the C standard calls "indeterminate after longjmp" is ever read again; the
 * caller then frees whatever the steps had allocated.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

typedef struct png_job {
    const char *path;
    char *err;
    const uint8_t *data;
    size_t size, pos;
    png_structp png;
    png_infop info;
    uint8_t *px;
    png_bytep *rows;
    image *out;
} png_job;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_job *job = png_get_error_ptr(png);
    if (!job->err[0])
        snprintf(job->err, IMAGE_ERR_SIZE, "%s: broken PNG (%s); re-save or re-export the image",
                 job->path, msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* ancillary-chunk complaints do not stop us from reading pixels */
    (void)msg;
}

static void png_on_read(png_structp png, png_bytep dst, size_t n)
{
    png_job *job = png_get_io_ptr(png);
    if (n > job->size - job->pos) png_error(png, "file ends early");
    memcpy(dst, job->data + job->pos, n);
    job->pos += n;
}

static const char *png_kind_name(int ctype)
{
    switch (ctype) {
    case PNG_COLOR_TYPE_GRAY: return "gray PNG";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha PNG";
    case PNG_COLOR_TYPE_PALETTE: return "palette PNG";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "RGBA PNG";
    default: return "RGB PNG";
    }
}

/* Returns 0 on success, -1 with job->err set. */
static int png_decode_steps(png_job *job)
{
    if (setjmp(png_jmpbuf(job->png))) return -1;

    png_set_read_fn(job->png, job, png_on_read);
    png_read_info(job->png, job->info);
    png_uint_32 w, h;
    int depth, ctype;
    png_get_IHDR(job->png, job->info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
    if (depth > 8) {
        snprintf(job->err, IMAGE_ERR_SIZE,
                 "%s: 16-bit PNG is not supported; save it with 8 bits per channel", job->path);
        return -1;
    }
    if (w == 0 || h == 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE ||
        (long)w * (long)h > IMAGE_MAX_PIXELS) {
        snprintf(job->err, IMAGE_ERR_SIZE,
                 "%s: image is %lux%lu (HxW); the limit is %d pixels a side and %ld pixels in all, resize it first",
                 job->path, (unsigned long)h, (unsigned long)w, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
        return -1;
    }

    /* Whatever the colour type, ask libpng for 8-bit RGB. */
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(job->png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(job->png);
    if (ctype & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(job->png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(job->png);
    png_set_interlace_handling(job->png);
    png_read_update_info(job->png, job->info);
    if (png_get_rowbytes(job->png, job->info) != (size_t)w * 3) {
        snprintf(job->err, IMAGE_ERR_SIZE, "%s: unexpected PNG row layout after conversion to RGB; re-save the image as 8-bit RGB",
                 job->path);
        return -1;
    }

    job->px = malloc((size_t)w * h * 3);
    job->rows = malloc(sizeof(png_bytep) * h);
    if (!job->px || !job->rows) {
        snprintf(job->err, IMAGE_ERR_SIZE, "%s: out of memory for a %lux%lu image", job->path,
                 (unsigned long)h, (unsigned long)w);
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) job->rows[y] = job->px + (size_t)y * w * 3;
    png_read_image(job->png, job->rows);

    job->out->w = (int)w;
    job->out->h = (int)h;
    job->out->rgb = job->px;
    job->out->source = png_kind_name(ctype);
    job->px = NULL; /* now owned by out */
    return 0;
}

int image_decode_png(const char *path, const uint8_t *data, size_t size, image *out, char *err)
{
    png_job job = {.path = path, .err = err, .data = data, .size = size, .out = out};
    err[0] = '\0';
    memset(out, 0, sizeof(*out));
    job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error, png_on_warning);
    if (job.png) job.info = png_create_info_struct(job.png);
    if (!job.png || !job.info) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: out of memory starting the PNG decoder", path);
        png_destroy_read_struct(job.png ? &job.png : NULL, NULL, NULL);
        return -1;
    }
    int rc = png_decode_steps(&job);
    png_destroy_read_struct(&job.png, &job.info, NULL);
    free(job.rows);
    free(job.px);
    return rc;
}

int image_write_png(const char *path, int w, int h, int channels, const uint8_t *px, char *err)
{
    png_image im;
    memset(&im, 0, sizeof(im));
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    im.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&im, path, 0, px, w * channels, NULL)) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: cannot write PNG (%s); check that the folder exists and is writable",
                 path, im.message);
        png_image_free(&im);
        return -1;
    }
    return 0;
}
