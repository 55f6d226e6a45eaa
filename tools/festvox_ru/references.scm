;; Word-level reference alignments for Debian's festvox-ru corpus (festival, SIOD Scheme).
;;
;; Run by tools/festvox_ru/prepare.sh, which sets these variables first:
;;   fr_voice_dir  the voice folder (wav/, lab/, etc/txt.done.data)
;;   fr_out        the output folder (metadata.csv and textgrids/ are written there)
;;   fr_limit      how many utterances to take (0: all)
;;
;; For each utterance: the recorded phone labels (lab/ID.lab, festival end times) are the phone tier.
;; Festival's own Russian front end (voice msu_ru_nsh_clunits) turns the text into phones, each with
;; the word it belongs to; when its non-silent phone sequence equals the label file's, each label
;; phone takes that word, and the words tier spans each word's first to last phone. Otherwise no
;; TextGrid is written (the utterance has no reference) and a line "ID: no reference: ..." says why.
;; The tiers end at the recording's length (a final silence interval covers any tail).

(voice_msu_ru_nsh_clunits)

(define (fr_path . parts)
  (let ((s ""))
    (mapcar (lambda (p) (set! s (string-append s p))) parts)
    s))

;; Non-silent phone names of a list of Segment items.
(define (fr_speech_names items)
  (let ((out nil))
    (mapcar (lambda (s) (if (not (string-equal (item.name s) "pau")) (set! out (cons (item.name s) out))))
            items)
    (reverse out)))

(define (fr_same_list a b)
  (cond
   ((and (null a) (null b)) t)
   ((or (null a) (null b)) nil)
   ((string-equal (car a) (car b)) (fr_same_list (cdr a) (cdr b)))
   (t nil)))

;; Praat short-text TextGrid quoting: a double quote is written twice.
(define (fr_quote s)
  (let ((out "\"") (i 0) (n (length s)))
    (while (< i n)
      (let ((c (substring s i 1)))
        (set! out (string-append out (if (string-equal c "\"") "\"\"" c))))
      (set! i (+ i 1)))
    (string-append out "\"")))

;; Writes one interval tier: intervals is a list of (start end label), contiguous from 0 to dur.
(define (fr_write_tier fd name intervals dur)
  (format fd "\"IntervalTier\"\n%s\n0\n%f\n%d\n" (fr_quote name) dur (length intervals))
  (mapcar (lambda (iv) (format fd "%f\n%f\n%s\n" (car iv) (cadr iv) (fr_quote (car (cddr iv))))) intervals))

;; Fills the gaps of a sorted interval list (start end label) with empty intervals up to dur.
(define (fr_fill intervals dur)
  (let ((out nil) (t0 0.0))
    (mapcar (lambda (iv)
              (if (> (car iv) t0) (set! out (cons (list t0 (car iv) "") out)))
              (set! out (cons iv out))
              (set! t0 (cadr iv)))
            intervals)
    (if (< t0 dur) (set! out (cons (list t0 dur "") out)))
    (reverse out)))

(define (fr_one id text fd_meta)
  (let ((info (wave.info (wave.load (fr_path fr_voice_dir "/wav/" id ".wav"))))
        (lab (fr_path fr_voice_dir "/lab/" id ".lab"))
        (rec (Utterance Text ""))
        (syn (eval (list (quote Utterance) (quote Text) text)))
        (dur 0))
    (set! dur (/ (cadr (assoc 'num_samples info)) (cadr (assoc 'sample_rate info))))
    (format fd_meta "%s|%s|%s\n" id text text)
    (utt.relation.load rec 'Segment lab)
    (utt.synth syn)
    ;; Number the words, so that repeated words stay apart.
    (let ((i 0))
      (mapcar (lambda (w) (item.set_feat w "fr_index" i) (set! i (+ i 1))) (utt.relation.items syn 'Word)))
    (let ((rec_items (utt.relation.items rec 'Segment))
          (syn_items (utt.relation.items syn 'Segment))
          (rec_names nil)
          (syn_names nil))
      (set! rec_names (fr_speech_names rec_items))
      (set! syn_names (fr_speech_names syn_items))
      (if (not (fr_same_list rec_names syn_names))
          (format t "%s: no reference: festival's phones (%d) differ from the label file's (%d)\n"
                  id (length syn_names) (length rec_names))
          (let ((phones nil) (words nil) (start 0.0) (syn_speech nil)
                (cur_index -1) (cur_name "") (cur_start 0.0) (cur_end 0.0))
            (mapcar (lambda (s) (if (not (string-equal (item.name s) "pau")) (set! syn_speech (cons s syn_speech))))
                    syn_items)
            (set! syn_speech (reverse syn_speech))
            (mapcar
             (lambda (s)
               (let ((end (item.feat s "end")))
                 (if (> end dur) (set! end dur))
                 (if (string-equal (item.name s) "pau")
                     (set! phones (cons (list start end "") phones))
                     (let ((idx (item.feat (car syn_speech) "R:SylStructure.parent.parent.fr_index"))
                           (wname (item.feat (car syn_speech) "R:SylStructure.parent.parent.name")))
                       (set! syn_speech (cdr syn_speech))
                       (set! phones (cons (list start end (item.name s)) phones))
                       (if (equal? idx cur_index)
                           (set! cur_end end)
                           (begin
                             (if (>= cur_index 0) (set! words (cons (list cur_start cur_end cur_name) words)))
                             (set! cur_index idx)
                             (set! cur_name wname)
                             (set! cur_start start)
                             (set! cur_end end)))))
                 (set! start end)))
             rec_items)
            (if (>= cur_index 0) (set! words (cons (list cur_start cur_end cur_name) words)))
            (let ((fd (fopen (fr_path fr_out "/textgrids/" id ".TextGrid.tmp") "w"))
                  (pt (fr_fill (reverse phones) dur))
                  (wt (fr_fill (reverse words) dur)))
              (format fd "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n0\n%f\n<exists>\n2\n" dur)
              (fr_write_tier fd "words" wt dur)
              (fr_write_tier fd "phones" pt dur)
              (fclose fd)
              ;; Renamed when complete, so that a stopped run never leaves a partial TextGrid.
              (system (fr_path "mv '" fr_out "/textgrids/" id ".TextGrid.tmp' '" fr_out "/textgrids/" id ".TextGrid'"))))))))

(let ((entries (load (fr_path fr_voice_dir "/etc/txt.done.data") t))
      (fd_meta (fopen (fr_path fr_out "/metadata.csv.tmp") "w"))
      (n 0))
  (mapcar (lambda (e)
            (if (or (equal? fr_limit 0) (< n fr_limit))
                (begin
                  (fr_one (format nil "%s" (car e)) (cadr e) fd_meta)
                  (set! n (+ n 1)))))
          entries)
  (fclose fd_meta)
  (system (fr_path "mv '" fr_out "/metadata.csv.tmp' '" fr_out "/metadata.csv'")))
