-- title: events in the capture by name: how many were read and whether they are stored
-- params: none
-- columns: name — event name as recorded (e.g. 'sched_switch'; untrusted text)
--   count — events of that name read from the capture
--   stored — 1 if they are stored in a table of that name, 0 if only counted
-- An analysis needs sched_switch, sched_waking (or sched_wakeup, then
-- wakers are approximate) and sys_enter_futex/sys_exit_futex (or the
-- futex_wait/futex_wake system calls); without them the report says so.
SELECT name AS name, count AS count, stored AS stored
FROM event_count
ORDER BY count DESC, name;
