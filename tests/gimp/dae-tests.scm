; dae-tests.scm: Script-Fu side of the GIMP plug-in test (run-gimp-tests.sh).
;
; GIMP loads the noisy images made by gimp-test-images, calls
; plug-in-dae-denoise on them and exports what it was given (KIND-before.png)
; and what the plug-in made of it (KIND-after.png); gimp-test-images then
; checks the pixels.  Calls that must fail report through gimp-message
; lines starting with "DAE-TEST", which the shell script reads.

(define (dae-load path)
  (car (gimp-file-load RUN-NONINTERACTIVE path path)))

(define (dae-layer img)
  (car (gimp-image-get-active-layer img)))

; PNG at the image's precision (8 or 16 bits), with the colour of
; transparent pixels kept so that alpha can be compared alone.
(define (dae-save img path)
  (file-png-save2 RUN-NONINTERACTIVE img (dae-layer img) path path
                  0 9 0 0 0 0 0 0 1))

(define (dae-report text)
  (gimp-message (string-append "DAE-TEST " text)))

; Denoises fixtures/noisy-KIND.png with the default model.
(define (dae-test-kind fixtures out kind)
  (let ((img (dae-load (string-append fixtures "/noisy-" kind ".png"))))
    (dae-save img (string-append out "/" kind "-before.png"))
    (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img) "" 1.0 0 0 TRUE TRUE TRUE)
    (dae-save img (string-append out "/" kind "-after.png"))
    (gimp-image-delete img)))

; The RGBA image at another precision; both exports go through 16-bit
; perceptual so that the PNGs compare sample for sample.
(define (dae-test-precision fixtures out name precision)
  (let* ((img (dae-load (string-append fixtures "/noisy-rgba8.png")))
         (dummy (gimp-image-convert-precision img precision))
         (copy (car (gimp-image-duplicate img))))
    (gimp-image-convert-precision copy PRECISION-U16-GAMMA)
    (dae-save copy (string-append out "/" name "-before.png"))
    (gimp-image-delete copy)
    (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img) "" 1.0 0 0 TRUE TRUE TRUE)
    (gimp-image-convert-precision img PRECISION-U16-GAMMA)
    (dae-save img (string-append out "/" name "-after.png"))
    (gimp-image-delete img)))

; Two rectangles (the shell script passes the same ones to the checker):
; the gap between them is inside the bounding box but not selected.
(define (dae-test-selection fixtures out)
  (let ((img (dae-load (string-append fixtures "/noisy-gray8.png"))))
    (gimp-context-set-feather FALSE)
    (gimp-context-set-antialias FALSE)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 120 60)
    (gimp-image-select-rectangle img CHANNEL-OP-ADD 200 100 100 50)
    (dae-save img (string-append out "/selection-before.png"))
    (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img) "" 1.0 0 0 TRUE TRUE TRUE)
    (dae-save img (string-append out "/selection-after.png"))
    (gimp-image-delete img)))

; A scripted call's values are remembered, and a failed call does not
; replace them: RUN-WITH-LAST-VALS, and RUN-INTERACTIVE without a display,
; repeat them.
(define (dae-test-last-values fixtures out)
  (let ((noisy (string-append fixtures "/noisy-gray8.png")))
    (let ((img (dae-load noisy)))
      (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img) "" 0.6 7 1 TRUE TRUE TRUE)
      (dae-save img (string-append out "/last-values-set.png"))
      (gimp-image-delete img))
    (dae-test-bad fixtures out "bad-between" "" 2.0 0 0)
    (let ((img (dae-load noisy)))
      (plug-in-dae-denoise RUN-WITH-LAST-VALS img (dae-layer img) "" 1.0 0 0 TRUE TRUE TRUE)
      (dae-save img (string-append out "/last-values-repeat.png"))
      (gimp-image-delete img))
    (let ((img (dae-load noisy)))
      (plug-in-dae-denoise RUN-INTERACTIVE img (dae-layer img) "" 1.0 0 0 TRUE TRUE TRUE)
      (dae-save img (string-append out "/last-values-interactive.png"))
      (gimp-image-delete img))))

