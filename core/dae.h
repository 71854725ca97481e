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
  DAE_CONV_GEMM = 2    /* im2col + BLAS sgemm over the batch */
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

/* ==== Image I/O (core/io) ================================================ */

/* Streaming codecs for netpbm (PBM/PGM/PPM plain and raw, PAM) and PNG
 * images, row by row so that memory grows with the width, never the
 * height; and MNIST's IDX files.
 *
 * Samples are guint16, row-major with channels interleaved, at their native
 * range 0..maxval.  Alpha, if any, is the last channel.  Bilevel images
 * (PBM, PAM BLACKANDWHITE, 1-bit gray PNG) read as maxval 1 with 1 = WHITE,
 * like a PGM (note that inside a PBM file a 1 bit is black: the codec
 * inverts).  PNG palettes are expanded to RGB, or to gray when every
 * palette entry is gray; tRNS becomes an alpha channel; 1/2/4-bit gray
 * keeps maxval 1/3/15; no gamma or sBIT conversion is made. */

typedef enum {
  DAE_IMAGE_FORMAT_PBM_PLAIN = 1, /* P1 */
  DAE_IMAGE_FORMAT_PGM_PLAIN = 2, /* P2 */
  DAE_IMAGE_FORMAT_PPM_PLAIN = 3, /* P3 */
  DAE_IMAGE_FORMAT_PBM = 4,       /* P4 */
  DAE_IMAGE_FORMAT_PGM = 5,       /* P5 */
  DAE_IMAGE_FORMAT_PPM = 6,       /* P6 */
  DAE_IMAGE_FORMAT_PAM = 7,       /* P7 */
  DAE_IMAGE_FORMAT_PNG = 8
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

typedef struct {
  DaeImageFormat format;
  guint width, height;    /* both >= 1 */
  guint channels;         /* samples per pixel, 1..4 */
  guint maxval;           /* 1..65535 */
  gboolean has_alpha;     /* channels 2 and 4 */
  DaeTupleType tuple_type;
  DaePngColorType png_color_type; /* PNG input only, informative */
  guint png_bit_depth;    /* PNG input only: 1, 2, 4, 8 or 16; else 0 */
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
 * PPM 3; PAM and PNG take 1..4 channels.  PNG stores maxval 1, 3, 15 (gray),
 * 255 and 65535 exactly, and rescales other maxvals to 8 or 16 bits.
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
 * PAM or PNG, told apart by their magic numbers), skipping the rows of
 * the current image that were not read.  Whitespace after an image is
 * allowed; anything else that is not another image is an error, as
 * `pamfile -allimages` has it.  An empty stream is an error.  Messages
 * about a second or later image begin with "image N: ".
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
 * after the other to @fp make a multi-image stream.
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

G_END_DECLS

#endif /* DAE_H */
