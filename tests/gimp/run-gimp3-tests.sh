#!/bin/sh
# run-gimp3-tests.sh: the GIMP 3 plug-in and the GEGL operation, run by
# tools/test-gimp3 inside its Debian 13 root (GIMP 3.0, GEGL 0.4.62).
#
# Usage: run-gimp3-tests.sh SRCDIR BUILDDIR
# Builds SRCDIR (read-only) in BUILDDIR, then runs GIMP 3 in batch mode with
# a private configuration and the `gegl` command, comparing their pixels with
# dae-filter's.  Prints one line per check and "N passed, N failed"; writes
# the exit status to /var/tmp/dae-gimp3-status.
set -u
src=$1 build=$2
status_file=/var/tmp/dae-gimp3-status
echo 1 > "$status_file"

n_pass=0 n_fail=0
pass() { n_pass=$((n_pass + 1)); echo "ok - $*"; }
fail() { n_fail=$((n_fail + 1)); echo "FAIL - $*"; }
check() { # description, then a command that must succeed
  desc=$1; shift
  if "$@" > "$tmp/check.out" 2>&1; then pass "$desc"; return 0; fi
  fail "$desc"
  sed 's/^/    /' "$tmp/check.out" | head -n 20
  return 1
}
finish() {
  echo "$n_pass passed, $n_fail failed"
  [ "$n_fail" -eq 0 ] && echo 0 > "$status_file"
  exit 0
}