; A call that must fail: it must raise an error and leave the image as it
; was (NAME-after.png is compared with the noisy input).
(define (dae-test-bad fixtures out name model strength stride invert)
  (let* ((img (dae-load (string-append fixtures "/noisy-gray8.png")))
         (failed (catch #t
                   (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img)
                                        model strength stride invert TRUE TRUE TRUE)
                   #f)))
    (dae-report (string-append name (if failed " failed" " succeeded")))
    (dae-save img (string-append out "/" name "-after.png"))
    (gimp-image-delete img)))

; plug-in-dae-test-caller passes only the first N of the denoiser's
; parameters (it declares 10; stride, invert 0, the three switches FALSE):
; the missing ones must take their defaults.
(define (dae-test-short-call fixtures out kind name n model strength)
  (let ((img (dae-load (string-append fixtures "/noisy-" kind ".png"))))
    (plug-in-dae-test-caller RUN-NONINTERACTIVE img (dae-layer img) n model strength)
    (dae-save img (string-append out "/" name "-after.png"))
    (gimp-image-delete img)))

(define (dae-test-indexed fixtures out)
  (let* ((img (dae-load (string-append fixtures "/noisy-rgb8.png")))
         (dummy (gimp-image-convert-indexed img CONVERT-DITHER-NONE
                                            CONVERT-PALETTE-GENERATE 16 FALSE FALSE ""))
         (failed (catch #t
                   (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img)
                                        "" 1.0 0 0 TRUE TRUE TRUE)
                   #f)))
    (dae-report (string-append "bad-indexed" (if failed " failed" " succeeded")))
    (gimp-image-delete img)))

(define (dae-test-group fixtures out)
  (let* ((img (dae-load (string-append fixtures "/noisy-gray8.png")))
         (group (car (gimp-layer-group-new img)))
         (dummy (gimp-image-insert-layer img group 0 0))
         (failed (catch #t
                   (plug-in-dae-denoise RUN-NONINTERACTIVE img group "" 1.0 0 0 TRUE TRUE TRUE)
                   #f)))
    (dae-report (string-append "bad-group" (if failed " failed" " succeeded")))
    (gimp-image-delete img)))

; The page KIND (page: bleed-through and specks; page-sp: salt-and-pepper)
; with the switches INK-GUARD, DESPECKLE and IMPULSE (TRUE or FALSE):
; KIND-NAME-after.png, compared with dae-filter's.
(define (dae-test-page fixtures out kind name ink-guard despeckle impulse)
  (let ((img (dae-load (string-append fixtures "/noisy-" kind ".png"))))
    (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img) "" 1.0 0 0
                         ink-guard despeckle impulse)
    (dae-save img (string-append out "/" kind "-" name "-after.png"))
    (gimp-image-delete img)))

; The switches are remembered as the other values are: set, then
; RUN-WITH-LAST-VALS (the call's own values, all on, are ignored).
(define (dae-test-page-last fixtures out kind ink-guard despeckle impulse)
  (dae-test-page fixtures out kind "last-set" ink-guard despeckle impulse)
  (let ((img (dae-load (string-append fixtures "/noisy-" kind ".png"))))
    (plug-in-dae-denoise RUN-WITH-LAST-VALS img (dae-layer img) "" 1.0 0 0 TRUE TRUE TRUE)
    (dae-save img (string-append out "/" kind "-last-repeat-after.png"))
    (gimp-image-delete img)))

(define (dae-test-pages fixtures out)
  (dae-test-page fixtures out "page" "on-on" TRUE TRUE TRUE)
  (dae-test-page fixtures out "page" "off-on" FALSE TRUE TRUE)
  (dae-test-page fixtures out "page" "on-off" TRUE FALSE TRUE)
  (dae-test-page fixtures out "page" "off-off" FALSE FALSE TRUE)
  ; an old caller's 7 parameters: both switches on; 8: despeckle on
  (dae-test-short-call fixtures out "page" "page-short-7" 7 "" 1.0)
  (dae-test-short-call fixtures out "page" "page-short-8" 8 "" 1.0)
  (dae-test-short-call fixtures out "page" "page-short-9" 9 "" 1.0)
  ; salt-and-pepper: the impulse filter on and off
  (dae-test-page fixtures out "page-sp" "on" TRUE TRUE TRUE)
  (dae-test-page fixtures out "page-sp" "off" TRUE TRUE FALSE)
  ; 9 parameters: the impulse filter on by default; 10: off
  (dae-test-short-call fixtures out "page-sp" "page-sp-short-9" 9 "" 1.0)
  (dae-test-short-call fixtures out "page-sp" "page-sp-short-10" 10 "" 1.0))

(define (dae-run-tests fixtures out)
  (for-each (lambda (kind) (dae-test-kind fixtures out kind))
            '("gray8" "rgb8" "rgba8" "gray16"))
  (for-each (lambda (p) (dae-test-precision fixtures out (car p) (cadr p)))
            (list (list "u8-linear" PRECISION-U8-LINEAR)
                  (list "u16-linear" PRECISION-U16-LINEAR)
                  (list "u32-linear" PRECISION-U32-LINEAR)
                  (list "u32-gamma" PRECISION-U32-GAMMA)
                  (list "half-linear" PRECISION-HALF-LINEAR)
                  (list "half-gamma" PRECISION-HALF-GAMMA)
                  (list "float-linear" PRECISION-FLOAT-LINEAR)
                  (list "float-gamma" PRECISION-FLOAT-GAMMA)
                  (list "double-linear" PRECISION-DOUBLE-LINEAR)
                  (list "double-gamma" PRECISION-DOUBLE-GAMMA)))
  (dae-test-selection fixtures out)
  ; model "", strength 0.5; stride and invert left out
  (dae-test-short-call fixtures out "gray8" "short-5" 5 "" 0.5)
  (let ((img (dae-load (string-append fixtures "/noisy-gray8.png"))))
    (plug-in-dae-denoise RUN-NONINTERACTIVE img (dae-layer img) "" 0.5 0 0 TRUE TRUE TRUE)
    (dae-save img (string-append out "/strength-half-after.png"))
    (gimp-image-delete img))
  ; only run-mode, image and drawable: what follows is not passed
  (dae-test-short-call fixtures out "gray8" "short-3" 3 "no-such-model" 0.0)
  (dae-test-bad fixtures out "bad-strength" "" 2.0 0 0)
  (dae-test-bad fixtures out "bad-invert" "" 1.0 0 5)
  (dae-test-bad fixtures out "bad-stride" "" 1.0 -1 0)
  (dae-test-bad fixtures out "bad-stride-large" "" 1.0 1000 0)
  (dae-test-bad fixtures out "bad-model" "no-such-model" 1.0 0 0)
  (dae-test-bad fixtures out "bad-model-file" "/nonexistent/model.dae" 1.0 0 0)
  (dae-test-indexed fixtures out)
  (dae-test-group fixtures out)
  (dae-test-last-values fixtures out)
  (dae-test-pages fixtures out)
  (dae-test-page-last fixtures out "page" FALSE FALSE TRUE)
  (dae-test-page-last fixtures out "page-sp" TRUE TRUE FALSE)
  (dae-report "done"))
