-- title: indexes, created after the bulk load of an import
-- Applied by wc_db_finish_import() once every row is in (building an index
-- over sorted, complete tables is much cheaper than maintaining it row by
-- row).  Only what waitchain itself reads is indexed: each CREATE INDEX
-- over millions of rows costs seconds of every import (bench/PROFILE.md).
-- The high-rate event tables are columnar (020_events.sql) and cannot be
-- indexed: the analyzer reads them in key (seq, futex id) order, time
-- ranges skip chunks through their zone maps, and other ad-hoc filters
-- scan (a scan of 2.5 M sched_switch rows takes well under a second).
CREATE INDEX thread_tid ON thread(tid, start_seq);
CREATE INDEX thread_name_utid ON thread_name(utid);
