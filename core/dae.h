/* dae.h: the one public header of the dae engine (denoising autoencoders).
 *
 * Conventions: every fallible function takes a trailing `GError **error`
 * (domain DAE_ERROR) and reports failure through its return value (FALSE or
 * NULL); the library never prints and never exits.  Objects are opaque and
 * freed with their own `*_free` function.  Tensors are float32, NCHW.
 */
#ifndef DAE_H
#define DAE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

G_BEGIN_DECLS

#define DAE_VERSION_MAJOR 0
#define DAE_VERSION_MINOR 1
#define DAE_VERSION_MICRO 0
#define DAE_VERSION_STRING "0.1.0"

/**
 * dae_version:
 *
 * Returns: the library's version string, e.g. "0.1.0".
 */
const char *dae_version (void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

#define DAE_ERROR (dae_error_quark ())

typedef enum {
  DAE_ERROR_IO,          /* a read or write failed (errno-style problem) */
  DAE_ERROR_FORMAT,      /* malformed, truncated or corrupt data */
  DAE_ERROR_UNSUPPORTED, /* well-formed but not supported (version, kind) */
  DAE_ERROR_LIMIT,       /* a size exceeds a limit or would overflow */
  DAE_ERROR_SHAPE,       /* tensor shapes do not chain or do not match */
  DAE_ERROR_INVALID,     /* an argument or option value is invalid */
  DAE_ERROR_CANCELLED    /* the caller asked to stop */
} DaeError;

/**
 * dae_error_quark:
 *
 * Returns: the GQuark of the DAE_ERROR domain.
 */
GQuark dae_error_quark (void);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/* Layer kinds; the numeric values are those of the .dae file (dae-model(5)). */
typedef enum {
  DAE_LAYER_CONV3X3 = 1,  /* 3x3 convolution, 'same' zero padding, + bias */
  DAE_LAYER_MAXPOOL2 = 2, /* 2x2 max-pool, stride 2, Keras 'same' (ceil) */
  DAE_LAYER_UPSAMPLE2 = 3,/* 2x nearest-neighbour upsampling */
  DAE_LAYER_CONVT2X2 = 4, /* 2x2 stride-2 transposed convolution, + bias */
  DAE_LAYER_ADD = 5,      /* previous output + output of layer `source` */
  DAE_LAYER_CONCAT = 6    /* channels of previous output, then of `source` */
} DaeLayerKind;

typedef enum {
  DAE_ACT_NONE = 0,
  DAE_ACT_RELU = 1,
  DAE_ACT_SIGMOID = 2
} DaeActivation;

/* The index used as `source` to refer to the network's input. */
#define DAE_SOURCE_INPUT (-1)

typedef struct _DaeModel DaeModel;

/**
 * dae_model_new:
 * @channels: channels of the input and of the output (1 for grayscale)
 * @patch_height: height of the patches the model is meant for (e.g. 28)
 * @patch_width: width of those patches
 * @error: return location for an error
 *
 * Creates an empty model, to which layers are added with
 * dae_model_add_layer().  Parameters start at zero.
 *
 * Returns: (transfer full): a new model, or NULL if a size is out of range.
 */
DaeModel *dae_model_new (guint channels, guint patch_height,
                         guint patch_width, GError **error);

/**
 * dae_model_add_layer:
 * @model: a model
 * @kind: the kind of layer
 * @activation: activation applied to its output (conv, convt and add only)
 * @out_channels: output channels (conv and convt only; 0 otherwise)
 * @source: for add/concat, the index of an earlier layer or DAE_SOURCE_INPUT;
 *   ignored otherwise
 * @error: return location for an error
 *
 * Appends a layer; its input is the output of the previous layer.  Shapes
 * are checked at the model's patch size.
 *
 * Returns: TRUE on success, FALSE if the layer does not fit the network.
 */
gboolean dae_model_add_layer (DaeModel *model, DaeLayerKind kind,
                              DaeActivation activation, guint out_channels,
                              int source, GError **error);

/**
 * dae_model_load_file:
 * @path: a .dae file
 * @error: return location for an error
 *
 * Reads and fully validates a model file (see dae-model(5)).
 *
 * Returns: (transfer full): the model, or NULL with @error set naming the
 * problem (I/O, truncation, CRC, version, inconsistent shapes, sizes).
 */
DaeModel *dae_model_load_file (const char *path, GError **error);

/**
 * dae_model_load_memory:
 * @data: the bytes of a .dae file
 * @size: their number
 * @error: return location for an error
 *
 * Like dae_model_load_file(), from memory.  @data is not retained.
 *
 * Returns: (transfer full): the model, or NULL with @error set.
 */
DaeModel *dae_model_load_memory (const void *data, size_t size,
                                 GError **error);

/**
 * dae_model_save_memory:
 * @model: a model
 * @size: (out): the number of bytes returned
 *
 * Serialises the model to the .dae format.
 *
 * Returns: (transfer full): the bytes, to be freed with g_free().
 */
guint8 *dae_model_save_memory (const DaeModel *model, size_t *size);

/**
 * dae_model_save_file:
 * @model: a model
 * @path: where to write it
 * @error: return location for an error
 *
 * Writes the model atomically (temporary file, then rename), so @path holds
 * either its old content or the complete new model.
 *
 * Returns: TRUE on success.
 */
gboolean dae_model_save_file (const DaeModel *model, const char *path,
                              GError **error);

/**
 * dae_model_copy:
 * @model: a model
 *
 * Returns: (transfer full): a deep copy of @model.
 */
DaeModel *dae_model_copy (const DaeModel *model);

/**
 * dae_model_free:
 * @model: (nullable): a model
 *
 * Frees a model.  Returns: nothing.
 */
void dae_model_free (DaeModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeModel, dae_model_free)

/**
 * dae_model_describe:
 * @model: a model
 *
 * A Keras-summary()-like table: one row per layer with its kind,
 * output shape and parameter count, then the total.
 *
 * Returns: (transfer full): the text, to be freed with g_free().
 */
char *dae_model_describe (const DaeModel *model);

/**
 * dae_model_get_channels:
 * @model: a model
 *
 * Returns: the number of input (and output) channels.
 */
guint dae_model_get_channels (const DaeModel *model);

/**
 * dae_model_get_patch_size:
 * @model: a model
 * @height: (out) (optional): patch height
 * @width: (out) (optional): patch width
 *
 * Returns: nothing; stores the patch size the model was made for.
 */
void dae_model_get_patch_size (const DaeModel *model, guint *height,
                               guint *width);

/**
 * dae_model_get_n_layers:
 * @model: a model
 *
 * Returns: the number of layers.
 */
guint dae_model_get_n_layers (const DaeModel *model);

/**
 * dae_model_get_layer:
 * @model: a model
 * @index: a layer index, below dae_model_get_n_layers()
 * @kind: (out) (optional): its kind
 * @activation: (out) (optional): its activation
 * @out_channels: (out) (optional): its output channels
 * @source: (out) (optional): its skip source (add/concat), else -1
 *
 * Returns: FALSE if @index is out of range, else TRUE.
 */
gboolean dae_model_get_layer (const DaeModel *model, guint index,
                              DaeLayerKind *kind, DaeActivation *activation,
                              guint *out_channels, int *source);

/**
 * dae_model_get_n_params:
 * @model: a model
 *
 * Returns: the total number of trainable parameters (weights and biases).
 */
size_t dae_model_get_n_params (const DaeModel *model);

/**
 * dae_model_layer_params:
 * @model: a model
 * @index: a layer index
 * @n_weights: (out) (optional): number of weights
 * @bias: (out) (optional): its biases (out_channels of them), or NULL
 *
 * Weights are laid out [out][in][3][3] for conv3x3 and [in][out][2][2]
 * (PyTorch's ConvTranspose2d layout) for convt2x2.
 *
 * Returns: (transfer none): the layer's weights (writable), or NULL for a
 * layer without parameters or an index out of range.
 */
float *dae_model_layer_params (DaeModel *model, guint index,
                               size_t *n_weights, float **bias);

/**
 * dae_model_get_metadata:
 * @model: a model
 * @key: a metadata key
 *
 * Returns: (transfer none) (nullable): the value stored under @key.
 */
const char *dae_model_get_metadata (const DaeModel *model, const char *key);

/**
 * dae_model_set_metadata:
 * @model: a model
 * @key: a key (1..255 bytes of UTF-8)
 * @value: (nullable): its value (UTF-8), NULL to remove it
 *
 * Returns: nothing; keys keep their first insertion order.
 */
void dae_model_set_metadata (DaeModel *model, const char *key,
                             const char *value);

/**
 * dae_model_get_metadata_keys:
 * @model: a model
 *
 * Returns: (transfer full): a NULL-terminated array of the keys in file
 * order, to be freed with g_strfreev().
 */
char **dae_model_get_metadata_keys (const DaeModel *model);

/* ------------------------------------------------------------------------ */
/* Forward pass                                                             */
/* ------------------------------------------------------------------------ */

/* Which implementation runs the convolutions. */
typedef enum {
  DAE_CONV_AUTO = 0,   /* the fastest measured for each layer */
  DAE_CONV_DIRECT = 1, /* direct kernels (scalar reference or SIMD) */
  DAE_CONV_GEMM = 2,   /* im2col + BLAS sgemm over the batch */
  DAE_CONV_WINOGRAD = 3 /* Winograd F(2x2, 3x3) where a layer has 16 or more input
                         * and output channels, direct kernels elsewhere */
} DaeConvPath;

/* A runner holds the scratch memory to run one model on tiles of one size.
 * It is not thread-safe: use one per thread (they share the model). */
typedef struct _DaeRunner DaeRunner;

/**
 * dae_runner_new:
 * @model: a model; it must outlive the runner
 * @height: tile height
 * @width: tile width
 * @error: return location for an error
 *
 * Plans the network for tiles of @height x @width: every layer's shape is
 * checked (skip connections must meet equal shapes).
 *
 * Returns: (transfer full): a runner, or NULL with @error set.
 */
DaeRunner *dae_runner_new (const DaeModel *model, guint height, guint width,
                           GError **error);

/**
 * dae_runner_free:
 * @runner: (nullable): a runner
 *
 * Returns: nothing.
 */
void dae_runner_free (DaeRunner *runner);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeRunner, dae_runner_free)

