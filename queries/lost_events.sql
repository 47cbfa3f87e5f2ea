-- title: events lost by the recorder, per CPU and kind
-- params: none
-- columns: cpu — CPU (NULL: not known)
--   kind — 'lost' (perf LOST), 'lost_samples', 'overrun', 'dropped' (trace.dat per-CPU statistics), 'missed' (ring buffer pages lost)
--   reports — loss reports
--   events — events lost
--   first_ns, last_ns — time of the first and last report (ns; NULL when the capture does not say)
-- Any analysis row overlapping a loss is marked uncertain; many losses
-- mean the numbers of the report are lower bounds.  Record with bigger
-- buffers (perf -m, trace-cmd -b) or fewer events.
SELECT cpu AS cpu,
       kind AS kind,
       COUNT(*) AS reports,
       SUM(count) AS events,
       MIN(COALESCE(ts_from_ns, ts_ns)) AS first_ns,
       MAX(ts_ns) AS last_ns
FROM lost
GROUP BY cpu, kind
ORDER BY cpu IS NULL, cpu, kind;