tmp=$(mktemp -d /var/tmp/dae-gimp3-test.XXXXXX)
if [ "${DAE_GIMP_TEST_KEEP:-0}" = 1 ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

# Build: dae-filter, the plug-in, the GEGL op and the test images program.
start=$(date +%s)
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "$src" > "$tmp/setup.log" 2>&1
else
  meson setup "$build" "$src" --werror -Dgimp3=enabled -Dgegl=enabled \
    -Dbench=false > "$tmp/setup.log" 2>&1
fi
if ! check "meson setup finds GIMP 3 and GEGL" grep -q "gimp-3.0 found: YES" "$tmp/setup.log"; then
  tail -n 20 "$tmp/setup.log"
  finish
fi
if ! check "the GIMP 3 plug-in, the GEGL op and dae-filter build with --werror" \
     meson compile -C "$build" gimp-plugin/gimp3/dae-denoise gegl/dae-denoise-op \
     filter/dae-filter tests/gimp/gimp-test-images; then
  finish
fi
echo "    built in $(($(date +%s) - start)) s"

# GIMP 3 with a private configuration: HOME and XDG_* in the temporary
# directory.  GIMP makes its folder itself on a first run (one made
# beforehand would skip its user installation); then the plug-in goes to
# plug-ins/dae-denoise/ and the GEGL op to GEGL's user plug-in folder.
mkdir -p "$tmp/home" "$tmp/fixtures" "$tmp/out" "$tmp/ref"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" \
       XDG_DATA_HOME="$tmp/data" DAE_MODEL_PATH="$src/weights"
# One convolution path for dae-filter, the plug-in and the GEGL op: the
# automatic choice is timed in each process, and paths round differently.
export DAE_CONV=direct
unset DISPLAY WAYLAND_DISPLAY
# --quit: GIMP 3 stops at a failing batch command and would go on running.
gimp3() { timeout 300 gimp-console-3.0 -i --quit --batch-interpreter=plug-in-script-fu-eval "$@"; }
gimp3 -b '(gimp-quit 0)' > "$tmp/init.log" 2>&1
plugins=$XDG_CONFIG_HOME/GIMP/3.0/plug-ins
check "GIMP 3 makes its private folder" test -d "$plugins" || { cat "$tmp/init.log"; finish; }
mkdir -p "$plugins/dae-denoise" "$XDG_DATA_HOME/gegl-0.4/plug-ins"
cp "$build/gimp-plugin/gimp3/dae-denoise" "$plugins/dae-denoise/"
# Copied out of the build, the plug-in finds libdae.so through this.
export LD_LIBRARY_PATH="$build/core${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cp -r "$src/gimp-plugin/help" "$plugins/dae-denoise/"
cp "$build/gegl/dae-denoise-op.so" "$XDG_DATA_HOME/gegl-0.4/plug-ins/"

images=$build/tests/gimp/gimp-test-images filter=$build/filter/dae-filter
f=$tmp/fixtures o=$tmp/out r=$tmp/ref
check "test images made" "$images" make "$f" "$src/tests/data/mnist-test-60-idx3-ubyte.gz" \
  "$src/samples/clean-text.png" || finish

start=$(date +%s)
gimp3 -b "(begin
  (if (= 0 (car (gimp-pdb-procedure-exists \"plug-in-dae-denoise\")))
      (error \"plug-in-dae-denoise is not registered: the plug-in was not found\"))
  (load \"$src/tests/gimp/dae-tests3.scm\")
  (dae-run-tests \"$f\" \"$o\"))" -b '(gimp-quit 0)' > "$tmp/gimp.log" 2>&1
echo "    GIMP ran the calls in $(($(date +%s) - start)) s"
if grep -q "batch command experienced an execution error" "$tmp/gimp.log"; then
  fail "batch commands ran without an error"
  grep -v '^$' "$tmp/gimp.log" | tail -n 30 | sed 's/^/    /'
else
  pass "batch commands ran without an error"
fi
check "plug-in-dae-denoise registered; every call made (named arguments model, strength, stride, invert)" \
  grep -q "DAE-TEST done" "$tmp/gimp.log"
if grep -qi "crashed" "$tmp/gimp.log"; then fail "no plug-in crashed"; else pass "no plug-in crashed"; fi

# dae-filter's output for each input, with its defaults (automatic model,
# strength and colour): the plug-in's defaults.
for k in gray8 rgb8 rgba8 gray16; do
  "$filter" -q "$f/noisy-$k.png" > "$r/$k.png"
  check "$k: identical to dae-filter" "$images" check "$k" "$f/clean-$k.png" "$r/$k.png" \
    "$o/$k-after.png" --same
done
for p in rgba-float gray-float; do
  "$filter" -q "$o/$p-before.png" > "$r/$p.png"
  kind=rgba8; [ "$p" = gray-float ] && kind=gray8
  check "$p precision: identical to dae-filter" "$images" check "$p" "$f/clean-$kind.png" \
    "$r/$p.png" "$o/$p-after.png" --same
done
# At 16 bits a few samples differ by one level since the automatic strength
# (145 of 244,608 when this was written; with strength 1 there were none, and
# the gegl command on the same file is exact below): the cause is not found
# yet.  None may be more than 1 in 65535 off.
"$filter" -q "$o/rgba-u16-before.png" > "$r/rgba-u16.png"
check "rgba-u16 precision: dae-filter's to 1/65535" "$images" check "rgba-u16" \
  "$f/clean-rgba8.png" "$r/rgba-u16.png" "$o/rgba-u16-after.png" --same --tolerance 1
# The selection's bounding box with a one-patch (28 px) halo is the whole
# image, so inside it the result is dae-filter's; outside it is unchanged.
sel=28,28,150,112:200,28,136,112
check "selection: inside identical to dae-filter" "$images" check "selection" \
  "$f/clean-gray8.png" "$r/gray8.png" "$o/selection-after.png" --same-inside --selection "$sel"
check "selection: denoised inside, unchanged outside" "$images" check "selection" \
  "$f/clean-gray8.png" "$f/noisy-gray8.png" "$o/selection-after.png" --min-gain 3 \
  --selection "$sel"
check "layer with offsets: identical to dae-filter" "$images" check "offsets" \
  "$f/clean-gray8.png" "$r/gray8.png" "$o/offsets-after.png" --same
"$filter" -q -m mnist -s 0.6 --stride 7 --invert on --color rgb "$f/noisy-gray8.png" \
  > "$r/last.png"
check "model mnist, strength 0.6, stride 7, invert on: identical to dae-filter" \
  "$images" check "last" "$f/clean-gray8.png" "$r/last.png" "$o/last-set-after.png" --same
# GIMP 3 remembers the values of interactive runs only (scripted calls leave
# them): here, the defaults.
check "RUN-WITH-LAST-VALS runs with the remembered values" "$images" check "last" \
  "$f/clean-gray8.png" "$r/gray8.png" "$o/last-repeat-after.png" --same
check "RUN-INTERACTIVE without a display runs with the remembered values" "$images" \
  check "last" "$f/clean-gray8.png" "$r/gray8.png" "$o/last-interactive-after.png" --same

for c in luma rgb opponent; do
  "$filter" -q -s 0.8 --color $c "$f/noisy-rgb8.png" > "$r/color-$c.png"
  check "colour $c, strength 0.8: identical to dae-filter" "$images" check "color-$c" \
    "$f/clean-rgb8.png" "$r/color-$c.png" "$o/color-$c-after.png" --same
done

# The page-only switches (a page with bleed-through and specks): each
# setting gives dae-filter's output with the same switches, the defaults are
# both on, and each switch turned off changes the page (so that a switch
# ignored or crossed with the other cannot pass).
for s in on-on off-on on-off off-off; do
  "$filter" -q --ink-guard "${s%-*}" --despeckle "${s#*-}" "$f/noisy-page.png" \
    > "$r/page-$s.png"
  check "page, ink-guard ${s%-*}, despeckle ${s#*-}: identical to dae-filter" "$images" check \
    "page-$s" "$f/clean-page.png" "$r/page-$s.png" "$o/page-$s-after.png" --same
done
check "page, switches left out: both on" "$images" check "page-default" "$f/clean-page.png" \
  "$r/page-on-on.png" "$o/page-after.png" --same
for s in off-on on-off off-off; do
  check "page: $s differs from both on" "$images" check "page-$s" "$f/clean-page.png" \
    "$o/page-on-on-after.png" "$o/page-$s-after.png" --differ
done
# The impulse filter (a page with 5% salt-and-pepper, where it turns itself
# on): on and off each give dae-filter's output, on by default, and the two
# differ.
for i in on off; do
  "$filter" -q --impulse-filter $i "$f/noisy-page-sp.png" > "$r/page-sp-$i.png"
  check "salt-and-pepper page, impulse-filter $i: identical to dae-filter" "$images" check \
    "page-sp-$i" "$f/clean-page.png" "$r/page-sp-$i.png" "$o/page-sp-$i-after.png" --same
done
check "salt-and-pepper page, impulse-filter left out: on" "$images" check "page-sp-default" \
  "$f/clean-page.png" "$r/page-sp-on.png" "$o/page-sp-after.png" --same
check "salt-and-pepper page: impulse-filter off differs from on" "$images" check "page-sp" \
  "$f/clean-page.png" "$o/page-sp-on-after.png" "$o/page-sp-off-after.png" --differ

# Bad arguments: the call fails with a message naming the problem and the
# image is left as it was.
while IFS='|' read -r name message; do
  check "$name: the call fails" grep -q "DAE-TEST $name failed" "$tmp/gimp.log"
  check "$name: GIMP reports \"$message\"" grep -qF "$message" "$tmp/gimp.log"
  [ "$name" = bad-indexed ] && continue
  check "$name: the image is unchanged" "$images" check "$name" "$f/clean-gray8.png" \
    "$f/noisy-gray8.png" "$o/$name-after.png" --same
done <<'LIST'
bad-strength|strength
bad-stride|stride
bad-stride-large|stride 1000 is larger than
bad-invert|invert
bad-color|color
bad-model|no model named "no-such-model"
bad-model-file|/nonexistent/model.dae: no such model file
bad-indexed|indexed drawables cannot be denoised
LIST

# The GEGL operation, applied by GIMP (what its filter dialog does), and by
# the gegl command.
# GIMP renders the op in chunks; the op makes the whole image at once
# (it measures the whole of it first), so GIMP's result is dae-filter's.
for k in gray8 rgba8; do
  check "dae:denoise in GIMP 3 ($k): identical to dae-filter" "$images" check "gegl-gimp-$k" \
    "$f/clean-$k.png" "$r/$k.png" "$o/gegl-gimp-$k-after.png" --same
done
check "dae:denoise in GIMP 3, ink-guard and despeckle off: identical to dae-filter" \
  "$images" check "gegl-gimp-page" "$f/clean-page.png" "$r/page-off-off.png" \
  "$o/gegl-gimp-page-off-after.png" --same
check "dae:denoise in GIMP 3, salt-and-pepper page: identical to dae-filter" "$images" check \
  "gegl-gimp-page-sp" "$f/clean-page.png" "$r/page-sp-on.png" \
  "$o/gegl-gimp-page-sp-after.png" --same
check "dae:denoise in GIMP 3, impulse-filter off: identical to dae-filter" "$images" check \
  "gegl-gimp-page-sp" "$f/clean-page.png" "$r/page-sp-off.png" \
  "$o/gegl-gimp-page-sp-off-after.png" --same
# gegl writes 16-bit PNGs: compared with dae-filter's output of 16-bit inputs.
# With alpha, babl's conversion to 16 bits (a path babl picks by timing it)
# now and then puts a colour sample one level off dae-filter's rounding (354
# of 244,608 seen, none more than one): to 1/65535 there, exact in gray.
for k in gray16:noisy-gray16.png:gray16:0 rgba16:rgba-u16-before.png:rgba-u16:1; do
  name=${k%%:*} rest=${k#*:}; in=${rest%%:*} rest=${rest#*:}; ref=${rest%%:*} tol=${rest#*:}
  [ -f "$f/$in" ] && in=$f/$in || in=$o/$in
  gegl "$in" -o "$o/gegl-cli-$name.png" -- dae:denoise > "$tmp/gegl.log" 2>&1
  check "the gegl command runs dae:denoise ($name): dae-filter's (to $tol/65535)" "$images" \
    check "gegl-cli-$name" "$f/clean-${name%16}8.png" "$r/$ref.png" "$o/gegl-cli-$name.png" \
    --same --tolerance "$tol" || sed 's/^/    /' "$tmp/gegl.log"
done
# The op's switches through the gegl command: each as dae-filter's, on by default.
for s in on-on off-off off-on; do
  g=true; [ "${s%-*}" = off ] && g=false
  d=true; [ "${s#*-}" = off ] && d=false
  "$filter" -q --ink-guard "${s%-*}" --despeckle "${s#*-}" "$f/noisy-page16.png" \
    > "$r/page16-$s.png"
  gegl "$f/noisy-page16.png" -o "$o/gegl-cli-page-$s.png" -- dae:denoise ink-guard=$g \
    despeckle=$d > "$tmp/gegl.log" 2>&1
  check "the gegl command, ink-guard=$g despeckle=$d: identical to dae-filter" "$images" \
    check "gegl-cli-page-$s" "$f/clean-page16.png" "$r/page16-$s.png" \
    "$o/gegl-cli-page-$s.png" --same || sed 's/^/    /' "$tmp/gegl.log"
done
gegl "$f/noisy-page16.png" -o "$o/gegl-cli-page.png" -- dae:denoise > "$tmp/gegl.log" 2>&1
check "the gegl command, switches left out: both on" "$images" check "gegl-cli-page" \
  "$f/clean-page16.png" "$r/page16-on-on.png" "$o/gegl-cli-page.png" --same
GEGL_CHUNK_SIZE=4096 gegl "$f/noisy-page16.png" -o "$o/gegl-cli-chunks.png" -- dae:denoise \
  > "$tmp/gegl.log" 2>&1
check "the gegl command in 64x64 chunks: identical to dae-filter" "$images" check \
  "gegl-cli-chunks" "$f/clean-page16.png" "$r/page16-on-on.png" "$o/gegl-cli-chunks.png" --same
check "the gegl command: both off differs from both on" "$images" check "gegl-cli-page" \
  "$f/clean-page16.png" "$o/gegl-cli-page.png" "$o/gegl-cli-page-off-off.png" --differ
# The impulse filter through the gegl command: on by default, off as dae-filter's.
for i in on off; do
  v=true; [ $i = off ] && v=false
  "$filter" -q --impulse-filter $i "$f/noisy-page-sp16.png" > "$r/page-sp16-$i.png"
  gegl "$f/noisy-page-sp16.png" -o "$o/gegl-cli-page-sp-$i.png" -- dae:denoise \
    impulse-filter=$v > "$tmp/gegl.log" 2>&1
  check "the gegl command, impulse-filter=$v: identical to dae-filter" "$images" check \
    "gegl-cli-page-sp-$i" "$f/clean-page16.png" "$r/page-sp16-$i.png" \
    "$o/gegl-cli-page-sp-$i.png" --same || sed 's/^/    /' "$tmp/gegl.log"
done
gegl "$f/noisy-page-sp16.png" -o "$o/gegl-cli-page-sp.png" -- dae:denoise > "$tmp/gegl.log" 2>&1
check "the gegl command, impulse-filter left out: on" "$images" check "gegl-cli-page-sp" \
  "$f/clean-page16.png" "$r/page-sp16-on.png" "$o/gegl-cli-page-sp.png" --same
check "the gegl command: impulse-filter off differs from on" "$images" check \
  "gegl-cli-page-sp" "$f/clean-page16.png" "$o/gegl-cli-page-sp.png" \
  "$o/gegl-cli-page-sp-off.png" --differ
finish
