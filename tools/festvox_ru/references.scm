;; Word-level reference alignments for Debian's festvox-ru corpus (festival, SIOD Scheme).
;;
;; Run by tools/festvox_ru/prepare.sh, which sets these variables first:
;;   fr_voice_dir  the voice folder (wav/, lab/, etc/txt.done.data)
;;   fr_out        the output folder (metadata.csv and textgrids/ are written there)
;;   fr_limit      how many utterances to take (0: all)
;;   fr_here       this script's folder
;;
;; For each utterance: the recorded phone labels (lab/ID.lab, festival end times) are the phone tier.
;; Festival's own Russian front end (voice msu_ru_nsh_clunits) turns the text into phones, each with
;; the word it belongs to; when its non-silent phone sequence equals the label file's, each label
;; phone takes that word, and the words tier spans each word's first to last phone. Otherwise no
;; TextGrid is written (the utterance has no reference) and a line "ID: no reference: ..." says why.
;; The tiers end at the recording's length (a final silence interval covers any tail).

(voice_msu_ru_nsh_clunits)

(load (string-append fr_here "/../festival_corpus/textgrid.scm"))

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

(define (fr_one id text fd_meta)
  (let ((info (wave.info (wave.load (tg_path fr_voice_dir "/wav/" id ".wav"))))
        (lab (tg_path fr_voice_dir "/lab/" id ".lab"))
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
            (tg_write (tg_path fr_out "/textgrids/" id ".TextGrid") (reverse words) (reverse phones) dur))))))

(let ((entries (load (tg_path fr_voice_dir "/etc/txt.done.data") t))
      (fd_meta (fopen (tg_path fr_out "/metadata.csv.tmp") "w"))
      (n 0))
  (mapcar (lambda (e)
            (if (or (equal? fr_limit 0) (< n fr_limit))
                (begin
                  (fr_one (format nil "%s" (car e)) (cadr e) fd_meta)
                  (set! n (+ n 1)))))
          entries)
  (fclose fd_meta)
  (system (tg_path "mv '" fr_out "/metadata.csv.tmp' '" fr_out "/metadata.csv'")))
