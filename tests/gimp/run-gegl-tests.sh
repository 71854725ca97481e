#!/bin/sh
# run-gegl-tests.sh: the GEGL operation dae:denoise run by the `gegl`
# command of this machine (TAP), against dae-filter: its switches
# (ink-guard, despeckle, impulse-filter) are on by default and each turns
# off what dae-filter's --ink-guard / --despeckle / --impulse-filter off
# turn off.
#
# Usage: run-gegl-tests.sh OP FILTER TEST-IMAGES TEXT DIGITS
#   OP           the built dae-denoise-op.so
#   FILTER       the built dae-filter
#   TEST-IMAGES  the built gimp-test-images program
#   TEXT         a clean page (samples/clean-text.png)
#   DIGITS       an IDX file of MNIST digits (tests/data)
# Skipped without the gegl command.  tools/test-gimp3 runs the op in GIMP 3.
set -u
op=$1 filter=$2 images=$3 text=$4 digits=$5

if ! command -v gegl > /dev/null; then
  echo "1..0 # SKIP the gegl command is not installed (Debian: apt-get install gegl)"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dae-gegl-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# GEGL loads the op from its user folder; copied there it finds libdae
# through LD_LIBRARY_PATH (its build rpath is relative to the build).
export XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache"
mkdir -p "$XDG_DATA_HOME/gegl-0.4/plug-ins" "$tmp/f"
cp "$op" "$XDG_DATA_HOME/gegl-0.4/plug-ins/"
export LD_LIBRARY_PATH="$(dirname "$filter")/../core${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
measure() { # NAME REF OUT [check options]: gimp-test-images check, numbered here
  name=$1 ref=$2 out=$3; shift 3
  line=$("$images" check "$name" "$tmp/f/clean-page16.png" "$ref" "$out" "$@" 2>&1)
  status=$?
  line=$(printf '%s\n' "$line" | head -n 1 | sed 's/^\(not \)\{0,1\}ok - //')
  if [ "$status" -eq 0 ]; then ok "$line"; else not_ok "$line"; fi
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

if "$images" make "$tmp/f" "$digits" "$text" > "$tmp/make.log" 2>&1; then
  ok "test images made"
else
  not_ok "test images made"; sed 's/^/# /' "$tmp/make.log"; finish
fi

# The 16-bit page, as gegl writes 16-bit PNGs.  GEGL 0.4.42's babl rounds
# some float samples to 16 bits one level off dae-filter's: --tolerance 1.
in=$tmp/f/noisy-page16.png
gegl "$in" -o "$tmp/default.png" -- dae:denoise > "$tmp/gegl.log" 2>&1
for s in on-on off-on on-off off-off; do
  guard=${s%-*} specks=${s#*-}
  "$filter" -q --ink-guard "$guard" --despeckle "$specks" "$in" > "$tmp/ref-$s.png"
  g=true; [ "$guard" = off ] && g=false
  d=true; [ "$specks" = off ] && d=false
  gegl "$in" -o "$tmp/$s.png" -- dae:denoise ink-guard=$g despeckle=$d >> "$tmp/gegl.log" 2>&1
  measure "ink-guard=$g despeckle=$d: dae-filter's --ink-guard $guard --despeckle $specks" \
    "$tmp/ref-$s.png" "$tmp/$s.png" --same --tolerance 1
done
measure "defaults: both switches on" "$tmp/ref-on-on.png" "$tmp/default.png" \
  --same --tolerance 1
# GEGL renders in chunks when told to (and GIMP's canvas always does): the
# op still measures and denoises the whole page, so every chunk size gives
# dae-filter's pixels (with 64x64 chunks an op working chunk by chunk
# differs in most samples).
for chunk in 4096 65536; do
  GEGL_CHUNK_SIZE=$chunk gegl "$in" -o "$tmp/chunk-$chunk.png" -- dae:denoise \
    >> "$tmp/gegl.log" 2>&1
  measure "rendered in chunks of $chunk pixels: dae-filter's" "$tmp/ref-on-on.png" \
    "$tmp/chunk-$chunk.png" --same --tolerance 1
done
# Each switch changes this page: the checks above could not pass by chance.
for s in off-on on-off off-off; do
  measure "$s differs from the defaults" "$tmp/default.png" "$tmp/$s.png" --differ \
    --tolerance 1
done
# The impulse filter, on a page with 5% salt-and-pepper (where it turns
# itself on): on by default, off with impulse-filter=false, each as
# dae-filter's, and the two differ.
sp=$tmp/f/noisy-page-sp16.png
gegl "$sp" -o "$tmp/sp-default.png" -- dae:denoise >> "$tmp/gegl.log" 2>&1
for i in on off; do
  "$filter" -q --impulse-filter $i "$sp" > "$tmp/ref-sp-$i.png"
  v=true; [ $i = off ] && v=false
  gegl "$sp" -o "$tmp/sp-$i.png" -- dae:denoise impulse-filter=$v >> "$tmp/gegl.log" 2>&1
  measure "salt-and-pepper, impulse-filter=$v: dae-filter's --impulse-filter $i" \
    "$tmp/ref-sp-$i.png" "$tmp/sp-$i.png" --same --tolerance 1
done
measure "salt-and-pepper, defaults: the impulse filter on" "$tmp/ref-sp-on.png" \
  "$tmp/sp-default.png" --same --tolerance 1
measure "salt-and-pepper: impulse-filter=false differs from the defaults" "$tmp/sp-default.png" \
  "$tmp/sp-off.png" --differ --tolerance 1
[ "$failed" -eq 0 ] || sed 's/^/# /' "$tmp/gegl.log"
finish
