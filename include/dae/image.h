/* dae/image.h: image I/O: streaming codecs (netpbm, PNG, JPEG, TIFF) and IDX
 * files.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_IMAGE_H
#define DAE_DAE_IMAGE_H

#include <dae/common.h>

G_BEGIN_DECLS

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
DAE_API const char *dae_image_format_name (DaeImageFormat format);

/**
 * dae_tuple_type_name:
 * @tuple_type: a tuple type
 *
 * Returns: its PAM name ("GRAYSCALE", "RGB_ALPHA"...).
 */
DAE_API const char *dae_tuple_type_name (DaeTupleType tuple_type);

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
DAE_API gboolean dae_image_info_set_format (DaeImageInfo *info, DaeImageFormat format,
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
DAE_API DaeImageReader *dae_image_reader_new (FILE *fp);

/**
 * dae_image_reader_new_path:
 * @path: a file name
 * @error: return location for an error
 *
 * Like dae_image_reader_new() on a file it opens and closes itself.
 *
 * Returns: (transfer full): a reader, or NULL if @path cannot be opened.
 */
DAE_API DaeImageReader *dae_image_reader_new_path (const char *path, GError **error);

/**
 * dae_image_reader_new_memory:
 * @data: the bytes of an image stream; not copied, must outlive the reader
 * @size: their number
 *
 * Returns: (transfer full): a reader over memory (tests, fuzzers).
 */
DAE_API DaeImageReader *dae_image_reader_new_memory (const void *data, size_t size);

/**
 * dae_image_reader_set_max_pixels:
 * @reader: a reader
 * @max_pixels: the largest width x height accepted (>= 1)
 *
 * Images larger than this are refused (DAE_ERROR_LIMIT) when their header
 * is read, before anything is allocated for them.  Default:
 * DAE_IMAGE_DEFAULT_MAX_PIXELS.  Returns: nothing.
 */
DAE_API void dae_image_reader_set_max_pixels (DaeImageReader *reader,
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
DAE_API gboolean dae_image_reader_next (DaeImageReader *reader, DaeImageInfo *info,
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
DAE_API gboolean dae_image_reader_read_rows (DaeImageReader *reader, guint n_rows,
                                     guint16 *samples, GError **error);

/**
 * dae_image_reader_get_index:
 * @reader: a reader
 *
 * Returns: the 1-based index of the current image in the stream (0 before
 * the first).
 */
DAE_API guint dae_image_reader_get_index (const DaeImageReader *reader);

/**
 * dae_image_reader_free:
 * @reader: (nullable): a reader
 *
 * Returns: nothing.
 */
DAE_API void dae_image_reader_free (DaeImageReader *reader);

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
DAE_API DaeImageWriter *dae_image_writer_new (FILE *fp, const DaeImageInfo *info,
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
DAE_API gboolean dae_image_writer_write_rows (DaeImageWriter *writer, guint n_rows,
                                      const guint16 *samples, GError **error);

/**
 * dae_image_writer_set_background:
 * @writer: a writer, before its first rows
 * @background: whether to compress on a thread of the writer's own
 *
 * PNG and JPEG rows are then compressed on a thread of their own, a band
 * at a time, while the caller computes the next band (as libvips's disc
 * sink writes in the background): the bytes written are the same.  Rows
 * are copied; an error of the background thread comes back from the next
 * dae_image_writer_write_rows() or dae_image_writer_finish().  Other
 * formats cost little to write and stay on the caller's thread.
 *
 * Returns: nothing.
 */
DAE_API void dae_image_writer_set_background (DaeImageWriter *writer, gboolean background);

/**
 * dae_image_writer_finish:
 * @writer: a writer to which every row was written
 * @error: return location for an error
 *
 * Ends the image (PNG: the IEND chunk) and flushes the stream.
 *
 * Returns: TRUE if the whole image reached the stream.
 */
DAE_API gboolean dae_image_writer_finish (DaeImageWriter *writer, GError **error);

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
DAE_API gboolean dae_image_writer_next (DaeImageWriter *writer, const DaeImageInfo *info,
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
DAE_API gboolean dae_image_writer_close (DaeImageWriter *writer, GError **error);

/**
 * dae_image_writer_free:
 * @writer: (nullable): a writer, finished or not
 *
 * Returns: nothing.
 */
DAE_API void dae_image_writer_free (DaeImageWriter *writer);

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
DAE_API guint8 *dae_idx_load (const char *path, guint *n_dims, guint dims[3],
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
DAE_API guint8 *dae_idx_load_memory (const void *data, size_t size, guint *n_dims,
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
DAE_API gboolean dae_idx_save (const char *path, guint n_dims, const guint dims[3],
                       const guint8 *data, gboolean gzip, GError **error);

/**
 * dae_samples_to_float:
 * @samples: @n integer samples of 0..@maxval, guint8 (@bytes 1) or guint16 (@bytes 2)
 * @bytes: 1 or 2
 * @maxval: the samples' full scale, 1..65535
 * @n: how many
 * @out: room for @n floats: each sample over @maxval, in [0,1]
 *
 * The denoiser's input from integer samples, as dae-filter makes it: every
 * front end that converts the same way gets the same bits out.
 */
DAE_API void dae_samples_to_float (const void *samples, guint bytes, guint maxval, size_t n,
                                   float *out);

/**
 * dae_samples_from_float:
 * @in: @n floats, 0..1 full scale
 * @n: how many
 * @maxval: the samples' full scale, 1..65535
 * @bytes: 1 (guint8, @maxval <= 255) or 2 (guint16)
 * @samples: room for @n samples: the nearest level of 0..@maxval, halves up,
 *   values outside [0,1] (and NaN) clamped to it
 *
 * The reverse of dae_samples_to_float(), as dae-filter rounds.
 */
DAE_API void dae_samples_from_float (const float *in, size_t n, guint maxval, guint bytes,
                                     void *samples);

G_END_DECLS

#endif /* DAE_DAE_IMAGE_H */
