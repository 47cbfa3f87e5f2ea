-- title: indexes, created after the bulk load of an import
-- Applied by wc_db_finish_import() once every row is in (building an index
-- over sorted, complete tables is much cheaper than maintaining it row by
-- row).  Every event table is indexed on ts (time-window queries); futex
-- also per thread, on the futex word and on the columns the analyzer walks
-- in order (enter_seq, exit_seq).  An index on an unsorted key costs
-- about as much as loading its table once (bench/PROFILE.md), so the big
-- event tables get only ts (inserted in ts order: cheap); per-thread
-- queries on them scan the table.
-- futex.id is assigned in call start order: ORDER BY id is enter order.
CREATE INDEX sched_switch_ts ON sched_switch(ts);
CREATE INDEX sched_waking_ts ON sched_waking(ts);
CREATE INDEX sched_wakeup_ts ON sched_wakeup(ts);
CREATE INDEX sched_wakeup_new_ts ON sched_wakeup_new(ts);
CREATE INDEX sched_process_fork_ts ON sched_process_fork(ts);
CREATE INDEX sched_process_exit_ts ON sched_process_exit(ts);
CREATE INDEX task_rename_ts ON task_rename(ts);
CREATE INDEX kvm_event_ts ON kvm_event(ts);
CREATE INDEX futex_tid ON futex(tid, enter_ns);
CREATE INDEX futex_uaddr ON futex(uaddr);
CREATE INDEX IF NOT EXISTS futex_enter_seq ON futex(enter_seq);
CREATE INDEX IF NOT EXISTS futex_exit_seq ON futex(exit_seq);
CREATE INDEX thread_tid ON thread(tid, start_seq);
CREATE INDEX thread_name_utid ON thread_name(utid);