/**
 * dae_runner_set_conv_path:
 * @runner: a runner
 * @path: the convolution implementation to use
 *
 * Returns: nothing.
 */
void dae_runner_set_conv_path (DaeRunner *runner, DaeConvPath path);

/**
 * dae_runner_get_output_shape:
 * @runner: a runner
 * @layer: a layer index
 * @channels: (out) (optional): channels of its output
 * @height: (out) (optional): height of its output
 * @width: (out) (optional): width of its output
 *
 * Returns: FALSE if @layer is out of range, else TRUE.
 */
gboolean dae_runner_get_output_shape (const DaeRunner *runner, guint layer,
                                      guint *channels, guint *height,
                                      guint *width);

/**
 * dae_runner_forward:
 * @runner: a runner
 * @n: number of tiles
 * @input: n x channels x height x width floats in [0,1]
 * @output: room for as many floats: the denoised tiles
 * @error: return location for an error
 *
 * Runs the network on a batch.  Results depend only on each tile, not on
 * @n or on how the batch is split.
 *
 * Returns: TRUE on success.
 */
gboolean dae_runner_forward (DaeRunner *runner, size_t n, const float *input,
                             float *output, GError **error);

/**
 * dae_runner_forward_to:
 * @runner: a runner
 * @n: number of tiles
 * @input: n x channels x height x width floats
 * @last_layer: the layer whose output is wanted
 * @output: room for n x its output shape (dae_runner_get_output_shape())
 * @error: return location for an error
 *
 * Runs layers 0..@last_layer and returns that layer's output: the
 * intermediate activations, for tests and inspection.
 *
 * Returns: TRUE on success.
 */
gboolean dae_runner_forward_to (DaeRunner *runner, size_t n,
                                const float *input, guint last_layer,
                                float *output, GError **error);

/* ==== Kernels (core/dispatch.c) ========================================= */

/* Kernels: the convolutions run on the best instruction set the CPU and its
 * OS support (AVX-512, AVX2 + FMA, or portable C), chosen once per process;
 * the environment variable DAE_ISA=ref|avx2|avx512 forces one.  The
 * variants agree to about 1e-5 (they round differently); a given variant
 * gives the same bits whatever the batch, its split or the thread count.
 * With DAE_CONV_AUTO the SIMD direct kernels run every convolution (fused
 * with a following max-pool, a preceding upsample, or a U-Net's upsample
 * and concatenation), which measured faster than im2col + BLAS on every
 * layer of the shipped networks. */

/**
 * dae_kernels_describe:
 *
 * Returns: the instruction set of the kernels in use: "avx512", "avx2" or
 * "ref" (for -v output).
 */
const char *dae_kernels_describe (void);

/**
 * dae_kernels_get_note:
 *
 * Returns: (nullable): why DAE_ISA was not followed (an unknown value, or
 * an instruction set this CPU or OS lacks), or NULL.
 */
const char *dae_kernels_get_note (void);

/* ==== Image I/O (core/io) ================================================ */

