;; Test-only hostile plugin, written by hand because no Rust toolchain makes one: a
;; component of FOUR core modules, each with its own linear memory. `handle-message` grows
;; three of them by 60 MiB each. A cap checked per memory (64 MiB) lets every one through
;; (180 MiB in all); the host must cap the SUM of an instance's memories.
;;
;; It implements the agenthost:plugin@0.1.0 world's exports (describe, handle-message,
;; handle-job) and imports nothing. Tests parse this text with the `wat` crate.
(component
  ;; Three extra modules, each owning a memory it can grow.
  (core module $extra
    (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32)
      (memory.grow (local.get 0))))
  (core instance $b (instantiate $extra))
  (core instance $c (instantiate $extra))
  (core instance $d (instantiate $extra))

  (core module $main
    (import "extra" "grow-b" (func $grow_b (param i32) (result i32)))
    (import "extra" "grow-c" (func $grow_c (param i32) (result i32)))
    (import "extra" "grow-d" (func $grow_d (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    ;; A bump allocator: where the host puts the message's strings.
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then
          (if (i32.eq
                (memory.grow
                  (i32.add
                    (i32.div_u
                      (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                      (i32.const 65536))
                    (i32.const 1)))
                (i32.const -1))
            (then unreachable))))
      (local.get $ptr))
    (data (i32.const 16) "test-multi-memory")
    (data (i32.const 48) "1")
    (data (i32.const 64) "four memories")
    ;; The description record (88 bytes at 256): name (ptr 16, len 17), version (48, 1),
    ;; summary (64, 13), no cron jobs, every limit none (zeroes).
    (data (i32.const 256)
      "\10\00\00\00\11\00\00\00\30\00\00\00\01\00\00\00\40\00\00\00\0d\00\00\00\00\00\00\00\00\00\00\00")
    (func (export "describe") (result i32) (i32.const 256))
    (func (export "handle-message")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i32 i32 i32) (result i32)
      ;; 960 pages = 60 MiB, three times.
      (if (i32.eq (call $grow_b (i32.const 960)) (i32.const -1)) (then unreachable))
      (if (i32.eq (call $grow_c (i32.const 960)) (i32.const -1)) (then unreachable))
      (if (i32.eq (call $grow_d (i32.const 960)) (i32.const -1)) (then unreachable))
      ;; ok(()): the result's discriminant, 0.
      (i32.store8 (i32.const 512) (i32.const 0))
      (i32.const 512))
    (func (export "handle-job")
      (param i32 i32 i32 i32 i32 i32 i32 i64 i32) (result i32)
      (i32.store8 (i32.const 512) (i32.const 0))
      (i32.const 512)))
  (core instance $m (instantiate $main
    (with "extra" (instance
      (export "grow-b" (func $b "grow"))
      (export "grow-c" (func $c "grow"))
      (export "grow-d" (func $d "grow"))))))

  ;; The world's types, exported so the exported functions may use them.
  (type $limits' (record
    (field "fuel" (option u64))
    (field "memory-bytes" (option u64))
    (field "wall-clock-ms" (option u32))
    (field "max-concurrency" (option u32))
    (field "max-attempts" (option u32))))
  (export $limits "limits" (type $limits'))
  (type $cron-job' (record
    (field "name" string)
    (field "schedule" string)
    (field "timezone" (option string))))
  (export $cron-job "cron-job" (type $cron-job'))
  (type $description' (record
    (field "name" string)
    (field "version" string)
    (field "summary" string)
    (field "cron-jobs" (list $cron-job))
    (field "limits" $limits)))
  (export $description "description" (type $description'))
  (type $direction' (enum "inbound" "outbound"))
  (export $direction "direction" (type $direction'))
  (type $history-entry' (record
    (field "direction" $direction)
    (field "body" string)
    (field "at-ms" u64)))
  (export $history-entry "history-entry" (type $history-entry'))
  (type $inbound-message' (record
    (field "conversation-id" string)
    (field "message-id" string)
    (field "from" string)
    (field "to" string)
    (field "body" string)
    (field "received-at-ms" u64)
    (field "history" (list $history-entry))
    (field "dry-run" bool)))
  (export $inbound-message "inbound-message" (type $inbound-message'))
  (type $job' (record
    (field "name" string)
    (field "conversation-id" (option string))
    (field "payload" string)
    (field "scheduled-at-ms" u64)
    (field "dry-run" bool)))
  (export $job "job" (type $job'))
  (type $plugin-error' (record
    (field "code" string)
    (field "message" string)
    (field "retryable" bool)))
  (export $plugin-error "plugin-error" (type $plugin-error'))

  (func $describe (result $description)
    (canon lift (core func $m "describe") (memory (core memory $m "memory")) (realloc (core func $m "cabi_realloc"))))
  (export "describe" (func $describe))
  (func $handle-message (param "message" $inbound-message) (result (result (error $plugin-error)))
    (canon lift (core func $m "handle-message") (memory (core memory $m "memory")) (realloc (core func $m "cabi_realloc"))))
  (export "handle-message" (func $handle-message))
  (func $handle-job (param "job" $job) (result (result (error $plugin-error)))
    (canon lift (core func $m "handle-job") (memory (core memory $m "memory")) (realloc (core func $m "cabi_realloc"))))
  (export "handle-job" (func $handle-job)))
