/* pnm.c: netpbm's PBM, PGM, PPM (plain and raw) and PAM, read and written
 * row by row.  Bilevel samples are 1 = white here, 1 = black in PBM files. */
#include "io-private.h"

#include <string.h>

#define PAM_LINE_MAX 1024
#define PLAIN_LINE_MAX 70 /* netpbm keeps plain-format lines this short */

static gboolean
is_plain (DaeImageFormat f)
{
  return f <= DAE_IMAGE_FORMAT_PPM_PLAIN;
}

static gboolean
is_pbm (DaeImageFormat f)
{
  return f == DAE_IMAGE_FORMAT_PBM || f == DAE_IMAGE_FORMAT_PBM_PLAIN;
}

/* netpbm's pm_getc: a comment reads as the newline that ends it. */
static int
header_getc (DaeSource *s)
{
  int c = dae__source_getc (s);
  if (c != '#')
    return c;
  do
    c = dae__source_getc (s);
  while (c != '\n' && c != '\r' && c != EOF);
  return c == EOF ? EOF : '\n';
}

/* Reads an unsigned decimal after whitespace and comments, and the
 * character that ends it (whitespace, or EOF for the last number). */
static gboolean
header_uint (DaeSource *s, const char *what, guint *out, GError **error)
{
  int c;
  do
    c = header_getc (s);
  while (c != EOF && dae__is_space (c));
  if (c == EOF)
    {
      dae__source_set_short_error (s, error, "truncated header (no %s)", what);
      return FALSE;
    }
  if (!g_ascii_isdigit (c))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "bad %s in header: %s", what,
                   c == '-' ? "negative number" : "not a number");
      return FALSE;
    }
  guint64 v = 0;
  for (; c != EOF && g_ascii_isdigit (c); c = header_getc (s))
    {
      v = v * 10 + (guint) (c - '0');
      if (v > G_MAXINT)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                       "%s in header is too large", what);
          return FALSE;
        }
    }
  if (c != EOF && !dae__is_space (c))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "junk in header after the %s", what);
      return FALSE;
    }
  if (c == EOF && s->io_errno)
    {
      dae__source_set_short_error (s, error, "read error");
      return FALSE;
    }
  *out = (guint) v;
  return TRUE;
}

static gboolean
check_maxval (guint64 maxval, GError **error)
{
  if (maxval < 1 || maxval > 65535)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "maxval %" G_GUINT64_FORMAT " out of range 1..65535", maxval);
      return FALSE;
    }
  return TRUE;
}

/* Input text quoted in a message: at most 20 bytes, escaped, so that the
 * message stays one printable line on the user's terminal. */
static char *
quote_input (const char *s)
{
  char buf[21];
  g_strlcpy (buf, s, sizeof buf);
  return g_strescape (buf, NULL);
}

/* Parses a PAM header value: digits only. */
static gboolean
pam_uint (const char *key, const char *value, guint *out, GError **error)
{
  guint64 v = 0;
  if (*value == '\0')
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "PAM header: %s has no value", key);
      return FALSE;
    }
  for (const char *p = value; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        {
          g_autofree char *q = quote_input (value);
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "PAM header: bad %s value '%s'", key, q);
          return FALSE;
        }
      v = v * 10 + (guint) (*p - '0');
      if (v > G_MAXINT)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                       "PAM header: %s is too large", key);
          return FALSE;
        }
    }
  *out = (guint) v;
  return TRUE;
}

static const struct {
  const char *name;
  DaeTupleType type;
  guint depth;
} pam_types[] = {
  { "BLACKANDWHITE", DAE_TUPLE_TYPE_BLACKANDWHITE, 1 },
  { "GRAYSCALE", DAE_TUPLE_TYPE_GRAYSCALE, 1 },
  { "RGB", DAE_TUPLE_TYPE_RGB, 3 },
  { "BLACKANDWHITE_ALPHA", DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA, 2 },
  { "GRAYSCALE_ALPHA", DAE_TUPLE_TYPE_GRAYSCALE_ALPHA, 2 },
  { "RGB_ALPHA", DAE_TUPLE_TYPE_RGB_ALPHA, 4 },
};

/* Reads one header line (without its newline) into @buf. */
static gboolean
pam_line (DaeSource *s, char *buf, GError **error)
{
  size_t n = 0;
  int c;
  while ((c = dae__source_getc (s)) != '\n')
    {
      if (c == EOF)
        {
          dae__source_set_short_error (s, error,
                                       "truncated PAM header (no ENDHDR)");
          return FALSE;
        }
      if (c == '\0' || n + 1 == PAM_LINE_MAX)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       c ? "PAM header line too long"
                         : "PAM header: NUL character");
          return FALSE;
        }
      buf[n++] = (char) c;
    }
  buf[n] = '\0';
  return TRUE;
}

