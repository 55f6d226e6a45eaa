;; Synthesizes an LJSpeech-layout corpus with festival (SIOD Scheme), with exact reference timings.
;;
;; Run by tools/festival_corpus/make.sh, which sets these variables first:
;;   fc_voice     the festival voice function, e.g. voice_cmu_us_slt_arctic_hts
;;   fc_data      the utterances to speak, one "( ID "text" )" form per line (festvox's txt.done.data)
;;   fc_out       the output folder (wavs/ID.wav, textgrids/ID.TextGrid, metadata.csv)
;;   fc_here      this script's folder
;;
;; The reference is festival's own timing of what it spoke: the Segment relation's end times as the
;; phone tier (silence "pau" as an empty label), each word spanning its first to last segment. The
;; word labels are festival's Word items, which may split a text token ("lord's" -> "lord" "'s");
;; //preprocess accepts labels that join into one text word.

(eval (list fc_voice))

(load (string-append fc_here "/textgrid.scm"))

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
    (wave.save wav (tg_path fc_out "/wavs/" id ".wav.tmp") 'riff)
    (system (tg_path "mv '" fc_out "/wavs/" id ".wav.tmp' '" fc_out "/wavs/" id ".wav'"))
    (tg_write (tg_path fc_out "/textgrids/" id ".TextGrid") (reverse words) (reverse phones) dur)
    (format fd_meta "%s|%s|%s\n" id text text)))

(let ((entries (load fc_data t)) (fd_meta (fopen (tg_path fc_out "/metadata.csv.tmp") "w")) (n 0))
  (mapcar (lambda (e)
            (fc_one (format nil "%s" (car e)) (cadr e) fd_meta)
            (set! n (+ n 1))
            (if (equal? 0 (% n 50)) (format stderr "festival_corpus: %d utterances\n" n)))
          entries)
  (fclose fd_meta)
  (system (tg_path "mv '" fc_out "/metadata.csv.tmp' '" fc_out "/metadata.csv'")))
