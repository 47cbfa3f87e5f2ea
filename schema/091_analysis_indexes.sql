-- title: indexes the analysis needs (applied after the bulk load, and again
-- by `waitchain analyze`, which runs this file before pass 1 and, having
-- dropped the indexes of the tables pass 1 writes, once more after it:
-- every statement is IF NOT EXISTS).
-- thread_state_utid_start: chains look up a thread's state over an interval;
-- block_futex: global-lock and condvar UPDATEs, chain roots;
-- vcpu_switch_seq: vcpu_slice.end_reason fix-up.
CREATE INDEX IF NOT EXISTS thread_state_utid_start ON thread_state(utid, start_ns);
CREATE INDEX IF NOT EXISTS block_futex ON block(futex_pid, futex_uaddr);
CREATE INDEX IF NOT EXISTS vcpu_switch_seq ON vcpu_switch(switch_seq);
