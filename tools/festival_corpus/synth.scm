;; Synthesizes an LJSpeech-layout corpus with festival (SIOD Scheme), with exact reference timings.
;;
;; Run by tools/festival_corpus/make.sh, which sets these variables first:
;;   fc_voice     the festival voice function, e.g. voice_cmu_us_slt_arctic_hts
;;   fc_data      the utterances to speak, one "( ID "text" )" form per line (festvox's txt.done.data)
;;   fc_out       the output folder (wavs/ID.wav, textgrids/ID.TextGrid, metadata.csv)
;;
;; The reference is festival's own timing of what it spoke: the Segment relation's end times as the
;; phone tier (silence "pau" as an empty label), each word spanning its first to last segment. The
;; word labels are festival's Word items, which may split a text token ("lord's" -> "lord" "'s");
;; //preprocess accepts labels that join into one text word.

(eval (list fc_voice))

(define (fc_path . parts)
  (let ((s ""))
    (mapcar (lambda (p) (set! s (string-append s p))) parts)
    s))

(define (fc_quote s)
  (let ((out "\"") (i 0) (n (length s)))
    (while (< i n)
      (let ((c (substring s i 1)))
        (set! out (string-append out (if (string-equal c "\"") "\"\"" c))))
      (set! i (+ i 1)))
    (string-append out "\"")))

(define (fc_write_tier fd name intervals dur)
  (format fd "\"IntervalTier\"\n%s\n0\n%f\n%d\n" (fc_quote name) dur (length intervals))
  (mapcar (lambda (iv) (format fd "%f\n%f\n%s\n" (car iv) (cadr iv) (fc_quote (car (cddr iv))))) intervals))

(define (fc_fill intervals dur)
  (let ((out nil) (t0 0.0))
    (mapcar (lambda (iv)
              (if (> (car iv) t0) (set! out (cons (list t0 (car iv) "") out)))
              (set! out (cons iv out))
              (set! t0 (cadr iv)))
            intervals)
    (if (< t0 dur) (set! out (cons (list t0 dur "") out)))
    (reverse out)))

(define (fc_one id text fd_meta)
  (let ((utt (eval (list (quote Utterance) (quote Text) text)))
        (phones nil) (words nil) (start 0.0) (dur 0.0)
        (cur_word nil) (cur_start 0.0) (cur_end 0.0) (wav nil))
    (utt.synth utt)
    (set! wav (utt.wave utt))
    (set! dur (/ (cadr (assoc 'num_samples (wave.info wav))) (cadr (assoc 'sample_rate (wave.info wav)))))
    (mapcar
     (lambda (s)
       (let ((end (item.feat s "end")) (w nil))
         (if (> end dur) (set! end dur))
         (if (string-equal (item.name s) "pau")
             (set! phones (cons (list start end "") phones))
             (begin
               (set! phones (cons (list start end (item.name s)) phones))
               (set! w (item.relation.parent (item.relation.parent (item.relation s 'SylStructure) 'SylStructure) 'SylStructure))
               (if (and cur_word (equal? (item.feat w "fc_index") (item.feat cur_word "fc_index")))
                   (set! cur_end end)
                   (begin
                     (if cur_word (set! words (cons (list cur_start cur_end (item.name cur_word)) words)))
                     (set! cur_word w)
                     (set! cur_start start)
                     (set! cur_end end)))))
         (set! start end)))
     (begin
       (let ((i 0))
         (mapcar (lambda (w) (item.set_feat w "fc_index" i) (set! i (+ i 1))) (utt.relation.items utt 'Word)))
       (utt.relation.items utt 'Segment)))
    (if cur_word (set! words (cons (list cur_start cur_end (item.name cur_word)) words)))
    (wave.save wav (fc_path fc_out "/wavs/" id ".wav.tmp") 'riff)
    (system (fc_path "mv '" fc_out "/wavs/" id ".wav.tmp' '" fc_out "/wavs/" id ".wav'"))
    (let ((fd (fopen (fc_path fc_out "/textgrids/" id ".TextGrid.tmp") "w")))
      (format fd "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n0\n%f\n<exists>\n2\n" dur)
      (fc_write_tier fd "words" (fc_fill (reverse words) dur) dur)
      (fc_write_tier fd "phones" (fc_fill (reverse phones) dur) dur)
      (fclose fd))
    (system (fc_path "mv '" fc_out "/textgrids/" id ".TextGrid.tmp' '" fc_out "/textgrids/" id ".TextGrid'"))
    (format fd_meta "%s|%s|%s\n" id text text)))

(let ((entries (load fc_data t)) (fd_meta (fopen (fc_path fc_out "/metadata.csv.tmp") "w")) (n 0))
  (mapcar (lambda (e)
            (fc_one (format nil "%s" (car e)) (cadr e) fd_meta)
            (set! n (+ n 1))
            (if (equal? 0 (% n 50)) (format stderr "festival_corpus: %d utterances\n" n)))
          entries)
  (fclose fd_meta)
  (system (fc_path "mv '" fc_out "/metadata.csv.tmp' '" fc_out "/metadata.csv'")))
