#!/bin/sh
# install-check: `meson install --destdir` of this build, then what README's
# "Installing" promises: programs, library, headers (include/dae-1/, usable
# through pkg-config), man pages, the shipped
# models, dae-import and the OCRmyPDF plugin under the prefix, the GIMP
# plug-ins and the GEGL operation too when they are built (GIMP's and GEGL's
# folders only with -Dgimp_system_install=true: gimp-plugin/meson.build), and
# nothing outside the prefix.  The staged dae-model finds its converter
# relative to its own folder (no path compiled in) and imports a model;
# no installed file contains the source or the build path.
# Usage: install-check.sh BUILD_DIR PREFIX.  Exit 0 = passed, 77 = skipped.
set -eu
build=$1 prefix=$2
src=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/dae-install-XXXXXX")
trap 'rm -rf "$stage"' EXIT
fail() { echo "install-check: FAIL: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$stage" >"$stage.log" 2>&1 ||
  { cat "$stage.log" >&2; rm -f "$stage.log"; fail "meson install failed"; }
rm -f "$stage.log"
root=$stage$prefix
for f in bin/dae-filter bin/dae-train bin/dae-model include/dae-1/dae.h \
         include/dae-1/dae/model.h include/dae-1/dae/runner.h \
         include/dae-1/dae/denoise.h include/dae-1/dae/image.h \
         share/dae/document.dae share/dae/photo.dae share/dae/dae-import \
         share/dae/daemodel.py share/dae/ocrmypdf_dae.py \
         share/man/man1/dae-filter.1 share/man/man1/dae-train.1 \
         share/man/man1/dae-model.1 share/man/man5/dae-model.5; do
  [ -f "$root/$f" ] || fail "$prefix/$f not installed"
done
ls "$root"/lib*/libdae.so* "$root"/lib/*/libdae.so* 2>/dev/null | grep -q . ||
  fail "libdae.so not installed"
[ -x "$root/share/dae/dae-import" ] || fail "dae-import is not executable"
[ ! -e "$root/include/dae.h" ] || fail "dae.h installed at the top of include/"
# No installed file names the source or the build tree (a model search
# path, debug info, __FILE__...): grep -r, and strings for what grep could
# miss in a binary's sections.
for tree in "$src" "$(cd "$build" && pwd -P)"; do
  hits=$(grep -rlF "$tree" "$stage" || true)
  [ -z "$hits" ] || fail "installed files name $tree: $hits"
  if command -v strings >/dev/null; then
    for f in $(find "$stage" -type f); do
      ! strings -a "$f" | grep -qF "$tree" || fail "strings finds $tree in $f"
    done
  fi
done

# The installed library exports what the installed headers declare, no more.
lib=$(ls "$root"/lib*/libdae.so "$root"/lib/*/libdae.so 2>/dev/null | head -n 1)
st=0; "$src/tests/check-exports.py" "$lib" "$root/include/dae-1" || st=$?
[ $st = 0 ] || [ $st = 77 ] || fail "the installed libdae.so exports differ from its headers"

# The build's options: GIMP's folders asked for?  Sanitizers (an ASan
# libdae.so needs its runtime in the program too)?
opts=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c 'import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(str(o.get("gimp_system_install") or o.get("gegl_install")).lower(), o.get("b_sanitize", "none"))')
system=${opts% *} sanitize=${opts#* }
san=""
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"

# A program built the way pkg-config users build: `#include <dae.h>` with
# `pkg-config --cflags --libs dae`, against the staged files only.
pc=$(ls "$root"/lib*/pkgconfig/dae.pc "$root"/lib/*/pkgconfig/dae.pc 2>/dev/null | head -n 1)
[ -n "$pc" ] || fail "dae.pc not installed"
cc=${CC:-cc}
if command -v pkg-config >/dev/null && command -v "$cc" >/dev/null; then
  # The staged dae.pc with its prefix moved into the stage (its own copy:
  # --define-variable would move glib-2.0's prefix too).
  mkdir "$stage/pc"
  sed "s|^prefix=.*|prefix=$root|" "$pc" >"$stage/pc/dae.pc"
  flags=$(PKG_CONFIG_PATH=$stage/pc pkg-config --cflags --libs dae) ||
    fail "pkg-config --cflags --libs dae failed"
  case $flags in *"-I$root/include/dae-1"*) ;; *) fail "pkg-config flags lack -I\${includedir}/dae-1: $flags" ;; esac
  printf '#include <dae.h>\n#include <string.h>\nint main (void) { return strcmp (dae_version (), DAE_VERSION_STRING) != 0; }\n' >"$stage/user.c"
  # shellcheck disable=SC2086
  "$cc" $san -o "$stage/user" "$stage/user.c" $flags || fail "a program using <dae.h> does not build against the staged files"
  LD_LIBRARY_PATH=$(dirname "$lib") "$stage/user" || fail "dae_version () differs from DAE_VERSION_STRING"
  # Each part stands alone: it includes what it uses.
  for h in "$root"/include/dae-1/dae/*.h; do
    printf '#include <dae/%s>\n' "${h##*/}" >"$stage/part.c"
    # shellcheck disable=SC2086
    "$cc" -fsyntax-only -Wall -Werror "$stage/part.c" $flags ||
      fail "<dae/${h##*/}> does not compile on its own"
  done
  rm -rf "$stage/user" "$stage/user.c" "$stage/part.c" "$stage/pc"