/* Streaming codecs for netpbm (PBM/PGM/PPM plain and raw, PAM), PNG
 * (libpng), JPEG (libjpeg) and TIFF (libtiff) images, row by row so that
 * memory grows with the width, never the height; and MNIST's IDX files.
 *
 * Samples are guint16, row-major with channels interleaved, at their native
 * range 0..maxval.  Alpha, if any, is the last channel.  Bilevel images
 * (PBM, PAM BLACKANDWHITE, 1-bit gray PNG or TIFF) read as maxval 1 with
 * 1 = WHITE, like a PGM (note that inside a PBM file a 1 bit is black: the
 * codec inverts, as it does for TIFF's min-is-white).  PNG palettes are
 * expanded to RGB, or to gray when every palette entry is gray; tRNS
 * becomes an alpha channel; 1/2/4-bit gray keeps maxval 1/3/15; no gamma
 * or sBIT conversion is made.  Interlaced (Adam7) PNGs are the one
 * exception to streaming: they are decoded whole into memory, up to 1 GiB;
 * progressive JPEGs are buffered by libjpeg, and tiled TIFFs a row of tiles
 * at a time.
 *
 * JPEG: 8-bit gray and YCbCr/RGB; CMYK and YCCK are refused (convert them
 * to RGB first: their colours need the profile).  Written as baseline
 * JPEG at DaeImageInfo.quality, 4:2:0 for colour.
 *
 * TIFF: strips or tiles, 1/2/4/8/16-bit gray, RGB, palette (expanded to
 * RGB), with or without alpha (one extra sample), every page of a
 * multi-page file in turn as the images of the stream.  A TIFF is read by
 * seeking: from a pipe it is first copied to a temporary file, and it ends
 * the stream.  Planar-separate, CMYK, YCbCr (but in JPEG compression),
 * floating-point and 32-bit samples are refused.
 *
 * Metadata (resolution, ICC profile, Exif, PNG's gAMA/cHRM/sRGB and text
 * chunks, JPEG comments and XMP, TIFF's text tags) is read with each image
 * and written by each format that can hold it.  A PNG's chunks after its
 * image data are checked but not kept: the output's header is written
 * before they are read. */

typedef enum {
  DAE_IMAGE_FORMAT_PBM_PLAIN = 1, /* P1 */
  DAE_IMAGE_FORMAT_PGM_PLAIN = 2, /* P2 */
  DAE_IMAGE_FORMAT_PPM_PLAIN = 3, /* P3 */
  DAE_IMAGE_FORMAT_PBM = 4,       /* P4 */
  DAE_IMAGE_FORMAT_PGM = 5,       /* P5 */
  DAE_IMAGE_FORMAT_PPM = 6,       /* P6 */
  DAE_IMAGE_FORMAT_PAM = 7,       /* P7 */
  DAE_IMAGE_FORMAT_PNG = 8,
  DAE_IMAGE_FORMAT_JPEG = 9,
  DAE_IMAGE_FORMAT_TIFF = 10
} DaeImageFormat;

/* What the samples are, PAM's TUPLTYPE, set for every format. */
typedef enum {
  DAE_TUPLE_TYPE_BLACKANDWHITE = 1,
  DAE_TUPLE_TYPE_GRAYSCALE,
  DAE_TUPLE_TYPE_RGB,
  DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA,
  DAE_TUPLE_TYPE_GRAYSCALE_ALPHA,
  DAE_TUPLE_TYPE_RGB_ALPHA
} DaeTupleType;

/* A PNG's color type as stored in its file. */
typedef enum {
  DAE_PNG_COLOR_NONE = 0, /* not a PNG */
  DAE_PNG_COLOR_GRAY,
  DAE_PNG_COLOR_GRAY_ALPHA,
  DAE_PNG_COLOR_RGB,
  DAE_PNG_COLOR_RGB_ALPHA,
  DAE_PNG_COLOR_PALETTE
} DaePngColorType;

/* The unit of DaeImageInfo's x_res and y_res. */
typedef enum {
  DAE_RES_UNIT_NONE = 0,  /* no resolution known */
  DAE_RES_UNIT_ASPECT,    /* the ratio of x_res to y_res only (JFIF, PNG) */
  DAE_RES_UNIT_INCH,
  DAE_RES_UNIT_CM
} DaeResUnit;

/* How a text is stored, PNG's chunk types. */
typedef enum {
  DAE_TEXT_PLAIN = 0,             /* tEXt: Latin-1 */
  DAE_TEXT_COMPRESSED,            /* zTXt: Latin-1 */
  DAE_TEXT_INTERNATIONAL,         /* iTXt: UTF-8 */
  DAE_TEXT_INTERNATIONAL_COMPRESSED
} DaeTextKind;

typedef struct {
  char *keyword;   /* PNG's keywords: "Description", "Comment"... */
  char *text;
  DaeTextKind kind;
  char *lang, *lang_key; /* iTXt's language and translated keyword, or NULL */
} DaeImageText;

/* An image's metadata, as its reader found it.  Formats map to each other:
 * JPEG's COM markers are texts "Comment"; XMP (JPEG APP1, TIFF's
 * XMLPacket) is the text "XML:com.adobe.xmp" as in PNG; TIFF's
 * ImageDescription, Software, Artist, Copyright, DateTime and DocumentName
 * are "Description", "Software", "Author", "Copyright", "Creation Time" and
 * "Title". */
typedef struct {
  GBytes *icc;          /* ICC profile (PNG iCCP, JPEG APP2, TIFF), or NULL */
  char *icc_name;       /* PNG iCCP's profile name, or NULL */
  GBytes *exif;         /* Exif, a TIFF structure (JPEG APP1 after "Exif\0\0",
                         * PNG eXIf), or NULL; TIFF's Exif IFD is not kept */
  gboolean has_gamma;
  guint32 gamma;        /* PNG gAMA: the file's gamma x 100000 */
  gboolean has_chrm;
  guint32 chrm[8];      /* PNG cHRM x 100000: white, red, green, blue x, y */
  int srgb_intent;      /* PNG sRGB: rendering intent 0..3, or -1 */
  GPtrArray *texts;     /* of DaeImageText, in file order, or NULL */
} DaeImageMeta;

typedef struct {
  DaeImageFormat format;
  guint width, height;    /* both >= 1 */
  guint channels;         /* samples per pixel, 1..4 */
  guint maxval;           /* 1..65535 */
  gboolean has_alpha;     /* channels 2 and 4 */
  DaeTupleType tuple_type;
  DaePngColorType png_color_type; /* PNG input only, informative */
  guint png_bit_depth;    /* PNG input only: 1, 2, 4, 8 or 16; else 0 */
  double x_res, y_res;    /* pixels per res_unit; 0 when unknown */
  DaeResUnit res_unit;
  /* JPEG input: the quality of libjpeg's luminance table nearest to its
   * own (exact for files libjpeg made, an estimate for others).  Output (JPEG, TIFF's JPEG compression):
   * the quality to write at, 0 for 90. */
  guint quality;
  /* TIFF: the compression read (libtiff's COMPRESSION_*), written again
   * when it suits the output's samples and libtiff has it (G3/G4: 1-bit
   * only; JPEG: 8-bit only), else the default: G4 for 1-bit, Deflate with
   * the horizontal predictor otherwise.  0: the default. */
  guint tiff_compression;
  gboolean min_is_white;  /* TIFF: photometric min-is-white, read and written */
  guint tiff_orientation; /* TIFF: Orientation 1..8 (rows as stored), 0 if unset */
  /* Owned by the reader, valid until its next image; NULL: none.  Writers
   * store what their format can hold. */
  const DaeImageMeta *meta;
} DaeImageInfo;

/* Default limit on width x height: 2^30 pixels. */
#define DAE_IMAGE_DEFAULT_MAX_PIXELS (G_GUINT64_CONSTANT (1) << 30)

/**
 * dae_image_format_name:
 * @format: a format
 *
 * Returns: its usual name ("PGM", "plain PGM", "PAM", "PNG"...).
 */
