/* fuzz-png.c: libFuzzer harness for the PNG reader (through libpng, with
 * its user limits and longjmp error handling) and what follows a PNG in a
 * stream.  Mutations nearly always break a chunk's CRC, which stops libpng
 * at once; so an input with bad CRCs is read twice: as it is, and with
 * every CRC recomputed, which lets the mutations reach the chunk parsers. */
#include "fuzz-image.h"

#include <zlib.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static guint32
get_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* Rewrites the CRC of each chunk of the PNG at the start of @buf; returns
 * whether one changed. */
static gboolean
fix_crcs (guint8 *buf, size_t size)
{
  gboolean changed = FALSE;
  size_t pos = 8;
  if (size < 8 || buf[0] != 0x89 || buf[1] != 'P')
    return FALSE;
  while (size - pos >= 12)
    {
      guint32 len = get_be32 (buf + pos);
      if (len > size - pos - 12)
        break;
      guint8 *crc_at = buf + pos + 8 + len;
      guint32 crc = (guint32) crc32 (crc32 (0, NULL, 0), buf + pos + 4, len + 4);
      if (get_be32 (crc_at) != crc)
        {
          crc_at[0] = (guint8) (crc >> 24);
          crc_at[1] = (guint8) (crc >> 16);
          crc_at[2] = (guint8) (crc >> 8);
          crc_at[3] = (guint8) crc;
          changed = TRUE;
        }
      gboolean iend = memcmp (buf + pos + 4, "IEND", 4) == 0;
      pos += 12 + (size_t) len;
      if (iend)
        break;
    }
  return changed;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  fuzz_read_stream (data, size);
  guint8 *copy = g_memdup2 (data, size);
  if (fix_crcs (copy, size))
    fuzz_read_stream (copy, size);
  g_free (copy);
  return 0;
}
