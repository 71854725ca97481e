/* fuzz-jpeg.c: libFuzzer harness for the JPEG reader (libjpeg behind a source that
 * reads from the stream and gives back what it read past the EOI, with
 * lost-data warnings made errors), its metadata (Exif, multi-chunk ICC,
 * comments, XMP) and what follows a JPEG in a stream.  The
 * seeds in corpus-jpeg/ come from tests/fuzz/make-corpus; the checks are in
 * fuzz-image.h. */
#include "fuzz-image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  fuzz_read_stream (data, size);
  return 0;
}