const char *dae_image_format_name (DaeImageFormat format);

/**
 * dae_tuple_type_name:
 * @tuple_type: a tuple type
 *
 * Returns: its PAM name ("GRAYSCALE", "RGB_ALPHA"...).
 */
const char *dae_tuple_type_name (DaeTupleType tuple_type);

/**
 * dae_image_info_set_format:
 * @info: a description of an image: size, channels and maxval set
 * @format: the format it is to be written in
 * @error: return location for an error
 *
 * Makes @info describe the same samples in @format: sets format,
 * has_alpha and the tuple type (kept if it fits the channels, so PAM
 * BLACKANDWHITE stays so).  PBM needs 1 channel of maxval 1, PGM 1 channel,
 * PPM 3, JPEG 1 or 3; PAM, PNG and TIFF take 1..4 channels.  PNG and TIFF
 * store maxval 1, 3, 15 (gray; TIFF also gray with alpha), 255 and 65535
 * exactly, and rescale other maxvals to 8 or 16 bits; JPEG stores 8 bits.
 *
 * Returns: TRUE if @format can hold such an image; else FALSE with
 * @error set (DAE_ERROR_INVALID) and @info unchanged.
 */
gboolean dae_image_info_set_format (DaeImageInfo *info, DaeImageFormat format,
                                    GError **error);

typedef struct _DaeImageReader DaeImageReader;

/**
 * dae_image_reader_new:
 * @fp: a stream open for reading (a file, stdin, a pipe: no seeking)
 *
 * Reads the images of @fp in turn.  @fp is not closed, must outlive the
 * reader and must not be read by anyone else meanwhile.
 *
 * Returns: (transfer full): a reader.
 */
DaeImageReader *dae_image_reader_new (FILE *fp);

/**
 * dae_image_reader_new_path:
 * @path: a file name
 * @error: return location for an error
 *
 * Like dae_image_reader_new() on a file it opens and closes itself.
 *
 * Returns: (transfer full): a reader, or NULL if @path cannot be opened.
 */
DaeImageReader *dae_image_reader_new_path (const char *path, GError **error);

/**
 * dae_image_reader_new_memory:
 * @data: the bytes of an image stream; not copied, must outlive the reader
 * @size: their number
 *
 * Returns: (transfer full): a reader over memory (tests, fuzzers).
 */
DaeImageReader *dae_image_reader_new_memory (const void *data, size_t size);

/**
 * dae_image_reader_set_max_pixels:
 * @reader: a reader
 * @max_pixels: the largest width x height accepted (>= 1)
 *
 * Images larger than this are refused (DAE_ERROR_LIMIT) when their header
 * is read, before anything is allocated for them.  Default:
 * DAE_IMAGE_DEFAULT_MAX_PIXELS.  Returns: nothing.
 */
void dae_image_reader_set_max_pixels (DaeImageReader *reader,
                                      guint64 max_pixels);

/**
 * dae_image_reader_next:
 * @reader: a reader
 * @info: (out): the next image's description
 * @error: return location for an error
 *
 * Reads and validates the header of the next image of the stream (PNM,
 * PAM, PNG, JPEG or TIFF, told apart by their magic numbers; the next page
 * of a TIFF), skipping the rows of the current image that were not read.
 * Whitespace after an image is allowed; anything else that is not another
 * image is an error, as `pamfile -allimages` has it, except after a JPEG,
 * where trailing bytes are ignored as libjpeg does.  An empty stream is an
 * error, and so is another format (named when known: "a WebP image...").
 * Messages about a second or later image begin with "image N: ".
 *
 * Returns: TRUE with @info set; FALSE with @error unset at the clean end
 * of the stream (after at least one image); FALSE with @error set on bad
 * input, after which the reader can only be freed.
 */
gboolean dae_image_reader_next (DaeImageReader *reader, DaeImageInfo *info,
                                GError **error);

/**
 * dae_image_reader_read_rows:
 * @reader: a reader on which dae_image_reader_next() returned TRUE
 * @n_rows: rows wanted, no more than those left in the image
 * @samples: room for @n_rows x width x channels samples
 * @error: return location for an error
 *
 * Reads the next rows of the current image.  Truncated data, malformed
 * plain-format samples and samples above maxval are errors, naming the
 * row.  After the last row of a PNG its trailing chunks are read and
 * checked too.
 *
 * Returns: TRUE on success, else FALSE with @error set.
 */
gboolean dae_image_reader_read_rows (DaeImageReader *reader, guint n_rows,
                                     guint16 *samples, GError **error);

/**
 * dae_image_reader_get_index:
 * @reader: a reader
 *
 * Returns: the 1-based index of the current image in the stream (0 before
 * the first).
 */
guint dae_image_reader_get_index (const DaeImageReader *reader);

/**
 * dae_image_reader_free:
 * @reader: (nullable): a reader
 *
 * Returns: nothing.
 */
void dae_image_reader_free (DaeImageReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeImageReader, dae_image_reader_free)

typedef struct _DaeImageWriter DaeImageWriter;

/**
 * dae_image_writer_new:
 * @fp: a stream open for writing; not closed by the writer
 * @info: the image: format, size, channels, maxval (and the tuple type
 *   for PAM); see dae_image_info_set_format()
 * @error: return location for an error
 *
 * Checks @info and writes the image's header.  Several images written one
 * after the other to @fp make a multi-image stream: see
 * dae_image_writer_next(), which TIFF needs for a multi-page file.
 *
 * Returns: (transfer full): a writer, or NULL with @error set.
 */
DaeImageWriter *dae_image_writer_new (FILE *fp, const DaeImageInfo *info,
                                      GError **error);

/**
 * dae_image_writer_write_rows:
 * @writer: a writer
 * @n_rows: rows given, no more than those left
 * @samples: @n_rows x width x channels samples, each 0..maxval
 * @error: return location for an error
 *
 * Returns: TRUE on success; FALSE on a write error or a sample above
 * maxval.
 */
gboolean dae_image_writer_write_rows (DaeImageWriter *writer, guint n_rows,
                                      const guint16 *samples, GError **error);

/**
 * dae_image_writer_finish:
 * @writer: a writer to which every row was written
 * @error: return location for an error
 *
 * Ends the image (PNG: the IEND chunk) and flushes the stream.
 *
 * Returns: TRUE if the whole image reached the stream.
 */
gboolean dae_image_writer_finish (DaeImageWriter *writer, GError **error);

/**
 * dae_image_writer_next:
 * @writer: a writer whose image was finished
 * @info: the next image, as for dae_image_writer_new()
 * @error: return location for an error
 *
 * Starts another image in the same stream: a new page of a TIFF, the next
 * image of a PNM, PNG or JPEG stream.
 *
 * Returns: TRUE, or FALSE with @error set.
 */
gboolean dae_image_writer_next (DaeImageWriter *writer, const DaeImageInfo *info,
                                GError **error);

/**
 * dae_image_writer_close:
 * @writer: a writer whose last image was finished
 * @error: return location for an error
 *
 * Ends the stream.  A TIFF reaches @fp only here (its pages are linked by
 * seeking, in a temporary file); other formats are complete after
 * dae_image_writer_finish().
 *
 * Returns: TRUE if the whole stream reached @fp.
 */
