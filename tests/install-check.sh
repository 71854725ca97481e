#!/bin/sh
# install-check: `meson install --destdir` of this build, then what README's
# "Installing" promises: programs, library, header, man pages, the shipped
# models, dae-import and the OCRmyPDF plugin under the prefix, and nothing
# outside it but the GIMP plug-in folders (built when libgimp is found; see
# gimp-plugin/meson.build).  The staged dae-model finds its converter
# relative to its own folder (no path compiled in) and imports a model.
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
for f in bin/dae-filter bin/dae-train bin/dae-model include/dae.h \
         share/dae/document.dae share/dae/photo.dae share/dae/dae-import \
         share/dae/daemodel.py share/dae/ocrmypdf_dae.py \
         share/man/man1/dae-filter.1 share/man/man1/dae-train.1 \
         share/man/man1/dae-model.1 share/man/man5/dae-model.5; do
  [ -f "$root/$f" ] || fail "$prefix/$f not installed"
done
ls "$root"/lib*/libdae.so* "$root"/lib/*/libdae.so* 2>/dev/null | grep -q . ||
  fail "libdae.so not installed"
[ -x "$root/share/dae/dae-import" ] || fail "dae-import is not executable"

# Everything outside the prefix: only GIMP's plug-in folders may be there.
outside=$(cd "$stage" && find . -type f | sed 's|^\.||' | grep -v "^$prefix/" |
          grep -v '/gimp/[23]\.0/plug-ins/dae-denoise/' || true)
[ -z "$outside" ] || fail "installed outside $prefix: $outside"

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
n=$(cd "$stage" && find . -type f | wc -l)
gimp=$(cd "$stage" && find . -type f | grep -c '/plug-ins/dae-denoise/' || true)
echo "install-check: $n files staged: $((n - gimp)) under $prefix, $gimp in GIMP's plug-in folders"
