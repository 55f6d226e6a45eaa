;; TextGrid writing for festival (SIOD Scheme), shared by tools/festival_corpus/synth.scm and
;; tools/festvox_ru/references.scm. Intervals are lists (start end label), times in seconds.

(define (tg_path . parts)
  (let ((s ""))
    (mapcar (lambda (p) (set! s (string-append s p))) parts)
    s))

;; Praat text quoting: a double quote is written twice.
(define (tg_quote s)
  (let ((out "\"") (i 0) (n (length s)))
    (while (< i n)
      (let ((c (substring s i 1)))
        (set! out (string-append out (if (string-equal c "\"") "\"\"" c))))
      (set! i (+ i 1)))
    (string-append out "\"")))

;; Fills the gaps of a sorted interval list with empty intervals, from 0 up to dur.
(define (tg_fill intervals dur)
  (let ((out nil) (t0 0.0))
    (mapcar (lambda (iv)
              (if (> (car iv) t0) (set! out (cons (list t0 (car iv) "") out)))
              (set! out (cons iv out))
              (set! t0 (cadr iv)))
            intervals)
    (if (< t0 dur) (set! out (cons (list t0 dur "") out)))
    (reverse out)))

;; Writes a short-text TextGrid with interval tiers "words" and "phones" (each filled to dur) to
;; path, through path.tmp renamed when complete, so that a stopped run never leaves a partial file.
(define (tg_write path words phones dur)
  (let ((fd (fopen (string-append path ".tmp") "w")))
    (format fd "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n0\n%f\n<exists>\n2\n" dur)
    (mapcar
     (lambda (tier)
       (let ((intervals (tg_fill (cadr tier) dur)))
         (format fd "\"IntervalTier\"\n%s\n0\n%f\n%d\n" (tg_quote (car tier)) dur (length intervals))
         (mapcar (lambda (iv) (format fd "%f\n%f\n%s\n" (car iv) (cadr iv) (tg_quote (car (cddr iv))))) intervals)))
     (list (list "words" words) (list "phones" phones)))
    (fclose fd)
    (system (string-append "mv '" path ".tmp' '" path "'"))))