gboolean dae_image_writer_close (DaeImageWriter *writer, GError **error);

/**
 * dae_image_writer_free:
 * @writer: (nullable): a writer, finished or not
 *
 * Returns: nothing.
 */
void dae_image_writer_free (DaeImageWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeImageWriter, dae_image_writer_free)

/* IDX files (MNIST): unsigned bytes, 1 to 3 dimensions, plain or gzip'd. */

/* Largest IDX payload accepted: 1 GiB. */
#define DAE_IDX_MAX_BYTES (G_GUINT64_CONSTANT (1) << 30)

/**
 * dae_idx_load:
 * @path: an IDX file, plain or gzip'd (told by its magic)
 * @n_dims: (out): its number of dimensions, 1..3
 * @dims: (out): its dimensions (e.g. N, H, W); those beyond @n_dims are 1
 * @error: return location for an error
 *
 * Reads an unsigned-byte IDX file, checking its magic, its dimensions and
 * that its length is exactly what they imply.
 *
 * Returns: (transfer full): dims[0] x dims[1] x dims[2] bytes, to be freed
 * with g_free(); NULL with @error set on failure.
 */
guint8 *dae_idx_load (const char *path, guint *n_dims, guint dims[3],
                      GError **error);

/**
 * dae_idx_load_memory:
 * @data: the bytes of an IDX file, plain or gzip'd
 * @size: their number
 * @n_dims: (out): its number of dimensions
 * @dims: (out): its dimensions
 * @error: return location for an error
 *
 * Like dae_idx_load(), from memory.
 *
 * Returns: (transfer full): the elements, or NULL with @error set.
 */
guint8 *dae_idx_load_memory (const void *data, size_t size, guint *n_dims,
                             guint dims[3], GError **error);

/**
 * dae_idx_save:
 * @path: the file to write
 * @n_dims: 1..3
 * @dims: the dimensions (each >= 1)
 * @data: their product of bytes
 * @gzip: whether to gzip the file
 * @error: return location for an error
 *
 * Writes an unsigned-byte IDX file atomically (temporary file + rename).
 *
 * Returns: TRUE on success.
 */
gboolean dae_idx_save (const char *path, guint n_dims, const guint dims[3],
                       const guint8 *data, gboolean gzip, GError **error);


/* ==== Tiling and denoising images (core/tiler.c) ========================= */

/* How --invert treats polarity: the digit models see light strokes on dark.
 * A model names the background it was trained on in its metadata key
 * "background": "dark" (the default when absent), "light" or "any" (never
 * inverted by auto). */
typedef enum {
  DAE_INVERT_AUTO = 0, /* per region: each tile looks at the band of the
                        * image around it (a few patches wide) and is inverted
                        * when its ink is darker than its background and the
                        * model's is not (or the reverse); tiles with no clear
                        * ink follow the tile above, their row, then the
                        * whole image's majority */
  DAE_INVERT_ON = 1,
  DAE_INVERT_OFF = 2
} DaeInvert;

/* Colour images (3 colour channels): denoise the luma only (Cb and Cr kept,
 * their noise too), each of R, G and B, or the three planes of the
 * opponent transform (Y = (R+G+B)/3, (R-B)/2, (R-2G+B)/4, the colour
 * space of CBM3D: the noise splits the same way over the planes and the
 * chroma planes are smooth, so the model takes it off them too).  AUTO
 * (the default) picks OPPONENT for photos and LUMA for document pages. */
typedef enum {
  DAE_COLOR_LUMA = 0,
  DAE_COLOR_RGB = 1,
  DAE_COLOR_OPPONENT = 2,
  DAE_COLOR_AUTO = 3
} DaeColorMode;

/* strength: let the denoiser weigh the model against the input by the
 * noise it measures (the default).  A model that records "clean-error"
 * (the error e of its output on clean images, and "clean-error-detail" k)
 * gets the weight sigma^2 / (sigma^2 + e^2 + k d^2) on each plane, d the
 * image's measured fine detail, the least-squares blend of two independent
 * estimates: a clean photo is left nearly as it
 * is, a noisy one denoised in full.  Other models get strength 1. */
#define DAE_STRENGTH_AUTO (-1.0)

typedef struct {
  guint stride;        /* tile step in pixels, 1..patch; 0 = the model's
                        * metadata "stride", else half a patch */
  double strength;     /* 0..1: blend of the denoised image over the input,
                        * or DAE_STRENGTH_AUTO */
  DaeInvert invert;
  DaeColorMode color;
  guint threads;       /* 0 = all cores; results do not depend on it */
  DaeConvPath conv_path;
} DaeDenoiseOptions;

/**
 * dae_denoise_options_init:
 * @options: options to fill with the defaults (stride = half a patch,
 *   strength auto, invert auto, colour auto, all cores, automatic conv
 *   path)
 *
 * Returns: nothing.
 */
void dae_denoise_options_init (DaeDenoiseOptions *options);

/* A streaming denoiser for one image: rows go in, denoised rows come out a
 * band later; memory grows with the width, not the height, as long as the
 * caller pulls the finished rows after each push (rows not pulled wait in a
 * queue).  Samples are floats in [0,1]; outputs are clamped to [0,1], and
 * alpha is copied.  Colour: see DaeColorMode (LUMA adds the change of the
 * BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B to each of R, G, B).
 * Tiles are blended with a sin^2 window normalised by the sum of the windows,
 * borders are mirrored (reflect-101); an image of exactly the patch size is
 * one tile, so at strength 1 with invert off its output is bit for bit
 * dae_runner_forward()'s.  Results do not depend on the thread count.
 *
 * Automatic choices (a model set with several models, invert auto with a
 * model that has a polarity, strength auto with a model that records its
 * clean error) are made from the image's first rows: up to 2 million
 * samples (at least 256 rows, or the whole image), held until then; no row
 * comes out before.  dae_denoiser_describe() says what was chosen and why. */
typedef struct _DaeDenoiser DaeDenoiser;

/**
 * dae_denoiser_new:
 * @model: the model; it must outlive the denoiser
 * @options: (nullable): options, NULL for the defaults
 * @width: image width
 * @height: image height
 * @channels: samples per pixel, 1..4 (alpha last, if any)
 * @has_alpha: whether the last channel is alpha (passed through untouched)
 * @error: return location for an error
 *
 * Returns: (transfer full): a denoiser, or NULL with @error set (bad
 * options or sizes).
 */
DaeDenoiser *dae_denoiser_new (const DaeModel *model,
                               const DaeDenoiseOptions *options, guint width,
                               guint height, guint channels,
                               gboolean has_alpha, GError **error);

/**
 * dae_denoiser_push_rows:
 * @denoiser: a denoiser
 * @rows: n_rows x width x channels floats in [0,1], channels interleaved
 * @n_rows: number of rows (the total over all calls is the image height)
 * @error: return location for an error
 *
 * Returns: TRUE on success, FALSE if more rows than the height are pushed.
 */
gboolean dae_denoiser_push_rows (DaeDenoiser *denoiser, const float *rows,
                                 guint n_rows, GError **error);

