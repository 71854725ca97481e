/* dae/common.h: the version, the error domain and the DAE_API mark.
 * Part of the dae API: include <dae.h>, which includes every part.
 *
 * Conventions: every fallible function takes a trailing `GError **error`
 * (domain DAE_ERROR) and reports failure through its return value (FALSE or
 * NULL); the library never prints and never exits.  Objects are opaque and
 * freed with their own `*_free` function.  Tensors are float32, NCHW.
 */
#ifndef DAE_DAE_COMMON_H
#define DAE_DAE_COMMON_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

G_BEGIN_DECLS

/* Marks the functions libdae exports: it is built with hidden visibility,
 * so anything without this mark stays inside the library. */
#if defined(__GNUC__) || defined(__clang__)
#define DAE_API __attribute__ ((visibility ("default"))) extern
#else
#define DAE_API extern
#endif

#define DAE_VERSION_MAJOR 0
#define DAE_VERSION_MINOR 1
#define DAE_VERSION_MICRO 0
#define DAE_VERSION_STRING "0.1.0"

/**
 * dae_version:
 *
 * Returns: the library's version string, e.g. "0.1.0".
 */
DAE_API const char *dae_version (void);

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
DAE_API GQuark dae_error_quark (void);

G_END_DECLS

#endif /* DAE_DAE_COMMON_H */