else
  echo "install-check: no pkg-config or C compiler: the staged <dae.h> is not compiled" >&2
fi

# Nothing outside the prefix (files, links or folders), unless asked for.
outside=$(cd "$stage" && find . ! -type d | sed 's|^\.||' | grep -v "^$prefix/" || true)
if [ "$system" = true ]; then
  outside=$(printf '%s\n' "$outside" |
            grep -v -e '/gimp/[23]\.0/plug-ins/dae-denoise/' -e '/gegl-0\.4/dae-denoise-op\.so$' || true)
fi
[ -z "$outside" ] || fail "installed outside $prefix: $outside"
# The plug-ins that were built are installed, under the prefix by default.
for t in gimp-plugin/dae-denoise gimp-plugin/gimp3/dae-denoise gegl/dae-denoise-op.so; do
  [ -f "$build/$t" ] || continue
  n=$(cd "$stage" && find . -type f -name "${t##*/}" | grep -c . || true)
  [ "$n" -ge 1 ] || fail "$t was built but not installed"
  [ "$system" = true ] || (cd "$stage" && find ".$prefix" -type f -name "${t##*/}" | grep -q .) ||
    fail "$t not installed under $prefix"
done

# The staged dae-model finds share/dae/dae-import from its own bin folder.
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
  /usr/bin/python3 "$src/tests/make-foreign-model.py" keras2-h5 \
    "$src/tests/data/ref/tutorial.dae" "$stage/t.h5"
  env -u DAE_IMPORT "$root/bin/dae-model" import "$stage/t.h5" "$stage/t.dae" ||
    fail "the installed dae-model import failed"
  "$root/bin/dae-model" verify "$stage/t.dae" >/dev/null || fail "imported model does not verify"
else
  echo "install-check: no h5py in /usr/bin/python3: the staged import is not tried" >&2
fi
"$root/bin/dae-model" verify "$root/share/dae/document.dae" >/dev/null ||
  fail "the installed document model does not verify"
inside=$(cd "$stage" && find ".$prefix" -type f | wc -l)
plug=$(cd "$stage" && find . -type f | grep -c -e '/plug-ins/dae-denoise/' -e '/gegl-0\.4/' || true)
out=$(cd "$stage" && find . -type f ! -path "./${prefix#/}/*" ! -name 't.*' | wc -l)
echo "install-check: $inside files under $prefix, $out outside ($plug GIMP/GEGL plug-in files; gimp_system_install=$system)"