/**
 * dae_denoiser_pull_rows:
 * @denoiser: a denoiser
 * @rows: room for max_rows x width x channels floats
 * @max_rows: the most rows wanted
 *
 * Takes the denoised rows that are ready, in order.
 *
 * Returns: the number of rows written to @rows (0 when none is ready yet).
 */
guint dae_denoiser_pull_rows (DaeDenoiser *denoiser, float *rows,
                              guint max_rows);

/**
 * dae_denoiser_get_inverted:
 * @denoiser: a denoiser
 *
 * Returns: 1 if every tile run so far was inverted around the model, 0 if
 * none was, 2 if some were (regions of both polarities), -1 while no tile
 * has run yet.
 */
int dae_denoiser_get_inverted (const DaeDenoiser *denoiser);

/**
 * dae_denoiser_get_model:
 * @denoiser: a denoiser
 *
 * Returns: (transfer none) (nullable): the model in use, or NULL while a
 * model set's automatic choice is not made yet (before the first rows).
 */
const DaeModel *dae_denoiser_get_model (const DaeDenoiser *denoiser);

/**
 * dae_denoiser_describe:
 * @denoiser: a denoiser
 *
 * One line on how the image is processed (tiles, threads, convolution
 * paths, inversion), for verbose output.
 *
 * Returns: (transfer full): the text, to be freed with g_free().
 */
char *dae_denoiser_describe (const DaeDenoiser *denoiser);

/**
 * dae_denoiser_free:
 * @denoiser: (nullable): a denoiser
 *
 * Returns: nothing.
 */
void dae_denoiser_free (DaeDenoiser *denoiser);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeDenoiser, dae_denoiser_free)

/**
 * dae_denoise_image:
 * @model: the model
 * @options: (nullable): options
 * @width: image width
 * @height: image height
 * @channels: samples per pixel (1..4)
 * @has_alpha: whether the last channel is alpha
 * @input: height x width x channels floats in [0,1]
 * @output: room for as many
 * @error: return location for an error
 *
 * Denoises a whole image held in memory (the streaming denoiser underneath).
 *
 * Returns: TRUE on success.
 */
gboolean dae_denoise_image (const DaeModel *model,
                            const DaeDenoiseOptions *options, guint width,
                            guint height, guint channels, gboolean has_alpha,
                            const float *input, float *output, GError **error);

/**
 * dae_model_find:
 * @name: a model name ("document", "mnist") or a path to a .dae file
 * @error: return location for an error
 *
 * Looks NAME.dae up in the directories of $DAE_MODEL_PATH (colon-separated),
 * the installed weights directory, then the source tree's weights/ (for
 * uninstalled use).  A name containing '/' or ending in ".dae", or not
 * found but naming a file, is a path.  NULL or "" means the default: the
 * first of "document", "mnist" and "seed" that is found.
 *
 * Returns: (transfer full): the path of the model file, or NULL with @error.
 */
char *dae_model_find (const char *name, GError **error);

/**
 * dae_model_list:
 *
 * Returns: (transfer full): the names of the models found in the
 * directories dae_model_find() searches, sorted, a NULL-terminated array to
 * free with g_strfreev().
 */
char **dae_model_list (void);

/* The models a front end hands to the denoiser: one model (-m NAME or
 * FILE), or, by default, the shipped document and photo models, between
 * which each image's denoiser chooses from the image's own statistics: a
 * page (bimodal levels, thin strokes, paper blocks) gets the document
 * model, anything else the photo model, which does less harm where the
 * guess is wrong. */
typedef struct _DaeModelSet DaeModelSet;

/**
 * dae_model_set_load:
 * @name: (nullable): NULL, "" or "auto" for the automatic choice (falling
 *   back to dae_model_find (NULL)'s model when the document or the photo
 *   model is missing), otherwise a name or file as for dae_model_find()
 * @error: return location for an error
 *
 * Returns: (transfer full): the set, or NULL with @error.
 */
DaeModelSet *dae_model_set_load (const char *name, GError **error);

/**
 * dae_model_set_free:
 * @set: (nullable): a set
 *
 * Returns: nothing.
 */
void dae_model_set_free (DaeModelSet *set);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeModelSet, dae_model_set_free)

/**
 * dae_model_set_get_n_models:
 * @set: a set
 *
 * Returns: 1 for a single model, 2 for the automatic choice.
 */
guint dae_model_set_get_n_models (const DaeModelSet *set);

/**
 * dae_model_set_get_model:
 * @set: a set
 * @index: 0 .. n_models - 1 (automatic: 0 the document model, 1 the photo model)
 * @path: (out) (optional) (transfer none): the model's file
 *
 * Returns: (transfer none): the model.
 */
const DaeModel *dae_model_set_get_model (const DaeModelSet *set, guint index,
                                         const char **path);

/**
 * dae_denoiser_new_for_set:
 * @set: the models; it must outlive the denoiser
 * @options: (nullable): options, NULL for the defaults
 * @width: image width
 * @height: image height
 * @channels: samples per pixel, 1..4 (alpha last, if any)
 * @has_alpha: whether the last channel is alpha
 * @error: return location for an error
 *
 * As dae_denoiser_new(), with the model chosen for this image when the set
 * holds several.
 *
 * Returns: (transfer full): a denoiser, or NULL with @error set.
 */
DaeDenoiser *dae_denoiser_new_for_set (const DaeModelSet *set,
                                       const DaeDenoiseOptions *options,
                                       guint width, guint height,
                                       guint channels, gboolean has_alpha,
                                       GError **error);

/* ==== Metrics (core/metrics.c) ============================================ */

/* Quality of denoised images against clean ones, samples in [0,1] (peak 1).
 *
 * PSNR = 10 log10(1 / MSE) dB, computed per image and then averaged over
 * the images (not the PSNR of the pooled MSE); an image equal to its
 * reference scores DAE_PSNR_MAX_DB, and no image scores more.
 *
 * SSIM is Wang et al. 2004 with skimage.metrics.structural_similarity's
 * defaults at data_range=1: a 7x7 uniform window, K1 = 0.01, K2 = 0.03,
 * sample (N-1) covariances, averaged over the positions where the window
 * lies wholly inside the image; then averaged over the images.
 *
 * Batch functions take @n images of @height x @width floats packed one
 * after the other; plane functions take one plane with a row stride in
 * floats.  Sums run in double in a fixed order: results are deterministic. */

#define DAE_PSNR_MAX_DB 100.0
#define DAE_SSIM_WINDOW 7

/**
 * dae_psnr_plane:
 * @width: plane width (>= 1)
 * @height: plane height (>= 1)
 * @x: the image to score
 * @x_stride: floats between rows of @x
 * @ref: the clean reference
 * @ref_stride: floats between rows of @ref
 *
 * Returns: the PSNR of @x against @ref in dB, peak 1, at most
 * DAE_PSNR_MAX_DB.
 */
double dae_psnr_plane (guint width, guint height, const float *x,
                       size_t x_stride, const float *ref, size_t ref_stride);

