/*
 * JPEG decoding with libjpeg(-turbo) into 8-bit RGB.
 *
 * libjpeg's default error handler calls exit(); ours formats the library's
 * message into the caller's err line and longjmps back, so a broken file is
 * an ordinary error. As in image_png.c, the setjmp sits in a function whose
 * state lives entirely in a job struct owned by the caller. Warnings (a
 * truncated scan, say) are not fatal: libjpeg fills the rest and we go on.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image.h"

typedef struct jpeg_job {
    struct jpeg_error_mgr mgr; /* first, so the library's err pointer is the job */
    jmp_buf jmp;
    const char *path;
    char *err;
    const uint8_t *data;
    size_t size;
    struct jpeg_decompress_struct cinfo;
    int created;
    uint8_t *px;
    image *out;
} jpeg_job;

static void jpeg_on_error(j_common_ptr c)
{
    jpeg_job *job = (jpeg_job *)c->err;
    char msg[JMSG_LENGTH_MAX];
    c->err->format_message(c, msg);
    snprintf(job->err, IMAGE_ERR_SIZE, "%s: broken JPEG (%s); re-save or re-export the image",
             job->path, msg);
    longjmp(job->jmp, 1);
}

static void jpeg_on_message(j_common_ptr c)
{
    (void)c; /* warnings and traces: keep stderr for our own one-line errors */
}

/* libjpeg pads a file that ends early with gray and only warns; a few hundred
 * bytes whose header says 12000x12000 would then cost a full decode of made-up
 * pixels. A file or scan that ends early is an error; other warnings (extraneous
 * bytes, say, which cameras write) stay warnings. */
static void jpeg_on_emit(j_common_ptr c, int level)
{
    if (level < 0 && (c->err->msg_code == JWRN_JPEG_EOF || c->err->msg_code == JWRN_HIT_MARKER)) c->err->error_exit(c);
}

static const char *jpeg_space_name(J_COLOR_SPACE cs)
{
    switch (cs) {
    case JCS_CMYK: return "CMYK";
    case JCS_YCCK: return "YCCK";
    default: return "unknown";
    }
}

static int jpeg_decode_steps(jpeg_job *job)
{
    if (setjmp(job->jmp)) return -1;

    struct jpeg_decompress_struct *ci = &job->cinfo;
    jpeg_create_decompress(ci);
    job->created = 1;
    jpeg_mem_src(ci, (const unsigned char *)job->data, (unsigned long)job->size);
    jpeg_read_header(ci, TRUE);
    if (ci->jpeg_color_space != JCS_GRAYSCALE && ci->jpeg_color_space != JCS_YCbCr &&
        ci->jpeg_color_space != JCS_RGB) {
        snprintf(job->err, IMAGE_ERR_SIZE,
                 "%s: %s JPEG is not supported; convert it to RGB (e.g. convert in.jpg -colorspace sRGB out.jpg)",
                 job->path, jpeg_space_name(ci->jpeg_color_space));
        return -1;
    }
    long w = (long)ci->image_width, h = (long)ci->image_height;
    if (w == 0 || h == 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || w * h > IMAGE_MAX_PIXELS) {
        snprintf(job->err, IMAGE_ERR_SIZE,
                 "%s: image is %ldx%ld (HxW); the limit is %d pixels a side and %ld pixels in all, resize it first",
                 job->path, h, w, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
        return -1;
    }
    ci->out_color_space = JCS_RGB; /* libjpeg-turbo expands gray to RGB itself */
    jpeg_start_decompress(ci);
    if (ci->output_components != 3) {
        snprintf(job->err, IMAGE_ERR_SIZE, "%s: JPEG decoder gave %d channels, expected RGB; re-save the image as RGB",
                 job->path, ci->output_components);
        return -1;
    }
    job->px = malloc((size_t)w * h * 3);
    if (!job->px) {
        snprintf(job->err, IMAGE_ERR_SIZE, "%s: out of memory for a %ldx%ld image", job->path, h, w);
        return -1;
    }
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = job->px + (size_t)ci->output_scanline * w * 3;
        jpeg_read_scanlines(ci, &row, 1);
    }
    jpeg_finish_decompress(ci);

    job->out->w = (int)w;
    job->out->h = (int)h;
    job->out->rgb = job->px;
    job->out->source = ci->jpeg_color_space == JCS_GRAYSCALE ? "gray JPEG" : "RGB JPEG";
    job->px = NULL;
    return 0;
}

int image_decode_jpeg(const char *path, const uint8_t *data, size_t size, image *out, char *err)
{
    jpeg_job *job = calloc(1, sizeof(*job)); /* large (jmp_buf + cinfo); keep it off the stack */
    memset(out, 0, sizeof(*out));
    if (!job) {
        snprintf(err, IMAGE_ERR_SIZE, "%s: out of memory starting the JPEG decoder", path);
        return -1;
    }
    job->path = path;
    job->err = err;
    job->data = data;
    job->size = size;
    job->out = out;
    job->cinfo.err = jpeg_std_error(&job->mgr);
    job->mgr.error_exit = jpeg_on_error;
    job->mgr.output_message = jpeg_on_message;
    job->mgr.emit_message = jpeg_on_emit;
    err[0] = '\0';
    int rc = jpeg_decode_steps(job);
    if (job->created) jpeg_destroy_decompress(&job->cinfo);
    free(job->px);
    free(job);
    return rc;
}