static gboolean
pam_read_header (DaeSource *s, DaeImageInfo *info, GError **error)
{
  /* "P7" ends its line. */
  char line[PAM_LINE_MAX];
  if (!pam_line (s, line, error))
    return FALSE;
  if (*g_strstrip (line) != '\0')
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           "PAM header: junk after P7");
      return FALSE;
    }

  guint width = 0, height = 0, depth = 0, maxval = 0;
  gboolean seen[4] = { FALSE };
  g_autoptr (GString) tupltype = NULL;
  for (;;)
    {
      if (!pam_line (s, line, error))
        return FALSE;
      char *key = g_strstrip (line);
      if (*key == '\0' || *key == '#')
        continue;
      char *value = key;
      while (*value && !dae__is_space (*value))
        value++;
      if (*value)
        *value++ = '\0';
      value = g_strstrip (value);

      if (strcmp (key, "ENDHDR") == 0)
        break;
      static const char *const keys[] = { "WIDTH", "HEIGHT", "DEPTH", "MAXVAL" };
      guint *const vals[] = { &width, &height, &depth, &maxval };
      int k;
      for (k = 0; k < 4 && strcmp (key, keys[k]) != 0; k++)
        ;
      if (k < 4)
        {
          if (seen[k])
            {
              g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           "PAM header: %s given twice", key);
              return FALSE;
            }
          seen[k] = TRUE;
          if (!pam_uint (key, value, vals[k], error))
            return FALSE;
        }
      else if (strcmp (key, "TUPLTYPE") == 0)
        {
          /* Several TUPLTYPE lines concatenate, as in netpbm. */
          if (tupltype == NULL)
            tupltype = g_string_new (value);
          else if (tupltype->len < PAM_LINE_MAX)
            g_string_append_printf (tupltype, " %s", value);
        }
      else
        {
          g_autofree char *q = quote_input (key);
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "PAM header: unknown keyword '%s'", q);
          return FALSE;
        }
    }

  static const char *const names[] = { "WIDTH", "HEIGHT", "DEPTH", "MAXVAL" };
  for (int k = 0; k < 4; k++)
    if (!seen[k])
      {
        g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                     "PAM header: no %s", names[k]);
        return FALSE;
      }
  if (!check_maxval (maxval, error))
    return FALSE;
  if (depth < 1 || depth > 4)
    {
      g_set_error (error, DAE_ERROR, depth ? DAE_ERROR_UNSUPPORTED : DAE_ERROR_FORMAT,
                   "PAM depth %u: only 1 to 4 channels are supported", depth);
      return FALSE;
    }

  static const DaeTupleType by_depth[] = {
    0, DAE_TUPLE_TYPE_GRAYSCALE, DAE_TUPLE_TYPE_GRAYSCALE_ALPHA,
    DAE_TUPLE_TYPE_RGB, DAE_TUPLE_TYPE_RGB_ALPHA
  };
  /* An unknown or missing tuple type is read by its depth. */
  DaeTupleType type = by_depth[depth];
  for (guint i = 0; tupltype && i < G_N_ELEMENTS (pam_types); i++)
    if (strcmp (tupltype->str, pam_types[i].name) == 0)
      {
        if (pam_types[i].depth != depth)
          {
            g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                         "PAM header: DEPTH %u does not fit TUPLTYPE %s",
                         depth, pam_types[i].name);
            return FALSE;
          }
        type = pam_types[i].type;
      }
  if ((type == DAE_TUPLE_TYPE_BLACKANDWHITE
       || type == DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA) && maxval != 1)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "PAM header: %s needs maxval 1, not %u",
                   dae_tuple_type_name (type), maxval);
      return FALSE;
    }

  info->width = width;
  info->height = height;
  info->channels = depth;
  info->maxval = maxval;
  info->tuple_type = type;
  return TRUE;
}