/**
 * dae_ssim_plane:
 * @width: plane width
 * @height: plane height
 * @x: the image to score
 * @x_stride: floats between rows of @x
 * @ref: the clean reference
 * @ref_stride: floats between rows of @ref
 *
 * Memory is O(@width): pages of any height are fine.
 *
 * Returns: the mean SSIM of @x against @ref (1 when equal), or NAN if the
 * plane is smaller than DAE_SSIM_WINDOW in either direction.
 */
double dae_ssim_plane (guint width, guint height, const float *x,
                       size_t x_stride, const float *ref, size_t ref_stride);

/**
 * dae_psnr_mean:
 * @n: number of images
 * @height: image height
 * @width: image width
 * @x: n x height x width floats: the images to score
 * @ref: as many: their clean references
 *
 * Returns: the mean over the images of their PSNR (dae_psnr_plane()), or
 * NAN if @n is 0.
 */
double dae_psnr_mean (size_t n, guint height, guint width, const float *x,
                      const float *ref);

/**
 * dae_ssim_mean:
 * @n: number of images
 * @height: image height (>= DAE_SSIM_WINDOW)
 * @width: image width (>= DAE_SSIM_WINDOW)
 * @x: n x height x width floats: the images to score
 * @ref: as many: their clean references
 *
 * Returns: the mean over the images of their SSIM (dae_ssim_plane()), or
 * NAN if @n is 0 or the images are smaller than the window.
 */
double dae_ssim_mean (size_t n, guint height, guint width, const float *x,
                      const float *ref);

/**
 * dae_bce_mean:
 * @n: number of images
 * @height: image height
 * @width: image width
 * @output: n x height x width predicted probabilities in [0,1]
 * @target: as many targets in [0,1] (the clean images)
 *
 * Binary cross-entropy -(t log p + (1-t) log(1-p)) averaged over every
 * pixel, each log clamped at -100 as PyTorch's BCELoss does (so p = 0 or 1
 * gives finite values).
 *
 * Returns: the mean BCE, or NAN if there are no pixels.
 */
double dae_bce_mean (size_t n, guint height, guint width, const float *output,
                     const float *target);

/**
 * dae_median3x3_plane:
 * @width: plane width (>= 1)
 * @height: plane height (>= 1)
 * @src: the input plane
 * @src_stride: floats between rows of @src
 * @dst: the output plane; must not overlap @src
 * @dst_stride: floats between rows of @dst
 *
 * The classical 3x3 median filter (a baseline for the models).  The border
 * is replicated: pixels outside the plane take the value of the nearest
 * edge pixel, so the size is kept and corners see their own value 4 times.
 *
 * Returns: nothing.
 */
void dae_median3x3_plane (guint width, guint height, const float *src,
                          size_t src_stride, float *dst, size_t dst_stride);

/**
 * dae_median3x3:
 * @n: number of images
 * @height: image height
 * @width: image width
 * @src: n x height x width floats
 * @dst: room for as many; must not overlap @src
 *
 * dae_median3x3_plane() on each image of a batch.
 *
 * Returns: nothing.
 */
void dae_median3x3 (size_t n, guint height, guint width, const float *src,
                    float *dst);

/* ==== Training (core/train.c) ============================================ */

/* Training runs forward through the same layer code as inference, then
 * backward, batch by batch.  A batch is cut into fixed shards of a few
 * images; the pool's workers take shards, each shard's gradients go to its
 * own buffer, and the buffers are summed in shard order: the bytes of a
 * trained model depend on the seed and the data, not on the number of
 * threads. */

typedef enum {
  DAE_LOSS_BCE = 0, /* binary cross-entropy, mean over every output sample */
  DAE_LOSS_MSE = 1  /* mean squared error */
} DaeLoss;

/* Where Adam's epsilon goes; they differ only for gradients near epsilon. */
typedef enum {
  DAE_ADAM_KERAS = 0,  /* p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps) */
  DAE_ADAM_PYTORCH = 1 /* p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps) */
} DaeAdamFormula;

typedef struct {
  DaeLoss loss;
  double learning_rate;   /* Adam: 1e-3 */
  double beta1, beta2;    /* 0.9, 0.999 */
  double epsilon;         /* 1e-7 (Keras) */
  DaeAdamFormula adam_formula;
  guint batch_size;       /* 128 */
  guint threads;          /* 0 = all cores; results do not depend on it */
  guint64 seed;           /* batch order and fresh noise */
  DaeConvPath conv_path;
} DaeTrainOptions;

/* Largest batch size accepted. */
#define DAE_TRAIN_MAX_BATCH 65536u

/**
 * dae_train_options_init:
 * @options: options to fill with the defaults: BCE, Adam with Keras'
 *   defaults (lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7), batch 128,
 *   all cores, seed 0, automatic convolution path
 *
 * Returns: nothing.
 */
void dae_train_options_init (DaeTrainOptions *options);

/**
 * dae_model_init_glorot:
 * @model: a model
 * @seed: the seed of the draw
 *
 * Keras' defaults: weights Glorot-uniform, U(+-sqrt(6 / (fan_in +
 * fan_out))) with fan_in = in_channels x kernel area and fan_out =
 * out_channels x kernel area; biases zero.
 *
 * Returns: nothing.
 */
void dae_model_init_glorot (DaeModel *model, guint64 seed);

/* Architectures from a short text (see dae-train(1), ARCHITECTURES):
 * comma-separated layers `cN[:act]` (3x3 conv, default relu), `tN[:act]`
 * (2x2 stride-2 transposed conv, default relu), `p` (2x2 max-pool), `u`
 * (2x upsampling), `add:REF[:act]` and `cat:REF` (skip connections to REF:
 * `in`, a layer number from 0 or a name given by suffixing a layer with
 * `=NAME`); act is relu, sigmoid or none.  Or a preset name. */

/**
 * dae_arch_presets:
 *
 * Returns: (transfer none): the NULL-terminated names of the presets
 * ("tutorial" first: the default).
 */
const char *const *dae_arch_presets (void);

/**
 * dae_arch_preset_spec:
 * @name: a preset name
 *
 * Returns: (transfer none) (nullable): its layer list, NULL if @name is
 * not a preset.
 */
const char *dae_arch_preset_spec (const char *name);

/**
 * dae_model_new_from_arch:
 * @spec: a preset name or a layer list (NULL or "" = "tutorial")
 * @channels: input and output channels
 * @patch_height: the training patch height
 * @patch_width: the training patch width
 * @error: return location for an error
 *
 * Builds the model (parameters zero; see dae_model_init_glorot()) and
 * records the expanded layer list as metadata "arch".
 *
 * Returns: (transfer full): the model, or NULL with @error set
 * (DAE_ERROR_INVALID for a syntax error, naming the offending token;
 * DAE_ERROR_SHAPE if the layers do not map the patch onto itself).
 */
DaeModel *dae_model_new_from_arch (const char *spec, guint channels,
                                   guint patch_height, guint patch_width,
                                   GError **error);

/* Noise models (see dae-train(1), NOISE): `gaussian:SIGMA`
 * (clip(x + SIGMA N(0,1), 0, 1)), `saltpepper:P` (a fraction P of the
 * samples set to 0 or 1, half each), `speckle:S` (clip(x + S x N(0,1))),
 * `none`; every value may be a range LO-HI, drawn per image.  `a+b`
 * applies a, then b, to each image; `a,b` picks one of a or b per image
 * (uniformly). */
