#!/bin/sh
# Runs the recipes of docs/batch.md, one part at a time, and checks what they
# promise.  Usage: tests/batch-recipe.sh folder|parallel|ocrmypdf
#
#   folder    dae-filter -o DIR on a folder of scans (netpbm only)
#   parallel  the same through GNU parallel, locally (-S :), and with rsync
#             through a stand-in ssh, so that --transferfile/--return really
#             copy files to and from a "remote" home
#   ocrmypdf  OCRmyPDF with tools/ocrmypdf_dae.py as a plugin
#
# Environment: DAE_FILTER (default: the newest build*/filter/dae-filter),
# DAE_TEST_MODEL (default: the fixed-weight fixture tests/data/ref/tutorial.dae,
# so that the test does not depend on the shipped models).
# Exit 0 = passed, 77 = skipped (a tool the part needs is not installed: the
# message says which), anything else = failed.
set -eu

part=${1:-}
src=$(cd "$(dirname "$0")/.." && pwd)
filter=${DAE_FILTER:-$(ls -t "$src"/build*/filter/dae-filter 2>/dev/null | head -n 1)}
model=${DAE_TEST_MODEL:-$src/tests/data/ref/tutorial.dae}
[ -x "$filter" ] || { echo "batch-recipe: no dae-filter (set DAE_FILTER)" >&2; exit 1; }