gboolean
dae__pnm_read_header (DaeImageReader *r, int digit, DaeImageInfo *info,
                      GError **error)
{
  DaeSource *s = &r->src;
  DaeImageFormat f = (DaeImageFormat) digit;
  memset (info, 0, sizeof *info);
  info->format = f;
  if (f == DAE_IMAGE_FORMAT_PAM)
    {
      if (!pam_read_header (s, info, error))
        return FALSE;
    }
  else
    {
      guint maxval = 1;
      if (!header_uint (s, "width", &info->width, error)
          || !header_uint (s, "height", &info->height, error))
        return FALSE;
      if (!is_pbm (f) && !header_uint (s, "maxval", &maxval, error))
        return FALSE;
      if (!check_maxval (maxval, error))
        return FALSE;
      info->maxval = maxval;
      gboolean ppm = f == DAE_IMAGE_FORMAT_PPM || f == DAE_IMAGE_FORMAT_PPM_PLAIN;
      info->channels = ppm ? 3 : 1;
      info->tuple_type = is_pbm (f) ? DAE_TUPLE_TYPE_BLACKANDWHITE
                         : ppm ? DAE_TUPLE_TYPE_RGB : DAE_TUPLE_TYPE_GRAYSCALE;
    }
  info->has_alpha = info->channels == 2 || info->channels == 4;
  return TRUE;
}

/* ---- rows --------------------------------------------------------------- */

static gboolean
bad_sample (guint64 v, guint maxval, guint row, GError **error)
{
  g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
               "sample value %" G_GUINT64_FORMAT " exceeds maxval %u at row %u",
               v, maxval, row + 1);
  return FALSE;
}

static gboolean
read_plain_row (DaeImageReader *r, guint row, guint16 *out, GError **error)
{
  DaeSource *s = &r->src;
  const DaeImageInfo *in = &r->info;
  size_t n = (size_t) in->width * in->channels;
  for (size_t i = 0; i < n; i++)
    {
      int c;
      do
        c = header_getc (s);
      while (c != EOF && dae__is_space (c));
      if (c == EOF)
        {
          dae__source_set_short_error (s, error,
                                       "truncated image data at row %u of %u",
                                       row + 1, in->height);
          return FALSE;
        }
      if (in->format == DAE_IMAGE_FORMAT_PBM_PLAIN)
        {
          /* Bits need no separator: "0110" is four pixels. */
          if (c != '0' && c != '1')
            {
              g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           "junk in plain PBM data at row %u", row + 1);
              return FALSE;
            }
          out[i] = c == '0';
          continue;
        }
      if (!g_ascii_isdigit (c))
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "junk in %s data at row %u",
                       dae_image_format_name (in->format), row + 1);
          return FALSE;
        }
      guint64 v = 0;
      for (; c != EOF && g_ascii_isdigit (c); c = header_getc (s))
        v = MIN (v * 10 + (guint) (c - '0'), G_MAXUINT32);
      if (c != EOF && !dae__is_space (c))
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "junk in %s data at row %u",
                       dae_image_format_name (in->format), row + 1);
          return FALSE;
        }
      if (v > in->maxval)
        return bad_sample (v, in->maxval, row, error);
      out[i] = (guint16) v;
    }
  return TRUE;
}

static size_t
raw_row_bytes (const DaeImageInfo *in)
{
  if (is_pbm (in->format))
    return (in->width + 7u) / 8u;
  return (size_t) in->width * in->channels * (in->maxval > 255 ? 2 : 1);
}

gboolean
dae__pnm_read_rows (DaeImageReader *r, guint n_rows, guint16 *samples,
                    GError **error)
{
  const DaeImageInfo *in = &r->info;
  size_t n = (size_t) in->width * in->channels;
  if (is_plain (in->format))
    {
      for (guint y = 0; y < n_rows; y++)
        if (!read_plain_row (r, r->row + y, samples + y * n, error))
          return FALSE;
      return TRUE;
    }

  size_t nb = raw_row_bytes (in);
  guint8 *raw = dae__reader_scratch (r, nb, error);
  if (raw == NULL)
    return FALSE;
  for (guint y = 0; y < n_rows; y++)
    {
      guint row = r->row + y;
      guint16 *out = samples + y * n;
      if (dae__source_read (&r->src, raw, nb) != nb)
        {
          dae__source_set_short_error (&r->src, error,
                                       "truncated image data at row %u of %u",
                                       row + 1, in->height);
          return FALSE;
        }
      if (is_pbm (in->format))
        {
          for (guint x = 0; x < in->width; x++)
            out[x] = !((raw[x >> 3] >> (7 - (x & 7))) & 1);
        }
      else if (in->maxval > 255)
        {
          guint bad = 0;
          for (size_t i = 0; i < n; i++)
            {
              out[i] = (guint16) (raw[2 * i] << 8 | raw[2 * i + 1]);
              bad |= out[i] > in->maxval;
            }
          if (bad)
            for (size_t i = 0; i < n; i++)
              if (out[i] > in->maxval)
                return bad_sample (out[i], in->maxval, row, error);
        }
      else
        {
          guint bad = 0;
          for (size_t i = 0; i < n; i++)
            {
              out[i] = raw[i];
              bad |= raw[i] > in->maxval;
            }
          if (bad)
            for (size_t i = 0; i < n; i++)
              if (out[i] > in->maxval)
                return bad_sample (out[i], in->maxval, row, error);
        }
    }
  return TRUE;
}