typedef struct _DaeNoise DaeNoise;

/**
 * dae_noise_new:
 * @spec: a noise specification
 * @error: return location for an error
 *
 * Returns: (transfer full): the noise model, or NULL with @error set
 * (DAE_ERROR_INVALID) naming what is wrong in @spec.
 */
DaeNoise *dae_noise_new (const char *spec, GError **error);

/**
 * dae_noise_to_string:
 * @noise: a noise model
 *
 * Returns: (transfer full): its canonical specification, to free with
 * g_free().
 */
char *dae_noise_to_string (const DaeNoise *noise);

/**
 * dae_noise_apply:
 * @noise: a noise model
 * @seed: the seed
 * @first_index: index of the first image in its data set
 * @n: number of images
 * @image_floats: floats per image
 * @clean: n x image_floats samples in [0,1]
 * @noisy: room for as many (may be @clean)
 *
 * Image k gets noise drawn from (@seed, @first_index + k) alone, so any
 * split of a data set into calls gives the same result.
 *
 * Returns: nothing.
 */
void dae_noise_apply (const DaeNoise *noise, guint64 seed, size_t first_index,
                      size_t n, size_t image_floats, const float *clean,
                      float *noisy);

/**
 * dae_noise_free:
 * @noise: (nullable): a noise model
 *
 * Returns: nothing.
 */
void dae_noise_free (DaeNoise *noise);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeNoise, dae_noise_free)

/**
 * dae_random_crops:
 * @n_images: number of source images
 * @images: their samples, each height x width floats (one channel)
 * @widths: their widths
 * @heights: their heights
 * @n_patches: crops wanted
 * @patch_height: crop height
 * @patch_width: crop width
 * @seed: the seed
 * @error: return location for an error
 *
 * Cuts @n_patches crops at random positions; each crop picks its image
 * with probability proportional to the number of positions it offers.
 *
 * Returns: (transfer full): n_patches x patch_height x patch_width floats
 * (g_free()), or NULL with @error set if no image is large enough.
 */
float *dae_random_crops (guint n_images, const float *const *images,
                         const guint *widths, const guint *heights,
                         size_t n_patches, guint patch_height,
                         guint patch_width, guint64 seed, GError **error);

/* A data set for one epoch: n images of the model's patch shape. */
typedef struct {
  size_t n;
  const float *clean;    /* n x channels x height x width: the targets */
  const float *noisy;    /* nullable: fixed inputs (noise drawn once) */
  const DaeNoise *noise; /* when noisy is NULL: fresh noise each epoch */
} DaeTrainData;

/* Called after each batch; return FALSE to stop (DAE_ERROR_CANCELLED). */
typedef gboolean (*DaeTrainProgressFunc) (size_t done, size_t total,
                                          gpointer user_data);

typedef struct _DaeTrainer DaeTrainer;

/**
 * dae_trainer_new:
 * @model: the model to train, in place; it must outlive the trainer
 * @options: (nullable): options, NULL for the defaults
 * @error: return location for an error
 *
 * Returns: (transfer full): a trainer (fresh Adam state), or NULL with
 * @error set if an option is out of range or the model cannot be trained
 * on its own patch size.
 */
DaeTrainer *dae_trainer_new (DaeModel *model, const DaeTrainOptions *options,
                             GError **error);

/**
 * dae_trainer_free:
 * @trainer: (nullable): a trainer
 *
 * Returns: nothing.
 */
void dae_trainer_free (DaeTrainer *trainer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeTrainer, dae_trainer_free)

/**
 * dae_trainer_get_n_threads:
 * @trainer: a trainer
 *
 * Returns: the number of threads it computes with.
 */
guint dae_trainer_get_n_threads (const DaeTrainer *trainer);

/**
 * dae_trainer_gradients:
 * @trainer: a trainer
 * @n: number of images (1..DAE_TRAIN_MAX_BATCH)
 * @input: n patches: the network's input
 * @target: n patches: what it should output
 * @loss: (out) (optional): the mean loss
 * @grad_params: (nullable): room for dae_model_get_n_params() floats: the
 *   gradient of the loss with respect to each parameter, in .dae order
 * @grad_input: (nullable): room for n patches: the gradient with respect
 *   to @input
 * @error: return location for an error
 *
 * Forward and backward on one batch, without changing the model.  With
 * BCE after a sigmoid the two are differentiated together (dL/dz = p - t,
 * as Keras does), which differs from the clamped BCE only where p rounds
 * to exactly 0 or 1.
 *
 * Returns: TRUE on success.
 */
gboolean dae_trainer_gradients (DaeTrainer *trainer, size_t n,
                                const float *input, const float *target,
                                double *loss, float *grad_params,
                                float *grad_input, GError **error);

/**
 * dae_trainer_step:
 * @trainer: a trainer
 * @n: number of images in the batch (1..DAE_TRAIN_MAX_BATCH)
 * @input: n patches
 * @target: n patches
 * @loss: (out) (optional): the batch's mean loss before the step
 * @error: return location for an error
 *
 * One Adam step on one batch.
 *
 * Returns: TRUE on success.
 */
gboolean dae_trainer_step (DaeTrainer *trainer, size_t n, const float *input,
                           const float *target, double *loss, GError **error);

/**
 * dae_trainer_apply_gradients:
 * @trainer: a trainer
 * @grad: dae_model_get_n_params() floats, in .dae order
 *
 * One Adam step with a given gradient (what dae_trainer_step() does after
 * computing it).
 *
 * Returns: nothing.
 */
void dae_trainer_apply_gradients (DaeTrainer *trainer, const float *grad);

/**
 * dae_trainer_train_epoch:
 * @trainer: a trainer
 * @data: the training data
 * @epoch: the epoch number (0 first): with the seed, it selects the batch
 *   order and the fresh noise
 * @progress: (nullable): called after each batch
 * @user_data: for @progress
 * @loss: (out) (optional): mean training loss over the epoch's images
 * @error: return location for an error
 *
 * One pass over @data in shuffled batches of the batch size (the last one
 * smaller), one Adam step each.
 *
 * Returns: TRUE on success.
 */
gboolean dae_trainer_train_epoch (DaeTrainer *trainer,
                                  const DaeTrainData *data, guint epoch,
                                  DaeTrainProgressFunc progress,
                                  gpointer user_data, double *loss,
                                  GError **error);

/**
 * dae_trainer_evaluate:
 * @trainer: a trainer
 * @n: number of images
 * @input: n patches
 * @target: (nullable): n patches, for @loss
 * @loss: (out) (optional): the mean loss against @target
 * @output: (nullable): room for n patches: the model's output
 * @error: return location for an error
 *
 * Runs the model (forward only) on all threads.
 *
 * Returns: TRUE on success.
 */
gboolean dae_trainer_evaluate (DaeTrainer *trainer, size_t n,
                               const float *input, const float *target,
                               double *loss, float *output, GError **error);


G_END_DECLS

#endif /* DAE_H */
