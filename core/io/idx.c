/* idx.c: MNIST's IDX files (unsigned bytes, 1 to 3 dimensions), plain or
 * gzip'd, read whole and written atomically. */
#include "io-private.h"

#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
#define IDX_MAX_HEADER (4 + 4 * 3)

/* Parses the header in @d (@len bytes available so far).  Returns FALSE
 * with @error unset if more bytes are needed. */
static gboolean
parse_header (const guint8 *d, size_t len, guint *n_dims, guint dims[3],
              size_t *header, guint64 *payload, GError **error)
{
  if (len < 4)
    return FALSE;
  if (d[0] != 0 || d[1] != 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           "not an IDX file (bad magic number)");
      return FALSE;
    }
  if (d[2] != IDX_UBYTE)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "IDX element type 0x%02x not supported (only unsigned bytes)",
                   d[2]);
      return FALSE;
    }
  guint nd = d[3];
  if (nd < 1 || nd > 3)
    {
      g_set_error (error, DAE_ERROR, nd ? DAE_ERROR_UNSUPPORTED : DAE_ERROR_FORMAT,
                   "IDX file with %u dimensions (1 to 3 supported)", nd);
      return FALSE;
    }
  if (len < 4 + 4 * (size_t) nd)
    return FALSE;
  guint64 total = 1;
  for (guint i = 0; i < 3; i++)
    {
      guint v = 1;
      if (i < nd)
        {
          const guint8 *p = d + 4 + 4 * i;
          v = (guint) p[0] << 24 | (guint) p[1] << 16 | (guint) p[2] << 8 | p[3];
        }
      if (v == 0)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "IDX dimension %u is zero", i + 1);
          return FALSE;
        }
      total *= v; /* <= 2^30 * 2^32: no overflow */
      if (total > DAE_IDX_MAX_BYTES)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                       "IDX data larger than the limit of %" G_GUINT64_FORMAT
                       " bytes", (guint64) DAE_IDX_MAX_BYTES);
          return FALSE;
        }
      dims[i] = v;
    }
  *n_dims = nd;
  *header = 4 + 4 * (size_t) nd;
  *payload = total;
  return TRUE;
}

static void
truncated (GError **error, const char *what)
{
  g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT, "truncated IDX %s", what);
}

static guint8 *
load_plain (const guint8 *d, size_t size, guint *n_dims, guint dims[3],
            GError **error)
{
  size_t header;
  guint64 payload;
  GError *e = NULL;
  if (!parse_header (d, size, n_dims, dims, &header, &payload, &e))
    {
      if (e)
        g_propagate_error (error, e);
      else
        truncated (error, "header");
      return NULL;
    }
  if (size - header < payload)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "truncated IDX data (%zu of %" G_GUINT64_FORMAT " bytes)",
                   size - header, payload);
      return NULL;
    }
  if (size - header > payload)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           "junk after the IDX data");
      return NULL;
    }
  return g_memdup2 (d + header, payload);
}

/* Inflates a gzip'd IDX file.  The output buffer grows as data really
 * arrives, never beyond what the header declares: a small bomb cannot
 * make us allocate much. */
static guint8 *
load_gzip (const guint8 *d, size_t size, guint *n_dims, guint dims[3],
           GError **error)
{
  z_stream zs = { 0 };
  if (inflateInit2 (&zs, 16 + MAX_WBITS) != Z_OK)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_LIMIT,
                           "cannot start zlib (out of memory)");
      return NULL;
    }
  zs.next_in = (Bytef *) d;
  guint8 hdr[IDX_MAX_HEADER];
  size_t hdr_len = 0, header = 0, have = 0, alloc = 0;
  guint64 payload = 0;
  gboolean known = FALSE;
  guint8 *out = NULL;
  guint8 chunk[16384];
  const char *fail = NULL;
  GError *e = NULL;
  size_t left = size; /* input not yet given to zlib */

  for (;;)
    {
      if (zs.avail_in == 0 && left > 0)
        {
          zs.avail_in = (uInt) MIN (left, 1u << 30);
          left -= zs.avail_in;
        }
      zs.next_out = chunk;
      zs.avail_out = sizeof chunk;
      int ret = inflate (&zs, Z_NO_FLUSH);
      if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
        {
          g_set_error (&e, DAE_ERROR, DAE_ERROR_FORMAT, "corrupt gzip data: %s",
                       zs.msg ? zs.msg : "error");
          break;
        }
      size_t got = sizeof chunk - zs.avail_out;
      const guint8 *p = chunk;
      if (!known && got > 0)
        {
          size_t k = MIN (got, sizeof hdr - hdr_len);
          memcpy (hdr + hdr_len, p, k);
          hdr_len += k;
          if (parse_header (hdr, hdr_len, n_dims, dims, &header, &payload, &e))
            {
              known = TRUE;
              /* The bytes copied past the header are payload. */
              p = chunk + k - (hdr_len - header);
              got = got - k + (hdr_len - header);
            }
          else if (e)
            break;
          else
            got = 0;
        }
      if (known && got > 0)
        {
          if (got > payload - have)
            {
              fail = "junk after the IDX data";
              break;
            }
          if (have + got > alloc)
            {
              alloc = MIN (payload, MAX (have + got, MAX (2 * alloc, 1u << 20)));
              out = g_realloc (out, alloc);
            }
          memcpy (out + have, p, got);
          have += got;
        }
      if (ret == Z_STREAM_END)
        {
          if (zs.avail_in == 0 && left == 0)
            break;
          /* Concatenated gzip members are one file; anything else is not. */
          if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b)
            inflateReset (&zs);
          else
            {
              fail = "junk after the gzip data";
              break;
            }
        }
      else if (ret == Z_BUF_ERROR && zs.avail_in == 0 && left == 0)
        {
          fail = "truncated gzip data";
          break;
        }
    }
  inflateEnd (&zs);

  if (e == NULL && fail == NULL)
    {
      if (!known)
        fail = "truncated IDX header";
      else if (have < payload)
        g_set_error (&e, DAE_ERROR, DAE_ERROR_FORMAT,
                     "truncated IDX data (%zu of %" G_GUINT64_FORMAT " bytes)",
                     have, payload);
    }
  if (fail)
    g_set_error_literal (&e, DAE_ERROR, DAE_ERROR_FORMAT, fail);
  if (e)
    {
      g_propagate_error (error, e);
      g_free (out);
      return NULL;
    }
  return out;
}