/* ---- writing ------------------------------------------------------------ */

static gboolean
write_failed (GError **error)
{
  int e = errno;
  g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "write error: %s",
               g_strerror (e ? e : EIO));
  return FALSE;
}

gboolean
dae__pnm_write_header (FILE *fp, const DaeImageInfo *in, GError **error)
{
  int k;
  if (in->format == DAE_IMAGE_FORMAT_PAM)
    k = fprintf (fp, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH %u\nMAXVAL %u\n"
                 "TUPLTYPE %s\nENDHDR\n", in->width, in->height, in->channels,
                 in->maxval, dae_tuple_type_name (in->tuple_type));
  else if (is_pbm (in->format))
    k = fprintf (fp, "P%d\n%u %u\n", (int) in->format, in->width, in->height);
  else
    k = fprintf (fp, "P%d\n%u %u\n%u\n", (int) in->format, in->width,
                 in->height, in->maxval);
  return k < 0 ? write_failed (error) : TRUE;
}

size_t
dae__pnm_row_bytes_max (const DaeImageInfo *in)
{
  size_t n = (size_t) in->width * in->channels;
  if (in->format == DAE_IMAGE_FORMAT_PBM_PLAIN)
    return n + n / PLAIN_LINE_MAX + 1;
  if (is_plain (in->format))
    return n * 6 + 1; /* "65535 " or "65535\n" each */
  return raw_row_bytes (in);
}

/* Formats a plain row: lines of at most PLAIN_LINE_MAX characters. */
static size_t
format_plain_row (const DaeImageInfo *in, const guint16 *row, guint8 *buf)
{
  size_t n = (size_t) in->width * in->channels, len = 0, line = 0;
  if (in->format == DAE_IMAGE_FORMAT_PBM_PLAIN)
    {
      for (size_t i = 0; i < n; i++)
        {
          if (line == PLAIN_LINE_MAX)
            {
              buf[len++] = '\n';
              line = 0;
            }
          buf[len++] = row[i] ? '0' : '1';
          line++;
        }
      buf[len++] = '\n';
      return len;
    }
  for (size_t i = 0; i < n; i++)
    {
      char num[8];
      size_t k = 0;
      guint v = row[i];
      do
        num[k++] = (char) ('0' + v % 10);
      while ((v /= 10) != 0);
      /* @line counts the separator after the last number on the line. */
      if (line > 0 && line + k > PLAIN_LINE_MAX)
        {
          buf[len - 1] = '\n';
          line = 0;
        }
      line += k + 1;
      while (k > 0)
        buf[len++] = (guint8) num[--k];
      buf[len++] = ' ';
    }
  buf[len - 1] = '\n';
  return len;
}

gboolean
dae__pnm_write_rows (FILE *fp, const DaeImageInfo *in, guint n_rows,
                     const guint16 *samples, guint8 *scratch, GError **error)
{
  size_t n = (size_t) in->width * in->channels;
  for (guint y = 0; y < n_rows; y++)
    {
      const guint16 *row = samples + y * n;
      size_t len;
      if (is_plain (in->format))
        len = format_plain_row (in, row, scratch);
      else if (is_pbm (in->format))
        {
          len = raw_row_bytes (in);
          memset (scratch, 0, len);
          for (guint x = 0; x < in->width; x++)
            if (row[x] == 0)
              scratch[x >> 3] |= (guint8) (0x80 >> (x & 7));
        }
      else if (in->maxval > 255)
        {
          len = 2 * n;
          for (size_t i = 0; i < n; i++)
            {
              scratch[2 * i] = (guint8) (row[i] >> 8);
              scratch[2 * i + 1] = (guint8) row[i];
            }
        }
      else
        {
          len = n;
          for (size_t i = 0; i < n; i++)
            scratch[i] = (guint8) row[i];
        }
      if (fwrite (scratch, 1, len, fp) != len)
        return write_failed (error);
    }
  return TRUE;
}
