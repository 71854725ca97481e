; dae-tests3.scm: Script-Fu side of the GIMP 3 test (run-gimp3-tests.sh).
;
; GIMP 3 loads the noisy images made by gimp-test-images, calls
; plug-in-dae-denoise (named arguments, as GIMP 3 wants) or the GEGL
; operation dae:denoise on them and exports what it was given
; (NAME-before.png) and what came out (NAME-after.png); the shell script
; compares them with dae-filter's output.  Calls that must fail report
; through gimp-message lines starting with "DAE-TEST".

(define (dae-load path)
  (car (gimp-file-load RUN-NONINTERACTIVE path)))

(define (dae-layer img)
  (vector-ref (car (gimp-image-get-layers img)) 0))

; PNG at the image's precision (8 or 16 bits), the colour of transparent
; pixels kept so that alpha can be compared alone.
(define (dae-save img path)
  (file-png-export #:run-mode RUN-NONINTERACTIVE #:image img #:file path
                   #:save-transparent TRUE))

; GIMP refuses to convert an image to the precision it has.
(define (dae-convert img precision)
  (if (not (= (car (gimp-image-get-precision img)) precision))
      (gimp-image-convert-precision img precision)))

(define (dae-report text)
  (gimp-message (string-append "DAE-TEST " text)))

(define (dae-denoise img layer model strength stride invert color)
  (plug-in-dae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector layer)
                       #:model model #:strength strength #:stride stride #:invert invert
                       #:color color))

; Every argument left out: the defaults, which are dae-filter's.
(define (dae-denoise-default img layer)
  (plug-in-dae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector layer)))

; fixtures/noisy-KIND.png with the defaults.
(define (dae-test-kind fixtures out kind)
  (let ((img (dae-load (string-append fixtures "/noisy-" kind ".png"))))
    (dae-denoise-default img (dae-layer img))
    (dae-save img (string-append out "/" kind "-after.png"))
    (gimp-image-delete img)))

; IMAGE at another precision: exported through PRECISION-OUT before and
; after, so the PNGs compare sample for sample with dae-filter's output of
; NAME-before.png.
(define (dae-test-precision fixtures out name kind precision precision-out)
  (let* ((img (dae-load (string-append fixtures "/noisy-" kind ".png")))
         (dummy (dae-convert img precision))
         (copy (car (gimp-image-duplicate img))))
    (dae-convert copy precision-out)
    (dae-save copy (string-append out "/" name "-before.png"))
    (gimp-image-delete copy)
    (dae-denoise-default img (dae-layer img))
    (dae-convert img precision-out)
    (dae-save img (string-append out "/" name "-after.png"))
    (gimp-image-delete img)))

; Two rectangles (the shell script passes the same ones to the checker):
; the gap between them is inside the bounding box but not selected.
(define (dae-test-selection fixtures out)
  (let ((img (dae-load (string-append fixtures "/noisy-gray8.png"))))
    (gimp-context-set-feather FALSE)
    (gimp-context-set-antialias FALSE)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 28 28 150 112)
    (gimp-image-select-rectangle img CHANNEL-OP-ADD 200 28 136 112)
    (dae-denoise-default img (dae-layer img))
    (gimp-selection-none img)
    (dae-save img (string-append out "/selection-after.png"))
    (gimp-image-delete img)))

; The noisy page as a layer at an offset in a larger image; the image is
; cropped back to the layer to be exported.
(define (dae-test-offsets fixtures out)
  (let* ((img (car (gimp-image-new 500 300 GRAY)))
         (layer (car (gimp-file-load-layer RUN-NONINTERACTIVE img
                                           (string-append fixtures "/noisy-gray8.png")))))
    (gimp-image-insert-layer img layer 0 0)
    (gimp-layer-set-offsets layer 57 31)
    (dae-denoise-default img layer)
    (gimp-image-resize-to-layers img)
    (dae-save img (string-append out "/offsets-after.png"))
    (gimp-image-delete img)))

; The last successful call's values are remembered: RUN-WITH-LAST-VALS and
; RUN-INTERACTIVE without a display repeat them.
(define (dae-test-last-values fixtures out)
  (let ((noisy (string-append fixtures "/noisy-gray8.png")))
    (let ((img (dae-load noisy)))
      (dae-denoise img (dae-layer img) "mnist" 0.6 7 1 1)
      (dae-save img (string-append out "/last-set-after.png"))
      (gimp-image-delete img))
    (let ((img (dae-load noisy)))
      (plug-in-dae-denoise #:run-mode RUN-WITH-LAST-VALS #:image img
                           #:drawables (vector (dae-layer img)))
      (dae-save img (string-append out "/last-repeat-after.png"))
      (gimp-image-delete img))
    (let ((img (dae-load noisy)))
      (plug-in-dae-denoise #:run-mode RUN-INTERACTIVE #:image img
                           #:drawables (vector (dae-layer img)))
      (dae-save img (string-append out "/last-interactive-after.png"))
      (gimp-image-delete img))))

; A call that must fail: it raises an error and leaves the image as it
; was (NAME-after.png is compared with the noisy input).
(define (dae-test-bad fixtures out name model strength stride invert color)
  (let ((img (dae-load (string-append fixtures "/noisy-gray8.png"))))
    (if (catch #t (begin (dae-denoise img (dae-layer img) model strength stride invert color)
                         #f))
        (dae-report (string-append name " failed"))
        (dae-report (string-append name " succeeded")))
    (dae-save img (string-append out "/" name "-after.png"))
    (gimp-image-delete img)))

(define (dae-test-indexed fixtures out)
  (let ((img (dae-load (string-append fixtures "/noisy-rgb8.png"))))
    (gimp-image-convert-indexed img CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 16 FALSE FALSE
                                "")
    (if (catch #t (begin (dae-denoise-default img (dae-layer img)) #f))
        (dae-report "bad-indexed failed")
        (dae-report "bad-indexed succeeded"))
    (gimp-image-delete img)))

; Each colour mode on the RGB page, with a strength of its own.
(define (dae-test-color fixtures out name color)
  (let ((img (dae-load (string-append fixtures "/noisy-rgb8.png"))))
    (dae-denoise img (dae-layer img) "" 0.8 0 0 color)
    (dae-save img (string-append out "/" name "-after.png"))
    (gimp-image-delete img)))

; The page KIND (page: bleed-through and specks; page-sp: salt-and-pepper)
; with the switches INK-GUARD, DESPECKLE and IMPULSE (TRUE or FALSE), every
; other argument left out: KIND-NAME-after.png.
(define (dae-test-page fixtures out kind name ink-guard despeckle impulse)
  (let ((img (dae-load (string-append fixtures "/noisy-" kind ".png"))))
    (plug-in-dae-denoise #:run-mode RUN-NONINTERACTIVE #:image img
                         #:drawables (vector (dae-layer img))
                         #:ink-guard ink-guard #:despeckle despeckle
                         #:impulse-filter impulse)
    (dae-save img (string-append out "/" kind "-" name "-after.png"))
    (gimp-image-delete img)))

(define (dae-test-pages fixtures out)
  (for-each (lambda (kind) (dae-test-kind fixtures out kind)) '("page" "page-sp"))
  (dae-test-page fixtures out "page" "on-on" TRUE TRUE TRUE)
  (dae-test-page fixtures out "page" "off-on" FALSE TRUE TRUE)
  (dae-test-page fixtures out "page" "on-off" TRUE FALSE TRUE)
  (dae-test-page fixtures out "page" "off-off" FALSE FALSE TRUE)
  (dae-test-page fixtures out "page-sp" "on" TRUE TRUE TRUE)
  (dae-test-page fixtures out "page-sp" "off" TRUE TRUE FALSE))

; GIMP applies the GEGL operation to the page KIND with the switches
; INK-GUARD, DESPECKLE and IMPULSE: gegl-gimp-KIND-off-after.png.
(define (dae-test-gegl-page fixtures out kind ink-guard despeckle impulse)
  (let* ((img (dae-load (string-append fixtures "/noisy-" kind ".png")))
         (layer (dae-layer img)))
    (gimp-drawable-merge-new-filter layer "dae:denoise" 0 LAYER-MODE-REPLACE 1.0
                                    "ink-guard" ink-guard "despeckle" despeckle
                                    "impulse-filter" impulse)
    (dae-save img (string-append out "/gegl-gimp-" kind "-off-after.png"))
    (gimp-image-delete img)))

; GIMP itself applies the GEGL operation (what its filter dialog does).
(define (dae-test-gegl-op fixtures out kind)
  (let* ((img (dae-load (string-append fixtures "/noisy-" kind ".png")))
         (layer (dae-layer img)))
    (gimp-drawable-merge-new-filter layer "dae:denoise" 0 LAYER-MODE-REPLACE 1.0
                                    "model" "" "strength" -1.0 "stride" 0 "invert" "auto"
                                    "color" "auto")
    (dae-save img (string-append out "/gegl-gimp-" kind "-after.png"))
    (gimp-image-delete img)))

(define (dae-run-tests fixtures out)
  (for-each (lambda (kind) (dae-test-kind fixtures out kind)) '("gray8" "rgb8" "rgba8" "gray16"))
  (dae-test-precision fixtures out "rgba-u16" "rgba8" PRECISION-U16-NON-LINEAR
                      PRECISION-U16-NON-LINEAR)
  (dae-test-precision fixtures out "rgba-float" "rgba8" PRECISION-FLOAT-NON-LINEAR
                      PRECISION-U8-NON-LINEAR)
  (dae-test-precision fixtures out "gray-float" "gray8" PRECISION-FLOAT-NON-LINEAR
                      PRECISION-U8-NON-LINEAR)
  (dae-test-selection fixtures out)
  (dae-test-offsets fixtures out)
  (dae-test-last-values fixtures out)
  (dae-test-color fixtures out "color-luma" 0)
  (dae-test-color fixtures out "color-rgb" 1)
  (dae-test-color fixtures out "color-opponent" 2)
  (dae-test-bad fixtures out "bad-strength" "" 2.0 0 0 3)
  (dae-test-bad fixtures out "bad-stride" "" 1.0 -1 0 3)
  (dae-test-bad fixtures out "bad-stride-large" "" 1.0 1000 0 3)
  (dae-test-bad fixtures out "bad-invert" "" 1.0 0 5 3)
  (dae-test-bad fixtures out "bad-color" "" 1.0 0 0 7)
  (dae-test-bad fixtures out "bad-model" "no-such-model" 1.0 0 0 3)
  (dae-test-bad fixtures out "bad-model-file" "/nonexistent/model.dae" 1.0 0 0 3)
  (dae-test-indexed fixtures out)
  (dae-test-gegl-op fixtures out "gray8")
  (dae-test-gegl-op fixtures out "rgba8")
  (dae-test-pages fixtures out)
  (dae-test-gegl-op fixtures out "page")
  (dae-test-gegl-op fixtures out "page-sp")
  (dae-test-gegl-page fixtures out "page" FALSE FALSE TRUE)
  (dae-test-gegl-page fixtures out "page-sp" TRUE TRUE FALSE)
  (dae-report "done"))