guint8 *
dae_idx_load_memory (const void *data, size_t size, guint *n_dims,
                     guint dims[3], GError **error)
{
  const guint8 *d = data;
  guint nd;
  guint dd[3];
  guint8 *out;
  if (size >= 2 && d[0] == 0x1f && d[1] == 0x8b)
    out = load_gzip (d, size, &nd, dd, error);
  else
    out = load_plain (d, size, &nd, dd, error);
  if (out)
    {
      *n_dims = nd;
      memcpy (dims, dd, sizeof dd);
    }
  return out;
}

guint8 *
dae_idx_load (const char *path, guint *n_dims, guint dims[3], GError **error)
{
  FILE *fp = fopen (path, "rb");
  if (fp == NULL)
    {
      int e = errno;
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "cannot open: %s",
                   g_strerror (e));
      return NULL;
    }
  /* Check the length before reading it all in. */
  struct stat st;
  if (fstat (fileno (fp), &st) == 0 && S_ISREG (st.st_mode)
      && (guint64) st.st_size > DAE_IDX_MAX_BYTES + IDX_MAX_HEADER)
    {
      fclose (fp);
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "IDX file larger than the limit of %" G_GUINT64_FORMAT
                   " bytes", (guint64) DAE_IDX_MAX_BYTES);
      return NULL;
    }
  GByteArray *bytes = g_byte_array_new ();
  guint8 buf[65536];
  size_t k;
  while ((k = fread (buf, 1, sizeof buf, fp)) > 0
         && bytes->len <= DAE_IDX_MAX_BYTES + IDX_MAX_HEADER)
    g_byte_array_append (bytes, buf, (guint) k);
  int e = ferror (fp) ? errno : 0;
  fclose (fp);
  guint8 *out = NULL;
  if (e)
    g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "read error: %s",
                 g_strerror (e));
  else if (bytes->len > DAE_IDX_MAX_BYTES + IDX_MAX_HEADER)
    g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                 "IDX file larger than the limit of %" G_GUINT64_FORMAT
                 " bytes", (guint64) DAE_IDX_MAX_BYTES);
  else
    out = dae_idx_load_memory (bytes->data, bytes->len, n_dims, dims, error);
  g_byte_array_unref (bytes);
  return out;
}

gboolean
dae_idx_save (const char *path, guint n_dims, const guint dims[3],
              const guint8 *data, gboolean gzip, GError **error)
{
  if (n_dims < 1 || n_dims > 3)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "IDX files with %u dimensions not supported", n_dims);
      return FALSE;
    }
  guint64 total = 1;
  for (guint i = 0; i < n_dims; i++)
    {
      total *= dims[i];
      if (dims[i] == 0 || total > DAE_IDX_MAX_BYTES)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "IDX dimension %u of %u out of range", i + 1, dims[i]);
          return FALSE;
        }
    }
  size_t header = 4 + 4 * (size_t) n_dims, len = header + total;
  g_autofree guint8 *file = g_malloc (len);
  file[0] = file[1] = 0;
  file[2] = IDX_UBYTE;
  file[3] = (guint8) n_dims;
  for (guint i = 0; i < n_dims; i++)
    {
      guint8 *p = file + 4 + 4 * i;
      p[0] = (guint8) (dims[i] >> 24);
      p[1] = (guint8) (dims[i] >> 16);
      p[2] = (guint8) (dims[i] >> 8);
      p[3] = (guint8) dims[i];
    }
  memcpy (file + header, data, total);

  if (gzip)
    {
      z_stream zs = { 0 };
      if (deflateInit2 (&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                        Z_DEFAULT_STRATEGY) != Z_OK)
        {
          g_set_error_literal (error, DAE_ERROR, DAE_ERROR_LIMIT,
                               "cannot start zlib (out of memory)");
          return FALSE;
        }
      size_t bound = deflateBound (&zs, len) + 32;
      guint8 *z = g_malloc (bound);
      zs.next_in = file;
      zs.avail_in = (uInt) len; /* len <= 2^30 + 16 */
      zs.next_out = z;
      zs.avail_out = (uInt) bound;
      int ret = deflate (&zs, Z_FINISH);
      deflateEnd (&zs);
      if (ret != Z_STREAM_END)
        {
          g_free (z);
          g_set_error_literal (error, DAE_ERROR, DAE_ERROR_IO,
                               "gzip compression failed");
          return FALSE;
        }
      len = zs.total_out;
      g_free (file);
      file = z;
    }

  GError *e = NULL;
  if (!g_file_set_contents_full (path, (const char *) file, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0666, &e))
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_IO, e->message);
      g_error_free (e);
      return FALSE;
    }
  return TRUE;
}
