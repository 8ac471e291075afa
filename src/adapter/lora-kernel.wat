;; The inner loop of `tune merge`: rows of W += coef · basis, sixteen columns at a time
;; with WebAssembly SIMD. V8 does not vectorise JavaScript loops, and this is where a merge
;; spends its time (2·r multiply-adds per weight). Compiled by scripts/generate-lora-kernel.mjs.
;;
;; Layout (byte offsets into the exported memory):
;;   w      rows × cols weights, bf16 (lora_bf16) or f32 (lora_f32), updated in place
;;   coef   rows × rank f32, already multiplied by the LoRA scale
;;   basis  rank × cols f32
;; Both functions handle columns [0, cols & ~15) of every row; the caller does the rest.
(module
  (memory (export "memory") 1)

  ;; float32 bit patterns → bfloat16 bit patterns in the low 16 bits, round to nearest even.
  (func $round (param $x v128) (result v128)
    (i32x4.shr_u
      (i32x4.add
        (i32x4.add (local.get $x) (i32x4.splat (i32.const 0x7fff)))
        (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) (i32x4.splat (i32.const 1))))
      (i32.const 16)))

  (func (export "lora_bf16") (param $w i32) (param $rows i32) (param $cols i32) (param $coef i32) (param $basis i32) (param $rank i32)
    (local $i i32) (local $j i32) (local $k i32) (local $wide i32) (local $stride i32) (local $crow i32) (local $at i32) (local $b i32) (local $cp i32)
    (local $c v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $wide (i32.and (local.get $cols) (i32.const -16)))
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (block $rows_done
      (loop $rows_next
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $crow (i32.add (local.get $coef) (i32.shl (i32.mul (local.get $i) (local.get $rank)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols_next
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $wide)))
            (local.set $at (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 1))))
            (local.set $a0 (i32x4.shl (i32x4.extend_low_i16x8_u (v128.load offset=0 (local.get $at))) (i32.const 16)))
            (local.set $a1 (i32x4.shl (i32x4.extend_high_i16x8_u (v128.load offset=0 (local.get $at))) (i32.const 16)))
            (local.set $a2 (i32x4.shl (i32x4.extend_low_i16x8_u (v128.load offset=16 (local.get $at))) (i32.const 16)))
            (local.set $a3 (i32x4.shl (i32x4.extend_high_i16x8_u (v128.load offset=16 (local.get $at))) (i32.const 16)))
            (local.set $b (i32.add (local.get $basis) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $cp (local.get $crow))
            (local.set $k (i32.const 0))
            (block $k_done
              (loop $k_next
                (br_if $k_done (i32.ge_u (local.get $k) (local.get $rank)))
                (local.set $c (v128.load32_splat (local.get $cp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $c) (v128.load offset=0 (local.get $b)))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $c) (v128.load offset=16 (local.get $b)))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $c) (v128.load offset=32 (local.get $b)))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $c) (v128.load offset=48 (local.get $b)))))
                (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
                (local.set $b (i32.add (local.get $b) (local.get $stride)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $k_next)))
            (v128.store (local.get $at) (i16x8.narrow_i32x4_u (call $round (local.get $a0)) (call $round (local.get $a1))))
            (v128.store offset=16 (local.get $at) (i16x8.narrow_i32x4_u (call $round (local.get $a2)) (call $round (local.get $a3))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols_next)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_next))))

  (func (export "lora_f32") (param $w i32) (param $rows i32) (param $cols i32) (param $coef i32) (param $basis i32) (param $rank i32)
    (local $i i32) (local $j i32) (local $k i32) (local $wide i32) (local $stride i32) (local $crow i32) (local $at i32) (local $b i32) (local $cp i32)
    (local $c v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $wide (i32.and (local.get $cols) (i32.const -16)))
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (block $rows_done
      (loop $rows_next
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $crow (i32.add (local.get $coef) (i32.shl (i32.mul (local.get $i) (local.get $rank)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols_next
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $wide)))
            (local.set $at (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (local.set $a0 (v128.load offset=0 (local.get $at)))
            (local.set $a1 (v128.load offset=16 (local.get $at)))
            (local.set $a2 (v128.load offset=32 (local.get $at)))
            (local.set $a3 (v128.load offset=48 (local.get $at)))
            (local.set $b (i32.add (local.get $basis) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $cp (local.get $crow))
            (local.set $k (i32.const 0))
            (block $k_done
              (loop $k_next
                (br_if $k_done (i32.ge_u (local.get $k) (local.get $rank)))
                (local.set $c (v128.load32_splat (local.get $cp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $c) (v128.load offset=0 (local.get $b)))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $c) (v128.load offset=16 (local.get $b)))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $c) (v128.load offset=32 (local.get $b)))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $c) (v128.load offset=48 (local.get $b)))))
                (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
                (local.set $b (i32.add (local.get $b) (local.get $stride)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $k_next)))
            (v128.store offset=0 (local.get $at) (local.get $a0))
            (v128.store offset=16 (local.get $at) (local.get $a1))
            (v128.store offset=32 (local.get $at) (local.get $a2))
            (v128.store offset=48 (local.get $at) (local.get $a3))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols_next)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_next))))
)
