-- title: indexes, created after the bulk load of an import
-- Applied by wc_db_finish_import() once every row is in (building an index
-- over sorted, complete tables is much cheaper than maintaining it row by
-- row).  Only what waitchain itself reads is indexed: each CREATE INDEX
-- over millions of rows costs seconds of every import (bench/PROFILE.md).
-- The analyzer reads event tables in rowid (= seq = time) order and the
-- futex table by id (enter order) and exit_seq (091); canned queries read
-- analysis tables.  Ad-hoc time-window or per-thread queries on event
-- tables scan them (a scan of 4 M sched_switch rows takes about a second;
-- `CREATE INDEX` them in a case database that is queried often).
-- futex.id is assigned in call start order: ORDER BY id is enter order.
CREATE INDEX IF NOT EXISTS futex_exit_seq ON futex(exit_seq);
CREATE INDEX thread_tid ON thread(tid, start_seq);
CREATE INDEX thread_name_utid ON thread_name(utid);