fail() { echo "batch-recipe: $part: FAIL: $*" >&2; exit 1; }
skip() { echo "batch-recipe: $part: SKIP: $*" >&2; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (apt-get install ${2:-$1})"; }

need pgmnoise netpbm
need pnmtopng netpbm
need pamfile netpbm

work=$(mktemp -d "${TMPDIR:-/tmp}/batch-recipe.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

# A folder of "scans": gray and colour, PNM and PNG, odd sizes.
mkdir scans
pgmnoise -randomseed 1 61 45 > scans/page1.pgm 2>/dev/null
pgmnoise -randomseed 2 30 70 | pnmtopng > scans/page2.png 2>/dev/null
pgmnoise -randomseed 3 33 40 | pgmtoppm rgb:80/c0/ff > scans/page3.ppm 2>/dev/null
inputs="page1.pgm page2.png page3.ppm"
sums_before=$(cd scans && cat $inputs | cksum)

# The reference: each file through the filter as a pipe.
mkdir ref
for f in $inputs; do
  "$filter" -q -m "$model" < "scans/$f" > "ref/$f" || fail "$f through a pipe"
done

same_as_ref() { # dir
  for f in $inputs; do
    [ -f "$1/$f" ] || fail "$1/$f was not written"
    cmp -s "ref/$f" "$1/$f" || fail "$1/$f differs from the piped result"
  done
  n=$(ls -A "$1" | wc -l)
  [ "$n" -eq 3 ] || fail "$1 holds $n files, not 3: $(ls -A "$1" | tr '\n' ' ')"
}

case "$part" in
folder)
  # Recipe 1: a folder of scans, each result under the same name.
  mkdir clean
  "$filter" -q -m "$model" -o clean scans/* || fail "dae-filter -o clean scans/* exited $?"
  same_as_ref clean
  for f in $inputs; do
    case $f in *.png) tocheck="pngtopam" ;; *) tocheck="cat" ;; esac
    a=$($tocheck < "scans/$f" | pamfile | cut -d: -f2-)
    b=$($tocheck < "clean/$f" | pamfile | cut -d: -f2-)
    [ "$a" = "$b" ] || fail "$f: format changed: '$a' -> '$b'"
    [ "$(head -c 4 "scans/$f" | od -An -c)" = "$(head -c 4 "clean/$f" | od -An -c)" ] ||
      fail "$f: the output is not of the input's file type"
  done
  [ "$(cd scans && cat $inputs | cksum)" = "$sums_before" ] || fail "an input changed"

  # A missing output folder is made, with its parents.
  "$filter" -q -m "$model" -o new/sub scans/* || fail "-o new/sub (missing) exited $?"
  same_as_ref new/sub

  # A bad file: reported, the others still done, non-zero exit at the end.
  printf 'P5\n12 12\n255\nshort' > scans/broken.pgm
  rm -rf clean && mkdir clean
  set +e
  "$filter" -q -m "$model" -o clean scans/* 2> err.txt
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "a batch with a bad file exited 0"
  grep -q "broken.pgm" err.txt || fail "the error does not name the bad file: $(cat err.txt)"
  [ ! -e clean/broken.pgm ] || fail "a result was written for the bad file"
  same_as_ref clean
  rm scans/broken.pgm

  # Never over an input: the output folder is the input folder.
  set +e
  "$filter" -q -m "$model" -o scans scans/page1.pgm 2> err.txt
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "writing over an input exited 0"
  [ "$(cd scans && cat $inputs | cksum)" = "$sums_before" ] || fail "an input was overwritten"

  # A tree: find | xargs, one output folder per input folder.
  mkdir -p tree/a tree/b
  cp scans/page1.pgm tree/a/ && cp scans/page2.png tree/b/
  (cd tree && find . -type d -exec mkdir -p ../tree-clean/{} \; &&
    find . -type f \( -name '*.png' -o -name '*.p?m' \) -print0 |
    xargs -0 -n 1 sh -c 'exec "$0" -q -m "$1" -o "../tree-clean/$(dirname "$2")" "$2"' \
      "$filter" "$model") || fail "the find | xargs recipe"
  cmp -s ref/page1.pgm tree-clean/a/page1.pgm || fail "tree-clean/a/page1.pgm"
  cmp -s ref/page2.png tree-clean/b/page2.png || fail "tree-clean/b/page2.png"
  ;;

parallel)
  need parallel
  # Recipe 2a: one machine, all cores: -S : is "this machine".
  mkdir clean
  parallel --will-cite -S : -j 2 "$filter -q -m $model -o clean {}" ::: scans/* ||
    fail "parallel -S :"
  same_as_ref clean

  # Recipe 2b: remote hosts.  A stand-in ssh runs the "remote" commands here
  # in another HOME, so the files really travel (rsync) and come back.
  need rsync
  # GNU parallel builds the remote command for the local $SHELL; with SHELL
  # unset (CI runners, env -i) the remote part silently does nothing, so
  # give it the shell a login would.
  SHELL=${SHELL:-/bin/sh}
  export SHELL
  cat > fakessh <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    -o|-p|-l|-i|-S|-F|-e) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
shift
[ "${1:-}" = "--" ] && shift
mkdir -p "${FAKE_REMOTE_HOME:?}"
cd "$FAKE_REMOTE_HOME" && HOME="$FAKE_REMOTE_HOME" SHELL=/bin/sh exec sh -c "$*"
EOF
  chmod +x fakessh
  FAKE_REMOTE_HOME=$work/remote
  export FAKE_REMOTE_HOME
  cp "$model" model.dae
  parallel --will-cite --ssh "$work/fakessh" -S 2/host1,2/host2 \
      --basefile model.dae --transferfile {} --return clean-remote/{/} --cleanup \
      "$filter -q -m model.dae -o clean-remote {}" \
      ::: scans/page1.pgm scans/page2.png scans/page3.ppm ||
    fail "parallel --transferfile/--return"
  same_as_ref clean-remote
  # The files went through the remote home, and --cleanup removed them.
  [ -d remote ] || fail "nothing reached the stand-in remote"
  # (dae-filter's per-machine cache, ~/.cache/dae, stays, as on a real host.)
  left=$(find remote -type f ! -name model.dae ! -path 'remote/.cache/dae/*' | wc -l)
  [ "$left" -eq 0 ] || fail "$left file(s) left on the remote: $(find remote -type f)"
  ;;

ocrmypdf)
  need ocrmypdf
  need tesseract tesseract-ocr
  need pbmtext netpbm
  # A page of text, and a wrapper that records that the plugin ran dae-filter.
  pbmtext "Denoise before OCR" | pamscale 4 | pnmpad -white -left 40 -right 40 -top 40 \
    -bottom 40 | pnmtopng > page.png
  cat > filter-wrapper <<EOF
#!/bin/sh
echo called >> "$work/calls"
exec "$filter" "\$@"
EOF
  chmod +x filter-wrapper
  DAE_FILTER=$work/filter-wrapper ocrmypdf -q --plugin "$src/tools/ocrmypdf_dae.py" \
    --dae-model "$model" --image-dpi 150 --sidecar out.txt page.png out.pdf ||
    fail "ocrmypdf with the plugin"
  [ -s out.pdf ] || fail "no PDF written"
  head -c 5 out.pdf | grep -q '%PDF-' || fail "out.pdf is not a PDF"
  [ -s calls ] || fail "the plugin did not run dae-filter"
  ;;

*)
  echo "usage: $0 folder|parallel|ocrmypdf" >&2
  exit 2
  ;;
esac
echo "batch-recipe: $part: ok"
